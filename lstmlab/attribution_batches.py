"""The mini-batch loop of `ll.attribute`: Captum's methods on lstmlab's padded mini-batches.

The sequences run as `ll.predict` runs them (`lstmlab.batching.iterate_batches`, the held start
states, the interventions' plan). For each mini-batch, one pass without gradients finds what each
sequence explains, W (one-hot over its real output steps and classes: the predicted class, the
last real step, by default); Captum then sees a forward function from the padded mini-batch
(B, T, C) to the B explained scalars, F(x) = sum of W * output. Its expanded batches (integrated
gradients stacks the path's points, (steps * B, T, C)) run in one pass, the mask and start states
repeated to match; with interventions, which know the rows of their mini-batch, one copy at a
time. The baseline equals the input on padded steps, and each sequence's attribution is cut to
its real steps. A network that reads token ids is differentiated by its word vectors instead (a
forward hook puts them in place of the embedding's output), from a baseline of zeros, the
vector of padding; the values of a token's vector are summed, one value per token.
"""

import contextlib
import functools

import numpy as np
import torch

from .inference import prepare_inference
from .layers import RecurrentLayer, SoftmaxLayer, WordEmbeddingLayer
from .runner import exact_float32

ALL_STEPS = "all steps"
WHERE = "attribute"


def explain(net, sequences, method, *, targets, output, baselines, steps=64, extra=None, weights=None, **options):
    """The engine of `attribute` (and of the checks), on checked sequences.

    targets: per sequence (class or None, step or None or ALL_STEPS); weights, if given, replace
    them: per sequence the one-hot W over its real output steps (see `Attribution.weights`).
    method may also be None: F(x) only. Returns (values per sequence (T_n, C) or None, delta (N,)
    or None, F(x) (N,), the (class, step) explained per sequence, W per sequence).
    """
    extra = extra or {}
    if options.get("sequence_length") not in (None, "longest"):
        raise ValueError(
            f"attribute: sequence_length={options['sequence_length']!r} cuts sequences into chunks or truncates them, and "
            f"gradients do not cross chunks; leave sequence_length='longest' (chunks change no score)."
        )
    until = _until(net, output)
    options = {"mini_batch_size": 128, **options}
    sequences, batches, start, plan, freeze = prepare_inference(net, sequences, WHERE, **options, until=until)  # as ll.predict runs X
    N = len(sequences)
    run = functools.partial(_run, net, until=until, freeze=freeze, plan=plan)
    values, delta, score, chosen, used = [None] * N, np.zeros(N), np.zeros(N), [None] * N, [None] * N
    like = net.layers[0].like
    embedding = word_embedding(net)
    with _explaining(net):
        for batch in batches(sequences):
            rows = torch.as_tensor(batch.indices, device=like.device)
            states = {name: tuple(s.index_select(0, rows) for s in held) for name, held in start.items()}
            x = torch.as_tensor(batch.x).to(like)  # (B, T, C)
            mask = torch.as_tensor(batch.mask, device=like.device)  # (B, T)
            with torch.no_grad(), _recording(embedding) as vectors:
                out, out_mask = run(batch, x, mask, states)
            W = torch.zeros_like(out)  # (B, T_out, K) or (B, K)
            for b, n in enumerate(batch.indices):
                real = None if out_mask is None else out_mask[b]
                used[n], chosen[n] = (weights[n], None) if weights is not None else _weights(out[b], real, targets[n], n)
                W[b] = _place(W[b], real, used[n])
            forward = _forward(run, batch, mask, states, W)
            if embedding is None or method in (None, "grad-cam"):
                a, d = _attribute(method, forward, x, _padded_baseline(baselines, batch, x), mask, steps, extra, net)
            else:  # token ids: attribute the word vectors, whose baseline is padding's vector, zeros
                E = vectors[0]  # (B, T, D)
                base = E * ~mask[..., None]  # (B, T, D): zeros on real steps, the vectors themselves on padding
                a, d = _attribute(method, _of_vectors(forward, embedding, x), E, base, mask, steps, extra, net)
                a = a.sum(-1, keepdims=True)  # (B, T, 1): one value per token
            f = (out * W).flatten(1).sum(1)  # (B,) F(x), from the pass that chose W
            for b, n in enumerate(batch.indices):
                score[n] = f[b]
                if a is not None:
                    values[n] = a[b][batch.mask[b]]  # its real steps
                if d is not None:
                    delta[n] = d[b]
    return (None if method is None else values), (delta if method == "integrated-gradients" else None), score, chosen, used


def word_embedding(net):
    """The network's word embedding layer, if it reads token ids (first, or after the input layer)."""
    return next((layer for layer in net.layers[:2] if isinstance(layer, WordEmbeddingLayer)), None)


@contextlib.contextmanager
def _recording(layer):
    """A list that receives the layer's output while the network runs (nothing for layer None)."""
    kept = []
    handle = None if layer is None else layer.register_forward_hook(lambda module, inputs, output: kept.append(output))
    try:
        yield kept
    finally:
        if handle is not None:
            handle.remove()


def _of_vectors(forward, embedding, ids):
    """F as a function of the word vectors (B*k, T, D): a forward hook puts them in place of the
    embedding layer's output, the ids (B, T, 1) repeated to match."""

    def forward_vectors(E):
        k = E.shape[0] // ids.shape[0]
        handle = embedding.register_forward_hook(lambda module, inputs, output: E)
        try:
            return forward(ids.repeat(k, 1, 1))
        finally:
            handle.remove()

    return forward_vectors


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


def _attribute(method, forward, x, base, mask, steps, extra, net):
    """Captum's attribution of F on the mini-batch x (B, T, C): ((B, T, C) NumPy, delta (B,) or None)."""
    # imported here, as every use of captum: it brings matplotlib (~0.7 s), and `import lstmlab` stays free of plotting
    from captum.attr import InputXGradient, IntegratedGradients, Occlusion, Saliency

    keep = mask[..., None].to(x.dtype)  # (B, T, 1): padded steps get nothing
    if method is None:
        return None, None
    if method == "gradient":
        a = Saliency(forward).attribute(x.detach().requires_grad_(), abs=False) * keep
    elif method == "input-x-gradient":
        a = InputXGradient(forward).attribute(x.detach().requires_grad_()) * keep
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
        a = _grad_cam(net, forward, x, mask, extra.get("layer"))
    return a.detach().cpu().numpy(), None


def _grad_cam(net, forward, x, mask, name):
    """MATLAB's gradCAM for sequences, at a layer with an output at every step: ReLU(sum over units of
    A[t, u] * mean over real steps of dF/dA[:, u]), brought to the input's time; (B, T, 1)."""
    from captum.attr import LayerActivation, LayerAttribution, LayerGradientXActivation  # see `_attribute`

    layer = _cam_layer(net, name)
    A = LayerActivation(forward, layer).attribute(x)  # (B, T_l, U)
    if A.ndim != 3:
        raise ValueError(f"attribute: grad-cam at layer {layer.name!r}, whose output has no time axis ({tuple(A.shape)}); choose a layer with an output at every step.")
    grads = LayerGradientXActivation(forward, layer, multiply_by_inputs=False).attribute(x)  # (B, T_l, U): dF/dA
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


def _padded_baseline(baselines, batch, x):
    """The mini-batch's baseline (B, T, C): each sequence's on its real steps, the input itself on padding."""
    base = batch.x.copy()
    for b, n in enumerate(batch.indices):
        base[b][batch.mask[b]] = baselines[n]
    return torch.as_tensor(base).to(x)


def _until(net, output):
    """How many layers F runs: all but a final softmax for scores."""
    ends_in_softmax = isinstance(net.layers[-1], SoftmaxLayer)
    if output == "probability" and not ends_in_softmax:
        raise ValueError(f"attribute: output='probability' needs a network that ends in a softmax layer; this one ends in {net.layers[-1].name!r}. Use output='score'.")
    return -1 if output == "score" and ends_in_softmax else None


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
