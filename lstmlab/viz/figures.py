"""Figures of a trained network: gate heatmaps and the confusion chart.

Gates and probabilities share one colour scale everywhere, 0 (white) to 1 (dark blue), so that a
reader learns it once; cell and hidden states, which can be negative, use a diverging scale.
"""

import numpy as np
import plotly.graph_objects as go

GATE_SCALE = "Blues"  # 0..1: gates, probabilities
STATE_SCALE = "RdBu_r"  # signed: cell and hidden states
NAMES = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "cell candidate g",
    "o": "output gate o",
    "c": "cell state c",
    "h": "hidden state h",
    "r": "reset gate r",
    "z": "update gate z",
    "n": "candidate n",
}


def gate_heatmap(trace, layer, gate="f", sequence=0, direction="forward", title=None):
    """One recorded quantity of one sequence as a heatmap: hidden unit against time step.

    Steps beyond the sequence's real length (padding) are shaded, and its last real step marked.
    """
    recorded = trace[layer]
    if gate not in recorded.quantities:
        raise ValueError(f"gate_heatmap: gate must be one of {', '.join(recorded.quantities)} for layer {layer!r}; got {gate!r}.")
    if direction not in recorded.directions:
        raise ValueError(f"gate_heatmap: direction must be one of {', '.join(recorded.directions)}; got {direction!r}.")
    N = recorded.mask.shape[0]
    if not 0 <= sequence < N:
        raise ValueError(f"gate_heatmap: sequence must be in 0..{N - 1}; got {sequence!r}.")
    values = recorded.directions[direction].arrays[gate][sequence].T  # (U, S)
    signed = gate in ("c", "h", "g", "n")
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=recorded.steps,
            y=[f"unit {u}" for u in recorded.units],
            colorscale=STATE_SCALE if signed else GATE_SCALE,
            zmin=None if signed else 0.0,
            zmax=None if signed else 1.0,
            zmid=0.0 if signed else None,
            colorbar={"title": {"text": gate}},
            hovertemplate=f"step %{{x}}<br>%{{y}}<br>{gate} = %{{z:.4f}}<extra></extra>",
        )
    )
    length = int(recorded.lengths[sequence])
    if length <= recorded.steps.max():
        fig.add_vrect(x0=length - 0.5, x1=recorded.steps.max() + 0.5, fillcolor="grey", opacity=0.35, line_width=0,
                      annotation_text="padding", annotation_position="top left")
    where = f" ({direction})" if len(recorded.directions) > 1 else ""
    fig.update_layout(
        title=title or f"{NAMES.get(gate, gate)} of layer {layer!r}{where}, sequence {sequence} ({length} steps)",
        xaxis_title="time step",
        yaxis_title="hidden unit",
        template="plotly_white",
        font={"size": 14},
    )
    return fig


def confusion_chart(true_labels, predicted_labels, class_names=None, title="Confusion chart"):
    """Counts of true class (rows) against predicted class (columns), with the share per true class."""
    true_labels, predicted_labels = np.asarray(true_labels).astype(str), np.asarray(predicted_labels).astype(str)
    names = [str(c) for c in (class_names if class_names is not None else sorted(set(true_labels) | set(predicted_labels)))]
    index = {name: k for k, name in enumerate(names)}
    counts = np.zeros((len(names), len(names)), dtype=int)
    for t, p in zip(true_labels, predicted_labels):
        counts[index[t], index[p]] += 1
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=names,
            y=names,
            text=counts,
            texttemplate="%{text}",
            colorscale=GATE_SCALE,
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "share of<br>true class"}},
            hovertemplate="true %{y}<br>predicted %{x}<br>%{text} sequences (%{z:.1%} of true %{y})<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"{title}: accuracy {accuracy:.2%} ({np.trace(counts)} of {counts.sum()})",
        xaxis_title="predicted class",
        yaxis_title="true class",
        yaxis_autorange="reversed",
        template="plotly_white",
        font={"size": 14},
    )
    return fig
