"""What the recurrent layers share: frozen padding (the state carried over padded steps)."""

import numpy as np
import pytest
import torch

import lstmlab as ll

from helpers import shaken

C, H = 3, 4
LAYERS = {
    "lstm": lambda **o: ll.lstm_layer(H, input_size=C, **o),
    "bilstm": lambda **o: ll.bilstm_layer(H, input_size=C, **o),
    "gru": lambda **o: ll.gru_layer(H, input_size=C, **o),
    "lstm-loop": lambda **o: ll.lstm_layer(H, input_size=C, state_activation_function="softsign", **o),
    "bilstm-loop": lambda **o: ll.bilstm_layer(H, input_size=C, gate_activation_function="hard-sigmoid", **o),
    "gru-loop": lambda **o: ll.gru_layer(H, input_size=C, reset_gate_mode="before-multiplication", **o),
}


def batch(X, direction):
    padded, mask = ll.pad_sequences(X, direction=direction, padding_value=9.0)
    return torch.as_tensor(padded), torch.as_tensor(mask)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("direction", ["right", "left"])
def test_frozen_padding_gives_each_sequence_what_it_gives_alone(kind, direction, rng):
    layer = shaken(LAYERS[kind](hidden_state=rng.normal(size=(2 if "bi" in kind else 1) * H)).double(), rng)
    X = [rng.normal(size=(T, C)) for T in (5, 2, 7)]
    x, mask = batch(X, direction)
    y, final = layer.run(x, mask=mask)
    start = layer.start_states(1)
    for n, seq in enumerate(X):
        alone, alone_final = layer.run(torch.as_tensor(seq[None]))
        real = mask[n]
        torch.testing.assert_close(y[n][real], alone[0], rtol=0, atol=1e-12)
        for s, s_alone in zip(final, alone_final):
            torch.testing.assert_close(s[n], s_alone[0], rtol=0, atol=1e-12)
        # on padded steps the state is carried: forward keeps its start before and its end after
        before = torch.arange(7) < torch.nonzero(real)[0, 0]
        after = torch.arange(7) > torch.nonzero(real)[-1, 0]
        torch.testing.assert_close(y[n][before][:, :H], start[0][0, :H].expand(int(before.sum()), H), rtol=0, atol=1e-12)
        torch.testing.assert_close(y[n][after][:, :H], alone[0, -1, :H].expand(int(after.sum()), H), rtol=0, atol=1e-12)


def test_last_output_with_and_without_frozen_padding(rng):
    layer = shaken(ll.lstm_layer(H, input_size=C, output_mode="last").double(), rng)
    X = [rng.normal(size=(T, C)) for T in (5, 2)]
    alone = layer(torch.as_tensor(X[1][None]))[0]
    for direction in ("right", "left"):
        x, mask = batch(X, direction)
        # MATLAB's way: the short sequence also runs over its 3 padded steps, and 'last' shows it
        assert not torch.allclose(layer(x)[1], alone, atol=1e-3)
        # frozen padding: padding moves nothing, whichever side it is on
        torch.testing.assert_close(layer(x, mask=mask)[1], alone, rtol=0, atol=1e-12)


def test_a_chunk_of_pure_padding_leaves_the_state_alone(rng):
    layer = shaken(ll.lstm_layer(H, input_size=C, has_state_outputs=True), rng)
    x = torch.randn(2, 3, C)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    y, h, c = layer(x, mask=mask)
    torch.testing.assert_close(h[1], layer.hidden_state)
    torch.testing.assert_close(c[1], layer.cell_state)
    assert torch.equal(y[1], torch.zeros(3, H))


def test_gradients_flow_through_frozen_padding_and_agree_between_paths(rng):
    fused = shaken(ll.bilstm_layer(H, input_size=C).double(), rng)
    assert fused.uses_fused_kernel
    x, mask = batch([rng.normal(size=(T, C)) for T in (4, 2)], "left")
    grads = []
    for run in (lambda: fused.run(x, mask=mask)[0], lambda: fused._each_direction(x.transpose(0, 1), fused.start_states(2), mask.T)[0].transpose(0, 1)):
        fused.zero_grad()
        run()[mask].pow(2).sum().backward()
        grads.append(fused.recurrent_weights.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=1e-10)


def test_gaps_in_a_mask_are_refused():
    layer = ll.lstm_layer(H, input_size=C)
    with pytest.raises(ValueError, match="a mask needs each sequence's real steps to be contiguous"):
        layer(torch.zeros(1, 3, C), mask=torch.tensor([[True, False, True]]))


def test_predict_with_frozen_padding_does_not_depend_on_the_mini_batch(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H, output_mode="last"), ll.fully_connected_layer(2)])
    X = [rng.normal(size=(T, C)) for T in (3, 9, 5, 1)]
    one_by_one = ll.predict(net, X, mini_batch_size=1)
    np.testing.assert_allclose(ll.predict(net, X, freeze_padding=True), one_by_one, atol=1e-6)
    assert not np.allclose(ll.predict(net, X), one_by_one, atol=1e-3)


def test_trace_with_frozen_padding(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.bilstm_layer(H), ll.gru_layer(2)])
    X = [rng.normal(size=(T, C)) for T in (3, 6)]
    tr = ll.trace(net, X, freeze_padding=True)
    assert tr.max_error < 1e-5
    rec = tr["bilstm"]
    assert np.isnan(rec.forward.f[0, 3:]).all() and not np.isnan(rec.forward.f[0, :3]).any()
    np.testing.assert_allclose(rec.forward.c[0, 3:], np.repeat(rec.forward.c[0, 2:3], 3, axis=0))  # carried
    np.testing.assert_allclose(rec.backward.h[0, 3:], 0.0)  # the backward pass starts after the padding
    seq = ll.predict(net, X, freeze_padding=True)
    np.testing.assert_allclose(tr["gru"].h[0, :3], seq[0], atol=1e-6)
    assert np.isnan(tr["gru"].z[0, 3:]).all()


def test_bilstm_last_with_frozen_padding_ignores_the_padding_side(rng):
    layer = shaken(ll.bilstm_layer(H, input_size=C, output_mode="last").double(), rng)
    X = [rng.normal(size=(T, C)) for T in (6, 2)]
    alone = layer(torch.as_tensor(X[1][None]))[0]
    for direction in ("right", "left"):
        x, mask = batch(X, direction)
        torch.testing.assert_close(layer(x, mask=mask)[1], alone, rtol=0, atol=1e-12)


def test_a_mask_must_fit_the_input():
    layer = ll.lstm_layer(H, input_size=C)
    with pytest.raises(ValueError, match=r"mask must be a bool tensor of shape \(batch, time\) = \(1, 3\); got torch.bool \(1, 2\)"):
        layer(torch.zeros(1, 3, C), mask=torch.ones(1, 2, dtype=torch.bool))
