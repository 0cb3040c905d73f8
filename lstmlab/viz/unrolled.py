"""A recurrent network unrolled over time: the forward pass, and the gradient flowing back (BPTT)."""

import numpy as np
import plotly.graph_objects as go

from .._checks import check_positive_int
from ._style import finish

FORWARD_ARROW, GRADIENT, CARRIED = "#7f7f7f", "#d62728", "#1f77b4"
ROW = {"x": 0.0, "h": 1.0, "loss": 2.0}  # the height of each kind of node
LANE = 0.16  # the gradient runs this far above the forward arrows between hidden states


def _arrow(fig, start, end, colour, width=1.5, label=None, shift=(0, -12), hover=None):
    """An arrow from point `start` to point `end` (data coordinates) that stops short of the nodes,
    with an optional label at its middle, shifted by `shift` pixels."""
    fig.add_annotation(x=end[0], y=end[1], ax=start[0], ay=start[1], xref="x", yref="y", axref="x", ayref="y",
                       showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=width, arrowcolor=colour,
                       standoff=20, startstandoff=20, text="", hovertext=hover)
    if label:
        fig.add_annotation(x=(start[0] + end[0]) / 2, y=(start[1] + end[1]) / 2, text=label, showarrow=False,
                           font={"color": colour, "size": 13}, xshift=shift[0], yshift=shift[1])


def _widths(gradient):
    """Arrow widths from 1 to 7 for gradient norms, on a log scale (one decade or more apart)."""
    logs = np.log10(np.maximum(gradient, 1e-300))
    low, high = logs.min(), logs.max()
    if high - low < 1e-12:
        return np.full(len(gradient), 3.0)
    return 1 + 6 * (logs - low) / (high - low)


def unrolled_graph(steps=4, gradient=None, chunk=None, title=None):
    """A plain recurrent network h_t = tanh(W x_t + R h_{t-1} + b) unrolled over `steps` steps.

    Grey arrows are the forward pass: x_t and h_{t-1} make h_t, and the last h of the sequence
    (of each chunk, with `chunk`) makes the loss L, as for a network with output_mode="last".
    Red arrows are back-propagation through time: the gradient enters at h_T and crosses every
    step backwards, multiplied at each by the Jacobian dh_t/dh_{t-1} = diag(1 - h_t^2) R.

    Args:
        steps: T, the number of time steps drawn (4).
        gradient: None, or T non-negative numbers: |dL/dh_t| for t = 1..T (e.g. from autograd).
            They are written under the hidden states, and set the width of the red arrows
            (on a log scale), so that a vanishing or exploding gradient shows.
        chunk: None, or L: training with `sequence_length=L` (truncated BPTT). The steps are cut
            into chunks of L, each with its own loss; the state is carried over a cut (blue
            arrow) but detached, so no gradient crosses it.
        title: the figure's title (default: says what is drawn).

    Returns:
        A plotly Figure.
    """
    T = check_positive_int(steps, "steps", "unrolled_graph")
    if chunk is not None:
        chunk = check_positive_int(chunk, "chunk", "unrolled_graph")
    if gradient is not None:
        gradient = np.asarray(gradient, dtype=float)
        if gradient.shape != (T,):
            raise ValueError(f"unrolled_graph: gradient must hold one norm per step, {T} numbers for steps={T}; got shape {gradient.shape}.")
        if not np.all(np.isfinite(gradient)) or np.any(gradient < 0):
            raise ValueError("unrolled_graph: gradient must hold non-negative finite numbers |dL/dh_t|; got " + np.array2string(gradient, precision=3) + ".")
    L = chunk or T
    ends = list(range(L, T, L)) + [T]  # the last step of each chunk: where a loss is computed
    cuts = set(ends[:-1])  # no gradient flows back from step k + 1 into step k

    fig = go.Figure()
    t = np.arange(1, T + 1)
    fig.add_trace(go.Scatter(x=t, y=np.full(T, ROW["x"]), mode="markers+text", name="inputs x_t", text=[f"x<sub>{k}</sub>" for k in t],
                             marker={"size": 36, "color": "#f2f2f2", "line": {"color": FORWARD_ARROW, "width": 1.5}},
                             hovertemplate="input x<sub>%{x}</sub><extra></extra>"))
    hover = [f"h<sub>{k}</sub> = tanh(W x<sub>{k}</sub> + R h<sub>{k - 1}</sub> + b)" for k in t]
    if gradient is not None:
        hover = [f"{text}<br>|dL/dh<sub>{k}</sub>| = {value:.4g}" for text, k, value in zip(hover, t, gradient)]
    fig.add_trace(go.Scatter(x=np.arange(T + 1), y=np.full(T + 1, ROW["h"]), mode="markers+text", name="hidden states h_t",
                             text=[f"h<sub>{k}</sub>" for k in range(T + 1)], hovertext=["h<sub>0</sub>: the start state"] + hover,
                             hoverinfo="text", marker={"size": 36, "color": "#dbe9f6", "line": {"color": CARRIED, "width": 1.5}}))
    fig.add_trace(go.Scatter(x=ends, y=np.full(len(ends), ROW["loss"]), mode="markers+text", name="loss",
                             text=["L" if len(ends) == 1 else f"L<sub>{n}</sub>" for n in range(1, len(ends) + 1)],
                             marker={"size": 36, "color": "#fde0dd", "line": {"color": GRADIENT, "width": 1.5}},
                             hovertemplate="the loss, from h<sub>%{x}</sub><extra></extra>"))

    for k in t:
        _arrow(fig, (k, ROW["x"]), (k, ROW["h"]), FORWARD_ARROW, label="W" if k == 1 else None, shift=(12, 0))
        carried = k - 1 in cuts
        _arrow(fig, (k - 1, ROW["h"]), (k, ROW["h"]), CARRIED if carried else FORWARD_ARROW, width=2.5 if carried else 1.5,
               label="R" if k == 1 else ("carried, detached" if carried else None))
    widths = np.full(T, 2.5) if gradient is None else _widths(gradient)
    for end in ends:
        _arrow(fig, (end - 0.12, ROW["h"]), (end - 0.12, ROW["loss"]), FORWARD_ARROW)
        _arrow(fig, (end + 0.12, ROW["loss"]), (end + 0.12, ROW["h"]), GRADIENT, width=widths[end - 1], label="dL/dh" if end == T else None, shift=(34, 0))
    for k in t:  # the gradient from h_k back into h_(k-1), unless a chunk starts at k
        if k - 1 in cuts:
            for y0, y1 in ((-0.4, 0.75), (1.3, 2.4)):  # a dashed cut, open where the state crosses it
                fig.add_shape(type="line", x0=k - 0.5, x1=k - 0.5, y0=y0, y1=y1, line={"color": CARRIED, "dash": "dash", "width": 1.5})
            fig.add_annotation(x=k - 0.5, y=ROW["h"] + LANE, text="✂", showarrow=False, font={"size": 20, "color": GRADIENT},
                               hovertext="truncated BPTT: the carried state is detached, so no gradient crosses here")
        elif k > 1:  # (h_0, the start state, is not learned: the gradient is drawn down to h_1)
            _arrow(fig, (k, ROW["h"] + LANE), (k - 1, ROW["h"] + LANE), GRADIENT, width=widths[k - 2],
                   label="× diag(1 − h²) R" if k == T and T > 1 else None, shift=(0, 14), hover=f"dh<sub>{k}</sub>/dh<sub>{k - 1}</sub> = diag(1 − h<sub>{k}</sub>²) R")
    if gradient is not None:
        for k, value in zip(t, gradient):
            fig.add_annotation(x=k - 0.3, y=ROW["h"] - 0.3, text=f"{value:.1e}", showarrow=False, font={"size": 11, "color": GRADIENT})

    fig.update_xaxes(visible=False, range=[-0.6, T + 0.6])
    fig.update_yaxes(visible=False, range=[-0.5, 2.5])
    fig.update_layout(showlegend=False, height=360, width=max(500, 110 * (T + 1)), margin={"l": 20, "r": 20, "t": 70, "b": 20})
    default = f"A recurrent network unrolled over {T} steps<br><sup>the same W, R, b at every step; red: the gradient flowing back</sup>"
    if chunk is not None:
        default = f"Truncated BPTT, chunks of {L} steps<br><sup>the state crosses a cut, the gradient does not</sup>"
    return finish(fig, title or default)
