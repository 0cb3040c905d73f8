"""`ll.training_options`: how `ll.trainnet` trains, with MATLAB's option names and defaults."""

import dataclasses
import difflib
import math
import numbers

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


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """The options of one training run; make them with `ll.training_options(...)`."""

    solver: str = "adam"
    max_epochs: int = 30
    mini_batch_size: int = 128
    initial_learn_rate: float = None  # None: 0.01 for sgdm, 0.001 for adam and rmsprop
    learn_rate_schedule: str = "none"
    learn_rate_drop_factor: float = 0.1
    learn_rate_drop_period: int = 10
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
    verbose: bool = True
    verbose_frequency: int = 50
    plots: str = "none"
    execution_environment: str = "auto"
    workers: int = None  # "parallel" | "multi-gpu" only; None: see lstmlab.parallel.default_workers
    reset_input_normalization: bool = True
    metrics: object = None
    seed: int = None


def training_options(solver="adam", **options):
    """Options for `ll.trainnet`, as keyword arguments with MATLAB's defaults.

    Args:
        solver: "adam" (default) | "sgdm" | "rmsprop".
        max_epochs: passes over the training data (30).
        mini_batch_size: sequences per iteration (128).
        initial_learn_rate: 0.01 for sgdm, 0.001 for adam and rmsprop when None.
        learn_rate_schedule: "none" | "piecewise" (multiply by learn_rate_drop_factor (0.1)
            every learn_rate_drop_period (10) epochs).
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
        seed: makes shuffling, initialization and dropout reproducible.

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
    for name in ("max_epochs", "mini_batch_size", "learn_rate_drop_period", "validation_frequency", "verbose_frequency"):
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
    choices = {
        "learn_rate_schedule": ("none", "piecewise"),
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
    _check_workers(o, where)
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
