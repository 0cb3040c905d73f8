import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.reference import sigmoid

C, H, K = 3, 5, 4


def classifier(recurrent, *middle):
    """sequence input -> recurrent layer(s) -> (middle) -> fc(K) -> softmax, with a non-zero fc bias."""
    net = ll.Network([ll.sequence_input_layer(C), *recurrent, *middle, ll.fully_connected_layer(K), ll.softmax_layer()])
    net.build(C)
    with torch.no_grad():
        for layer in net.layers:
            for p in layer.parameters():
                p.copy_(torch.randn(p.shape))  # everything non-zero, biases included
    net.class_names, net.label_kind = ["a", "b", "c", "d"], "str"
    return net


def lists(rng, lengths=(4, 7, 9, 2)):
    return [rng.normal(size=(T, C)) for T in lengths]


NETWORKS = {
    "lstm": lambda: classifier([ll.lstm_layer(H, output_mode="last")]),
    "bilstm": lambda: classifier([ll.bilstm_layer(H, output_mode="last")]),
    "stacked": lambda: classifier([ll.lstm_layer(H), ll.dropout_layer(0.3), ll.bilstm_layer(H, output_mode="last")], ll.fully_connected_layer(6), ll.relu_layer()),
    "reverse": lambda: classifier([ll.lstm_layer(H, output_mode="last", direction="reverse")]),
}


@pytest.mark.parametrize("kind", sorted(NETWORKS))
@pytest.mark.parametrize("options", [{}, {"freeze_padding": True}, {"sequence_padding_direction": "left", "mini_batch_size": 3}])
def test_the_two_parts_add_up_to_the_score_the_network_computed(rng, kind, options):
    net = NETWORKS[kind]()
    X = lists(rng)
    d = ll.decompose(net, X, slice(1, 3), **options)
    scores = ll.activations(net, X, "fc_2" if kind == "stacked" else "fc", **options)  # (N, K): the softmax's input
    assert np.array_equal(d.target, scores.argmax(1))  # None: the predicted class
    assert np.abs(d.score - scores[np.arange(4), d.target]).max() == 0.0
    assert np.abs(d.relevant + d.irrelevant - d.score).max() < 1e-5
    assert d.max_error < 1e-5 and np.abs(d.relevant).min() > 1e-4  # the span did contribute
    assert list(d.to_frame().columns) == ["sequence", "target", "relevant", "irrelevant", "score"]


def paper(x, span, W, R, b, W_out, b_out):
    """Murdoch et al. (2018), as their reference code computes it, for one sequence: NumPy, float64."""
    W_i, W_f, W_g, W_o = np.split(W, 4)
    R_i, R_f, R_g, R_o = np.split(R, 4)
    b_i, b_f, b_g, b_o = np.split(b, 4)

    def three(a, bb, c, act):
        return 0.5 * (act(a + c) - act(c) + act(a + bb + c) - act(bb + c)), 0.5 * (act(bb + c) - act(c) + act(a + bb + c) - act(a + c)), act(c)

    rel_c = irr_c = rel_h = irr_h = np.zeros(len(b_i))
    for t in range(len(x)):
        inside = t in span
        rel = [Wq @ x[t] * inside + Rq @ rel_h for Wq, Rq in ((W_i, R_i), (W_f, R_f), (W_g, R_g))]
        irr = [Wq @ x[t] * (not inside) + Rq @ irr_h for Wq, Rq in ((W_i, R_i), (W_f, R_f), (W_g, R_g))]
        ri, ii, bi = three(rel[0], irr[0], b_i, sigmoid)
        rf, i_f, bf = three(rel[1], irr[1], b_f, sigmoid)
        rg, ig, bg = three(rel[2], irr[2], b_g, np.tanh)
        new_rel = ri * (rg + bg) + bi * rg + (rf + bf) * rel_c + (bi * bg if inside else 0)
        new_irr = ii * (rg + ig + bg) + (ri + bi) * ig + (rf + i_f + bf) * irr_c + i_f * rel_c + (0 if inside else bi * bg)
        o = sigmoid(W_o @ x[t] + R_o @ (rel_h + irr_h) + b_o)
        rel_c, irr_c = new_rel, new_irr
        rel_h = o * 0.5 * (np.tanh(rel_c) + np.tanh(rel_c + irr_c) - np.tanh(irr_c))
        irr_h = o * 0.5 * (np.tanh(irr_c) + np.tanh(rel_c + irr_c) - np.tanh(rel_c))
    return W_out @ rel_h, W_out @ irr_h + b_out


def test_it_is_the_papers_decomposition(rng):
    net = NETWORKS["lstm"]().double()
    X = lists(rng)
    d = ll.decompose(net, X, [0, 1], target=2, freeze_padding=True)  # each sequence as if alone: no padding
    numpy = lambda p: p.detach().numpy()  # noqa: E731
    lstm, fc = net["lstm"], net["fc"]
    for n, x in enumerate(X):
        rel, irr = paper(x, {0, 1}, *map(numpy, (lstm.input_weights, lstm.recurrent_weights, lstm.bias, fc.weights, fc.bias)))
        assert d.relevant[n] == pytest.approx(rel[2], abs=1e-12)
        assert d.irrelevant[n] == pytest.approx(irr[2], abs=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "bilstm", "stacked"])
def test_a_span_of_every_step_leaves_the_irrelevant_part_to_the_biases_after_the_lstm(rng, kind):
    net = NETWORKS[kind]()
    X = lists(rng)
    d = ll.decompose(net, X, slice(None), target="c", freeze_padding=True)  # without it, padded steps count as irrelevant
    if kind == "stacked":  # fc -> relu -> fc: the first fc's bias is linearized with the rest, not constant
        assert np.abs(d.irrelevant).max() > 1e-3 and d.max_error < 1e-5
    else:  # one fc after the LSTM: its bias, exactly
        assert np.array_equal(d.irrelevant, np.full(4, float(net["fc"].bias.detach()[2])))
    assert list(d.target_names) == ["c"] * 4


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_an_empty_span_has_no_relevant_part(rng, kind):
    net = NETWORKS[kind]()
    X = lists(rng)
    d = ll.decompose(net, X, [])
    assert np.array_equal(d.relevant, np.zeros(4))
    assert np.abs(d.irrelevant - d.score).max() < 1e-5


def test_start_states_count_as_irrelevant(rng):
    net = NETWORKS["lstm"]()
    X = rng.normal(size=(3, 6, C))
    ll.predict_and_update_state(net, X)  # the network now starts from these states
    d = ll.decompose(net, X, [])
    assert np.array_equal(d.relevant, np.zeros(3))
    scores = ll.activations(net, X, "fc")
    assert np.abs(d.score - scores[np.arange(3), d.target]).max() == 0.0 and d.max_error < 1e-5


def test_with_frozen_padding_a_sequence_does_not_depend_on_its_mini_batch(rng):
    net = NETWORKS["bilstm"]()
    X = lists(rng)
    together = ll.decompose(net, X, slice(-2, None), freeze_padding=True, target=1)
    for n, x in enumerate(X):
        alone = ll.decompose(net, x, slice(-2, None), target=1)
        assert alone.relevant == pytest.approx(together.relevant[n], abs=1e-6)
        assert alone.irrelevant == pytest.approx(together.irrelevant[n], abs=1e-6)
    assert np.array_equal(together.span[1], [5, 6])  # the last two steps of a 7-step sequence


def test_spans_per_sequence_and_negative_steps(rng):
    net = NETWORKS["lstm"]()
    X = lists(rng)
    each = ll.decompose(net, X, [[0], slice(-1, None), range(2, 4), []], target=0, freeze_padding=True)
    one = [ll.decompose(net, x, s, target=0).relevant for x, s in zip(X, [0, [6], [2, 3], []])]
    assert each.relevant == pytest.approx(one, abs=1e-6)


def test_a_network_with_an_output_at_every_step_is_explained_at_the_last_real_step(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H), ll.fully_connected_layer(2)])  # a regression per step
    X = lists(rng)
    d = ll.decompose(net, X, [0, 1], target=1)
    last = np.array([y[-1, 1] for y in ll.predict(net, X)])
    assert np.abs(d.score - last).max() == 0.0 and d.max_error < 1e-5
    assert list(d.step) == [len(x) - 1 for x in X]
    at_step_1 = ll.decompose(net, X, [0, 1], target=[(0, 1), (1, 1), (0, -1), (1, 1)])
    outputs = ll.predict(net, X)
    assert np.array_equal(at_step_1.score, [outputs[0][1, 0], outputs[1][1, 1], outputs[2][-1, 0], outputs[3][1, 1]])
    assert list(at_step_1.step) == [1, 1, 8, 1] and at_step_1.max_error < 1e-5
    assert np.array_equal(ll.decompose(net, X, [1], target=(1, 0)).relevant, np.zeros(4))  # the output of step 0 has not read step 1
    with pytest.raises(ValueError, match="2 responses; choose one with target="):
        ll.decompose(net, X, [0])
    with pytest.raises(ValueError, match=r"the target step 3 is outside X\[3\]'s 2 output steps"):
        ll.decompose(net, X, [0], target=(0, 3))
    with pytest.raises(ValueError, match="give the class alone: the network has one output per sequence"):
        ll.decompose(NETWORKS["lstm"](), X, [0], target=("a", 1))


def test_targets(rng):
    net = NETWORKS["lstm"]()
    X = lists(rng)
    by_name = ll.decompose(net, X, [0], target=["a", "b", "c", "d"])
    by_index = ll.decompose(net, X, [0], target=np.arange(4))
    assert np.array_equal(by_name.relevant, by_index.relevant) and list(by_name.target) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"target must be a class name \(a, b, c, d\) or a column index 0..3; got 'e'"):
        ll.decompose(net, X, [0], target="e")
    with pytest.raises(ValueError, match="target has 2 items but X has 4 sequences"):
        ll.decompose(net, X, [0], target=[0, 1])
    one = ll.decompose(net, X[0], [0], target="b")  # one (T, C) sequence: numbers, not arrays
    assert isinstance(one.relevant, float) and one.target_names == "b"
    assert one.relevant == ll.decompose(net, X[:1], [0], target="b").relevant[0]


def test_clear_errors(rng):
    X = lists(rng)
    gru = classifier([ll.gru_layer(H, output_mode="last")])
    with pytest.raises(ValueError, match="'gru' is a GRU layer; contextual decomposition .* LSTM and BiLSTM layers only"):
        ll.decompose(gru, X, [0])
    conv = ll.Network([ll.sequence_input_layer(C), ll.convolution1d_layer(3, 4, padding="same"), ll.lstm_layer(H, output_mode="last"), ll.fully_connected_layer(2)])
    with pytest.raises(ValueError, match="before the first LSTM is not supported: it mixes time steps"):
        ll.decompose(conv, X, [0])
    net = NETWORKS["lstm"]()
    with pytest.raises(ValueError, match=r"span must be steps of each sequence \(ints from -2 to 1 for X\[3\]"):
        ll.decompose(net, X, [3])
    with pytest.raises(ValueError, match="span has 2 items, one per sequence, but X has 4"):
        ll.decompose(net, X, [[0], [1]])
    with pytest.raises(ValueError, match="sequence_length must be 'longest'"):
        ll.decompose(net, X, [0], sequence_length=3)
    with pytest.raises(ValueError, match="interventions are not supported"):
        ll.decompose(net, X, [0], interventions=[ll.Intervention("lstm", "h", set=0.0)])
    with pytest.raises(TypeError, match="net must be an ll.Network"):
        ll.decompose(net["lstm"], X, [0])


@pytest.mark.parametrize("options", [{}, {"freeze_padding": True}, {"sequence_padding_direction": "left", "mini_batch_size": 3}])
def test_each_step_is_decompose_with_that_step_as_the_span(rng, options):
    from lstmlab.decomposition import each_step

    net = NETWORKS["bilstm"]()
    X = lists(rng)
    values, whole = each_step(net, X, target="b", **options)
    assert [len(v) for v in values] == [4, 7, 9, 2] and list(whole.target_names) == ["b"] * 4
    assert np.array_equal(whole.relevant, np.zeros(4))
    for t in (0, 1, 6):
        alone = ll.decompose(net, X, [[t] if t < len(x) else [] for x in X], target="b", **options)
        assert np.abs(alone.relevant - [v[t] if t < len(v) else 0.0 for v in values]).max() < 1e-12
        assert np.array_equal(alone.score, whole.score)
