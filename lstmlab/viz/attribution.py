"""Figures of attributions (`ll.attribute`) and of the checks that tell whether to trust them.

Steps count from 1 on every axis and in every hover text: index t of an array is step t + 1.
Attributions are signed: blue where a step or channel speaks against the explained score, red
where it speaks for it, white at 0, the scale symmetric around 0.
"""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..attribution import Attribution
from ..attribution_checks import RandomizationCheck
from ..data import as_sequences
from ._style import FORWARD, STATE_SCALE, finish
from .text import colored_text

AGAINST, FOR = "#2166ac", "#b2182b"


def attribution_heatmap(attribution, X, sequence=0, *, channel_names=None, title=None):
    """One sequence's input (channel by step) above its attribution (channel by step), steps aligned.

    Args:
        attribution: an `Attribution` (`ll.attribute`).
        X: the data it explains (its structure, any).
        sequence: which sequence, an index into X.
        channel_names: a name per channel for the y axes. Default: channel 1, 2, ...
        title: the figure's title. Default: the method, the target and the sequence.

    Returns:
        A plotly Figure with two heatmaps: the input's values, the attribution (RdBu, centred on 0).
    """
    values = _values(attribution, sequence, "attribution_heatmap")
    x = as_sequences(X, where="attribution_heatmap")[sequence]  # (T, C)
    if len(x) != len(values):
        raise ValueError(f"attribution_heatmap: X[{sequence}] has {len(x)} steps, the attribution {len(values)}; give the X it explains.")
    steps = np.arange(1, len(x) + 1)
    names = channel_names or [f"channel {c + 1}" for c in range(x.shape[1])]
    if len(names) != x.shape[1]:
        raise ValueError(f"attribution_heatmap: channel_names has {len(names)} names; X has {x.shape[1]} channels.")
    rows = names if values.shape[1] == len(names) else ["all channels"]  # grad-cam: one value per step
    unit = _unit(attribution)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=["input x", f"attribution ({unit})"])
    fig.add_trace(
        go.Heatmap(z=x.T, x=steps, y=names, colorscale="Viridis", colorbar={"title": "input", "y": 0.78, "len": 0.42},
                   hovertemplate="step %{x}<br>%{y}<br>input %{z:.4f}<extra></extra>"),
        row=1, col=1,
    )
    limit = float(np.abs(values).max()) or 1.0
    fig.add_trace(
        go.Heatmap(z=values.T, x=steps, y=rows, colorscale=STATE_SCALE, zmin=-limit, zmax=limit,
                   colorbar={"title": "attribution", "y": 0.22, "len": 0.42},
                   hovertemplate=f"step %{{x}}<br>%{{y}}<br>attribution %{{z:+.4g}} {unit}<extra></extra>"),
        row=2, col=1,
    )
    fig.update_yaxes(title_text="channel", row=1, col=1)
    fig.update_yaxes(title_text="channel", row=2, col=1)
    fig.update_layout(height=max(420, 40 * len(names) + 300))
    return finish(fig, title or _title(attribution, sequence), None, None, xaxis2_title="time step")


def attribution_bars(attribution, sequence=0, *, title=None):
    """One sequence's attribution per step (summed over channels): a bar per step, red for, blue against.

    Args:
        attribution: an `Attribution` (`ll.attribute`).
        sequence: which sequence, an index into the X it explains.
        title: the figure's title. Default: the method, the target and the sequence.

    Returns:
        A plotly Figure, steps counted from 1 on the x axis.
    """
    values = _values(attribution, sequence, "attribution_bars").sum(1)  # (T,)
    unit = _unit(attribution)
    fig = go.Figure(
        go.Bar(x=np.arange(1, len(values) + 1), y=values, marker_color=[FOR if v >= 0 else AGAINST for v in values],
               hovertemplate=f"step %{{x}}<br>attribution %{{y:+.4g}} {unit}<extra></extra>")
    )
    return finish(fig, title or _title(attribution, sequence), "time step", f"attribution ({unit})")


def attribution_text(attribution, text, sequence=0, *, title=None):
    """Text coloured by each step's attribution (`viz.colored_text`).

    Args:
        attribution: an `Attribution` (`ll.attribute`).
        text: a string with one character per step (a character model), or a list of tokens, one
            per step (a word model): each token's characters take its value, the space after it 0.
        sequence: which sequence, an index into the X it explains.
        title: the figure's title. Default: the method, the target and the sequence.

    Returns:
        A plotly Figure (`viz.colored_text`): the text as a heatmap, each character on its value's colour.
    """
    values = _values(attribution, sequence, "attribution_text").sum(1)  # (T,)
    if isinstance(text, str):
        chars, per_char = text, values
    else:
        tokens = [str(t) for t in text]
        if len(tokens) != len(values):
            raise ValueError(f"attribution_text: text has {len(tokens)} tokens but sequence {sequence} has {len(values)} steps; give one token per step.")
        chars = " ".join(tokens)
        per_char = np.concatenate([np.append(np.full(len(t), v), 0.0) for t, v in zip(tokens, values)])[: len(chars)]
    return colored_text(chars, per_char, title=title or _title(attribution, sequence), name=f"attribution ({_unit(attribution)})")


def deletion_chart(curve, *, title=None):
    """The deletion curve (`ll.deletion_curve`): the explained score against the fraction of steps
    replaced, the attribution's top steps first and random steps; the sooner it falls, the better
    the attribution found what matters.

    Args:
        curve: the DataFrame `ll.deletion_curve` returns (columns order, fraction, score).
        title: the figure's title.

    Returns:
        A plotly Figure: one line for the top steps first, a dashed one for random steps.
    """
    fig = go.Figure()
    for order, colour, dash in (("attribution", FOR, "solid"), ("random", "#7f7f7f", "dash")):
        part = curve[curve["order"] == order]
        label = "top steps first" if order == "attribution" else "random steps"
        fig.add_trace(go.Scatter(x=100 * part["fraction"], y=part["score"], mode="lines+markers", name=label, line={"color": colour, "dash": dash},
                                 hovertemplate=f"{label}<br>%{{x:.0f}}% of the steps replaced<br>mean score %{{y:.4f}}<extra></extra>"))
    return finish(fig, title or "Deletion curve: the score as steps are replaced by the baseline", "steps replaced (% of each sequence)", "mean explained score")


def randomization_chart(check, sequence=0, *, title=None):
    """Adebayo et al.'s sanity check for one sequence: the attribution per step of the trained network
    and of its shuffled copy, with their rank correlation in the title (near 1: do not trust it).

    Args:
        check: what `ll.randomization_check` returns.
        sequence: which sequence, an index into the X it explains.
        title: the figure's title. Default: the sequence and its rank correlation.

    Returns:
        A plotly Figure with a line per network, steps counted from 1.
    """
    if not isinstance(check, RandomizationCheck):
        raise TypeError(f"randomization_chart: check must be what ll.randomization_check returns; got {type(check).__name__}.")
    fig = go.Figure()
    unit = _unit(check.original)
    for name, att, colour in (("trained network", check.original, FORWARD), ("shuffled weights", check.randomized, "#7f7f7f")):
        values = _values(att, sequence, "randomization_chart").sum(1)
        fig.add_trace(go.Scatter(x=np.arange(1, len(values) + 1), y=values, mode="lines+markers", name=name, line={"color": colour},
                                 hovertemplate=f"{name}<br>step %{{x}}<br>attribution %{{y:+.4g}} {unit}<extra></extra>"))
    rho = check.rank_correlation[sequence]
    default = f"Sanity check, sequence {sequence}: rank correlation {rho:.2f} with the shuffled network ({check.original.method})"
    return finish(fig, title or default, "time step", f"attribution ({unit})")


def _values(attribution, sequence, where):
    if not isinstance(attribution, Attribution):
        raise TypeError(f"{where}: attribution must be an ll.Attribution (from ll.attribute); got {type(attribution).__name__}.")
    sequences = attribution.sequences
    if not (isinstance(sequence, (int, np.integer)) and 0 <= sequence < len(sequences)):
        raise ValueError(f"{where}: sequence={sequence!r}; the attribution has sequences 0 to {len(sequences) - 1}.")
    return np.asarray(sequences[sequence], dtype=np.float64)  # (T, C)


def _unit(attribution):
    return "probability" if attribution.output == "probability" else "score"


def _title(attribution, sequence):
    k = int(attribution.target[sequence])
    names = attribution.class_names
    what = "each step's predicted class" if k == -1 else f"class {names[k]!r}" if names is not None else f"output {k}"
    step = attribution.step
    if step is not None:
        what += ", summed over all steps" if step[sequence] == -1 else f" at step {int(step[sequence]) + 1}"
    return f"{attribution.method}, sequence {sequence}: {what}"
