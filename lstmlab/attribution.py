"""Attribution: which time steps and channels made a network decide.

    att = ll.attribute(net, X)                 # integrated gradients of each predicted class's score
    att.values[0]                              # (T_0, C): one number per step and channel
    att.by_step[0]                             # (T_0,): summed over channels
    att.delta                                  # (N,): completeness, sum minus (F(x) - F(baseline))

Captum computes gradient, input x gradient, integrated gradients, occlusion and Grad-CAM. What
this module adds is what Captum leaves to its user for sequences:

- variable lengths: the sequences run in padded mini-batches as `ll.predict` runs them (same
  padding direction and value, frozen padding, interventions, held start states), the baseline
  equals the input on padded steps, and each sequence's attribution is cut to its real steps;
- the target: one scalar per sequence, F(x) = sum of W * scores, where W (one-hot) picks the
  class (the predicted one by default) and, for a network with an output at every step, the step
  (the last real step by default) or every real step ("all steps");
- the answer in X's structure (`Attribution`).

The loop over mini-batches, and the forward function Captum differentiates, are in
`lstmlab.attribution_batches`.
"""

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ._checks import check_positive_int
from .attribution_batches import ALL_STEPS, WHERE, explain, word_embedding
from .data import as_sequences, is_one_sequence
from .decomposition import each_step
from .layers import SoftmaxLayer
from .prediction import OPTIONS
from .preparation import prepare

METHODS = ("gradient", "input-x-gradient", "integrated-gradients", "occlusion", "grad-cam", "contextual-decomposition")
OUTPUTS = ("score", "probability")
PREDICTION_OPTIONS = tuple(OPTIONS)  # predict's options
METHOD_OPTIONS = {"integrated-gradients": ("internal_batch_size",), "occlusion": ("window",), "grad-cam": ("layer",)}


@dataclass(frozen=True)
class Attribution:
    """What `ll.attribute` found: one number per time step and channel of each sequence.

    Attributes:
        values: X's structure: a list of (T_n, C) arrays, an (N, T, C) array, or one (T, C)
            sequence's array. Grad-CAM and contextual decomposition give one value per step,
            and a network that reads token ids one per token: C is then 1.
        by_step: values summed over channels: a list of (T_n,), (N, T), or (T,).
        delta: (N,) for integrated gradients, the completeness error: the sum of a sequence's
            values minus (F(x) - F(baseline)); None for the other methods.
        score: (N,) F(x), the explained scalar of each sequence (see `target`).
        target: (N,) the class explained in each sequence (an index into class_names); -1 where
            "all steps" explains each step's own predicted class.
        step: (N,) the output step explained (among the sequence's real output steps, counted
            from 0), -1 for all steps summed; None for a network with one output per sequence.
        method, output: as given to `ll.attribute`.
        options: the prediction options whose `ll.predict` scores it explains.
        class_names: the network's class names, or None.
    """

    values: object
    by_step: object
    delta: object
    score: np.ndarray
    target: np.ndarray
    step: object
    method: str
    output: str
    options: dict
    class_names: object
    weights: list  # per sequence, the one-hot W over (real output steps, K) or (K,): F(x) = sum W * scores

    @property
    def sequences(self):
        """values as a list of (T_n, C) arrays, whatever X's structure."""
        if isinstance(self.values, list):
            return self.values
        return [self.values] if self.values.ndim == 2 else list(self.values)

    def to_frame(self):
        """A tidy DataFrame: sequence, time, channel, value (real steps only; time counted from 0,
        step time + 1 of the figures)."""
        frames = []
        for n, v in enumerate(self.sequences):
            T, C = v.shape
            frames.append(pd.DataFrame({"sequence": n, "time": np.repeat(np.arange(T), C), "channel": np.tile(np.arange(C), T), "value": v.reshape(-1)}))
        return pd.concat(frames, ignore_index=True)

    def __repr__(self):
        options = "".join(f", {name}={value!r}" for name, value in self.options.items())
        return (
            f"Attribution(method={self.method!r}, output={self.output!r}, {len(self.score)} sequence(s)): explains the "
            f"{self.output}s of ll.predict(net, X{options})"
        )


def attribute(net, X, *, method="integrated-gradients", target=None, output="score", baseline=None, steps=64, **options):
    """Which steps and channels of each sequence made the network give its score.

    Args:
        net: an `ll.Network`.
        X: a list of (T_n, C) arrays, an (N, T, C) array, or one (T, C) sequence.
        method: "gradient" (dF/dx), "input-x-gradient" (x * dF/dx), "integrated-gradients"
            ((x - baseline) times the gradient averaged along the straight path from the baseline,
            Captum's Gauss-Legendre rule with `steps` points), "occlusion" (the fall of F when a
            window of steps is replaced by the baseline; each channel gets an equal share, so that
            by_step is the fall), "grad-cam" (at a layer with an output at every step, as MATLAB's
            gradCAM for sequences: ReLU of the layer's output weighted by its gradient averaged
            over time; one value per step) or "contextual-decomposition" (LSTM and BiLSTM
            networks as `ll.decompose` takes them: each step's own relevant part of the score, one
            value per step; they need not add up to the score).
        target: what F(x) is. None: each sequence's predicted class. A class name or index: that
            class in every sequence. For a network with an output at every step, a tuple
            (class, step): the class at that real output step (counted from 0, -1 the last), or
            (class, "all steps"): summed over every real step, class None for each step's
            predicted class; a class alone means its last real step. A list (or array) gives one
            such target per sequence. A regression network's target is the response's index
            (None: the only response).
        output: "score", the input of the final softmax layer (the network's output if it ends in
            none), or "probability", the softmax's output.
        baseline: for integrated gradients and occlusion, the input that stands for "nothing":
            None (zeros), a number, a (C,) array (e.g. the training data's mean), or data in X's
            structure. Padded steps take the input's own value, so they get no attribution. A
            network that reads token ids (a word embedding layer) is attributed by its word
            vectors, from zeros (padding's vector): one value per token, the vector's summed.
        steps: integrated gradients' number of points along the path.
        options: the prediction options of `ll.predict` (mini_batch_size, sequence_length,
            sequence_padding_direction, sequence_padding_value, freeze_padding, interventions):
            the attribution explains the scores `ll.predict(net, X, **options)` returns, from the
            network's held states. And per method: internal_batch_size (integrated gradients: rows
            per forward pass), window (occlusion: steps per window, default 1), layer (grad-cam:
            the layer's name, default the last recurrent layer with output_mode="sequence").

    Returns:
        An `Attribution`.

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4, output_mode="last"),
    ...                   ll.fully_connected_layer(2), ll.softmax_layer()])
    >>> att = ll.attribute(net, [np.ones((5, 3)), np.ones((2, 3))], steps=64)
    >>> [v.shape for v in att.values], att.by_step[1].shape, bool(np.abs(att.delta).max() < 1e-4)
    ([(5, 3), (2, 3)], (2,), True)
    """
    method = _choice(method, "method", METHODS)
    output = _choice(output, "output", OUTPUTS)
    steps = check_positive_int(steps, "steps", WHERE)
    prediction, extra = _split_options(method, options)
    sequences = prepare(net, X, WHERE)
    if baseline is not None and word_embedding(net) is not None:
        raise ValueError(
            "attribute: the network reads token ids, so attribution works on their word vectors, whose baseline is "
            "zeros (the vector of padding); leave baseline=None."
        )
    if baseline is not None and method not in ("integrated-gradients", "occlusion"):
        raise ValueError(f"attribute: baseline applies to integrated-gradients and occlusion; method={method!r} has none. Leave baseline=None.")
    baselines = as_baselines(baseline, sequences, X)
    targets = _targets(net, target, len(sequences))
    if method == "contextual-decomposition":
        explained = _decomposed(net, sequences, targets, output, prediction)
    else:
        explained = explain(net, sequences, method, targets=targets, output=output, baselines=baselines, steps=steps, extra=extra, **prediction)
    values, delta, score, chosen, weights = explained
    as_array = isinstance(X, (np.ndarray, torch.Tensor))
    one = is_one_sequence(X)
    shaped = functools.partial(_like_x, as_array=as_array, one=one)
    classes, at = zip(*chosen)
    return Attribution(
        values=shaped(values),
        by_step=shaped([v.sum(-1) for v in values]),
        delta=delta,
        score=score,
        target=np.array(classes),
        step=None if at[0] is None else np.array(at),
        method=method,
        output=output,
        options={name: value for name, value in prediction.items() if value is not None},
        class_names=net.class_names,
        weights=weights,
    )


def _decomposed(net, sequences, targets, output, options):
    """Contextual decomposition, step by step: each step's own relevant part (`ll.decompose` with the
    span [t]; `decomposition.each_step`), as explain returns it. The parts of the steps need not add
    up to the score: each is what that step alone contributes, its interactions with the others
    going to the irrelevant part."""
    if output != "score":
        raise ValueError("attribute: contextual-decomposition splits the score (the input of the softmax); use output='score'.")
    if any(step == ALL_STEPS for _, step in targets):
        raise ValueError("attribute: contextual-decomposition explains one step; give target=(class, step), not 'all steps'.")
    by_step, d = each_step(net, sequences, target=[k if step is None else (k, step) for k, step in targets], **options)
    steps = [None] * len(sequences) if d.step is None else [int(t) for t in d.step]
    chosen = [(int(k), t) for k, t in zip(d.target, steps)]
    one_hot = np.eye(net.output_size)
    weights = [one_hot[k] if t is None else one_hot[[k] * len(x)] * (np.arange(len(x)) == t)[:, None] for (k, t), x in zip(chosen, sequences)]
    return [v.astype(np.float32)[:, None] for v in by_step], None, np.asarray(d.score, np.float64), chosen, weights


# --- targets, baselines, options --------------------------------------------------------------------


def _targets(net, target, N):
    """Per sequence (class index or None, step or None or ALL_STEPS), checked against the network."""
    per_step = net.returns_sequence
    K = net.output_size
    if isinstance(target, (list, np.ndarray)):
        if len(target) != N:
            raise ValueError(f"attribute: target has {len(target)} entries but X has {N} sequences; give one target per sequence, or one for all.")
        return [_target(net, t, per_step, K, f"target[{n}]") for n, t in enumerate(target)]
    return [_target(net, target, per_step, K, "target")] * N


def _target(net, t, per_step, K, label):
    step = None
    if isinstance(t, tuple):
        if not per_step:
            raise ValueError(f"attribute: {label}={t!r} names a step, but the network outputs one vector per sequence; give the class alone.")
        if len(t) != 2:
            raise ValueError(f"attribute: {label}={t!r} must be (class, step) or (class, 'all steps').")
        t, step = t
        if not (step == ALL_STEPS or isinstance(step, (int, np.integer)) and not isinstance(step, bool)):
            raise ValueError(f"attribute: {label} has step {step!r}; give a step index (-1: the last real step) or 'all steps'.")
    if t is None:
        classifies = net.class_names is not None or isinstance(net.layers[-1], SoftmaxLayer)
        if not classifies and K != 1:
            raise ValueError(f"attribute: {label}=None explains the predicted class, but the network ends in no softmax and has {K} responses; give the response's index.")
        return (None if classifies else 0), step
    names = [] if net.class_names is None else [str(c) for c in net.class_names]
    if isinstance(t, str):
        if t not in names:
            choose = f"choose from {', '.join(map(repr, names))}" if names else "the network has no class names; give an index"
            raise ValueError(f"attribute: {label}={t!r} is not a class of the network; {choose}.")
        return names.index(t), step
    if isinstance(t, (int, np.integer)) and not isinstance(t, bool) and 0 <= t < K:
        return int(t), step
    raise ValueError(f"attribute: {label}={t!r}; expected None, a class name or an index from 0 to {K - 1}.")


def as_baselines(baseline, sequences, X):
    """Per sequence a (T_n, C) baseline."""
    if baseline is None:
        return [np.zeros_like(x) for x in sequences]
    if isinstance(baseline, (int, float, np.number)) and not isinstance(baseline, bool):
        return [np.full_like(x, float(baseline)) for x in sequences]
    C = sequences[0].shape[1]
    if isinstance(baseline, np.ndarray) and baseline.shape == (C,):
        return [np.broadcast_to(baseline, x.shape).astype(x.dtype) for x in sequences]
    try:
        given = as_sequences(baseline, where=WHERE)
    except (TypeError, ValueError) as error:
        raise ValueError(f"attribute: baseline must be None, a number, a ({C},) array or data shaped as X; {error}") from None
    if is_one_sequence(X) != is_one_sequence(baseline) or [b.shape for b in given] != [x.shape for x in sequences]:
        raise ValueError(
            f"attribute: baseline has sequences of shapes {[b.shape for b in given][:3]}, X {[x.shape for x in sequences][:3]}; "
            f"give a baseline shaped as X, a ({C},) array or a number."
        )
    return [b.astype(x.dtype) for b, x in zip(given, sequences)]


def _split_options(method, options):
    prediction = {name: options.pop(name) for name in PREDICTION_OPTIONS if name in options}
    allowed = METHOD_OPTIONS.get(method, ())
    unknown = [name for name in options if name not in allowed]
    if unknown:
        extra = f"; method {method!r} also takes {', '.join(allowed)}" if allowed else ""
        raise TypeError(f"attribute: unexpected option {unknown[0]!r}. The prediction options are {', '.join(PREDICTION_OPTIONS)}{extra}.")
    if "window" in options:
        options["window"] = check_positive_int(options["window"], "window", WHERE)
    return prediction, options


def _choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"attribute: {name}={value!r}; choose one of {', '.join(map(repr, choices))}.")
    return value


def _like_x(values, *, as_array, one):
    if one:
        return values[0]
    if as_array and len({len(v) for v in values}) == 1:
        return np.stack(values)
    return values
