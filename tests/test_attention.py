"""Attention (Luong et al. 2015) against its NumPy reference lines, its mask, and its parameters."""

import numpy as np
import pytest
import torch

from lstmlab import reference
from lstmlab.attention import Attention


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_attention_equals_the_numpy_reference_lines(score):
    torch.manual_seed(0)
    attend = Attention(score, 5).double()
    rng = np.random.default_rng(1)
    h, memory = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 4, 5))  # (B, T, H), (B, S, H)
    lengths = [4, 2]  # the second source has two padded steps
    mask = np.arange(4)[None, :] < np.array(lengths)[:, None]
    with torch.no_grad():
        h_tilde, alpha = attend(torch.as_tensor(h), torch.as_tensor(memory), torch.as_tensor(mask))
    weights = {name: p.detach().numpy() for name, p in attend.named_parameters()}
    for b, S in enumerate(lengths):
        for t in range(3):
            step = reference.attention_step(h[b, t], memory[b, :S], weights["W_c"], score, weights.get("W_a"), weights.get("v_a"))
            np.testing.assert_allclose(alpha[b, t, :S].numpy(), step.alpha, rtol=0, atol=1e-10)
            np.testing.assert_allclose(h_tilde[b, t].numpy(), step.h_tilde, rtol=0, atol=1e-10)
            assert abs(step.alpha.sum() - 1) < 1e-12
    assert torch.all(alpha[1, :, 2:] == 0)  # padding gets exactly nothing


def test_the_parameters_of_each_score():
    shapes = {score: {n: tuple(p.shape) for n, p in Attention(score, 6).named_parameters()} for score in ("dot", "general", "additive")}
    assert shapes == {
        "dot": {"W_c": (6, 12)},
        "general": {"W_c": (6, 12), "W_a": (6, 6)},
        "additive": {"W_c": (6, 12), "W_a": (6, 12), "v_a": (6,)},
    }


def test_an_unknown_score_is_refused():
    with pytest.raises(ValueError, match=r"attention.*'dot', 'general', 'additive'.*'bahdanau'"):
        Attention("bahdanau", 4)
