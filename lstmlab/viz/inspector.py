"""The step inspector: every number of the LSTM equations, for one unit at one time step."""

import numpy as np
import plotly.graph_objects as go

from .. import reference
from ..layers import LSTMLayer
from ..network import Network
from ..prediction import activations
from ..trace import trace as record
from .._checks import check_choice
from ._style import FORWARD, finish


def step_numbers(net, X, layer, sequence=0, step=0, unit=0, direction="forward", *, recording=None, mini_batch_size=128, freeze_padding=None):
    """The numbers behind `step_inspector`, as a dict, computed with `lstmlab.reference` (float64).

    The sequence is read as `ll.trace(net, X, mini_batch_size=..., freeze_padding=...)` reads it:
    in its mini-batch, so on a right-padded batch the backward direction of a BiLSTM starts in the
    padding after the sequence's end. Pass that trace as `recording` (every unit and step of
    `layer`) to use it rather than record again: the inspector then shows exactly what its
    heatmap shows. For the backward direction the previous state is the one of step + 1, since
    that pass runs from the end.
    """
    where = "step_inspector"
    if not isinstance(net, Network):
        raise TypeError(f"{where}: net must be an ll.Network; got {type(net).__name__}.")
    lstms = [l.name for l in net.layers if isinstance(l, LSTMLayer)]
    check_choice(layer, "layer", lstms or ["(no LSTM layer in the network)"], where)
    sequences = list(X)
    if not 0 <= sequence < len(sequences):
        raise ValueError(f"{where}: sequence must be in 0..{len(sequences) - 1}; got {sequence!r}.")
    lstm = net[layer]
    check_choice(direction, "direction", lstm.directions, where)
    check_choice(unit, "unit", range(lstm.num_hidden_units), where)
    options = {"mini_batch_size": mini_batch_size, "freeze_padding": freeze_padding}
    index = [l.name for l in net.layers].index(layer)
    as_traced = {"sequence_length": "longest", "sequence_padding_direction": "right", **options}  # how ll.trace batches
    x_in = np.asarray(sequences[sequence]) if index == 0 else activations(net, sequences, net.layers[index - 1].name, **as_traced)[sequence]
    if not 0 <= step < len(x_in):
        raise ValueError(f"{where}: step must be in 0..{len(x_in) - 1} (layer {layer!r} reads {len(x_in)} steps); got {step!r}.")
    if recording is None or not _complete(recording[layer], lstm.num_hidden_units):
        recording = record(net, sequences, layers=[layer], **options)
    recorded = recording[layer]
    arrays = recorded.directions[direction].arrays  # {q: (N, S, H)}
    d = lstm.directions.index(direction)
    W, R, b = (p.detach().double().cpu().numpy() for p in lstm.direction_parameters(d))
    H = lstm.num_hidden_units
    previous = step + 1 if lstm.reads_backward(d) else step - 1
    if 0 <= previous < len(recorded.steps) and not np.isnan(arrays["h"][sequence, previous]).any():
        h_prev, c_prev = arrays["h"][sequence, previous].astype(float), arrays["c"][sequence, previous].astype(float)
    else:  # the first step this direction read: the layer's initial states
        h_prev = lstm.initial_hidden_state.double().cpu().numpy()[d * H : (d + 1) * H]
        c_prev = lstm.initial_cell_state.double().cpu().numpy()[d * H : (d + 1) * H]
    x_t = np.asarray(x_in[step], dtype=float)
    s = reference.lstm_step(x_t, h_prev, c_prev, W, R, b, lstm.gate_activation_function, lstm.state_activation_function)
    numbers = {"x_t": x_t, "h_prev": h_prev[unit], "c_prev": c_prev[unit]}
    for k, gate in enumerate("ifgo"):
        row = k * H + unit
        numbers[gate] = {"Wx": W[row] @ x_t, "Rh": R[row] @ h_prev, "b": b[row], "z": W[row] @ x_t + R[row] @ h_prev + b[row], "value": getattr(s, gate)[unit]}
    numbers.update(c=s.c[unit], h=s.h[unit], recorded={q: float(arrays[q][sequence, step, unit]) for q in "ifgoch"})
    return numbers


def _complete(recorded, H):
    """Whether a layer's recording holds every unit and every step."""
    return len(recorded.units) == H and np.array_equal(recorded.steps, np.arange(recorded.lengths.max()))


def step_inspector(net, X, layer, sequence=0, step=0, unit=0, direction="forward", **options):
    """A table of every equation of one LSTM step for one unit, with its numbers.

    Rows i, f, g, o show W·x_t, R·h_(t-1), b, their sum (the pre-activation) and the gate; then
    how c_(t-1) becomes c_t and what h_t is. The numbers come from `lstmlab.reference` in
    float64, and the last column shows what `ll.trace` recorded, for comparison. The title
    counts steps from 1, as the lessons do (index t is step t + 1).

    Args:
        net: an `ll.Network` with an LSTM (or BiLSTM) layer.
        X: a data set: a list of (T, C) sequences or an (N, T, C) array.
        layer: the name of the LSTM layer.
        sequence: which sequence of X (default 0).
        step: the time step, an array index as everywhere in Python (default 0, step 1).
        unit: the hidden unit (default 0).
        direction: "forward" or "backward" (the backward LSTM of a BiLSTM).
        **options: recording (a trace of that layer to read instead of recording again),
            mini_batch_size and freeze_padding, as for `step_numbers`.

    Returns:
        A plotly Figure holding the table.
    """
    n = step_numbers(net, X, layer, sequence, step, unit, direction, **options)
    lstm = net[layer]
    sg, ss = lstm.gate_activation_function, lstm.state_activation_function
    prev = "t-1" if direction == "forward" else "t+1"
    rows = [
        (f"{g} = {ss if g == 'g' else sg}(W_{g}·x_t + R_{g}·h_{prev} + b_{g})", n[g]["Wx"], n[g]["Rh"], n[g]["b"], n[g]["z"], n[g]["value"], n["recorded"][g])
        for g in "ifgo"
    ]
    f, i, g = n["f"]["value"], n["i"]["value"], n["g"]["value"]
    rows += [
        (f"c_{prev}: the memory before this step", None, None, None, None, n["c_prev"], None),
        (f"f·c_{prev}: what the forget gate keeps", None, None, None, None, f * n["c_prev"], None),
        ("i·g: what the input gate adds", None, None, None, None, i * g, None),
        (f"c_t = f·c_{prev} + i·g", None, None, None, None, n["c"], n["recorded"]["c"]),
        (f"h_t = o·{ss}(c_t)", None, None, None, None, n["h"], n["recorded"]["h"]),
    ]
    header = ["equation", "W·x_t", f"R·h_{prev}", "b", "pre-activation", "value", "ll.trace"]
    columns = [[r[k] if k == 0 else ("" if r[k] is None else f"{r[k]:.6f}") for r in rows] for k in range(len(header))]
    fig = go.Figure(go.Table(
        header={"values": header, "fill_color": FORWARD, "font": {"color": "white", "size": 14}, "align": "left"},
        cells={"values": columns, "align": ["left"] + ["right"] * 6, "font": {"size": 13}, "height": 30},
        columnwidth=[3.4, 1, 1, 1, 1.2, 1, 1],
    ))
    title = f"Layer {layer!r} ({direction}), sequence {sequence}, step {step + 1}, unit {unit}: every equation"
    return finish(fig, title, height=120 + 34 * (len(rows) + 1), margin={"l": 10, "r": 10, "b": 10})


__all__ = ["step_inspector", "step_numbers"]
