import numpy as np
import pytest
import torch

import lstmlab as ll

from helpers import naming

H, C = 2, 3


def one_layer_net(**options):
    return ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H, output_mode="last", **options)]).double()


def gradients(net):
    net.zero_grad()
    x = torch.linspace(-1, 1, 2 * 4 * C, dtype=torch.float64).reshape(2, 4, C)
    net(x).pow(2).sum().backward()
    layer = net["lstm"]
    return {name: p.grad.clone() for name, p in layer.named_parameters()}, {name: p.detach().clone() for name, p in layer.named_parameters()}


def test_per_gate_learn_rate_factors_scale_one_sgd_step_per_gate_slice():
    factors = [0.0, 1.0, 2.0, 3.0]
    net = one_layer_net(input_weights_learn_rate_factor=factors, recurrent_weights_learn_rate_factor=2, bias_learn_rate_factor=factors)
    grads, before = gradients(net)
    solver = ll.Solver(net, "sgdm", learn_rate=0.1, momentum=0, l2_regularization=0)
    solver.step()
    layer = net["lstm"]
    for name in ("input_weights", "bias"):
        step = (getattr(layer, name).detach() - before[name]).numpy()
        for k, factor in enumerate(factors):
            rows = slice(k * H, (k + 1) * H)
            np.testing.assert_allclose(step[rows], -0.1 * factor * grads[name][rows].numpy(), rtol=1e-12, atol=1e-15)
        assert np.all(step[:H] == 0), "a factor of 0 freezes the input gate's rows"
    step = (layer.recurrent_weights.detach() - before["recurrent_weights"]).numpy()
    np.testing.assert_allclose(step, -0.2 * grads["recurrent_weights"].numpy(), rtol=1e-12, atol=1e-15)


def test_l2_factors_add_weight_decay_per_gate():
    net = one_layer_net(input_weights_l2_factor=[1, 0, 0, 0], recurrent_weights_l2_factor=0, bias_l2_factor=0)
    grads, before = gradients(net)
    ll.Solver(net, "sgdm", learn_rate=1.0, momentum=0, l2_regularization=0.5).step()
    step = net["lstm"].input_weights.detach() - before["input_weights"]
    decay = torch.zeros_like(step)
    decay[:H] = 0.5 * before["input_weights"][:H]
    torch.testing.assert_close(step, -(grads["input_weights"] + decay))


@pytest.mark.parametrize("solver", ["sgdm", "adam", "rmsprop"])
def test_two_steps_match_the_formulas_by_hand(solver):
    net = one_layer_net(bias_learn_rate_factor=[1, 1, 0.5, 1])
    s = ll.Solver(net, solver, learn_rate=0.01, l2_regularization=0)
    rate = 0.01 * net["lstm"].learn_rate_factors()["bias"]
    m = v = torch.zeros(4 * H, dtype=torch.float64)
    for k in (1, 2):
        grads, before = gradients(net)
        d = grads["bias"]
        s.step()
        if solver == "sgdm":
            m = 0.9 * m - rate * d
            expected = before["bias"] + m
        elif solver == "adam":
            m, v = 0.9 * m + 0.1 * d, 0.999 * v + 0.001 * d**2
            expected = before["bias"] - rate * (m / (1 - 0.9**k)) / ((v / (1 - 0.999**k)).sqrt() + 1e-8)
        else:
            v = 0.9 * v + 0.1 * d**2
            expected = before["bias"] - rate * d / (v.sqrt() + 1e-8)
        torch.testing.assert_close(net["lstm"].bias.detach(), expected)


def test_defaults_and_errors():
    net = one_layer_net()
    assert ll.Solver(net, "sgdm").learn_rate == 0.01
    assert ll.Solver(net).learn_rate == 0.001
    assert ll.Solver(net, "rmsprop").beta2 == 0.9
    with pytest.raises(ValueError, match=r"solver must be one of 'sgdm', 'adam', 'rmsprop'; got 'sgd'"):
        ll.Solver(net, "sgd")


def test_solver_refuses_networks_without_weights_and_bad_values():
    with pytest.raises(ValueError, match=naming("layer 'lstm' has no weights yet", "input_size='auto'", "ll.sequence_input_layer")):
        ll.Solver(ll.Network([ll.lstm_layer(2)]))
    with pytest.raises(TypeError, match=r"net must be an ll.Network; got LSTMLayer"):
        ll.Solver(ll.lstm_layer(2, input_size=1))
    net = one_layer_net()
    with pytest.raises(ValueError, match=r"learn_rate must be a finite non-negative number; got -1"):
        ll.Solver(net, learn_rate=-1)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\); got 'x'"):
        ll.Solver(net, "sgdm", momentum="x")


@pytest.mark.parametrize("method", ["l2norm", "global-l2norm", "absolute-value"])
def test_gradient_thresholds_by_hand(method):
    net = one_layer_net()
    grads, before = gradients(net)
    threshold = 0.01
    ll.Solver(net, "sgdm", learn_rate=1.0, momentum=0, l2_regularization=0, gradient_threshold=threshold, gradient_threshold_method=method).step()
    names = ["input_weights", "recurrent_weights", "bias"]
    if method == "absolute-value":
        clipped = {n: grads[n].clamp(-threshold, threshold) for n in names}
    elif method == "l2norm":
        clipped = {n: grads[n] * min(1.0, threshold / grads[n].norm().item()) for n in names}
    else:
        total = np.sqrt(sum(float((grads[n] ** 2).sum()) for n in names))
        clipped = {n: grads[n] * min(1.0, threshold / total) for n in names}
    for n in names:
        torch.testing.assert_close(getattr(net["lstm"], n).detach() - before[n], -clipped[n], rtol=1e-12, atol=1e-15)


def test_torch_clipping_is_not_matlabs_where_the_solver_keeps_its_own():
    """Why `Solver._clip` does not call torch.nn.utils: clip_grad_norm_ scales by threshold / (norm + 1e-6)
    where MATLAB scales by threshold / norm, and every torch clip acts on p.grad, not on d = grad + L2 term.
    If torch ever computes MATLAB's numbers, this fails: then call it."""
    net = one_layer_net()
    grads, _ = gradients(net)
    params = [getattr(net["lstm"], n) for n in ("input_weights", "recurrent_weights", "bias")]
    total = torch.sqrt(sum((p.grad**2).sum() for p in params))
    threshold = float(total) / 2
    torch.nn.utils.clip_grad_norm_(params, threshold)
    matlab = [grads[n] * (threshold / total) for n in ("input_weights", "recurrent_weights", "bias")]
    assert not all(torch.equal(p.grad, m) for p, m in zip(params, matlab))
    torch.testing.assert_close([p.grad for p in params], matlab, rtol=1e-5, atol=0)  # close, not MATLAB's
