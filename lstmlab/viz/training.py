"""How training went: loss and metrics per iteration, and the confusion chart of a classifier."""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._style import GATE_SCALE, finish

TRAINING, VALIDATION = "#1f77b4", "#d62728"


def training_progress(history, title="Training progress"):
    """Loss and each metric against the iteration, from `net.training_history_`.

    Training values are a thin line, validation values markers joined by a dashed line.

    Args:
        history: a trained network's `training_history_` (a DataFrame, one row per iteration).
        title: the figure's title.

    Returns:
        A plotly Figure, one panel for the loss and one per metric.
    """
    metrics = [c for c in history.columns if c not in ("epoch", "iteration", "learn_rate", "seconds") and not c.startswith("validation_")]
    fig = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=[m.replace("_", " ") for m in metrics])
    for row, metric in enumerate(metrics, start=1):
        hover = f"iteration %{{x}}<br>epoch %{{customdata}}<br>{metric} %{{y:.4f}}<extra>%{{fullData.name}}</extra>"
        fig.add_trace(
            go.Scatter(x=history["iteration"], y=history[metric], customdata=history["epoch"], mode="lines", name="training",
                       line={"color": TRAINING, "width": 1.5}, legendgroup="training", showlegend=row == 1, hovertemplate=hover),
            row=row, col=1,
        )
        column = f"validation_{metric}"
        if column in history:
            seen = history[history[column].notna()]
            fig.add_trace(
                go.Scatter(x=seen["iteration"], y=seen[column], customdata=seen["epoch"], mode="lines+markers", name="validation",
                           line={"color": VALIDATION, "dash": "dash"}, legendgroup="validation", showlegend=row == 1, hovertemplate=hover),
                row=row, col=1,
            )
        fig.update_yaxes(title_text=metric.replace("_", " "), row=row, col=1)
    fig.update_xaxes(title_text="iteration", row=len(metrics), col=1)
    fig.update_layout(height=260 * len(metrics) + 80, hovermode="x unified")
    return finish(fig, title)


def confusion_chart(true_labels, predicted_labels, class_names=None, title="Confusion chart"):
    """Counts of true class (rows) against predicted class (columns), with the share per true class.

    Args:
        true_labels: the N true labels.
        predicted_labels: the N predicted labels, e.g. what `ll.classify` returns.
        class_names: the classes in the order of the rows and columns (default: every label
            present, sorted).
        title: the figure's title; the accuracy is added to it.

    Returns:
        A plotly Figure.
    """
    true_labels, predicted_labels = np.asarray(true_labels).astype(str), np.asarray(predicted_labels).astype(str)
    names = [str(c) for c in (class_names if class_names is not None else sorted(set(true_labels) | set(predicted_labels)))]
    unknown = sorted(str(v) for v in (set(true_labels) | set(predicted_labels)) - set(names))
    if unknown:
        raise ValueError(f"confusion_chart: labels {unknown} are not among class_names {names}; add them or leave class_names out.")
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
    fig.update_layout(yaxis_autorange="reversed")
    return finish(fig, f"{title}: accuracy {accuracy:.2%} ({np.trace(counts)} of {counts.sum()})", "predicted class", "true class")
