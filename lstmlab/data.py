"""Sequences in, checked: the one place where user data are validated, and padding.

A data set is a list of `(T, C)` arrays of any lengths, or one `(N, T, C)` array. One sequence
is data on its own, as in MATLAB's predict(net, X): a `(T, C)` array, a `(T, H, W, C)` image
sequence, or a `(T,)` array of integer token ids is a data set of one.
Errors name the sequence at fault and say how to fix it.
"""

import numpy as np
import torch

from ._checks import check_choice, check_finite, check_sequence_length


def is_one_sequence(X):
    """Whether X is one sequence rather than a data set.

    One sequence is a (T, C) or (T, H, W, C) array (NumPy or torch), or a (T,) array of integer
    token ids. A data set is a list of sequences, an (N, T, C) or an (N, T, H, W, C) array.

    >>> is_one_sequence(np.zeros((5, 3))), is_one_sequence(np.zeros((2, 5, 3))), is_one_sequence([np.zeros((5, 3))])
    (True, False, False)
    """
    if torch.is_tensor(X):
        integer = not (X.is_floating_point() or X.is_complex() or X.dtype == torch.bool)
    elif isinstance(X, np.ndarray):
        integer = X.dtype.kind in "iu"
    else:
        return False
    return X.ndim in (2, 4) or (X.ndim == 1 and integer)


def as_sequences(X, name="X", where="lstmlab", allow_complex=False):
    """Check a data set and return it as a list of float (T, C) or (T, H, W, C) NumPy arrays.

    One sequence (see `is_one_sequence`) becomes a list of one. Integer (T,) arrays are token
    sequences (for a word embedding layer) and become (T, 1).
    """
    one = is_one_sequence(X)
    if one:
        X = [X]
    if torch.is_tensor(X):
        X = X.detach().cpu().numpy()
    if isinstance(X, np.ndarray):
        if X.ndim not in (3, 5):
            hint = f" For one sequence of one channel use {name}.reshape(-1, 1)." if X.ndim == 1 else ""
            raise ValueError(
                f"{where}: {name} must be one (T, C) sequence, an (N, T, C) array, a list of sequences, or for image "
                f"sequences (T, H, W, C) or (N, T, H, W, C); got shape {X.shape}.{hint}"
            )
        if X.dtype.kind in "biuf" and X.shape[0] > 0 and X.shape[1] > 0 and np.isfinite(X).all():
            return list(X.astype(np.result_type(X.dtype, np.float32), copy=False))  # checked at once
        X = list(X)
    if not isinstance(X, (list, tuple)):
        raise TypeError(f"{where}: {name} must be a list of (T, C) arrays, an (N, T, C) array or one (T, C) array; got {type(X).__name__}.")
    if len(X) == 0:
        raise ValueError(f"{where}: {name} is empty; give at least one sequence.")
    labels = [name] if one else [f"{name}[{n}]" for n in range(len(X))]
    sequences = [_as_sequence(x, label, where, allow_complex) for x, label in zip(X, labels)]
    step = sequences[0].shape[1:]
    for n, x in enumerate(sequences):
        if x.shape[1:] != step:
            if len(step) == 1 and x.ndim == 2:
                raise ValueError(
                    f"{where}: {name}[{n}] has {x.shape[1]} channels but {name}[0] has {step[0]}; every sequence "
                    f"needs the same channels (time runs along the first axis: (T, C))."
                )
            raise ValueError(f"{where}: {name}[{n}] has time steps of shape {x.shape[1:]} but {name}[0] has {step}.")
    if not np.isfinite(np.concatenate(sequences)).all():  # one pass over all values; then find the culprit
        for x, label in zip(sequences, labels):
            if not np.isfinite(x).all():
                t = int(np.argwhere(~np.isfinite(x))[0, 0])
                raise ValueError(f"{where}: {label} has NaN or Inf at time step {t}; fill or drop the missing values first.")
    return sequences


def _as_sequence(x, label, where, allow_complex):
    """One sequence as an array, its type, shape and length checked (finiteness is checked for all at once)."""
    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    try:
        x = np.asarray(x)
    except ValueError:
        raise ValueError(f"{where}: {label} is ragged (its time steps differ in size); give a (T, C) array.") from None
    if x.dtype.kind == "c" and not allow_complex:
        raise ValueError(
            f"{where}: {label} is complex; give real values, or use sequence_input_layer(..., "
            f"split_complex_inputs=True) to enter real and imaginary parts as channels."
        )
    if x.dtype.kind not in "biufc":
        raise TypeError(f"{where}: {label} is not numeric (dtype {x.dtype}); give numbers.")
    if x.ndim == 1 and x.dtype.kind in "iu":
        x = x.reshape(-1, 1)  # token ids (T,): one channel
    if x.ndim not in (2, 4):
        raise ValueError(
            f"{where}: {label} must be a (T, C) array (or (T, H, W, C) for image sequences, or (T,) integer token "
            f"ids); got shape {x.shape}. For one channel use x.reshape(-1, 1)."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{where}: {label} is empty (0 time steps); drop it or give at least one step.")
    return x.astype(np.result_type(x.dtype, np.float32), copy=False)


def pad_sequences(X, length="longest", direction="right", padding_value=0):
    """Pad or truncate sequences to one length.

    Args:
        X: list of (T, C) arrays, or an (N, T, C) array.
        length: "longest" pads every sequence to the longest; "shortest" truncates every sequence
            to the shortest; an int pads or truncates to exactly that many steps.
        direction: "right" pads (or truncates) at the end, "left" at the start, so that with
            truncation "right" keeps the first steps and "left" keeps the last.
        padding_value: the value of padded steps.

    Returns:
        padded (N, T, C) array and mask (N, T), True on real steps.

    >>> padded, mask = pad_sequences([np.ones((2, 1)), np.ones((3, 1))], direction="left")
    >>> padded[:, :, 0]
    array([[0., 1., 1.],
           [1., 1., 1.]])
    """
    check_finite(padding_value, "padding_value", "pad_sequences")
    sequences = as_sequences(X, where="pad_sequences")
    length = check_sequence_length(length, "length", "pad_sequences")
    return pad(sequences, length, check_choice(direction, "direction", ("right", "left"), "pad_sequences"), padding_value)


def pad(sequences, length, direction, padding_value):
    """`pad_sequences` for checked sequences and options (or per-step targets, whose padding may be "")."""
    lengths = np.array([len(x) for x in sequences])
    if length == "longest":
        T = lengths.max()
    elif length == "shortest":
        T = lengths.min()
    else:
        T = int(length)
    dtype = np.result_type(*sequences)
    padded = np.full((len(sequences), T, *sequences[0].shape[1:]), padding_value, dtype=dtype)
    mask = np.zeros((len(sequences), T), dtype=bool)
    for n, x in enumerate(sequences):
        x = x[:T] if direction == "right" else x[max(len(x) - T, 0) :]
        span = slice(0, len(x)) if direction == "right" else slice(T - len(x), T)
        padded[n, span] = x
        mask[n, span] = True
    return padded, mask
