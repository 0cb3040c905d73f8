"""The plain (Elman) recurrent layer: equal to the NumPy reference and to torch.nn.RNN."""

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab import reference as ref

from helpers import naming, numpy_params, shaken, step_loop

C, H, B, T = 3, 4, 2, 6
ACTIVATIONS = ["tanh", "relu"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rnn_matches_the_numpy_reference_in_float64(activation, rng):
    h0 = rng.normal(size=H)
    layer = shaken(ll.rnn_layer(H, input_size=C, activation=activation, hidden_state=h0).double(), rng)
    x = rng.normal(size=(B, T, C))
    W, R, b = numpy_params(layer)
    h0 = layer.initial_hidden_state.numpy()  # as the layer holds it (given values are stored as float32)
    expected = [ref.rnn_sequence(x[n], W, R, b, h0, activation) for n in range(B)]
    y = layer(torch.as_tensor(x)).detach().numpy()  # torch's fused kernel
    np.testing.assert_allclose(y, np.stack([e.h for e in expected]), atol=1e-10, rtol=0)
    loop, _ = step_loop(layer, torch.as_tensor(x).transpose(0, 1), layer.start_states(B))  # the step loop
    np.testing.assert_allclose(loop.transpose(0, 1).detach().numpy(), y, atol=1e-10, rtol=0)
    assert layer.uses_fused_kernel


def test_reference_step_is_one_equation():
    W, R, b = np.eye(2), 2 * np.eye(2), np.array([0.5, -0.5])
    step = ref.rnn_step(np.array([1.0, -1.0]), np.array([0.25, 0.25]), W, R, b, "relu")
    np.testing.assert_array_equal(step.a, [2.0, -1.0])  # W x + R h_prev + b
    np.testing.assert_array_equal(step.h, [2.0, 0.0])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rnn_matches_torch_rnn_with_copied_weights(activation, rng):
    module = torch.nn.RNN(C, H, batch_first=True, nonlinearity=activation)
    layer = ll.from_torch(module, has_state_inputs=True, has_state_outputs=True)
    assert isinstance(layer, ll.layers.RNNLayer) and layer.activation == activation
    torch.testing.assert_close(layer.bias.detach(), (module.bias_ih_l0 + module.bias_hh_l0).detach())  # one bias: b = b_ih + b_hh
    x = torch.as_tensor(rng.normal(size=(B, T, C)), dtype=torch.float32)
    h0 = torch.randn(1, B, H)
    expected, h_n = module(x, h0)
    y, h = layer(x, h0[0])
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_n[0], atol=1e-5, rtol=0)
    back = layer.to_torch()
    assert back.nonlinearity == activation and not back.bias_hh_l0.any()
    torch.testing.assert_close(back(x, h0)[0], expected, atol=1e-5, rtol=0)


def test_frozen_padding_carries_the_state_in_the_kernel_and_the_loop(rng):
    layer = shaken(ll.rnn_layer(H, input_size=C).double(), rng)
    x = torch.as_tensor(rng.normal(size=(B, T, C)))
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[0, 4:] = False  # sequence 0 is 4 steps long, padded on the right
    y, (h,) = layer.run(x, mask=mask)
    alone = layer(x[:1, :4])  # (1, 4, H)
    torch.testing.assert_close(y[0, :4], alone[0], atol=1e-12, rtol=0)
    torch.testing.assert_close(y[0, 4:], alone[0, -1].expand(2, H), atol=1e-12, rtol=0)  # carried over the padding
    torch.testing.assert_close(h[0], alone[0, -1], atol=1e-12, rtol=0)
    loop, _ = step_loop(layer, x.transpose(0, 1), layer.start_states(B), real=mask.transpose(0, 1))
    torch.testing.assert_close(loop.transpose(0, 1), y, atol=1e-12, rtol=0)


def test_trace_records_the_pre_activation_and_h(rng):
    net = shaken(ll.Network([ll.sequence_input_layer(C), ll.rnn_layer(H, activation="relu"), ll.fully_connected_layer(2)]).double(), rng)
    X = rng.normal(size=(B, T, C))
    tr = ll.trace(net, X)
    rnn = tr["rnn"]
    assert rnn.quantities == ("a", "h") and rnn.a.shape == rnn.h.shape == (B, T, H)
    assert rnn.max_error < 1e-12
    W, R, b = numpy_params(net["rnn"])
    expected = ref.rnn_sequence(X[1], W, R, b, activation="relu")
    np.testing.assert_allclose(rnn.a[1], expected.a, atol=1e-10, rtol=0)
    np.testing.assert_allclose(rnn.h[1], expected.h, atol=1e-10, rtol=0)


def test_an_intervention_on_h_runs_the_step_loop(rng):
    net = shaken(ll.Network([ll.sequence_input_layer(C), ll.rnn_layer(H)]).double(), rng)
    X = rng.normal(size=(1, T, C))
    clamp = ll.Intervention("rnn", "h", units=[0], steps=[2], set=0.0)
    tr = ll.trace(net, X, interventions=[clamp])
    assert tr["rnn"].h[0, 2, 0] == 0.0 and tr["rnn"].max_error < 1e-12
    W, R, b = numpy_params(net["rnn"])
    h = ref.rnn_sequence(X[0, :3], W, R, b).h[2].copy()
    h[0] = 0.0
    expected = ref.rnn_step(X[0, 3], h, W, R, b).h  # the next step reads the clamped state
    np.testing.assert_allclose(tr["rnn"].h[0, 3], expected, atol=1e-10, rtol=0)


def test_an_intervention_on_the_pre_activation_a(rng):
    net = shaken(ll.Network([ll.sequence_input_layer(C), ll.rnn_layer(H)]).double(), rng)
    X = rng.normal(size=(1, T, C))
    tr = ll.trace(net, X, interventions=[ll.Intervention("rnn", "a", units=[1], steps=[2], add=5.0)])
    W, R, b = numpy_params(net["rnn"])
    h = ref.rnn_sequence(X[0, :2], W, R, b).h[1]
    a = X[0, 2] @ W.T + h @ R.T + b
    a[1] += 5.0  # what the intervention adds
    np.testing.assert_allclose(tr["rnn"].a[0, 2], a, atol=1e-10, rtol=0)
    np.testing.assert_allclose(tr["rnn"].h[0, 2], np.tanh(a), atol=1e-10, rtol=0)


def test_save_load_and_the_network_table(rng, tmp_path):
    net = shaken(ll.Network([ll.sequence_input_layer(C), ll.rnn_layer(H, activation="relu", output_mode="last", bias_learn_rate_factor=2), ll.fully_connected_layer(2)]), rng)
    net.save(tmp_path / "rnn.npz")
    loaded = ll.load_network(tmp_path / "rnn.npz")
    assert loaded["rnn"].config() == net["rnn"].config()
    assert loaded["rnn"].config()["activation"] == "relu" and "gate_activation_function" not in loaded["rnn"].config()
    X = rng.normal(size=(B, T, C))
    np.testing.assert_array_equal(ll.predict(loaded, X), ll.predict(net, X))
    assert net["rnn"].describe() == "4 hidden units, input size 3, output_mode='last', activation relu, fused kernel"
    table = ll.analyze_network(net).table.set_index("name")
    assert table.loc["rnn", "learnables"] == "W 4x3, R 4x4, b 4"
    assert table.loc["rnn", "count"] == H * (C + H + 1)
    assert table.loc["rnn", "states"] == "hidden 4"


def test_bad_options_are_named():
    with pytest.raises(ValueError, match=r"rnn_layer: activation must be one of 'tanh', 'relu'; got 'sigmoid'"):
        ll.rnn_layer(H, activation="sigmoid")
    with pytest.raises(ValueError, match=naming("rnn_layer: recurrent_weights", "(4, 4)", "got (4, 3)")):
        ll.rnn_layer(H, recurrent_weights=np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"rnn_layer: bias_learn_rate_factor must be a non-negative number or 1 numbers"):
        ll.rnn_layer(H, bias_learn_rate_factor=[1, 2])
    with pytest.raises(TypeError, match="state_activation_function"):
        ll.rnn_layer(H, state_activation_function="tanh")
