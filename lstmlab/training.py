"""`ll.trainnet`: train a network on sequences, the way MATLAB's trainnet does.

One iteration: take the next mini-batch (`ll.sequence_batches` with the options' sequence
rules), run the network (`lstmlab.runner.run_batches`, the loop that prediction uses too),
compute the loss on real time steps, back-propagate, and update every parameter with the
solver (`ll.Solver`: learn-rate and L2 factors, gradient clipping). When sequences are split
into chunks, the recurrent state is carried from one chunk to the next (without
back-propagating into the previous chunk). Every iteration becomes a row of
`net.training_history_`. Every sequence is used in every epoch: the last mini-batch may be
smaller (MATLAB's trainNetwork drops it instead).

The learn rate of each iteration comes from the options' schedule (`learn_rate`); with
output_network="best-validation-loss" the run ends with the weights of its lowest validation
loss; with checkpoint_path it writes checkpoints, and a network from `ll.load_checkpoint` goes on
from where its checkpoint stood (`lstmlab.checkpoints`).

With execution_environment "parallel" or "multi-gpu" several worker processes run this same
loop, each on its part of every mini-batch (`lstmlab.parallel`, passed to `Run` as its team).
"""

import math
import numbers
import time
import warnings

import numpy as np
import pandas as pd
import torch

from . import checkpoints, losses, parallel
from .batching import count_batches, iterate_batches
from .data import is_one_sequence
from .layers import SequenceInputLayer
from .network import SEQUENCE_OPTIONS, Network, evaluating, prepare
from .options import TrainingOptions, training_options
from .runner import run_batches
from .solvers import Solver
from .targets import encode


def trainnet(X, Y, net_or_layers, loss, options=None):
    """Train a network and return it.

    Args:
        X: list of (T, C) sequences, or an (N, T, C) array (one (T, C) sequence alone is refused:
            give [X]).
        Y: targets: one label or response vector per sequence (sequence-to-label,
            sequence-to-one), or one per time step (a list of (T_n,) or (T_n, R) arrays).
        net_or_layers: an `ll.Network`, or a list of layers to make one.
        loss: "crossentropy" | "binary-crossentropy" | "mse" | "mae" | "huber" | a callable
            (see `lstmlab.losses`).
        options: from `ll.training_options` (default: its defaults).

    Returns:
        The trained network (the same object when a Network was given), in evaluation mode,
        with `class_names` (classification), `sequence_options` (the sequence options it was
        trained with; prediction and trace pad as they say unless told otherwise) and
        `training_history_`, a DataFrame with a row per iteration: epoch, iteration, loss,
        metrics, validation_loss, validation metrics, learn_rate and seconds.

    Fine-tuning a trained network (one given with class names or a history) keeps what it has:
    labels are mapped onto `net.class_names` (a subset of them is fine; a label it does not know
    is refused), and the history goes on, epochs and iterations counting on from its last row.
    reset_input_normalization=True (the default) replaces the input statistics it holds, with a
    warning.

    Parallel training (execution_environment "parallel" or "multi-gpu", see `lstmlab.parallel`):
    the workers split every mini-batch of mini_batch_size sequences (the global mini-batch) into
    contiguous pieces of mini_batch_size // workers sequences (the first mini_batch_size % workers
    workers take one more; the last, smaller mini-batch is split the same way), padded as one
    process pads the whole mini-batch, and sum their gradients so that each step is the step of
    one process on the same mini-batch, up to float rounding. Started from a plain call or a
    notebook, the workers are new processes on this machine and the trained network comes back
    here; under torchrun, this process is one of the workers. Worker 0 validates, keeps the
    history and decides early stopping for all.
    """
    options = training_options() if options is None else options
    if not isinstance(options, TrainingOptions):
        raise TypeError(f"trainnet: options must come from ll.training_options(...); got {type(options).__name__}.")
    if options.seed is not None:
        torch.manual_seed(options.seed)  # before any weights are made: a list of layers is built below
    net = net_or_layers if isinstance(net_or_layers, Network) else Network(net_or_layers)
    loss = losses.check_loss(loss, net)
    sequences = _data_set(net, X, "trainnet")
    targets = encode(Y, sequences, loss, net.output_size, net.returns_sequence, class_names=net.class_names)  # a classifier keeps its classes
    validation = None
    if options.validation_data is not None:
        X_val, Y_val = options.validation_data
        where = "trainnet (validation_data)"
        held_out = _data_set(net, X_val, where)
        validation = (held_out, encode(Y_val, held_out, loss, net.output_size, net.returns_sequence, where, targets.class_names))
    first = net.layers[0]
    if isinstance(first, SequenceInputLayer):
        computed = isinstance(first.normalization, str) and first.normalization != "none" and not first.missing_statistics()
        resumed = getattr(net, "training_state_", None) is not None  # a checkpoint goes on: no fine-tuning
        if options.reset_input_normalization and computed and not resumed:
            warnings.warn(
                f"trainnet: reset_input_normalization=True (the default, as in MATLAB) computes the statistics of "
                f"{first.name!r} (normalization={first.normalization!r}) again from this data, replacing those it holds "
                f"(from earlier training, or given), which the weights after it were trained with. To keep them, give "
                f"training_options(..., reset_input_normalization=False).",
                UserWarning,
                stacklevel=2,
            )
        first.fit_statistics(sequences, reset=options.reset_input_normalization)
    net.reset_state()  # training starts from the initial states, whatever predict_and_update_state left
    if options.execution_environment in parallel.ENVIRONMENTS:
        history = parallel.train(fit, net, loss, options, targets, sequences, validation)
    else:
        history = fit(net, loss, options, targets, sequences, validation)
    net.eval()
    net.class_names = targets.class_names
    net.label_kind = targets.label_kind
    net.sequence_options = {name: getattr(options, name) for name in SEQUENCE_OPTIONS}  # its padding: prediction's default
    net.training_history_ = _continued(getattr(net, "training_history_", None), pd.DataFrame(history))
    return net


def _continued(before, history):
    """The history of a network trained before goes on: epochs and iterations count on from its last row."""
    if before is None or before.empty:
        return history
    history[["epoch", "iteration"]] += before[["epoch", "iteration"]].iloc[-1].to_numpy()
    return pd.concat([before, history], ignore_index=True)


def fit(net, loss, options, targets, sequences, validation, team=parallel.SOLO):
    """Train `net` in place and return its history rows: in this process, or as one worker of a team.

    A network from `ll.load_checkpoint` goes on from its checkpoint (see `lstmlab.checkpoints`).
    """
    net.to(team.device or choose_device(options.execution_environment))
    run = Run(net, loss, options, targets, team)
    run.train(sequences, validation)
    vars(net).pop("training_state_", None)  # used up: training this network again starts afresh
    return run.history


def _data_set(net, X, where):
    """`network.prepare` for training data, which must be a data set: one sequence alone is refused.

    Predicting on one sequence is clear; training on one is more often a mistake (the rows of an
    (N, T) array of one-channel sequences read as one (T, C) sequence), and its target could be
    read as one target or as a data set's; a data set of one says what is meant.
    """
    if is_one_sequence(X):
        raise ValueError(
            f"{where}: X is one sequence (an array of shape {tuple(X.shape)}); training needs a data set with one "
            f"target per sequence. To train on this sequence alone give a data set of one, [X], with its target in a "
            f"list of one; if the rows of X are sequences of one channel, give X[..., None], an (N, T, 1) array."
        )
    return prepare(net, X, where)


def choose_device(environment):
    """"auto": a CUDA GPU when torch sees one, else the CPU; "gpu" insists on one."""
    if environment in parallel.ENVIRONMENTS:
        raise ValueError(f"execution_environment={environment!r} trains data-parallel in ll.trainnet only; use 'auto', 'cpu' or 'gpu' here.")
    if environment == "gpu" and not torch.cuda.is_available():
        raise ValueError(
            "trainnet: execution_environment='gpu', but torch sees no CUDA GPU (torch.cuda.is_available() is False); "
            "use 'auto' or 'cpu', or install a CUDA build of torch on a machine with a GPU."
        )
    return torch.device("cuda" if environment != "cpu" and torch.cuda.is_available() else "cpu")


def learn_rate(options, epoch, iteration):
    """The learn rate of an iteration (counted from 1) in an epoch (counted from 0): see
    `ll.training_options`' learn_rate_schedule."""
    o, rate = options, options.initial_learn_rate
    schedule = o.learn_rate_schedule
    if callable(schedule):
        value = schedule(epoch + 1, iteration)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < math.inf:
            raise ValueError(
                f"trainnet: learn_rate_schedule({epoch + 1}, {iteration}) (epoch, iteration) returned {value!r}; it must "
                f"return the learn rate, a finite non-negative number."
            )
        return float(value)
    if schedule == "piecewise":
        return rate * o.learn_rate_drop_factor ** (epoch // o.learn_rate_drop_period)
    if schedule == "exponential":
        return rate * o.learn_rate_drop_factor ** (epoch / o.learn_rate_drop_period)
    if schedule == "cosine":
        return rate * (1 + math.cos(math.pi * epoch / o.max_epochs)) / 2
    if schedule == "warmup":
        return rate * min(1, iteration / o.learn_rate_warmup_period)
    return rate


class Run:
    """The state of one training run: solver, where it is (epoch, mini-batches done, iteration),
    history, early stopping, the best validation, and checkpoints (see `lstmlab.checkpoints`).

    team: `lstmlab.parallel.SOLO` (one process), or this worker's `parallel.Team`, which splits
    each mini-batch, sums the gradients and shares worker 0's validation.
    """

    def __init__(self, net, loss, options, targets, team=parallel.SOLO):
        self.net, self.loss, self.options, self.targets, self.team = net, loss, options, targets, team
        self.solver = Solver(
            net,
            options.solver,
            learn_rate=options.initial_learn_rate,
            momentum=options.momentum,
            gradient_decay_factor=options.gradient_decay_factor,
            squared_gradient_decay_factor=options.squared_gradient_decay_factor,
            epsilon=options.epsilon,
            l2_regularization=options.l2_regularization,
            gradient_threshold=options.gradient_threshold,
            gradient_threshold_method=options.gradient_threshold_method,
        )
        self.stop = -1 if loss in losses.NEEDS_LAST else None  # the cross-entropies start from scores
        self.metrics = _metrics(options.metrics, targets)
        self.weight = class_weights(options.class_weights, targets, loss)
        if self.weight is not None:
            self.weight = self.weight.to(net.layers[0].like)
        self.history, self.iteration = [], 0
        self.epoch, self.batches = 0, 0  # the epoch in progress (from 0) and its mini-batches done
        self.best, self.patience_left, self.best_weights = math.inf, options.validation_patience, None
        self.seed = options.seed
        if self.seed is None and options.checkpoint_path is not None and options.shuffle == "every-epoch":
            self.seed = int(np.random.default_rng().integers(2**31))  # kept in the checkpoints, to shuffle the same on resuming
        self.elapsed, self.started = 0.0, time.perf_counter()  # seconds before this process took over, and its start
        state = getattr(net, "training_state_", None)
        if state is not None:
            if team is not parallel.SOLO:
                raise ValueError(
                    "trainnet: a network from ll.load_checkpoint goes on training in one process; use "
                    "execution_environment 'auto', 'cpu' or 'gpu'."
                )
            checkpoints.resume(self, state)

    def seconds(self):
        """Seconds of training so far, those before a checkpoint included."""
        return self.elapsed + time.perf_counter() - self.started

    def passes(self, sequences, values, epoch, shuffle, piece=False, skip=0):
        """The mini-batches of one epoch after the first `skip`, each run through the network (see
        `lstmlab.runner`); with piece=True only this worker's rows of each."""
        o = self.options
        batches = iterate_batches(
            sequences,
            values,
            self.targets.per_step,
            mini_batch_size=o.mini_batch_size,
            sequence_length=o.sequence_length,
            direction=o.sequence_padding_direction,
            shuffle=shuffle,
            sort=False,
            seed=self.seed,
            epoch=epoch,
            padding_value=o.sequence_padding_value,
        )
        if skip:
            batches = (batch for k, batch in _numbered(batches) if k >= skip)
        if piece:
            batches = self.team.piece(batches)
        return run_batches(self.net, batches, until=self.stop, freeze_padding=o.freeze_padding)

    def scored(self, step):
        """The scores of one pass, its targets, and the mask of its real steps (per-step targets only)."""
        if not self.targets.per_step:
            return step.output, step.y, None
        if step.output.shape[1] != step.y.shape[1]:
            raise ValueError(
                f"trainnet: the network outputs {step.output.shape[1]} time steps for a mini-batch of {step.y.shape[1]}, so "
                f"sequence-to-sequence targets do not line up; keep the time axis in convolution and pooling layers "
                f"(stride 1, padding 'same' or 'causal')."
            )
        return step.output, step.y, step.output_mask

    def train(self, sequences, validation):
        """Train until max_epochs or the patience runs out; with output_network="best-validation-loss"
        the network then takes the weights of its best validation."""
        self.iterate(sequences, validation)
        if self.options.output_network == "best-validation-loss" and self.best_weights is not None:
            self.net.load_state_dict(self.best_weights)

    def iterate(self, sequences, validation):
        """Every iteration of the run, validated, recorded and checkpointed as the options say."""
        o = self.options
        total = sum(count_batches(sequences, o.mini_batch_size, o.sequence_length, o.shuffle, self.seed, epoch) for epoch in range(o.max_epochs))
        progress = self.team.progress(o, total - self.iteration, self.history)
        due = False  # an iteration-wise checkpoint waits for the end of its mini-batch
        try:
            for epoch in range(self.epoch, o.max_epochs):
                self.net.train()
                for step in self.passes(sequences, self.targets.values, epoch, o.shuffle, piece=True, skip=self.batches):
                    rate = learn_rate(o, epoch, self.iteration + 1)
                    scores, y, mask = self.scored(step)
                    value = self.team.share(losses.compute(self.loss, scores, y, mask, self.weight), scores, mask)
                    self.solver.zero_grad()
                    value.backward()
                    loss = self.team.reduce(value, self.net)  # with workers: their gradients summed
                    if not math.isfinite(loss):
                        raise FloatingPointError(
                            f"trainnet: the loss became {loss} at iteration {self.iteration + 1} (epoch {epoch + 1}); "
                            f"training stopped. Lower initial_learn_rate, set gradient_threshold, or check the data's scale."
                        )
                    self.solver.step(rate)
                    self.iteration += 1
                    row = {"epoch": epoch + 1, "iteration": self.iteration, "loss": loss}
                    if self.metrics:
                        row.update(self._metric_values(*self.team.gather(scores.detach(), y, mask)))
                    if validation is not None and self.iteration % o.validation_frequency == 0:
                        row.update(self.validated(validation))
                    row.update(learn_rate=rate, seconds=self.seconds())
                    self.history.append(row)
                    progress.update(row)
                    if self.patience_left <= 0:
                        return
                    due |= self.checkpoints_every("iteration") and self.iteration % o.checkpoint_frequency == 0
                    if o.checkpoint_path is not None and _ends_mini_batch(step.batch, sequences, o.sequence_length):
                        self.batches += 1  # counted for the checkpoints (which a team of workers does not write)
                        if due:  # written between mini-batches: the state carried from chunk to chunk is not kept
                            checkpoints.write(self, o.checkpoint_path)
                            due = False
                self.epoch, self.batches = epoch + 1, 0
                if self.checkpoints_every("epoch") and self.epoch % o.checkpoint_frequency == 0:
                    checkpoints.write(self, o.checkpoint_path)
            if validation is not None and "validation_loss" not in self.history[-1]:
                self.history[-1].update(self.validated(validation))  # always validate the final network
        finally:
            progress.close()

    def checkpoints_every(self, unit):
        """Whether checkpoints are written every so many of `unit` ("epoch" or "iteration")."""
        return self.options.checkpoint_path is not None and self.options.checkpoint_frequency_unit == unit

    def _metric_values(self, scores, y, mask, prefix=""):
        """Metrics on the network's outputs (probabilities for the cross-entropies), real steps only."""
        if not self.metrics:
            return {}
        outputs = self.net.layers[-1](scores) if self.stop is not None else scores
        if mask is not None:
            outputs, y = outputs[mask], y[mask]
        return {prefix + name: fn(outputs, y) for name, fn in self.metrics.items()}

    def validated(self, validation):
        """Validate (worker 0 alone, when there are workers) and count down the patience."""
        result = self.team.from_leader(self.validate, *validation)
        if result["validation_loss"] < self.best:
            self.best, self.patience_left = result["validation_loss"], self.options.validation_patience
            if self.options.output_network == "best-validation-loss":
                self.best_weights = {key: value.detach().clone() for key, value in self.net.state_dict().items()}
        else:
            self.patience_left -= 1
        return result

    def validate(self, sequences, targets):
        """Loss and metrics on the validation data, in evaluation mode.

        The state is carried from chunk to chunk, as in training; a network that outputs one
        vector per sequence is scored on the last chunk of each mini-batch.
        """
        kept = {}  # (scores, targets) of the real steps of each chunk, or of each mini-batch's last chunk
        with evaluating(self.net):
            for step in self.passes(sequences, targets.values, 0, "never"):
                scores, y, mask = self.scored(step)
                if mask is not None:  # per step: every chunk holds its own steps
                    kept[step.batch.indices[0], step.batch.chunk] = scores[mask], y[mask]
                else:  # one output per sequence: a later chunk replaces an earlier one
                    kept[step.batch.indices[0]] = scores, y
            scores, y = torch.cat([s for s, _ in kept.values()]), torch.cat([t for _, t in kept.values()])
            value = losses.compute(self.loss, scores, y, weight=self.weight).item()
            metrics = self._metric_values(scores, y, None, prefix="validation_")
        return {"validation_loss": value, **metrics}


def class_weights(weights, targets, loss):
    """The class weights of `training_options(class_weights=...)` as a (K,) float64 tensor, or None.

    Checked against the classes of the targets: a dict names classes that exist; a sequence has
    one weight per class, in the order of the sorted class names.
    """
    if weights is None:
        return None
    if loss != "crossentropy":
        raise ValueError(f"trainnet: class_weights is for loss 'crossentropy'; got loss {loss!r}. Drop class_weights.")
    names = targets.class_names
    if weights == "balanced":
        codes = np.concatenate(targets.values) if targets.per_step else targets.values
        counts = np.bincount(codes, minlength=len(names))
        if not counts.all():
            missing = [names[k] for k in np.flatnonzero(counts == 0)]
            raise ValueError(
                f"trainnet: class_weights='balanced' weighs each class by its share of the training targets, but classes "
                f"{missing} have none; give the weights as a dict {{class name: weight}}."
            )
        return torch.as_tensor(counts.sum() / (len(names) * counts), dtype=torch.float64)
    if isinstance(weights, dict):
        unknown = [name for name in weights if name not in names]
        if unknown:
            raise ValueError(f"trainnet: class_weights names classes {unknown} that are not among the classes {names}; use those names.")
        return torch.as_tensor([float(weights.get(name, 1.0)) for name in names], dtype=torch.float64)
    if len(weights) != len(names):
        raise ValueError(
            f"trainnet: class_weights has {len(weights)} weights but there are {len(names)} classes {names}; give one "
            f"per class in that order, or a dict {{class name: weight}}."
        )
    return torch.as_tensor(weights, dtype=torch.float64)


def _numbered(batches):
    """(k, batch): each chunk numbered by the mini-batch it belongs to (0, 1, ...)."""
    k = -1
    for batch in batches:
        k += batch.chunk == 0
        yield k, batch


def _ends_mini_batch(batch, sequences, sequence_length):
    """Whether `batch` is the last chunk of its mini-batch (see `lstmlab.batching`)."""
    if not isinstance(sequence_length, numbers.Integral):
        return True
    longest = max(len(sequences[n]) for n in batch.indices)
    return batch.chunk == math.ceil(longest / sequence_length) - 1


def _metrics(metrics, targets):
    """{name: fn(scores, targets) -> float} for the metrics asked for."""
    if metrics is None:
        return {}
    chosen = [metrics] if isinstance(metrics, str) or callable(metrics) else list(metrics)
    table = {}
    for metric in chosen:
        if metric == "accuracy":
            if targets.class_names is None:
                raise ValueError("trainnet: metric 'accuracy' is for classification (loss 'crossentropy'); use 'rmse' for regression.")
            table["accuracy"] = lambda s, y: (s.argmax(-1) == y).float().mean().item()
        elif metric == "rmse":
            table["rmse"] = lambda s, y: torch.sqrt(torch.mean((s - y) ** 2)).item()
        elif callable(metric):  # fn(outputs, targets): probabilities and class codes, or predictions and responses
            name = getattr(metric, "__name__", "metric")
            table[name] = lambda s, y, fn=metric: float(fn(s.cpu().numpy(), y.cpu().numpy()))
        else:
            raise ValueError(f"trainnet: metrics must be 'accuracy', 'rmse', a callable or a list of them; got {metric!r}.")
    return table

