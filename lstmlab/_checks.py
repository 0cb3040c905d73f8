"""Argument checks shared by every public function.

Each check raises a ValueError or TypeError that names the argument, says what was expected and
what came, and how to fix it, so that a user never has to read a torch traceback.
"""

import numbers

import numpy as np
import torch


def check_positive_int(value, name, where, meaning="", fix=""):
    """value as an int; else an error that says what it means (", the size of ...") and, after what
    came, how to fix it (" Give ...")."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer{meaning}; got {value!r}.{fix}")
    return int(value)


def check_choice(value, name, choices, where, allow_callable=False):
    """One of `choices` (strings match in any case), or a callable when allowed."""
    if allow_callable and callable(value):
        return value
    if not isinstance(value, str) and value in choices:
        return value
    if not isinstance(value, str) or value.lower() not in choices:
        options = ", ".join(repr(c) for c in choices) + (" or a callable" if allow_callable else "")
        raise ValueError(f"{where}: {name} must be one of {options}; got {value!r}.")
    return value.lower()


def check_bool(value, name, where):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be True or False; got {value!r}.")
    return bool(value)


def check_nonnegative(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < float("inf"):
        raise ValueError(f"{where}: {name} must be a finite non-negative number; got {value!r}.")
    return float(value)


def check_sequence_length(value, name, where):
    """"longest", "shortest" or a positive integer: the sequence rule of a mini-batch."""
    if value in ("longest", "shortest") or (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0):
        return value
    raise ValueError(
        f"{where}: {name} must be 'longest', 'shortest' or a positive integer; got {value!r}. "
        f"An integer L pads to a multiple of L and splits into chunks of L time steps."
    )


def check_finite(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{where}: {name} must be a finite number; got {value!r}.")
    return value


def check_fraction(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{where}: {name} must be a number in [0, 1); got {value!r}.")
    return float(value)


def check_name(value, where):
    if not isinstance(value, str):
        raise TypeError(f"{where}: name must be a string; got {value!r}.")
    return value


def check_indices(selection, size, name, what, where):
    """Indices into range(size) from None (all), an int, a list of ints or a slice, with a clear error.

    what names the range for the message: "the hidden units of layer 'lstm'".
    """
    if selection is None:
        return np.arange(size)
    index = np.arange(size)[selection] if isinstance(selection, slice) else np.atleast_1d(np.asarray(selection))
    if index.dtype.kind not in "iu" or index.ndim != 1 or len(index) == 0 or index.min() < 0 or index.max() >= size:
        raise ValueError(f"{where}: {name} must be integers in 0..{size - 1} ({what}), a list of them or a slice; got {selection!r}.")
    return index


def check_factor(value, name, num_gates, gate_names, where):
    """A non-negative scalar or one value per block of rows (per gate, and the candidate); returns a float64 tensor with one value per block."""
    numeric = _is_numeric(value) and np.asarray(value).dtype.kind != "b"
    factor = np.asarray(value, dtype=float) if numeric else None
    if factor is not None and factor.ndim == 2 and 1 in factor.shape:
        factor = factor.reshape(-1)  # a MATLAB-style 1-by-4 row
    if factor is None or factor.ndim > 1 or factor.size not in (1, num_gates):
        raise ValueError(
            f"{where}: {name} must be a non-negative number or {num_gates} numbers, one per block of rows "
            f"({', '.join(gate_names)}); got {value!r}."
        )
    if not np.all(np.isfinite(factor)) or np.any(factor < 0):
        raise ValueError(f"{where}: {name} must be finite and non-negative; got {value!r}.")
    return torch.as_tensor(np.broadcast_to(factor.reshape(-1), (num_gates,)).copy())


def as_tensor(value, name, shape, where, hint=""):
    """A given array (numpy, torch, nested lists) as a float32 tensor of exactly `shape`."""
    if not _is_numeric(value):
        raise TypeError(f"{where}: {name} must be a numeric array; got {type(value).__name__}.")
    tensor = torch.as_tensor(np.asarray(value, dtype=np.float64) if not torch.is_tensor(value) else value)
    if tensor.ndim == 2 and tensor.shape[1] == 1 and len(shape) == 1:
        tensor = tensor[:, 0]  # a MATLAB-style column vector
    if tuple(tensor.shape) != tuple(shape):
        expected = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{where}: {name} must have shape {expected}{hint}; got {tuple(tensor.shape)}.")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{where}: {name} contains NaN or Inf; give finite values.")
    return tensor.detach().to(torch.float32).clone()


def _is_numeric(value):
    if torch.is_tensor(value):
        return not value.is_complex()
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        return False
    return array.dtype.kind in "biuf"
