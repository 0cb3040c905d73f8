"""Text as data for character language models: a vocabulary, training streams, and a metric.

A character model reads a text one character at a time, as token ids, and at every step scores
the character that comes next:

    text  "def f" --Vocabulary.encode--> ids (T,) --word_embedding_layer--> vectors --lstm_layer-->
    ... --fully_connected_layer(V), softmax_layer--> (T, V) probabilities of the next character

Ids count from 1 to len(vocabulary) (0 is padding, as `ll.word_embedding_layer` reads it); id k is
the k-th character in sorted order, so a network trained on `next_character_data` has the same
characters, in the same order, as its `class_names`.

>>> vocabulary = Vocabulary("hello world")
>>> len(vocabulary), vocabulary.encode("hello")
(8, array([4, 3, 5, 5, 6]))
>>> vocabulary.decode([8, 6, 7, 5, 2])
'world'
"""

import math

import numpy as np
import pandas as pd

from .._checks import check_positive_int


def check_text(text, name, where):
    """text, checked to be a non-empty string (a TypeError or ValueError naming `name` if not)."""
    if not isinstance(text, str):
        raise TypeError(f"{where}: {name} must be a string; got {type(text).__name__}.")
    if not text:
        raise ValueError(f"{where}: {name} is empty; give at least one character.")
    return text


class Vocabulary:
    """The characters of a text, numbered: id k (1..V) is the k-th distinct character in sorted order.

    A character that the vocabulary does not hold is an error in `encode` (a model has no id for
    it, and a silent stand-in would score a character it never saw): build the vocabulary from all
    the text the model will read, or remove the character first.

    Args:
        text: a non-empty string; its distinct characters make the vocabulary.

    Attributes:
        characters: tuple of the V characters, sorted; id k is characters[k - 1].

    >>> vocabulary = Vocabulary("abba")
    >>> vocabulary
    Vocabulary(2 characters: 'ab')
    >>> vocabulary.encode("ab").tolist(), vocabulary.decode([2, 2, 1])
    ([1, 2], 'bba')
    """

    def __init__(self, text):
        text = check_text(text, "text", "Vocabulary")
        self.characters = tuple(sorted(set(text)))
        self._ids = {character: k + 1 for k, character in enumerate(self.characters)}

    def __len__(self):
        return len(self.characters)

    def __repr__(self):
        shown = "".join(self.characters)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"Vocabulary({len(self)} characters: {shown!r})"

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.characters == other.characters

    def encode(self, text):
        """The ids of the characters of `text`: a (T,) int64 array.

        Raises:
            ValueError: for a character the vocabulary does not hold, naming it and where it is.
        """
        text = check_text(text, "text", "Vocabulary.encode")
        try:
            return np.fromiter((self._ids[character] for character in text), dtype=np.int64, count=len(text))  # (T,)
        except KeyError as error:
            character = error.args[0]
            position = text.index(character)
            raise ValueError(
                f"Vocabulary.encode: text[{position}] is {character!r}, a character outside the vocabulary of "
                f"{len(self)} characters; build the Vocabulary from text that holds it, or remove it "
                f"(text.replace({character!r}, ''))."
            ) from None

    def decode(self, ids):
        """The text of a sequence of ids (1..V): a string.

        Raises:
            ValueError: for an id that is not a whole number from 1 to len(vocabulary).
        """
        ids = np.asarray(ids).reshape(-1)  # (T,); a (T, 1) column of token ids reads the same
        bad = (ids != np.round(ids)) | (ids < 1) | (ids > len(self)) if ids.dtype.kind in "iuf" else np.ones(len(ids), bool)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"Vocabulary.decode: ids[{position}] is {ids[position].item()!r}; ids must be whole numbers from 1 to "
                f"{len(self)} (the vocabulary's size). Decode only ids that Vocabulary.encode made."
            )
        return "".join(self.characters[k - 1] for k in ids.astype(np.int64).tolist())


def next_character_data(text, vocabulary, *, num_streams=1):
    """Inputs and next-character targets for `ll.trainnet`, from one long text cut into streams.

    The text is cut into num_streams equally long pieces (the few characters left over at the
    end are dropped), read side by side: with `training_options(mini_batch_size=num_streams,
    sequence_length=L)` each iteration trains on the next L characters of every stream, starting
    from the state where the previous L ended (truncated back-propagation through time). Stream b
    holds characters b*S .. (b+1)*S - 1 of the text (S = (len(text) - 1) // num_streams), and its
    target at each step is the character after it.

    Args:
        text: the text, a string of characters the vocabulary holds.
        vocabulary: an `ll.text.Vocabulary`.
        num_streams: how many pieces to read side by side. Default 1: the whole text as one.

    Returns:
        X: list of num_streams int64 arrays (S,): token ids.
        Y: list of num_streams pandas.Categorical (S,): the next character at every step, with
            the vocabulary's characters as categories (so every network trained on them has
            class_names == list(vocabulary.characters)).

    >>> X, Y = next_character_data("abcabcab", Vocabulary("abc"), num_streams=2)
    >>> [x.tolist() for x in X], [list(y) for y in Y]
    ([[1, 2, 3], [1, 2, 3]], [['b', 'c', 'a'], ['b', 'c', 'a']])
    """
    where = "next_character_data"
    if not isinstance(vocabulary, Vocabulary):
        raise TypeError(f"{where}: vocabulary must be an ll.text.Vocabulary; got {type(vocabulary).__name__}.")
    num_streams = check_positive_int(num_streams, "num_streams", where)
    ids = vocabulary.encode(check_text(text, "text", where))  # (L,)
    length = (len(ids) - 1) // num_streams  # S: steps per stream; the last input needs a next character
    if length < 1:
        raise ValueError(
            f"{where}: text has {len(ids)} characters, too few for num_streams={num_streams} streams of at least one "
            f"step with a next character; give a text of at least {num_streams + 1} characters or fewer streams."
        )
    used = num_streams * length
    inputs = ids[:used].reshape(num_streams, length)  # (B, S)
    following = ids[1:used + 1].reshape(num_streams, length)  # (B, S) the character after each input
    X = list(inputs)
    Y = [pd.Categorical.from_codes(codes - 1, categories=list(vocabulary.characters)) for codes in following]
    return X, Y


def bits_per_character(probabilities, targets):
    """The mean number of bits a model needs per character: -mean(log2 p(next character)).

    A metric for `ll.training_options(metrics=...)`: bits are nats / ln 2, so this is the
    cross-entropy loss divided by ln 2. A model that guessed uniformly among V characters would
    need log2(V) bits; on the held-out Python of `ll.datasets.python_source()` gzip -9 needs 1.9,
    xz -9 1.7.

    Args:
        probabilities: (M, V) probabilities of the next character, one row per step.
        targets: (M,) class codes (0..V-1) of the characters that came.

    >>> bits_per_character(np.array([[0.5, 0.5], [0.25, 0.75]]), np.array([0, 0]))
    1.5
    """
    chosen = probabilities[np.arange(len(targets)), targets]  # (M,)
    return float(-np.mean(np.log(np.maximum(chosen, 1e-12))) / math.log(2))
