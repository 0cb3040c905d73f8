"""Pooling over time: the maximum or the average of each window of steps, or of the whole sequence.

Padding that a mini-batch adds never takes part: it never wins a maximum and never dilutes an
average, so a sequence pools to the same values alone or in any mini-batch.
"""

import torch
import torch.nn.functional as F

from .._checks import check_positive_int
from .base import Layer, check_input
from .window import Window, real_outputs, slide


class _Pooling1D(Layer):
    """What max and average pooling over time share: the window and the shapes."""

    reads_mask = True  # padding never pooled

    def __init__(self, pool_size, stride, padding, name):
        super().__init__(name)
        pool_size = check_positive_int(pool_size, "pool_size", self.factory)  # named as the user wrote it
        self.window = Window(pool_size, stride, 1, padding, self.factory)

    def output_length(self, length):
        return self.window.output_length(length)

    def forward(self, x, mask=None):
        who = self.name or self.kind
        check_input(x, who)
        return self._pool(x, mask, who)[0]

    def output_mask(self, mask):
        return real_outputs(mask, self.window)

    def config(self):
        return {"pool_size": self.window.size, "stride": self.window.stride, "padding": self.window.config(), "name": self.name}

    def describe(self):
        return f"over time, {self.window.describe()}"


class MaxPooling1DLayer(_Pooling1D):
    """The largest value of each window of time steps, per channel: (B, T, C) -> (B, T_out, C).

    Args:
        pool_size: steps per window.
        stride: steps between windows (default 1, as in MATLAB).
        padding: 0 (default), "same", "causal", an int or (before, after); padded steps never win.
        name: the layer's name.

    >>> import torch, lstmlab as ll
    >>> ll.max_pooling1d_layer(2, stride=2)(torch.arange(6.0).reshape(1, 6, 1))[0, :, 0]
    tensor([1., 3., 5.])
    """

    kind = "maxpool1d"
    factory = "max_pooling1d_layer"

    def __init__(self, pool_size, *, stride=1, padding=0, name=""):
        super().__init__(pool_size, stride, padding, name)
        if isinstance(self.window.padding, tuple) and max(self.window.padding) >= self.window.size:
            raise ValueError(
                f"{self.factory}: padding {self.window.padding} must be smaller than pool_size={self.window.size} on each "
                f"side, else a window reads padding only and has no maximum; give less padding, or padding='same'."
            )

    def _pool(self, x, mask, who):
        w = self.window
        return slide(x, mask, w, -torch.inf, lambda z: F.max_pool1d(z, w.size, w.stride), who)


class AveragePooling1DLayer(_Pooling1D):
    """The mean of each window of time steps, per channel: (B, T, C) -> (B, T_out, C).

    Args:
        pool_size, stride, padding, name: as for `max_pooling1d_layer`.
        padding_value: 0 (default, as MATLAB: the layer's own padding counts as zeros) or "mean"
            (the layer's padding is left out of each mean). A mini-batch's padding is always left out.

    >>> import torch, lstmlab as ll
    >>> ll.average_pooling1d_layer(2, stride=2)(torch.arange(6.0).reshape(1, 6, 1))[0, :, 0]
    tensor([0.5000, 2.5000, 4.5000])
    """

    kind = "avgpool1d"
    factory = "average_pooling1d_layer"

    def __init__(self, pool_size, *, stride=1, padding=0, padding_value=0, name=""):
        super().__init__(pool_size, stride, padding, name)
        if padding_value not in (0, "mean"):
            raise ValueError(f"{self.factory}: padding_value must be 0 or 'mean'; got {padding_value!r}.")
        self.padding_value = padding_value

    def _pool(self, x, mask, who):
        w = self.window
        total = lambda z: F.avg_pool1d(z, w.size, w.stride) * w.size  # noqa: E731  (the sum of each window)
        sums, out_mask = slide(x, mask, w, 0.0, total, who)  # (B, T_out, C)
        if self.padding_value == 0:
            return sums / w.size, out_mask
        counts, _ = slide(torch.ones_like(x[..., :1]), mask, w, 0.0, total, who)  # (B, T_out, 1) real steps read
        return sums / counts.clamp(min=1), out_mask

    def config(self):
        return {**super().config(), "padding_value": self.padding_value}


class _GlobalPooling1D(Layer):
    """Pools each sequence's real steps into one vector: (B, T, C) -> (B, C)."""

    reads_mask = True  # padding never pooled

    def returns_sequence(self, input_is_sequence):
        return False

    def forward(self, x, mask=None):
        who = self.name or self.kind
        check_input(x, who)
        real = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if mask is None else mask  # (B, T)
        return self._pool(x, real[..., None])



class GlobalMaxPooling1DLayer(_GlobalPooling1D):
    """The largest value of each channel over a sequence's real steps: (B, T, C) -> (B, C).

    The time axis is pooled away: the layers after it see one vector per sequence, with no mask.
    Padding never takes part (forward(x, mask=None) takes the (B, T) mask, True on real steps, which
    a network hands it), so a sequence pools to the same values alone or in any mini-batch; a
    sequence with no real step gives zeros. As MATLAB's globalMaxPooling1dLayer.

    Args:
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> x = torch.tensor([[[1.0], [5.0], [9.0]]])  # (B, T, C) = (1, 3, 1)
    >>> layer = ll.global_max_pooling1d_layer()
    >>> layer(x), layer(x, mask=torch.tensor([[True, True, False]]))  # the last step padding
    (tensor([[9.]]), tensor([[5.]]))
    """

    kind = "gmaxpool1d"

    def _pool(self, x, real):
        y = x.masked_fill(~real, -torch.inf).amax(1)  # (B, C)
        return y.masked_fill(~real.any(1), 0.0)  # a sequence with no real steps here: zeros

    def describe(self):
        return "maximum over time"


class GlobalAveragePooling1DLayer(_GlobalPooling1D):
    """The mean of each channel over a sequence's real steps: (B, T, C) -> (B, C).

    The time axis is pooled away: the layers after it see one vector per sequence, with no mask.
    Padding never dilutes the mean (forward(x, mask=None) takes the (B, T) mask, True on real
    steps, which a network hands it), so a sequence pools to the same values alone or in any
    mini-batch; a sequence with no real step gives zeros. As MATLAB's globalAveragePooling1dLayer.

    Args:
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> x = torch.tensor([[[1.0], [5.0], [9.0]]])  # (B, T, C) = (1, 3, 1)
    >>> layer = ll.global_average_pooling1d_layer()
    >>> layer(x), layer(x, mask=torch.tensor([[True, True, False]]))  # the last step padding
    (tensor([[5.]]), tensor([[3.]]))
    """

    kind = "gavgpool1d"

    def _pool(self, x, real):
        return (x * real).sum(1) / real.sum(1).clamp(min=1)  # (B, C)

    def describe(self):
        return "mean over time"
