import numpy as np
import pytest
import torch

import lstmlab as ll

H, C = 64, 48


def weights(initializer, which="input_weights_initializer"):
    return getattr(ll.lstm_layer(H, input_size=C, **{which: initializer}), which.removesuffix("_initializer")).detach().numpy()


def test_glorot_has_variance_two_over_fan_in_plus_fan_out():
    W = weights("glorot")
    assert np.abs(W).max() <= np.sqrt(6 / (C + 4 * H))
    assert W.var() == pytest.approx(2 / (C + 4 * H), rel=0.05)


def test_he_has_variance_two_over_fan_in():
    assert weights("he").var() == pytest.approx(2 / C, rel=0.05)


def test_orthogonal_has_orthonormal_columns():
    R = weights("orthogonal", "recurrent_weights_initializer")  # (4H, H)
    np.testing.assert_allclose(R.T @ R, np.eye(H), atol=1e-5)
    W = ll.lstm_layer(2, input_size=20, input_weights_initializer="orthogonal").input_weights.detach().numpy()  # (8, 20)
    np.testing.assert_allclose(W @ W.T, np.eye(8), atol=1e-5)


def test_narrow_normal_zeros_ones():
    assert weights("narrow-normal").std() == pytest.approx(0.01, rel=0.05)
    assert not weights("zeros").any() and (weights("ones") == 1).all()


def test_unit_forget_gate_bias_in_every_direction():
    b = ll.bilstm_layer(2, input_size=1).bias.detach().numpy()
    np.testing.assert_array_equal(b, [0, 0, 1, 1, 0, 0, 0, 0] * 2)
    assert not ll.gru_layer(2, input_size=1).bias.detach().numpy().any()


def test_callable_initializers_get_the_shape():
    seen = []

    def init(shape):
        seen.append(shape)
        return np.full(shape, 0.5)

    layer = ll.lstm_layer(3, input_size=2, input_weights_initializer=init, bias_initializer=init)
    assert seen == [(12, 2), (12,)]
    assert (layer.input_weights.detach().numpy() == 0.5).all()
    with pytest.raises(ValueError, match=r"the result of input_weights_initializer must have shape \(12, 2\); got \(2, 12\)"):
        ll.lstm_layer(3, input_size=2, input_weights_initializer=lambda shape: np.zeros(shape[::-1]))


def test_initializers_follow_the_torch_seed():
    torch.manual_seed(3)
    a = weights("glorot")
    torch.manual_seed(3)
    np.testing.assert_array_equal(a, weights("glorot"))
