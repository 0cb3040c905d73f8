"""An app that changes what a trained network computes: clamp a gate and watch what follows."""

import ipywidgets as widgets

from ..data import as_sequences
from ..interventions import Intervention
from ..layers import RecurrentLayer
from ..network import Network
from ..prediction import predict
from ..trace import trace
from ..viz import compare_runs, gate_heatmap, prediction_change
from ._app import App

GATES = ("i", "f", "o", "r", "z")  # between 0 and 1; the other quantities are signed


def intervention_explorer(net, X):
    """Pick a sequence, layer, direction, gate (or state) and unit, drag "clamp to" and the steps it
    holds for: the prediction, the gate's heatmap and the unit's gates and states, clean beside
    clamped, update in place.

    Each redraw runs the chosen sequence twice: clean, and with
    `ll.Intervention(layer, gate, units=unit, steps=slice(first - 1, last), direction=direction, set=clamp)`:
    the steps slider, like the axes, counts steps from 1 as the lessons do (first..last), while
    `steps=` takes array indices (step k is index k - 1).

    Args:
        net: an `ll.Network` with recurrent layers.
        X: a data set: a list of (T, C) sequences or an (N, T, C) array.

    Returns:
        An app (an ipywidgets box: its `controls` and `figures`).
    """
    if not isinstance(net, Network):
        raise TypeError(f"intervention_explorer: net must be an ll.Network; got {type(net).__name__}.")
    sequences = as_sequences(X, where="intervention_explorer")
    recurrent = {layer.name: layer for layer in net.layers if isinstance(layer, RecurrentLayer)}
    if not recurrent:
        raise ValueError("intervention_explorer: the network has no LSTM, BiLSTM or GRU layer to clamp.")

    def steps_of(sequence, layer):
        return int(net.recurrent_lengths([len(sequences[sequence])])[layer][0])

    first = next(iter(recurrent.values()))
    T = steps_of(0, first.name)
    controls = {
        "sequence": widgets.IntSlider(0, 0, len(sequences) - 1, description="sequence"),
        "layer": widgets.Dropdown(options=list(recurrent), description="layer"),
        "direction": widgets.Dropdown(options=["forward", "backward"][: first.num_directions], description="direction"),
        "gate": widgets.Dropdown(options=list(first.quantities), value="f" if "f" in first.quantities else first.quantities[0], description="gate"),
        "unit": widgets.IntSlider(0, 0, first.num_hidden_units - 1, description="unit"),
        "clamp": widgets.FloatSlider(1.0, min=0.0, max=1.0, step=0.05, description="clamp to"),
        "steps": widgets.IntRangeSlider(value=(1, T), min=1, max=T, description="steps"),  # count from 1
    }

    def before_draw(changed):
        layer = recurrent[controls["layer"].value]
        if changed == "layer":
            controls["direction"].options = ["forward", "backward"][: layer.num_directions]
            gate = controls["gate"].value
            controls["gate"].options = list(layer.quantities)
            controls["gate"].value = gate if gate in layer.quantities else layer.quantities[0]
            controls["unit"].max = layer.num_hidden_units - 1
        if changed in ("layer", "gate"):  # gates lie in 0..1; states and candidates are signed
            low = 0.0 if controls["gate"].value in GATES else -1.0
            controls["clamp"].min, controls["clamp"].value = low, min(max(controls["clamp"].value, low), 1.0)
        if changed in ("sequence", "layer"):
            last = steps_of(controls["sequence"].value, layer.name)
            controls["steps"].max = last
            controls["steps"].value = (min(controls["steps"].value[0], last), last)

    def draw(sequence, layer, direction, gate, unit, clamp, steps):
        x = sequences[sequence]
        clamp_it = [Intervention(layer, gate, units=unit, steps=slice(steps[0] - 1, steps[1]), direction=direction, set=clamp)]
        clean, clamped = trace(net, x, layers=[layer]), trace(net, x, layers=[layer], interventions=clamp_it)
        heat = gate_heatmap(clamped, layer, gate, 0, direction, title=f"{gate} of layer {layer!r} with unit {unit} clamped to {clamp:g}")
        heat.add_hline(y=unit, line_color="black", line_dash="dot")
        label = f"{gate} = {clamp:g} (steps {steps[0]}..{steps[1]})"
        return {
            "prediction": prediction_change(predict(net, x), predict(net, x, interventions=clamp_it), net.class_names, ("clean", label)),
            "heatmap": heat,
            "states": compare_runs({"clean": clean, label: clamped}, layer, unit, 0, direction=direction),
        }

    return App(controls, draw, before_draw)
