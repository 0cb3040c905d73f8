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

    M is the number of real frames (B*T without padding), sequence by sequence in order; padded
    frames are left out. Between this layer and the next `sequence_unfolding_layer`, frames are
    independent images: 2-D convolution, ReLU and batch normalization work on them (the latter takes
    its statistics over real frames only); a recurrent layer, or one that pools time away, is
    refused there by `ll.Network`, which also pairs each folding layer with the next unfolding
    layer and hands that one the batch shape (B, T) and the mask. As MATLAB's sequenceFoldingLayer,
    with no miniBatchSize output to connect. `ll.export_onnx` cannot write it.

    Args:
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> fold = ll.sequence_folding_layer()
    >>> fold(torch.zeros(2, 5, 8, 8, 1)).shape
    torch.Size([10, 8, 8, 1])
    >>> real = torch.tensor([[True] * 3 + [False] * 2, [True] * 5])  # (B, T): 3 and 5 real frames
    >>> fold(torch.zeros(2, 5, 8, 8, 1), mask=real).shape
    torch.Size([8, 8, 8, 1])
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

    Each frame goes back to its sequence and time step, with the batch shape (B, T) and the mask of
    that folding layer: in an `ll.Network` the two are paired automatically, and the network hands
    them over (MATLAB's connectLayers(lgraph, 'fold/miniBatchSize', 'unfold/miniBatchSize') has
    nothing to do here). Padded frames come back as zeros, and the mask is the folding layer's
    again. Called on its own, outside a network, it asks for them: layer(x, batch_shape=(B, T),
    mask=None). As MATLAB's sequenceUnfoldingLayer. `ll.export_onnx` cannot write it.

    Args:
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer((8, 8, 1)), ll.sequence_folding_layer(),
    ...                   ll.convolution2d_layer(3, 4, padding="same"), ll.sequence_unfolding_layer()])
    >>> net(torch.zeros(2, 5, 8, 8, 1)).shape  # frames (10, 8, 8, 4) back into sequences
    torch.Size([2, 5, 8, 8, 4])
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

    (B, T, H, W, C) -> (B, T, H*W*C), or (M, H, W, C) -> (M, H*W*C) for folded frames: after 2-D
    convolutions it makes vector sequences for the recurrent layers. The frame shape comes from the
    layer before it when a network is built (`build`); frames of another shape are refused, and
    vector inputs pass unchanged, as does any input before the layer is built. The padding mask
    passes through unchanged. As MATLAB's flattenLayer.

    Args:
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> layer = ll.flatten_layer()
    >>> layer.build((4, 4, 3))  # what a network does, from the size of the layer before
    48
    >>> layer(torch.zeros(2, 5, 4, 4, 3)).shape
    torch.Size([2, 5, 48])
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
