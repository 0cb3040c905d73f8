"""attention_explorer: an encoder–decoder's attention, one pair and one output step at a time."""

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from ..decoding import decode
from ..seq2seq import _check_model, trace_encoder_decoder
from ..viz._style import GATE_SCALE, finish
from ..viz.attention import attention_map
from ._app import App


def attention_explorer(model, X, Y=None, *, source_tokens=None, target_tokens=None, max_length=100):
    """Pick a pair and an output step: the pair's attention map, and that step's row as bars.

    The app records everything once with `ll.trace_encoder_decoder`. Hover the map for each
    weight; the bars show one row, the weights with which the chosen output step read every
    source token.

    Args:
        model: an `ll.EncoderDecoder` made with attention.
        X: the sources, a list of 1-D integer arrays of ids.
        Y: what the decoder reads, one target per source: None (default) decodes X greedily and
            shows what the decoder computed while writing its own answer; the true targets show
            it under teacher forcing.
        source_tokens, target_tokens: the text of each id (entry k - 1 for id k), for the tick
            labels; default: the ids themselves.
        max_length: the most tokens decoded for one source when Y is None (default 100).

    Returns:
        An app (an ipywidgets box: its `controls` and `figures`), with `app.trace` (the
        recording) and `app.written` (what the decoder read).
    """
    _check_model(model, "attention_explorer")
    if model.attend is None:
        raise ValueError("attention_explorer: the model has no attention; make it with ll.EncoderDecoder(..., attention=\"general\").")
    written = decode(model, X, max_length=max_length) if Y is None else Y
    recorded = trace_encoder_decoder(model, X, written)
    sources = [np.asarray(x) for x in X]

    def text(ids, tokens):
        return [str(i) if tokens is None else str(tokens[i - 1]) for i in np.asarray(ids).tolist()]

    controls = {
        "pair": widgets.IntSlider(0, 0, len(sources) - 1, description="pair"),
        "step": widgets.IntSlider(1, 1, len(written[0]) + 1, description="output step"),
    }

    def before_draw(changed):
        if changed == "pair":
            controls["step"].max = len(written[controls["pair"].value]) + 1

    def draw(pair, step):
        columns, rows = text(sources[pair], source_tokens), text(written[pair], target_tokens)
        heatmap = attention_map(recorded, pair, source_labels=columns, output_labels=rows)
        word = (rows + ["<end>"])[step - 1]
        weights = recorded.attention[pair, step - 1, : len(columns)]
        bars = go.Figure(go.Bar(x=[f"{s + 1}: {c}" for s, c in enumerate(columns)], y=weights, marker={"color": weights, "colorscale": GATE_SCALE, "cmin": 0, "cmax": 1},
                                hovertemplate="source %{x}<br>weight %{y:.3f}<extra></extra>"))
        bars.update_yaxes(range=[0, 1])
        bars.update_xaxes(type="category")
        finish(bars, f"Output step {step} ({word!r}) of pair {pair}: the weight it gave each source step", "source step", "attention weight")
        return {"map": heatmap, "row": bars}

    app = App(controls, draw, before_draw)
    app.trace, app.written = recorded, written
    return app
