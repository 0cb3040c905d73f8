import numpy as np
import pytest
import torch
from torch.func import functional_call

import lstmlab as ll
from lstmlab import reference as ref

from helpers import GATES, STATES, numpy_params, shaken, step_loop

C, H, B, T = 3, 4, 2, 6


def reference_lstm(layer, x, h0, c0):
    """Forward (and backward) directions of a float64 layer with the NumPy reference: (B, T, D*H)."""
    out = []
    for d in range(layer.num_directions):
        W, R, b = numpy_params(layer, d)
        g, s = layer.gate_activation_function, layer.state_activation_function
        hs = []
        for n in range(len(x)):
            seq = x[n] if d == 0 else x[n][::-1]
            h = ref.lstm_sequence(seq, W, R, b, h0[d * H : (d + 1) * H], c0[d * H : (d + 1) * H], g, s).h
            hs.append(h if d == 0 else h[::-1])
        out.append(np.stack(hs))
    return np.concatenate(out, axis=-1)


@pytest.mark.parametrize("make", [ll.lstm_layer, ll.bilstm_layer], ids=["lstm", "bilstm"])
@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("state", STATES)
def test_layer_matches_the_numpy_reference_in_float64(make, gate, state, rng):
    D = 2 if make is ll.bilstm_layer else 1
    h0, c0 = rng.normal(size=D * H), rng.normal(size=D * H)
    layer = make(H, input_size=C, gate_activation_function=gate, state_activation_function=state, hidden_state=h0, cell_state=c0)
    layer = shaken(layer.double(), rng)
    x = rng.normal(size=(B, T, C))
    y = layer(torch.as_tensor(x)).detach().numpy()
    h0, c0 = layer.initial_hidden_state.numpy(), layer.initial_cell_state.numpy()
    np.testing.assert_allclose(y, reference_lstm(layer, x, h0, c0), atol=1e-10, rtol=0)
    assert layer.uses_fused_kernel == (gate == "sigmoid" and state == "tanh")


@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_matches_torch_lstm_with_copied_weights(bidirectional, rng):
    module = torch.nn.LSTM(C, H, batch_first=True, bidirectional=bidirectional)
    layer = ll.from_torch(module)
    x = torch.as_tensor(rng.normal(size=(B, T, C)), dtype=torch.float32)
    D = 2 if bidirectional else 1
    h0, c0 = torch.randn(D, B, H), torch.randn(D, B, H)
    expected, (h_n, c_n) = module(x, (h0, c0))
    stateful = ll.from_torch(module, has_state_inputs=True, has_state_outputs=True)
    as_input = [s.transpose(0, 1).reshape(B, D * H) for s in (h0, c0)]
    y, h, c = stateful(x, *as_input)
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_n.transpose(0, 1).reshape(B, D * H), atol=1e-5, rtol=0)
    torch.testing.assert_close(c, c_n.transpose(0, 1).reshape(B, D * H), atol=1e-5, rtol=0)
    # and the step-by-step loop computes the same as the fused kernel
    loop, _ = step_loop(layer, x.transpose(0, 1), layer.start_states(B))
    torch.testing.assert_close(loop.transpose(0, 1), layer(x), atol=1e-5, rtol=0)


def test_gradients_of_the_step_loop_pass_gradcheck(rng):
    layer = ll.bilstm_layer(2, input_size=2, state_activation_function="softsign", cell_state=[0.1, -0.2, 0.3, 0.4])
    layer = shaken(layer.double(), rng)
    x = torch.tensor(rng.normal(size=(2, 4, 2)), requires_grad=True)
    params = {k: v.detach().clone().requires_grad_() for k, v in layer.named_parameters()}

    def run(x, W, R, b):
        return functional_call(layer, {"input_weights": W, "recurrent_weights": R, "bias": b}, (x,))

    assert not layer.uses_fused_kernel
    assert torch.autograd.gradcheck(run, (x, params["input_weights"], params["recurrent_weights"], params["bias"]))


def test_output_mode_last_returns_the_last_step():
    seq = ll.lstm_layer(H, input_size=C)
    last = ll.lstm_layer(H, input_size=C, output_mode="last")
    last.load_state_dict(seq.state_dict())
    x = torch.randn(B, T, C)
    torch.testing.assert_close(last(x), seq(x)[:, -1])
    assert last(x).shape == (B, H)


def test_bilstm_last_holds_a_backward_half_that_saw_only_the_last_step():
    layer = ll.bilstm_layer(H, input_size=C, output_mode="last", has_state_outputs=True)
    x = torch.randn(B, T, C)
    y, h_final, _ = layer(x)
    assert y.shape == (B, 2 * H)
    # the backward half of "last" depends on x_T alone ...
    alone, _, _ = layer(x[:, -1:])
    torch.testing.assert_close(y[:, H:], alone[:, H:])
    # ... while the final backward state has read the whole sequence, back to x_1
    full = ll.bilstm_layer(H, input_size=C)
    full.load_state_dict(layer.state_dict())
    torch.testing.assert_close(h_final[:, H:], full(x)[:, 0, H:])
    torch.testing.assert_close(h_final[:, :H], y[:, :H])


def test_initial_states_and_reset_state():
    layer = ll.lstm_layer(2, input_size=1, hidden_state=[1.0, -1.0], cell_state=[0.5, 0.5])
    np.testing.assert_array_equal(layer.hidden_state.numpy(), [1, -1])
    layer.hidden_state.data = torch.tensor([7.0, 7.0])
    layer.reset_state()
    np.testing.assert_array_equal(layer.hidden_state.numpy(), [1, -1])
    np.testing.assert_array_equal(ll.lstm_layer(3).cell_state.numpy(), [0, 0, 0])


def test_given_weights_are_used_as_given_in_matlab_layout():
    W, R, b = np.arange(8.0).reshape(8, 1), np.zeros((8, 2)), np.arange(8.0)
    layer = ll.lstm_layer(2, input_weights=W, recurrent_weights=R, bias=b[:, None])
    assert layer.input_size == 1
    np.testing.assert_array_equal(layer.input_weights.detach().numpy(), W)
    np.testing.assert_array_equal(layer.bias.detach().numpy(), b)


def test_state_inputs_must_have_the_batch_shape():
    layer = ll.lstm_layer(H, input_size=C, has_state_inputs=True)
    with pytest.raises(ValueError, match=r"hidden state input must have shape \(batch, 4\) = \(2, 4\); got \(4,\)"):
        layer(torch.randn(B, T, C), torch.zeros(H), torch.zeros(H))
    with pytest.raises(ValueError, match="expected 2 state inputs"):
        layer(torch.randn(B, T, C), torch.zeros(B, H))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_hidden_units": 0}, r"num_hidden_units must be a positive integer; got 0"),
        ({"num_hidden_units": 2.5}, r"num_hidden_units must be a positive integer; got 2.5"),
        ({"num_hidden_units": True}, r"num_hidden_units must be a positive integer; got True"),
        ({"output_mode": "all"}, r"output_mode must be one of 'sequence', 'last', 'final'; got 'all'"),
        ({"gate_activation_function": "tanh"}, r"gate_activation_function must be one of 'sigmoid', 'hard-sigmoid'; got 'tanh'"),
        ({"state_activation_function": "elu"}, r"state_activation_function must be one of 'tanh', 'softsign', 'relu'"),
        ({"input_weights_initializer": "xavier"}, r"input_weights_initializer must be one of 'glorot', 'he'"),
        ({"bias_initializer": "glorot"}, r"bias_initializer must be one of 'unit-forget-gate'"),
        ({"input_weights": np.zeros((7, 3))}, r"input_weights must have shape \(16, C\) \(rows: 4 blocks of num_hidden_units in gate order i, f, g, o\); got \(7, 3\)"),
        ({"input_weights": np.zeros((3, 16))}, r"must have shape \(16, C\) .*; the array looks transposed: lstmlab stores W as \(rows, input channels\); got \(3, 16\)"),
        ({"input_weights": 3.0}, r"input_weights must have shape \(16, C\)"),
        ({"input_weights": np.zeros((16, 0))}, r"input_size \(the columns of input_weights\) must be a positive integer; got 0"),
        ({"input_weights_learn_rate_factor": True}, r"input_weights_learn_rate_factor must be a non-negative number or 4 numbers"),
        ({"recurrent_weights": np.zeros((16, 3))}, r"recurrent_weights must have shape \(16, 4\)"),
        ({"bias": np.zeros(4)}, r"bias must have shape \(16,\)"),
        ({"bias": np.full(16, np.nan)}, r"bias contains NaN or Inf"),
        ({"hidden_state": np.zeros(3)}, r"hidden_state must have shape \(4,\); got \(3,\)"),
        ({"has_state_inputs": True, "cell_state": np.zeros(4)}, r"cell_state must be None when has_state_inputs=True"),
        ({"input_weights_learn_rate_factor": [1, 2]}, r"input_weights_learn_rate_factor must be a non-negative number or 4 numbers, one per block of rows \(i, f, g, o\); got \[1, 2\]"),
        ({"bias_l2_factor": -1}, r"bias_l2_factor must be finite and non-negative; got -1"),
        ({"has_state_outputs": "yes"}, r"has_state_outputs must be True or False; got 'yes'"),
        ({"input_size": 0}, r"input_size must be a positive integer; got 0"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    kwargs = {"num_hidden_units": H, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        ll.lstm_layer(**kwargs)


def test_bilstm_weight_shape_error_names_the_direction_order():
    with pytest.raises(ValueError, match=r"\(32, C\) \(rows: forward then backward, 4 blocks"):
        ll.bilstm_layer(H, input_weights=np.zeros((16, 3)))


def test_input_with_the_wrong_channels_is_rejected():
    layer = ll.lstm_layer(H, input_size=C, name="enc")
    with pytest.raises(ValueError, match=r"enc: the input has 5 channels but the layer was built for input_size=3"):
        layer(torch.zeros(1, 2, 5))


def test_direct_calls_with_the_wrong_shape_or_dtype():
    layer = ll.lstm_layer(H, input_size=C)
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, time, channels\); got \(5, 3\)"):
        layer(torch.zeros(5, C))
    with pytest.raises(TypeError, match=r"the input is torch.float64 but the weights are torch.float32; convert one of them"):
        layer(torch.zeros(1, 5, C, dtype=torch.float64))


def test_direct_calls_with_other_inputs():
    layer = ll.lstm_layer(H, input_size=C, has_state_inputs=True)
    with pytest.raises(TypeError, match=r"expects a torch tensor \(batch, time, channels\); got ndarray. For NumPy data use ll.predict"):
        layer(np.zeros((1, 2, C)))
    with pytest.raises(TypeError, match=r"the input is torch.int64; give floating-point data, e.g. x.float\(\)"):
        layer(torch.zeros(1, 2, C, dtype=torch.int64))
    with pytest.raises(ValueError, match="the input has 0 time steps"):
        layer(torch.zeros(1, 0, C))
    with pytest.raises(TypeError, match=r"the hidden state input must be a torch.float32 tensor; got torch.float64"):
        layer(torch.zeros(1, 2, C), torch.zeros(1, H, dtype=torch.float64), torch.zeros(1, H))


def test_matlab_style_factor_rows_are_accepted():
    layer = ll.lstm_layer(H, input_size=C, bias_learn_rate_factor=np.array([[1, 2, 3, 4]]))
    np.testing.assert_array_equal(layer.learn_rate_factor["bias"].numpy(), [1, 2, 3, 4])


def test_repr_reads_like_a_sentence():
    text = repr(ll.lstm_layer(100, output_mode="last", name="lstm"))
    assert text == (
        "LSTMLayer(name='lstm', 100 hidden units, input size auto, output_mode='last', "
        "gate sigmoid, state tanh, fused kernel)"
    )


def test_bilstm_factors_apply_to_both_directions():
    layer = ll.bilstm_layer(2, input_size=1, input_weights_learn_rate_factor=[1, 2, 3, 4], bias_l2_factor=[0, 1, 0, 0])
    np.testing.assert_array_equal(layer.learn_rate_factors()["input_weights"][:, 0].numpy(), [1, 1, 2, 2, 3, 3, 4, 4] * 2)
    np.testing.assert_array_equal(layer.l2_factors()["bias"].numpy(), [0, 0, 1, 1, 0, 0, 0, 0] * 2)


def test_relu_has_torchs_gradient_at_zero_and_computes_in_place():
    from lstmlab.activations import relu

    z = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    relu(z).sum().backward()
    assert z.grad.tolist() == [0.0, 0.0, 1.0], "as torch.relu: no gradient at exactly 0 (zero padding makes such values)"
    out = torch.empty(3)
    assert relu(z.detach(), out=out) is out and out.tolist() == [0.0, 0.0, 2.0]
