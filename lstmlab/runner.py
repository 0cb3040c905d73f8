"""The mini-batch loop: prediction, `ll.trace`, training and validation all run their data here,
an encoder–decoder's too.

    sequences --ll.sequence_batches--> Batch (NumPy, padded) --run_batches--> Pass (torch tensors
    on the network's device) --Network.run--> each layer

`run_batches` takes the mini-batches of `lstmlab.batching` one at a time, moves each to the
network's device and dtype, chooses the states that the recurrent layers start from, and runs
`Network.run`. The state rule lives here and nowhere else:

- the first chunk of a mini-batch (chunk 0) starts from the start states: each sequence's held
  state (`held_states`: what `predict_and_update_state` left) or, without them, each layer's own
  state;
- every later chunk of the same mini-batch starts where the chunk before it ended. The carried
  state is detached, so that training does not back-propagate into an earlier chunk.

To record something more about every mini-batch, add a field to `Pass`. The mode of a run that
learns nothing (`evaluating`: inference mode, dropout off, exact float32) is here too.
"""

import contextlib
import functools
from dataclasses import dataclass

import numpy as np
import torch

from .batching import Batch


@dataclass(frozen=True)
class Pass:
    """One mini-batch (one chunk of it) after its run through the network.

    Attributes:
        batch: the `Batch` it came from: NumPy arrays, `indices` (positions in X) and `chunk`.
        x: (B, T, C) the input, on the network's device and in its dtype.
        mask: (B, T), True on real input steps.
        y: the targets on the device, or None without targets: (B,) class codes (long), (B, R)
            responses, or per step (B, T) codes or (B, T, R) responses; responses in the
            network's dtype.
        output: (B, T_out, K), or (B, K) for a network that outputs one vector per sequence.
        output_mask: (B, T_out), True on real output steps; None when the output has no time axis.
        finals: {recurrent layer name: final states, (h,) or (h, c), each (B, D*H)}.
        attention: (B, T_out, S) an encoder–decoder's attention weights (see `run_batches`'s run), else None.
    """

    batch: Batch
    x: torch.Tensor
    mask: torch.Tensor
    y: torch.Tensor
    output: torch.Tensor
    output_mask: torch.Tensor
    finals: dict
    attention: torch.Tensor = None


def run_batches(net, batches, *, start_states=None, until=None, freeze_padding=False, run_recurrent=None, run=None):
    """Run each mini-batch through the network and yield it as a `Pass`.

    Args:
        net: an `ll.Network`; the caller chooses its mode (training, or `evaluating`).
        batches: `Batch` items in order, chunks of one mini-batch one after the other
            (`lstmlab.batching.iterate_batches`).
        start_states: {layer name: states with one row per sequence of X, each (N, D*H)}, from
            `held_states`; None starts every mini-batch from each layer's own state.
        until: run `net.layers[:until]` only (see `Network.run`).
        freeze_padding: carry the recurrent states unchanged over padded steps (see `Network.run`).
        run_recurrent: `run_recurrent(batch, layer, x, states, mask)`, if given, computes each
            recurrent layer instead of its own `run` (see `Network.run`), told which mini-batch it sees.
        run: `run(batch, x, mask, states)` -> (output, finals, output_mask, attention), if given, runs
            each mini-batch instead of `net.run`: an encoder–decoder's, two sequences per example
            (`seq2seq.teacher_forced`); net is then its decoder, which gives the device and dtype.
    """
    like = net.layers[0].like  # the network's device and dtype
    states = None
    for batch in batches:
        if batch.chunk == 0:  # a new mini-batch starts from the start states
            states = None
            if start_states is not None:
                states = {name: _rows(held, batch.indices) for name, held in start_states.items()}
        x = torch.as_tensor(batch.x).to(like)  # (B, T, C)
        mask = torch.as_tensor(batch.mask, device=like.device)  # (B, T)
        if run is None:
            each = None if run_recurrent is None else functools.partial(run_recurrent, batch)
            output, finals, output_mask = net.run(x, mask, states, run_recurrent=each, until=until, freeze_padding=freeze_padding)
            attention = None
        else:
            output, finals, output_mask, attention = run(batch, x, mask, states)
        yield Pass(batch, x, mask, _targets(batch.y, like), output, output_mask, finals, attention)
        states = {name: tuple(s.detach() for s in final) for name, final in finals.items()}  # the next chunk starts here


def _rows(states, indices):
    """The states (each (N, D*H)) of the sequences at `indices`; all of them, in order, as they are."""
    if np.array_equal(indices, np.arange(len(states[0]))):
        return states
    rows = torch.as_tensor(indices, device=states[0].device)
    return tuple(s.index_select(0, rows) for s in states)


def _targets(y, like):
    """Targets on the network's device: class codes as long integers, responses in the network's dtype."""
    if y is None:
        return None
    y = torch.as_tensor(y, device=like.device)  # (B,) codes, (B, R), or per step (B, T[, R])
    return y.to(like.dtype) if y.is_floating_point() else y.long()


def held_states(layers, N, where):
    """Each recurrent layer's current states, one row per sequence: {name: ((N, D*H), ...)}."""
    held = {}
    for layer in layers:
        own = [getattr(layer, f"{s}_state") for s in layer.state_names]
        if own[0].ndim == 2 and len(own[0]) != N:
            raise ValueError(
                f"{where}: layer {layer.name!r} holds states for {len(own[0])} sequences (from predict_and_update_state) "
                f"but X has {N}; give {len(own[0])} sequences, or call ll.reset_state(net) first."
            )
        held[layer.name] = layer.start_states(N)
    return held


def keep_states(layers, final_states, N):
    """Store each sequence's final states in the layers, one row per sequence (the inverse of `held_states`).

    final_states: {layer name: {tuple of sequence indices: final states of those sequences}}.
    """
    for layer in layers:
        finals = final_states[layer.name]
        for k, state_name in enumerate(layer.state_names):
            if len(finals) == 1 and next(iter(finals)) == tuple(range(N)):  # one mini-batch in order (one step of generate)
                rows = next(iter(finals.values()))[k].clone()  # a copy made outside inference mode can enter training
            else:
                rows = getattr(layer, f"{state_name}_state").new_empty(N, layer.output_size)
                for indices, final in finals.items():
                    rows[list(indices)] = final[k]
            setattr(layer, f"{state_name}_state", rows)


@contextlib.contextmanager
def evaluating(net, modules=None):
    """Inference mode, dropout off and exact float32; each module's training flag is restored afterwards.
    modules: list(net.modules()) where the caller keeps it (a `Stepper`: a step then walks no tree)."""
    training = [module for module in modules or net.modules() if module.training]  # none in a network already in eval mode
    for module in training:
        module.training = False
    try:
        with torch.inference_mode(), exact_float32():
            yield
    finally:
        for module in training:
            module.training = True


@contextlib.contextmanager
def exact_float32():
    """TF32 off on a GPU, so that float32 means float32.

    cuDNN may compute an LSTM in TF32 (10-bit mantissa) by default; lstmlab predicts and traces
    with it off, so that what `ll.trace` recomputes equals what `ll.predict` returns.
    """
    if not torch.cuda.is_available():
        yield
        return
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        cudnn = torch.backends.cudnn
        with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul
