"""The layers around the recurrent ones: sequence input, fully connected, softmax, sigmoid, relu, dropout."""

import numbers

import numpy as np
import torch

from .._checks import as_tensor, check_bool, check_choice, check_fraction, check_nonnegative, check_positive_int
from ..data import as_sequences
from ..initializers import BIAS_INITIALIZERS, WEIGHT_INITIALIZERS, initialize
from ..normalization import (
    DIMENSIONS,
    NORMALIZATIONS,
    STATISTICS,
    as_statistic_tensor,
    compute_statistics,
    dimension_of,
    normalize,
)
from .base import Layer, check_dtype


class SequenceInputLayer(Layer):
    """Where sequences enter a network: their size, shortest length and normalization.

    Args:
        input_size: C for vector sequences, or (H, W, C) for image sequences.
        normalization: "none" (default) | "zerocenter" | "zscore" | "rescale-symmetric" |
            "rescale-zero-one" | a callable y = f(x) applied to each (B, T, ...) tensor.
            See `lstmlab.normalization` for the formulas.
        normalization_dimension: "auto" (default) | "channel" | "element" | "all".
        mean, standard_deviation, min, max: given statistics, used as they are: a scalar, one
            value per channel, or one per element of a time step. Those not given are computed
            from the training data's real time steps (never from padding).
        min_length: the shortest sequence the network accepts (default 1).
        split_complex_inputs: if True, complex data enter as 2C real channels: the real parts,
            then the imaginary parts (zeros for real data). Statistics then have 2C values.
        name: the layer's name.

    Data are checked before they reach the layer (see `lstmlab.data`), so errors name the
    sequence at fault.
    """

    kind = "sequenceinput"

    def __init__(
        self,
        input_size,
        *,
        normalization="none",
        normalization_dimension="auto",
        mean=None,
        standard_deviation=None,
        min=None,
        max=None,
        min_length=1,
        split_complex_inputs=False,
        name="",
    ):
        super().__init__(name)
        where = "sequence_input_layer"
        sizes = (input_size,) if isinstance(input_size, numbers.Integral) else tuple(np.atleast_1d(input_size))
        if len(sizes) not in (1, 3):
            raise ValueError(f"{where}: input_size must be C (vector sequences) or (H, W, C) (image sequences); got {input_size!r}.")
        self.input_size = tuple(check_positive_int(v, "input_size", where) for v in sizes)
        if len(self.input_size) == 1:
            self.input_size = self.input_size[0]
        self.normalization = check_choice(normalization, "normalization", NORMALIZATIONS, where, allow_callable=True)
        self.normalization_dimension = check_choice(normalization_dimension, "normalization_dimension", DIMENSIONS, where)
        self.min_length = check_positive_int(min_length, "min_length", where)
        self.split_complex_inputs = check_bool(split_complex_inputs, "split_complex_inputs", where)
        given = {"mean": mean, "standard_deviation": standard_deviation, "min": min, "max": max}
        wanted = STATISTICS.get(self.normalization, ()) if isinstance(self.normalization, str) else ()
        for stat, value in given.items():
            if value is not None and stat not in wanted:
                raise ValueError(
                    f"{where}: {stat} was given, but normalization={normalization!r} uses "
                    f"{', '.join(wanted) or 'no statistics'}; drop {stat} or choose a normalization that uses it."
                )
            self.register_buffer(stat, None if value is None else self._statistic(value, stat, where))

    @property
    def step_shape(self):
        """The shape of one time step after complex splitting: (C,) or (H, W, C)."""
        shape = self.input_size if isinstance(self.input_size, tuple) else (self.input_size,)
        return (*shape[:-1], shape[-1] * 2) if self.split_complex_inputs else shape

    def _statistic(self, value, stat, where):
        value = np.asarray(value, dtype=float)
        if value.ndim >= 2 and value.size == value.shape[-1] == self.step_shape[-1] or (value.ndim == 2 and value.shape[1] == 1):
            value = value.reshape(-1)  # MATLAB's shapes: a column (C, 1), or 1-by-1-by-C per channel
        shapes = [(), (1,), self.step_shape[-1:], self.step_shape]
        if value.shape not in shapes:
            raise ValueError(
                f"{where}: {stat} must be a scalar, one value per channel {self.step_shape[-1:]} or one per "
                f"element {self.step_shape}; got shape {value.shape}."
            )
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{where}: {stat} contains NaN or Inf; give finite values.")
        return as_statistic_tensor(value.reshape(()) if value.shape == (1,) else value)

    def build(self, input_size):
        return self.step_shape[-1] if len(self.step_shape) == 1 else self.step_shape

    def missing_statistics(self):
        names = STATISTICS.get(self.normalization, ()) if isinstance(self.normalization, str) else ()
        return [name for name in names if getattr(self, name) is None]

    def initialize_normalization(self, X, reset=True):
        """Compute the normalization statistics from data X, from its real time steps only.

        With reset=True (as ll.trainnet does by default) every statistic is computed again;
        with reset=False only those not given are, with the dimension that the given ones imply.
        """
        sequences = as_sequences(X, where="initialize_normalization", allow_complex=self.split_complex_inputs)
        return self.fit_statistics([split_complex(x) for x in sequences] if self.split_complex_inputs else sequences, reset)

    def fit_statistics(self, sequences, reset=True):
        """`initialize_normalization` for checked sequences as the layer reads them (complex inputs split)."""
        if not isinstance(self.normalization, str) or self.normalization == "none":
            return self
        steps = np.concatenate(sequences)  # (M, *step): every real time step
        names = STATISTICS[self.normalization] if reset else self.missing_statistics()
        dimension = self.normalization_dimension
        if dimension == "auto":
            kept = [getattr(self, n) for n in STATISTICS[self.normalization] if n not in names]
            dimension = dimension_of(tuple(kept[0].shape), self.step_shape) if kept else "channel"
        stats = compute_statistics(steps, self.normalization, dimension, self.name or self.kind)
        for name in names:
            setattr(self, name, as_statistic_tensor(stats[name]).to(self.like.device))
        return self

    def forward(self, x):
        if callable(self.normalization):
            return self.normalization(x)
        missing = self.missing_statistics()
        if missing:
            raise ValueError(
                f"{self.name or self.kind}: normalization={self.normalization!r} needs {', '.join(missing)}, which are "
                f"not set yet. Train the network (ll.trainnet computes them from the training data), give them "
                f"(sequence_input_layer(..., {missing[0]}=...)), or call net[{(self.name or self.kind)!r}].initialize_normalization(X)."
            )
        stats = {name: getattr(self, name) for name in STATISTICS[self.normalization]}
        return normalize(x, self.normalization, {k: v.to(x.dtype) for k, v in stats.items()})

    def config(self):
        if callable(self.normalization):
            raise ValueError(
                f"save: the input layer {self.name!r} normalizes with a callable, which a file cannot hold safely; "
                f"use a named normalization, or save the weights yourself (net.state_dict())."
            )
        return {
            "input_size": list(self.input_size) if isinstance(self.input_size, tuple) else self.input_size,
            "normalization": self.normalization,
            "normalization_dimension": self.normalization_dimension,
            "min_length": self.min_length,
            "split_complex_inputs": self.split_complex_inputs,
            "name": self.name,
        }

    def describe(self):
        size = "x".join(map(str, self.step_shape)) if len(self.step_shape) > 1 else str(self.step_shape[0])
        text = f"{size} channels" if len(self.step_shape) == 1 else f"{size} images"
        norm = getattr(self.normalization, "__name__", self.normalization)
        if norm != "none":
            text += f", normalization {norm!r}"
        return text + f", min_length={self.min_length}"


def split_complex(x):
    """(T, ..., C) complex -> (T, ..., 2C) real: the real parts, then the imaginary parts."""
    return np.concatenate([x.real, x.imag], axis=-1)


class FullyConnectedLayer(Layer):
    """y = W x + b at every time step (or once, for vector input).

    Args:
        output_size: K, the number of outputs (classes or responses).
        weights_initializer: as for the recurrent layers, default "glorot".
        bias_initializer: "zeros" (default) | "narrow-normal" | "ones" | a callable.
        weights, bias: given W (K, C) and b (K,).
        weights_learn_rate_factor, bias_learn_rate_factor: default 1.
        weights_l2_factor (default 1), bias_l2_factor (default 0).
        input_size: C, or "auto" to take it from the first input.
        name: the layer's name.
    """

    kind = "fc"

    def __init__(
        self,
        output_size,
        *,
        weights_initializer="glorot",
        bias_initializer="zeros",
        weights=None,
        bias=None,
        weights_learn_rate_factor=1,
        bias_learn_rate_factor=1,
        weights_l2_factor=1,
        bias_l2_factor=0,
        input_size="auto",
        name="",
    ):
        super().__init__(name)
        where = "fully_connected_layer"
        self.output_size = check_positive_int(output_size, "output_size", where)
        self.initializers = {
            "weights": check_choice(weights_initializer, "weights_initializer", WEIGHT_INITIALIZERS, where, allow_callable=True),
            "bias": check_choice(bias_initializer, "bias_initializer", BIAS_INITIALIZERS, where, allow_callable=True),
        }
        self.learn_rate_factor = {
            "weights": check_nonnegative(weights_learn_rate_factor, "weights_learn_rate_factor", where),
            "bias": check_nonnegative(bias_learn_rate_factor, "bias_learn_rate_factor", where),
        }
        self.l2_factor = {
            "weights": check_nonnegative(weights_l2_factor, "weights_l2_factor", where),
            "bias": check_nonnegative(bias_l2_factor, "bias_l2_factor", where),
        }
        self._given = {"weights": weights, "bias": bias}
        self.input_size = "auto"
        self.weights = self.bias = None
        if weights is not None and input_size == "auto":
            shape = np.shape(weights)
            input_size = shape[1] if len(shape) == 2 else "C"  # as_tensor names the shape expected
        if input_size != "auto":
            self.build(input_size)

    def build(self, input_size):
        if self.weights is None:
            if self._given["weights"] is not None and input_size == "C":
                as_tensor(self._given["weights"], "weights", (self.output_size, "C"), "fully_connected_layer", " (output_size, input channels)")
            self.input_size = check_positive_int(input_size, "input_size", "fully_connected_layer")
            shapes = {"weights": (self.output_size, input_size), "bias": (self.output_size,)}
            for name, shape in shapes.items():
                value = self._given.pop(name)
                if value is None:
                    value = initialize(self.initializers[name], shape, f"{name}_initializer", "fully_connected_layer")
                else:
                    value = as_tensor(value, name, shape, "fully_connected_layer", " (output_size, input channels)" if name == "weights" else "")
                setattr(self, name, self.make_parameter(value))
        elif input_size != self.input_size:
            raise ValueError(
                f"{self.name or self.kind}: the input has {input_size} channels but the layer was built for "
                f"input_size={self.input_size}."
            )
        return self.output_size

    def forward(self, x):
        who = self.name or self.kind
        if not torch.is_tensor(x):
            raise TypeError(f"{who}: expects a torch tensor; got {type(x).__name__}.")
        self.build(x.shape[-1])
        check_dtype(x, self.weights, who)
        return x @ self.weights.T + self.bias  # (B, [T,] K)

    def learn_rate_factors(self):
        return {k: torch.tensor(float(v)) for k, v in self.learn_rate_factor.items()}

    def l2_factors(self):
        return {k: torch.tensor(float(v)) for k, v in self.l2_factor.items()}

    def config(self):
        return {
            "output_size": self.output_size,
            "input_size": self.input_size,
            **{f"{k}_learn_rate_factor": v for k, v in self.learn_rate_factor.items()},
            **{f"{k}_l2_factor": v for k, v in self.l2_factor.items()},
            **self.initializer_options(),
            "name": self.name,
        }

    def describe(self):
        return f"{self.output_size} outputs, input size {self.input_size}"


class SoftmaxLayer(Layer):
    """Turns scores into probabilities over the channels, at every time step: e^(x_k) / sum_j e^(x_j).

    Shapes are unchanged, (B, T, K) -> (B, T, K) or (B, K) -> (B, K): each step's K values become
    positive and sum to 1. Padded steps are computed like any other, and the padding mask passes
    through unchanged (the loss leaves those steps out). A classifier ends with it: the
    "crossentropy" loss of `ll.trainnet` asks for it last. As MATLAB's softmaxLayer.

    Args:
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> ll.softmax_layer()(torch.tensor([[1.0, 1.0], [0.0, 2.0]]))
    tensor([[0.5000, 0.5000],
            [0.1192, 0.8808]])
    """

    kind = "softmax"

    def forward(self, x):
        return torch.softmax(x, dim=-1)

    def describe(self):
        return "softmax over channels"


class SigmoidLayer(Layer):
    """Squashes every value into (0, 1), 1 / (1 + e^-x): independent probabilities.

    Shapes are unchanged, and so is the padding mask. Unlike `softmax_layer` the channels do not
    share one distribution: each is the probability of its own yes-or-no answer (multi-label
    classification); the "binary-crossentropy" loss of `ll.trainnet` asks for this layer last.
    As MATLAB's sigmoidLayer.

    Args:
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> ll.sigmoid_layer()(torch.tensor([-2.0, 0.0, 2.0]))
    tensor([0.1192, 0.5000, 0.8808])
    """

    kind = "sigmoid"

    def forward(self, x):
        return torch.sigmoid(x)

    def describe(self):
        return "sigmoid of every value"


class ReluLayer(Layer):
    """max(x, 0) of every value: negative values become zero.

    Shapes are unchanged, and so is the padding mask. It works on vectors, sequences and image
    frames alike (after a convolution, for instance). As MATLAB's reluLayer.

    Args:
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> ll.relu_layer()(torch.tensor([-2.0, 0.0, 3.0]))
    tensor([0., 0., 3.])
    """

    kind = "relu"

    def forward(self, x):
        return torch.relu(x)

    def describe(self):
        return "max(x, 0) of every value"


class DropoutLayer(Layer):
    """Sets a random fraction p of the inputs to zero while training (scaling the rest by 1/(1-p)).

    Each value is dropped on its own, drawn anew for every mini-batch, so that the expected output
    is the input. It acts only in training mode: `ll.trainnet` trains with it, while `ll.predict`,
    `ll.trace` and the other functions that learn nothing run with it off, where it passes its input
    on unchanged. A layer just made is in torch's training mode: called on its own it drops values
    until `layer.eval()`. Shapes and the padding mask are unchanged. As MATLAB's
    dropoutLayer(Probability=p).

    Args:
        p: the probability that a value is dropped, in [0, 1); default 0.5.
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> layer = ll.dropout_layer(0.5)
    >>> layer(torch.ones(1000)).unique()  # training: dropped, or scaled by 1/(1-p)
    tensor([0., 2.])
    >>> layer.eval()(torch.ones(3))  # as ll.predict runs it
    tensor([1., 1., 1.])
    """

    kind = "dropout"

    def __init__(self, p=0.5, *, name=""):
        super().__init__(name)
        self.p = check_fraction(p, "p", "dropout_layer")

    def forward(self, x):
        return torch.nn.functional.dropout(x, self.p, self.training)

    def config(self):
        return {"p": self.p, "name": self.name}

    def describe(self):
        return f"p={self.p:g}"
