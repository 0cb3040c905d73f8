"""Figures of hidden states: a BiLSTM's two directions, and trajectories of h in a PCA plane."""

import numpy as np
import plotly.graph_objects as go

from .._checks import check_choice
from ._style import BACKWARD, FORWARD, finish
from .gates import _pick, _shade_padding


def bilstm_flow(trace, layer, sequence=0, unit=0):
    """A BiLSTM unit's forward and backward hidden states on one time axis.

    The output at step t is [h_forward_t, h_backward_t]. Markers show what output_mode="last"
    hands on (both halves at the last step: the backward half has read only that step) and the
    backward LSTM's final state at step 1 (what has_state_outputs returns for it).
    Axes and hover texts count steps from 1, as the lessons do: index t of an array is
    step t + 1.

    Args:
        trace: what `ll.trace` returned for a network with a BiLSTM layer.
        layer: the name of the BiLSTM layer.
        sequence: which sequence of the trace (default 0).
        unit: the hidden unit drawn (default 0).

    Returns:
        A plotly Figure.
    """
    recorded, _ = _pick(trace, layer, sequence, "forward", "bilstm_flow")
    if len(recorded.directions) != 2:
        raise ValueError(f"bilstm_flow: layer {layer!r} is a one-way {recorded.kind} layer; choose a bilstm layer.")
    check_choice(unit, "unit", [int(u) for u in recorded.units], "bilstm_flow")
    col = int(np.flatnonzero(recorded.units == unit)[0])
    length = int(recorded.lengths[sequence])
    t = recorded.steps_from_one
    fig = go.Figure()
    for direction, colour, arrow in (("forward", FORWARD, "→ reads x_1 … x_T"), ("backward", BACKWARD, "← reads x_T … x_1")):
        h = recorded.directions[direction].arrays["h"][sequence, :, col]
        fig.add_trace(go.Scatter(x=t, y=h, mode="lines+markers", name=f"{direction} h {arrow}", line={"color": colour},
                                 hovertemplate=f"step %{{x}}<br>{direction} h = %{{y:.4f}}<extra></extra>"))
    last = length - 1
    forward_h = recorded.forward.h[sequence, :, col]
    backward_h = recorded.backward.h[sequence, :, col]
    fig.add_trace(go.Scatter(x=[last + 1, last + 1], y=[forward_h[last], backward_h[last]], mode="markers", name='output_mode="last" hands on',
                             marker={"symbol": "star", "size": 16, "color": "black"},
                             hovertemplate='output_mode="last"<br>step %{x}: %{y:.4f}<extra></extra>'))
    fig.add_trace(go.Scatter(x=[1], y=[backward_h[0]], mode="markers", name="final backward state (has read every step)",
                             marker={"symbol": "diamond", "size": 14, "color": BACKWARD, "line": {"color": "black", "width": 1}},
                             hovertemplate="backward state after the whole sequence: %{y:.4f}<extra></extra>"))
    _shade_padding(fig, recorded, sequence)
    fig.update_layout(legend={"orientation": "h", "y": -0.28}, margin={"b": 120})
    return finish(fig, f"BiLSTM {layer!r}, unit {unit}, sequence {sequence}: two directions, one time axis", "time step", "hidden state h")


def hidden_state_pca(trace, layer, labels=None, color="class", direction="forward", max_sequences=60):
    """h at every real step of every sequence, projected on its first two principal components.

    Each sequence is a faint trajectory; points are coloured by the sequence's class (`labels`,
    one per sequence) or by time step (color="time"). Colours and hover texts count steps from 1,
    as the lessons do: index t of an array is step t + 1.

    Args:
        trace: what `ll.trace` returned.
        layer: the name of a recorded layer.
        labels: one label per sequence of the trace, for color="class".
        color: "class" (default; needs labels) or "time".
        direction: "forward" or "backward" (the backward LSTM of a BiLSTM).
        max_sequences: how many sequences are drawn, the first ones (60); the components come
            from every sequence of the trace.

    Returns:
        A plotly Figure.
    """
    recorded, arrays = _pick(trace, layer, 0, direction, "hidden_state_pca")
    check_choice(color, "color", ["class", "time"], "hidden_state_pca")
    if color == "class" and labels is None:
        raise ValueError("hidden_state_pca: color='class' needs labels, one per sequence; or use color='time'.")
    h, mask = arrays["h"], recorded.mask  # (N, S, U), (N, S)
    points = h[mask]  # (M, U)
    centre = points.mean(0)
    _, singular, axes = np.linalg.svd(points - centre, full_matrices=False)
    explained = singular**2 / np.sum(singular**2)
    project = lambda v: (v - centre) @ axes[:2].T  # noqa: E731
    fig = go.Figure()
    shown = range(min(len(h), max_sequences))
    sequences, s = np.nonzero(mask[: len(shown)])  # the real steps of the shown sequences, sequence by sequence
    steps = recorded.steps_from_one[s]
    xy = project(h[sequences, s])  # (M, 2)
    for line in np.split(xy, np.cumsum(mask[: len(shown)].sum(1))[:-1]):  # one line per sequence
        fig.add_trace(go.Scatter(x=line[:, 0], y=line[:, 1], mode="lines", line={"color": "rgba(120,120,120,0.25)", "width": 1},
                                 showlegend=False, hoverinfo="skip"))
    if color == "time":
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name="h_t", customdata=np.stack([sequences, steps], 1),
                                 marker={"color": steps, "colorscale": "Viridis", "colorbar": {"title": {"text": "step"}}, "size": 6},
                                 hovertemplate="sequence %{customdata[0]}<br>step %{customdata[1]}<extra></extra>"))
    else:
        labels = np.asarray(labels).astype(str)
        for name in sorted(set(labels[list(shown)])):
            keep = labels[sequences] == name
            fig.add_trace(go.Scatter(x=xy[keep, 0], y=xy[keep, 1], mode="markers", name=f"class {name}", marker={"size": 6},
                                     customdata=np.stack([sequences[keep], steps[keep]], 1),
                                     hovertemplate=f"class {name}<br>sequence %{{customdata[0]}}<br>step %{{customdata[1]}}<extra></extra>"))
    return finish(fig, f"Hidden states of layer {layer!r} in their two main directions ({len(shown)} sequences)",
                  f"principal component 1 ({explained[0]:.0%} of the variance)", f"principal component 2 ({explained[1]:.0%})")
