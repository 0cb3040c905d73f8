import numpy as np
import pytest
import torch

import lstmlab as ll

from helpers import naming

MODES = ["zerocenter", "zscore", "rescale-symmetric", "rescale-zero-one"]


def data(rng, C=3, lengths=(4, 9, 2)):
    return [rng.normal(loc=[1.0, -2.0, 5.0][:C], scale=[1.0, 3.0, 0.5][:C], size=(T, C)) for T in lengths]


def by_hand(X, mode, dimension):
    steps = np.concatenate(X)  # every real time step, no padding
    axis = None if dimension == "all" else 0
    mean, std, lo, hi = steps.mean(axis), steps.std(axis), steps.min(axis), steps.max(axis)
    return {
        "zerocenter": lambda x: x - mean,
        "zscore": lambda x: (x - mean) / std,
        "rescale-symmetric": lambda x: 2 * (x - lo) / (hi - lo) - 1,
        "rescale-zero-one": lambda x: (x - lo) / (hi - lo),
    }[mode]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dimension", ["auto", "channel", "element", "all"])
def test_each_mode_and_dimension_against_numpy_with_padding_present(mode, dimension, rng):
    X = data(rng)
    layer = ll.sequence_input_layer(3, normalization=mode, normalization_dimension=dimension).double()
    layer.initialize_normalization(X)
    padded, mask = ll.pad_sequences(X, padding_value=7.0)
    out = layer(torch.as_tensor(padded)).numpy()
    f = by_hand(X, mode, "all" if dimension == "all" else "channel")
    np.testing.assert_allclose(out[mask], f(padded[mask]), rtol=1e-12)
    np.testing.assert_allclose(out[~mask], f(np.full((int((~mask).sum()), 3), 7.0)), rtol=1e-12)  # padding is normalized too


def test_statistics_never_count_padding(rng):
    X = data(rng)
    layer = ll.sequence_input_layer(3, normalization="zscore").initialize_normalization(X)
    padded, mask = ll.pad_sequences(X)
    np.testing.assert_allclose(layer.mean.numpy(), np.concatenate(X).mean(0), rtol=1e-6)
    assert not np.allclose(layer.mean.numpy(), padded.reshape(-1, 3).mean(0), rtol=1e-3)


def test_image_sequences_channel_element_and_all(rng):
    X = [rng.normal(size=(T, 2, 3, 4)) for T in (3, 5)]
    steps = np.concatenate(X)
    shapes = {"channel": (4,), "element": (2, 3, 4), "all": ()}
    for dimension, shape in shapes.items():
        layer = ll.sequence_input_layer((2, 3, 4), normalization="zerocenter", normalization_dimension=dimension)
        layer.initialize_normalization(X)
        assert tuple(layer.mean.shape) == shape
    element = ll.sequence_input_layer((2, 3, 4), normalization="zerocenter", normalization_dimension="element").initialize_normalization(X)
    np.testing.assert_allclose(element.mean.numpy(), steps.mean(0), rtol=1e-5)


def test_given_statistics_are_used_as_they_are(rng):
    X = data(rng)
    given = ll.sequence_input_layer(3, normalization="zscore", mean=[1.0, 2.0, 3.0], standard_deviation=2.0)
    out = given(torch.ones(1, 2, 3)).numpy()
    np.testing.assert_allclose(out[0, 0], [0.0, -0.5, -1.0])
    # reset=False keeps them; reset=True (trainnet's default) recomputes them
    given.initialize_normalization(X, reset=False)
    np.testing.assert_array_equal(given.mean.numpy(), [1, 2, 3])
    given.initialize_normalization(X, reset=True)
    np.testing.assert_allclose(given.mean.numpy(), np.concatenate(X).mean(0), rtol=1e-6)


def test_auto_dimension_follows_a_given_statistic_when_kept(rng):
    X = data(rng)
    layer = ll.sequence_input_layer(3, normalization="zscore", mean=0.0)  # a scalar mean: "all"
    layer.initialize_normalization(X, reset=False)
    assert layer.standard_deviation.shape == ()
    np.testing.assert_allclose(layer.standard_deviation.item(), np.concatenate(X).std(), rtol=1e-6)


def test_callable_normalization_and_describe():
    layer = ll.sequence_input_layer(2, normalization=lambda x: 10 * x)
    np.testing.assert_array_equal(layer(torch.ones(1, 1, 2)).numpy(), [[[10, 10]]])
    assert "normalization '<lambda>'" in repr(layer)


def test_constant_channels_warn_and_divide_by_one():
    X = [np.array([[1.0, 5.0], [2.0, 5.0]])]
    with pytest.warns(UserWarning, match=r"the standard deviation is 0 for 1 of 2 statistics \(a constant input\)"):
        layer = ll.sequence_input_layer(2, normalization="zscore").initialize_normalization(X)
    np.testing.assert_allclose(layer(torch.tensor([[[1.0, 5.0]]])).numpy(), [[[-1.0, 0.0]]])


def test_complex_inputs_split_into_real_then_imaginary_channels():
    net = ll.Network([ll.sequence_input_layer(2, split_complex_inputs=True)])
    X = [np.array([[1 + 2j, 3 - 1j]]), np.array([[5.0, 6.0]])]
    out = ll.predict(net, X)
    np.testing.assert_array_equal(out[0], [[1, 3, 2, -1]])
    np.testing.assert_array_equal(out[1], [[5, 6, 0, 0]])
    assert net.summary()["output shape"].tolist() == ["(T, 4)"]


def test_predict_normalizes_and_says_when_statistics_are_missing(rng):
    X = data(rng)
    net = ll.Network([ll.sequence_input_layer(3, normalization="zerocenter"), ll.lstm_layer(2)])
    with pytest.raises(ValueError, match=naming("normalization='zerocenter' needs mean", "initialize_normalization(X)")):
        ll.predict(net, X)
    net["sequenceinput"].initialize_normalization(X)
    assert len(ll.predict(net, X)) == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"normalization": "minmax"}, r"normalization must be one of 'none', 'zerocenter', 'zscore', 'rescale-symmetric', 'rescale-zero-one' or a callable; got 'minmax'"),
        ({"normalization_dimension": "time"}, r"normalization_dimension must be one of 'auto', 'channel', 'element', 'all'; got 'time'"),
        ({"normalization": "zerocenter", "mean": [1, 2]}, r"mean must be a scalar, one value per channel \(3,\) or one per element \(3,\); got shape \(2,\)"),
        ({"normalization": "zerocenter", "max": 1}, r"max was given, but normalization='zerocenter' uses mean; drop max"),
        ({"normalization": "zscore", "standard_deviation": [1, np.nan, 1]}, r"standard_deviation contains NaN or Inf"),
        ({"input_size": (3, 4)}, r"input_size must be C \(vector sequences\) or \(H, W, C\) \(image sequences\); got \(3, 4\)"),
        ({"split_complex_inputs": 1}, r"split_complex_inputs must be True or False; got 1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ll.sequence_input_layer(**{"input_size": 3, **kwargs})


def test_matlab_shaped_statistics_are_accepted():
    layer = ll.sequence_input_layer((2, 2, 3), normalization="zerocenter", mean=np.ones((1, 1, 3)))
    assert tuple(layer.mean.shape) == (3,)
    assert tuple(ll.sequence_input_layer(3, normalization="zerocenter", mean=np.ones((3, 1))).mean.shape) == (3,)
