"""`cell_playground`: one LSTM unit whose weights and input you set, and its gates responding."""

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import reference
from ..viz._style import FORWARD, finish
from ._app import App

T = 40
INPUTS = {
    "step": lambda t: (t >= 10).astype(float),
    "pulse": lambda t: ((t >= 10) & (t < 15)).astype(float),
    "sine": lambda t: np.sin(2 * np.pi * t / 20),
    "ramp": lambda t: t / (T - 1),
    "noise": lambda t: np.random.default_rng(0).normal(size=len(t)),
}
GATE_COLOURS = {"i": "#2ca02c", "f": "#1f77b4", "g": "#9467bd", "o": "#ff7f0e"}


def cell_input(shape, amplitude):
    """(T, 1): the input signal the cell reads."""
    return amplitude * INPUTS[shape](np.arange(T, dtype=float))[:, None]


def cell_playground():
    """A one-unit LSTM reading one input channel: W, R and b of each gate are sliders.

    Everything is computed by `lstmlab.reference.lstm_sequence`, the readable equations.
    Try: a forget-gate bias of +3 keeps the memory; -3 forgets at once.

    Returns:
        An app (an ipywidgets box: its `controls` and `figures`).
    """
    slider = lambda name, value: widgets.FloatSlider(value, min=-4, max=4, step=0.1, description=name,  # noqa: E731
                                                     layout=widgets.Layout(width="220px"), style={"description_width": "32px"})
    controls = {"input": widgets.Dropdown(options=list(INPUTS), value="pulse", description="input"),
                "amplitude": widgets.FloatSlider(1.0, min=-3, max=3, step=0.1, description="amplitude")}
    for gate, (w, r, b) in zip("ifgo", ((2.0, 0.0, 0.0), (0.0, 0.0, 1.0), (2.0, 0.0, 0.0), (0.0, 0.0, 1.0))):
        controls[f"W_{gate}"], controls[f"R_{gate}"], controls[f"b_{gate}"] = slider(f"W_{gate}", w), slider(f"R_{gate}", r), slider(f"b_{gate}", b)
    controls["gate_activation"] = widgets.Dropdown(options=list(reference.GATE_ACTIVATIONS), description="gates")
    controls["state_activation"] = widgets.Dropdown(options=list(reference.STATE_ACTIVATIONS), description="states")

    def draw(input, amplitude, gate_activation, state_activation, **weights):
        x = cell_input(input, amplitude)
        W = np.array([[weights[f"W_{g}"]] for g in "ifgo"])  # (4, 1)
        R = np.array([[weights[f"R_{g}"]] for g in "ifgo"])  # (4, 1)
        b = np.array([weights[f"b_{g}"] for g in "ifgo"])  # (4,)
        s = reference.lstm_sequence(x, W, R, b, gate=gate_activation, state=state_activation)
        return {"cell": cell_figure(x, s)}

    return App(controls, draw)


def cell_figure(x, s):
    """Input, the four gates, and c and h of a one-unit LSTM over time.

    The axis counts steps from 1, as the lessons do: row t of x is step t + 1.
    """
    t = np.arange(1, len(x) + 1)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=["input x", "gates (0 closed, 1 open) and candidate g", "cell state c and hidden state h"])
    fig.add_trace(go.Scatter(x=t, y=x[:, 0], name="x", line={"color": "black"}, hovertemplate="step %{x}<br>x = %{y:.3f}<extra></extra>"), row=1, col=1)
    for gate, colour in GATE_COLOURS.items():
        fig.add_trace(go.Scatter(x=t, y=getattr(s, gate)[:, 0], name=gate, line={"color": colour, "dash": "dot" if gate == "g" else None},
                                 hovertemplate=f"step %{{x}}<br>{gate} = %{{y:.3f}}<extra></extra>"), row=2, col=1)
    fig.add_trace(go.Scatter(x=t, y=s.c[:, 0], name="c", line={"color": "#d62728", "width": 3}, hovertemplate="step %{x}<br>c = %{y:.3f}<extra></extra>"), row=3, col=1)
    fig.add_trace(go.Scatter(x=t, y=s.h[:, 0], name="h", line={"color": FORWARD, "width": 3}, hovertemplate="step %{x}<br>h = %{y:.3f}<extra></extra>"), row=3, col=1)
    fig.update_xaxes(title_text="time step", row=3, col=1)
    fig.update_layout(height=620)
    return finish(fig, "One LSTM unit: move a slider and watch the gates")
