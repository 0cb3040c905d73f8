"""Figures of a recording (`ll.trace`): gates and states over time, and how saturated gates are."""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .._checks import check_choice
from ._style import BACKWARD, FORWARD, GATE_SCALE, NAMES, SIGNED, STATE_SCALE, colour_scale, finish


def _pick(trace, layer, sequence, direction, where):
    """The LayerTrace and the arrays of one direction, with clear errors for bad choices."""
    check_choice(layer, "layer", list(trace), where)
    recorded = trace[layer]
    check_choice(direction, "direction", list(recorded.directions), where)
    N = recorded.mask.shape[0]
    if not isinstance(sequence, (int, np.integer)) or not 0 <= sequence < N:
        raise ValueError(f"{where}: sequence must be in 0..{N - 1}; got {sequence!r}.")
    return recorded, recorded.directions[direction].arrays


def _shade_padding(fig, recorded, sequence, **position):
    """Grey over the steps beyond the sequence's real length, on an axis that counts steps from 1."""
    length, last = int(recorded.lengths[sequence]), int(recorded.steps.max()) + 1  # the last recorded step, from 1
    if length < last:
        fig.add_vrect(x0=length + 0.5, x1=last + 0.5, fillcolor="grey", opacity=0.3, line_width=0, **position)


def gate_heatmap(trace, layer, gate="f", sequence=0, direction="forward", title=None, step_labels=None):
    """One recorded quantity of one sequence as a heatmap: hidden unit against time step.

    Steps beyond the sequence's real length (padding) are shaded. Axes and hover texts count
    steps from 1, as the lessons do: index t of an array is step t + 1.

    Args:
        trace: what `ll.trace` returned.
        layer: the name of a recorded layer, e.g. "lstm".
        gate: the quantity: "i", "f", "g", "o", "c" or "h" for an LSTM ("r", "z", "n", "h" for a
            GRU); default "f".
        sequence: which sequence of the trace (default 0).
        direction: "forward" or "backward" (the backward LSTM of a BiLSTM).
        title: the figure's title (default: says what is drawn).
        step_labels: one text per time step of the sequence (the words of a sentence, say) to
            name the steps on the axis.

    Returns:
        A plotly Figure.
    """
    recorded, arrays = _pick(trace, layer, sequence, direction, "gate_heatmap")
    check_choice(gate, "gate", recorded.quantities, "gate_heatmap")
    steps = recorded.steps
    names = _step_names(step_labels, steps, recorded.lengths[sequence])
    shown = recorded.steps_from_one
    fig = go.Figure(
        go.Heatmap(
            z=arrays[gate][sequence].T,  # (U, S)
            x=shown,
            y=[f"unit {u}" for u in recorded.units],
            customdata=np.broadcast_to(names, (len(recorded.units), len(steps))),
            colorbar={"title": {"text": gate}},
            hovertemplate=f"step %{{x}} %{{customdata}}<br>%{{y}}<br>{gate} = %{{z:.4f}}<extra></extra>",
            **colour_scale(gate),
        )
    )
    if step_labels is not None:
        fig.update_xaxes(tickvals=shown, ticktext=names, tickangle=-45)
    _shade_padding(fig, recorded, sequence, annotation_text="padding", annotation_position="top left",
                   annotation_font={"color": "black"}, annotation_bgcolor="white")
    where = f" ({direction})" if len(recorded.directions) > 1 else ""
    length = int(recorded.lengths[sequence])
    default = f"{NAMES.get(gate, gate)} of layer {layer!r}{where}, sequence {sequence} ({length} steps)"
    return finish(fig, title or default, "time step", "hidden unit")


def _step_names(step_labels, steps, length):
    """A text per recorded step: the given label, "" without labels, "(padding)" beyond the end."""
    if step_labels is None:
        return np.array([""] * len(steps), dtype=object)
    labels = list(step_labels)
    if len(labels) != length:
        raise ValueError(f"gate_heatmap: step_labels has {len(labels)} entries but the sequence has {length} steps; give one per step.")
    return np.array([str(labels[s]) if s < length else "(padding)" for s in steps], dtype=object)


def gate_heatmaps(trace, layer, sequence=0, direction="forward"):
    """Every recorded quantity of one sequence, one heatmap under the other, on one time axis.

    Gates share one colour bar (0..1); signed states share another, centred on 0.
    Axes and hover texts count steps from 1, as the lessons do: index t of an array is
    step t + 1.

    Args:
        trace: what `ll.trace` returned.
        layer: the name of a recorded layer.
        sequence: which sequence of the trace (default 0).
        direction: "forward" or "backward" (the backward LSTM of a BiLSTM).

    Returns:
        A plotly Figure, one row of panels per quantity.
    """
    recorded, arrays = _pick(trace, layer, sequence, direction, "gate_heatmaps")
    quantities = recorded.quantities
    fig = make_subplots(rows=len(quantities), cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        subplot_titles=[NAMES.get(q, q) for q in quantities])
    for row, q in enumerate(quantities, start=1):
        fig.add_trace(
            go.Heatmap(
                z=arrays[q][sequence].T,
                x=recorded.steps_from_one,
                y=[f"unit {u}" for u in recorded.units],
                coloraxis="coloraxis2" if q in SIGNED else "coloraxis",
                hovertemplate=f"step %{{x}}<br>%{{y}}<br>{q} = %{{z:.4f}}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        _shade_padding(fig, recorded, sequence, row=row, col=1)
        fig.update_yaxes(title_text="unit", showticklabels=False, row=row, col=1)
    fig.update_xaxes(title_text="time step", row=len(quantities), col=1)
    fig.update_layout(
        coloraxis={"colorscale": GATE_SCALE, "cmin": 0, "cmax": 1, "colorbar": {"title": {"text": "gate"}, "y": 0.75, "len": 0.45}},
        coloraxis2={"colorscale": STATE_SCALE, "cmid": 0, "colorbar": {"title": {"text": "state"}, "y": 0.25, "len": 0.45}},
        height=170 * len(quantities) + 100,
    )
    where = f" ({direction})" if len(recorded.directions) > 1 else ""
    return finish(fig, f"Layer {layer!r}{where}, sequence {sequence}: every gate and state ({int(recorded.lengths[sequence])} steps)")


def state_lines(trace, layer, units=None, sequence=0, quantities=None, direction="forward"):
    """Chosen units of chosen quantities over time, one panel per quantity (default: c and h).

    Axes and hover texts count steps from 1, as the lessons do: index t of an array is
    step t + 1.

    Args:
        trace: what `ll.trace` returned.
        layer: the name of a recorded layer.
        units: the hidden units drawn (numbered as the trace records them), one line each
        (default: the first five recorded).
        sequence: which sequence of the trace (default 0).
        quantities: the recorded quantities, one panel each (default ("c", "h"), or ("h",) for a
            layer without a cell state).
        direction: "forward" or "backward" (the backward LSTM of a BiLSTM).

    Returns:
        A plotly Figure.
    """
    recorded, arrays = _pick(trace, layer, sequence, direction, "state_lines")
    quantities = [q for q in ("c", "h") if q in recorded.quantities] if quantities is None else list(quantities)
    for q in quantities:
        check_choice(q, "quantities", recorded.quantities, "state_lines")
    chosen = [int(u) for u in (recorded.units[:5] if units is None else np.atleast_1d(units))]
    for u in chosen:
        check_choice(u, "units", [int(v) for v in recorded.units], "state_lines")
    columns = [int(np.flatnonzero(recorded.units == u)[0]) for u in chosen]
    fig = make_subplots(rows=len(quantities), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[NAMES.get(q, q) for q in quantities])
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    for row, q in enumerate(quantities, start=1):
        for k, (u, col) in enumerate(zip(chosen, columns)):
            fig.add_trace(
                go.Scatter(x=recorded.steps_from_one, y=arrays[q][sequence, :, col], mode="lines+markers", name=f"unit {u}",
                           line={"color": colours[k % len(colours)]}, legendgroup=f"unit {u}", showlegend=row == 1,
                           hovertemplate=f"step %{{x}}<br>unit {u}<br>{q} = %{{y:.4f}}<extra></extra>"),
                row=row,
                col=1,
            )
        _shade_padding(fig, recorded, sequence, row=row, col=1)
        fig.update_yaxes(title_text=q, row=row, col=1)
    fig.update_xaxes(title_text="time step", row=len(quantities), col=1)
    fig.update_layout(height=260 * len(quantities) + 80)
    return finish(fig, f"Layer {layer!r}, sequence {sequence}: units over time")


def gate_health(trace, threshold=0.05):
    """For each recorded layer and gate, the share of values that are saturated, on real steps.

    A gate value below `threshold` is closed, above 1 - threshold open: a layer whose gates are
    almost all saturated has little gradient left to learn with.

    Args:
        trace: what `ll.trace` returned.
        threshold: how close to 0 or 1 a saturated value is (default 0.05).

    Returns:
        A plotly Figure: one stacked bar per layer and gate, its closed and its open share.
    """
    rows = []
    for name in trace:
        recorded = trace[name]
        for direction, part in recorded.directions.items():
            for q in recorded.quantities:
                if q in SIGNED:
                    continue
                values = part.arrays[q][recorded.mask]  # real steps only: (M, U)
                label = f"{name} ({direction})" if len(recorded.directions) > 1 else name
                rows.append((label, q, float(np.mean(values < threshold)), float(np.mean(values > 1 - threshold))))
    fig = go.Figure()
    x = [[label for label, *_ in rows], [q for _, q, *_ in rows]]
    for k, (state, colour) in enumerate((("closed", BACKWARD), ("open", FORWARD))):
        shares = [r[2 + k] for r in rows]
        fig.add_trace(go.Bar(x=x, y=shares, name=f"{state} (< {threshold:g})" if state == "closed" else f"open (> {1 - threshold:g})",
                             marker_color=colour, hovertemplate=f"%{{x}}<br>{state}: %{{y:.1%}}<extra></extra>"))
    fig.update_layout(barmode="stack", yaxis={"tickformat": ".0%", "range": [0, 1]})
    return finish(fig, "Gate health: share of saturated gate values", "layer and gate", "share of values")
