"""Convolution over time (1-D, for vector sequences) and over each frame (2-D, for image sequences).

A filter of size k slides along time; each output step is the sum over the k steps it reads and
over all C channels of W * x, plus b. Weights are stored as in MATLAB, channels last:
(k, C, K) for 1-D and (k_h, k_w, C, K) for 2-D, K the number of filters.
"""

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import as_tensor, check_choice, check_positive_int
from ..initializers import BIAS_INITIALIZERS, FILTER_INITIALIZERS, initialize
from .base import Layer, check_dtype, check_input
from .window import Window, real_outputs, slide


class _Convolution(Layer):
    """What 1-D and 2-D convolutions share: filters, weights made on first use, factors."""

    dims = 1

    def __init__(
        self,
        filter_size,
        num_filters,
        *,
        stride=1,
        dilation_factor=1,
        padding=0,
        weights_initializer="glorot",
        bias_initializer="zeros",
        weights=None,
        bias=None,
        num_channels="auto",
        name="",
    ):
        super().__init__(name)
        where = f"convolution{self.dims}d_layer"
        sizes = _per_axis(filter_size, self.dims, "filter_size", where)
        strides = _per_axis(stride, self.dims, "stride", where)
        dilations = _per_axis(dilation_factor, self.dims, "dilation_factor", where)
        paddings = _paddings(padding, self.dims, where)
        allowed = ("same", "causal") if self.dims == 1 else ("same",)
        self.windows = [Window(k, s, d, p, where, allowed) for k, s, d, p in zip(sizes, strides, dilations, paddings)]
        self.num_filters = check_positive_int(num_filters, "num_filters", where)
        self.initializers = {
            "weights": check_choice(weights_initializer, "weights_initializer", FILTER_INITIALIZERS, where, allow_callable=True),
            "bias": check_choice(bias_initializer, "bias_initializer", BIAS_INITIALIZERS, where, allow_callable=True),
        }
        self._given = {"weights": weights, "bias": bias}
        self.num_channels = "auto"
        self.weights = self.bias = None
        if num_channels == "auto" and weights is not None and np.ndim(weights) == self.dims + 2:
            num_channels = np.shape(weights)[-2]
        if num_channels != "auto":
            self._make(check_positive_int(num_channels, "num_channels", where))

    @property
    def filter_size(self):
        return tuple(w.size for w in self.windows)

    def _make(self, channels):
        where = f"convolution{self.dims}d_layer"
        shape = (*self.filter_size, channels, self.num_filters)
        area = math.prod(self.filter_size)
        value = self._given.pop("weights")
        if value is None:
            value = initialize(self.initializers["weights"], shape, "weights_initializer", where, fans=(area * self.num_filters, area * channels))
        else:
            value = as_tensor(value, "weights", shape, where, " (filter size, channels, filters)")
        self.weights = self.make_parameter(value)
        bias = self._given.pop("bias")
        if bias is None:
            bias = initialize(self.initializers["bias"], (self.num_filters,), "bias_initializer", where)
        self.bias = self.make_parameter(as_tensor(bias, "bias", (self.num_filters,), where, " (one per filter)"))
        self.num_channels = channels

    def _check_channels(self, channels):
        if self.weights is None:
            self._make(channels)
        elif channels != self.num_channels:
            raise ValueError(
                f"{self.name or self.kind}: the input has {channels} channels but the layer was built for "
                f"num_channels={self.num_channels}."
            )

    def l2_factors(self):
        return {"bias": torch.tensor(0.0)}  # as MATLAB: weights are regularized, biases not

    def config(self):
        return {
            "filter_size": list(self.filter_size),
            "num_filters": self.num_filters,
            "stride": [w.stride for w in self.windows],
            "dilation_factor": [w.dilation for w in self.windows],
            "padding": [w.config() for w in self.windows],
            "num_channels": self.num_channels,
            "name": self.name,
        }

    def describe(self):
        def per_axis(values):
            return "x".join(str(v) for v in values)

        parts = [f"{self.num_filters} filters of {per_axis(self.filter_size)}"]
        if any(w.stride > 1 for w in self.windows):
            parts.append(f"stride {per_axis(w.stride for w in self.windows)}")
        if any(w.dilation > 1 for w in self.windows):
            parts.append(f"dilation {per_axis(w.dilation for w in self.windows)}")
        paddings = [w.describe_padding() for w in self.windows]
        parts.append(paddings[0] if len(set(paddings)) == 1 else " and ".join(paddings))
        return ", ".join(parts) + f", input channels {self.num_channels}"


class Convolution1DLayer(_Convolution):
    """1-D convolution over the time axis of vector sequences: (B, T, C) -> (B, T_out, K).

    Args:
        filter_size: k, the number of time steps each output reads.
        num_filters: K, the output channels.
        stride: steps between outputs (default 1).
        dilation_factor: d, the gap between the steps a filter reads (default 1); it reads
            (k - 1) d + 1 steps from first to last.
        padding: 0 (default: none, T_out = T - (k - 1) d), "same" (T_out = ceil(T / stride)),
            "causal" (padding before only: output t never reads a step after t), an integer p
            for p steps on both sides, or (before, after).
        weights_initializer: "glorot" (default) | "he" | "narrow-normal" | "zeros" | "ones" | callable.
        bias_initializer: "zeros" (default) | "narrow-normal" | "ones" | callable.
        weights, bias: given W (k, C, K) and b (K,).
        num_channels: C, or "auto" to take it from the first input.
        name: the layer's name.

    Padding added by a mini-batch never reaches a real step's output: each sequence is convolved
    as if it were alone, and its outputs keep the mini-batch's padding side.

    >>> import torch, lstmlab as ll
    >>> conv = ll.convolution1d_layer(3, 8, padding="causal")
    >>> conv(torch.zeros(2, 10, 4)).shape
    torch.Size([2, 10, 8])
    """

    kind = "conv1d"
    reads_mask = True  # each sequence convolved as if alone
    dims = 1

    @property
    def window(self):
        return self.windows[0]

    def build(self, input_size):
        if isinstance(input_size, tuple):
            raise ValueError(
                f"{self.name or self.kind}: convolves vector sequences (T, C) over time, but gets image sequences "
                f"with time steps {input_size}; use convolution2d_layer for frames, then flatten_layer."
            )
        self._check_channels(input_size)
        return self.num_filters

    def output_length(self, length):
        return self.window.output_length(length)

    def forward(self, x, mask=None):
        who = self.name or self.kind
        check_input(x, who)
        self.build(x.shape[-1])
        check_dtype(x, self.weights, who)
        W = self.weights.permute(2, 1, 0)  # (K, C, k): torch's layout
        w = self.window
        return slide(x, mask, w, 0.0, lambda z: F.conv1d(z, W, self.bias, w.stride, 0, w.dilation), who)[0]

    def output_mask(self, mask):
        return real_outputs(mask, self.window)


class Convolution2DLayer(_Convolution):
    """2-D convolution of every frame of image sequences: (..., H, W, C) -> (..., H_out, W_out, K).

    It works on folded frames (after `sequence_folding_layer`) and on whole image sequences alike.

    Args:
        filter_size: an int or (k_h, k_w).
        num_filters: K, the output channels.
        stride, dilation_factor: an int or one per axis (height, width); default 1.
        padding: 0 (default), "same" (H_out = ceil(H / stride)), an int for every side,
            (p_h, p_w), or (top, bottom, left, right).
        weights_initializer, bias_initializer, weights (k_h, k_w, C, K), bias (K,), num_channels,
            name: as for `convolution1d_layer`.

    >>> import torch, lstmlab as ll
    >>> ll.convolution2d_layer(3, 4, padding="same")(torch.zeros(2, 5, 8, 8, 1)).shape
    torch.Size([2, 5, 8, 8, 4])
    """

    kind = "conv2d"
    dims = 2

    def build(self, input_size):
        who = self.name or self.kind
        if not isinstance(input_size, tuple) or len(input_size) != 3:
            raise ValueError(
                f"{who}: convolves image frames (H, W, C), but the time steps here are {input_size!r}; give image "
                f"sequences (T, H, W, C) with sequence_input_layer((H, W, C)), or use convolution1d_layer for vectors."
            )
        *image, channels = input_size
        out = [w.output_length(n) for w, n in zip(self.windows, image)]
        if min(out) < 1:
            needed = "x".join(str(w.min_length()) for w in self.windows)
            raise ValueError(
                f"{who}: frames of {image[0]}x{image[1]} pixels are too small for filters of "
                f"{'; '.join(w.describe() for w in self.windows)}: they need at least {needed}. Give larger "
                f"frames, smaller filters or padding='same'."
            )
        self._check_channels(channels)
        return (*out, self.num_filters)

    def forward(self, x):
        who = self.name or self.kind
        if not torch.is_tensor(x) or x.ndim < 4:
            raise ValueError(f"{who}: expects frames (..., H, W, C); got {getattr(x, 'shape', type(x).__name__)}.")
        self.build(tuple(x.shape[-3:]))
        check_dtype(x, self.weights, who)
        lead, (H, W_, C) = x.shape[:-3], x.shape[-3:]
        (top, bottom), (left, right) = (w.pads(n) for w, n in zip(self.windows, (H, W_)))
        frames = F.pad(x.reshape(-1, H, W_, C).permute(0, 3, 1, 2), (left, right, top, bottom))  # (M, C, H+, W+)
        strides = tuple(w.stride for w in self.windows)
        dilations = tuple(w.dilation for w in self.windows)
        y = F.conv2d(frames, self.weights.permute(3, 2, 0, 1), self.bias, strides, 0, dilations)  # (M, K, H_out, W_out)
        return y.permute(0, 2, 3, 1).reshape(*lead, *y.shape[2:], y.shape[1])  # (..., H_out, W_out, K)


def _per_axis(value, dims, name, where):
    if isinstance(value, numbers.Integral):
        values = (value,) * dims
    elif isinstance(value, (tuple, list)):
        values = tuple(value)  # as given: NumPy would turn (1, 1.5) into (1.0, 1.5)
    else:
        values = tuple(np.atleast_1d(value).tolist())
    if len(values) != dims:
        raise ValueError(f"{where}: {name} must be an integer or {dims} integers; got {value!r}.")
    return [check_positive_int(v, name, where) for v in values]


def _paddings(padding, dims, where):
    """One padding per axis from "same", "causal", an int, one value per axis or (before, after) pairs."""
    if isinstance(padding, str) or isinstance(padding, numbers.Integral):
        return [padding] * dims
    values = list(padding) if isinstance(padding, (tuple, list)) else None
    if dims == 1 and values is not None and len(values) == 1 and isinstance(values[0], (str, list, tuple)):
        return values  # a saved config: one entry per axis
    if dims == 1:
        return [padding]
    if values is not None and len(values) == 2:
        return values  # (p_h, p_w), or a saved config of two (before, after) pairs
    if values is not None and len(values) == 4:
        return [values[:2], values[2:]]  # (top, bottom, left, right)
    raise ValueError(f"{where}: padding must be 'same', an int, (p_h, p_w) or (top, bottom, left, right); got {padding!r}.")
