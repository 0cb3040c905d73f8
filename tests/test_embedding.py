"""Word embedding: id k gives column k of the weights (1-based), 0 (padding) gives zeros."""

import numpy as np
import pytest
import torch

import lstmlab as ll
from helpers import naming, shaken

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
    with pytest.raises(ValueError, match=naming("predict: X is one 2-D array of shape (2, 4)", "layer 'embedding'", "(T,) array", "X[..., None]")):
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
    with pytest.raises(ValueError, match=naming("word_embedding_layer: weights", "(3, 5)", "got (5, 3)")):
        ll.word_embedding_layer(3, 5, weights=np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"word_embedding_layer: num_words must be a positive integer; got 0"):
        ll.word_embedding_layer(3, 0)
    layer, _ = embedding(rng)
    with pytest.raises(ValueError, match=naming("embedding: token id 6", "from 1 to num_words=5")):
        layer(torch.tensor([[[6.0]]]))
    for bad in (1.5, float("nan")):
        with pytest.raises(ValueError, match=rf"embedding: token id {bad:g} is outside the vocabulary"):
            layer(torch.tensor([[[2.0]], [[bad]]]))
    with pytest.raises(ValueError, match=naming("embedding:", "(batch, time, 1)", "got torch.Size([1, 2, 2])")):
        layer(torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match=naming("embedding:", "sequence_input_layer(1)", "time steps of size 3")):
        ll.Network([ll.sequence_input_layer(3), ll.word_embedding_layer(2, 4)])


def torch_text_model():
    """A torch embedding and LSTM, as a torch text model holds them: ids count from 0."""
    torch.manual_seed(0)
    return torch.nn.Embedding(NUM_WORDS, DIMENSION), torch.nn.LSTM(DIMENSION, 4, batch_first=True)


def test_first_id_0_reads_torch_ids_and_gives_torch_outputs(rng):
    embedding, lstm = torch_text_model()
    ids = torch.as_tensor(rng.integers(0, NUM_WORDS, size=(3, 7)))  # (N, T) torch's ids, 0 among them
    assert (ids == 0).any()
    expected = lstm(embedding(ids))[0].detach().numpy()  # (N, T, H)
    layer = ll.word_embedding_layer(DIMENSION, NUM_WORDS, first_id=0, weights=embedding.weight.detach().T)
    net = ll.Network([ll.sequence_input_layer(1), layer, ll.from_torch(lstm)])
    out = ll.predict(net, list(ids.numpy()))
    np.testing.assert_allclose(np.stack(out), expected, atol=1e-5, rtol=0)
    # the default counts from 1: the same ids give other numbers, so a list holding id 0 is refused
    one_based = ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(DIMENSION, NUM_WORDS, weights=embedding.weight.detach().T), ll.from_torch(lstm)])
    with pytest.raises(ValueError, match=naming("predict: X[0] has token id 0", "layer 'embedding'", "first_id=1", "first_id=0")):
        ll.predict(one_based, list(ids.numpy()))
    np.testing.assert_allclose(np.stack(ll.predict(one_based, list(ids.numpy() + 1))), expected, atol=1e-5, rtol=0)


def test_id_0_is_refused_in_a_list_and_one_sequence_but_is_padding_in_an_array(rng):
    net = text_net(rng)
    with pytest.raises(ValueError, match=naming("predict: X[1] has token id 0 at time step 2", "layer 'embedding'")):
        ll.predict(net, [np.array([1, 2]), np.array([3, 4, 0])])
    with pytest.raises(ValueError, match=r"predict: X has token id 0 at time step 0"):
        ll.predict(net, np.array([0, 2]))
    padded = np.array([[1, 2, 0], [3, 4, 5]], dtype=float)[..., None]  # (N, T, 1), padded by the user
    out = ll.predict(net, padded)
    assert np.shape(out) == (2, 3, 2)
    np.testing.assert_allclose(out[0][:2], ll.predict(net, np.array([1, 2])), atol=1e-12, rtol=0)  # the steps before the padding


def test_first_id_0_maps_id_k_to_column_k_without_padding(rng):
    weights = rng.normal(size=(DIMENSION, NUM_WORDS)).astype(np.float32)
    layer = ll.word_embedding_layer(DIMENSION, NUM_WORDS, first_id=0, weights=weights)
    y = layer(torch.tensor([[[0.0], [4.0], [2.0]]]))[0].detach().numpy()
    np.testing.assert_array_equal(y, weights[:, [0, 4, 2]].T)
    with pytest.raises(ValueError, match=naming("embedding: token id 5", "from 0 to num_words - 1 = 4", "first_id=0")):
        layer(torch.tensor([[[5.0]]]))
    with pytest.raises(ValueError, match=naming("word_embedding_layer: first_id must be 1", "or 0", "got 2")):
        ll.word_embedding_layer(DIMENSION, NUM_WORDS, first_id=2)
    with pytest.raises(ValueError, match=r"first_id must be .*; got True"):
        ll.word_embedding_layer(DIMENSION, NUM_WORDS, first_id=True)


@pytest.mark.parametrize("first_id", [0, 1])
def test_to_torch_maps_the_same_ids_to_the_same_vectors(first_id, rng):
    layer, _ = embedding(rng)
    layer = ll.word_embedding_layer(DIMENSION, NUM_WORDS, first_id=first_id, weights=layer.weights.detach())
    module = ll.to_torch(layer)
    assert module.num_embeddings == NUM_WORDS + first_id and module.padding_idx == (0 if first_id else None)
    ids = torch.arange(0, NUM_WORDS + first_id)  # every id the layer reads, padding included
    np.testing.assert_array_equal(module(ids).detach().numpy(), layer(ids[None, :, None].float())[0].detach().numpy())


@pytest.mark.parametrize("first_id", [0, 1])
def test_first_id_is_saved_and_loaded(first_id, rng, tmp_path):
    net = ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(DIMENSION, NUM_WORDS, first_id=first_id), ll.lstm_layer(4)])
    X = [np.array([1, 2, 4]), np.array([3, 1])]
    net.save(tmp_path / "net.npz")
    loaded = ll.load_network(tmp_path / "net.npz")
    assert loaded["embedding"].first_id == first_id
    for a, b in zip(ll.predict(net, X), ll.predict(loaded, X)):
        np.testing.assert_array_equal(a, b)
