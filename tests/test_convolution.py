"""Convolution layers: against torch's conv1d/conv2d with copied weights, by hand, per sequence in a
mini-batch, and through a whole network (min_length, trace, saving, training)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lstmlab as ll
from helpers import naming, shaken

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
DTYPES = [torch.float32, torch.float64]


def same_pads(length, size, stride, dilation):
    """MATLAB's "same" padding, written out: ceil(length / stride) outputs, an odd step more after."""
    span = (size - 1) * dilation + 1
    total = max((math.ceil(length / stride) - 1) * stride + span - length, 0)
    return total // 2, total - total // 2


# --- 1-D against torch ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": "same"},
        {"padding": "causal"},
        {"padding": (2, 1)},
        {"padding": 1},
        {"stride": 2},
        {"stride": 3, "padding": "same"},
        {"dilation_factor": 2},
        {"dilation_factor": 2, "padding": "causal"},
        {"dilation_factor": 3, "stride": 2, "padding": "same"},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "plain",
)
def test_conv1d_matches_torch(options, dtype, rng):
    B, T, C, k, K = 3, 11, 4, 3, 5
    x = torch.as_tensor(rng.normal(size=(B, T, C)), dtype=dtype)
    W = torch.as_tensor(rng.normal(size=(K, C, k)).astype(np.float32), dtype=dtype)  # torch's layout; given weights
    b = torch.as_tensor(rng.normal(size=K).astype(np.float32), dtype=dtype)  # become float32 parameters first
    layer = ll.convolution1d_layer(k, K, weights=W.permute(2, 1, 0), bias=b, **options).to(dtype)
    assert layer.weights.shape == (k, C, K)  # MATLAB's layout

    stride, dilation = options.get("stride", 1), options.get("dilation_factor", 1)
    padding = options.get("padding", 0)
    span = (k - 1) * dilation + 1
    pads = {"same": same_pads(T, k, stride, dilation), "causal": (span - 1, 0)}.get(padding, padding)
    pads = (pads, pads) if isinstance(pads, int) else pads
    expected = F.conv1d(F.pad(x.transpose(1, 2), pads), W, b, stride, 0, dilation).transpose(1, 2)  # (B, T_out, K)

    y = layer(x)
    assert y.dtype == dtype and y.shape == expected.shape
    assert y.shape[1] == layer.output_length(T)
    torch.testing.assert_close(y, expected, atol=TOLERANCE[dtype], rtol=0)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_same_with_stride_one_equals_torch_same(rng):
    x = torch.as_tensor(rng.normal(size=(2, 9, 3)), dtype=torch.float64)
    for k in (3, 4):  # an even filter pads one step more after, as torch does
        W = torch.as_tensor(rng.normal(size=(2, 3, k)).astype(np.float32), dtype=torch.float64)
        layer = ll.convolution1d_layer(k, 2, padding="same", weights=W.permute(2, 1, 0), bias=np.zeros(2)).double()
        expected = F.conv1d(x.transpose(1, 2), W, padding="same").transpose(1, 2)
        torch.testing.assert_close(layer(x), expected, atol=1e-10, rtol=0)


# --- 1-D by hand -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, expected",
    [
        ({}, [321, 432, 543, 654]),
        ({"padding": "same"}, [210, 321, 432, 543, 654, 65]),
        ({"padding": "causal"}, [100, 210, 321, 432, 543, 654]),
        ({"padding": (0, 2)}, [321, 432, 543, 654, 65, 6]),
        ({"stride": 2}, [321, 543]),
        ({"stride": 2, "padding": "same"}, [321, 543, 65]),  # 3 outputs: one step of padding after
        ({"dilation_factor": 2}, [531, 642]),  # reads t, t + 2, t + 4
    ],
)
def test_conv1d_by_hand(options, expected):
    """Weights 1, 10, 100 on the steps a window reads, first to last, over the sequence 1..6."""
    x = torch.arange(1.0, 7.0).reshape(1, 6, 1)
    layer = ll.convolution1d_layer(3, 1, weights=np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1), bias=[0.0], **options)
    assert layer(x)[0, :, 0].tolist() == expected


def test_bias_is_added_to_every_step_and_the_doctest_shape():
    layer = ll.convolution1d_layer(2, 3, weights=np.zeros((2, 1, 3)), bias=[1.0, 2.0, 3.0])
    y = layer(torch.zeros(1, 5, 1))
    assert y.shape == (1, 4, 3)
    np.testing.assert_array_equal(y.detach().numpy()[0], np.tile([1.0, 2.0, 3.0], (4, 1)))
    assert ll.convolution1d_layer(3, 8, padding="causal")(torch.zeros(2, 10, 4)).shape == (2, 10, 8)


def test_masked_conv1d_matches_each_sequence_alone(rng):
    """Left and right padding of a mini-batch never reach a real output."""
    layer = shaken(ll.convolution1d_layer(3, 2, stride=2, padding="same", num_channels=2), rng)
    alone = [rng.normal(size=(T, 2)).astype(np.float32) for T in (7, 3, 4)]
    for direction in ("left", "right"):
        x, mask = ll.pad_sequences(alone, direction=direction, padding_value=5.0)  # a loud padding value
        y, out_mask = layer.propagate(torch.as_tensor(x), torch.as_tensor(mask))
        assert y.shape == (3, 4, 2)
        assert out_mask.sum(1).tolist() == [4, 2, 2]  # ceil(T / 2)
        for n, seq in enumerate(alone):
            expected = layer(torch.as_tensor(seq)[None])[0]
            torch.testing.assert_close(y[n][out_mask[n]], expected, atol=1e-6, rtol=0)
        real_first = out_mask[:, 0].tolist()
        assert real_first == ([True, False, False] if direction == "left" else [True, True, True])
        assert not y[~out_mask].any()  # padded outputs hold zeros


def test_a_sequence_with_no_real_steps_has_no_outputs():
    layer = ll.convolution1d_layer(3, 1, padding=(2, 2), weights=np.ones((3, 1, 1)), bias=[0.0])
    y, mask = layer.propagate(torch.ones(2, 4, 1), torch.tensor([[True] * 4, [False] * 4]))
    assert mask.tolist() == [[True] * 6, [False] * 6]
    assert y[0, :, 0].tolist() == [1, 2, 3, 3, 2, 1]


# --- 2-D against torch -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": "same"},
        {"padding": "same", "stride": 2},
        {"padding": "same", "stride": (2, 3), "dilation_factor": (1, 2)},
        {"stride": (1, 2)},
        {"dilation_factor": 2},
        {"padding": (1, 2)},
        {"padding": (1, 0, 2, 1)},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "plain",
)
def test_conv2d_matches_torch(options, dtype, rng):
    B, T, H, W_, C, K, kh, kw = 2, 3, 9, 8, 2, 4, 3, 2
    x = torch.as_tensor(rng.normal(size=(B, T, H, W_, C)), dtype=dtype)
    W = torch.as_tensor(rng.normal(size=(K, C, kh, kw)).astype(np.float32), dtype=dtype)  # torch's layout
    b = torch.as_tensor(rng.normal(size=K).astype(np.float32), dtype=dtype)
    layer = ll.convolution2d_layer((kh, kw), K, weights=W.permute(2, 3, 1, 0), bias=b, **options).to(dtype)
    assert layer.weights.shape == (kh, kw, C, K)

    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)

    stride, dilation = pair(options.get("stride", 1)), pair(options.get("dilation_factor", 1))
    padding = options.get("padding", 0)
    if padding == "same":
        (top, bottom), (left, right) = (same_pads(n, k, s, d) for n, k, s, d in zip((H, W_), (kh, kw), stride, dilation))
    elif isinstance(padding, int):
        top = bottom = left = right = padding
    elif len(padding) == 2:
        top = bottom = padding[0]
        left = right = padding[1]
    else:
        top, bottom, left, right = padding
    frames = F.pad(x.reshape(B * T, H, W_, C).permute(0, 3, 1, 2), (left, right, top, bottom))
    expected = F.conv2d(frames, W, b, stride, 0, dilation).permute(0, 2, 3, 1)  # (B*T, H_out, W_out, K)
    expected = expected.reshape(B, T, *expected.shape[1:])

    y = layer(x)
    assert y.shape == expected.shape
    assert layer.build((H, W_, C)) == tuple(y.shape[2:])
    torch.testing.assert_close(y, expected, atol=TOLERANCE[dtype], rtol=0)
    if padding == "same":
        assert y.shape[2:4] == (math.ceil(H / stride[0]), math.ceil(W_ / stride[1]))


def test_conv2d_by_hand():
    """A 2x2 filter of ones sums each 2x2 block of the frame 1..9 (3x3)."""
    frame = torch.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    layer = ll.convolution2d_layer(2, 1, weights=np.ones((2, 2, 1, 1)), bias=[0.0])
    assert layer(frame)[0, :, :, 0].tolist() == [[12, 16], [24, 28]]
    same = ll.convolution2d_layer(2, 1, padding="same", weights=np.ones((2, 2, 1, 1)), bias=[0.0])
    assert same(frame)[0, :, :, 0].tolist() == [[12, 16, 9], [24, 28, 15], [15, 17, 9]]  # padding after


# --- bad options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ll.convolution2d_layer(3, 2, padding="causal"), r"convolution2d_layer: padding must be 'same', .*got 'causal'"),
        (lambda: ll.convolution1d_layer(3, 2, padding=-1), r"convolution1d_layer: padding must be 'same' or 'causal', a non-negative integer .*got -1"),
        (lambda: ll.convolution1d_layer(3, 2, padding=(1, -1)), r"convolution1d_layer: padding must be .*got \(1, -1\)"),
        (lambda: ll.convolution1d_layer(3, 2, padding="valid"), r"convolution1d_layer: padding must be .*got 'valid'"),
        (lambda: ll.convolution2d_layer(3, 2, padding=(1, 2, 3)), r"convolution2d_layer: padding must be 'same', an int, \(p_h, p_w\) or \(top, bottom, left, right\); got \(1, 2, 3\)"),
        (lambda: ll.convolution1d_layer(0, 2), r"convolution1d_layer: filter_size must be a positive integer; got 0"),
        (lambda: ll.convolution1d_layer(3, 2, stride=0), r"convolution1d_layer: stride must be a positive integer; got 0"),
        (lambda: ll.convolution2d_layer(3, 2, dilation_factor=(1, 1.5)), r"convolution2d_layer: dilation_factor must be a positive integer; got 1.5"),
        (lambda: ll.convolution2d_layer((3, 3, 3), 2), r"convolution2d_layer: filter_size must be an integer or 2 integers; got \(3, 3, 3\)"),
        (lambda: ll.convolution1d_layer(3, 2, weights=np.zeros((3, 4, 5))), r"convolution1d_layer: weights must have shape \(3, 4, 2\) \(filter size, channels, filters\); got \(3, 4, 5\)"),
    ],
)
def test_bad_constructor_options(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_filter_bigger_than_the_frame_is_refused_at_build():
    with pytest.raises(ValueError, match=r"conv2d: frames of 8x4 pixels are too small for filters of .*they need at least 3x5"):
        ll.convolution2d_layer((3, 5), 2).build((8, 4, 1))
    with pytest.raises(ValueError, match=naming("small: frames of 4x4", "filters of size 5", "at least 5x5")):
        ll.Network([ll.sequence_input_layer((4, 4, 1)), ll.convolution2d_layer(5, 2, name="small")])


def test_wrong_inputs_for_each_convolution():
    with pytest.raises(ValueError, match="use convolution2d_layer for frames, then flatten_layer"):
        ll.convolution1d_layer(3, 2).build((8, 8, 1))
    with pytest.raises(ValueError, match="use convolution1d_layer for vectors"):
        ll.convolution2d_layer(3, 2).build(5)
    layer = ll.convolution1d_layer(3, 2, num_channels=4)
    with pytest.raises(ValueError, match="the input has 3 channels but the layer was built for num_channels=4"):
        layer(torch.zeros(1, 5, 3))
    with pytest.raises(TypeError, match=r"the input is torch.float64 but the weights are torch.float32"):
        layer(torch.zeros(1, 5, 4, dtype=torch.float64))


# --- too short -------------------------------------------------------------------------------------


def test_network_min_length_must_be_enough():
    with pytest.raises(
        ValueError,
        match=naming("layer 'conv1d'", "1 time step", "min_length=1", "at least 5 steps", "min_length=5"),
    ):
        ll.Network([ll.sequence_input_layer(2), ll.convolution1d_layer(5, 3), ll.lstm_layer(4)])
    with pytest.raises(ValueError, match=r"layer 'pool' .* gets 1 time step from a sequence of min_length=5 .* at least 6 steps"):
        ll.Network([ll.sequence_input_layer(2, min_length=5), ll.convolution1d_layer(3, 3, dilation_factor=2), ll.max_pooling1d_layer(2, stride=2, name="pool")])
    net = ll.Network([ll.sequence_input_layer(2, min_length=6), ll.convolution1d_layer(3, 3, dilation_factor=2), ll.max_pooling1d_layer(2, stride=2)])
    assert net.min_length() == 6
    assert net.output_lengths(6) == [6, 2, 1]
    assert ll.Network([ll.convolution1d_layer(3, 3, padding="same"), ll.lstm_layer(2)]).min_length() == 1


def test_predict_refuses_a_too_short_sequence(rng):
    with_input = ll.Network([ll.sequence_input_layer(2, min_length=5), ll.convolution1d_layer(5, 3)])
    without = ll.Network([ll.convolution1d_layer(5, 3), ll.lstm_layer(2)])
    X = [rng.normal(size=(6, 2)), rng.normal(size=(4, 2))]
    for net in (with_input, without):
        with pytest.raises(ValueError, match=r"predict: X\[1\] has 4 time steps, fewer than the 5 the network needs \(min_length=5\)"):
            ll.predict(net, X)
    with pytest.raises(ValueError, match=naming("conv1d: a sequence of 4 time steps", "window of size 5", "at least 5 steps")):
        ll.convolution1d_layer(5, 3)(torch.zeros(1, 4, 2))


# --- in a network ----------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["left", "right"])
def test_each_sequence_alone_equals_it_in_a_padded_mini_batch(direction, rng):
    C = 3
    net = ll.Network(
        [
            ll.sequence_input_layer(C, min_length=5),
            ll.convolution1d_layer(3, 4, stride=2, padding="same"),
            ll.relu_layer(),
            ll.convolution1d_layer(2, 4, dilation_factor=2),
            ll.lstm_layer(5),
            ll.fully_connected_layer(2),
        ]
    ).double()
    shaken(net, rng)
    X = [rng.normal(size=(T, C)) for T in (9, 5, 12, 6)]  # "same" pads 0 or 1 step after, by length
    options = {"sequence_padding_direction": direction, "freeze_padding": True}
    alone = ll.predict(net, X, mini_batch_size=1, **options)
    together = ll.predict(net, X, mini_batch_size=len(X), **options)
    assert [y.shape for y in together] == [(3, 2), (1, 2), (4, 2), (1, 2)]  # ceil(T / 2) - 2
    for a, b in zip(alone, together):
        np.testing.assert_allclose(b, a, atol=1e-10, rtol=0)


def test_network_run_returns_the_shortened_mask(rng):
    net = ll.Network([ll.sequence_input_layer(1, min_length=3), ll.convolution1d_layer(3, 2, stride=2)])
    x, mask = ll.pad_sequences([np.ones((7, 1)), np.ones((4, 1))])
    y, finals, out_mask = net.run(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(mask))
    assert y.shape == (2, 3, 2) and finals == {}
    assert out_mask.tolist() == [[True, True, True], [True, False, False]]


def test_trace_records_the_lstm_in_its_own_time(rng):
    C = 2
    net = ll.Network([ll.sequence_input_layer(C, min_length=4), ll.convolution1d_layer(3, 4), ll.max_pooling1d_layer(2, stride=2), ll.lstm_layer(5)])
    shaken(net, rng)
    X = [rng.normal(size=(T, C)).astype(np.float32) for T in (10, 7, 12)]
    tr = ll.trace(net, X)
    assert tr.max_error < 1e-5
    np.testing.assert_array_equal(tr["lstm"].lengths, [4, 2, 5])  # conv: T - 2, then pool: (T - 4) // 2 + 1
    assert tr["lstm"].h.shape == (3, 5, 5)
    out = ll.predict(net, X)
    for n, y in enumerate(out):
        np.testing.assert_allclose(tr["lstm"].h[n, : len(y)], y, atol=1e-5, rtol=0)


def test_save_and_load_every_new_layer(tmp_path, rng):
    images = ll.Network(
        [
            ll.sequence_input_layer((6, 5, 2), min_length=4),
            ll.sequence_folding_layer(),
            ll.convolution2d_layer((3, 2), 3, padding="same", stride=(2, 1)),
            ll.batch_normalization_layer(),
            ll.relu_layer(),
            ll.sequence_unfolding_layer(),
            ll.flatten_layer(),
            ll.convolution1d_layer(2, 4, padding="causal", dilation_factor=2),
            ll.max_pooling1d_layer(2, stride=2, padding=(1, 0)),
            ll.average_pooling1d_layer(2, padding="same", padding_value="mean"),
            ll.lstm_layer(3),
            ll.average_pooling1d_layer(2, stride=1, padding=(0, 1)),
            ll.global_max_pooling1d_layer(),
            ll.fully_connected_layer(2),
            ll.softmax_layer(),
        ]
    )
    words = ll.Network(
        [
            ll.sequence_input_layer(1),
            ll.word_embedding_layer(4, num_words=9),
            ll.convolution1d_layer(3, 3, padding=(1, 1)),
            ll.batch_normalization_layer(),
            ll.global_average_pooling1d_layer(),
            ll.fully_connected_layer(2),
        ]
    )
    image_data = [rng.normal(size=(T, 6, 5, 2)) for T in (5, 8)]
    word_data = [rng.integers(1, 10, size=T) for T in (4, 6, 2)]  # ids of words: a list holds no padding (0)
    for net, X in ((images, image_data), (words, word_data)):
        shaken(net, rng)
        for bn in (layer for layer in net.layers if layer.kind == "batchnorm"):
            bn.trained_mean = torch.as_tensor(rng.normal(size=bn.num_channels), dtype=torch.float32)
            bn.trained_variance = torch.as_tensor(rng.uniform(0.5, 2, size=bn.num_channels), dtype=torch.float32)
        path = tmp_path / "net.npz"
        net.save(path)
        loaded = ll.load_network(path)
        assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in net.layers]
        assert [layer.describe() for layer in loaded.layers] == [layer.describe() for layer in net.layers]
        expected = ll.predict(net, X)
        assert np.isfinite(expected).all()
        np.testing.assert_array_equal(ll.predict(loaded, X), expected)


def test_training_decreases_the_loss(rng):
    """Which way does a pulse go? conv1d + global max pooling learn it."""
    X, y = [], []
    for n in range(40):
        T = int(rng.integers(8, 14))
        x = rng.normal(scale=0.1, size=(T, 1))
        t = int(rng.integers(1, T - 1))
        x[t, 0] += 1.0 if n % 2 else -1.0
        X.append(x)
        y.append("up" if n % 2 else "down")
    layers = [
        ll.sequence_input_layer(1, min_length=3),
        ll.convolution1d_layer(3, 4),
        ll.relu_layer(),
        ll.global_max_pooling1d_layer(),
        ll.fully_connected_layer(2),
        ll.softmax_layer(),
    ]
    options = ll.training_options("adam", max_epochs=20, mini_batch_size=10, initial_learn_rate=0.05, verbose=False, seed=0)
    net = ll.trainnet(X, np.array(y), layers, "crossentropy", options)
    loss = net.training_history_["loss"].to_numpy()
    assert len(loss) == 20 * 4
    assert loss[-4:].mean() < 0.5 * loss[:4].mean()
    assert (ll.classify(net, X) == np.array(y)).mean() >= 0.9
