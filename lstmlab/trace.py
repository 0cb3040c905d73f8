"""`ll.trace`: record every gate and state a recurrent network computed, per step and sequence.

How it works, and why it is fast. There are two ways, and `tr[layer].computed_by` says which one
made a recording; both prove themselves in `max_error`.

- Recorded as computed (an LSTM on a CPU, in a clean run, where `RecurrentLayer.route` finds that
  it pays: always for activations torch has no kernel for, else in mini-batches of 16 sequences per
  thread or more, or, on one thread in float32, of 2 sequences or more): lstmlab's compiled step loop
  (`lstmlab.layers.loop_kernel`) runs the layer and keeps every gate and cell state as it computes
  them, so the recording is the network's forward pass itself, and the next layer reads its h. To
  check it, every tenth step and the last are computed again from the recorded h_{t-1} and c_{t-1}
  by the readable torch equations (`LSTMLayer._explain`), for every sequence and unit, and
  `max_error` is the largest difference in any of the six quantities.
- Recomputed from the kernel's h (a GPU, a GRU, RNN or projected LSTM, an intervention, a smaller
  mini-batch, or no compiled loop): the network runs as usual (torch's fused kernel where the options allow), which gives every hidden state h_t.
  Knowing h_{t-1} for every t, all gates of all steps are one matrix product away,
  i = sigma_g(W_i x_t + R_i h_{t-1} + b_i) and so on, and the LSTM cell state follows from
  c_t = f * c_{t-1} + i * g, a linear recurrence solved in one pass (`lstmlab.scan`). Finally
  h_t = o * sigma_s(c_t) is computed again from the recorded gates and compared with what the
  network output at every step: `max_error` reports the largest difference.

Memory: a recording holds one value (float32, 4 bytes, for a float32 network) per sequence, per
step and per unit, for each direction: 24 bytes for an LSTM (i, f, g, o, c, h), 16 bytes for a GRU
(r, z, n, h) and 8 for a plain RNN (a, h). The Japanese Vowels test set (370 sequences padded to
29 steps, 100 units) takes 26 MB. For long sequences choose what to record with `layers`, `units`,
`steps`, `quantities` and `dtype` (float16 halves it), and for a corpus (a million characters of
text) stream the recording to disk with `out`: the sequences then run in chunks that carry the
state on, and the memory is that of one chunk.
"""

import math
import os

import numpy as np
import pandas as pd
import torch

from ._checks import check_indices, check_positive_int
from .inference import prepare_inference
from .layers import RecurrentLayer
from .layers.recurrent import COMPILED, RECORDING
from .runner import evaluating, run_batches
from .trace_stores import DiskStore, MemoryStore


class DirectionTrace:
    """The recorded quantities of one direction, as (N, S, U) arrays: sequences, steps, units."""

    def __init__(self, arrays):
        self.arrays = arrays
        for name, value in arrays.items():
            setattr(self, name, value)

    def __repr__(self):
        shape = next(iter(self.arrays.values())).shape
        return f"DirectionTrace({', '.join(self.arrays)}; each {shape})"


class LayerTrace:
    """What one recurrent layer computed.

    Attributes:
        i, f, g, o, c, h (LSTM), r, z, n, h (GRU) or a, h (RNN: a = W x_t + R h_{t-1} + b is the
            pre-activation, h = sigma(a)): (N, S, U) arrays, for a one-way layer.
            For an lstm_projected_layer, h = o * sigma_s(c) is the unprojected hidden state, of H
            units, which is also the layer's output; the projected state Q_o^T h (Po values) that
            its recurrent weights read is `layer.projected_state(tr[name].h)` (all units recorded).
        forward, backward: a `DirectionTrace` each (a one-way layer has only `forward`, or only
            `backward` with direction="reverse": it reads the sequence from its end).
        steps: (S,) the time steps recorded, as array indices (index t is step t + 1 of the
            lessons, which count from 1, as the figures do); steps_from_one: the same, counted from 1.
            units: (U,) the hidden units recorded.
        lengths: (N,) each sequence's real length. mask: (N, S), True on real (not padded) steps.
        max_error: how far the recording is from the equations computed again (see the module's
            docstring): the largest |h recomputed from the gates - h the network output| over all
            steps, or, for a recording the compiled loop made as it ran, the largest difference in
            any quantity at every tenth step (and the last), recomputed from the recorded states.
        computed_by: {direction: how the layer computed it, in words (`describe_computation`)}:
            lstmlab's compiled step loop recording as it ran (in all mini-batches, or in the larger
            ones), torch's fused kernel, the step loop, or the step loop where interventions acted.
    """

    def __init__(self, name, kind, directions, steps, units, lengths, max_error, computed_by, names=("forward", "backward")):
        self.name, self.kind = name, kind
        self.quantities = tuple(directions[0])
        self.directions = dict(zip(names, (DirectionTrace(d) for d in directions)))
        self.steps, self.units, self.lengths = steps, units, lengths
        self.steps_from_one = steps + 1  # the same steps as the lessons and every figure count them
        self.mask = steps[None, :] < lengths[:, None]
        self.max_error = max_error
        self.computed_by = dict(zip(self.directions, computed_by))

    def __getattr__(self, attr):
        """.forward and .backward give a direction; .i, .f, ... the quantities of a one-way layer."""
        directions = self.__dict__.get("directions", {})
        if attr in ("forward", "backward"):
            if attr not in directions:
                raise AttributeError(f"layer {self.name!r} is a one-way {self.kind} layer; it has no {attr} direction (its one direction: {', '.join(directions)}).")
            return directions[attr]
        if attr in self.__dict__.get("quantities", ()):
            if len(self.directions) == 2:
                raise AttributeError(f"layer {self.name!r} is bidirectional: use .forward.{attr} or .backward.{attr}.")
            (only,) = self.directions.values()
            return only.arrays[attr]
        raise AttributeError(attr)

    def __repr__(self):
        N, S = self.mask.shape
        return (
            f"LayerTrace({self.name!r}, {self.kind}: {', '.join(self.quantities)} for {N} sequences, "
            f"{S} steps, {len(self.units)} units, {', '.join(self.directions)}; max_error={self.max_error:.2e})"
        )


class Trace:
    """A recording of one or more recurrent layers. `tr[name]` is a `LayerTrace`.

    `ll.trace(net, X)` makes one (so does `ll.trace_encoder_decoder`); MATLAB has no such object
    (its nearest is `activations`, which gives a layer's output h only). `tr.interventions` lists
    the `ll.Intervention`s that acted on the recorded run (empty for a clean run), so that a
    recording says how it was made.

    `tr[name]` gives a layer's recording (a KeyError lists the recorded names), iterating over
    `tr` gives the names, `tr.interventions` is a tuple, and `tr.max_error` is the largest
    `LayerTrace.max_error` of the recorded layers (float32 networks within about 1e-5).

    Args:
        layers: {layer name: `LayerTrace`}, in the network's order.
        interventions: the `ll.Intervention`s of the recorded run (() for a clean one).

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3), ll.gru_layer(4)])
    >>> tr = ll.trace(net, np.zeros((5, 6, 2)))
    >>> list(tr), tr["gru"].quantities, tr["gru"].h.shape
    (['lstm', 'gru'], ('r', 'z', 'n', 'h'), (5, 6, 4))
    >>> tr.to_frame().shape  # 5 sequences x 6 steps x (3 units x 6 quantities + 4 units x 4)
    (1020, 7)
    """

    def __init__(self, layers, interventions=()):
        self.layers = layers
        self.interventions = tuple(interventions)

    def __getitem__(self, name):
        if name not in self.layers:
            raise KeyError(f"the trace has no layer {name!r}; it recorded {', '.join(self.layers)}.")
        return self.layers[name]

    def __iter__(self):
        return iter(self.layers)

    @property
    def max_error(self):
        """The largest error over all recorded layers (see `LayerTrace.max_error`)."""
        return max(layer.max_error for layer in self.layers.values())

    def to_frame(self, include_padding=False):
        """A tidy DataFrame: sequence, layer, direction, time, unit, quantity, value.

        One row per recorded value on each sequence's real steps; with include_padding=True on
        every recorded step, padded ones too (see `trace`'s freeze_padding for what they hold).
        time is the array index, as in `steps=` and `LayerTrace.steps`: time t is step t + 1 of the
        lessons and the figures, which count from 1.
        """
        frames = []
        for layer in self.layers.values():
            shown = np.ones_like(layer.mask) if include_padding else layer.mask  # (N, S)
            n, s = np.nonzero(shown)
            U = len(layer.units)
            sequence, time, unit = np.repeat(n, U), np.repeat(layer.steps[s], U), np.tile(layer.units, len(n))
            for direction, recorded in layer.directions.items():
                for quantity, values in recorded.arrays.items():
                    columns = {"sequence": sequence, "layer": layer.name, "direction": direction, "time": time, "unit": unit, "quantity": quantity}
                    frames.append(pd.DataFrame({**columns, "value": values[n, s].reshape(-1)}))
        frame = pd.concat(frames, ignore_index=True)
        for column in ("layer", "direction", "quantity"):
            frame[column] = frame[column].astype("category")
        return frame

    def __repr__(self):
        lines = [f"  {layer!r}" for layer in self.layers.values()] + [f"  with {iv!r}" for iv in self.interventions]
        return "Trace(\n" + "\n".join(lines) + f"\n) max_error={self.max_error:.2e}"


def trace(
    net,
    X,
    *,
    layers=None,
    units=None,
    steps=None,
    quantities=None,
    dtype=None,
    mini_batch_size=128,
    freeze_padding=None,
    interventions=None,
    out=None,
    chunk_length=4096,
):
    """Record the gates and states of a network's recurrent layers on data X.

    Args:
        net: an `ll.Network`.
        X: a list of (T, C) sequences or an (N, T, C) array; one (T, C) sequence gives a trace
            with N = 1.
        layers: names of the recurrent layers to record (default: all of them).
        units: hidden units to record, an int, a list of ints or a slice (default: all).
        steps: time steps to record, an int, a list of ints or a slice (default: all), counted in
            each layer's own time (after any convolution or pooling that shortens it).
        quantities: the quantities to record, a name or a list of names from i, f, g, o, c, h
            (LSTM), r, z, n, h (GRU) or a, h (RNN), each held by every chosen layer (default: all).
        dtype: the precision of the recording, "float16" or "float32" (default: the network's
            own dtype, with nothing converted).
        mini_batch_size: sequences per forward pass, as in `ll.predict` (padding on the right
            to each mini-batch's longest sequence), so that the trace sees what predict sees.
        freeze_padding: as in `ll.predict`: the state is carried over padded steps; gates are
            then NaN on padded steps (none acted there) and c, h hold the carried state. Not
            given (None): the network's own (`net.sequence_options`, those it was trained with).
            The trace always pads on the right (with the network's sequence_padding_value), so
            each sequence's recorded steps are its own, as if it ran alone; for a network trained
            with left padding and without freeze_padding, `ll.predict` differs from that by the
            padding run before each shorter sequence.
        interventions: a list of `ll.Intervention`, as in `ll.predict`: the recording shows what
            the intervened network computed (a clamped gate holds its value), and `max_error`
            compares it with the intervened network's output. Not with `out`.
        out: a folder to stream the recording to, for sequences too long to record in memory
            (a million characters of text). It must not exist yet. The sequences run in chunks
            of chunk_length steps, each chunk starting from the states where the one before it
            ended (the rule of `sequence_length=int` in `ll.predict`), and each chunk's recording
            goes to disk before the next one runs: one .npy file per layer, direction and quantity,
            (N, S, U), named like "lstm.forward.c.npy", the (S,) steps recorded in "lstm.steps.npy",
            and manifest.json with the rest.
            `np.load(path, mmap_mode="r")` reads any of them. Peak memory is that of one chunk.
        chunk_length: time steps per chunk with `out` (ignored without it).

    Returns:
        A `Trace`; `tr["lstm"].f` is the forget gate, (N, S, U). Steps a mini-batch did not reach
        (it was padded to a shorter length than the longest sequence in X) hold NaN. With `out`,
        its arrays are read from the files lazily (memory-mapped, read-only).

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(5)])
    >>> tr = ll.trace(net, np.random.default_rng(0).normal(size=(2, 7, 3)))
    >>> tr["lstm"].f.shape, tr.max_error < 1e-5
    ((2, 7, 5), True)
    """
    recurrent = {layer.name: layer for layer in net.layers if isinstance(layer, RecurrentLayer)}
    if not recurrent:
        raise ValueError("trace: the network has no LSTM, BiLSTM, GRU or RNN layer to record.")
    chosen = {name: recurrent[name] for name in _choose_layers(layers, recurrent)}
    recorded_quantities = _choose_quantities(quantities, list(chosen.values()))  # {layer name: quantities}
    precision = _choose_dtype(dtype, net.layers[0].like)
    sequence_length = "longest" if out is None else _check_streaming(out, chunk_length, interventions, recurrent)
    # in order, each mini-batch padded on the right to its longest sequence with the network's padding value
    sequences, batches, start, plan, freeze_padding = prepare_inference(
        net, X, "trace", mini_batch_size=mini_batch_size, sequence_length=sequence_length, sequence_padding_direction="right",
        freeze_padding=freeze_padding, interventions=interventions,
    )
    lengths = net.recurrent_lengths([len(x) for x in sequences])  # {layer name: (N,)} in each layer's own time
    step_index = {name: check_indices(steps, int(lengths[name].max()), "steps", f"the time steps of layer {name!r}", "trace") for name in chosen}
    unit_index = {name: check_indices(units, layer.num_hidden_units, "units", f"the hidden units of layer {name!r}", "trace") for name, layer in chosen.items()}
    recorder = _Recorder(chosen, recorded_quantities, step_index, unit_index, lengths, precision, out, plan)
    with evaluating(net):
        for _ in run_batches(net, batches(sequences), start_states=start, freeze_padding=freeze_padding, run_recurrent=recorder.run_and_record):
            pass  # the recorder records every mini-batch as it runs
    return Trace(recorder.finish(), interventions or ())


class _Recorder:
    """Runs each mini-batch's recurrent layers and records the chosen ones, into memory or into files
    in the folder `out` (`lstmlab.trace_stores`): their quantities at the chosen steps and units, the
    largest error of their check, where interventions acted and the ways `route` chose."""

    def __init__(self, chosen, quantities, step_index, unit_index, lengths, precision, out, plan):
        self.chosen, self.quantities, self.step_index, self.unit_index = chosen, quantities, step_index, unit_index
        self.lengths, self.precision, self.plan = lengths, precision, plan
        N = len(next(iter(lengths.values())))
        self.store = MemoryStore(chosen, N, step_index) if out is None else DiskStore(out, list(chosen.values()), quantities, N, step_index, unit_index, precision)
        self.errors = dict.fromkeys(chosen, 0.0)
        self.spans = {name: [[] for _ in range(layer.num_directions)] for name, layer in chosen.items()}  # where interventions acted, input time
        self.offsets = dict.fromkeys(chosen, 0)  # where the current chunk starts, in each layer's own time
        self.ways = {name: [[] for _ in range(layer.num_directions)] for name, layer in chosen.items()}  # what `route` chose, per mini-batch

    def run_and_record(self, batch, layer, x, states, frozen):
        """Run one recurrent layer on one mini-batch (`runner.run_batches`'s run_recurrent) and record it if chosen."""
        edits = None if self.plan is None else self.plan.edits(batch, layer, x, frozen)
        recording = [] if self.plan is None and layer.name in self.chosen else None  # filled where `route` chooses the recording loop
        ways = layer.route(x, states, edits, recording is not None)
        y, final = layer.run(x, states, frozen, edits, recording, ways)  # y (B, T, D*H)
        if layer.name not in self.chosen:
            return y, final
        for d, spans in enumerate(ways):
            self.ways[layer.name][d].append({way for *_, way in spans})
        units = _as_index(self.unit_index[layer.name], layer.num_hidden_units, x.device)
        chosen_steps = self.step_index[layer.name]
        T = x.shape[1]
        offset = 0 if batch.chunk == 0 else self.offsets[layer.name]
        end = min(offset + T, int(self.lengths[layer.name][batch.indices].max()))  # a last chunk may be padded beyond the longest sequence
        inside = (chosen_steps >= offset) & (chosen_steps < end)  # (S,) the chosen steps this chunk reached
        H = layer.num_hidden_units
        if recording:  # recorded as computed: checked against the equations recomputed at some steps
            self.errors[layer.name] = max(self.errors[layer.name], layer.check(x, states, recording, frozen))
            recorded = layer.explain(x, y, states, units, frozen, recording=recording)
        else:  # recomputed from the kernel's h: checked against the kernel's h at every step
            recorded = layer.explain(x, y, states, units, frozen, edits)
            for d, r in enumerate(recorded):
                h_net = y[..., d * H : (d + 1) * H][..., units]  # (B, T, U)
                error = r["h"].sub(h_net).abs_().max().item()  # NaN if anything is not finite
                self.errors[layer.name] = max(self.errors[layer.name], error if math.isfinite(error) else math.inf)
        at_steps, directions = _as_index(chosen_steps[inside] - offset, T, x.device), []  # the chosen steps in this chunk's time
        for d, r in enumerate(recorded):
            span = None if edits is None else edits[d].span(T)  # in the direction's own time
            self.spans[layer.name][d].append((T - span[1], T - span[0]) if layer.reads_backward(d) and span is not None else span)
            directions.append({q: r[q][:, at_steps].cpu().numpy().astype(self.precision, copy=False) for q in self.quantities[layer.name]})  # (B, S_inside, U)
        self.store.add(layer.name, batch.indices, inside, directions)
        self.offsets[layer.name] = offset + T
        return y, final

    def finish(self):
        """{layer name: its `LayerTrace`}, once every mini-batch has run."""
        computed_by = {name: [describe_computation(layer, *d) for d in zip(self.spans[name], self.ways[name])] for name, layer in self.chosen.items()}
        recorded = self.store.finish(self.lengths, self.errors, computed_by)  # {name: [per direction: {q: (N, S, U)}]}
        return {
            name: LayerTrace(name, layer.kind, recorded[name], self.step_index[name], self.unit_index[name], self.lengths[name], self.errors[name], computed_by[name], layer.directions)
            for name, layer in self.chosen.items()
        }


def describe_computation(layer, spans, ways):
    """`LayerTrace.computed_by` of a direction, from the ways `RecurrentLayer.route` chose in each of
    its mini-batches (a set of way names each) and the spans (first, stop) where interventions acted
    (input time; None where none did)."""
    recorded = sum(RECORDING in w for w in ways)
    if recorded:
        loop = "lstmlab's compiled step loop, recording every step as it ran"
        if recorded < len(ways):  # too few sequences in the others for the loop to beat torch's kernel
            return f"{loop}, in {recorded} of {len(ways)} mini-batches; torch's fused kernel in the smaller ones"
        return loop
    acted = [s for s in spans if s is not None]
    elsewhere = "lstmlab's compiled step loop" if any(COMPILED in w for w in ways) else "torch's fused kernel" if layer.uses_fused_kernel else None
    if elsewhere is None:
        return "the step loop (torch has no fused kernel for this layer's equations)"
    if not acted:
        return elsewhere
    first, last = min(s[0] for s in acted) + 1, max(s[1] for s in acted)  # counted from 1: index t is step t + 1
    return f"the step loop over steps {first}..{last}, where interventions act; {elsewhere} elsewhere"


def _check_streaming(out, chunk_length, interventions, recurrent):
    """The sequence_length that cuts X into chunks for `out`, after checking the streaming options."""
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"trace: out must be a folder path (a str or a pathlib.Path); got {type(out).__name__}. Give out='trace_folder'.")
    if os.path.exists(out):
        raise ValueError(
            f"trace: out={str(out)!r} already exists, and a trace is never written over another. "
            f"Choose a new path, or remove the old trace first (shutil.rmtree({str(out)!r}))."
        )
    if interventions:
        raise ValueError("trace: interventions cannot be streamed with out= yet; trace without out=, or with interventions=None.")
    backward = [layer for layer in recurrent.values() if "backward" in layer.directions]
    if backward:
        what = "bidirectional" if backward[0].num_directions == 2 else "reverse"
        raise ValueError(
            f"trace: out= runs the sequences in chunks, and the {what} layer {backward[0].name!r} reads each sequence "
            f"backwards from its end, which a chunk does not hold; trace this network without out=."
        )
    return check_positive_int(chunk_length, "chunk_length", "trace")


def _choose_quantities(quantities, layers):
    """{layer name: the quantities to record, in the layer's order}."""
    if quantities is None:
        return {layer.name: layer.quantities for layer in layers}
    names = [quantities] if isinstance(quantities, str) else quantities
    if not isinstance(names, (list, tuple)) or not names:
        raise ValueError(f"trace: quantities must be a quantity name or a non-empty list of names, such as ['c', 'h']; got {quantities!r}.")
    for layer in layers:
        missing = [q for q in names if q not in layer.quantities]
        if missing:
            raise ValueError(
                f"trace: quantities has {missing[0]!r}, which the {layer.kind} layer {layer.name!r} does not compute; "
                f"choose from {', '.join(layer.quantities)} (or record the layers one at a time with layers=)."
            )
    return {layer.name: tuple(q for q in layer.quantities if q in names) for layer in layers}


def _choose_dtype(dtype, like):
    """The NumPy dtype of the recording: np.float16 or np.float32 as chosen, else the network's own (that of `like`)."""
    if dtype is None:
        return torch.empty(0, dtype=like.dtype).numpy().dtype
    allowed = (np.dtype(np.float16), np.dtype(np.float32))
    try:
        chosen = np.dtype(dtype)
    except TypeError:
        chosen = None
    if chosen not in allowed:
        raise ValueError(f"trace: dtype must be 'float16' or 'float32' (or None for the network's own); got {dtype!r}.")
    return chosen


def _as_index(chosen, size, device):
    """The chosen units or steps of `size`: slice(None) when all, in order (a view), else a long tensor."""
    if len(chosen) == size and np.array_equal(chosen, np.arange(size)):
        return slice(None)
    return torch.as_tensor(chosen, device=device)


def _choose_layers(layers, recurrent):
    if layers is None:
        return list(recurrent)
    names = [layers] if isinstance(layers, str) else layers
    if not isinstance(names, (list, tuple)) or not names:
        raise ValueError(f"trace: layers must be a layer name or a non-empty list of names; got {layers!r}. Choose from {', '.join(recurrent)}.")
    for name in names:
        if name not in recurrent:
            raise ValueError(f"trace: layers has {name!r}, which is not a recurrent layer of the network; choose from {', '.join(recurrent)}.")
    return names
