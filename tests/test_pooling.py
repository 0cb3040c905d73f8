"""Pooling over time: against torch's max_pool1d/avg_pool1d, by hand, and with the padding of a
mini-batch, which never wins a maximum and never dilutes an average."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lstmlab as ll
from helpers import naming, shaken

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
DTYPES = [torch.float32, torch.float64]


def by_torch(x):
    """(B, T, C) -> (B, C, T), torch's layout for pooling over time."""
    return x.transpose(1, 2)


# --- against torch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size, stride, padding", [(2, 1, 0), (3, 2, 0), (3, 2, 1), (4, 3, 2), (2, 2, 1)])
def test_max_and_average_pooling_match_torch(size, stride, padding, dtype, rng):
    x = torch.as_tensor(rng.normal(size=(3, 10, 4)), dtype=dtype)
    expected_max = F.max_pool1d(by_torch(x), size, stride, padding)  # torch pads with -inf
    expected_zero = F.avg_pool1d(by_torch(x), size, stride, padding, count_include_pad=True)
    expected_mean = F.avg_pool1d(by_torch(x), size, stride, padding, count_include_pad=False)

    y_max = ll.max_pooling1d_layer(size, stride=stride, padding=padding)(x)
    y_zero = ll.average_pooling1d_layer(size, stride=stride, padding=padding)(x)
    y_mean = ll.average_pooling1d_layer(size, stride=stride, padding=padding, padding_value="mean")(x)
    for y, expected in ((y_max, expected_max), (y_zero, expected_zero), (y_mean, expected_mean)):
        assert y.dtype == dtype
        torch.testing.assert_close(by_torch(y), expected, atol=TOLERANCE[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T, pads", [(9, (1, 1)), (10, (0, 1))])
def test_same_padding_matches_torch_on_the_padded_input(T, pads, dtype, rng):
    """ "same" with stride 2 and a window of 3: ceil(T/2) outputs, (ceil(T/2) - 1) 2 + 3 - T steps of padding."""
    x = torch.as_tensor(rng.normal(size=(2, T, 3)), dtype=dtype)
    expected_max = F.max_pool1d(F.pad(by_torch(x), pads, value=-torch.inf), 3, 2)
    expected_avg = F.avg_pool1d(F.pad(by_torch(x), pads), 3, 2)
    y_max = ll.max_pooling1d_layer(3, stride=2, padding="same")(x)
    y_avg = ll.average_pooling1d_layer(3, stride=2, padding="same")(x)
    assert y_max.shape == y_avg.shape == (2, -(-T // 2), 3)
    torch.testing.assert_close(by_torch(y_max), expected_max, atol=TOLERANCE[dtype], rtol=0)
    torch.testing.assert_close(by_torch(y_avg), expected_avg, atol=TOLERANCE[dtype], rtol=0)


# --- by hand ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: ll.max_pooling1d_layer(2), [2, 3, 4, 5, 6]),
        (lambda: ll.max_pooling1d_layer(2, stride=2), [2, 4, 6]),
        (lambda: ll.max_pooling1d_layer(4, stride=3, padding="same"), [4, 6]),  # pads 1 step after: [4, 5, 6, pad]
        (lambda: ll.max_pooling1d_layer(3, padding="causal"), [1, 2, 3, 4, 5, 6]),
        (lambda: ll.average_pooling1d_layer(2, stride=2), [1.5, 3.5, 5.5]),
        (lambda: ll.average_pooling1d_layer(3, stride=2, padding="same"), [2, 4, 11 / 3]),  # (5 + 6 + 0) / 3
        (lambda: ll.average_pooling1d_layer(3, stride=2, padding="same", padding_value="mean"), [2, 4, 5.5]),
        (lambda: ll.average_pooling1d_layer(3, padding="causal"), [1 / 3, 1, 2, 3, 4, 5]),
        (lambda: ll.average_pooling1d_layer(3, padding="causal", padding_value="mean"), [1, 1.5, 2, 3, 4, 5]),
    ],
)
def test_pooling_the_sequence_1_to_6(make, expected):
    x = torch.arange(1.0, 7.0).reshape(1, 6, 1)
    np.testing.assert_allclose(make()(x)[0, :, 0].numpy(), expected, rtol=1e-6)


def test_docstring_examples():
    x = torch.arange(6.0).reshape(1, 6, 1)
    assert ll.max_pooling1d_layer(2, stride=2)(x)[0, :, 0].tolist() == [1, 3, 5]
    assert ll.average_pooling1d_layer(2, stride=2)(x)[0, :, 0].tolist() == [0.5, 2.5, 4.5]


# --- masked: the padding of a mini-batch -----------------------------------------------------------

SHORT = -np.array([1.0, 2.0, 3.0])  # negative, so that a padded 0 would win a maximum
LONG = -np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def padded(direction):
    """SHORT and LONG as one (2, 5, 1) mini-batch, padded with zeros, and its mask."""
    x, mask = ll.pad_sequences([SHORT[:, None], LONG[:, None]], direction=direction)
    return torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(mask)


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize(
    "make, short, long",
    [
        # window 2, stride 2, "same": SHORT pads one step after ([-3, pad]), LONG too ([-5, pad])
        (lambda: ll.max_pooling1d_layer(2, stride=2, padding="same"), [-1, -3], [-1, -3, -5]),
        (lambda: ll.average_pooling1d_layer(2, stride=2, padding="same"), [-1.5, -1.5], [-1.5, -3.5, -2.5]),
        (lambda: ll.average_pooling1d_layer(2, stride=2, padding="same", padding_value="mean"), [-1.5, -3], [-1.5, -3.5, -5]),
        (lambda: ll.max_pooling1d_layer(2), [-1, -2], [-1, -2, -3, -4]),
        (lambda: ll.average_pooling1d_layer(3), [-2], [-2, -3, -4]),
    ],
)
def test_masked_pooling_by_hand(make, short, long, direction):
    layer = make().double()
    x, mask = padded(direction)
    y, out_mask = layer.propagate(x, mask)
    assert y.shape == (2, len(long), 1)
    assert out_mask[0].sum() == len(short) and out_mask[1].all()
    first_real = len(long) - len(short) if direction == "left" else 0
    assert out_mask[0].tolist() == [first_real <= t < first_real + len(short) for t in range(len(long))]
    np.testing.assert_allclose(y[0, out_mask[0], 0].numpy(), short, rtol=1e-12)
    np.testing.assert_allclose(y[1, :, 0].numpy(), long, rtol=1e-12)
    assert not y[0, ~out_mask[0]].any()  # padded outputs hold zeros
    alone = layer(torch.as_tensor(SHORT).reshape(1, -1, 1))[0, :, 0]
    np.testing.assert_allclose(alone.numpy(), short, rtol=1e-12)


@pytest.mark.parametrize("direction", ["left", "right"])
def test_global_pooling_over_real_steps_only(direction):
    x, mask = padded(direction)
    x = torch.cat([x, -x], dim=2)  # a second channel, positive
    gmax, gavg = ll.global_max_pooling1d_layer(), ll.global_average_pooling1d_layer()
    np.testing.assert_allclose(gmax(x, mask).numpy(), [[-1, 3], [-1, 5]])
    np.testing.assert_allclose(gavg(x, mask).numpy(), [[-2, 2], [-3, 3]])
    y, out_mask = gmax.propagate(x, mask)
    assert y.shape == (2, 2) and out_mask is None
    # without the mask the padded zeros would win and dilute
    assert gmax(x)[0, 0] == 0 and gavg(x)[0, 0] == pytest.approx(-6 / 5)


def test_global_pooling_of_a_sequence_with_no_real_steps_is_zero():
    x = -torch.ones(2, 3, 2)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    assert ll.global_max_pooling1d_layer()(x, mask).tolist() == [[-1, -1], [0, 0]]
    assert ll.global_average_pooling1d_layer()(x, mask).tolist() == [[-1, -1], [0, 0]]


@pytest.mark.parametrize("direction", ["left", "right"])
def test_each_sequence_alone_equals_it_in_a_padded_mini_batch(direction, rng):
    C = 2
    net = ll.Network(
        [
            ll.sequence_input_layer(C),
            ll.max_pooling1d_layer(3, stride=2, padding="same"),
            ll.average_pooling1d_layer(2, stride=2, padding="same"),
            ll.lstm_layer(4),
            ll.average_pooling1d_layer(3, stride=2, padding="same", padding_value="mean"),
            ll.fully_connected_layer(3),
        ]
    ).double()
    shaken(net, rng)
    X = [rng.normal(size=(T, C)) - 3 for T in (11, 4, 7, 1)]  # negative: padding would win a maximum
    options = {"sequence_padding_direction": direction, "freeze_padding": True}
    alone = ll.predict(net, X, mini_batch_size=1, **options)
    together = ll.predict(net, X, mini_batch_size=len(X), **options)
    assert [len(y) for y in together] == [2, 1, 1, 1]  # ceil(ceil(ceil(T / 2) / 2) / 2)
    for a, b in zip(alone, together):
        np.testing.assert_allclose(b, a, atol=1e-10, rtol=0)

    pooled = ll.Network([ll.sequence_input_layer(C), ll.max_pooling1d_layer(3, stride=2, padding="same"), ll.global_average_pooling1d_layer()])
    alone = ll.predict(pooled, X, mini_batch_size=1, sequence_padding_direction=direction)
    together = ll.predict(pooled, X, mini_batch_size=len(X), sequence_padding_direction=direction)
    np.testing.assert_array_equal(together, alone)
    assert together.shape == (4, C)


# --- bad options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ll.max_pooling1d_layer(2, padding=-1), r"max_pooling1d_layer: padding must be 'same' or 'causal', a non-negative integer .*got -1"),
        (lambda: ll.average_pooling1d_layer(2, padding=(0, -2)), r"average_pooling1d_layer: padding must be .*got \(0, -2\)"),
        (lambda: ll.max_pooling1d_layer(2, padding=(2, 0)), r"max_pooling1d_layer: padding \(2, 0\) must be smaller than pool_size=2"),
        (lambda: ll.average_pooling1d_layer(2, padding_value=1), r"average_pooling1d_layer: padding_value must be 0 or 'mean'; got 1"),
        (lambda: ll.max_pooling1d_layer(0), r"max_pooling1d_layer: pool_size must be a positive integer; got 0"),
        (lambda: ll.average_pooling1d_layer(2.5), r"average_pooling1d_layer: pool_size must be a positive integer; got 2.5"),
        (lambda: ll.max_pooling1d_layer(2, stride=0), r"max_pooling1d_layer: stride must be a positive integer; got 0"),
    ],
)
def test_bad_options(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_too_short_and_wrong_shapes():
    with pytest.raises(ValueError, match=naming("maxpool1d: a sequence of 2 time steps", "window of size 3", "at least 3 steps")):
        ll.max_pooling1d_layer(3)(torch.zeros(1, 2, 1))
    with pytest.raises(ValueError, match=naming("layer 'avgpool1d'", "at least 4 steps", "min_length=4")):
        ll.Network([ll.sequence_input_layer(1, min_length=2), ll.average_pooling1d_layer(4)])
    with pytest.raises(ValueError, match=r"gmaxpool1d: expects input of shape \(batch, time, channels\); got \(2, 3\)"):
        ll.global_max_pooling1d_layer()(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"maxpool1d: expects input of shape \(batch, time, channels\)"):
        ll.max_pooling1d_layer(2)(torch.zeros(2, 3))


def test_output_lengths_and_what_a_network_returns(rng):
    net = ll.Network([ll.sequence_input_layer(2, min_length=4), ll.max_pooling1d_layer(2, stride=2), ll.average_pooling1d_layer(2), ll.global_max_pooling1d_layer()])
    assert net.output_lengths(9) == [9, 4, 3, None]
    assert not net.returns_sequence
    assert ll.predict(net, [rng.normal(size=(T, 2)) for T in (4, 9)]).shape == (2, 2)
