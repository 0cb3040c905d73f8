"""What every lstmlab figure shares: colours, names and layout."""

GATE_SCALE = "Blues"  # 0..1: gates and probabilities, white (closed) to dark blue (open)
STATE_SCALE = "RdBu_r"  # signed values: cell and hidden states, candidates (blue < 0 < red)
SIGNED = ("g", "c", "h", "n")
FORWARD, BACKWARD = "#1f77b4", "#ff7f0e"
NAMES = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "cell candidate g",
    "o": "output gate o",
    "c": "cell state c",
    "h": "hidden state h",
    "r": "reset gate r",
    "z": "update gate z",
    "n": "candidate n",
}


def colour_scale(quantity):
    """Heatmap colours of a quantity: fixed 0..1 for gates, centred on 0 for signed values."""
    if quantity in SIGNED:
        return {"colorscale": STATE_SCALE, "zmid": 0.0}
    return {"colorscale": GATE_SCALE, "zmin": 0.0, "zmax": 1.0}


def finish(fig, title, x=None, y=None, **layout):
    """Title, axis titles and the common look (large fonts, readable on a projector)."""
    fig.update_layout(title=title, template="plotly_white", font={"size": 14}, **layout)
    if x is not None:
        fig.update_xaxes(title_text=x)
    if y is not None:
        fig.update_yaxes(title_text=y)
    return fig

