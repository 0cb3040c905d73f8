"""Image sequences: folding frames into one batch, unfolding them back, and flattening frames."""

import numpy as np
import pytest
import torch

import lstmlab as ll
from helpers import naming, shaken


def image_batch(rng, lengths=(3, 1, 2), frame=(4, 3, 2), direction="right"):
    """A padded mini-batch of image sequences (B, T, H, W, C), its mask and the sequences."""
    X = [rng.normal(size=(T, *frame)) for T in lengths]
    x, mask = ll.pad_sequences(X, direction=direction)
    return torch.as_tensor(x), torch.as_tensor(mask), X


@pytest.mark.parametrize("direction", ["left", "right"])
def test_fold_and_unfold_round_trip(direction, rng):
    x, mask, X = image_batch(rng, direction=direction)
    assert x.shape == (3, 3, 4, 3, 2)
    frames = ll.sequence_folding_layer().fold(x, mask)
    assert frames.shape == (6, 4, 3, 2)  # 3 + 1 + 2 real frames, padded ones left out
    np.testing.assert_array_equal(frames.numpy(), np.concatenate(X))  # in order, sequence by sequence
    back, back_mask = ll.sequence_unfolding_layer().unfold(frames, x.shape[:2], mask)
    assert back_mask is mask
    np.testing.assert_array_equal(back[mask].numpy(), x[mask].numpy())
    assert not back[~mask].any()  # padded frames come back as zeros

    every = ll.sequence_folding_layer()(x)  # without a mask: every frame
    assert every.shape == (9, 4, 3, 2)
    back, back_mask = ll.sequence_unfolding_layer().unfold(every, x.shape[:2], None)
    assert back_mask is None and torch.equal(back, x)


def test_a_network_unfolds_what_it_folds(rng):
    net = ll.Network([ll.sequence_input_layer((4, 3, 2)), ll.sequence_folding_layer(), ll.relu_layer(), ll.sequence_unfolding_layer()])
    x, mask, X = image_batch(rng)
    y, finals, out_mask = net.run(x.float(), mask)
    assert y.shape == x.shape and finals == {} and torch.equal(out_mask, mask)
    np.testing.assert_array_equal(y[mask].numpy(), np.maximum(x[mask].float().numpy(), 0))
    assert net.summary()["output shape"].tolist() == ["(T, 4x3x2)", "(frames, 4x3x2)", "(frames, 4x3x2)", "(T, 4x3x2)"]
    out = ll.predict(net, X)
    assert [y.shape for y in out] == [(3, 4, 3, 2), (1, 4, 3, 2), (2, 4, 3, 2)]
    np.testing.assert_allclose(out[0], np.maximum(X[0], 0), rtol=1e-6)


@pytest.mark.parametrize(
    "layers, message",
    [
        ([ll.sequence_unfolding_layer], r"Network: 'unfold' unfolds, but no sequence_folding_layer comes before it\."),
        ([ll.sequence_folding_layer], r"Network: 'fold' folds frames that nothing unfolds; add a sequence_unfolding_layer after the frame layers\."),
        (
            [ll.sequence_folding_layer, ll.sequence_folding_layer, ll.sequence_unfolding_layer],
            r"Network: 'fold_2' folds frames that 'fold_1' has already folded; unfold them first\.",
        ),
        (
            [ll.sequence_folding_layer, ll.flatten_layer, lambda: ll.lstm_layer(3), ll.sequence_unfolding_layer],
            r"Network: 'lstm' needs whole sequences, but the frames are folded by 'fold'; put a sequence_unfolding_layer before it\.",
        ),
        (
            [ll.sequence_folding_layer, ll.global_max_pooling1d_layer, ll.sequence_unfolding_layer],
            r"Network: 'gmaxpool1d' needs whole sequences, but the frames are folded by 'fold'",
        ),
    ],
)
def test_unmatched_folding_is_refused(layers, message):
    with pytest.raises(ValueError, match=message):
        ll.Network([ll.sequence_input_layer((4, 4, 1)), *(make() for make in layers)])


def test_an_unfolding_layer_alone_says_it_needs_a_network():
    with pytest.raises(ValueError, match=naming("unfold:", "sequence folding layer", "ll.Network")):
        ll.sequence_unfolding_layer()(torch.zeros(2, 3))


def test_flatten_is_row_major_with_channels_fastest(rng):
    H, W, C = 2, 3, 4
    x = torch.arange(2 * 5 * H * W * C, dtype=torch.float32).reshape(2, 5, H, W, C)
    flatten = ll.flatten_layer()
    assert flatten.build((H, W, C)) == H * W * C
    y = flatten(x)
    assert y.shape == (2, 5, H * W * C)
    h, w, c = 1, 2, 3
    assert y[1, 4, h * W * C + w * C + c] == x[1, 4, h, w, c]
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(2, 5, -1))
    assert flatten(x[0]).shape == (5, H * W * C)  # folded frames (M, H, W, C)
    with pytest.raises(ValueError, match=r"flatten: expects frames of shape \(2, 3, 4\); got \(3, 2, 4\)"):
        flatten(torch.zeros(5, 3, 2, 4))
    vectors = ll.flatten_layer()
    assert vectors.build(7) == 7 and torch.equal(vectors(x[0, 0, 0]), x[0, 0, 0])  # vectors pass unchanged

    net = ll.Network([ll.sequence_input_layer((H, W, C)), ll.flatten_layer()])
    X = [rng.normal(size=(T, H, W, C)) for T in (3, 5)]
    out = ll.predict(net, X)
    assert [y.shape for y in out] == [(3, 24), (5, 24)]
    np.testing.assert_allclose(out[1], X[1].reshape(5, -1), rtol=1e-6)


def test_image_sequences_of_the_wrong_size_are_refused(rng):
    net = ll.Network(
        [ll.sequence_input_layer((16, 16, 1)), ll.sequence_folding_layer(), ll.convolution2d_layer(3, 2), ll.sequence_unfolding_layer(), ll.flatten_layer(), ll.lstm_layer(3)]
    )
    with pytest.raises(ValueError, match=naming("predict: X has time steps of shape (12, 12, 1)", "expects (16, 16, 1)")):
        ll.predict(net, [rng.normal(size=(4, 12, 12, 1))])
    with pytest.raises(ValueError, match=r"predict: X has time steps of shape \(16, 16, 3\); the network expects \(16, 16, 1\)"):
        ll.predict(net, [rng.normal(size=(4, 16, 16, 3))])
    with pytest.raises(ValueError, match=r"predict: X has time steps of shape \(16,\); the network expects \(16, 16, 1\)"):
        ll.predict(net, [rng.normal(size=(4, 16))])


def test_activations_between_fold_and_unfold_are_per_sequence(rng):
    H, W, C = 6, 5, 1
    net = ll.Network(
        [
            ll.sequence_input_layer((H, W, C)),
            ll.sequence_folding_layer(),
            ll.convolution2d_layer(3, 2, padding="same"),
            ll.relu_layer(name="relu"),
            ll.sequence_unfolding_layer(),
            ll.flatten_layer(),
            ll.lstm_layer(3),
        ]
    )
    shaken(net, rng)
    X = [rng.normal(size=(T, H, W, C)).astype(np.float32) for T in (4, 2, 3)]
    conv = ll.activations(net, X, "conv2d", mini_batch_size=2)
    relu = ll.activations(net, X, "relu")
    assert [a.shape for a in conv] == [(4, H, W, 2), (2, H, W, 2), (3, H, W, 2)]
    for x, a, r in zip(X, conv, relu):
        with torch.no_grad():
            expected = net["conv2d"](torch.as_tensor(x)).numpy()  # the frames of one sequence
        np.testing.assert_allclose(a, expected, atol=1e-6, rtol=0)
        np.testing.assert_array_equal(r, np.maximum(a, 0))
    fold = ll.activations(net, X, "fold")
    np.testing.assert_array_equal(fold[1], X[1])


@pytest.mark.parametrize("direction", ["left", "right"])
def test_image_sequences_alone_equal_them_in_a_mini_batch(direction, rng):
    net = ll.Network(
        [
            ll.sequence_input_layer((5, 4, 2), min_length=2),
            ll.sequence_folding_layer(),
            ll.convolution2d_layer((3, 2), 3, stride=2),
            ll.batch_normalization_layer(),
            ll.relu_layer(),
            ll.sequence_unfolding_layer(),
            ll.flatten_layer(),
            ll.convolution1d_layer(2, 4),
            ll.lstm_layer(3),
            ll.fully_connected_layer(2),
        ]
    ).double()
    shaken(net, rng)
    X = [rng.normal(size=(T, 5, 4, 2)) for T in (2, 5, 3)]
    options = {"sequence_padding_direction": direction, "freeze_padding": True}
    alone = ll.predict(net, X, mini_batch_size=1, **options)
    together = ll.predict(net, X, mini_batch_size=3, **options)
    assert [y.shape for y in together] == [(1, 2), (4, 2), (2, 2)]
    for a, b in zip(alone, together):
        np.testing.assert_allclose(b, a, atol=1e-10, rtol=0)
    np.testing.assert_array_equal(ll.predict(net, X[1], **options), alone[1])  # one (T, H, W, C) sequence is data
