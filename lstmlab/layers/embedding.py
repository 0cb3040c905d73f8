"""Word embedding: each token id becomes a learned vector.

Token sequences enter as (T,) integer arrays (or (T, 1)), through `sequence_input_layer(1)`.
How ids are counted is the layer's `first_id`:

- first_id=1 (default, MATLAB's word encodings): ids count from 1 to num_words; 0 is padding and
  maps to a vector of zeros, so that `ll.sequence_batches` can pad token sequences with its default
  value 0. A sequence given in a list is not padded yet, so an id 0 in it is refused (see
  `lstmlab.preparation.prepare`). This is torch's `nn.Embedding(num_words + 1, dimension, padding_idx=0)`.
- first_id=0 (torch's `nn.Embedding(num_words, dimension)`): ids count from 0 to num_words - 1 and
  every id is a word; no id is padding. A padded step reads the word of the padding value (word 0
  for the default value 0), as a padded batch does in torch; `freeze_padding=True` keeps padded steps
  out of the recurrent states.
"""

import torch
import torch.nn.functional as F

from .._checks import as_tensor, check_choice, check_positive_int
from ..initializers import FILTER_INITIALIZERS, initialize
from .base import Layer, check_dtype

FIRST_IDS = (1, 0)


class WordEmbeddingLayer(Layer):
    """(B, T, 1) token ids -> (B, T, dimension): column `id - first_id` of the weights.

    Args:
        dimension: the length of each word vector.
        num_words: the vocabulary size; ids run from first_id to first_id + num_words - 1.
        first_id: 1 (default): ids count from 1, as MATLAB's, and 0 is padding (a vector of zeros);
            0: ids count from 0, as torch's nn.Embedding, and no id is padding (module docstring).
        weights_initializer: "narrow-normal" (default, as MATLAB) | "glorot" | "he" | "zeros" |
            "ones" | callable.
        weights: given (dimension, num_words) vectors, one column per word (MATLAB's layout).
        name: the layer's name.

    >>> import torch, lstmlab as ll
    >>> emb = ll.word_embedding_layer(4, num_words=10)
    >>> emb(torch.tensor([[[3.0], [0.0]]])).shape
    torch.Size([1, 2, 4])
    >>> ll.word_embedding_layer(4, num_words=10, first_id=0).describe()  # torch's ids 0..9
    '10 words (ids from 0) to vectors of 4'
    """

    kind = "embedding"

    def __init__(self, dimension, num_words, *, first_id=1, weights_initializer="narrow-normal", weights=None, name=""):
        super().__init__(name)
        where = "word_embedding_layer"
        self.dimension = check_positive_int(dimension, "dimension", where)
        self.num_words = check_positive_int(num_words, "num_words", where)
        if isinstance(first_id, bool) or first_id not in FIRST_IDS:
            raise ValueError(
                f"{where}: first_id must be 1 (ids count from 1 and 0 is padding, as MATLAB's) or 0 (ids count from 0, "
                f"as torch's nn.Embedding); got {first_id!r}."
            )
        self.first_id = int(first_id)
        self.initializers = {"weights": check_choice(weights_initializer, "weights_initializer", FILTER_INITIALIZERS, where, allow_callable=True)}
        shape = (self.dimension, self.num_words)
        if weights is None:
            weights = initialize(self.initializers["weights"], shape, "weights_initializer", where)
        self.weights = self.make_parameter(as_tensor(weights, "weights", shape, where, " (dimension, num_words): one column per word"))

    def build(self, input_size):
        if input_size != 1:
            raise ValueError(
                f"{self.name or self.kind}: expects one channel of token ids (sequence_input_layer(1)); the input has "
                f"time steps of size {input_size}."
            )
        return self.dimension

    @property
    def last_id(self):
        return self.first_id + self.num_words - 1

    @property
    def has_padding(self):
        """Whether id 0 is padding (first_id=1) rather than a word."""
        return self.first_id == 1

    def bad_ids(self, ids, padded=True):
        """Where ids (any shape) are neither words nor, if padded, padding: a bool array of the same shape."""
        lowest = 0 if padded and self.has_padding else self.first_id
        return (ids != ids.round()) | (ids < lowest) | (ids > self.last_id)

    def ids_text(self):
        """What ids the layer reads, for messages."""
        if self.has_padding:
            return f"whole numbers from 1 to num_words={self.num_words} (0 for padding)"
        return f"whole numbers from 0 to num_words - 1 = {self.last_id} (first_id=0)"

    def forward(self, x):
        who = self.name or self.kind
        if not torch.is_tensor(x) or x.shape[-1:] != (1,):
            raise ValueError(f"{who}: expects token ids of shape (batch, time, 1); got {getattr(x, 'shape', type(x).__name__)}.")
        check_dtype(x, self.weights, who)
        ids = x[..., 0]  # (B, T)
        low, high = map(float, ids.aminmax()) if ids.numel() else (self.first_id, self.first_id)  # one pass: cheap for one step
        if low < 0 or high > self.last_id or not torch.equal(ids, ids.round()):  # NaN fails the last
            bad = self.bad_ids(ids)
            raise ValueError(
                f"{who}: token id {ids[bad][0].item():g} is outside the vocabulary; ids must be {self.ids_text()}."
            )
        ids = ids.long()
        if low >= self.first_id:  # no padding
            return F.embedding(ids - self.first_id, self.weights.T)  # (B, T, dimension)
        vectors = F.embedding((ids - self.first_id).clamp(min=0), self.weights.T)  # (B, T, dimension)
        return vectors * (ids > 0)[..., None]  # padding (id 0 where first_id=1): zeros

    def to_torch(self):
        """A torch.nn.Embedding that maps the same ids to the same vectors.

        first_id=0: nn.Embedding(num_words, dimension). first_id=1: nn.Embedding(num_words + 1,
        dimension, padding_idx=0), whose row 0 is zeros and stays so in training, as padding here.
        `ll.from_torch` reads either back as this layer.
        """
        padding_idx = 0 if self.has_padding else None
        table = self.weights.detach().T  # (num_words, dimension)
        if self.has_padding:
            table = torch.cat([table.new_zeros(1, self.dimension), table])  # (num_words + 1, dimension)
        return torch.nn.Embedding.from_pretrained(table.clone(), freeze=False, padding_idx=padding_idx)

    def config(self):
        return {"dimension": self.dimension, "num_words": self.num_words, "first_id": self.first_id, **self.initializer_options(), "name": self.name}

    def describe(self):
        counting = "" if self.has_padding else " (ids from 0)"
        return f"{self.num_words} words{counting} to vectors of {self.dimension}"
