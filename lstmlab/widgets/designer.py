"""`designer`: build a network by clicking, with its analysis, a diagram and its Python code.

The app keeps a list of lstmlab layers. Each edit makes a new layer with the layer's own factory
(so the factory's checks refuse bad values, and their message is shown), and the layers that
still fit keep their weights. After every change the chain is analysed (`ll.analyze_network`),
drawn, and written out as code that builds the same network.
"""

import copy
import html
import inspect
from ast import literal_eval
from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import layers as L
from ..analysis import analyze_network
from ..network import Network, _unique_names
from ..viz._style import FORWARD, finish
from ._app import App

FACTORY = {row.cls: row.factory for row in L.REGISTRY}  # class -> factory name
INFERRED = ("input_size", "num_channels")  # set from the layer before; never written by hand (but for the input layer)
MAIN = {row.factory: row.form for row in L.REGISTRY}  # the options the form shows, besides the name
EXAMPLES = {row.factory: row.example for row in L.REGISTRY}  # values for the options a factory requires, when the palette adds a layer


def defaults(factory):
    """{option: MATLAB's default} of a layer factory; required options map to inspect.Parameter.empty.

    A layer class that passes **options on to its base class (`lstm_projected_layer`) takes the base
    class's options too."""
    found = {}
    for made in inspect.getmro(getattr(L, factory)):
        parameters = inspect.signature(made).parameters
        found.update({name: p.default for name, p in parameters.items() if p.kind != p.VAR_KEYWORD and name not in found})
        if all(p.kind != p.VAR_KEYWORD for p in parameters.values()):
            return found


def _is_default(value, default):
    """Whether a config value says the default: equal, or a list of it per axis, gate or side (stride [1], padding [[0, 0]])."""
    if isinstance(value, (list, tuple)):
        return all(_is_default(v, default) for v in value)
    return not isinstance(default, type) and value == default


def options(layer):
    """The options that remake `layer` (without its weights): those of its config that differ from the default."""
    factory = FACTORY[type(layer)]
    known = defaults(factory)
    kept = {}
    for name, value in layer.config().items():
        if name == "name" or name not in known or (name in INFERRED and factory != "sequence_input_layer"):
            continue
        if known[name] is inspect.Parameter.empty or not _is_default(value, known[name]):
            kept[name] = value
    return kept


def remake(layer, **changes):
    """A new layer of the same kind and name with `changes` applied; raises what the factory raises."""
    factory = FACTORY[type(layer)]
    return getattr(L, factory)(**{**options(layer), **changes, "name": layer.name})


def code(layers):
    """Python code that builds the chain: `net = ll.Network([...])` with each layer's options."""
    auto = _unique_names([SimpleNamespace(name="", kind=layer.kind) for layer in layers])
    lines = []
    for layer, auto_name in zip(layers, auto):
        factory, given = FACTORY[type(layer)], options(layer)
        required = [name for name, default in defaults(factory).items() if default is inspect.Parameter.empty]
        args = [repr(given.pop(name)) for name in required]
        args += [f"{name}={value!r}" for name, value in given.items()]
        if layer.name and layer.name != auto_name:
            args.append(f"name={layer.name!r}")
        lines.append(f"    ll.{factory}({', '.join(args)}),")
    return "import lstmlab as ll\n\nnet = ll.Network([\n" + "\n".join(lines) + "\n])\n"


def weight_statistics(layers):
    """A DataFrame: every learnable parameter's shape, mean, standard deviation, min and max."""
    rows = [
        {"layer": layer.name, "parameter": name, "shape": "x".join(map(str, p.shape)), "mean": p.mean().item(),
         "std": p.std().item() if p.numel() > 1 else 0.0, "min": p.min().item(), "max": p.max().item()}
        for layer in layers
        for name, p in layer.named_parameters(recurse=False)
        if p is not None
    ]
    return pd.DataFrame(rows, columns=["layer", "parameter", "shape", "mean", "std", "min", "max"])


def chain_figure(analysis, selected):
    """The layer chain, top to bottom: one box per layer with its activation size; red where an issue is."""
    table = analysis.table
    wrong = {layer for severity, layer, _ in analysis.issues if severity == "error"}
    y = -np.arange(len(table))
    colours = ["#c62828" if name in wrong else "#ffb300" if k == selected else FORWARD for k, name in enumerate(table["name"])]
    fig = go.Figure(go.Scatter(
        x=np.zeros(len(table)), y=y, mode="lines+markers+text", marker={"symbol": "square", "size": 22, "color": colours},
        line={"color": "#999"}, text=[f"  {n} ({k}): {a}" for n, k, a in zip(table["name"], table["kind"], table["activation size"])],
        textposition="middle right", hovertext=table["description"], hoverinfo="text",
    ))
    fig.update_xaxes(visible=False, range=[-0.05, 1])
    fig.update_yaxes(visible=False, range=[y.min() - 0.7 if len(y) else -1, 0.7])
    return finish(fig, f"{len(table)} layers, {analysis.total:,} learnables", height=120 + 50 * len(table), width=640, showlegend=False,
                  margin={"l": 20, "r": 20})


class Designer(widgets.VBox):
    """The designer app (see `designer`).

    Attributes:
        controls: {name: widget}: "layer" (the selected layer), "palette", "add", "remove", "up",
            "down", and a text box per option of the selected layer (set `.value` to edit it).
        network: the current `ll.Network`, or None while the layers do not make one.
        analysis: the current `ll.analyze_network` result.
        refused: the error text of the last edit that was refused ("" after an edit was taken).
        code: Python code that builds the network (without its weights).
        figure: the diagram of the layer chain.
    """

    def __init__(self, layers, data):
        self.layers, self.selected, self._relabelling = list(layers), 0, False
        self.data = data  # the keywords of analyze_network: X, Y, loss and batching options
        self.analysis, self.network, self.refused = None, None, ""
        self.message = widgets.HTML()
        self.report = widgets.HTML()
        self.code_box = widgets.Textarea(layout=widgets.Layout(width="620px", height="200px"))
        self.form = widgets.VBox()
        select = widgets.Dropdown(description="layer")
        self._analyse()
        self._set_layer_options(select)
        self.app = App({"layer": select}, lambda layer: {"chain": chain_figure(self.analysis, layer)})
        self.controls = {
            "layer": select,
            "palette": widgets.Dropdown(options=[row.factory for row in L.REGISTRY], value="lstm_layer", description="palette"),
            "add": widgets.Button(description="add after", icon="plus"),
            "remove": widgets.Button(description="remove", icon="trash"),
            "up": widgets.Button(description="up", icon="arrow-up"),
            "down": widgets.Button(description="down", icon="arrow-down"),
        }
        self.controls["add"].on_click(lambda _: self._edit(self._add))
        self.controls["remove"].on_click(lambda _: self._edit(self._remove))
        self.controls["up"].on_click(lambda _: self._edit(self._move, -1))
        self.controls["down"].on_click(lambda _: self._edit(self._move, +1))
        select.observe(lambda change: self._select(change["new"]), names="value")
        self._show()
        buttons = widgets.HBox([self.controls[name] for name in ("palette", "add", "remove", "up", "down")])
        super().__init__([
            buttons,
            widgets.HBox([self.app, widgets.VBox([self.form, self.message])]),
            self.report,
            widgets.HTML("<b>Code</b> (copy it: running it builds this network, without the weights)"),
            self.code_box,
        ])

    def __repr__(self):
        return f"lstmlab designer (run this cell in JupyterLab to use it): {len(self.layers)} layers\n{self.code}"

    @property
    def code(self):
        return code(self.layers)

    @property
    def figure(self):
        return self.app.figure

    # --- edits ---------------------------------------------------------------------------------------

    def _edit(self, action, *args):
        """Apply an edit; a refused one leaves the network as it was and shows why."""
        try:
            action(*args)
        except (ValueError, TypeError) as error:
            self.refused = str(error)
            self.message.value = f"<span style='color:#c62828'>refused: {html.escape(self.refused)}</span>"
            self._show_form()
            return
        self.refused = self.message.value = ""
        self._analyse()
        self._show()

    def _add(self):
        factory = self.controls["palette"].value
        taken = {layer.name for layer in self.layers}
        kind = getattr(L, factory).kind
        name = next(n for n in (kind, *(f"{kind}_{k}" for k in range(1, len(taken) + 2))) if n not in taken)
        self.layers.insert(self.selected + 1 if self.layers else 0, getattr(L, factory)(**EXAMPLES[factory], name=name))
        self.selected = min(self.selected + 1, len(self.layers) - 1) if len(self.layers) > 1 else 0

    def _remove(self):
        if self.layers:
            del self.layers[self.selected]
            self.selected = max(min(self.selected, len(self.layers) - 1), 0)

    def _move(self, step):
        k = self.selected
        if 0 <= k + step < len(self.layers):
            self.layers[k], self.layers[k + step] = self.layers[k + step], self.layers[k]
            self.selected = k + step

    def _set(self, option, text):
        value = text if option == "name" else _parse(text)
        self.layers[self.selected] = remake(self.layers[self.selected], **{option: value})

    # --- the chain, its analysis and the views ------------------------------------------------------

    def _analyse(self):
        """Rebuild: a layer whose input changed size is made again (new weights); the others keep theirs."""
        size = "auto"
        for k, layer in enumerate(self.layers):
            if size == "auto" and not isinstance(layer, L.SequenceInputLayer):
                continue
            try:
                size = layer.build(size)
            except (ValueError, TypeError):
                try:
                    self.layers[k] = fresh = remake(layer)
                    size = fresh.build(size)
                except (ValueError, TypeError):
                    break  # the analysis reports it
        self.analysis = analyze_network(self.layers, **self.data) if self.layers else None
        self.network = self.analysis.network if self.analysis else None

    def _show(self):
        self._set_layer_options(self.controls["layer"])  # redraws through the app's control
        self.app._redraw()
        self._show_form()
        report = self.analysis._repr_html_() if self.analysis else "<i>No layers: add one from the palette.</i>"
        statistics = weight_statistics(self.layers)
        if len(statistics):
            report += "<b>Weights</b>" + statistics.to_html(index=False, float_format="{:.4g}".format)
        self.report.value = report
        self.code_box.value = self.code

    def _set_layer_options(self, select):
        names = self.analysis.table["name"] if self.analysis else []
        selected, self._relabelling = self.selected, True  # new options move the value: not a reader's choice
        try:
            select.options = [(f"{k}: {name}", k) for k, name in enumerate(names)]
            select.value = selected if self.layers else None
        finally:
            self._relabelling = False

    def _select(self, k):
        if not self._relabelling and k is not None and k != self.selected:
            self.selected = k
            self._show_form()

    def _show_form(self):
        """A text box per main option of the selected layer, MATLAB's default beside it."""
        for name in [n for n in self.controls if n.startswith("option:")]:
            del self.controls[name]
        if not self.layers:
            self.form.children = []
            return
        layer = self.layers[self.selected]
        factory = FACTORY[type(layer)]
        known, config = defaults(factory), layer.config()
        rows = [widgets.HTML(f"<b>{factory}</b>")]
        for option in (*MAIN[factory], "name"):
            box = widgets.Text(value=_as_text(config[option]), description=option, continuous_update=False,
                               style={"description_width": "170px"}, layout=widgets.Layout(width="360px"))
            box.observe(lambda change, option=option: self._edit(self._set, option, change["new"]), names="value")
            default = known[option]
            label = "required" if default is inspect.Parameter.empty else f"default: {_as_text(default) or '(auto)'}"
            rows.append(widgets.HBox([box, widgets.HTML(f"<span style='color:#666'>{label}</span>")]))
            self.controls[f"option:{option}"] = box
        self.form.children = rows


def _as_text(value):
    """A value as the form writes it: strings bare, the rest as Python literals."""
    return value if isinstance(value, str) else repr(value)


def _parse(text):
    """What a form box says: a Python literal (100, 0.5, (1, 2), [3]), else the text itself ("last")."""
    try:
        return literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()


def designer(net=None, X=None, Y=None, *, loss=None, **options):
    """Build, analyse and edit a network by clicking; copy its code.

    A palette of every lstmlab layer (add after the selected one), remove, move up or down; a form
    for the selected layer's main options with MATLAB's defaults beside them: a value the layer's
    factory refuses is not taken, and its error text is shown. Beside it, the diagram of the chain,
    the analysis of `ll.analyze_network` (activation sizes, learnables, issues) and the weights'
    statistics, live; below, the Python code that builds the network.

    Args:
        net: an `ll.Network` (trained or not) or a list of layers to start from; None starts from
            MATLAB's Japanese Vowels network (sequence input 12, LSTM 100 last, fc 9, softmax).
            The designer works on a copy: editing a layer keeps the other layers' weights, and a
            layer whose input changes size gets new ones.
        X, Y, loss, **options: what `ll.analyze_network` takes: with targets Y it tells whether the
            network must end in labels or sequences, with loss whether it needs a softmax, with
            data X the padding and memory of each mini-batch under the batching options.

    Returns:
        A `Designer`: `.controls`, `.network` (the current network), `.code`, `.analysis`.
    """
    if net is None:
        layers = [L.sequence_input_layer(12), L.lstm_layer(100, output_mode="last"), L.fully_connected_layer(9), L.softmax_layer()]
    elif isinstance(net, Network):
        layers = copy.deepcopy(net.layers)
    elif isinstance(net, (list, tuple)) and all(isinstance(layer, L.Layer) for layer in net):
        layers = copy.deepcopy(list(net))
    else:
        raise TypeError(
            f"designer: net must be an ll.Network, a list of lstmlab layers or None; got {type(net).__name__}. "
            f"Start from ll.widgets.designer() and add layers from the palette."
        )
    return Designer(layers, {"X": X, "Y": Y, "loss": loss, **options})
