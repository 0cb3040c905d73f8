import warnings

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab import reference as ref

from helpers import GATES, STATES, naming, shaken, step_loop

C, H, Po, Pi, B, T = 5, 6, 3, 2, 3, 7


def projected(**options):
    """A float64 projected layer with random parameters (the initializers leave the bias mostly zero)."""
    layer = ll.lstm_projected_layer(H, Po, Pi, input_size=C, **options).double()
    return shaken(layer, np.random.default_rng(1))


def parameters(layer):
    """Q_i, W, Q_o, R, b as NumPy arrays."""
    names = ("input_projector", "input_weights", "output_projector", "recurrent_weights", "bias")
    return [getattr(layer, n).detach().numpy() for n in names]


def reference_output(layer, x, h0, c0):
    """(B, T, H): the NumPy reference run over each sequence of x from the states h0, c0 (each (B, H))."""
    g, s = layer.gate_activation_function, layer.state_activation_function
    return np.stack([ref.lstm_projected_sequence(x[n], *parameters(layer), h0[n], c0[n], g, s).h for n in range(len(x))])


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("output_mode", ["sequence", "last"])
def test_layer_matches_the_numpy_reference_in_float64(gate, state, output_mode, rng):
    h0, c0 = rng.normal(size=H), rng.normal(size=H)
    layer = projected(gate_activation_function=gate, state_activation_function=state, output_mode=output_mode)
    with torch.no_grad():
        layer.initial_hidden_state.copy_(torch.as_tensor(h0))
        layer.initial_cell_state.copy_(torch.as_tensor(c0))
        layer.reset_state()
    x = rng.normal(size=(B, T, C))
    y = layer(torch.as_tensor(x)).detach().numpy()
    expected = reference_output(layer, x, np.tile(h0, (B, 1)), np.tile(c0, (B, 1)))
    np.testing.assert_allclose(y, expected if output_mode == "sequence" else expected[:, -1], atol=1e-10, rtol=0)
    assert layer.uses_fused_kernel == (gate == "sigmoid" and state == "tanh")


@pytest.mark.parametrize("output_mode", ["sequence", "last"])
def test_fused_kernel_and_step_loop_both_match_the_reference_with_state_inputs(output_mode, rng):
    layer = projected(has_state_inputs=True, has_state_outputs=True, output_mode=output_mode)
    assert layer.uses_fused_kernel
    x, h0, c0 = (torch.as_tensor(rng.normal(size=shape)) for shape in ((B, T, C), (B, H), (B, H)))
    expected = reference_output(layer, x.numpy(), h0.numpy(), c0.numpy())
    y, h, c = layer(x, h0, c0)  # the fused kernel
    loop, (h_loop, c_loop) = step_loop(layer, x.transpose(0, 1), (h0, c0))  # the step loop, (T, B, H)
    want = expected if output_mode == "sequence" else expected[:, -1]
    np.testing.assert_allclose(y.detach().numpy(), want, atol=1e-10, rtol=0)
    np.testing.assert_allclose(loop.transpose(0, 1).detach().numpy(), expected, atol=1e-10, rtol=0)
    np.testing.assert_allclose(h.detach().numpy(), expected[:, -1], atol=1e-10, rtol=0)
    np.testing.assert_allclose(h_loop.detach().numpy(), expected[:, -1], atol=1e-10, rtol=0)
    np.testing.assert_allclose(c.detach().numpy(), c_loop.detach().numpy(), atol=1e-10, rtol=0)


def test_matches_torch_lstm_with_proj_size_when_the_input_projector_is_the_identity(rng):
    """torch.nn.LSTM(proj_size) has no input projector and outputs the projected state Q_o^T h."""
    module = torch.nn.LSTM(C, H, batch_first=True, proj_size=Po)
    Q_o = module.weight_hr_l0.detach().T  # (H, Po): torch's W_hr (Po, H) is Q_o^T
    with pytest.warns(UserWarning, match="no fewer learnables"):  # an identity input projector saves nothing
        layer = ll.lstm_projected_layer(
            H, Po, C, input_projector=torch.eye(C), input_weights=module.weight_ih_l0.detach(), output_projector=Q_o,
            recurrent_weights=module.weight_hh_l0.detach(), bias=(module.bias_ih_l0 + module.bias_hh_l0).detach(),
            has_state_inputs=True, has_state_outputs=True,
        )
    x = torch.as_tensor(rng.normal(size=(B, T, C)), dtype=torch.float32)
    h0, c0 = torch.randn(B, H), torch.randn(B, H)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
        expected, (h_n, c_n) = module(x, ((h0 @ Q_o)[None], c0[None]))  # torch carries the projected h
    with torch.no_grad():
        y, h, c = layer(x, h0, c0)
    torch.testing.assert_close(y @ Q_o, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(h @ Q_o, h_n[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(c, c_n[0], atol=1e-5, rtol=0)


def test_from_torch_refuses_proj_size_and_says_why():
    with pytest.raises(ValueError, match=naming("proj_size=2", "output_projector=W_hr.T")):
        ll.from_torch(torch.nn.LSTM(C, H, batch_first=True, proj_size=2))


def test_to_torch_computes_the_same_outputs_with_the_projected_products(rng):
    layer = projected()
    module = layer.to_torch()
    assert isinstance(module, torch.nn.LSTM) and module.proj_size == 0 and module.input_size == C and module.hidden_size == H
    x = torch.as_tensor(rng.normal(size=(B, T, C)))
    with torch.no_grad():
        torch.testing.assert_close(module(x)[0], layer(x), atol=1e-12, rtol=0)
    W = layer.input_weights @ layer.input_projector.T
    torch.testing.assert_close(module.weight_ih_l0, W.detach())


def test_learnables_follow_the_formula_and_are_fewer_than_the_lstms():
    H, C, Po, Pi = 100, 12, 25, 4
    lstm = ll.lstm_layer(H, input_size=C)
    layer = ll.lstm_projected_layer(H, Po, Pi, input_size=C)
    count = sum(p.numel() for p in layer.parameters())
    assert count == C * Pi + 4 * H * Pi + H * Po + 4 * H * Po + 4 * H == 14_548  # Q_i, W, Q_o, R, b
    assert sum(p.numel() for p in lstm.parameters()) == 4 * H * C + 4 * H * H + 4 * H == 45_200
    net = ll.Network([ll.sequence_input_layer(C), layer, ll.fully_connected_layer(9), ll.softmax_layer()])
    assert net.summary().set_index("name").loc["lstm_projected", "learnables"] == 14_548
    analysis = ll.analyze_network(net)
    row = analysis.table.set_index("name").loc["lstm_projected"]
    assert row["count"] == 14_548
    assert row["learnables"] == "Q_i 12x4, W 400x4, Q_o 100x25, R 400x25, b 400 (per block i, f, g, o: W 100x4, R 100x25, b 100)"
    assert analysis.total == 14_548 + 909


def _network(rng, **options):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_projected_layer(H, Po, Pi, **options)])
    net.layers[1].build(C)
    shaken(net.layers[1], rng)
    return net


@pytest.mark.parametrize("state", ["tanh", "softsign"])  # the fused kernel and the step loop
def test_trace_records_the_gates_and_reproduces_the_output(state, rng):
    net = _network(rng, state_activation_function=state)
    X = [rng.normal(size=(n, C)) for n in (7, 4, 9)]
    tr = ll.trace(net, X)
    assert tr.max_error < 1e-6
    rec = tr["lstm_projected"]
    assert rec.quantities == ("i", "f", "g", "o", "c", "h") and rec.h.shape == (3, 9, H)
    for n, y in enumerate(ll.predict(net, X)):  # h is the layer's output, (T, H)
        np.testing.assert_allclose(rec.h[n, : len(y)], y, atol=1e-6, rtol=0)
    # the projected state that the recurrence reads is h @ Q_o, and the gates follow from it
    layer = net.layers[1].double()
    Q_i, W, Q_o, R, b = parameters(layer)
    x, h = X[0], rec.h[0, :7].astype(np.float64)
    z = W @ (Q_i.T @ x[3]) + R @ (Q_o.T @ h[2]) + b
    np.testing.assert_allclose(rec.f[0, 3], ref.sigmoid(z[H : 2 * H]), atol=1e-5)
    np.testing.assert_allclose(layer.projected_state(rec.h), rec.h @ Q_o, atol=1e-6)  # float32 h
    assert layer.projected_state(rec.h).shape == (3, 9, Po)
    with pytest.raises(ValueError, match=naming("projected_state", "all 6 hidden units", "got shape (3, 9, 2)")):
        layer.projected_state(rec.h[..., :2])


def test_an_intervention_changes_the_unprojected_state_that_the_projector_reads(rng):
    net = _network(rng)
    X = rng.normal(size=(2, 8, C))
    clean = ll.predict(net, X)
    silenced = ll.Intervention("lstm_projected", "h", units=[0, 1], steps=slice(2, 4), set=0.0)
    tr = ll.trace(net, X, interventions=[silenced])
    assert tr.max_error < 1e-6
    assert np.all(tr["lstm_projected"].h[:, 2:4, :2] == 0)
    changed = ll.predict(net, X, interventions=[silenced])
    np.testing.assert_allclose(changed[:, :2], clean[:, :2], atol=1e-6)  # before the intervention
    assert np.abs(changed[:, 4:] - clean[:, 4:]).max() > 1e-3  # after it, through R Q_o^T h


def test_save_and_load_round_trip(tmp_path, rng):
    net = _network(rng, output_mode="last", input_projector_learn_rate_factor=0.5, output_projector_l2_factor=2,
                   recurrent_weights_learn_rate_factor=[1, 2, 3, 4], hidden_state=rng.normal(size=H))
    path = tmp_path / "projected.npz"
    net.save(path)
    loaded = ll.load_network(path)
    layer, again = net.layers[1], loaded.layers[1]
    assert type(again) is type(layer) and again.config() == layer.config()
    for name, p in layer.named_parameters():
        torch.testing.assert_close(getattr(again, name), p, atol=0, rtol=0)
    X = rng.normal(size=(4, 6, C))
    np.testing.assert_array_equal(ll.predict(loaded, X), ll.predict(net, X))
    assert float(again.learn_rate_factors()["input_projector"]) == 0.5
    assert float(again.l2_factors()["output_projector"]) == 2.0


def test_training_learns_every_parameter_and_honours_the_projector_factors(rng):
    X = [rng.normal(size=(int(rng.integers(4, 9)), C)) for _ in range(24)]
    y = np.array([int(x[:, 0].mean() > 0) for x in X])
    layers = [ll.sequence_input_layer(C), ll.lstm_projected_layer(H, Po, Pi, output_mode="last", input_projector_learn_rate_factor=0),
              ll.fully_connected_layer(2), ll.softmax_layer()]
    torch.manual_seed(0)
    net = ll.Network(layers)
    net.layers[1].build(C)
    before = {n: p.detach().clone() for n, p in net.layers[1].named_parameters()}
    options = ll.training_options("adam", max_epochs=15, mini_batch_size=8, initial_learn_rate=0.01, verbose=False, seed=0)
    net = ll.trainnet(X, y, net, "crossentropy", options)
    history = net.training_history_
    assert history["loss"].iloc[-3:].mean() < history["loss"].iloc[:3].mean()
    after = dict(net.layers[1].named_parameters())
    assert torch.equal(after["input_projector"], before["input_projector"])  # learn-rate factor 0
    for name in ("input_weights", "output_projector", "recurrent_weights", "bias"):
        assert not torch.equal(after[name], before[name]), name


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((H, 0, Pi), {}, r"output_projector_size must be a positive integer, the size the hidden state h is projected to; got 0\. Give an int such as output_projector_size=25"),
        ((H, 2.5, Pi), {}, r"output_projector_size must be a positive integer.*got 2\.5"),
        ((H, Po, -1), {}, r"input_projector_size must be a positive integer, the size the input x is projected to; got -1\. Give an int such as input_projector_size=4"),
        ((H, Po, "4"), {}, r"input_projector_size must be a positive integer.*got '4'"),
        ((H, Po, True), {}, r"input_projector_size must be a positive integer.*got True"),
        ((0, Po, Pi), {}, r"num_hidden_units must be a positive integer; got 0"),
        ((H, Po, Pi), {"input_weights": np.zeros((4 * H, C))}, r"input_weights must have shape \(24, 2\) \(4\*num_hidden_units, input_projector_size\)"),
        ((H, Po, Pi), {"recurrent_weights": np.zeros((4 * H, H))}, r"recurrent_weights must have shape \(24, 3\) \(4\*num_hidden_units, output_projector_size\)"),
        ((H, Po, Pi), {"output_projector": np.zeros((Po, H))}, r"output_projector must have shape \(6, 3\) \(num_hidden_units, output_projector_size\); got \(3, 6\)"),
        ((H, Po, Pi), {"input_projector": np.zeros((C, 3))}, r"input_projector must have shape \(5, 2\) \(input channels C, input_projector_size\); got \(5, 3\)"),
        ((H, Po, Pi), {"input_projector": np.zeros((4, Pi)), "input_size": C}, r"input_projector must have shape \(5, 2\)"),
        ((H, Po, Pi), {"input_projector_initializer": "xavier"}, r"input_projector_initializer must be one of 'glorot'"),
        ((H, Po, Pi), {"output_projector_learn_rate_factor": [1, 2]}, r"output_projector_learn_rate_factor must be one non-negative number \(a projector has no gate blocks\); got \[1, 2\]"),
        ((H, Po, Pi), {"input_projector_l2_factor": -1}, r"input_projector_l2_factor must be finite and non-negative; got -1"),
    ],
)
def test_bad_arguments_raise_clear_errors(args, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ll.lstm_projected_layer(*args, **kwargs)


def test_projectors_that_save_nothing_warn_and_the_input_size_comes_from_the_projector():
    with pytest.warns(UserWarning, match=naming("output_projector_size=5", "num_hidden_units=6", "output_projector_size < 4.8", "input_projector_size < 4.14")):
        ll.lstm_projected_layer(H, 5, Pi, input_size=C)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = ll.lstm_projected_layer(H, Po, Pi, input_projector=np.ones((C, Pi)))
    assert layer.input_size == C and layer.input_weights.shape == (4 * H, Pi)


def test_repr_names_the_projectors():
    layer = ll.lstm_projected_layer(100, 25, 4, input_size=12)
    assert repr(layer) == (
        "ProjectedLSTMLayer(name='', 100 hidden units, projectors: input 4, output 25, input size 12, "
        "output_mode='sequence', gate sigmoid, state tanh, fused kernel)"
    )


@pytest.mark.parametrize("state", ["tanh", "softsign"])  # the fused kernel and the step loop
def test_frozen_padding_gives_each_sequence_its_own_output(state, rng):
    net = _network(rng, state_activation_function=state, output_mode="last")
    X = [rng.normal(size=(n, C)) for n in (3, 8, 5)]
    together = ll.predict(net, X, freeze_padding=True, sequence_padding_direction="left")
    alone = np.stack([ll.predict(net, x) for x in X])
    np.testing.assert_allclose(together, alone, atol=1e-6, rtol=0)
