"""Image sequences: folding frames into one batch, unfolding them back, and flattening frames.

A 2-D convolution works on frames. `sequence_folding_layer` hands the layers after it every real
frame of the mini-batch as one batch of images, (B, T, H, W, C) -> (M, H, W, C), leaving padded
frames out; `sequence_unfolding_layer` puts the results back in their sequences. The network pairs
them itself: MATLAB's `connectLayers(lgraph, 'fold/miniBatchSize', 'unfold/miniBatchSize')` step has
nothing to do here. `flatten_layer` turns each frame into one vector for the recurrent layers.
"""

import math

import torch

from .base import Layer


class SequenceFoldingLayer(Layer):
    """(B, T, H, W, C) image sequences -> (M, H, W, C): every real frame, as one batch of images.

    Between this layer and the next `sequence_unfolding_layer`, frames are independent images:
    batch normalization there takes its statistics over real frames only.
    """

    kind = "fold"
    reads_mask = True  # padded frames left out

    def fold(self, x, mask):
        """The real frames of x (B, T, ...) in order, sequence by sequence: (M, ...)."""
        return x.reshape(-1, *x.shape[2:]) if mask is None else x[mask]

    def forward(self, x, mask=None):
        return self.fold(x, mask)

    def output_mask(self, mask):
        return None  # frames, no time axis

    def describe(self):
        return "frames of every sequence into one batch"


class SequenceUnfoldingLayer(Layer):
    """(M, ...) frames -> (B, T, ...): the inverse of the `sequence_folding_layer` before it.

    In an `ll.Network` the two are paired automatically; padded frames come back as zeros.
    """

    kind = "unfold"

    @staticmethod
    def unfold(frames, batch_shape, mask):
        """frames (M, ...) back into sequences (B, T, ...) with the folding layer's mask."""
        if mask is None:
            return frames.reshape(*batch_shape, *frames.shape[1:]), None
        out = frames.new_zeros(*batch_shape, *frames.shape[1:])  # (B, T, ...)
        out[mask] = frames
        return out, mask

    def forward(self, x, batch_shape=None, mask=None):
        """x (M, ...) into (B, T, ...) with the folding layer's batch_shape (B, T) and mask, from the network."""
        if batch_shape is None:
            raise ValueError(
                f"{self.name or self.kind}: a sequence unfolding layer needs the sequence folding layer before it, "
                f"which an ll.Network pairs it with; use it inside ll.Network([...])."
            )
        return self.unfold(x, batch_shape, mask)[0]

    def describe(self):
        return "frames back into sequences"


class FlattenLayer(Layer):
    """Each (H, W, C) frame becomes one vector of H*W*C values (row-major: C varies fastest).

    (B, T, H, W, C) -> (B, T, H*W*C), or (M, H, W, C) -> (M, H*W*C) for folded frames. Vector
    inputs pass unchanged.
    """

    kind = "flatten"

    def __init__(self, *, name=""):
        super().__init__(name)
        self.frame_shape = None

    def build(self, input_size):
        self.frame_shape = input_size if isinstance(input_size, tuple) else None
        return math.prod(input_size) if isinstance(input_size, tuple) else input_size

    def forward(self, x):
        if self.frame_shape is None or not torch.is_tensor(x):
            return x
        dims = len(self.frame_shape)
        if tuple(x.shape[-dims:]) != self.frame_shape:
            raise ValueError(f"{self.name or self.kind}: expects frames of shape {self.frame_shape}; got {tuple(x.shape[-dims:])}.")
        return x.flatten(-dims)

    def describe(self):
        return "frames to vectors" if self.frame_shape is None else f"{'x'.join(map(str, self.frame_shape))} frames to {math.prod(self.frame_shape)} values"
