"""What every lstmlab layer has: a name, a one-line description, shape inference and factors."""

import torch

from .._checks import check_name


class Layer(torch.nn.Module):
    """Base class of lstmlab layers.

    A layer works on batch-first tensors: sequences `(B, T, C)` or vectors `(B, C)`.
    Subclasses set `kind` (the default name stem, as in MATLAB: "lstm", "fc", ...).
    """

    kind = "layer"
    reads_mask = False  # whether forward takes mask=, the (B, T) real steps (layers that look across time)

    def __init__(self, name=""):
        super().__init__()
        self.name = check_name(name, type(self).__name__)
        # follows .to(), .double(), .cuda(): weights made later (input_size "auto") are made like it
        self.register_buffer("like", torch.zeros(0), persistent=False)

    def make_parameter(self, value):
        """A parameter from a tensor, with the layer's dtype and on its device."""
        return torch.nn.Parameter(value.to(device=self.like.device, dtype=self.like.dtype))

    def build(self, input_size):
        """Create the parameters for `input_size` channels if needed; return the output channels."""
        return input_size

    def returns_sequence(self, input_is_sequence):
        """Whether the output has a time axis, given whether the input has one."""
        return input_is_sequence

    def describe(self):
        """One line for the layer table, written for a learner."""
        return ""

    def propagate(self, x, mask):
        """x and its mask through the layer: the output and which of its steps are real.

        mask is (B, T), True on real steps, or None when every step is real. The layer runs through
        `nn.Module.__call__`, so forward hooks see (and may replace) the output handed on.
        """
        return self(x, mask=mask) if self.reads_mask else self(x), self.output_mask(mask)

    def output_mask(self, mask):
        """Which output steps are real, from the input's mask: layers that change the time axis
        (convolution and pooling over time) override this; the rest keep it while they return sequences."""
        return mask if self.returns_sequence(True) else None

    def output_length(self, length):
        """How many time steps come out for `length` going in (an int or an integer tensor)."""
        return length

    def config(self):
        """The constructor options that remake this layer (weights and states are saved apart)."""
        return {"name": self.name}

    def learn_rate_factors(self):
        """Map of parameter name to a tensor that broadcasts against it (default: no factors)."""
        return {}

    def l2_factors(self):
        """Map of parameter name to its L2 regularization factor (a tensor that broadcasts)."""
        return {}

    def extra_repr(self):
        label = f"name={self.name!r}"
        return f"{label}, {self.describe()}" if self.describe() else label


def check_input(x, who):
    """A layer's input must be a (B, T, C) floating-point tensor with at least one time step."""
    if not torch.is_tensor(x):
        raise TypeError(
            f"{who}: expects a torch tensor (batch, time, channels); got {type(x).__name__}. For NumPy data use "
            f"ll.predict(net, X), or torch.as_tensor(x, dtype=torch.float32)."
        )
    if x.ndim != 3:
        raise ValueError(f"{who}: expects input of shape (batch, time, channels); got {tuple(x.shape)}.")
    if x.shape[1] == 0:
        raise ValueError(f"{who}: the input has 0 time steps; give at least one.")


def segments(keep):
    """Start and length of each sequence's real steps in a (T, B) mask, which must be contiguous."""
    T = keep.shape[0]
    length = keep.sum(0)  # (B,)
    start = torch.where(length > 0, keep.to(torch.uint8).argmax(0), 0)  # the first real step
    t = torch.arange(T, device=keep.device)[:, None]
    if not torch.equal((t >= start) & (t < start + length), keep):
        raise ValueError(
            "a mask needs each sequence's real steps to be contiguous, with padding only before or "
            "after them (as ll.sequence_batches makes them); got a mask with gaps."
        )
    return start, length


def check_dtype(x, weights, who):
    if not x.is_floating_point():
        raise TypeError(f"{who}: the input is {x.dtype}; give floating-point data, e.g. x.float().")
    if x.dtype != weights.dtype:
        raise TypeError(
            f"{who}: the input is {x.dtype} but the weights are {weights.dtype}; "
            f"convert one of them, e.g. x.to({weights.dtype}) or layer.to({x.dtype})."
        )
