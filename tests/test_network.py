import numpy as np
import pytest
import torch

import lstmlab as ll

from helpers import naming

C = 3


def classifier():
    return ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(5, output_mode="last"), ll.dropout_layer(0.2), ll.fully_connected_layer(4), ll.softmax_layer()])


def test_names_are_assigned_and_input_sizes_inferred():
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(5), ll.lstm_layer(6, name="top"), ll.gru_layer(2), ll.gru_layer(2)])
    assert [layer.name for layer in net.layers] == ["sequenceinput", "lstm", "top", "gru_1", "gru_2"]
    assert net["top"].input_weights.shape == (24, 5)
    assert net[3] is net["gru_1"]
    with pytest.raises(KeyError, match="no layer named 'fc'; the layers are sequenceinput, lstm, top, gru_1, gru_2"):
        net["fc"]


def test_summary_and_print():
    net = classifier()
    table = net.summary()
    assert list(table.columns) == ["name", "type", "description", "output shape", "learnables"]
    assert table["output shape"].tolist() == ["(T, 3)", "(5,)", "(5,)", "(4,)", "(4,)"]
    assert table["learnables"].tolist() == [0, 4 * 5 * (C + 5 + 1), 0, 4 * 5 + 4, 0]
    text = repr(net)
    assert text.startswith("Network with 5 layers, 204 learnables")
    assert "LSTMLayer" in text and "output_mode='last'" in text


def test_without_an_input_layer_sizes_are_inferred_from_the_first_data(rng):
    net = ll.Network([ll.lstm_layer(5), ll.fully_connected_layer(2)])
    assert net.input_size == "auto" and net.summary()["output shape"].tolist() == ["auto", "auto"]
    y = ll.predict(net, rng.normal(size=(2, 7, 3)))
    assert y.shape == (2, 7, 2) and net["lstm"].input_size == 3


def test_predict_shapes(rng):
    net = classifier()
    X = [rng.normal(size=(T, C)) for T in (4, 9, 2)]
    scores = ll.predict(net, X)
    assert scores.shape == (3, 4)
    np.testing.assert_allclose(scores.sum(1), 1, rtol=1e-6)
    seq = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(5), ll.fully_connected_layer(2)])
    out = ll.predict(seq, X)
    assert [y.shape for y in out] == [(4, 2), (9, 2), (2, 2)]
    assert ll.predict(seq, np.zeros((2, 6, C))).shape == (2, 6, 2)


def test_predict_is_deterministic_and_matches_the_layers(rng):
    net = classifier()
    x = rng.normal(size=(2, 6, C)).astype(np.float32)
    with torch.no_grad():
        net.eval()
        expected = net(torch.as_tensor(x)).numpy()
    net.train()
    np.testing.assert_allclose(ll.predict(net, x), expected, rtol=1e-6)
    np.testing.assert_allclose(ll.predict(net, x), ll.predict(net, x))
    assert net.training, "predict restores the training flag"


def test_predict_in_float64(rng):
    net = classifier().double()
    assert ll.predict(net, rng.normal(size=(1, 3, C))).dtype == np.float64


def test_reset_state_and_state():
    net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(2, hidden_state=[1.0, 2.0]), ll.gru_layer(1)])
    net["lstm"].hidden_state.data += 5
    net.reset_state()
    np.testing.assert_array_equal(net.state["lstm"]["hidden"], [1, 2])
    assert set(net.state) == {"lstm", "gru"} and set(net.state["gru"]) == {"hidden"}


@pytest.mark.parametrize(
    "layers, error, message",
    [
        ([], ValueError, "layers is empty"),
        ([ll.lstm_layer(2), "fc"], TypeError, r"layers\[1\] is a str; expected an lstmlab layer"),
        ([ll.lstm_layer(2), ll.sequence_input_layer(2)], ValueError, r"layers\[1\] is a sequence input layer; it can only be the first"),
        ([ll.lstm_layer(2, name="a"), ll.lstm_layer(2, name="a")], ValueError, "two layers are named 'a'"),
        ([ll.lstm_layer(2, has_state_inputs=True)], ValueError, "has_state_inputs=True, but a chain has nowhere to take states from"),
    ],
)
def test_bad_chains(layers, error, message):
    with pytest.raises(error, match=message):
        ll.Network(layers)


def test_a_recurrent_layer_after_last_is_rejected():
    with pytest.raises(ValueError, match=naming("layer 'lstm_2' needs sequences", "'lstm_1' has output_mode='last'", "output_mode='sequence'")):
        ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(4, output_mode="last"), ll.dropout_layer(), ll.lstm_layer(4)])


def test_state_outputs_in_a_chain_warn():
    with pytest.warns(UserWarning, match=r"layer 'lstm' has has_state_outputs=True, but a chain hands on only its output"):
        net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(4, has_state_outputs=True), ll.fully_connected_layer(2)])
    assert ll.predict(net, np.zeros((1, 3, C))).shape == (1, 3, 2)


def test_bad_data_is_named(rng):
    net = ll.Network([ll.sequence_input_layer(C, min_length=3), ll.lstm_layer(2)])
    with pytest.raises(ValueError, match=r"X has 4 channels; the network expects 3 \(input_size=3\)"):
        ll.predict(net, rng.normal(size=(2, 5, 4)))
    time_last = rng.normal(size=(2, C, 60))  # (N, C, T)
    for X, fix in [(time_last, r"\(N, T, C\): X.transpose\(0, 2, 1\)\.$"), (torch.as_tensor(time_last), r"\(N, T, C\): X.transpose\(1, 2\)\.$"),
                   (list(time_last), r"\(T, C\): \[x.T for x in X\]\.$"), (time_last[0], r"\(T, C\): X.T\.$")]:
        with pytest.raises(ValueError, match=rf"X has 60 channels; the network expects 3 \(input_size=3\)\. If time is on the last axis, transpose.* {fix}"):
            ll.predict(net, X)
    with pytest.raises(ValueError, match=r"X has 4 channels; the network expects 3 \(input_size=3\)\.$"):  # no hint: no axis has 3
        ll.predict(net, rng.normal(size=(2, 5, 4)))
    with pytest.raises(ValueError, match=r"X\[1\] has 2 time steps, fewer than the 3 the network needs \(min_length=3\)"):
        ll.predict(net, [np.zeros((4, C)), np.zeros((2, C))])
    with pytest.raises(TypeError, match="net must be an ll.Network; got LSTMLayer"):
        ll.predict(ll.lstm_layer(2), [np.zeros((4, C))])


def test_predict_checks_mini_batch_size():
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(2)])
    with pytest.raises(ValueError, match=r"mini_batch_size must be a positive integer; got 2.5"):
        ll.predict(net, np.zeros((1, 3, C)), mini_batch_size=2.5)


def test_late_built_weights_follow_the_network_dtype(rng):
    net = ll.Network([ll.lstm_layer(5), ll.fully_connected_layer(2)]).double()
    y = ll.predict(net, rng.normal(size=(2, 4, 3)))
    assert y.dtype == np.float64 and net["fc"].weights.dtype == torch.float64


def test_summary_infers_through_auto_layers():
    net = ll.Network([ll.lstm_layer(5, input_size=3), ll.fully_connected_layer(2)])
    assert net.summary()["output shape"].tolist() == ["(T, 5)", "(T, 2)"]
    assert net.summary()["learnables"].tolist()[1] == 12
    with pytest.raises(ValueError, match=r"fc: the input has 5 channels but the layer was built for input_size=7"):
        ll.Network([ll.lstm_layer(5, input_size=3), ll.fully_connected_layer(2, input_size=7)])


def test_run_carries_the_mask_through_layers_that_change_time():
    net = ll.Network([ll.sequence_input_layer(C, min_length=3), ll.convolution1d_layer(2, 4), ll.max_pooling1d_layer(2, stride=2), ll.lstm_layer(3)])
    x = torch.zeros(2, 9, C)
    mask = torch.tensor([[True] * 9, [True] * 5 + [False] * 4])  # lengths 9 and 5, right padding
    y, finals, out_mask = net.run(x, mask)
    assert y.shape == (2, 4, 3) and set(finals) == {"lstm"}
    # conv of size 2: 9 -> 8 and 5 -> 4 steps; pooling by 2: 8 -> 4 and 4 -> 2
    assert out_mask.tolist() == [[True] * 4, [True, True, False, False]]
    assert net.output_lengths(9) == [9, 8, 4, 4] and net.min_length() == 3
    assert net.run(x)[2] is None, "without a mask every step is real"


def test_min_length_must_cover_every_layer_that_shortens_time():
    with pytest.raises(
        ValueError,
        match=naming("layer 'conv1d'", "4 time steps", "min_length=4", "at least 9 steps", "min_length=9"),
    ):
        ll.Network([ll.sequence_input_layer(C, min_length=4), ll.convolution1d_layer(5, 8, dilation_factor=2), ll.lstm_layer(2)])
    net = ll.Network([ll.sequence_input_layer(C, min_length=9), ll.convolution1d_layer(5, 8, dilation_factor=2), ll.lstm_layer(2)])
    with pytest.raises(ValueError, match=r"X\[0\] has 8 time steps, fewer than the 9 the network needs \(min_length=9\)"):
        ll.predict(net, [np.zeros((8, C))])
    net = ll.Network([ll.convolution1d_layer(5, 8), ll.lstm_layer(2)])  # no input layer: the network's own minimum
    with pytest.raises(ValueError, match=r"X\[0\] has 4 time steps, fewer than the 5 the network needs"):
        ll.predict(net, [np.zeros((4, C))])


def test_summary_shows_image_steps_and_folded_frames():
    net = ll.Network([ll.sequence_input_layer((8, 8, 1)), ll.sequence_folding_layer(), ll.convolution2d_layer(3, 4, stride=2),
                      ll.sequence_unfolding_layer(), ll.flatten_layer(), ll.lstm_layer(2)])
    table = net.summary()
    assert list(table["output shape"]) == ["(T, 8x8x1)", "(frames, 8x8x1)", "(frames, 3x3x4)", "(T, 3x3x4)", "(T, 36)", "(T, 2)"]
    assert table.set_index("name").loc["conv2d", "description"] == "4 filters of 3x3, stride 2x2, no padding, input channels 1"


def hooked_network():
    return ll.Network([ll.sequence_input_layer(C, min_length=2), ll.convolution1d_layer(2, 4), ll.batch_normalization_layer(),
                       ll.max_pooling1d_layer(2, stride=2, padding="same"), ll.lstm_layer(5, output_mode="last"),
                       ll.fully_connected_layer(2), ll.softmax_layer()])


def test_forward_hooks_fire_on_every_layer_during_predict(rng):
    net = hooked_network()
    X = [rng.normal(size=(T, C)).astype(np.float32) for T in (9, 6, 7)]
    seen = []
    hooks = [layer.register_forward_hook(lambda m, args, out: seen.append((m.name, tuple(args[0].shape), tuple(out.shape)))) for layer in net.layers]
    ll.predict(net, X, mini_batch_size=2)
    for h in hooks:
        h.remove()
    first = [(name, x, y) for name, x, y in seen[:7]]  # the first mini-batch: 2 sequences of 9 and 6 steps, padded to 9
    assert first == [("sequenceinput", (2, 9, 3), (2, 9, 3)), ("conv1d", (2, 9, 3), (2, 8, 4)), ("batchnorm", (2, 8, 4), (2, 8, 4)),
                     ("maxpool1d", (2, 8, 4), (2, 4, 4)), ("lstm", (2, 4, 4), (2, 5)), ("fc", (2, 5), (2, 2)), ("softmax", (2, 2), (2, 2))]
    assert [name for name, *_ in seen[7:]] == [layer.name for layer in net.layers], "the second mini-batch fires each hook once"


def test_a_forward_hook_that_replaces_the_output_changes_what_follows(rng):
    net = hooked_network()
    X = rng.normal(size=(3, 8, C)).astype(np.float32)
    clean = ll.predict(net, X)
    hook = net["lstm"].register_forward_hook(lambda m, args, out: torch.zeros_like(out))
    zeroed = ll.predict(net, X)
    hook.remove()
    b = net["fc"].bias.detach().numpy()
    np.testing.assert_allclose(zeroed, np.tile(np.exp(b) / np.exp(b).sum(), (3, 1)), rtol=1e-6)  # fc reads zeros: softmax(b)
    assert not np.allclose(clean, zeroed)
    np.testing.assert_array_equal(ll.predict(net, X), clean)


def test_a_forward_pre_hook_sees_the_input_and_hooks_fire_in_trace_and_under_interventions(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(4), ll.lstm_layer(3, output_mode="last")])
    X = rng.normal(size=(2, 6, C)).astype(np.float32)
    inputs = []
    hook = net["lstm_2"].register_forward_pre_hook(lambda m, args: inputs.append(args[0].clone()))
    ll.trace(net, X)
    ll.predict(net, X, interventions=[ll.Intervention("lstm_1", "f", set=0.0)])
    hook.remove()
    h = ll.trace(net, X)["lstm_1"].h  # (N, T, H): what lstm_1 hands lstm_2
    assert len(inputs) == 2
    np.testing.assert_allclose(inputs[0].numpy(), h, atol=1e-6)
    assert not torch.allclose(inputs[1], inputs[0]), "the intervention changed what lstm_2 reads"


def test_a_forward_hook_output_carries_gradients_as_layer_attribution_needs(rng):
    net = hooked_network()
    x = torch.as_tensor(rng.normal(size=(2, 7, C)), dtype=torch.float32)
    kept = {}
    net["lstm"].register_forward_hook(lambda m, args, out: kept.setdefault("h", out))
    scores = net(x)  # (2, 2)
    grad = torch.autograd.grad(scores[:, 1].sum(), kept["h"])[0]  # (2, 5)
    W = net["fc"].weights  # (2, 5)
    p = scores.detach()
    expected = (p[:, 1:2] * ((torch.arange(2) == 1).float() - p)) @ W.detach()  # d softmax_1 / d h through fc
    torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("direction", ["right", "left"])
def test_the_output_mask_of_a_time_layer_is_the_one_its_output_is_laid_out_by(direction):
    lengths = [9, 5, 3, 0]
    real = torch.arange(9)[None] < torch.tensor(lengths)[:, None]  # (4, 9)
    mask = real if direction == "right" else real.flip(1)
    for layer in (ll.convolution1d_layer(3, 2, padding="causal"), ll.convolution1d_layer(2, 2, stride=2, padding=1),
                  ll.max_pooling1d_layer(2, stride=2, padding="same"), ll.average_pooling1d_layer(3)):
        x = torch.ones(4, 9, 1)
        y = layer(x, mask=mask)  # (4, T_out, K): zeros off the real outputs
        out = layer.output_mask(mask)
        assert out.shape == y.shape[:2] and out.sum(1).tolist() == [layer.output_length(n) if n else 0 for n in lengths]
        assert not y[~out].any() and (y[out] != 0).all(), layer.describe()
