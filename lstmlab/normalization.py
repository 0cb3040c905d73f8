"""Input normalization, as a sequence input layer applies it.

Each mode uses statistics of the training data, computed from real time steps only (padding never
counts) and applied to every value of a mini-batch, padding included:

    "zerocenter"          x - mean
    "zscore"              (x - mean) / standard_deviation
    "rescale-symmetric"   2 (x - min) / (max - min) - 1      into [-1, 1]
    "rescale-zero-one"    (x - min) / (max - min)            into [0, 1]

The dimension says over what the statistics are taken: "channel" gives one value per channel,
"element" one per element of a time step (the same as "channel" for vector sequences, one per
pixel and channel for image sequences), "all" one value for everything. "auto" is "channel",
unless statistics were given and are kept, in which case their shape decides.
"""

import warnings

import numpy as np
import torch

NORMALIZATIONS = ("none", "zerocenter", "zscore", "rescale-symmetric", "rescale-zero-one")
DIMENSIONS = ("auto", "channel", "element", "all")
STATISTICS = {
    "none": (),
    "zerocenter": ("mean",),
    "zscore": ("mean", "standard_deviation"),
    "rescale-symmetric": ("min", "max"),
    "rescale-zero-one": ("min", "max"),
}


def reduce_axes(dimension, step_ndim):
    """The axes of a (M, *step_shape) stack of real time steps that one statistic reduces over."""
    if dimension == "all":
        return tuple(range(step_ndim + 1))
    if dimension == "element":
        return (0,)
    return tuple(range(step_ndim))  # "channel": all but the last axis


def compute_statistics(steps, normalization, dimension, label):
    """Statistics of `steps`, a (M, *step_shape) array of every real time step of the data.

    Returns {name: array}, each shaped to broadcast against one time step: (), (C,) or (H, W, C).
    """
    axes = reduce_axes(dimension, steps.ndim - 1)
    stats = {}
    for name in STATISTICS[normalization]:
        if name == "mean":
            stats[name] = steps.mean(axis=axes)
        elif name == "standard_deviation":
            stats[name] = _nonzero(steps.std(axis=axes), "standard deviation", label)
        elif name == "min":
            stats[name] = steps.min(axis=axes)
        else:
            stats[name] = steps.max(axis=axes)
    if normalization.startswith("rescale"):
        width = _nonzero(stats["max"] - stats["min"], "range (max - min)", label)
        stats["max"] = stats["min"] + width
    return {name: np.asarray(value, dtype=float) for name, value in stats.items()}


def _nonzero(spread, what, label):
    """Replace a zero spread by 1 (so a constant channel maps to a constant), with a warning."""
    spread = np.asarray(spread, dtype=float)
    if np.any(spread == 0):
        warnings.warn(
            f"{label}: the {what} is 0 for {int(np.sum(spread == 0))} of {spread.size} statistics (a constant input); "
            f"lstmlab uses 1 there instead of dividing by 0.",
            stacklevel=4,
        )
        spread = np.where(spread == 0, 1.0, spread)
    return spread


def normalize(x, normalization, stats):
    """Apply a normalization to a tensor x (..., *step_shape) with statistics given as tensors."""
    if normalization == "zerocenter":
        return x - stats["mean"]
    if normalization == "zscore":
        return (x - stats["mean"]) / stats["standard_deviation"]
    if normalization == "rescale-symmetric":
        return 2 * (x - stats["min"]) / (stats["max"] - stats["min"]) - 1
    if normalization == "rescale-zero-one":
        return (x - stats["min"]) / (stats["max"] - stats["min"])
    return x


def center_and_scale(normalization, stats):
    """The same normalization as (x - center) / scale, for a file format with only subtract and
    divide (ONNX): (center, scale), either None where that step is not needed."""
    if normalization == "zerocenter":
        return stats["mean"], None
    if normalization == "zscore":
        return stats["mean"], stats["standard_deviation"]
    if normalization == "rescale-symmetric":  # 2 (x - min) / (max - min) - 1
        return (stats["min"] + stats["max"]) / 2, (stats["max"] - stats["min"]) / 2
    if normalization == "rescale-zero-one":
        return stats["min"], stats["max"] - stats["min"]
    return None, None


def dimension_of(shape, step_shape):
    """The normalization dimension that a given statistic's shape stands for."""
    if shape == ():
        return "all"
    if tuple(shape) == tuple(step_shape[-1:]):
        return "channel"
    return "element"


def as_statistic_tensor(value):
    return torch.as_tensor(np.asarray(value, dtype=np.float64))  # float64: cast to the data when applied
