"""An app that asks why the network decided: pick a sequence, a method and a target; the
attribution heatmap beside the input and the attribution per step redraw."""

import ipywidgets as widgets

from ..attribution import METHODS, attribute
from ..data import as_sequences
from ..layers import RecurrentLayer
from ..network import Network
from ..viz import attribution_bars, attribution_heatmap
from ._app import App

PREDICTED = "predicted class"


def attribution_explorer(net, X, *, steps=32, **options):
    """Pick a sequence, a method and a target class: `ll.attribute` explains that sequence alone
    (no padding) and the heatmap (input above attribution) and the per-step bars redraw.

    Args:
        net: an `ll.Network`.
        X: the sequences to choose from (any of X's structures).
        steps: integrated gradients' number of points along the path. Default 32.
        options: more arguments of `ll.attribute` (output, baseline, the prediction options).

    Returns:
        An app (an ipywidgets box: its `controls` and `figures`).
    """
    if not isinstance(net, Network):
        raise TypeError(f"attribution_explorer: net must be an ll.Network; got {type(net).__name__}.")
    sequences = as_sequences(X, where="attribution_explorer")
    recurrent = [layer for layer in net.layers if isinstance(layer, RecurrentLayer)]
    offered = {
        "grad-cam": any(layer.output_mode == "sequence" for layer in recurrent),
        "contextual-decomposition": bool(recurrent) and all(type(layer).__name__ in ("LSTMLayer", "BiLSTMLayer") for layer in recurrent),
    }
    methods = [m for m in METHODS if offered.get(m, True)]
    classes = list(map(str, net.class_names)) if net.class_names is not None else list(range(net.output_size))
    controls = {
        "sequence": widgets.IntSlider(0, 0, len(sequences) - 1, description="sequence"),
        "method": widgets.Dropdown(options=methods, value="integrated-gradients", description="method"),
        "target": widgets.Dropdown(options=[PREDICTED, *classes], description="target"),
    }

    def draw(sequence, method, target):
        x = sequences[sequence]
        att = attribute(net, x[None], method=method, target=None if target == PREDICTED else target, steps=steps, **options)
        return {"heatmap": attribution_heatmap(att, x[None]), "steps": attribution_bars(att)}

    return App(controls, draw)
