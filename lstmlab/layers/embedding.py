"""Word embedding: each token id becomes a learned vector.

Token sequences enter as (T,) integer arrays (or (T, 1)), through `sequence_input_layer(1)`. Ids
count from 1 to num_words, as MATLAB's word encodings number words; 0 is padding and maps to a
vector of zeros, so that `ll.sequence_batches` can pad token sequences with its default value 0.
"""

import torch
import torch.nn.functional as F

from .._checks import as_tensor, check_choice, check_positive_int
from ..initializers import FILTER_INITIALIZERS, initialize
from .base import Layer, check_dtype


class WordEmbeddingLayer(Layer):
    """(B, T, 1) token ids -> (B, T, dimension): column `id` of the weights, zeros for id 0.

    Args:
        dimension: the length of each word vector.
        num_words: the vocabulary size; ids run from 1 to num_words.
        weights_initializer: "narrow-normal" (default, as MATLAB) | "glorot" | "he" | "zeros" |
            "ones" | callable.
        weights: given (dimension, num_words) vectors, one column per word (MATLAB's layout).
        name: the layer's name.

    >>> import torch, lstmlab as ll
    >>> emb = ll.word_embedding_layer(4, num_words=10)
    >>> emb(torch.tensor([[[3.0], [0.0]]])).shape
    torch.Size([1, 2, 4])
    """

    kind = "embedding"

    def __init__(self, dimension, num_words, *, weights_initializer="narrow-normal", weights=None, name=""):
        super().__init__(name)
        where = "word_embedding_layer"
        self.dimension = check_positive_int(dimension, "dimension", where)
        self.num_words = check_positive_int(num_words, "num_words", where)
        initializer = check_choice(weights_initializer, "weights_initializer", FILTER_INITIALIZERS, where, allow_callable=True)
        shape = (self.dimension, self.num_words)
        if weights is None:
            weights = initialize(initializer, shape, "weights_initializer", where)
        self.weights = self.make_parameter(as_tensor(weights, "weights", shape, where, " (dimension, num_words): one column per word"))

    def build(self, input_size):
        if input_size != 1:
            raise ValueError(
                f"{self.name or self.kind}: expects one channel of token ids (sequence_input_layer(1)); the input has "
                f"time steps of size {input_size}."
            )
        return self.dimension

    def bad_ids(self, ids):
        """Where ids (any shape) are not whole numbers in 0..num_words: a bool array of the same shape."""
        return (ids != ids.round()) | (ids < 0) | (ids > self.num_words)

    def forward(self, x):
        who = self.name or self.kind
        if not torch.is_tensor(x) or x.shape[-1:] != (1,):
            raise ValueError(f"{who}: expects token ids of shape (batch, time, 1); got {getattr(x, 'shape', type(x).__name__)}.")
        check_dtype(x, self.weights, who)
        ids = x[..., 0]  # (B, T)
        bad = self.bad_ids(ids)
        if bad.any():
            raise ValueError(
                f"{who}: token id {ids[bad][0].item():g} is outside the vocabulary; ids must be whole numbers from 1 to "
                f"num_words={self.num_words} (0 for padding)."
            )
        ids = ids.long()
        vectors = F.embedding((ids - 1).clamp(min=0), self.weights.T)  # (B, T, dimension)
        return vectors * (ids > 0)[..., None]  # padding: zeros

    def config(self):
        return {"dimension": self.dimension, "num_words": self.num_words, "name": self.name}

    def describe(self):
        return f"{self.num_words} words to vectors of {self.dimension}"
