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

Captum sees a forward function from the padded mini-batch (B, T, C) to the B explained scalars;
its expanded batches (integrated gradients stacks the path's points, (steps * B, T, C)) run in one
pass, the mask and start states repeated to match.
"""

import contextlib
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from captum._utils.gradient import compute_layer_gradients_and_eval
from captum.attr import InputXGradient, IntegratedGradients, LayerAttribution, Occlusion, Saliency

from ._checks import check_bool, check_positive_int
from .batching import check_batching_options, iterate_batches
from .data import as_sequences, is_one_sequence
from .decomposition import decompose
from .interventions import bind
from .layers import RecurrentLayer, SoftmaxLayer
from .network import exact_float32, prepare, sequence_options
from .runner import held_states

METHODS = ("gradient", "input-x-gradient", "integrated-gradients", "occlusion", "grad-cam", "contextual-decomposition")
OUTPUTS = ("score", "probability")
ALL_STEPS = "all steps"
PREDICTION_OPTIONS = ("mini_batch_size", "sequence_length", "sequence_padding_direction", "sequence_padding_value", "freeze_padding", "interventions")
METHOD_OPTIONS = {"integrated-gradients": ("internal_batch_size",), "occlusion": ("window",), "grad-cam": ("layer",)}
WHERE = "attribute"


@dataclass(frozen=True)
class Attribution:
    """What `ll.attribute` found: one number per time step and channel of each sequence.

    Attributes:
        values: X's structure: a list of (T_n, C) arrays, an (N, T, C) array, or one (T, C)
            sequence's array. Grad-CAM gives one value per step: C is then 1.
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
            structure. Padded steps take the input's own value, so they get no attribution.
        steps: integrated gradients' number of points along the path.
        options: the prediction options of `ll.predict` (mini_batch_size, sequence_length,
            sequence_padding_direction, sequence_padding_value, freeze_padding, interventions):
            the attribution explains the scores `ll.predict(net, X, **options)` returns, from the
            network's held states. And per method: internal_batch_size (integrated gradients: rows
            per forward pass), window (occlusion: steps per window, default 1), layer (grad-cam:
            the layer's name, default the last recurrent layer with output_mode="sequence").

    Returns:
        An `Attribution`.
    """
    method = _choice(method, "method", METHODS)
    output = _choice(output, "output", OUTPUTS)
    steps = check_positive_int(steps, "steps", WHERE)
    prediction, extra = _split_options(method, options)
    if baseline is not None and method not in ("integrated-gradients", "occlusion"):
        raise ValueError(f"attribute: baseline applies to integrated-gradients and occlusion; method={method!r} has none. Leave baseline=None.")
    sequences = prepare(net, X, WHERE)
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


def explain(net, sequences, method, *, targets, output, baselines, steps=64, extra=None, weights=None, **options):
    """The engine of `attribute` (and of the checks), on checked sequences.

    targets: per sequence (class or None, step or None or ALL_STEPS); weights, if given, replace
    them: per sequence the one-hot W over its real output steps (see `Attribution.weights`).
    method may also be None: F(x) only. Returns (values per sequence (T_n, C) or None, delta (N,)
    or None, F(x) (N,), the (class, step) explained per sequence, W per sequence).
    """
    extra = extra or {}
    o = sequence_options(
        net,
        sequence_length=options.get("sequence_length"),
        sequence_padding_direction=options.get("sequence_padding_direction"),
        sequence_padding_value=options.get("sequence_padding_value"),
        freeze_padding=options.get("freeze_padding"),
    )
    freeze = check_bool(o["freeze_padding"], "freeze_padding", WHERE)
    batching = check_batching_options(options.get("mini_batch_size", 128), o["sequence_length"], o["sequence_padding_direction"], "never", False, WHERE)
    if batching["sequence_length"] != "longest":
        raise ValueError(
            f"attribute: sequence_length={batching['sequence_length']!r} cuts sequences into chunks or truncates them, and "
            f"gradients do not cross chunks; leave sequence_length='longest' (chunks change no score)."
        )
    until = _until(net, output)
    N = len(sequences)
    recurrent = [layer for layer in net.layers[:until] if isinstance(layer, RecurrentLayer)]
    start = held_states(recurrent, N, WHERE)
    batches = functools.partial(iterate_batches, targets=None, per_step=False, seed=None, epoch=0, padding_value=o["sequence_padding_value"], **batching)
    plan = bind(net, options.get("interventions"), sequences, WHERE, batches=batches, start_states=start, freeze_padding=freeze, stop=until)
    run = functools.partial(_run, net, until=until, freeze=freeze, plan=plan)
    values, delta, score, chosen, used = [None] * N, np.zeros(N), np.zeros(N), [None] * N, [None] * N
    like = net.layers[0].like
    with _explaining(net):
        for batch in batches(sequences):
            rows = torch.as_tensor(batch.indices, device=like.device)
            states = {name: tuple(s.index_select(0, rows) for s in held) for name, held in start.items()}
            x = torch.as_tensor(batch.x).to(like)  # (B, T, C)
            mask = torch.as_tensor(batch.mask, device=like.device)  # (B, T)
            with torch.no_grad():
                out, out_mask = run(batch, x, mask, states)
            W = torch.zeros_like(out)  # (B, T_out, K) or (B, K)
            for b, n in enumerate(batch.indices):
                real = None if out_mask is None else out_mask[b]
                used[n], chosen[n] = (weights[n], None) if weights is not None else _weights(out[b], real, targets[n], n)
                W[b] = _place(W[b], real, used[n])
            forward = _forward(run, batch, mask, states, W)
            a, d = _attribute(method, forward, x, _padded_baseline(baselines, batch, x), mask, steps, extra, net, run, batch, states, W)
            with torch.no_grad():
                f = forward(x)  # (B,)
            for b, n in enumerate(batch.indices):
                score[n] = f[b]
                if a is not None:
                    values[n] = a[b][batch.mask[b]]  # its real steps
                if d is not None:
                    delta[n] = d[b]
    return (None if method is None else values), (delta if method == "integrated-gradients" else None), score, chosen, used


def _decomposed(net, sequences, targets, output, options):
    """Contextual decomposition, step by step: each step's own relevant part (`ll.decompose` with the
    span [t]), as explain returns it. The parts of the steps need not add up to the score: each is
    what that step alone contributes, its interactions with the others going to the irrelevant part."""
    if output != "score":
        raise ValueError("attribute: contextual-decomposition splits the score (the input of the softmax); use output='score'.")
    if any(step not in (None, -1) for _, step in targets):
        raise ValueError("attribute: contextual-decomposition explains the last real step of a network with an output at every step; give target=class or (class, -1).")
    lengths = [len(x) for x in sequences]
    classes = [k for k, _ in targets]
    if None in classes:  # the predicted class, as decompose finds it
        predicted = decompose(net, sequences, [], **options).target
        classes = [int(p) if k is None else k for k, p in zip(classes, predicted)]
    values = [np.zeros((T, 1), np.float32) for T in lengths]  # one value per step
    for t in range(max(lengths)):
        d = decompose(net, sequences, [[t] if t < T else [] for T in lengths], target=classes, **options)
        for n, T in enumerate(lengths):
            if t < T:
                values[n][t, 0] = d.relevant[n]
    K = net.output_size
    chosen = [(int(k), None if not net.returns_sequence else T - 1) for k, T in zip(d.target, lengths)]
    weights = [np.eye(K)[k] if t is None else np.eye(K)[[k] * T] * (np.arange(T) == t)[:, None] for (k, t), T in zip(chosen, lengths)]
    return values, None, np.asarray(d.score, np.float64), chosen, weights


# --- the forward function Captum differentiates -------------------------------------------------------


def _run(net, batch, x, mask, states, *, until, freeze, plan):
    """x (B*k, T, C), k copies of the mini-batch (Captum's expanded batches), through the network:
    the output (B*k, T_out, K) or (B*k, K) and its mask (B*k, T_out) or None."""
    k = x.shape[0] // len(batch.indices)
    if plan is None:
        tiled = {name: tuple(s.repeat(k, 1) for s in held) for name, held in states.items()}
        out, _, out_mask = net.run(x, mask.repeat(k, 1), tiled, until=until, freeze_padding=freeze)
        return out, out_mask
    run_recurrent = functools.partial(plan.run_recurrent, batch)  # interventions know the mini-batch's rows: one copy at a time
    parts = [net.run(part, mask, states, run_recurrent=run_recurrent, until=until, freeze_padding=freeze) for part in x.split(len(batch.indices))]
    out_mask = parts[0][2]
    return torch.cat([p[0] for p in parts]), None if out_mask is None else out_mask.repeat(k, 1)


def _forward(run, batch, mask, states, W):
    """F: (B*k, T, C) -> (B*k,), the sum of W * output for each row."""

    def forward(x):
        out, _ = run(batch, x, mask, states)
        k = x.shape[0] // W.shape[0]
        return (out * W.repeat(k, *[1] * (W.ndim - 1))).flatten(1).sum(1)  # (B*k,)

    return forward


def _attribute(method, forward, x, base, mask, steps, extra, net, run, batch, states, W):
    """Captum's attribution of F on the mini-batch x (B, T, C): ((B, T, C) NumPy, delta (B,) or None)."""
    keep = mask[..., None].to(x.dtype)  # (B, T, 1): padded steps get nothing
    if method is None:
        return None, None
    x = x.detach().requires_grad_()
    if method == "gradient":
        a = Saliency(forward).attribute(x, abs=False) * keep
    elif method == "input-x-gradient":
        a = InputXGradient(forward).attribute(x) * keep
    elif method == "integrated-gradients":
        a, d = IntegratedGradients(forward).attribute(
            x, baselines=base, n_steps=steps, internal_batch_size=extra.get("internal_batch_size"), return_convergence_delta=True
        )
        return a.detach().cpu().numpy(), d.detach().cpu().numpy()
    elif method == "occlusion":
        window = extra.get("window", 1)
        C = x.shape[-1]
        a = Occlusion(forward).attribute(x, sliding_window_shapes=(window, C), strides=(1, C), baselines=base) / C
    else:
        a = _grad_cam(net, run, batch, x, mask, states, W, extra.get("layer"))
    return a.detach().cpu().numpy(), None


def _grad_cam(net, run, batch, x, mask, states, W, name):
    """MATLAB's gradCAM for sequences, at a layer with an output at every step: ReLU(sum over units of
    A[t, u] * mean over real steps of dF/dA[:, u]), brought to the input's time; (B, T, 1)."""
    layer = _cam_layer(net, name)
    forward = _forward(run, batch, mask, states, W)
    (grads,), (A,) = compute_layer_gradients_and_eval(forward, layer, (x,), target_ind=None)  # each (B, T_l, U)
    A = A if not isinstance(A, tuple) else A[0]
    if A.ndim != 3:
        raise ValueError(f"attribute: grad-cam at layer {layer.name!r}, whose output has no time axis ({tuple(A.shape)}); choose a layer with an output at every step.")
    real = mask[..., None].to(x.dtype) if A.shape[1] == x.shape[1] else torch.ones_like(A[..., :1])  # (B, T_l, 1)
    alpha = (grads * real).sum(1, keepdim=True) / real.sum(1, keepdim=True)  # (B, 1, U)
    cam = torch.relu((alpha * A).sum(-1))[:, None]  # (B, 1, T_l)
    if cam.shape[-1] != x.shape[1]:
        cam = LayerAttribution.interpolate(cam, (x.shape[1],), interpolate_mode="linear")
    return cam[:, 0, :, None] * mask[..., None]  # (B, T, 1)


def _cam_layer(net, name):
    names = [layer.name for layer in net.layers]
    if name is None:
        candidates = [layer for layer in net.layers if isinstance(layer, RecurrentLayer) and layer.output_mode == "sequence"]
        if not candidates:
            raise ValueError(
                "attribute: grad-cam needs a layer with an output at every step, and this network has no recurrent layer with "
                "output_mode='sequence'; give layer=NAME (a layer before the time axis goes), or choose another method."
            )
        return candidates[-1]
    if name not in names:
        raise ValueError(f"attribute: layer={name!r} is not a layer of the network; choose from {', '.join(names)}.")
    return net[name]


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


def _weights(out, real, target, n):
    """One sequence's W (one-hot over its real output steps and classes) and the (class, step) it picks.

    out: (T_out, K) or (K,) its output; real: (T_out,) its real output steps, or None."""
    k, step = target
    if real is None:
        k = int(out.argmax()) if k is None else k
        W = np.zeros(out.shape[-1])
        W[k] = 1
        return W, (k, None)
    scores = out[real].cpu().numpy()  # (T_n, K)
    W = np.zeros_like(scores)
    T = len(scores)
    if step == ALL_STEPS:
        classes = scores.argmax(-1) if k is None else np.full(T, k)
        W[np.arange(T), classes] = 1
        return W, (-1 if k is None else k, -1)
    step = -1 if step is None else step
    if not -T <= step < T:
        raise ValueError(f"attribute: the target step {step} is outside sequence {n}'s {T} output steps; give a step from {-T} to {T - 1}.")
    step %= T
    k = int(scores[step].argmax()) if k is None else k
    W[step, k] = 1
    return W, (k, step)


def _place(row, real, W):
    """A sequence's W into its row (T_out, K) or (K,) of the mini-batch."""
    row = row.clone()
    W = torch.as_tensor(W, dtype=row.dtype, device=row.device)
    if real is None:
        return W
    row[real] = W
    return row


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


def _padded_baseline(baselines, batch, x):
    """The mini-batch's baseline (B, T, C): each sequence's on its real steps, the input itself on padding."""
    base = batch.x.copy()
    for b, n in enumerate(batch.indices):
        base[b][batch.mask[b]] = baselines[n]
    return torch.as_tensor(base).to(x)


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


def _until(net, output):
    """How many layers F runs: all but a final softmax for scores."""
    ends_in_softmax = isinstance(net.layers[-1], SoftmaxLayer)
    if output == "probability" and not ends_in_softmax:
        raise ValueError(f"attribute: output='probability' needs a network that ends in a softmax layer; this one ends in {net.layers[-1].name!r}. Use output='score'.")
    return -1 if output == "score" and ends_in_softmax else None


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


@contextlib.contextmanager
def _explaining(net):
    """Inference behaviour (dropout off, exact float32) with gradients on; the training flag is restored."""
    was_training = net.training
    net.eval()
    try:
        with torch.enable_grad(), exact_float32():
            yield
    finally:
        net.train(was_training)

