"""The validation split: part of a data set held out to validate on, the same part every time.

`ll.split_validation(X, Y, fraction=0.25, seed=0)` holds out a fraction of the sequences. For
labels it is stratified: every class keeps (nearly) its share in both parts, so that a rare class
is not left out of the validation data by chance. The seed makes it the same split every time.
"""

import numbers

import numpy as np
import pandas as pd
import torch

from ._checks import check_fraction
from .data import is_one_sequence
from .targets import is_per_step


def split_validation(X, Y, fraction=0.25, seed=0):
    """Split a data set into training and validation parts.

    Args:
        X: a list of (T, C) sequences, or an (N, T, C) array.
        Y: the targets, one per sequence (labels or responses) or one per time step (a list).
        fraction: the share of the sequences held out for validation, in (0, 1) (0.25).
        seed: the seed of the random choice (0): the same seed, the same split.

    Returns:
        (X_train, Y_train, X_val, Y_val), each in the form X and Y came in (lists stay lists,
        arrays arrays), the sequences in their original order.

    round(fraction * N) of the N sequences go to validation. When Y holds labels (strings,
    integers, booleans or a pandas Categorical, one per sequence), each class gives
    fraction * (its count) of them, rounded so that the total is right (the largest
    remainders round up, a tie in the order of the sorted classes); a class of one sequence may so stay in training alone. Responses
    (floats) and per-step targets are split without strata.

    >>> X = [np.zeros((3, 1))] * 8
    >>> X_train, y_train, X_val, y_val = split_validation(X, ["a"] * 4 + ["b"] * 4, fraction=0.5)
    >>> sorted(y_val)
    ['a', 'a', 'b', 'b']
    """
    where = "split_validation"
    if is_one_sequence(X):
        raise ValueError(f"{where}: X is one sequence (an array of shape {tuple(X.shape)}); give a data set, a list of sequences or an (N, T, C) array.")
    N = len(X)
    if len(Y) != N:
        raise ValueError(f"{where}: Y has {len(Y)} targets but X has {N} sequences; give one target per sequence.")
    fraction = check_fraction(fraction, "fraction", where)
    held = int(np.floor(fraction * N + 0.5))
    if not 0 < held < N:
        raise ValueError(
            f"{where}: fraction={fraction} of {N} sequences holds out {held}, leaving "
            f"{'no validation' if held == 0 else 'no training'} sequence; give a fraction between {1 / N:.3g} and {1 - 1 / N:.3g}."
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer; got {seed!r}.")
    rng = np.random.default_rng(seed)
    labels = _labels(Y)
    if labels is None:
        validation = rng.permutation(N)[:held]
    else:
        classes, codes = np.unique(labels, return_inverse=True)
        counts = np.bincount(codes, minlength=len(classes))
        quota = fraction * counts
        taken = np.floor(quota).astype(int)
        extra = np.argsort(-(quota - taken), kind="stable")[: held - taken.sum()]  # the largest remainders round up
        taken[extra] += 1
        validation = np.concatenate([rng.permutation(np.flatnonzero(codes == k))[:n] for k, n in enumerate(taken)])
    is_validation = np.zeros(N, dtype=bool)
    is_validation[validation] = True
    train, val = np.flatnonzero(~is_validation), np.flatnonzero(is_validation)
    return _take(X, train), _take(Y, train), _take(X, val), _take(Y, val)


def _labels(Y):
    """Y as an array of labels to stratify by, or None for responses and per-step targets."""
    if is_per_step(Y):
        return None
    if isinstance(Y, pd.Categorical):
        return np.asarray(Y.codes)
    values = Y.to_numpy() if isinstance(Y, pd.Series) else np.asarray(Y)
    if values.ndim != 1 or values.dtype.kind not in "biuOSU":
        return None
    return values.astype(str) if values.dtype.kind == "O" else values


def _take(data, rows):
    """The items `rows` of a data set or targets, in the form they came in."""
    if isinstance(data, (np.ndarray, torch.Tensor, pd.Categorical)):
        return data[rows]
    if isinstance(data, pd.Series):
        return data.iloc[rows]
    return [data[k] for k in rows]
