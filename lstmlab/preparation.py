"""The checks that data pass before entering a network: `prepare` turns X, a data set or one
sequence, into a list of arrays that fit the network (channels, min_length, token ids), or says
what does not fit and how to fix it."""

import numpy as np
import torch

from .data import as_sequences, is_one_sequence
from .layers import SequenceInputLayer, WordEmbeddingLayer
from .layers.basic import split_complex
from .network import Network


def prepare(net, X, where):
    """Check X, a data set or one sequence, against the network; return the sequences as a list of arrays, ready to pad."""
    if not isinstance(net, Network):
        raise TypeError(f"{where}: net must be an ll.Network; got {type(net).__name__}. Wrap layers with ll.Network([...]).")
    first = net.layers[0]
    is_input = isinstance(first, SequenceInputLayer)
    embedding = token_layer(net)
    one = is_one_sequence(X)
    if one and embedding is not None and X.ndim == 2 and X.shape[1] != 1:
        raise ValueError(
            f"{where}: X is one 2-D array of shape {tuple(X.shape)}, which lstmlab reads as one (T, C) sequence, but the "
            f"network reads token ids in one channel (layer {embedding.name!r}). Give one token sequence as a (T,) array, "
            f"or N token sequences as a list of (T,) arrays or an (N, T, 1) array (X[..., None])."
        )
    split = is_input and first.split_complex_inputs
    sequences = as_sequences(X, where=where, allow_complex=split)
    if split:
        sequences = [split_complex(x) for x in sequences]
    labels = ["X"] if one else [f"X[{n}]" for n in range(len(sequences))]
    step = sequences[0].shape[1:]
    if is_input and step != first.step_shape:
        if len(step) == 1 == len(first.step_shape):
            channels = step[0] // 2 if split else step[0]
            hint = " If the rows of X are sequences of one channel, give X[..., None], an (N, T, 1) array." if one and first.input_size == 1 else ""
            if all(len(x) == first.input_size for x in sequences):  # the time axis holds the expected channels
                hint += _transpose_hint(X, one)
            raise ValueError(f"{where}: X has {channels} channels; the network expects {first.input_size} (input_size={first.input_size}).{hint}")
        raise ValueError(f"{where}: X has time steps of shape {step}; the network expects {first.step_shape} (input_size={first.input_size}).")
    needed = first.min_length if is_input else net.min_length()
    for x, label in zip(sequences, labels):
        if len(x) < needed:
            raise ValueError(
                f"{where}: {label} has {len(x)} time steps, fewer than the {needed} the network needs "
                f"(min_length={needed}); pad it or drop it."
            )
    net.build(step[0] if len(step) == 1 else step)
    if embedding is not None:
        _check_token_ids(sequences, labels, embedding, where, padded=not one and hasattr(X, "ndim"))
    return sequences


def token_layer(net):
    """The word embedding layer that reads the network's token ids (its first or second layer), or None."""
    return next((layer for layer in net.layers[:2] if isinstance(layer, WordEmbeddingLayer)), None)


def _transpose_hint(X, one):
    """How to put time first, for data whose time axis is as long as the network's channels."""
    if one:
        return " If time is on the last axis, transpose to (T, C): X.T."
    if isinstance(X, (np.ndarray, torch.Tensor)):
        swap = "X.transpose(0, 2, 1)" if isinstance(X, np.ndarray) else "X.transpose(1, 2)"
        return f" If time is on the last axis, transpose to (N, T, C): {swap}."
    return " If time is on the last axis, transpose each sequence to (T, C): [x.T for x in X]."


def _check_token_ids(sequences, labels, layer, where, padded):
    """Every token id must be a word of the embedding layer's vocabulary, or padding where the data
    may hold it: in an (N, T, 1) array (padded), never in a list or one sequence, which are not padded yet."""
    for x, label in zip(sequences, labels):
        bad = layer.bad_ids(x[:, 0], padded)
        if bad.any():
            t = int(np.flatnonzero(bad)[0])
            if x[t, 0] == 0 and layer.has_padding:
                raise ValueError(
                    f"{where}: {label} has token id 0 at time step {t}, but layer {layer.name!r} counts words from 1 "
                    f"(first_id=1) and reads 0 as padding, which a sequence given on its own or in a list does not hold "
                    f"yet. If your ids count from 0 (as torch's nn.Embedding), add 1 to them, or make the layer with "
                    f"first_id=0."
                )
            raise ValueError(
                f"{where}: {label} has token id {x[t, 0]:g} at time step {t}, outside the vocabulary of layer "
                f"{layer.name!r}: ids are {layer.ids_text()}. "
                f"Map unknown words to an id of their own, or give word_embedding_layer a larger num_words."
            )
