"""What the recurrent layers share: frozen padding (the state carried over padded steps)."""

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab import reference as ref
from lstmlab.layers import GRULayer, LSTMLayer

from helpers import numpy_params, shaken, step_loop

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
    for run in (lambda: fused.run(x, mask=mask)[0], lambda: step_loop(fused, x.transpose(0, 1), fused.start_states(2), mask.T)[0].transpose(0, 1)):
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


# --- direction="reverse": a one-way layer that reads the sequence from its end ---------------------


def reference(layer, x):
    """The output sequence (B, T, D*H) of a float64 layer from the NumPy reference, each direction on
    its own; a backward direction runs the reference on the sequence flipped in time."""
    out, H = [], layer.num_hidden_units
    for d, direction in enumerate(layer.directions):
        W, R, b = numpy_params(layer, d)
        cols = slice(d * H, (d + 1) * H)
        h0 = layer.initial_hidden_state.numpy()[cols]
        if isinstance(layer, LSTMLayer):
            c0 = layer.initial_cell_state.numpy()[cols]
            run = lambda seq: ref.lstm_sequence(seq, W, R, b, h0, c0, layer.gate_activation_function, layer.state_activation_function)  # noqa: E731
        elif isinstance(layer, GRULayer):
            run = lambda seq: ref.gru_sequence(seq, W, R, b, h0, layer.gate_activation_function, layer.state_activation_function, layer.reset_gate_mode)  # noqa: E731
        else:
            run = lambda seq: ref.rnn_sequence(seq, W, R, b, h0, layer.activation)  # noqa: E731
        out.append(np.stack([run(seq[::-1]).h[::-1] if direction == "backward" else run(seq).h for seq in x]))
    return np.concatenate(out, axis=-1)


REVERSE = {
    "lstm": lambda **o: ll.lstm_layer(H, input_size=C, direction="reverse", **o),
    "lstm-loop": lambda **o: ll.lstm_layer(H, input_size=C, direction="reverse", gate_activation_function="hard-sigmoid", **o),
    "gru": lambda **o: ll.gru_layer(H, input_size=C, direction="reverse", **o),
    "gru-loop": lambda **o: ll.gru_layer(H, input_size=C, direction="reverse", reset_gate_mode="before-multiplication", **o),
    "rnn": lambda **o: ll.rnn_layer(H, input_size=C, direction="reverse", **o),
    "rnn-relu": lambda **o: ll.rnn_layer(H, input_size=C, direction="reverse", activation="relu", **o),
}


def reverse_layer(kind, rng, **options):
    states = {"hidden_state": rng.normal(size=H), **({"cell_state": rng.normal(size=H)} if "lstm" in kind else {})}
    return shaken(REVERSE[kind](**states, **options).double(), rng)


@pytest.mark.parametrize("kind", REVERSE)
def test_a_reverse_layer_is_the_reference_run_on_the_flipped_sequence(kind, rng):
    layer = reverse_layer(kind, rng)
    assert layer.directions == ("backward",)
    x = rng.normal(size=(2, 6, C))
    expected = reference(layer, x)  # the reference of each sequence flipped in time, flipped back
    y = layer(torch.as_tensor(x)).detach().numpy()  # fused kernel, or the step loop with gradients
    np.testing.assert_allclose(y, expected, atol=1e-10, rtol=0)
    with torch.no_grad():  # no gradient: an LSTM's compiled step loop, where no kernel applies
        np.testing.assert_allclose(layer(torch.as_tensor(x)).numpy(), expected, atol=1e-10, rtol=0)
    loop, final = step_loop(layer, torch.as_tensor(x).transpose(0, 1), layer.start_states(2))  # the step loop
    np.testing.assert_allclose(loop.transpose(0, 1).detach().numpy(), expected, atol=1e-10, rtol=0)
    # the final state has read back to x_1: it is the output at step 1, and output_mode="last" hands it on
    np.testing.assert_allclose(final[0].detach().numpy(), expected[:, 0], atol=1e-10, rtol=0)
    last = reverse_layer(kind, np.random.default_rng(0), output_mode="last")
    last.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(last(torch.as_tensor(x)).detach().numpy(), expected[:, 0], atol=1e-10, rtol=0)


@pytest.mark.parametrize("module", [torch.nn.LSTM(C, H, batch_first=True), torch.nn.GRU(C, H, batch_first=True), torch.nn.RNN(C, H, batch_first=True, nonlinearity="relu")], ids=["lstm", "gru", "rnn"])
def test_a_reverse_layer_is_torch_run_on_the_flipped_sequence(module, rng):
    layer = ll.from_torch(module, direction="reverse", has_state_outputs=True)
    assert "direction='reverse'" in repr(layer)
    x = torch.as_tensor(rng.normal(size=(2, 6, C)), dtype=torch.float32)
    expected, h_n = module(x.flip(1))
    y, h, *_ = layer(x)
    torch.testing.assert_close(y, expected.flip(1), atol=1e-5, rtol=0)
    torch.testing.assert_close(h, (h_n[0] if isinstance(h_n, tuple) else h_n)[0], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"to_torch: layer '.*' has direction='reverse', which torch's modules do not have .* x.flip\(1\)"):
        layer.to_torch()
    # a padded mini-batch with frozen padding: each sequence as torch reads it flipped, alone
    X = [rng.normal(size=(T, C)).astype(np.float32) for T in (6, 3)]
    for side in ("right", "left"):
        xb, mask = ll.pad_sequences(X, direction=side)
        y, h, *_ = layer(torch.as_tensor(xb), mask=torch.as_tensor(mask))
        for n, seq in enumerate(X):
            alone, h_alone = module(torch.as_tensor(seq[None]).flip(1))
            torch.testing.assert_close(y[n][torch.as_tensor(mask[n])], alone[0].flip(0), atol=1e-5, rtol=0)
            torch.testing.assert_close(h[n], (h_alone[0] if isinstance(h_alone, tuple) else h_alone)[0, 0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", REVERSE)
@pytest.mark.parametrize("side", ["right", "left"])
def test_a_reverse_layer_reads_each_padded_sequence_from_its_own_end(kind, side, rng):
    layer = reverse_layer(kind, rng)
    X = [rng.normal(size=(T, C)) for T in (5, 2, 7)]
    x, mask = batch(X, side)
    for grad in (True, False):  # kernel or step loop; the compiled loop
        with torch.set_grad_enabled(grad):
            y, final = layer.run(x, mask=mask)
        start = layer.start_states(1)[0][0]
        for n, seq in enumerate(X):
            alone, alone_final = layer.run(torch.as_tensor(seq[None]))
            real = mask[n]
            torch.testing.assert_close(y[n][real], alone[0], rtol=0, atol=1e-12)
            torch.testing.assert_close(final[0][n], alone[0, 0], rtol=0, atol=1e-12)  # after reading back to its step 1
            # padded steps carry the state: after the sequence its start (read first), before it its end
            steps = torch.arange(7)
            after, before = steps > torch.nonzero(real)[-1, 0], steps < torch.nonzero(real)[0, 0]
            torch.testing.assert_close(y[n][after], start.expand(int(after.sum()), H), rtol=0, atol=1e-12)
            torch.testing.assert_close(y[n][before], alone[0, 0].expand(int(before.sum()), H), rtol=0, atol=1e-12)
    # without a mask (MATLAB's padding), right padding is read before the sequence and changes it
    if side == "right":
        assert not torch.allclose(layer.run(x)[0][1, :2], layer.run(torch.as_tensor(X[1][None]))[0][0], atol=1e-3)


def test_the_direction_option_is_checked_saved_traced_and_intervened_on(tmp_path, rng):
    with pytest.raises(ValueError, match=r"direction must be one of .*'forward', 'reverse'.*got 'backward'"):
        ll.gru_layer(H, direction="backward")
    with pytest.raises(ValueError, match=r"bilstm_layer: direction='reverse' makes a one-way layer read the sequence from its end"):
        ll.bilstm_layer(H, direction="reverse")
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H, direction="reverse", name="rev"), ll.fully_connected_layer(2)])
    X = [rng.normal(size=(T, C)).astype(np.float32) for T in (4, 6)]
    assert net["rev"].config()["direction"] == "reverse"
    net.save(tmp_path / "net.lstmlab")
    back = ll.load_network(tmp_path / "net.lstmlab")
    assert back["rev"].direction == "reverse"
    for got, expected in zip(ll.predict(back, X), ll.predict(net, X)):
        np.testing.assert_array_equal(got, expected)
    tr = ll.trace(net, X, freeze_padding=True)
    assert list(tr["rev"].directions) == ["backward"] and tr.max_error < 1e-5
    np.testing.assert_allclose(tr["rev"].h[1], ll.activations(net, X, "rev", freeze_padding=True)[1], atol=1e-6)
    assert set(tr.to_frame()["direction"]) == {"backward"}
    with pytest.raises(ValueError, match=r"out= runs the sequences in chunks, and the reverse layer 'rev' reads each sequence backwards"):
        ll.trace(net, X, out=tmp_path / "streamed")
    # the compiled step loop records a reverse layer as it runs (an LSTM whose equations torch has no kernel for)
    looped = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H, direction="reverse", gate_activation_function="hard-sigmoid", name="rev")])
    recorded = ll.trace(looped, X, freeze_padding=True)
    assert recorded["rev"].computed_by == {"backward": "lstmlab's compiled step loop, recording every step as it ran"}
    assert recorded.max_error < 1e-5
    for n, seq in enumerate(X):
        np.testing.assert_allclose(recorded["rev"].h[n, : len(seq)], ll.predict(looped, [seq])[0], atol=1e-6)
    with pytest.raises(AttributeError, match=r"layer 'rev' is a one-way lstm layer; it has no forward direction \(its one direction: backward\)"):
        tr["rev"].forward
    silenced = ll.trace(net, X, interventions=[ll.Intervention("rev", "h", direction="backward", steps=[5], set=0.0)])
    assert np.array_equal(silenced["rev"].h[1, 5], np.zeros(H))
    assert np.abs(silenced["rev"].h[1, :5] - tr["rev"].h[1, :5]).min() > 0  # read after step 5: every one changes
    with pytest.raises(ValueError, match=r"has direction='forward', but layer 'rev' is a one-way lstm layer; use direction='backward', the one direction it reads"):
        ll.trace(net, X, interventions=[ll.Intervention("rev", "h", set=0.0)])


# --- bidirectional GRU and RNN layers -----------------------------------------------------------

BIDIRECTIONAL = {
    "bigru": lambda **o: ll.bigru_layer(H, input_size=C, **o),
    "bigru-recurrent-bias": lambda **o: ll.bigru_layer(H, input_size=C, reset_gate_mode="recurrent-bias-after-multiplication", **o),
    "bigru-loop": lambda **o: ll.bigru_layer(H, input_size=C, reset_gate_mode="before-multiplication", gate_activation_function="hard-sigmoid", **o),
    "birnn": lambda **o: ll.birnn_layer(H, input_size=C, **o),
    "birnn-relu": lambda **o: ll.birnn_layer(H, input_size=C, activation="relu", **o),
}


@pytest.mark.parametrize("kind", BIDIRECTIONAL)
def test_bidirectional_gru_and_rnn_match_the_numpy_reference(kind, rng):
    layer = shaken(BIDIRECTIONAL[kind](hidden_state=rng.normal(size=2 * H)).double(), rng)
    assert layer.directions == ("forward", "backward") and layer.output_size == 2 * H
    x = rng.normal(size=(2, 6, C))
    expected = reference(layer, x)
    np.testing.assert_allclose(layer(torch.as_tensor(x)).detach().numpy(), expected, atol=1e-10, rtol=0)
    loop, _ = step_loop(layer, torch.as_tensor(x).transpose(0, 1), layer.start_states(2))  # the step loop
    np.testing.assert_allclose(loop.transpose(0, 1).detach().numpy(), expected, atol=1e-10, rtol=0)
    # frozen padding: each sequence of a padded mini-batch gives what it gives alone, either side
    X = [rng.normal(size=(T, C)) for T in (5, 2, 7)]
    for side in ("right", "left"):
        xb, mask = batch(X, side)
        y, final = layer.run(xb, mask=mask)
        for n, seq in enumerate(X):
            alone, alone_final = layer.run(torch.as_tensor(seq[None]))
            torch.testing.assert_close(y[n][mask[n]], alone[0], rtol=0, atol=1e-12)
            torch.testing.assert_close(final[0][n], alone_final[0][0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("family", [torch.nn.GRU, torch.nn.RNN])
def test_bidirectional_gru_and_rnn_match_torch(family, rng):
    module = family(C, H, batch_first=True, bidirectional=True)
    layer = ll.from_torch(module, has_state_inputs=True, has_state_outputs=True)
    assert layer.kind == {torch.nn.GRU: "bigru", torch.nn.RNN: "birnn"}[family]
    x = torch.as_tensor(rng.normal(size=(2, 6, C)), dtype=torch.float32)
    h0 = torch.randn(2, 2, H)  # (D, B, H)
    expected, h_n = module(x, h0)
    y, h = layer(x, h0.transpose(0, 1).reshape(2, 2 * H))
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_n.transpose(0, 1).reshape(2, 2 * H), atol=1e-5, rtol=0)
    back = layer.to_torch()
    assert back.bidirectional
    torch.testing.assert_close(back(x, h0)[0], expected, atol=1e-5, rtol=0)


def test_bidirectional_gru_and_rnn_check_their_weights_and_are_described():
    with pytest.raises(ValueError, match=r"recurrent_weights .*\(24, 4\).*forward then backward, 3 blocks"):
        ll.bigru_layer(H, input_size=C, recurrent_weights=np.zeros((12, H)))
    with pytest.raises(ValueError, match=r"bias .*\(8,\).*forward then backward, num_hidden_units each"):
        ll.birnn_layer(H, input_size=C, bias=np.zeros(4))
    assert repr(ll.birnn_layer(H, input_size=C)).startswith("BiRNNLayer(name='', 4 hidden units")
    net = ll.Network([ll.sequence_input_layer(C), ll.bigru_layer(H, output_mode="last"), ll.fully_connected_layer(2)])
    assert ll.predict(net, np.zeros((3, 5, C), np.float32)).shape == (3, 2)


def test_bidirectional_gru_and_rnn_are_traced_and_analyzed(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.bigru_layer(H, name="bigru"), ll.birnn_layer(2, name="birnn")])
    X = [rng.normal(size=(T, C)).astype(np.float32) for T in (3, 6)]
    tr = ll.trace(net, X, freeze_padding=True)
    assert tr.max_error < 1e-5
    assert list(tr["bigru"].directions) == ["forward", "backward"] and tr["bigru"].quantities == ("r", "z", "n", "h")
    h = ll.activations(net, X, "bigru", freeze_padding=True)[0]  # (3, 2H)
    np.testing.assert_allclose(np.concatenate([tr["bigru"].forward.h[0, :3], tr["bigru"].backward.h[0, :3]], -1), h, atol=1e-6)
    np.testing.assert_allclose(tr["birnn"].backward.h[1], ll.predict(net, X, freeze_padding=True)[1][:, 2:], atol=1e-6)
    analysis = ll.analyze_network(net)
    assert analysis.issues == [] and analysis.total == (24 * 3 + 24 * 4 + 24) + (4 * 8 + 4 * 2 + 4)  # W, R, b of both directions


@pytest.mark.parametrize("family", [torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN])
def test_output_mode_final_is_torchs_h_n(family, rng):
    module = family(C, H, batch_first=True, bidirectional=True)
    layer = ll.from_torch(module, output_mode="final")
    x = torch.as_tensor(rng.normal(size=(2, 6, C)), dtype=torch.float32)
    y, h_n = module(x)
    h_n = h_n[0] if isinstance(h_n, tuple) else h_n  # (D, B, H)
    torch.testing.assert_close(layer(x), h_n.transpose(0, 1).reshape(2, 2 * H), atol=1e-5, rtol=0)
    torch.testing.assert_close(layer(x), torch.cat([y[:, -1, :H], y[:, 0, H:]], -1), atol=1e-5, rtol=0)  # forward after x_T, backward after x_1
    # with frozen padding, each sequence's own final state, whichever side the padding is on
    layer = shaken(ll.bigru_layer(H, input_size=C, output_mode="final").double(), rng)
    X = [rng.normal(size=(T, C)) for T in (6, 2)]
    alone = layer(torch.as_tensor(X[1][None]))[0]
    for side in ("right", "left"):
        xb, mask = batch(X, side)
        torch.testing.assert_close(layer(xb, mask=mask)[1], alone, rtol=0, atol=1e-12)


def test_route_names_how_each_span_of_steps_runs(monkeypatch):
    """`route` is the one place that chooses: torch's kernel, the Python loop, or the compiled loop
    (recording or not), per direction and span of steps, from the layer, the data, gradients, edits
    and whether a recording is wanted."""
    from lstmlab.layers import loop_kernel
    from lstmlab.layers.edits import ALL, Action, Edit

    x = torch.zeros(4, 9, 3)
    fused, hard = (ll.lstm_layer(5, input_size=3, gate_activation_function=gate) for gate in ("sigmoid", "hard-sigmoid"))
    steps = torch.zeros(4, 9, dtype=torch.bool)
    steps[:, 3:6] = True
    edit = Edit([Action("f", ALL, steps, "set", torch.tensor(0.0))])
    kernel, loop, compiled, recording = "fused kernel", "Python loop", "compiled loop", "compiled loop recording"
    assert fused.route(x) == [[(0, 9, kernel)]]  # torch's kernel passes gradients back
    assert hard.route(x, record=True) == [[(0, 9, loop)]]  # only the Python loop passes gradients back
    assert fused.route(x, edits=(edit,)) == [[(0, 3, kernel), (3, 6, loop), (6, 9, kernel)]]
    bilstm = ll.bilstm_layer(5, input_size=3)
    assert bilstm.route(x, edits=(Edit(), edit)) == [[(0, 9, kernel)], [(0, 3, kernel), (3, 6, loop), (6, 9, kernel)]]
    gru = ll.gru_layer(5, input_size=3, reset_gate_mode="before-multiplication")  # torch has no kernel for it
    with torch.no_grad():
        assert gru.route(x, edits=(edit,), record=True) == [[(0, 9, loop)]]
        assert ll.gru_layer(5, input_size=3).route(x, record=True) == [[(0, 9, kernel)]]  # a GRU records nothing as it runs
        assert fused.route(x.double(), record=True) == [[(0, 9, kernel)]]  # float64 weights differ from float32 data: no loop
        if loop_kernel.build() is None:
            pytest.skip(f"the compiled LSTM step loop is not available here: {loop_kernel.reason()}")
        assert hard.route(x) == [[(0, 9, compiled)]]
        assert hard.route(x, record=True) == [[(0, 9, recording)]]
        assert hard.route(x, edits=(edit,), record=True) == [[(0, 3, compiled), (3, 6, loop), (6, 9, compiled)]]  # no recording with edits
        monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
        assert fused.route(x, record=True) == [[(0, 9, kernel)]]  # 4 sequences: torch's kernel, then the recomputing product
        assert fused.route(torch.zeros(32, 9, 3), record=True) == [[(0, 9, recording)]]  # 16 per thread
    monkeypatch.setattr(loop_kernel, "_op", None)
    monkeypatch.setattr(loop_kernel, "_build", lambda: pytest.fail("fits built the loop"))
    with torch.no_grad():
        assert loop_kernel.fits(x, *hard.parameters()) and not loop_kernel.fits(x.double(), *hard.parameters())  # a pure check
