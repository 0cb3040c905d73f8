"""The layers around the recurrent ones: sequence input, fully connected, softmax, dropout."""

import numbers

import numpy as np
import torch

from .._checks import as_tensor, check_choice, check_nonnegative, check_positive_int
from ..initializers import BIAS_INITIALIZERS, WEIGHT_INITIALIZERS, initialize
from .base import Layer


class SequenceInputLayer(Layer):
    """Where sequences enter a network: fixes the number of channels and the shortest length.

    Args:
        input_size: C, the number of channels of every time step.
        min_length: the shortest sequence the network accepts (default 1).
        name: the layer's name.

    Data are checked before they reach the layer (see `lstmlab.data`), so the error names the
    sequence at fault.
    """

    kind = "sequenceinput"

    def __init__(self, input_size, *, min_length=1, name=""):
        super().__init__(name)
        self.input_size = check_positive_int(input_size, "input_size", "sequence_input_layer")
        self.min_length = check_positive_int(min_length, "min_length", "sequence_input_layer")

    def build(self, input_size):
        return self.input_size

    def forward(self, x):
        return x

    def describe(self):
        return f"{self.input_size} channels, min_length={self.min_length}"


class FullyConnectedLayer(Layer):
    """y = W x + b at every time step (or once, for vector input).

    Args:
        output_size: K, the number of outputs (classes or responses).
        weights_initializer: as for the recurrent layers, default "glorot".
        bias_initializer: "zeros" (default) | "narrow-normal" | "ones" | a callable.
        weights, bias: given W (K, C) and b (K,).
        weights_learn_rate_factor, bias_learn_rate_factor: default 1.
        weights_l2_factor (default 1), bias_l2_factor (default 0).
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
        if weights is not None:
            input_size = np.shape(weights)[-1] if input_size == "auto" else input_size
        if input_size != "auto":
            self.build(input_size)

    def build(self, input_size):
        if self.weights is None:
            self.input_size = check_positive_int(input_size, "input_size", "fully_connected_layer")
            shapes = {"weights": (self.output_size, input_size), "bias": (self.output_size,)}
            for name, shape in shapes.items():
                value = self._given.pop(name)
                if value is None:
                    value = initialize(self.initializers[name], shape, f"{name}_initializer", "fully_connected_layer")
                else:
                    value = as_tensor(value, name, shape, "fully_connected_layer", " (output_size, input channels)" if name == "weights" else "")
                setattr(self, name, torch.nn.Parameter(value))
        elif input_size != self.input_size:
            raise ValueError(
                f"{self.name or self.kind}: the input has {input_size} channels but the layer was built for "
                f"input_size={self.input_size}."
            )
        return self.output_size

    def forward(self, x):
        self.build(x.shape[-1])
        return x @ self.weights.T + self.bias  # (B, [T,] K)

    def learn_rate_factors(self):
        return {k: torch.tensor(float(v)) for k, v in self.learn_rate_factor.items()}

    def l2_factors(self):
        return {k: torch.tensor(float(v)) for k, v in self.l2_factor.items()}

    def describe(self):
        return f"{self.output_size} outputs, input size {self.input_size}"


class SoftmaxLayer(Layer):
    """Turns scores into probabilities over the channels, at every time step."""

    kind = "softmax"

    def forward(self, x):
        return torch.softmax(x, dim=-1)

    def describe(self):
        return "softmax over channels"


class DropoutLayer(Layer):
    """Sets a random fraction p of the inputs to zero while training (scaling the rest by 1/(1-p))."""

    kind = "dropout"

    def __init__(self, p=0.5, *, name=""):
        super().__init__(name)
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"dropout_layer: p must be a number in [0, 1); got {p!r}.")
        self.p = float(p)

    def forward(self, x):
        return torch.nn.functional.dropout(x, self.p, self.training)

    def describe(self):
        return f"p={self.p:g}"
