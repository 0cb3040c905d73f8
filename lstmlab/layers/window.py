"""Windows that slide over an axis, and running one over time on padded mini-batches.

A window has a size, a stride, a dilation (the gap between the steps it reads) and padding:
"same" (as many outputs as ceil(length / stride)), "causal" (output t reads steps up to t only),
or explicit (left, right) steps of padding. Convolution and pooling layers share this arithmetic.

`slide` runs a window over the time axis of a mini-batch so that each sequence gets exactly what it
would get alone: its real steps are laid out with the window's own padding, whatever padding the
mini-batch added, and the outputs are put back on the side the mini-batch padded.
"""

import numbers

import torch
import torch.nn.functional as F

from .._checks import check_positive_int
from .base import segments


class Window:
    """The arithmetic of one sliding window along one axis."""

    def __init__(self, size, stride, dilation, padding, where, paddings=("same", "causal")):
        self.size = check_positive_int(size, "size", where)
        self.stride = check_positive_int(stride, "stride", where)
        self.dilation = check_positive_int(dilation, "dilation_factor", where)
        if isinstance(padding, str) and padding.lower() in paddings:
            self.padding = padding.lower()
        elif isinstance(padding, numbers.Integral) and not isinstance(padding, bool) and padding >= 0:
            self.padding = (int(padding), int(padding))
        elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= 0 for p in padding
        ):
            self.padding = tuple(int(p) for p in padding)
        else:
            named = " or ".join(repr(p) for p in paddings)
            raise ValueError(
                f"{where}: padding must be {named}, a non-negative integer (both sides) or (before, after); got {padding!r}."
            )

    @property
    def span(self):
        """How many steps one output reads from first to last, gaps included."""
        return (self.size - 1) * self.dilation + 1

    def pads(self, length):
        """(before, after): the padding for an axis of `length` steps (ints or integer tensors)."""
        if self.padding == "causal":
            return self.span - 1, 0
        if self.padding == "same":
            total = (-(-length // self.stride) - 1) * self.stride + self.span - length
            total = total.clamp(min=0) if torch.is_tensor(total) else max(total, 0)
            return total // 2, total - total // 2  # an odd step more goes after, as in MATLAB
        return self.padding

    def output_length(self, length):
        """The number of outputs for an axis of `length` steps (below 1: too short)."""
        before, after = self.pads(length)
        return (length + before + after - self.span) // self.stride + 1

    def min_length(self):
        """The shortest axis that gives at least one output."""
        if isinstance(self.padding, str):
            return 1
        return max(self.span - sum(self.padding), 1)

    def describe(self):
        parts = [f"size {self.size}"]
        if self.stride > 1:
            parts.append(f"stride {self.stride}")
        if self.dilation > 1:
            parts.append(f"dilation {self.dilation}")
        return ", ".join([*parts, self.describe_padding()])

    def describe_padding(self):
        if isinstance(self.padding, str):
            return f"padding {self.padding}"
        return "no padding" if self.padding == (0, 0) else f"padding {self.padding[0]} before, {self.padding[1]} after"

    def config(self):
        return self.padding if isinstance(self.padding, str) else list(self.padding)


def slide(x, mask, window, fill, apply, who):
    """Run a window over the time axis of each sequence as if it were alone.

    Args:
        x: (B, T, C) a padded mini-batch.
        mask: (B, T), True on real steps, or None when every step is real.
        window: the `Window`; its padding is added here, with value `fill`.
        fill: the value of padding (0 for a convolution or a sum, -inf for a maximum).
        apply: f((B, C, W)) -> (B, K, W_out), the convolution or pooling with no padding of its own.
        who: the layer's name, for errors.

    Returns:
        y (B, T_out, K) and its mask (B, T_out), None when every output is real. Steps that are
        not real hold zeros.
    """
    B, T, C = x.shape
    if mask is None:
        start, length = x.new_zeros(B, dtype=torch.long), torch.full((B,), T, device=x.device)
    else:
        start, length = segments(mask.transpose(0, 1))
    before, after = (torch.as_tensor(p, device=x.device).expand(B) for p in window.pads(length))
    out_length = window.output_length(length)  # (B,)
    short = (length > 0) & (out_length < 1)
    if short.any():
        raise ValueError(
            f"{who}: a sequence of {int(length[short].min())} time steps is too short for a window of "
            f"{window.describe()}; it needs at least {window.min_length()} steps here. Give longer sequences "
            f"(sequence_input_layer(..., min_length=...) checks them), or pad this layer (padding='same')."
        )
    out_length = torch.where(length > 0, out_length, 0).clamp(min=0)  # a sequence with no real steps here has no outputs
    width = int((before + length + after).max())
    T_out = int(out_length.max())
    q = torch.arange(T_out, device=x.device)[None]  # (1, T_out)
    if bool((start == 0).all()) and bool((before == before[0]).all()):
        # right padding, the same padding before every sequence: the steps stay where they are
        laid_out = x if mask is None else x.masked_fill(~mask[..., None], fill)  # (B, T, C)
        laid_out = F.pad(laid_out.transpose(1, 2), (int(before[0]), max(width - int(before[0]) - T, 0)), value=fill)  # (B, C, W)
        y = apply(laid_out)[..., :T_out].transpose(1, 2)  # (B, T_out, K)
        if mask is None:
            return y, None
        real = q < out_length[:, None]
        return y.masked_fill(~real[..., None], 0), real
    src = torch.arange(width, device=x.device)[None] - before[:, None]  # (B, W): which real step each slot reads
    inside = (src >= 0) & (src < length[:, None])
    index = (start[:, None] + src).clamp(0, T - 1)[..., None].expand(B, width, C)
    laid_out = x.gather(1, index).masked_fill(~inside[..., None], fill)  # (B, W, C): padding, real steps, padding
    y = apply(laid_out.transpose(1, 2)).transpose(1, 2)  # (B, W_out, K)

    left_padded = (start > 0)[:, None]  # these keep their padding before their real steps
    src = torch.where(left_padded, q - (T_out - out_length[:, None]), q)  # (B, T_out)
    real = (src >= 0) & (src < out_length[:, None])
    index = src.clamp(0, max(y.shape[1] - 1, 0))[..., None].expand(B, T_out, y.shape[2])
    y = y.gather(1, index).masked_fill(~real[..., None], 0)  # (B, T_out, K)
    return y, (None if mask is None else real)


def real_outputs(mask, window):
    """Which outputs of `slide` are real, from its input's mask (B, T): (B, T_out), None for None.

    Each sequence has as many real outputs as its real steps make (none without real steps); a
    left-padded one keeps its padding before them, as `slide` lays them out.
    """
    if mask is None:
        return None
    start, length = segments(mask.transpose(0, 1))
    out_length = torch.where(length > 0, window.output_length(length), 0).clamp(min=0)  # (B,)
    q = torch.arange(int(out_length.max()), device=mask.device)[None]  # (1, T_out)
    first = torch.where(start > 0, q.shape[1] - out_length, 0)[:, None]  # (B, 1): the first real output
    return (q >= first) & (q < first + out_length[:, None])
