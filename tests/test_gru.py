import numpy as np
import pytest
import torch
from torch.func import functional_call

import lstmlab as ll
from lstmlab import reference as ref
from lstmlab.layers.gru import RESET_GATE_MODES

from helpers import GATES, STATES, naming, numpy_params, shaken, step_loop

C, H, B, T = 3, 4, 2, 6


@pytest.mark.parametrize("mode", RESET_GATE_MODES)
@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("state", STATES)
def test_gru_matches_the_numpy_reference_in_float64(mode, gate, state, rng):
    h0 = rng.normal(size=H)
    layer = ll.gru_layer(H, input_size=C, reset_gate_mode=mode, gate_activation_function=gate, state_activation_function=state, hidden_state=h0)
    layer = shaken(layer.double(), rng)
    x = rng.normal(size=(B, T, C))
    y = layer(torch.as_tensor(x)).detach().numpy()
    W, R, b = numpy_params(layer)
    h0 = layer.initial_hidden_state.numpy()
    expected = np.stack([ref.gru_sequence(x[n], W, R, b, h0, gate, state, mode).h for n in range(B)])
    np.testing.assert_allclose(y, expected, atol=1e-10, rtol=0)
    assert layer.uses_fused_kernel == (gate == "sigmoid" and state == "tanh" and mode != "before-multiplication")


def test_gru_matches_torch_gru_with_copied_weights(rng):
    module = torch.nn.GRU(C, H, batch_first=True)
    layer = ll.from_torch(module, has_state_inputs=True, has_state_outputs=True)
    assert layer.reset_gate_mode == "recurrent-bias-after-multiplication"
    x = torch.as_tensor(rng.normal(size=(B, T, C)), dtype=torch.float32)
    h0 = torch.randn(1, B, H)
    expected, h_n = module(x, h0)
    y, h = layer(x, h0[0])
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_n[0], atol=1e-5, rtol=0)
    loop, _ = step_loop(layer, x.transpose(0, 1), layer.start_states(B, (h0[0],)))
    torch.testing.assert_close(loop.transpose(0, 1), expected, atol=1e-5, rtol=0)


def test_after_multiplication_runs_the_fused_kernel_with_a_zero_recurrent_bias(rng):
    layer = shaken(ll.gru_layer(H, input_size=C), rng)
    module = layer.to_torch()
    np.testing.assert_array_equal(module.bias_hh_l0.detach().numpy(), np.zeros(3 * H))
    x = torch.randn(B, T, C)
    torch.testing.assert_close(layer(x), module(x)[0], atol=1e-5, rtol=0)


def test_gradients_of_the_before_multiplication_loop_pass_gradcheck(rng):
    layer = shaken(ll.gru_layer(3, input_size=2, reset_gate_mode="before-multiplication", output_mode="last").double(), rng)
    x = torch.tensor(rng.normal(size=(2, 5, 2)), requires_grad=True)
    W, R, b = (p.detach().clone().requires_grad_() for p in (layer.input_weights, layer.recurrent_weights, layer.bias))

    def run(x, W, R, b):
        return functional_call(layer, {"input_weights": W, "recurrent_weights": R, "bias": b}, (x,))

    assert not layer.uses_fused_kernel
    assert torch.autograd.gradcheck(run, (x, W, R, b))


def test_gru_bias_has_6h_values_with_a_recurrent_bias():
    layer = ll.gru_layer(H, input_size=C, reset_gate_mode="recurrent-bias-after-multiplication")
    assert layer.bias.shape == (6 * H,)
    assert layer.learn_rate_factors()["bias"].shape == (6 * H,)
    with pytest.raises(ValueError, match=naming("bias must have shape (24,)", "got (12,)")):
        ll.gru_layer(H, reset_gate_mode="recurrent-bias-after-multiplication", bias=np.zeros(12))


def test_gru_rejects_lstm_only_options():
    with pytest.raises(ValueError, match=naming("bias_initializer must be one of", "got 'unit-forget-gate'")):
        ll.gru_layer(H, bias_initializer="unit-forget-gate")
    with pytest.raises(ValueError, match=r"reset_gate_mode must be one of 'after-multiplication'"):
        ll.gru_layer(H, reset_gate_mode="after")
    with pytest.raises(ValueError, match=r"3 numbers, one per block of rows \(r, z, n\)"):
        ll.gru_layer(H, bias_learn_rate_factor=[1, 1, 1, 1])
    with pytest.raises(TypeError, match="cell_state"):
        ll.gru_layer(H, cell_state=np.zeros(H))


def test_gru_factors_per_gate_cover_both_bias_halves():
    layer = ll.gru_layer(2, input_size=1, reset_gate_mode="recurrent-bias-after-multiplication", bias_learn_rate_factor=[1, 2, 3], recurrent_weights_l2_factor=[0, 1, 0])
    np.testing.assert_array_equal(layer.learn_rate_factors()["bias"].numpy(), [1, 1, 2, 2, 3, 3] * 2)
    np.testing.assert_array_equal(layer.l2_factors()["recurrent_weights"][:, 0].numpy(), [0, 0, 1, 1, 0, 0])
