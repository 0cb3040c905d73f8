"""Word embedding: id k gives column k of the weights (1-based), 0 (padding) gives zeros."""

import numpy as np
import pytest
import torch

import lstmlab as ll
from helpers import shaken

DIMENSION, NUM_WORDS = 3, 5


def embedding(rng):
    weights = rng.normal(size=(DIMENSION, NUM_WORDS)).astype(np.float32)  # one column per word
    return ll.word_embedding_layer(DIMENSION, NUM_WORDS, weights=weights), weights


def test_id_k_gives_column_k_and_zero_gives_zeros(rng):
    layer, weights = embedding(rng)
    ids = torch.tensor([[[1.0], [5.0], [0.0], [3.0]]])  # (1, 4, 1)
    y = layer(ids)
    assert y.shape == (1, 4, DIMENSION)
    np.testing.assert_array_equal(y[0, 0].detach().numpy(), weights[:, 0])
    np.testing.assert_array_equal(y[0, 1].detach().numpy(), weights[:, 4])
    np.testing.assert_array_equal(y[0, 2].detach().numpy(), np.zeros(DIMENSION))
    np.testing.assert_array_equal(y[0, 3].detach().numpy(), weights[:, 2])
    assert layer.weights.shape == (DIMENSION, NUM_WORDS)
    assert ll.word_embedding_layer(4, num_words=10)(torch.tensor([[[3.0], [0.0]]])).shape == (1, 2, 4)


def test_gradients_reach_only_the_columns_used(rng):
    layer, _ = embedding(rng)
    ids = torch.tensor([[[2.0], [4.0], [2.0], [0.0]]])  # word 1 is not used: padding must not train it
    upstream = torch.as_tensor(rng.normal(size=(1, 4, DIMENSION)), dtype=torch.float32)
    (layer(ids) * upstream).sum().backward()
    grad = layer.weights.grad.numpy()  # (DIMENSION, NUM_WORDS)
    np.testing.assert_allclose(grad[:, 1], upstream[0, 0] + upstream[0, 2], rtol=1e-6)  # word 2, used twice
    np.testing.assert_allclose(grad[:, 3], upstream[0, 1], rtol=1e-6)
    for unused in (0, 2, 4):
        assert not grad[:, unused].any()


def text_net(rng):
    net = ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(DIMENSION, NUM_WORDS), ll.lstm_layer(4), ll.fully_connected_layer(2)]).double()
    return shaken(net, rng)


def test_predict_with_a_list_of_integer_token_arrays(rng):
    net = text_net(rng)
    X = [np.array([1, 2, 5, 3]), np.array([4]), np.array([2, 2, 1])]
    out = ll.predict(net, X)
    assert [y.shape for y in out] == [(4, 2), (1, 2), (3, 2)]
    # the same as the LSTM and fc on the word vectors
    vectors = ll.Network([ll.sequence_input_layer(DIMENSION), ll.lstm_layer(4), ll.fully_connected_layer(2)]).double()
    vectors["lstm"].load_state_dict(net["lstm"].state_dict())
    vectors["fc"].load_state_dict(net["fc"].state_dict())
    W = net["embedding"].weights.detach().numpy()
    expected = ll.predict(vectors, [W[:, x - 1].T for x in X])
    for a, b in zip(out, expected):
        np.testing.assert_allclose(a, b, atol=1e-12, rtol=0)


def test_one_token_sequence_is_data_and_a_2d_array_of_them_is_refused(rng):
    net = text_net(rng)
    x = np.array([1, 2, 5, 3])
    np.testing.assert_array_equal(ll.predict(net, x), ll.predict(net, [x])[0])
    np.testing.assert_array_equal(ll.predict(net, x[:, None]), ll.predict(net, [x])[0])  # a (T, 1) column is one sequence too
    assert ll.trace(net, x)["lstm"].h.shape == (1, 4, 4)
    with pytest.raises(ValueError, match=r"predict: X is one 2-D array of shape \(2, 4\), which lstmlab reads as one \(T, C\) sequence, but the network reads token ids in one channel \(layer 'embedding'\). Give one token sequence as a \(T,\) array, or N token sequences as a list of \(T,\) arrays or an \(N, T, 1\) array \(X\[..., None\]\)"):
        ll.predict(net, np.array([[1, 2, 5, 3], [4, 4, 1, 2]]))
    with pytest.raises(ValueError, match=r"predict: X has token id 6 at time step 1, outside the vocabulary"):
        ll.predict(net, np.array([1, 6]))


@pytest.mark.parametrize("direction", ["left", "right"])
def test_each_sequence_alone_equals_it_in_a_padded_mini_batch(direction, rng):
    net = text_net(rng)
    X = [rng.integers(1, NUM_WORDS + 1, size=T) for T in (6, 2, 4, 1)]
    options = {"sequence_padding_direction": direction, "freeze_padding": True}
    alone = ll.predict(net, X, mini_batch_size=1, **options)
    together = ll.predict(net, X, mini_batch_size=len(X), **options)
    for a, b in zip(alone, together):
        np.testing.assert_allclose(b, a, atol=1e-10, rtol=0)


@pytest.mark.parametrize(
    "X, message",
    [
        ([np.array([1, 2]), np.array([3, 6, 1])], r"predict: X\[1\] has token id 6 at time step 1, outside the vocabulary of layer 'embedding': .*num_words=5"),
        ([np.array([1, -1])], r"predict: X\[0\] has token id -1 at time step 1, outside the vocabulary .*num_words=5 \(0 for padding\)"),
        ([np.array([[1.0], [2.5], [3.0]])], r"predict: X\[0\] has token id 2.5 at time step 1, .*ids are whole numbers from 1 to num_words=5"),
    ],
)
def test_token_ids_outside_the_vocabulary_are_named(X, message, rng):
    with pytest.raises(ValueError, match=message):
        ll.predict(text_net(rng), X)


def test_bad_options_and_inputs(rng):
    with pytest.raises(ValueError, match=r"word_embedding_layer: weights must have shape \(3, 5\) \(dimension, num_words\): one column per word; got \(5, 3\)"):
        ll.word_embedding_layer(3, 5, weights=np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"word_embedding_layer: num_words must be a positive integer; got 0"):
        ll.word_embedding_layer(3, 0)
    layer, _ = embedding(rng)
    with pytest.raises(ValueError, match=r"embedding: token id 6 is outside the vocabulary; ids must be whole numbers from 1 to num_words=5"):
        layer(torch.tensor([[[6.0]]]))
    with pytest.raises(ValueError, match=r"embedding: expects token ids of shape \(batch, time, 1\); got torch.Size\(\[1, 2, 2\]\)"):
        layer(torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match=r"embedding: expects one channel of token ids \(sequence_input_layer\(1\)\); the input has time steps of size 3"):
        ll.Network([ll.sequence_input_layer(3), ll.word_embedding_layer(2, 4)])
