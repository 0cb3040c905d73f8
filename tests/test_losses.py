import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab import losses

from helpers import naming


def test_crossentropy_by_hand():
    scores = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    codes = torch.tensor([0, 2])
    p = np.exp(scores.numpy()) / np.exp(scores.numpy()).sum(1, keepdims=True)
    expected = -(np.log(p[0, 0]) + np.log(p[1, 2])) / 2
    assert losses.compute("crossentropy", scores, codes).item() == pytest.approx(expected, rel=1e-6)


def test_per_step_losses_count_real_steps_only():
    scores = torch.tensor([[[1.0], [2.0], [100.0]]])  # the last step is padding
    targets = torch.tensor([[[0.0], [0.0], [0.0]]])
    mask = torch.tensor([[True, True, False]])
    assert losses.compute("mse", scores, targets, mask).item() == pytest.approx((1 + 4) / 2)
    assert losses.compute("mae", scores, targets, mask).item() == pytest.approx(1.5)
    assert losses.compute("huber", scores, targets, mask).item() == pytest.approx((0.5 + 1.5) / 2)


def test_binary_crossentropy_by_hand():
    scores, targets = torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])
    p = 1 / (1 + np.exp(-np.array([0.0, 2.0])))
    expected = -(np.log(p[0]) + np.log(1 - p[1])) / 2
    assert losses.compute("binary-crossentropy", scores, targets).item() == pytest.approx(expected, rel=1e-6)


def test_callable_loss_gets_real_steps():
    seen = []
    loss = lambda Y, T: seen.append((Y.shape, T.shape)) or (Y - T).abs().sum()  # noqa: E731
    losses.compute(loss, torch.ones(2, 3, 1), torch.zeros(2, 3, 1), torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=bool))
    assert seen == [((3, 1), (3, 1))]


def test_check_loss():
    net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(2, output_mode="last"), ll.fully_connected_layer(2)])
    with pytest.raises(ValueError, match=r"loss 'crossentropy' needs probabilities; end the network with ll.softmax_layer\(\)"):
        losses.check_loss("crossentropy", net)
    with pytest.raises(ValueError, match=naming("loss must be one of", "got 'l2'")):
        losses.check_loss("l2", net)
