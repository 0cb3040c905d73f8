"""Apps on a trained network: explore every gate, and watch a BiLSTM's two directions."""

import ipywidgets as widgets
import plotly.graph_objects as go

from ..layers import LSTMLayer, RecurrentLayer
from ..network import Network
from ..trace import trace
from ..viz import bilstm_flow, gate_heatmap, state_lines, step_inspector
from ._app import App


def explore(net, X, **trace_options):
    """Pick a sequence, layer, direction, gate, unit and time step; the heatmap, the state lines
    of that unit and (for LSTM layers) the step inspector update together.

    X is recorded once with `ll.trace`, then every control only redraws. The step inspector
    reads that recording, so its "ll.trace" column is the heatmap's cell under the crosshair,
    padding and all. The step slider, the axes and the titles count steps from 1, as the lessons
    do: step k is index k - 1 of the recording's arrays.

    Args:
        net: an `ll.Network` with recurrent layers.
        X: a data set: a list of (T, C) sequences or an (N, T, C) array.
        **trace_options: passed on to `ll.trace` (e.g. freeze_padding=True, mini_batch_size).

    Returns:
        An app (an ipywidgets box: its `controls` and `figures`), with `app.trace` (the recording).
    """
    if not isinstance(net, Network):
        raise TypeError(f"explore: net must be an ll.Network; got {type(net).__name__}.")
    recorded = trace(net, X, **trace_options)
    sequences = list(X)
    names = list(recorded)
    first = recorded[names[0]]
    controls = {
        "sequence": widgets.IntSlider(0, 0, len(sequences) - 1, description="sequence"),
        "layer": widgets.Dropdown(options=names, description="layer"),
        "direction": widgets.Dropdown(options=list(first.directions), description="direction"),
        "gate": widgets.Dropdown(options=list(first.quantities), value="f" if "f" in first.quantities else first.quantities[0], description="gate"),
        "unit": widgets.IntSlider(0, 0, len(first.units) - 1, description="unit"),
        "step": widgets.IntSlider(1, 1, int(first.lengths[0]), description="step"),  # counts from 1
    }

    def before_draw(changed):
        layer = recorded[controls["layer"].value]
        if changed == "layer":
            controls["direction"].options = list(layer.directions)
            gate = controls["gate"].value
            controls["gate"].options = list(layer.quantities)
            controls["gate"].value = gate if gate in layer.quantities else layer.quantities[0]
            controls["unit"].max = len(layer.units) - 1
        if changed in ("sequence", "layer"):  # steps in the layer's own time (convolution or pooling may shorten it)
            controls["step"].max = int(layer.lengths[controls["sequence"].value])

    def draw(sequence, layer, direction, gate, unit, step):
        unit_id = int(recorded[layer].units[unit])
        heat = gate_heatmap(recorded, layer, gate, sequence, direction)
        heat.add_vline(x=step, line_color="black", line_dash="dot")
        heat.add_hline(y=unit, line_color="black", line_dash="dot")
        figures = {"heatmap": heat, "states": state_lines(recorded, layer, units=[unit_id], sequence=sequence, direction=direction)}
        if isinstance(net[layer], LSTMLayer):
            batching = {k: v for k, v in trace_options.items() if k in ("mini_batch_size", "freeze_padding")}
            figures["inspector"] = step_inspector(net, sequences, layer, sequence, step - 1, unit_id, direction, recording=recorded, **batching)
        else:
            note = f"The step inspector shows LSTM layers; {layer!r} is a {net[layer].kind} layer."
            hint = "Its gates are in the heatmap and the state lines above; lstmlab.reference.gru_step computes one step."
            figures["inspector"] = go.Figure(go.Table(header={"values": [note]}, cells={"values": [[hint]]}), layout={"title": note, "height": 180})
        return figures

    app = App(controls, draw, before_draw)
    app.trace = recorded
    return app


def bilstm_explorer(net, X, **trace_options):
    """A BiLSTM's forward and backward hidden states on one time axis: pick sequence, layer and unit.

    Args:
        net: an `ll.Network` with a BiLSTM layer.
        X: a data set: a list of (T, C) sequences or an (N, T, C) array, recorded once with
            `ll.trace`.
        **trace_options: passed on to `ll.trace`: give freeze_padding=True to see each sequence
            as it is read alone, without its mini-batch's padding.

    Returns:
        An app (an ipywidgets box: its `controls` and `figures`), with `app.trace` (the recording).
    """
    layers = [layer.name for layer in net.layers if isinstance(layer, RecurrentLayer) and layer.num_directions == 2]
    if not layers:
        raise ValueError("bilstm_explorer: the network has no bilstm layer; add ll.bilstm_layer(...).")
    recorded = trace(net, X, **{"layers": layers, **trace_options})
    controls = {
        "sequence": widgets.IntSlider(0, 0, len(list(X)) - 1, description="sequence"),
        "layer": widgets.Dropdown(options=layers, description="layer"),
        "unit": widgets.IntSlider(0, 0, net[layers[0]].num_hidden_units - 1, description="unit"),
    }

    def before_draw(changed):
        if changed == "layer":
            controls["unit"].max = net[controls["layer"].value].num_hidden_units - 1

    app = App(controls, lambda sequence, layer, unit: {"flow": bilstm_flow(recorded, layer, sequence, unit)}, before_draw)
    app.trace = recorded
    return app
