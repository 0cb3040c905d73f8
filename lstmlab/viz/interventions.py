"""Figures of interventions: which units matter (`ll.ablate`), and a run beside the changed run."""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .._checks import check_choice, check_positive_int
from ._style import BACKWARD, FORWARD, NAMES, finish
from .gates import _pick, _shade_padding

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
DASHES = ["solid", "dash", "dot", "dashdot"]


def ablation_chart(frame, metric="loss_change", top=20, title=None):
    """The units whose silencing costs the network most, ranked: one bar per unit (or group).

    Args:
        frame: what `ll.ablate` returns.
        metric: one of its columns: "loss_change" (the default, largest first),
            "accuracy_change" or "accuracy_change[<class>]" (most negative first).
        top: how many units to show (20).
        title: the figure's title (default: says what is ranked).

    Returns:
        A plotly Figure.
    """
    metrics = [c for c in frame.columns if c.endswith("_change") or c.startswith("accuracy_change[")]
    check_choice(metric, "metric", metrics, "ablation_chart")
    top = check_positive_int(top, "top", "ablation_chart")
    worst_first = metric == "loss_change"  # a loss grows, an accuracy falls
    ranked = frame.sort_values(metric, ascending=not worst_first, kind="stable").head(top)
    two_way = (frame["direction"] == "backward").any()
    labels = [
        f"{layer}{f' ({direction})' if two_way else ''}, unit {unit}"
        for layer, direction, unit in zip(ranked["layer"], ranked["direction"], ranked["unit"])
    ]
    colours = [BACKWARD if d == "backward" else FORWARD for d in ranked["direction"]]
    fig = go.Figure(
        go.Bar(
            x=ranked[metric],
            y=labels,
            orientation="h",
            marker_color=colours,
            customdata=ranked["loss_change"],
            hovertemplate=f"%{{y}}<br>{metric} %{{x:+.4f}}<br>loss_change %{{customdata:+.4f}}<extra></extra>",
        )
    )
    fig.update_layout(yaxis={"autorange": "reversed"}, height=max(300, 28 * len(ranked) + 140), margin={"l": 180})
    mode = frame.attrs.get("mode", "zero")
    default = f"Silencing each unit ({mode} ablation): the {len(ranked)} that cost most, by {metric.replace('_', ' ')}"
    return finish(fig, title or default, metric.replace("_", " "), "")


def compare_runs(traces, layer, unit, sequence=0, quantities=None, direction="forward"):
    """One unit over time in several recordings of the same data, e.g. a clean and an intervened
    run: one panel per quantity (default: every one the layer records), one line per run.

    Axes and hover texts count steps from 1, as the lessons do: index t of an array is
    step t + 1. An intervention with steps=slice(9, None) acts from index 9, so the runs part at
    step 10.

    Args:
        traces: {label: `ll.Trace`}, e.g. {"clean": ll.trace(net, X),
            "f = 1": ll.trace(net, X, interventions=[...])}.
        layer: the name of a layer every trace recorded.
        unit: the hidden unit drawn.
        sequence: which sequence of the traces (default 0).
        quantities: the quantities drawn, one panel each (default: every one the layer records).
        direction: "forward" or "backward" (the backward LSTM of a BiLSTM).

    Returns:
        A plotly Figure.
    """
    if not isinstance(traces, dict) or not traces:
        raise ValueError(f"compare_runs: traces must be a dict {{label: trace}} with at least one recording; got {traces!r}.")
    recordings = {label: _pick(tr, layer, sequence, direction, "compare_runs") for label, tr in traces.items()}
    first = next(iter(recordings.values()))[0]
    quantities = list(first.quantities) if quantities is None else list(quantities)
    for q in quantities:
        check_choice(q, "quantities", first.quantities, "compare_runs")
    fig = make_subplots(rows=len(quantities), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[NAMES.get(q, q) for q in quantities])
    for k, (label, (recorded, arrays)) in enumerate(recordings.items()):
        check_choice(unit, "unit", [int(u) for u in recorded.units], "compare_runs")
        column = int(np.flatnonzero(recorded.units == unit)[0])
        for row, q in enumerate(quantities, start=1):
            fig.add_trace(
                go.Scatter(x=recorded.steps_from_one, y=arrays[q][sequence, :, column], mode="lines+markers", name=label,
                           line={"color": COLOURS[k % len(COLOURS)], "dash": DASHES[k % len(DASHES)]},
                           legendgroup=label, showlegend=row == 1,
                           hovertemplate=f"{label}<br>step %{{x}}<br>{q} = %{{y:.4f}}<extra></extra>"),
                row=row, col=1,
            )
    for row, q in enumerate(quantities, start=1):
        _shade_padding(fig, first, sequence, row=row, col=1)
        fig.update_yaxes(title_text=q, row=row, col=1)
    fig.update_xaxes(title_text="time step", row=len(quantities), col=1)
    fig.update_layout(height=170 * len(quantities) + 120)
    where = f" ({direction})" if len(first.directions) > 1 else ""
    return finish(fig, f"Layer {layer!r}{where}, unit {unit}, sequence {sequence}: {' vs '.join(map(str, traces))}")


def prediction_change(clean, changed, class_names=None, labels=("clean", "intervened")):
    """A network's output for one sequence, before and after a change.

    Axes and hover texts count steps from 1, as the lessons do: index t of an array is
    step t + 1.

    Args:
        clean: what `ll.predict` returns for one sequence: (K,) scores (bars side by side) or
            (T, K) one row per step (one line per class over time: clean dotted, changed solid).
        changed: the same after the change (an intervention, an ablation), of the same shape.
        class_names: the K names of the outputs (default "output 0", "output 1", ...; give
            `net.class_names`).
        labels: the names of the two runs in the legend (default ("clean", "intervened")).

    Returns:
        A plotly Figure.
    """
    clean, changed = np.asarray(clean), np.asarray(changed)
    if clean.shape != changed.shape or clean.ndim not in (1, 2):
        raise ValueError(
            f"prediction_change: clean and changed must be one sequence's outputs of the same shape, (K,) or (T, K); "
            f"got {clean.shape} and {changed.shape}."
        )
    K = clean.shape[-1]
    names = [str(c) for c in class_names] if class_names is not None else [f"output {k}" for k in range(K)]
    if len(names) != K:
        raise ValueError(f"prediction_change: class_names has {len(names)} names for {K} outputs; give one per output.")
    fig = go.Figure()
    if clean.ndim == 1:
        for label, values, colour in ((labels[0], clean, "#9e9e9e"), (labels[1], changed, FORWARD)):
            fig.add_trace(go.Bar(x=names, y=values, name=label, marker_color=colour,
                                 hovertemplate=f"{label}<br>%{{x}}: %{{y:.4f}}<extra></extra>"))
        title = f"Prediction: {labels[0]} {names[int(clean.argmax())]}, {labels[1]} {names[int(changed.argmax())]}"
        return finish(fig, title, "class", "score")
    steps = np.arange(1, len(clean) + 1)  # row t is step t + 1
    for k, name in enumerate(names):
        colour = COLOURS[k % len(COLOURS)]
        for label, values, dash in ((labels[0], clean, "dot"), (labels[1], changed, "solid")):
            fig.add_trace(go.Scatter(x=steps, y=values[:, k], mode="lines", name=f"{name} ({label})", legendgroup=name,
                                     line={"color": colour, "dash": dash},
                                     hovertemplate=f"{name}, {label}<br>step %{{x}}: %{{y:.4f}}<extra></extra>"))
    return finish(fig, f"Prediction at every step: {labels[0]} (dotted) and {labels[1]} (solid)", "time step", "score")
