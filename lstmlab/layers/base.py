"""What every lstmlab layer has: a name, a one-line description, shape inference and factors."""

import torch

from .._checks import check_name


class Layer(torch.nn.Module):
    """Base class of lstmlab layers.

    A layer works on batch-first tensors: sequences `(B, T, C)` or vectors `(B, C)`.
    Subclasses set `kind` (the default name stem, as in MATLAB: "lstm", "fc", ...).
    """

    kind = "layer"

    def __init__(self, name=""):
        super().__init__()
        self.name = check_name(name, f"{self.kind} layer")

    def build(self, input_size):
        """Create the parameters for `input_size` channels if needed; return the output channels."""
        return input_size

    def returns_sequence(self, input_is_sequence):
        """Whether the output has a time axis, given whether the input has one."""
        return input_is_sequence

    def describe(self):
        """One line for the layer table, written for a learner."""
        return ""

    def learn_rate_factors(self):
        """Map of parameter name to a tensor that broadcasts against it (default: no factors)."""
        return {}

    def l2_factors(self):
        """Map of parameter name to its L2 regularization factor (a tensor that broadcasts)."""
        return {}

    def extra_repr(self):
        label = f"name={self.name!r}"
        return f"{label}, {self.describe()}" if self.describe() else label
