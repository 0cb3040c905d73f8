"""Apps on data alone: padding and truncation, and normalization."""

import ipywidgets as widgets

from ..data import as_sequences
from ..normalization import DIMENSIONS, NORMALIZATIONS
from ..viz import normalization_histograms, padding_chart
from ._app import App


def padding_explorer(X):
    """Mini-batch size, longest / shortest / split, left / right, sorted or not: see the padding.

    Args:
        X: a data set: a list of (T, C) sequences or an (N, T, C) array.

    Returns:
        An app (an ipywidgets box: its `controls` and `figures`), drawn by `ll.viz.padding_chart`.
    """
    sequences = as_sequences(X, where="padding_explorer")
    longest = max(len(x) for x in sequences)
    controls = {
        "mini_batch_size": widgets.IntSlider(min(8, len(sequences)), 1, max(1, min(len(sequences), 64)), description="mini-batch"),
        "rule": widgets.Dropdown(options=["longest", "shortest", "split"], description="length"),
        "chunk": widgets.IntSlider(max(1, longest // 3), 1, longest, description="chunk", disabled=True),
        "direction": widgets.ToggleButtons(options=["right", "left"], description="padding"),
        "sort_by_length": widgets.Checkbox(False, description="sort by length"),
    }

    def before_draw(changed):
        controls["chunk"].disabled = controls["rule"].value != "split"

    def draw(mini_batch_size, rule, chunk, direction, sort_by_length):
        length = chunk if rule == "split" else rule
        return {"padding": padding_chart(sequences, mini_batch_size, length, direction, sort_by_length)}

    return App(controls, draw, before_draw)


def normalization_explorer(X):
    """Pick a normalization, its dimension and a channel: its values before and after.

    Args:
        X: a data set: a list of (T, C) sequences or an (N, T, C) array.

    Returns:
        An app (an ipywidgets box: its `controls` and `figures`), drawn by
        `ll.viz.normalization_histograms`.
    """
    sequences = as_sequences(X, where="normalization_explorer")
    controls = {
        "normalization": widgets.Dropdown(options=[n for n in NORMALIZATIONS if n != "none"], value="zscore", description="normalization",
                                          style={"description_width": "initial"}),
        "dimension": widgets.Dropdown(options=list(DIMENSIONS), description="dimension"),
        "channel": widgets.IntSlider(0, 0, sequences[0].shape[1] - 1, description="channel"),
    }

    def draw(normalization, dimension, channel):
        return {"histograms": normalization_histograms(sequences, normalization, dimension, channels=[channel])}

    return App(controls, draw)
