"""Figures of the data: sequence lengths, what padding and truncation do, and normalization."""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..batching import sequence_batches
from ..data import as_sequences
from ..layers import SequenceInputLayer
from ._style import BACKWARD, FORWARD, finish

REAL, PADDING, DISCARDED = FORWARD, "#c7c7c7", "#d62728"


def sequence_lengths(X, sort=False, title=None):
    """One bar per sequence, its length; sorted (shortest first) or in the data's order.

    Args:
        X: a data set: a list of (T, C) sequences or an (N, T, C) array.
        sort: draw the sequences shortest first (default False: in the data's order).
        title: the figure's title (default: the shortest and longest length, and the count).

    Returns:
        A plotly Figure.
    """
    lengths = np.array([len(x) for x in as_sequences(X, where="sequence_lengths")])
    order = np.argsort(lengths, kind="stable") if sort else np.arange(len(lengths))
    fig = go.Figure(go.Bar(x=np.arange(len(order)), y=lengths[order], customdata=order, marker_color=REAL,
                           hovertemplate="sequence %{customdata}<br>%{y} steps<extra></extra>"))
    default = f"Sequence lengths{', sorted' if sort else ''}: {lengths.min()} to {lengths.max()} steps, {len(lengths)} sequences"
    return finish(fig, title or default, "sequence (sorted by length)" if sort else "sequence", "time steps")


def padding_chart(X, mini_batch_size=8, sequence_length="longest", sequence_padding_direction="right", sort_by_length=False, shuffle="never", seed=None):
    """Every sequence as a bar of real, padded and discarded steps, grouped by mini-batch.

    The same rule as training (`ll.sequence_batches`); dotted lines mark where a split
    mini-batch is cut into chunks. The title gives the totals. The axis counts steps from 1, as
    the lessons do: step k of the mini-batch is its index k - 1.

    Args:
        X: a data set: a list of (T, C) sequences or an (N, T, C) array.
        mini_batch_size: sequences per mini-batch (8).
        sequence_length: "longest", "shortest" or an int, as in `ll.training_options`.
        sequence_padding_direction: "right" or "left".
        sort_by_length: put sequences of similar length together first (default False).
        shuffle: "never", "once" or "every-epoch", as in `ll.training_options`.
        seed: the shuffle's seed.

    Returns:
        A plotly Figure.
    """
    sequences = as_sequences(X, where="padding_chart")
    per_sequence, boundaries = {}, []
    batch = -1
    for b in sequence_batches(sequences, mini_batch_size=mini_batch_size, sequence_length=sequence_length,
                              sequence_padding_direction=sequence_padding_direction, shuffle=shuffle,
                              sort_by_length=sort_by_length, seed=seed):
        batch += b.chunk == 0
        width = b.x.shape[1]
        for row, n in enumerate(b.indices):
            entry = per_sequence.setdefault(int(n), {"batch": batch, "mask": []})
            entry["mask"].append(b.mask[row])
        if b.chunk > 0:
            boundaries.append(b.chunk * width)
    rows = []
    for n, entry in per_sequence.items():
        mask = np.concatenate(entry["mask"])
        rows.append((entry["batch"], n, mask, len(sequences[n]) - int(mask.sum())))
    labels = [f"batch {r[0]} · seq {r[1]}" for r in rows]
    fig = go.Figure()
    pieces = {"real": [], "padding": [], "discarded": []}
    for label, (_, n, mask, discarded) in zip(labels, rows):
        real = np.flatnonzero(mask)
        start, end = (int(real[0]), int(real[-1]) + 1) if len(real) else (0, 0)
        pieces["real"].append((label, start, end - start, n))
        for a, z in ((0, start), (end, len(mask))):
            if z > a:
                pieces["padding"].append((label, a, z - a, n))
        if discarded:  # cut by "shortest": drawn outside the batch, on the side that was cut
            side = len(mask) if sequence_padding_direction == "right" else -discarded
            pieces["discarded"].append((label, side, discarded, n))
    colours = {"real": REAL, "padding": PADDING, "discarded": DISCARDED}
    for kind, items in pieces.items():
        if items:
            fig.add_trace(go.Bar(
                y=[i[0] for i in items], base=[i[1] + 0.5 for i in items], x=[i[2] for i in items], orientation="h",  # step k centred on k
                name=kind, marker_color=colours[kind], customdata=[[i[3], i[1] + 1, i[1] + i[2]] for i in items],
                hovertemplate=f"sequence %{{customdata[0]}}<br>{kind}: %{{x}} steps (%{{customdata[1]}} to %{{customdata[2]}})<extra></extra>",
            ))
    for t in sorted(set(boundaries)):
        fig.add_vline(x=t + 0.5, line_dash="dot", line_color="black")
    total = {kind: sum(i[2] for i in items) for kind, items in pieces.items()}
    real = total["real"]
    title = (f"sequence_length={sequence_length!r}, padding {sequence_padding_direction}{', sorted by length' if sort_by_length else ''}: "
             f"{total['padding']} padded steps ({total['padding'] / max(real + total['padding'], 1):.0%}), "
             f"{total['discarded']} discarded")
    fig.update_layout(barmode="overlay", yaxis={"autorange": "reversed", "type": "category"}, height=max(300, 22 * len(rows) + 120),
                      legend={"orientation": "h", "y": -0.15})
    return finish(fig, title, "time step in the mini-batch", None)


def normalization_histograms(X, normalization="zscore", normalization_dimension="auto", channels=None, bins=40):
    """Each channel's values before (left) and after (right) normalization, from real steps only.

    Statistics are computed as training computes them, from the real time steps of X; padding
    never enters them, so it does not appear here either.

    Args:
        X: a data set: a list of (T, C) sequences or an (N, T, C) array.
        normalization: as in `ll.sequence_input_layer`: "zscore" (default), "zerocenter",
            "rescale-symmetric", "rescale-zero-one" or "none".
        normalization_dimension: "auto", "channel", "element" or "all".
        channels: the channels drawn, one row each (default: the first four).
        bins: histogram bins per panel (40).

    Returns:
        A plotly Figure.
    """
    sequences = as_sequences(X, where="normalization_histograms")
    C = sequences[0].shape[1]
    layer = SequenceInputLayer(C, normalization=normalization, normalization_dimension=normalization_dimension)
    layer.initialize_normalization(sequences)
    before = np.concatenate(sequences).astype(float)  # every real step, (M, C)
    import torch

    after = layer(torch.as_tensor(before)).numpy()
    chosen = list(range(min(C, 4))) if channels is None else list(channels)
    fig = make_subplots(rows=len(chosen), cols=2, column_titles=["before", f"after {normalization!r}"], vertical_spacing=0.06)
    for row, c in enumerate(chosen, start=1):
        for col, values in ((1, before), (2, after)):
            fig.add_trace(go.Histogram(x=values[:, c], nbinsx=bins, marker_color=REAL if col == 1 else BACKWARD, showlegend=False,
                                       hovertemplate=f"channel {c}<br>%{{x}}<br>%{{y}} steps<extra></extra>"), row=row, col=col)
        fig.update_yaxes(title_text=f"channel {c}", row=row, col=1)
    fig.update_layout(height=200 * len(chosen) + 120)
    return finish(fig, f"Normalization {normalization!r} ({normalization_dimension}): statistics from {len(before)} real steps, no padding", None, None)


def frames(video, channel=0, title=None):
    """The frames of one image sequence side by side: a (T, H, W, C) array, one channel shown.

    Values keep their scale (a shared colour bar), so a feature map's strength compares across time.
    Titles count frames from 1, as the lessons count steps: frame t + 1 is video[t].

    Args:
        video: one image sequence, a (T, H, W, C) array.
        channel: the channel shown (default 0).
        title: the figure's title (default: the frames' number and size, and the channel).

    Returns:
        A plotly Figure.
    """
    video = np.asarray(video)
    if video.ndim != 4:
        raise ValueError(f"frames: video must be one image sequence (T, H, W, C); got shape {video.shape}.")
    if not isinstance(channel, (int, np.integer)) or not 0 <= channel < video.shape[3]:
        raise ValueError(f"frames: channel must be in 0..{video.shape[3] - 1}; got {channel!r}.")
    T, H, W = video.shape[:3]
    fig = make_subplots(rows=1, cols=T, subplot_titles=[f"t = {t + 1}" for t in range(T)], horizontal_spacing=0.01)
    low, high = float(video[..., channel].min()), float(video[..., channel].max())
    for t in range(T):
        fig.add_trace(
            go.Heatmap(z=video[t, :, :, channel], zmin=low, zmax=high, colorscale="Greys_r", showscale=t == 0,
                       hovertemplate=f"frame {t + 1}<br>row %{{y}}, column %{{x}}<br>value %{{z:.3f}}<extra></extra>"),
            row=1, col=t + 1,
        )
    for t in range(T):  # square pixels, row 0 at the top
        fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor=f"x{t + 1 if t else ''}", row=1, col=t + 1)
    fig.update_xaxes(showticklabels=False)
    default = f"{T} frames of {H}x{W} pixels, channel {channel}"
    return finish(fig, title or default, height=260)
