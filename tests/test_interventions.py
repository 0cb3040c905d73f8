import pickle

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab import interventions
from lstmlab import reference as ref
from lstmlab.layers.edits import ALL, Action, Edit

from helpers import naming, numpy_params, shaken

C, H = 3, 4
Iv = ll.Intervention


def net64(rng, recurrent, head=True):
    """A float64 network with random weights: input, the given recurrent layer(s), and a classifier head."""
    layers = [ll.sequence_input_layer(C), *recurrent] + ([ll.fully_connected_layer(2), ll.softmax_layer()] if head else [])
    net = shaken(ll.Network(layers).double(), rng)
    net.class_names, net.label_kind = ["a", "b"], "str"
    return net


def reference_lstm(X, W, R, b, edit, gate="sigmoid"):
    """The LSTM equations of `lstmlab.reference`, with edit(quantity, t, value) after each one."""
    sigma_g, Hr = ref.GATE_ACTIVATIONS[gate], R.shape[1]
    h, c, hs, cs = np.zeros(Hr), np.zeros(Hr), [], []
    for t, x in enumerate(X):
        z_i, z_f, z_g, z_o = np.split(W @ x + R @ h + b, 4)
        i, f, g, o = sigma_g(z_i), sigma_g(z_f), np.tanh(z_g), sigma_g(z_o)
        i, f, g, o = edit("i", t, i), edit("f", t, f), edit("g", t, g), edit("o", t, o)
        c = edit("c", t, f * c + i * g)
        h = edit("h", t, o * np.tanh(c))
        hs.append(h)
        cs.append(c)
    return np.array(hs), np.array(cs)


def setting(quantity, units, steps, values):
    """A reference edit: the quantity of the units becomes values at the given steps."""

    def edit(q, t, v):
        if q == quantity and t in steps:
            v = v.copy()
            v[units] = values
        return v

    return edit


def same(a, b, exact):
    """Equal bit for bit, or (exact=False) to float64 round-off."""
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, atol=1e-14, rtol=0)


# --- exact expectations -------------------------------------------------------------------------


@pytest.mark.parametrize("gate", ["sigmoid", "hard-sigmoid"])  # torch's fused kernel around the loop; the loop alone
def test_open_forget_gate_and_closed_input_gate_keep_c_constant(gate, rng):
    net = net64(rng, [ll.lstm_layer(H, gate_activation_function=gate)], head=False)
    X = rng.normal(size=(3, 9, C))
    hold = [Iv("lstm", "f", units=2, steps=slice(4, None), set=1.0), Iv("lstm", "i", units=2, steps=slice(4, None), set=0.0)]
    c = ll.trace(net, X, interventions=hold)["lstm"].c  # (N, T, H), as ll.trace recomputes it
    np.testing.assert_array_equal(c[:, 4:, 2], np.repeat(c[:, 3:4, 2], 5, axis=1))
    assert np.abs(np.diff(c[:, 3:, 1], axis=1)).min() > 0, "the other units move on"
    ll.predict_and_update_state(net, X, interventions=hold)  # the cell state the step loop carried out of the last step
    held = net.state["lstm"]["cell"][:, 2]
    ll.predict_and_update_state(ll.reset_state(net), X[:, :4])  # the clean run's cell state after step 3
    np.testing.assert_array_equal(held, net.state["lstm"]["cell"][:, 2])


@pytest.mark.parametrize("gate", ["sigmoid", "hard-sigmoid"])
def test_a_clamped_gate_changes_everything_downstream_as_the_equations_say(gate, rng):
    net = net64(rng, [ll.lstm_layer(H, gate_activation_function=gate), ll.lstm_layer(2, output_mode="last")])
    X = rng.normal(size=(2, 7, C))
    clamp = [Iv("lstm_1", "o", units=[1, 3], steps=[2, 3, 4], set=[0.25, 0.75])]
    tr, clean = ll.trace(net, X, interventions=clamp), ll.trace(net, X)
    W, R, b = numpy_params(net["lstm_1"])
    for n in range(2):
        h, c = reference_lstm(X[n], W, R, b, setting("o", [1, 3], (2, 3, 4), [0.25, 0.75]), gate)
        np.testing.assert_allclose(tr["lstm_1"].h[n], h, atol=1e-12, rtol=0)
        np.testing.assert_allclose(tr["lstm_1"].c[n], c, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(tr["lstm_1"].o[:, 2:5][..., [1, 3]], np.broadcast_to([0.25, 0.75], (2, 3, 2)))
    np.testing.assert_allclose(tr["lstm_1"].h[:, :2], clean["lstm_1"].h[:, :2], atol=1e-14)  # nothing changes before step 2
    assert np.abs(tr["lstm_2"].h - clean["lstm_2"].h)[:, 2:].min() > 0, "the later layer follows"
    assert tr.max_error < 1e-12
    W_fc, b_fc = (p.detach().numpy() for p in (net["fc"].weights, net["fc"].bias))
    z = tr["lstm_2"].h[:, -1] @ W_fc.T + b_fc  # the classifier head on the last layer's last h
    np.testing.assert_allclose(ll.predict(net, X, interventions=clamp), np.exp(z) / np.exp(z).sum(1, keepdims=True), atol=1e-12)


@pytest.mark.parametrize("layers", ["lstm loop", "bilstm loop", "lstm fused", "bilstm fused"])
def test_interchanging_every_state_at_step_t_makes_the_rest_the_source_run(layers, rng):
    """Every state (h and c) of layer L at step t from A into the run on B, whose inputs from t on
    are A's: from t on the layer computes what it computes for A. Bit for bit where both runs use
    the same code (the step loop); torch's fused kernel rounds the last bit its own way."""
    kind, path = layers.split()
    gate = "hard-sigmoid" if path == "loop" else "sigmoid"
    layer = (ll.bilstm_layer if kind == "bilstm" else ll.lstm_layer)(H, gate_activation_function=gate, name="L")
    net = net64(rng, [layer], head=False)
    A, t = rng.normal(size=(3, 10, C)), 6
    B = np.concatenate([rng.normal(size=(3, t, C)), A[:, t:]], axis=1)  # B differs from A before step t
    patch = [Iv("L", q, steps=t, source=A) for q in ("h", "c")]  # a BiLSTM's backward states agree from t on already
    patched, a, b = ll.predict(net, B, interventions=patch), ll.predict(net, A), ll.predict(net, B)
    same(patched[:, t:], a[:, t:], exact=path == "loop")
    same(patched[:, :t, :H], b[:, :t, :H], exact=path == "loop")
    assert np.abs(a[:, :t, :H] - b[:, :t, :H]).max() > 0.01, "A and B differ before step t"


@pytest.mark.parametrize("kind", ["lstm", "bilstm", "gru"])
def test_an_empty_list_gives_the_clean_result_bit_for_bit(kind, rng):
    recurrent = {"lstm": ll.lstm_layer(H), "bilstm": ll.bilstm_layer(H), "gru": ll.gru_layer(H)}[kind]
    net = ll.Network([ll.sequence_input_layer(C), recurrent, ll.fully_connected_layer(2), ll.softmax_layer()])
    X = [rng.normal(size=(T, C)).astype(np.float32) for T in (5, 9, 3)]
    for empty in ([], None):
        np.testing.assert_array_equal(np.concatenate(ll.predict(net, X, mini_batch_size=2, interventions=empty)),
                                      np.concatenate(ll.predict(net, X, mini_batch_size=2)))
        np.testing.assert_array_equal(np.concatenate(ll.activations(net, X, kind, interventions=empty)), np.concatenate(ll.activations(net, X, kind)))
        clean, given = ll.trace(net, X), ll.trace(net, X, interventions=empty)
        for direction, recorded in clean[kind].directions.items():
            for q, v in recorded.arrays.items():
                np.testing.assert_array_equal(given[kind].directions[direction].arrays[q], v)
        assert given.interventions == ()


def test_both_directions_of_a_bilstm(rng):
    net = net64(rng, [ll.bilstm_layer(H)], head=False)
    T, X = 8, rng.normal(size=(2, 8, C))
    both = [Iv("bilstm", "f", units=0, steps=5, set=0.0), Iv("bilstm", "g", units=3, steps=[2, 6], direction="backward", scale=-2.0)]
    tr = ll.trace(net, X, interventions=both)["bilstm"]
    y = ll.predict(net, X, interventions=both)

    def backward_edit(q, s, v):  # the backward direction's own step s reads input step T - 1 - s
        return np.where(np.arange(H) == 3, -2.0 * v, v) if q == "g" and T - 1 - s in (2, 6) else v

    for d, (direction, edit) in enumerate((("forward", setting("f", [0], (5,), [0.0])), ("backward", backward_edit))):
        W, R, b = numpy_params(net["bilstm"], d)
        recorded = tr.directions[direction]
        for n in range(2):
            h, c = reference_lstm(X[n] if d == 0 else X[n][::-1], W, R, b, edit)
            np.testing.assert_allclose(recorded.h[n] if d == 0 else recorded.h[n][::-1], h, atol=1e-12, rtol=0)
            np.testing.assert_allclose(recorded.c[n] if d == 0 else recorded.c[n][::-1], c, atol=1e-12, rtol=0)
            np.testing.assert_allclose(y[n, :, d * H : (d + 1) * H], recorded.h[n], atol=1e-12, rtol=0)
    np.testing.assert_array_equal(tr.forward.f[:, 5, 0], 0.0)
    assert tr.computed_by == {
        "forward": "the step loop over steps 6..6, where interventions act; torch's fused kernel elsewhere",
        "backward": "the step loop over steps 3..7, where interventions act; torch's fused kernel elsewhere",
    }


def test_gru_gates(rng):
    net = net64(rng, [ll.gru_layer(H)], head=False)
    X = rng.normal(size=(2, 6, C))
    held = ll.predict(net, X, interventions=[Iv("gru", "z", units=1, steps=slice(2, None), set=1.0)])  # (N, T, H): h
    np.testing.assert_array_equal(held[:, 2:, 1], np.repeat(held[:, 1:2, 1], 4, axis=1))  # z = 1: h = h_prev, exactly
    changed = [Iv("gru", "r", units=[0, 2], set=0.0), Iv("gru", "n", fn=lambda n: 0.5 * n)]
    tr = ll.trace(net, X, interventions=changed)["gru"]
    W, R, b = numpy_params(net["gru"])
    for n in range(2):
        h = np.zeros(H)
        for t in range(6):  # the reference GRU step with r of units 0 and 2 set to 0, and n halved
            step = ref.gru_step(X[n, t], h, W, R, b)
            r = np.where(np.isin(np.arange(H), [0, 2]), 0.0, step.r)
            n_t = 0.5 * np.tanh(W[2 * H :] @ X[n, t] + b[2 * H :] + r * (R[2 * H :] @ h))
            h = (1 - step.z) * n_t + step.z * h
            np.testing.assert_allclose(tr.h[n, t], h, atol=1e-12, rtol=0)
            np.testing.assert_allclose(tr.n[n, t], n_t, atol=1e-12, rtol=0)
    assert tr.max_error < 1e-12
    assert tr.computed_by == {"forward": "the step loop over steps 1..6, where interventions act; torch's fused kernel elsewhere"}


# --- steps, sources and the paths that run them -----------------------------------------------------


def test_several_interventions_compose_in_order(rng):
    net = net64(rng, [ll.lstm_layer(H)], head=False)
    X = rng.normal(size=(2, 5, C))
    tr = ll.trace(net, X, interventions=[Iv("lstm", "i", units=1, set=0.2), Iv("lstm", "i", units=1, scale=3.0), Iv("lstm", "i", units=1, add=-0.1)])
    np.testing.assert_allclose(tr["lstm"].i[:, :, 1], 0.2 * 3.0 - 0.1, rtol=0, atol=1e-15)


def test_a_per_sequence_mask_acts_on_each_sequence_at_its_own_steps(rng):
    net = net64(rng, [ll.lstm_layer(H)], head=False)
    X = [rng.normal(size=(T, C)) for T in (6, 4, 5)]
    mask = [np.arange(6) == 1, np.zeros(4, bool), np.arange(5) >= 3]
    tr = ll.trace(net, X, interventions=[Iv("lstm", "c", units=0, steps=mask, set=2.0)])["lstm"]
    clean = ll.trace(net, X)["lstm"]
    assert tr.c[0, 1, 0] == 2.0 and tr.c[2, 3, 0] == tr.c[2, 4, 0] == 2.0
    np.testing.assert_allclose(tr.c[1, :4], clean.c[1, :4], atol=1e-14)  # never touched
    np.testing.assert_allclose(tr.c[0, :1], clean.c[0, :1], atol=1e-14)
    assert tr.h[0, 1, 0] == pytest.approx(tr.o[0, 1, 0] * np.tanh(2.0), abs=1e-15), "h follows the changed c at the same step"


def test_steps_count_from_the_start_of_each_sequence_in_chunks_and_skip_frozen_padding(rng):
    net = net64(rng, [ll.lstm_layer(H, gate_activation_function="hard-sigmoid")], head=False)
    X = [rng.normal(size=(9, C)), rng.normal(size=(5, C))]
    iv = [Iv("lstm", "h", units=[0, 1], steps=[2, 6], set=0.5)]
    whole = ll.predict(net, X, interventions=iv)
    chunked = ll.predict(net, X, interventions=iv, sequence_length=4)
    for w, c in zip(whole, chunked):
        np.testing.assert_allclose(c, w, atol=1e-14, rtol=0)
    assert chunked[0][6, 0] == 0.5 and chunked[1][2, 1] == 0.5
    frozen = ll.trace(net, X, freeze_padding=True, interventions=[Iv("lstm", "c", units=0, add=0.3)])["lstm"]
    np.testing.assert_array_equal(frozen.c[1, 5:, 0], np.repeat(frozen.c[1, 4, 0], 4))  # padded steps carry c: nothing acts there
    assert frozen.max_error < 1e-12


def test_a_patch_from_another_sequence_in_one_step(rng):
    net = net64(rng, [ll.lstm_layer(H, gate_activation_function="hard-sigmoid"), ll.gru_layer(2)], head=False)
    x, source = rng.normal(size=(7, C)), rng.normal(size=(7, C))
    patched = ll.trace(net, x, interventions=[Iv("gru", "z", units=1, steps=3, source=source)])
    assert patched["gru"].z[0, 3, 1] == ll.trace(net, source)["gru"].z[0, 3, 1]
    assert patched["gru"].z[0, 3, 0] == ll.trace(net, x)["gru"].z[0, 3, 0]


def test_a_source_runs_once_however_many_patches_take_from_it(rng, monkeypatch):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H)])
    X, source = rng.normal(size=(2, 6, C)), rng.normal(size=(2, 6, C))
    runs, run_batches = [], interventions.run_batches
    monkeypatch.setattr(interventions, "run_batches", lambda *args, **options: runs.append(1) or run_batches(*args, **options))
    ll.predict(net, X, interventions=[Iv("lstm", q, steps=2, source=source) for q in "hcf"])
    assert len(runs) == 1


def test_a_stateful_call_keeps_the_intervened_states(rng):
    net = net64(rng, [ll.lstm_layer(H, gate_activation_function="hard-sigmoid", output_mode="last")])
    X = rng.normal(size=(2, 6, C))
    zero = [Iv("lstm", "h", set=0.0, steps=5)]
    labels = ll.classify_and_update_state(net, X, interventions=zero)
    np.testing.assert_array_equal(net.state["lstm"]["hidden"], 0.0)
    assert list(labels) == list(ll.classify(ll.reset_state(net), X, interventions=zero))


def test_computed_by_says_where_the_step_loop_ran(rng, monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # on one thread a float32 trace is recorded by the compiled loop (test_loop_kernel)
    fused = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H)])
    X = rng.normal(size=(2, 8, C))
    assert ll.trace(fused, X)["lstm"].computed_by == {"forward": "torch's fused kernel"}
    late = ll.trace(fused, X, interventions=[Iv("lstm", "f", units=0, steps=slice(3, 6), set=1.0)])
    assert late["lstm"].computed_by["forward"] == "the step loop over steps 4..6, where interventions act; torch's fused kernel elsewhere"  # indices 3..5, counted from 1
    long = ll.trace(fused, rng.normal(size=(1, 30, C)), interventions=[Iv("lstm", "f", units=0, steps=slice(9, 29), set=1.0)])
    assert "the step loop over steps 10..29," in long["lstm"].computed_by["forward"]  # as the lessons count
    assert late.max_error < 1e-5
    np.testing.assert_array_equal(late["lstm"].h[:, :3], ll.trace(fused, X)["lstm"].h[:, :3])  # before index 3 (step 4): the kernel, as clean
    loop = ll.Network([ll.sequence_input_layer(C), ll.gru_layer(H, reset_gate_mode="before-multiplication")])
    assert ll.trace(loop, X)["gru"].computed_by == {"forward": "the step loop (torch has no fused kernel for this layer's equations)"}


def test_float32_trace_of_an_intervened_run_proves_itself(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.bilstm_layer(8), ll.lstm_layer(5)])
    X = [rng.normal(size=(T, C)).astype(np.float32) for T in rng.integers(4, 20, size=12)]
    ivs = [Iv("bilstm", "c", units=slice(0, 4), steps=slice(2, 9), fn=lambda c: c.clamp(-0.1, 0.1), direction="backward"),
           Iv("lstm", "f", units=[1], scale=0.5), Iv("bilstm", "h", units=7, steps=3, add=0.3)]
    tr = ll.trace(net, X, mini_batch_size=5, interventions=ivs)
    assert tr.max_error < 1e-5
    np.testing.assert_allclose(np.concatenate([tr["lstm"].h[n, : len(x)] for n, x in enumerate(X)]),
                               np.concatenate(ll.predict(net, X, mini_batch_size=5, interventions=ivs)), atol=1e-6)
    assert np.abs(tr["bilstm"].backward.c[:, 2:9, :4]).max() <= np.float32(0.1)
    assert repr(ivs[1]) in repr(tr) and tr.interventions == tuple(ivs)


# --- plain data -------------------------------------------------------------------------------------


def test_an_intervention_is_plain_printable_data():
    iv = Iv("lstm", "f", units=[12], steps=slice(5, None), set=1.0)
    assert repr(iv) == "Intervention('lstm', 'f', units=(12,), steps=slice(5, None, None), set=1.0)"
    assert repr(pickle.loads(pickle.dumps(iv))) == repr(iv)
    assert iv.action == ("set", 1.0) and iv.units == (12,)
    assert repr(Iv("gru", "h", direction="forward", scale=np.arange(8.0))) == "Intervention('gru', 'h', scale=(0, 1, 2, ... 8 values))"
    assert repr(Iv("lstm", "h", source=np.zeros((4, 9, 3)), steps=[np.ones(9, bool)] * 4)) == (
        "Intervention('lstm', 'h', steps=<mask of 4 sequences>, source=<data 4 x 9 x 3>)"
    )
    assert repr(Iv("lstm", "g", fn=np.tanh)) == "Intervention('lstm', 'g', fn=<function tanh>)"
    assert repr(Iv("lstm", "c", source=[np.zeros((5, 3))] * 2, direction="backward")) == "Intervention('lstm', 'c', direction='backward', source=<2 sequences>)"


def test_edit_spans_and_offsets():
    steps = torch.zeros(2, 10, dtype=torch.bool)
    steps[0, 3], steps[1, 6] = True, True
    edit = Edit([Action("f", ALL, steps, "set", torch.tensor(1.0))])
    assert edit.span(10) == (3, 7) and Edit().span(10) is None
    value = torch.zeros(2, 4)
    assert edit.from_step(3)("f", 0, value)[:, 0].tolist() == [1.0, 0.0]  # step 0 of a loop started at step 3
    assert edit("i", 3, value) is value


# --- bad input ----------------------------------------------------------------------------------------


def test_bad_interventions_say_what_was_expected_and_how_to_fix_it(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H), ll.fully_connected_layer(2)])
    X = rng.normal(size=(2, 5, C))
    cases = [
        (Iv("lstm_2", "f", set=1.0), r"interventions\[0\] names layer 'lstm_2', which is not a recurrent layer of the network; choose from 'lstm'"),
        (Iv("lstm", "z", set=1.0), r"interventions\[0\] changes quantity 'z', but layer 'lstm' is a lstm layer, which computes i, f, g, o, c, h; choose one of those"),
        (Iv("lstm", "f", direction="backward", set=1.0), r"direction='backward', but layer 'lstm' is a one-way lstm layer; use direction='forward'"),
        (Iv("lstm", "f", units=4, set=1.0), r"interventions\[0\]: units must be integers in 0..3 \(the hidden units of layer 'lstm'\), a list of them or a slice; got \(4,\)"),
        (Iv("lstm", "f", steps=[1, 5], set=1.0), r"interventions\[0\]: steps must be integers in 0..4 \(the time steps of layer 'lstm' for X\), a list of them or a slice; got \(1, 5\)"),
        (Iv("lstm", "f", units=[0, 1], set=[1.0, 0.5, 0.2]), r"set has 3 values but units chooses 2 units; give one number, or one per unit"),
        (Iv("lstm", "h", source=X[:1]), r"source has 1 sequences but X has 2; give a source shaped like X"),
        (Iv("lstm", "h", source=X[:, :4]), r"source\[0\] has shape \(4, 3\) but X\[0\] has \(5, 3\); a patch takes step t of the source for step t of X"),
        (Iv("lstm", "h", steps=np.ones((2, 3), bool), set=0.0), r"steps as a mask needs one row per sequence of X \(2\), each as long as its sequence"),
        (Iv("lstm", "h", fn=lambda v: v[:, :1].sum()[None, None, None]), r"fn must return values of the shape it is given, \(2, 4\)"),
    ]
    for iv, message in cases:
        with pytest.raises(ValueError, match=message):
            ll.predict(net, X, interventions=[iv])
    with pytest.raises(TypeError, match=naming("predict: interventions[0] is a dict", "ll.Intervention(**d)")):
        ll.predict(net, X, interventions=[{"layer": "lstm"}])
    with pytest.raises(TypeError, match=r"trace: interventions must be a list of ll.Intervention; got Intervention"):
        ll.trace(net, X, interventions=Iv("lstm", "f", set=1.0))
    with pytest.warns(UserWarning, match=naming("interventions[0]", "layer 'lstm'", "up to 'sequenceinput'")):
        ll.activations(net, X, "sequenceinput", interventions=[Iv("lstm", "f", set=1.0)])


def test_an_intervention_checks_itself_as_it_is_made():
    with pytest.raises(ValueError, match=naming("quantity must be one of", "got 'x'")):
        Iv("lstm", "x", set=1.0)
    with pytest.raises(ValueError, match=r"give exactly one of set=, scale=, add=, fn=, source= \(what to do\); got none"):
        Iv("lstm", "f")
    with pytest.raises(ValueError, match=r"give exactly one of .*; got set and scale"):
        Iv("lstm", "f", set=1.0, scale=2.0)
    with pytest.raises(ValueError, match=r"set must be a finite number or a list of them, one per unit; got nan"):
        Iv("lstm", "f", set=float("nan"))
    with pytest.raises(ValueError, match=r"direction must be one of 'forward', 'backward'; got 'up'"):
        Iv("lstm", "f", direction="up", set=1.0)
    with pytest.raises(ValueError, match=r"units must be None \(all\), an int, a list of ints or a slice; got 1.5"):
        Iv("lstm", "f", units=1.5, set=1.0)
    with pytest.raises(TypeError, match=r"fn must be a function of the computed values"):
        Iv("lstm", "f", fn=3)
    with pytest.raises(TypeError, match=r"layer must be the name of a recurrent layer, a string such as 'lstm'; got 1"):
        Iv(1, "f", set=1.0)
