"""Weight and bias initializers, named as in MATLAB's lstmLayer reference page.

Each takes the shape of the parameter as lstmlab stores it, `(rows, columns)` for weights and
`(rows,)` for a bias, and returns a float32 tensor. The fan-in of a weight matrix is its number of
columns and the fan-out its number of rows (4H for an LSTM, as that page counts it).
"""

import math

import torch

from ._checks import as_tensor

WEIGHT_INITIALIZERS = ("glorot", "he", "orthogonal", "narrow-normal", "zeros", "ones")
BIAS_INITIALIZERS = ("zeros", "narrow-normal", "ones")  # an LSTM also has "unit-forget-gate"
FILTER_INITIALIZERS = tuple(i for i in WEIGHT_INITIALIZERS if i != "orthogonal")  # filters and embeddings: no matrix to orthogonalize


def glorot(shape, fans=None):
    """Uniform with zero mean and variance 2 / (fan_in + fan_out)."""
    fan_out, fan_in = fans or shape
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(shape).uniform_(-bound, bound)


def he(shape, fans=None):
    """Normal with zero mean and variance 2 / fan_in."""
    fan_in = (fans or shape)[1]
    return torch.randn(shape) * math.sqrt(2.0 / fan_in)


def orthogonal(shape):
    """Q of the QR decomposition of a standard normal matrix: orthonormal columns (or rows)."""
    rows, cols = shape
    Z = torch.randn(max(rows, cols), min(rows, cols), dtype=torch.float64)
    Q, R = torch.linalg.qr(Z)
    Q = Q * torch.sign(torch.diagonal(R))  # makes the result uniformly distributed
    return (Q if rows >= cols else Q.T).to(torch.float32)


def narrow_normal(shape):
    """Normal with zero mean and standard deviation 0.01."""
    return torch.randn(shape) * 0.01


_NAMED = {
    "glorot": glorot,
    "he": he,
    "orthogonal": orthogonal,
    "narrow-normal": narrow_normal,
    "zeros": torch.zeros,
    "ones": torch.ones,
}


def initialize(initializer, shape, name, where, num_hidden_units=None, fans=None):
    """Make a parameter of `shape` with `initializer`: a name above, "unit-forget-gate", or a callable.

    "unit-forget-gate" is for an LSTM bias: ones for the forget gate of every direction, zeros elsewhere.
    fans: (fan_out, fan_in) for glorot and he when they are not the shape's (filters of a convolution).
    """
    if callable(initializer):
        return as_tensor(initializer(tuple(shape)), f"the result of {name}", shape, where)
    if initializer == "unit-forget-gate":
        bias = torch.zeros(shape)
        bias.view(-1, 4, num_hidden_units)[:, 1] = 1.0  # (directions, gates i f g o, H)
        return bias
    if initializer in ("glorot", "he"):
        return _NAMED[initializer](tuple(shape), fans)
    return _NAMED[initializer](tuple(shape))
