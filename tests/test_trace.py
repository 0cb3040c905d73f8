import numpy as np
import pandas as pd
import pytest

import lstmlab as ll
from lstmlab import reference as ref

from helpers import numpy_params, shaken

C, H = 3, 4


def float64_net(rng, recurrent, head="last"):
    layers = [ll.sequence_input_layer(C), recurrent]
    if head == "last":
        layers += [ll.fully_connected_layer(2), ll.softmax_layer()]
    return shaken(ll.Network(layers).double(), rng)


@pytest.mark.parametrize("gate, state", [("sigmoid", "tanh"), ("hard-sigmoid", "relu")])
def test_lstm_trace_matches_the_reference_step_by_step(gate, state, rng):
    net = float64_net(rng, ll.lstm_layer(H, gate_activation_function=gate, state_activation_function=state, cell_state=rng.normal(size=H), output_mode="last"))
    X = [rng.normal(size=(T, C)) for T in (5, 8, 3)]
    tr = ll.trace(net, X)
    rec = tr["lstm"]
    W, R, b = numpy_params(net["lstm"])
    c0 = net["lstm"].initial_cell_state.numpy()
    padded, mask = ll.pad_sequences(X)  # predict pads on the right to the longest in the mini-batch
    for n in range(len(X)):
        expected = ref.lstm_sequence(padded[n], W, R, b, np.zeros(H), c0, gate, state)
        for q in "ifgoch":
            np.testing.assert_allclose(getattr(rec, q)[n], getattr(expected, q), atol=1e-10, rtol=0, err_msg=q)
    assert rec.max_error < 1e-12
    np.testing.assert_array_equal(rec.mask, mask)
    np.testing.assert_array_equal(rec.lengths, [5, 8, 3])


def test_bilstm_trace_records_both_directions_by_input_time(rng):
    net = float64_net(rng, ll.bilstm_layer(H), head=None)
    X = rng.normal(size=(2, 6, C))
    rec = ll.trace(net, X)["bilstm"]
    for d, direction in enumerate(("forward", "backward")):
        W, R, b = numpy_params(net["bilstm"], d)
        for n in range(2):
            seq = X[n] if d == 0 else X[n][::-1]
            expected = ref.lstm_sequence(seq, W, R, b)
            for q in "ifgoch":
                got = getattr(getattr(rec, direction), q)[n]
                np.testing.assert_allclose(got if d == 0 else got[::-1], getattr(expected, q), atol=1e-10, rtol=0)
    y = ll.predict(net, X)
    np.testing.assert_allclose(np.concatenate([rec.forward.h, rec.backward.h], -1), y, atol=1e-12)
    with pytest.raises(AttributeError, match=r"layer 'bilstm' is bidirectional: use .forward.f or .backward.f"):
        rec.f


@pytest.mark.parametrize("mode", ["after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication"])
def test_gru_trace_matches_the_reference(mode, rng):
    net = float64_net(rng, ll.gru_layer(H, reset_gate_mode=mode, hidden_state=rng.normal(size=H)))
    X = rng.normal(size=(2, 5, C))
    rec = ll.trace(net, X, units=[3, 1])["gru"]
    W, R, b = numpy_params(net["gru"])
    h0 = net["gru"].initial_hidden_state.numpy()
    for n in range(2):
        expected = ref.gru_sequence(X[n], W, R, b, h0, reset_gate_mode=mode)
        for q in "rznh":
            np.testing.assert_allclose(getattr(rec, q)[n], getattr(expected, q)[:, [3, 1]], atol=1e-10, rtol=0)


def test_float32_trace_reproduces_the_network_output(rng):
    net = ll.Network([ll.sequence_input_layer(12), ll.lstm_layer(32), ll.lstm_layer(16, output_mode="last")])
    X = [rng.normal(size=(T, 12)) for T in rng.integers(5, 40, size=20)]
    tr = ll.trace(net, X, mini_batch_size=8)
    assert tr.max_error < 1e-5
    assert tr["lstm_1"].h.dtype == np.float32
    last = ll.predict(net, X, mini_batch_size=8)
    # 'last' is the last padded step of each mini-batch: where the batch ended, not the sequence
    for start in range(0, 20, 8):
        batch_end = max(len(x) for x in X[start : start + 8]) - 1
        np.testing.assert_allclose(tr["lstm_2"].h[start : start + 8, batch_end], last[start : start + 8], atol=1e-5)


def test_choosing_layers_units_and_steps(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H, name="enc"), ll.gru_layer(5, name="dec")])
    X = rng.normal(size=(3, 10, C))
    full = ll.trace(net, X)
    part = ll.trace(net, X, layers=["dec"], units=[4, 0], steps=slice(2, 8, 3))
    assert list(part) == ["dec"]
    np.testing.assert_array_equal(part["dec"].steps, [2, 5])
    np.testing.assert_array_equal(part["dec"].z, full["dec"].z[:, [2, 5]][:, :, [4, 0]])
    one = ll.trace(net, X, layers="enc", units=2, steps=9)
    assert one["enc"].c.shape == (3, 1, 1)
    np.testing.assert_allclose(one["enc"].c[:, 0, 0], full["enc"].c[:, 9, 2], atol=1e-6)


def test_steps_beyond_a_mini_batch_are_nan(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H)])
    X = [rng.normal(size=(3, C)), rng.normal(size=(6, C))]
    rec = ll.trace(net, X, mini_batch_size=1)["lstm"]
    assert rec.h.shape == (2, 6, H)
    assert np.isnan(rec.h[0, 3:]).all() and not np.isnan(rec.h[0, :3]).any()
    np.testing.assert_array_equal(rec.mask.sum(1), [3, 6])


def test_unsorted_steps_across_mini_batches(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H)])
    X = [rng.normal(size=(4, C)), rng.normal(size=(7, C))]
    full = ll.trace(net, X, mini_batch_size=1)
    part = ll.trace(net, X, steps=[6, 1, 3], mini_batch_size=1)
    np.testing.assert_array_equal(part["lstm"].c[1], full["lstm"].c[1, [6, 1, 3]])
    np.testing.assert_array_equal(part["lstm"].c[0, 1:], full["lstm"].c[0, [1, 3]])
    assert np.isnan(part["lstm"].c[0, 0]).all()
    np.testing.assert_array_equal(part["lstm"].mask, [[False, True, True], [True, True, True]])


def test_to_frame_is_tidy(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.bilstm_layer(2)])
    X = [rng.normal(size=(2, C)), rng.normal(size=(3, C))]
    tr = ll.trace(net, X)
    frame = tr.to_frame()
    assert list(frame.columns) == ["sequence", "layer", "direction", "time", "unit", "quantity", "value"]
    assert len(frame) == (2 + 3) * 2 * 6 * 2  # real steps x units x quantities x directions
    row = frame[(frame.sequence == 1) & (frame.direction == "backward") & (frame.time == 2) & (frame.unit == 1) & (frame.quantity == "o")]
    assert row.value.item() == pytest.approx(float(tr["bilstm"].backward.o[1, 2, 1]))
    assert len(tr.to_frame(include_padding=True)) == 2 * 3 * 2 * 6 * 2
    assert isinstance(frame.quantity.dtype, pd.CategoricalDtype)


def test_bad_choices_list_the_valid_ones(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H), ll.fully_connected_layer(2)])
    X = rng.normal(size=(1, 5, C))
    with pytest.raises(ValueError, match=r"layers has 'fc', which is not a recurrent layer of the network; choose from lstm"):
        ll.trace(net, X, layers="fc")
    with pytest.raises(ValueError, match=r"units must be integers in 0..3 \(the hidden units of layer 'lstm'\)"):
        ll.trace(net, X, units=[4])
    with pytest.raises(ValueError, match=r"steps must be integers in 0..4 \(the time steps of layer 'lstm'\)"):
        ll.trace(net, X, steps=[0.5])
    with pytest.raises(ValueError, match="no LSTM, BiLSTM, GRU or RNN layer"):
        ll.trace(ll.Network([ll.sequence_input_layer(C), ll.fully_connected_layer(2)]), X)
    tr = ll.trace(net, X)
    with pytest.raises(KeyError, match="the trace has no layer 'gru'; it recorded lstm"):
        tr["gru"]
    with pytest.raises(AttributeError, match="one-way lstm layer; it has no backward direction"):
        tr["lstm"].backward
    assert "max_error" in repr(tr)


def test_trace_leaves_the_network_as_it_found_it(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H), ll.dropout_layer(0.5)])
    net.train()
    X = rng.normal(size=(2, 4, C))
    ll.trace(net, X)
    assert net.training
    assert all(p.grad is None for p in net.parameters())


def test_empty_or_odd_selections_are_refused(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H)])
    X = rng.normal(size=(1, 5, C))
    with pytest.raises(ValueError, match=r"layers must be a layer name or a non-empty list of names; got \[\]"):
        ll.trace(net, X, layers=[])
    with pytest.raises(ValueError, match=r"layers must be a layer name or a non-empty list of names; got 1"):
        ll.trace(net, X, layers=1)
    with pytest.raises(ValueError, match=r"units must be integers in 0..3"):
        ll.trace(net, X, units=slice(0, 0))
    with pytest.raises(ValueError, match=r"mini_batch_size must be a positive integer; got 0"):
        ll.trace(net, X, mini_batch_size=0)


def test_max_error_is_inf_when_the_network_output_is_not_finite():
    W = np.full((4, 1), 500.0)
    net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(1, input_weights=W, recurrent_weights=np.full((4, 1), 500.0), bias=np.zeros(4), state_activation_function="relu")])
    tr = ll.trace(net, np.full((1, 60, 1), 10.0))
    assert not np.isfinite(tr["lstm"].h).all()
    assert tr.max_error == np.inf


def test_trace_with_initial_states_in_both_directions(rng):
    net = float64_net(rng, ll.bilstm_layer(H, hidden_state=rng.normal(size=2 * H), cell_state=rng.normal(size=2 * H)), head=None)
    X = rng.normal(size=(2, 5, C))
    rec = ll.trace(net, X)["bilstm"]
    layer = net["bilstm"]
    h0, c0 = layer.initial_hidden_state.numpy(), layer.initial_cell_state.numpy()
    for d, direction in enumerate(("forward", "backward")):
        W, R, b = numpy_params(layer, d)
        for n in range(2):
            seq = X[n] if d == 0 else X[n][::-1]
            expected = ref.lstm_sequence(seq, W, R, b, h0[d * H : (d + 1) * H], c0[d * H : (d + 1) * H])
            got = getattr(rec, direction).c[n]
            np.testing.assert_allclose(got if d == 0 else got[::-1], expected.c, atol=1e-10, rtol=0)


def test_one_sequence_gives_a_trace_of_one(rng):
    net = float64_net(rng, ll.bilstm_layer(H), head="sequence")
    x = rng.normal(size=(6, C))
    alone, listed = ll.trace(net, x), ll.trace(net, [x])
    assert alone["bilstm"].forward.f.shape == (1, 6, H)
    for q in ("i", "f", "g", "o", "c", "h"):
        np.testing.assert_array_equal(alone["bilstm"].backward.arrays[q], listed["bilstm"].backward.arrays[q])
    assert alone.max_error == listed.max_error
