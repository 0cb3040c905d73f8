"""The attention of an encoder–decoder: which source token each output token looked at."""

import numpy as np
import plotly.graph_objects as go

from ._style import GATE_SCALE, finish


def attention_map(trace, sequence=0, source_labels=None, output_labels=None, title=None):
    """The attention weights of one pair as a heatmap: output steps (rows) against source steps.

    Args:
        trace: what `ll.trace_encoder_decoder` returned for a model with attention.
        sequence: which pair (default 0).
        source_labels: one text per real source step (the source's tokens); default "1", "2", ...
        output_labels: one text per token the decoder wrote for this pair, <end> left out (it is
            added); default "1", "2", ...
        title: the figure's title (default: says which pair).

    Only the real steps are drawn: row t is output step t + 1 (the step that wrote
    output_labels[t], the last row <end>), and it sums to 1 over the columns. The weights run
    from 0 (white) to 1 (dark blue), as gates do in every lstmlab figure; hover for the value.

    Returns:
        A plotly Figure.
    """
    where = "attention_map"
    attention = getattr(trace, "attention", None)
    if attention is None:
        raise ValueError(
            f"{where}: the trace holds no attention weights; record a model made with attention=\"dot\", \"general\" or "
            f"\"additive\" with ll.trace_encoder_decoder."
        )
    N = attention.shape[0]
    if not isinstance(sequence, (int, np.integer)) or not 0 <= sequence < N:
        raise ValueError(f"{where}: sequence must be an integer from 0 to {N - 1}; got {sequence!r}.")
    S, T_out = int(trace["encoder"].lengths[sequence]), int(trace["decoder"].lengths[sequence])
    columns = _labels(source_labels, S, "source_labels", "source steps", where)
    rows = _labels(output_labels, T_out - 1, "output_labels", "tokens written (<end> left out)", where) + ["<end>"]
    weights = attention[sequence, :T_out, :S]  # (T_out, S)
    x, y = [f"{s + 1}: {label}" for s, label in enumerate(columns)], [f"{t + 1}: {label}" for t, label in enumerate(rows)]
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            x=x,
            y=y,
            colorscale=GATE_SCALE,
            zmin=0.0,
            zmax=1.0,
            colorbar={"title": {"text": "weight"}},
            hovertemplate="writing %{y}<br>source %{x}<br>weight %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")  # the first output token at the top
    fig.update_xaxes(tickangle=0, type="category")
    fig.update_yaxes(type="category")
    default = f"Attention of pair {sequence}: which source step each output step read ({T_out} outputs, {S} source steps)"
    return finish(fig, title or default, "source step", "output step", height=max(300, 32 * T_out + 160))


def _labels(labels, length, name, what, where):
    """The given labels as text, or "1", "2", ...; one per step."""
    if labels is None:
        return [str(k + 1) for k in range(length)]
    labels = [str(label) for label in labels]
    if len(labels) != length:
        raise ValueError(f"{where}: {name} has {len(labels)} entries but the pair has {length} {what}; give one per step.")
    return labels
