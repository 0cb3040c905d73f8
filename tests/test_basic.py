import numpy as np
import pytest
import torch

import lstmlab as ll


def test_fully_connected_applies_at_every_step_with_given_weights():
    W, b = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.0]]), np.array([0.5, 0.0, -1.0])
    fc = ll.fully_connected_layer(3, weights=W, bias=b)
    assert fc.input_size == 2
    x = torch.tensor([[[1.0, 1.0], [2.0, 0.0]]])  # (B=1, T=2, C=2)
    np.testing.assert_allclose(fc(x).detach().numpy(), [[[3.5, -1.0, 2.0], [2.5, 0.0, 5.0]]])
    np.testing.assert_allclose(fc(x[:, 0]).detach().numpy(), [[3.5, -1.0, 2.0]])


def test_fully_connected_initializers_and_factors():
    fc = ll.fully_connected_layer(4, input_size=3, weights_initializer="ones", weights_learn_rate_factor=2)
    assert (fc.weights.detach().numpy() == 1).all() and not fc.bias.detach().numpy().any()
    assert fc.learn_rate_factors()["weights"].item() == 2 and fc.l2_factors()["bias"].item() == 0
    assert repr(fc) == "FullyConnectedLayer(name='', 4 outputs, input size 3)"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"output_size": 0}, r"output_size must be a positive integer; got 0"),
        ({"weights_initializer": "unit-forget-gate"}, r"weights_initializer must be one of 'glorot', .* or a callable"),
        ({"weights": np.zeros((2, 3))}, r"weights must have shape \(4, 3\) \(output_size, input channels\); got \(2, 3\)"),
        ({"bias_learn_rate_factor": -1}, r"bias_learn_rate_factor must be a finite non-negative number; got -1"),
    ],
)
def test_fully_connected_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ll.fully_connected_layer(**{"output_size": 4, **kwargs})


def test_softmax_and_dropout():
    p = ll.softmax_layer()(torch.randn(2, 5, 3))
    torch.testing.assert_close(p.sum(-1), torch.ones(2, 5))
    drop = ll.dropout_layer(0.5)
    x = torch.ones(1000)
    assert torch.equal(drop.eval()(x), x)
    kept = drop.train()(x)
    assert set(kept.unique().tolist()) == {0.0, 2.0} and 400 < kept.count_nonzero() < 600
    with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\); got 1"):
        ll.dropout_layer(1)
    with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\); got 'half'"):
        ll.dropout_layer("half")


def test_sequence_input_layer():
    layer = ll.sequence_input_layer(12, min_length=3, name="in")
    assert repr(layer) == "SequenceInputLayer(name='in', 12 channels, min_length=3)"
    with pytest.raises(ValueError, match=r"input_size must be a positive integer; got 0"):
        ll.sequence_input_layer(0)
    with pytest.raises(ValueError, match=r"min_length must be a positive integer; got 0"):
        ll.sequence_input_layer(3, min_length=0)
