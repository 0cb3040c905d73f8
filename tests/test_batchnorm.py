"""Batch normalization: against torch's batch_norm with copied statistics, over real values only,
and between folding and unfolding over real frames only."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lstmlab as ll

from helpers import naming

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
DTYPES = [torch.float32, torch.float64]


def given(rng, C, dtype):
    """offset, scale, trained mean and variance (C,), exact in float32 so that float64 copies agree."""
    values = [rng.normal(size=C), rng.uniform(0.5, 2, size=C), rng.normal(size=C), rng.uniform(0.5, 2, size=C)]
    return [torch.as_tensor(v.astype(np.float32), dtype=dtype) for v in values]


def by_torch(x):
    """(B, T, C) -> (B, C, T), torch's layout for batch_norm over sequences."""
    return x.transpose(1, 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_matches_torch_batch_norm_and_updates_the_running_estimates(dtype, rng):
    B, T, C = 4, 7, 3
    offset, scale, mean, variance = given(rng, C, dtype)
    bn = ll.batch_normalization_layer(offset=offset, scale=scale, trained_mean=mean, trained_variance=variance).to(dtype)
    running_mean, running_var = mean.clone(), variance.clone()
    for step in range(3):  # the running estimates follow torch's over several steps
        x = torch.as_tensor(rng.normal(loc=step, scale=3, size=(B, T, C)), dtype=dtype)
        expected = F.batch_norm(by_torch(x), running_mean, running_var, scale, offset, training=True, momentum=0.1, eps=1e-5)
        y = bn(x)
        assert y.dtype == dtype
        torch.testing.assert_close(by_torch(y), expected, atol=TOLERANCE[dtype], rtol=0)
        torch.testing.assert_close(bn.trained_mean, running_mean, atol=TOLERANCE[dtype], rtol=0)
        torch.testing.assert_close(bn.trained_variance, running_var, atol=TOLERANCE[dtype], rtol=0)
    # torch updates the running variance with the unbiased batch variance; check that one step by hand
    x = torch.as_tensor(rng.normal(size=(2, 3, C)), dtype=dtype)
    before = bn.trained_variance.clone()
    bn(x)
    unbiased = x.reshape(-1, C).var(0, unbiased=True)
    torch.testing.assert_close(bn.trained_variance, 0.9 * before + 0.1 * unbiased, atol=TOLERANCE[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_prediction_uses_the_running_estimates_as_torch_eval(dtype, rng):
    C = 3
    offset, scale, mean, variance = given(rng, C, dtype)
    bn = ll.batch_normalization_layer(offset=offset, scale=scale, trained_mean=mean, trained_variance=variance, epsilon=1e-3).to(dtype).eval()
    x = torch.as_tensor(rng.normal(size=(2, 5, C)), dtype=dtype)
    expected = F.batch_norm(by_torch(x), mean, variance, scale, offset, training=False, eps=1e-3)
    torch.testing.assert_close(by_torch(bn(x)), expected, atol=TOLERANCE[dtype], rtol=0)
    torch.testing.assert_close(by_torch(bn(x[:1])), expected[:1], atol=TOLERANCE[dtype], rtol=0)  # any mini-batch
    assert torch.equal(bn.trained_mean, mean)  # unchanged


def test_by_hand():
    bn = ll.batch_normalization_layer(epsilon=1e-9)
    x = torch.tensor([[[1.0], [3.0]], [[5.0], [7.0]]])  # one channel: mean 4, variance 5
    y = bn(x)
    np.testing.assert_allclose(y.detach().numpy().ravel(), np.array([-3, -1, 1, 3]) / np.sqrt(5), rtol=1e-6)
    np.testing.assert_allclose(bn.trained_mean.numpy(), [0.4], rtol=1e-6)  # 0.9 * 0 + 0.1 * 4
    np.testing.assert_allclose(bn.trained_variance.numpy(), [0.9 + 0.1 * 20 / 3], rtol=1e-6)  # unbiased: 20 / 3


@pytest.mark.parametrize("direction", ["left", "right"])
def test_statistics_over_real_steps_only(direction, rng):
    C = 2
    X = [rng.normal(loc=2, size=(T, C)) for T in (5, 2, 4)]
    x, mask = ll.pad_sequences(X, direction=direction, padding_value=100.0)  # loud padding
    x, mask = torch.as_tensor(x), torch.as_tensor(mask)
    bn = ll.batch_normalization_layer().double()
    y, out_mask = bn.propagate(x, mask)
    assert out_mask is mask
    real = torch.as_tensor(np.concatenate(X))  # (11, C)
    expected = F.batch_norm(real, torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64), training=True, momentum=0.1)
    torch.testing.assert_close(y[mask], expected, atol=1e-10, rtol=0)
    torch.testing.assert_close(bn.trained_mean, 0.1 * real.mean(0), atol=1e-10, rtol=0)


@pytest.mark.parametrize("direction", ["left", "right"])
def test_between_fold_and_unfold_statistics_over_real_frames_only(direction, rng):
    H, W, C = 3, 2, 2
    net = ll.Network([ll.sequence_input_layer((H, W, C)), ll.sequence_folding_layer(), ll.batch_normalization_layer(), ll.sequence_unfolding_layer()]).double()
    X = [rng.normal(loc=1, size=(T, H, W, C)) for T in (4, 1, 3)]
    x, mask = ll.pad_sequences(X, direction=direction, padding_value=-50.0)
    net.train()
    y, _, out_mask = net.run(torch.as_tensor(x), torch.as_tensor(mask))
    assert y.shape == (3, 4, H, W, C) and torch.equal(out_mask, torch.as_tensor(mask))

    frames = torch.as_tensor(np.concatenate(X))  # (8, H, W, C): the real frames
    running_mean, running_var = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
    expected = F.batch_norm(frames.permute(0, 3, 1, 2), running_mean, running_var, training=True, momentum=0.1).permute(0, 2, 3, 1)
    torch.testing.assert_close(y[out_mask], expected, atol=1e-10, rtol=0)
    assert not y[~out_mask].any()  # padded frames come back as zeros
    bn = net["batchnorm"]
    torch.testing.assert_close(bn.trained_mean, running_mean, atol=1e-10, rtol=0)
    torch.testing.assert_close(bn.trained_variance, running_var, atol=1e-10, rtol=0)


def test_training_in_a_network_keeps_running_estimates(rng):
    """trainnet leaves the running estimates away from their start; prediction then uses them."""
    X = [rng.normal(loc=3, scale=2, size=(T, 2)) for T in (6, 8, 5, 7)]
    y = np.array([0, 1, 0, 1])
    layers = [ll.sequence_input_layer(2), ll.batch_normalization_layer(), ll.lstm_layer(3, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()]
    options = ll.training_options("adam", max_epochs=5, mini_batch_size=4, verbose=False, seed=0)
    net = ll.trainnet(X, y, layers, "crossentropy", options)
    bn = net["batchnorm"]
    real = np.concatenate(X)
    # five steps of 0.1 towards the data's mean (3, 3) from 0: 1 - 0.9 ** 5 of the way
    np.testing.assert_allclose(bn.trained_mean.numpy(), (1 - 0.9**5) * real.mean(0), rtol=1e-5)
    alone = ll.predict(net, X, mini_batch_size=1, freeze_padding=True)
    np.testing.assert_allclose(ll.predict(net, X, mini_batch_size=4, freeze_padding=True), alone, atol=1e-6, rtol=0)


def test_bad_options_and_inputs():
    with pytest.raises(ValueError, match=r"batch_normalization_layer: epsilon must be a small positive number such as 1e-5; got 0"):
        ll.batch_normalization_layer(epsilon=0)
    with pytest.raises(ValueError, match=r"batch_normalization_layer: mean_decay must be a number in \[0, 1\); got 1.5"):
        ll.batch_normalization_layer(mean_decay=1.5)
    with pytest.raises(ValueError, match=naming("batch_normalization_layer: offset", "(3,)", "got (2,)")):
        ll.batch_normalization_layer(offset=[0.0, 1.0], num_channels=3)
    bn = ll.batch_normalization_layer(num_channels=3)
    with pytest.raises(ValueError, match=r"batchnorm: the input has 2 channels but the layer was built for num_channels=3"):
        bn(torch.zeros(2, 4, 2))
    with pytest.raises(ValueError, match=naming("batchnorm:", "at least 2 values per channel", "got 1")):
        bn(torch.zeros(1, 1, 3))
    with pytest.raises(TypeError, match="batchnorm: expects a torch tensor; got ndarray"):
        bn(np.zeros((1, 2, 3)))
