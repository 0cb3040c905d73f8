"""An app to look for what one cell of a language model does: its value over the text, how it
ranks against features of the text, and the spans that share a selected span's pattern."""

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from ..text import code_features, find_cells, match_spans
from ..trace import Trace
from ..viz import colored_text
from ..viz._style import FORWARD, finish
from ._app import App

SHOWN_LINES = 20  # lines of text coloured at once
SHOWN_MATCHES = 10  # rows of the matches table


def cell_explorer(tr, text, features=None):
    """Pick a layer, quantity and unit: the text coloured by its value, its correlation with each
    feature of the text (and its rank there among all recorded units), and the spans whose
    pattern matches a selected span (`ll.text.match_spans`), update in place.

    Args:
        tr: an `ll.Trace` of `text` as one sequence, every step recorded:
            `ll.trace(net, [vocabulary.encode(text)])`.
        text: the traced text.
        features: a DataFrame of one number per character (default: `ll.text.code_features(text)`,
            for whole lines of Python).

    Returns:
        An app with `.controls` (layer, quantity, unit, first_line, selection, threshold) and
        `.figures` (text, ranking, matches). Lines count from 1, as editors do (first_line=1 is the
        first line); selection holds character positions text[a:b], as Python slices them.
    """
    if not isinstance(tr, Trace):
        raise TypeError(f"cell_explorer: tr must be an ll.Trace (from ll.trace(net, [vocabulary.encode(text)])); got {type(tr).__name__}.")
    ranking = find_cells(tr, code_features(text) if features is None else features)  # checks that tr holds text
    newlines = np.flatnonzero(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == ord("\n"))  # (K,)
    line_starts = np.concatenate([[0], newlines[newlines < len(text) - 1] + 1])  # (lines,) where each line starts
    first = tr[next(iter(tr))]
    controls = {
        "layer": widgets.Dropdown(options=list(tr), description="layer"),
        "quantity": widgets.Dropdown(options=list(first.quantities), value="c" if "c" in first.quantities else first.quantities[-1], description="quantity"),
        "unit": widgets.Dropdown(options=first.units.tolist(), description="unit"),
        "first_line": widgets.IntSlider(1, 1, max(len(line_starts) - SHOWN_LINES, 0) + 1, description="first line"),  # from 1
        "selection": widgets.IntRangeSlider(value=(0, min(10, len(text))), min=0, max=len(text), description="selection"),
        "threshold": widgets.FloatSlider(0.5, min=-1.0, max=1.0, step=0.05, description="threshold"),
    }

    def before_draw(changed):
        if changed == "layer":
            layer = tr[controls["layer"].value]
            quantity = controls["quantity"].value
            controls["quantity"].options = list(layer.quantities)
            controls["quantity"].value = quantity if quantity in layer.quantities else layer.quantities[-1]
            controls["unit"].options = layer.units.tolist()

    def draw(layer, quantity, unit, first_line, selection, threshold):
        recorded = tr[layer]
        values = getattr(recorded, quantity)[0, :, list(recorded.units).index(unit)]  # (T,)
        top = first_line - 1  # lines count from 1, as editors do
        a = line_starts[top]
        b = line_starts[top + SHOWN_LINES] if top + SHOWN_LINES < len(line_starts) else len(text)
        last = top + min(SHOWN_LINES, len(line_starts) - top)
        shown = colored_text(text[a:b], values[a:b], title=f"{quantity} of unit {unit}, layer {layer!r}: lines {first_line}..{last}", name=quantity,
                             first_line=first_line)
        return {"text": shown, "ranking": _ranking_table(ranking, layer, quantity, unit), "matches": _matches_table(tr, text, layer, quantity, selection, threshold)}

    app = App(controls, draw, before_draw)
    app.ranking = ranking
    return app


def _ranking_table(ranking, layer, quantity, unit):
    """The unit's correlation with each feature, and its rank among all units and quantities of its layer."""
    of_layer = ranking[ranking["layer"] == layer]
    rank = of_layer.groupby("feature", sort=False).cumcount() + 1  # ranking is strongest first
    mine = of_layer[(of_layer["quantity"] == quantity) & (of_layer["unit"] == unit)]
    columns = [mine["feature"].tolist(), [f"{r:+.3f}" for r in mine["correlation"]], [f"{k} of {len(of_layer) // of_layer['feature'].nunique()}" for k in rank[mine.index]]]
    return _table(["feature", "correlation", "rank"], columns, f"{quantity} of unit {unit}: how it follows each feature")


def _matches_table(tr, text, layer, quantity, selection, threshold):
    """The best matches of the selection's pattern, or why there is none."""
    try:
        found = match_spans(tr, text, selection[0], selection[1], threshold, layer=layer, quantity=quantity)
    except ValueError as error:
        return _table(["no pattern"], [[str(error)]], "Matching spans")
    top = found.head(SHOWN_MATCHES)
    columns = [top["start"].tolist(), top["end"].tolist(), [f"{s:.2f}" for s in top["score"]], [repr(t[:60]) for t in top["text"]]]
    title = f"Spans matching text[{selection[0]}:{selection[1]}] ({len(found.attrs['units'])} units above {threshold:g}; {len(found)} matches)"
    return _table(["start", "end", "score", "text"], columns, title)


def _table(header, columns, title):
    fig = go.Figure(go.Table(
        header={"values": header, "fill_color": FORWARD, "font": {"color": "white", "size": 14}, "align": "left"},
        cells={"values": columns, "align": "left", "font": {"size": 13}, "height": 26},
    ))
    return finish(fig, title, height=120 + 28 * (max(len(c) for c in columns) + 1), margin={"l": 10, "r": 10, "b": 10})
