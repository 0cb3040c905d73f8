"""`ll.trace`: record every gate and state a recurrent network computed, per step and sequence.

How it works, and why it is fast. There are two ways, and `tr[layer].computed_by` says which one
made a recording; both prove themselves in `max_error`.

- Recorded as computed (an LSTM on a CPU, in a clean run): lstmlab's compiled step loop
  (`lstmlab.layers.loop_kernel`) runs the layer and keeps every gate and cell state as it computes
  them, so the recording is the network's forward pass itself, and the next layer reads its h. To
  check it, every tenth step and the last are computed again from the recorded h_{t-1} and c_{t-1}
  by the readable torch equations (`LSTMLayer._explain`), for every sequence and unit, and
  `max_error` is the largest difference in any of the six quantities.
- Recomputed from the kernel's h (a GPU, a GRU or RNN, an intervention, or no compiled loop): the network
  runs as usual (torch's fused kernel where the options allow), which gives every hidden state h_t.
  Knowing h_{t-1} for every t, all gates of all steps are one matrix product away,
  i = sigma_g(W_i x_t + R_i h_{t-1} + b_i) and so on, and the LSTM cell state follows from
  c_t = f * c_{t-1} + i * g, a linear recurrence solved in one pass (`lstmlab.scan`). Finally
  h_t = o * sigma_s(c_t) is computed again from the recorded gates and compared with what the
  network output at every step: `max_error` reports the largest difference.

Memory: a recording holds one value (float32, 4 bytes, for a float32 network) per sequence, per step and per unit, for each direction:
24 bytes for an LSTM (i, f, g, o, c, h), 16 bytes for a GRU (r, z, n, h) and 8 for a plain RNN
(a, h). The Japanese Vowels
test set (370 sequences padded to 29 steps, 100 units) takes 26 MB. For long sequences choose what
to record with `layers`, `units`, `steps`, `quantities` and `dtype` (float16 halves it), and
for a corpus (a million characters of text) stream the recording to disk with `out`: the
sequences then run in chunks that carry the state on, and the memory is that of one chunk.
"""

import functools
import json
import math
import os
import pathlib

import numpy as np
import pandas as pd
import torch

from ._checks import check_bool, check_indices, check_positive_int
from .batching import check_batching_options, iterate_batches
from .interventions import bind, describe_computation
from .layers import RecurrentLayer
from .network import evaluating, prepare, sequence_options
from .runner import held_states, run_batches


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
        computed_by: {direction: how the layer computed it}: lstmlab's compiled step loop recording
            as it ran, torch's fused kernel, the step loop, or, where interventions acted, the step
            loop over those steps (see `ll.Intervention`).
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

    `tr.interventions` lists the `ll.Intervention`s that acted on the recorded run (empty for a
    clean run), so that a recording says how it was made.
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
        """A tidy DataFrame: sequence, layer, direction, time, unit, quantity, value (real steps only).

        time is the array index, as in `steps=` and `LayerTrace.steps`: time t is step t + 1 of the
        lessons and the figures, which count from 1.
        """
        frames = []
        for layer in self.layers.values():
            keep = np.ones_like(layer.mask) if include_padding else layer.mask  # (N, S)
            n, s = np.nonzero(keep)
            U = len(layer.units)
            for direction, recorded in layer.directions.items():
                for quantity, values in recorded.arrays.items():
                    frames.append(
                        pd.DataFrame(
                            {
                                "sequence": np.repeat(n, U),
                                "layer": layer.name,
                                "direction": direction,
                                "time": np.repeat(layer.steps[s], U),
                                "unit": np.tile(layer.units, len(n)),
                                "quantity": quantity,
                                "value": values[n, s].reshape(-1),
                            }
                        )
                    )
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
            each sequence's recorded steps are its own,
            as if it ran alone; for a network trained with left padding and without
            freeze_padding, `ll.predict` differs from that by the padding run before each
            shorter sequence.
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
    sequences = prepare(net, X, "trace")
    trained = sequence_options(net, freeze_padding=freeze_padding)  # the network's own where not given
    freeze_padding = check_bool(trained["freeze_padding"], "freeze_padding", "trace")
    recurrent = {layer.name: layer for layer in net.layers if isinstance(layer, RecurrentLayer)}
    if not recurrent:
        raise ValueError("trace: the network has no LSTM, BiLSTM, GRU or RNN layer to record.")
    chosen = _choose_layers(layers, recurrent)
    kept_quantities = _choose_quantities(quantities, [recurrent[name] for name in chosen])  # {layer name: quantities}
    precision = _choose_dtype(dtype)
    sequence_length = "longest" if out is None else _check_streaming(out, chunk_length, interventions, recurrent)
    lengths = net.recurrent_lengths([len(x) for x in sequences])  # {layer name: (N,)} in each layer's own time
    step_index = {name: check_indices(steps, int(lengths[name].max()), "steps", f"the time steps of layer {name!r}", "trace") for name in chosen}
    unit_index = {name: check_indices(units, recurrent[name].num_hidden_units, "units", f"the hidden units of layer {name!r}", "trace") for name in chosen}
    N = len(sequences)
    if out is None:
        store = _MemoryRecording(chosen, N, step_index)
    else:
        store = _DiskRecording(out, [recurrent[name] for name in chosen], kept_quantities, N, step_index, unit_index, precision or _numpy(recurrent[chosen[0]].like, None).dtype)
    errors = dict.fromkeys(chosen, 0.0)
    spans = {name: [[] for _ in range(recurrent[name].num_directions)] for name in chosen}  # where interventions acted, input time
    offsets = dict.fromkeys(chosen, 0)  # where the current chunk starts, in each layer's own time
    by_loop = dict.fromkeys(chosen, 0)  # how many mini-batches the compiled loop recorded as it ran, per layer

    # in order, each mini-batch padded on the right to its longest sequence with the network's padding value
    batching = check_batching_options(mini_batch_size, sequence_length, "right", "never", False, "trace")
    padding_value = trained["sequence_padding_value"]
    batches = functools.partial(iterate_batches, targets=None, per_step=False, seed=None, epoch=0, padding_value=padding_value, **batching)
    start = held_states(list(recurrent.values()), N, "trace")
    plan = bind(net, interventions, sequences, "trace", batches=batches, start_states=start, freeze_padding=freeze_padding)

    def observe(batch, layer, x, states, frozen):
        edits = None if plan is None else plan.edits(batch, layer, x, frozen)
        kept = [] if plan is None and layer.name in chosen and layer.records(x) else None  # the compiled loop keeps all
        y, final = layer.run(x, states, frozen, edits, kept)  # y (B, T, D*H)
        if layer.name not in chosen:
            return y, final
        units = _as_index(unit_index[layer.name], layer.num_hidden_units, x.device)
        chosen_steps = step_index[layer.name]
        T = x.shape[1]
        offset = offsets[layer.name] = 0 if batch.chunk == 0 else offsets[layer.name]
        end = min(offset + T, int(lengths[layer.name][batch.indices].max()))  # a last chunk may be padded beyond the longest sequence
        inside = (chosen_steps >= offset) & (chosen_steps < end)  # (S,) the chosen steps this chunk reached
        H = layer.num_hidden_units
        if kept:  # recorded as computed: checked against the equations recomputed at some steps
            errors[layer.name] = max(errors[layer.name], layer.check(x, states, kept, frozen))
            recorded = layer.explain(x, y, states, units, frozen, kept=kept)
            by_loop[layer.name] += 1
        else:  # recomputed from the kernel's h: checked against the kernel's h at every step
            recorded = layer.explain(x, y, states, units, frozen, edits)
            for d, r in enumerate(recorded):
                h_net = y[..., d * H : (d + 1) * H][..., units]  # (B, T, U)
                error = r["h"].sub(h_net).abs_().max().item()  # NaN if anything is not finite
                errors[layer.name] = max(errors[layer.name], error if math.isfinite(error) else math.inf)
        directions = []
        for d, r in enumerate(recorded):
            span = None if edits is None else edits[d].span(T)  # in the direction's own time
            spans[layer.name][d].append((T - span[1], T - span[0]) if layer.reads_backward(d) and span is not None else span)
            directions.append({q: _numpy(_steps(r[q], chosen_steps[inside] - offset), precision) for q in kept_quantities[layer.name]})
        store.add(layer.name, batch.indices, inside, directions)
        offsets[layer.name] = offset + T
        return y, final

    with evaluating(net):
        for _ in run_batches(net, batches(sequences), start_states=start, freeze_padding=freeze_padding, run_recurrent=observe):
            pass  # observe records every mini-batch as it runs

    computed_by = {name: [describe_computation(recurrent[name], direction, by_loop[name]) for direction in spans[name]] for name in chosen}
    layer_traces = {
        name: LayerTrace(name, recurrent[name].kind, directions, step_index[name], unit_index[name], lengths[name], errors[name], computed_by[name], recurrent[name].directions)
        for name, directions in store.finish(lengths, errors, computed_by).items()
    }
    return Trace(layer_traces, interventions or ())


class _MemoryRecording:
    """Keeps each mini-batch's recording in memory and assembles (N, S, U) arrays at the end."""

    def __init__(self, names, N, step_index):
        self.parts = {name: [] for name in names}  # per layer: (indices, reached, [per direction: {q: (B, S_reached, U)}])
        self.N, self.step_index = N, step_index

    def add(self, name, indices, reached, directions):
        self.parts[name].append((indices, reached, directions))

    def finish(self, lengths, errors, computed_by):
        """{layer name: [per direction: {q: (N, S, U)}]}; the arguments are for `_DiskRecording`'s manifest."""
        return {name: _assemble(parts, self.N, len(self.step_index[name])) for name, parts in self.parts.items()}


class _DiskRecording:
    """Writes each chunk's recording into .npy files as it comes; reads them back memory-mapped.

    Each chunk maps the file, writes its steps and unmaps it again, so that the pages written do
    not stay in the process's memory.
    """

    def __init__(self, folder, layers, kept, N, step_index, unit_index, dtype):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True)
        self.files = {}  # (layer name, d, q) -> (path, header offset, shape)
        self.manifest = {"format": "lstmlab trace", "version": 1, "dtype": np.dtype(dtype).name, "layers": {}}
        for layer in layers:
            S, U = len(step_index[layer.name]), len(unit_index[layer.name])
            for d, direction in enumerate(layer.directions):
                for q in kept[layer.name]:
                    path = self.folder / f"{layer.name}.{direction}.{q}.npy"
                    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(N, S, U))
                    self.files[layer.name, d, q] = (path, array.offset, array.shape)
                    del array  # unmapped; each chunk maps it again
            self.manifest["layers"][layer.name] = {
                "kind": layer.kind,
                "directions": list(layer.directions),
                "quantities": list(kept[layer.name]),
                "steps": f"{layer.name}.steps.npy",  # (S,), as long as the text: a file, not JSON
                "units": unit_index[layer.name].tolist(),
            }
            np.save(self.folder / self.manifest["layers"][layer.name]["steps"], step_index[layer.name])
        self.reached = {name: np.zeros((N, len(step_index[name])), bool) for name in self.manifest["layers"]}  # (N, S)
        self.dtype = np.dtype(dtype)

    def add(self, name, indices, reached, directions):
        where = np.ix_(indices, np.flatnonzero(reached))
        for d, arrays in enumerate(directions):
            for q, values in arrays.items():
                self._map(name, d, q)[where] = values
        self.reached[name][where] = True

    def finish(self, lengths, errors, computed_by):
        """Fill the steps no mini-batch reached with NaN, write manifest.json, and map the files to read."""
        for name, reached in self.reached.items():
            if not reached.all():  # steps a mini-batch did not reach hold NaN, as in memory
                for (layer, d, q) in self.files:
                    if layer == name:
                        self._map(name, d, q)[~reached] = np.nan
            entry = self.manifest["layers"][name]
            entry.update(lengths=lengths[name].tolist(), max_error=errors[name], computed_by=computed_by[name])
        (self.folder / "manifest.json").write_text(json.dumps(self.manifest, indent=1))
        return _read_arrays(self.folder, self.manifest)

    def _map(self, name, d, q):
        path, offset, shape = self.files[name, d, q]
        return np.memmap(path, dtype=self.dtype, mode="r+", offset=offset, shape=shape)


def _read_arrays(folder, manifest):
    """{layer name: [per direction: {q: (N, S, U) read-only memory-mapped array}]} of a trace folder."""
    return {
        name: [{q: np.load(folder / f"{name}.{direction}.{q}.npy", mmap_mode="r") for q in entry["quantities"]} for direction in entry["directions"]]
        for name, entry in manifest["layers"].items()
    }


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


def _choose_dtype(dtype):
    """None (keep the network's dtype) or np.float16 / np.float32."""
    if dtype is None:
        return None
    allowed = (np.dtype(np.float16), np.dtype(np.float32))
    try:
        chosen = np.dtype(dtype)
    except TypeError:
        chosen = None
    if chosen not in allowed:
        raise ValueError(f"trace: dtype must be 'float16' or 'float32' (or None for the network's own); got {dtype!r}.")
    return chosen


def _numpy(values, dtype):
    """A tensor on the CPU as a NumPy array, in dtype when one is chosen (else no conversion)."""
    values = values.cpu().numpy()
    return values if dtype is None else values.astype(dtype, copy=False)


def _as_index(chosen, size, device):
    """slice(None) when every unit is chosen (a view, no copy), else a long tensor."""
    if len(chosen) == size and np.array_equal(chosen, np.arange(size)):
        return slice(None)
    return torch.as_tensor(chosen, device=device)


def _steps(values, steps):
    """values (B, T, U) at the chosen steps; a view when they are all the steps in order."""
    if np.array_equal(steps, np.arange(values.shape[1])):
        return values
    return values[:, torch.as_tensor(steps, device=values.device)]


def _assemble(parts, N, S):
    """Per-direction {q: (N, S, U)} arrays from per-batch parts; NaN where a batch did not reach."""
    indices, reached, directions = parts[0]
    if len(parts) == 1 and reached.all() and np.array_equal(indices, np.arange(N)):
        return directions  # one mini-batch that reached every chosen step: no copy at all
    assembled = []
    for d, first in enumerate(directions):
        arrays = {q: np.full((N, S, v.shape[2]), np.nan, dtype=v.dtype) for q, v in first.items()}
        for indices, reached, directions in parts:
            for q, v in directions[d].items():
                arrays[q][np.ix_(indices, np.flatnonzero(reached))] = v
        assembled.append(arrays)
    return assembled


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
