"""`ll.training_options`: how `ll.trainnet` trains, with MATLAB's option names and defaults."""

import dataclasses
import difflib
import math
import numbers
import os
from pathlib import Path

import numpy as np

from ._checks import (
    check_bool,
    check_choice,
    check_finite,
    check_fraction,
    check_nonnegative,
    check_positive_int,
    check_sequence_length,
)

SOLVERS = ("adam", "sgdm", "rmsprop")
PARALLEL_ENVIRONMENTS = ("parallel", "multi-gpu")  # data-parallel training, see lstmlab.parallel
DEFAULT_LEARN_RATE = {"sgdm": 0.01, "adam": 0.001, "rmsprop": 0.001}  # MATLAB's trainingOptions defaults
LEARN_RATE_SCHEDULES = ("none", "piecewise", "exponential", "cosine", "warmup")


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """The options of one training run; make them with `ll.training_options(...)`."""

    solver: str = "adam"
    max_epochs: int = 30
    mini_batch_size: int = 128
    initial_learn_rate: float = None  # None: 0.01 for sgdm, 0.001 for adam and rmsprop
    learn_rate_schedule: object = "none"  # a name in LEARN_RATE_SCHEDULES, or a callable (epoch, iteration) -> rate
    learn_rate_drop_factor: float = 0.1
    learn_rate_drop_period: int = 10
    learn_rate_warmup_period: int = 5
    momentum: float = 0.9
    gradient_decay_factor: float = 0.9
    squared_gradient_decay_factor: float = None  # None: 0.999 for adam, 0.9 for rmsprop
    epsilon: float = 1e-8
    l2_regularization: float = 1e-4
    gradient_threshold: float = math.inf
    gradient_threshold_method: str = "l2norm"
    shuffle: str = "once"
    sequence_length: object = "longest"
    sequence_padding_direction: str = "right"
    sequence_padding_value: float = 0
    freeze_padding: bool = False
    validation_data: tuple = dataclasses.field(default=None, repr=False)
    validation_frequency: int = 50
    validation_patience: float = math.inf
    output_network: str = "last-iteration"
    class_weights: object = None
    verbose: bool = True
    verbose_frequency: int = 50
    plots: str = "none"
    execution_environment: str = "auto"
    workers: int = None  # "parallel" | "multi-gpu" only; None: see lstmlab.parallel.default_workers
    reset_input_normalization: bool = True
    metrics: object = None
    seed: int = None
    checkpoint_path: object = None
    checkpoint_frequency: int = 1
    checkpoint_frequency_unit: str = "epoch"


def training_options(solver="adam", **options):
    """Options for `ll.trainnet`, as keyword arguments with MATLAB's defaults.

    Args:
        solver: "adam" (default) | "sgdm" | "rmsprop".
        max_epochs: passes over the training data (30).
        mini_batch_size: sequences per iteration (128).
        initial_learn_rate: 0.01 for sgdm, 0.001 for adam and rmsprop when None.
        learn_rate_schedule: the learn rate of each iteration, from initial_learn_rate r0 (shown
            in the history's learn_rate column):

            - "none": r0 throughout;
            - "piecewise": r0 * learn_rate_drop_factor ** (e // learn_rate_drop_period), with e
              the epoch counted from 0 (multiplied by 0.1 every 10 epochs by default);
            - "exponential": r0 * learn_rate_drop_factor ** (e / learn_rate_drop_period), the
              same decay spread smoothly over the epochs;
            - "cosine": r0 * (1 + cos(pi * e / max_epochs)) / 2, from r0 at the first epoch
              down towards 0 at the end;
            - "warmup": r0 * min(1, k / learn_rate_warmup_period), with k the iteration counted
              from 1: a linear ramp over the first learn_rate_warmup_period (5) iterations;
            - a callable schedule(epoch, iteration) -> rate, both counted from 1 as in the
              history, called before each iteration (e.g. a warm-up followed by a decay).

        momentum (sgdm, 0.9), gradient_decay_factor (adam, 0.9), squared_gradient_decay_factor
            (0.999 adam, 0.9 rmsprop), epsilon (1e-8).
        l2_regularization: weight decay, times each parameter's L2 factor (1e-4).
        gradient_threshold: inf (no clipping), or the largest gradient allowed by
            gradient_threshold_method: "l2norm" (each parameter's norm) | "global-l2norm" (all
            parameters together) | "absolute-value" (each value).
        shuffle: "once" | "every-epoch" | "never".
        sequence_length, sequence_padding_direction, sequence_padding_value: as in
            `ll.sequence_batches`. freeze_padding: carry the state over padded steps (False).
        validation_data: (X, Y) to validate on; validation_frequency: every that many
            iterations (50); validation_patience: stop after that many validations without a
            lower validation loss (inf).
        output_network: "last-iteration" (the network after the last iteration) |
            "best-validation-loss" (the weights of the validation with the lowest loss; needs
            validation_data).
        class_weights: for loss "crossentropy": None (every class 1) | "balanced" (N / (K n_k)
            for class k with n_k of the N training targets, K classes) | {class name: weight}
            (classes left out weigh 1) | one weight per class, in the order of the sorted class
            names (`net.class_names`). The loss becomes sum_n w[y_n] (-log p_n[y_n]) / sum_n
            w[y_n], as torch's cross_entropy(weight=w) computes it (MATLAB's crossentropy with
            weights divides by the number of targets instead); the validation loss too.
        verbose: a progress bar (True); verbose_frequency: its refresh, in iterations (50).
        plots: "none" | "training-progress" (a live figure in Jupyter).
        execution_environment: "auto" (a CUDA GPU when there is one) | "cpu" | "gpu" |
            "parallel" (data-parallel on CPU worker processes, torch.distributed with gloo) |
            "multi-gpu" (one worker process per GPU, NCCL). See `lstmlab.parallel`: each worker
            takes mini_batch_size / workers sequences of every mini-batch.
        workers: the number of worker processes for "parallel" (default min(4, CPU cores)) or
            "multi-gpu" (default: every visible GPU); at most mini_batch_size.
        reset_input_normalization: compute the input layer's statistics from the training data
            (True), or keep the ones it was given (False).
        metrics: None | "accuracy" | "rmse" | a callable (predictions, targets) -> number, or a list.
        seed: makes shuffling and dropout reproducible, and the initial weights of the layers that
            trainnet builds (net_or_layers given as a list of layers). A Network you built drew its
            weights when you built it, from torch's generator as it was then (seeded differently in
            every process unless you seeded it): give trainnet the layers, or call torch.manual_seed
            before building the network.
        checkpoint_path: None, or a folder in which to write checkpoints during training:
            checkpoint_epoch{E}_iteration{I}.npz, each a network file (`ll.load_network` reads
            it) that also holds what training needs to go on: the solver's moments, the epoch
            and iteration, the shuffle seed, the random state (dropout) and the history so far.
            `ll.trainnet(X, Y, ll.load_checkpoint(file), loss, options)` continues from it.
        checkpoint_frequency: write one every that many epochs or iterations (1);
        checkpoint_frequency_unit: "epoch" | "iteration". With sequence_length an int, a
            mini-batch is several iterations (one per chunk): its checkpoint waits for its last.

    Returns:
        A `TrainingOptions`: a frozen dataclass holding every option, defaults filled in; change
        one with `dataclasses.replace(options, max_epochs=10)`.

    >>> training_options("sgdm", max_epochs=5).initial_learn_rate
    0.01
    """
    known = {f.name for f in dataclasses.fields(TrainingOptions)}
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; see help(ll.training_options)."
            raise TypeError(f"training_options: unknown option {name!r}{hint}")
    where = "training_options"
    o = dict(options, solver=check_choice(solver, "solver", SOLVERS, where))
    for name in ("max_epochs", "mini_batch_size", "learn_rate_drop_period", "learn_rate_warmup_period", "validation_frequency", "verbose_frequency", "checkpoint_frequency"):
        if name in o:
            o[name] = check_positive_int(o[name], name, where)
    for name in ("initial_learn_rate", "learn_rate_drop_factor", "epsilon", "l2_regularization"):
        if o.get(name) is not None:
            o[name] = check_nonnegative(o[name], name, where)
    for name in ("momentum", "gradient_decay_factor", "squared_gradient_decay_factor"):
        if o.get(name) is not None:
            o[name] = check_fraction(o[name], name, where)
    for name in ("gradient_threshold", "validation_patience"):
        if name in o and not (isinstance(o[name], numbers.Real) and not isinstance(o[name], bool) and o[name] > 0):
            raise ValueError(f"{where}: {name} must be a positive number or inf; got {o[name]!r}.")
    if "learn_rate_schedule" in o:
        o["learn_rate_schedule"] = check_choice(o["learn_rate_schedule"], "learn_rate_schedule", LEARN_RATE_SCHEDULES, where, allow_callable=True)
    choices = {
        "output_network": ("last-iteration", "best-validation-loss"),
        "checkpoint_frequency_unit": ("epoch", "iteration"),
        "gradient_threshold_method": ("l2norm", "global-l2norm", "absolute-value"),
        "shuffle": ("once", "every-epoch", "never"),
        "sequence_padding_direction": ("right", "left"),
        "plots": ("none", "training-progress"),
        "execution_environment": ("auto", "cpu", "gpu", *PARALLEL_ENVIRONMENTS),
    }
    for name, allowed in choices.items():
        if name in o:
            o[name] = check_choice(o[name], name, allowed, where)
    for name in ("verbose", "reset_input_normalization", "freeze_padding"):
        if name in o:
            o[name] = check_bool(o[name], name, where)
    if "sequence_length" in o:
        check_sequence_length(o["sequence_length"], "sequence_length", where)
    if "sequence_padding_value" in o:
        check_finite(o["sequence_padding_value"], "sequence_padding_value", where)
    for name in ("initial_learn_rate", "epsilon"):
        if o.get(name) == 0:
            raise ValueError(f"{where}: {name} must be positive; got 0.")
    if o.get("learn_rate_drop_factor", 0) > 1:
        raise ValueError(f"{where}: learn_rate_drop_factor must be at most 1 (a drop); got {o['learn_rate_drop_factor']!r}.")
    validation = o.get("validation_data")
    if validation is not None and not (isinstance(validation, tuple) and len(validation) == 2):
        got = f"a tuple of {len(validation)}" if isinstance(validation, tuple) else type(validation).__name__
        raise ValueError(f"{where}: validation_data must be a tuple (X, Y) of two items; got {got}.")
    if o.get("output_network") == "best-validation-loss" and validation is None:
        raise ValueError(
            f"{where}: output_network='best-validation-loss' needs validation_data; got none. Give "
            f"validation_data=(X_val, Y_val) (see ll.split_validation), or keep output_network='last-iteration'."
        )
    if o.get("class_weights") is not None:
        o["class_weights"] = _check_class_weights(o["class_weights"], where)
        if o.get("execution_environment") in PARALLEL_ENVIRONMENTS:  # the workers share the loss by rows, not by weights
            raise ValueError(
                f"{where}: class_weights is for training in one process; got execution_environment="
                f"{o['execution_environment']!r}. Use 'auto', 'cpu' or 'gpu' with class_weights."
            )
    _check_workers(o, where)
    _check_checkpoints(o, where)
    seed = o.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"{where}: seed must be a non-negative integer or None; got {seed!r}.")
    if o.get("initial_learn_rate") is None:
        o["initial_learn_rate"] = DEFAULT_LEARN_RATE[o["solver"]]
    return TrainingOptions(**o)


def _check_workers(o, where):
    """workers: a positive int, for the data-parallel environments only, at most one per sequence of a mini-batch."""
    workers = o.get("workers")
    if workers is None:
        return
    check_positive_int(workers, "workers", where, meaning=" (the number of worker processes) or None")
    environment = o.get("execution_environment", "auto")
    if environment not in PARALLEL_ENVIRONMENTS:
        raise ValueError(
            f"{where}: workers={workers} is for execution_environment='parallel' or 'multi-gpu'; got "
            f"execution_environment={environment!r}. Add execution_environment='parallel', or drop workers."
        )
    batch = o.get("mini_batch_size", TrainingOptions.mini_batch_size)
    if workers > batch:
        raise ValueError(
            f"{where}: workers={workers} is more than make sense for mini_batch_size={batch}: each worker takes "
            f"mini_batch_size / workers sequences of every mini-batch. Give workers <= {batch}, or a larger mini_batch_size."
        )
    o["workers"] = int(workers)


def _check_class_weights(weights, where):
    """"balanced", {class name: weight} or a sequence of weights, the weights finite and non-negative.

    Whether they fit the classes is checked when training knows them (`training.class_weights`).
    """
    if isinstance(weights, str) and weights.lower() == "balanced":
        return "balanced"
    values = list(weights.values()) if isinstance(weights, dict) else weights
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 1 or len(array) == 0 or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(
            f"{where}: class_weights must be None, 'balanced', a dict {{class name: weight}} or one weight per class, "
            f"each a finite non-negative number; got {weights!r}."
        )
    return dict(weights) if isinstance(weights, dict) else tuple(array.tolist())


def _check_checkpoints(o, where):
    """checkpoint_path: None or a folder (made if missing); checkpoints are written by one process only."""
    path = o.get("checkpoint_path")
    if path is None:
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{where}: checkpoint_path must be a folder (a str or a Path) or None; got {type(path).__name__}.")
    if Path(path).exists() and not Path(path).is_dir():
        raise ValueError(f"{where}: checkpoint_path {str(path)!r} is a file; give a folder to write the checkpoints in.")
    environment = o.get("execution_environment", "auto")
    if environment in PARALLEL_ENVIRONMENTS:
        raise ValueError(
            f"{where}: checkpoint_path is for training in one process; got execution_environment={environment!r}. "
            f"Use 'auto', 'cpu' or 'gpu' to write checkpoints, or drop checkpoint_path."
        )
    o["checkpoint_path"] = Path(path)
