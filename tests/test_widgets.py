"""Each app driven as a person would: move a control, and the figure shows the right numbers."""

import numpy as np
import pytest

import lstmlab as ll
from helpers import shaken
from lstmlab import reference
from lstmlab.viz.inspector import step_numbers
from lstmlab.widgets import bilstm_explorer, cell_explorer, cell_playground, explore, intervention_explorer, normalization_explorer, padding_explorer


@pytest.fixture
def data(rng):
    return [rng.normal(size=(T, 3)).astype("float32") for T in (5, 8, 3)]


@pytest.fixture
def net():
    return ll.Network([ll.sequence_input_layer(3), ll.bilstm_layer(4), ll.lstm_layer(2), ll.gru_layer(2)])


def test_explore_redraws_every_figure_together(net, data):
    app = explore(net, data)
    assert list(app.controls) == ["sequence", "layer", "direction", "gate", "unit", "step"]
    assert list(app.figures) == ["heatmap", "states", "inspector"]
    app.controls["sequence"].value = 1
    app.controls["direction"].value = "backward"
    app.controls["gate"].value = "o"
    np.testing.assert_array_equal(np.asarray(app.figure.data[0].z), app.trace["bilstm"].backward.o[1].T)
    app.controls["layer"].value = "lstm"
    assert app.controls["unit"].max == 1 and app.controls["direction"].options == ("forward",)
    app.controls["unit"].value = 1
    app.controls["step"].value = 7  # the slider counts steps from 1: index 6
    np.testing.assert_allclose(app.figures["states"].data[0].y, app.trace["lstm"].c[1, :, 1])
    assert list(app.figures["states"].data[0].x)[:2] == [1, 2] and "step 7, unit 1" in app.figures["inspector"].layout.title.text
    cells = app.figures["inspector"].data[0].cells.values
    assert float(cells[5][-1]) == pytest.approx(app.trace["lstm"].h[1, 6, 1], abs=1e-5)
    app.controls["layer"].value = "gru"
    assert app.controls["gate"].options == ("r", "z", "n", "h") and app.controls["gate"].value == "r"
    assert "is a gru layer" in app.figures["inspector"].layout.title.text


def test_padding_explorer(data):
    app = padding_explorer(data)
    app.controls["mini_batch_size"].value = 3
    assert ": 8 padded steps" in app.figure.layout.title.text  # 5, 8, 3 padded to 8
    app.controls["rule"].value = "shortest"
    assert ", 7 discarded" in app.figure.layout.title.text  # 5 and 8 cut to 3
    app.controls["rule"].value = "split"
    assert not app.controls["chunk"].disabled
    app.controls["chunk"].value = 4
    assert ": 8 padded steps" in app.figure.layout.title.text  # 8 holds two chunks of 4


def test_normalization_explorer(data):
    app = normalization_explorer(data)
    app.controls["normalization"].value = "rescale-zero-one"
    app.controls["channel"].value = 2
    after = np.asarray(app.figure.data[1].x)
    assert after.min() == pytest.approx(0) and after.max() == pytest.approx(1)
    np.testing.assert_allclose(app.figure.data[0].x, np.concatenate(data)[:, 2])


def test_bilstm_explorer(net, data):
    app = bilstm_explorer(net, data)
    app.controls["sequence"].value = 2
    app.controls["unit"].value = 3
    np.testing.assert_array_equal(app.figure.data[1].y, app.trace["bilstm"].backward.h[2, :, 3])
    with pytest.raises(ValueError, match="the network has no bilstm layer"):
        bilstm_explorer(ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(2)]), data)


def test_cell_playground_follows_the_reference():
    app = cell_playground()
    app.controls["input"].value = "step"
    app.controls["b_f"].value = -3.0
    app.controls["R_i"].value = 1.5
    W = np.array([[app.controls[f"W_{g}"].value] for g in "ifgo"])
    R = np.array([[app.controls[f"R_{g}"].value] for g in "ifgo"])
    b = np.array([app.controls[f"b_{g}"].value for g in "ifgo"])
    x = (np.arange(40) >= 10).astype(float)[:, None]
    expected = reference.lstm_sequence(x, W, R, b)
    traces = {t.name: t for t in app.figure.data}
    np.testing.assert_allclose(traces["f"].y, expected.f[:, 0])
    np.testing.assert_allclose(traces["c"].y, expected.c[:, 0])
    assert traces["x"].x[0] == 1 and traces["x"].x[-1] == 40  # steps counted from 1
    app.controls["gate_activation"].value = "hard-sigmoid"
    traces = {t.name: t for t in app.figure.data}
    np.testing.assert_allclose(traces["i"].y, reference.lstm_sequence(x, W, R, b, gate="hard-sigmoid").i[:, 0])


def test_explore_counts_steps_in_the_layers_own_time(rng):
    X = [rng.normal(size=(T, 3)).astype("float32") for T in (7, 10)]
    net = ll.Network([ll.sequence_input_layer(3, min_length=2), ll.max_pooling1d_layer(2, stride=2), ll.lstm_layer(4)])
    app = explore(net, X)
    assert (app.controls["step"].min, app.controls["step"].max) == (1, 3)  # 7 steps pooled by 2: 3, counted from 1
    app.controls["sequence"].value = 1
    assert app.controls["step"].max == 5
    app.controls["step"].value = 5
    inspector = step_numbers(net, X, "lstm", sequence=1, step=4)
    assert abs(inspector["h"] - inspector["recorded"]["h"]) < 1e-5


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("freeze_padding", [False, True])
def test_explore_inspector_reads_the_heatmap_cell_under_the_crosshair(rng, direction, freeze_padding):
    """On a right-padded mini-batch the backward pass of a short sequence starts in the padding:
    the inspector shows what the heatmap shows, not the sequence read alone."""
    X = [rng.normal(size=(T, 3)).astype("float32") for T in (9, 4)]
    net = ll.Network([ll.sequence_input_layer(3), shaken(ll.bilstm_layer(3, input_size=3), rng), shaken(ll.lstm_layer(2, input_size=6), rng)])
    app = explore(net, X, freeze_padding=freeze_padding)
    app.controls["sequence"].value = 1
    for layer in ("bilstm", "lstm"):
        app.controls["layer"].value = layer
        if layer == "bilstm":
            app.controls["direction"].value = direction
        app.controls["unit"].value = 1
        for step in (0, 3):  # the backward pass reads step 3 first: after the padding, or right at the start
            app.controls["step"].value = step + 1  # the slider counts from 1
            for gate in ("f", "c"):
                app.controls["gate"].value = gate
                heat = np.asarray(app.figures["heatmap"].data[0].z, dtype=float)  # (units, steps)
                cells = app.figures["inspector"].data[0].cells.values
                under_crosshair = heat[1, step]
                recorded_column = float(cells[6][1 if gate == "f" else -2])  # the f row, or c_t
                computed_column = float(cells[5][1 if gate == "f" else -2])
                assert recorded_column == pytest.approx(under_crosshair, abs=1e-6)
                assert computed_column == pytest.approx(under_crosshair, abs=1e-5)


def test_quiz_answers_as_a_reader_checks():
    from lstmlab.widgets import quiz, seal

    sealed = seal("g", "g is the cell candidate, a tanh in (-1, 1).")
    assert "tanh" not in sealed and '"g"' not in sealed  # nothing to read in the notebook
    q = quiz("Which of i, f, g, o is not a gate?", ["i", "f", "g", "o"], sealed)
    assert "tanh" not in repr(vars(q))  # the opened answer is not kept where a student could print it
    q.check.click()
    assert q.feedback.value == "Pick an answer first."
    q.choices.value = "o"
    q.check.click()
    assert "Not o." in q.feedback.value and "tanh" not in q.feedback.value
    q.choices.value = "g"
    q.check.click()
    assert "Right." in q.feedback.value and "g is the cell candidate, a tanh in (-1, 1)." in q.feedback.value
    assert repr(q) == "Quiz: Which of i, f, g, o is not a gate? (run this cell in JupyterLab to answer)"
    with pytest.raises(ValueError, match=r"sealed answer must be one of the choices \['a', 'b'\]; got 'c'"):
        quiz("?", ["a", "b"], seal("c", ""))
    with pytest.raises(ValueError, match=r"quiz: choices must be two or more different answers; got \['a', 'a'\]"):
        quiz("?", ["a", "a"], seal("a", ""))
    with pytest.raises(ValueError, match=r"the answer must be sealed.*got 'a'.*ll.widgets.seal\(answer, why\)"):
        quiz("?", ["a", "b"], "a")
    with pytest.raises(ValueError, match=r"is not a string that ll.widgets.seal made"):
        quiz("?", ["a", "b"], sealed[:-6])


def test_intervention_explorer_clamps_what_the_reader_picks(net, data):
    net = ll.Network([*net.layers, ll.fully_connected_layer(2), ll.softmax_layer()])
    net.class_names = ["a", "b"]
    app = intervention_explorer(net, data)
    assert list(app.controls) == ["sequence", "layer", "direction", "gate", "unit", "clamp", "steps"]
    assert list(app.figures) == ["prediction", "heatmap", "states"]
    app.controls["sequence"].value = 1
    assert app.controls["steps"].value == (1, 8)  # steps counted from 1
    app.controls["direction"].value = "backward"
    app.controls["unit"].value = 3
    app.controls["steps"].value = (3, 6)
    app.controls["clamp"].value = 0.25  # the backward forget gate of unit 3, steps 3..6: indices 2..5
    z = np.asarray(app.figures["heatmap"].data[0].z)  # (units, steps)
    np.testing.assert_array_equal(z[3, 2:6], 0.25)
    clean = ll.trace(net, data[1])["bilstm"].backward.f[0, :, 3]
    assert z[3, 6] == pytest.approx(clean[6], abs=1e-6) and abs(z[3, 1] - clean[1]) > 1e-5, "after the clamp (in backward time) f follows"
    lines = app.figures["states"].data
    assert [d.name for d in lines][::6] == ["clean", "f = 0.25 (steps 3..6)"]  # six quantities each
    np.testing.assert_allclose(lines[0].y, ll.trace(net, data[1])["bilstm"].backward.i[0, :, 3], atol=1e-6)
    scores = app.figures["prediction"].data  # per step: class a clean, class a clamped, class b clean, ...
    clamp = ll.Intervention("bilstm", "f", units=3, steps=slice(2, 6), direction="backward", set=0.25)
    np.testing.assert_allclose(scores[0].y, ll.predict(net, data[1])[:, 0], atol=1e-6)
    np.testing.assert_allclose(scores[1].y, ll.predict(net, data[1], interventions=[clamp])[:, 0], atol=1e-6)
    app.controls["layer"].value = "gru"
    assert app.controls["gate"].options == ("r", "z", "n", "h") and app.controls["gate"].value == "r"
    app.controls["gate"].value = "h"
    assert app.controls["clamp"].min == -1.0 and app.controls["direction"].options == ("forward",)


def test_cell_explorer_colours_ranks_and_matches_the_chosen_unit(rng):
    source = "def f(x):\n    return 'ab' + x\n" * 15
    vocabulary = ll.text.Vocabulary(source)
    net = shaken(ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(4, len(vocabulary)), ll.lstm_layer(5), ll.gru_layer(3)]), rng)
    tr = ll.trace(net, [vocabulary.encode(source)])
    app = cell_explorer(tr, source)
    assert list(app.controls) == ["layer", "quantity", "unit", "first_line", "selection", "threshold"]
    assert list(app.figures) == ["text", "ranking", "matches"]
    assert (app.controls["first_line"].min, app.controls["first_line"].max) == (1, 30 - 20 + 1)  # lines count from 1
    app.controls["unit"].value = 3
    app.controls["first_line"].value = 3  # lines of 10 and 20 characters: line 3 starts at character 30
    shown = app.figures["text"]
    assert shown.layout.title.text.endswith(": lines 3..22") and list(shown.data[0].y[:2]) == [3, 4] and shown.data[0].x[0] == 1
    z = np.asarray(shown.data[0].z, dtype=float)  # (lines, columns)
    np.testing.assert_array_equal(z[:2, :20], [[*tr["lstm"].c[0, 30:40, 3], *[np.nan] * 10], tr["lstm"].c[0, 40:60, 3]])
    mine = app.ranking.query("layer == 'lstm' and quantity == 'c' and unit == 3")
    assert list(app.figures["ranking"].data[0].cells.values[0]) == mine["feature"].tolist()
    app.controls["layer"].value = "gru"
    assert app.controls["quantity"].options == ("r", "z", "n", "h") and app.controls["quantity"].value == "h"
    assert app.controls["unit"].options == (0, 1, 2)
    app.controls["selection"].value = (30, 33)
    app.controls["threshold"].value = -1.0  # every unit is above -1: one match, the whole text
    expected = ll.text.match_spans(tr, source, 30, 33, -1.0, layer="gru", quantity="h")
    assert list(app.figures["matches"].data[0].cells.values[0]) == expected["start"].tolist() == [0]
    app.controls["threshold"].value = 1.0  # nothing is above 1: the table says why
    assert "no unit stays above threshold=1.0" in app.figures["matches"].data[0].cells.values[0][0]
    with pytest.raises(TypeError, match=r"cell_explorer: tr must be an ll.Trace .*; got dict"):
        cell_explorer({}, source)


def test_attention_explorer_shows_the_chosen_pair_and_output_step():
    import torch

    from lstmlab.widgets import attention_explorer

    torch.manual_seed(0)
    model = ll.EncoderDecoder(4, 3, num_hidden_units=4, embedding_dimension=2, attention="dot")
    X = [np.array([1, 2, 3]), np.array([4, 4])]
    app = attention_explorer(model, X, [np.array([1, 2]), np.array([3])], source_tokens="abcd", target_tokens=["x", "y", "z"])
    assert list(app.controls) == ["pair", "step"] and list(app.figures) == ["map", "row"]
    assert list(app.figure.data[0].x) == ["1: a", "2: b", "3: c"] and list(app.figure.data[0].y) == ["1: x", "2: y", "3: <end>"]
    app.controls["pair"].value = 1
    assert app.controls["step"].max == 2  # one word and <end>
    app.controls["step"].value = 2
    np.testing.assert_array_equal(app.figures["row"].data[0].y, app.trace.attention[1, 1, :2])
    assert app.figures["row"].layout.title.text == "Output step 2 ('<end>') of pair 1: the weight it gave each source step"
    assert sum(app.figures["row"].data[0].y) == pytest.approx(1)
    free = attention_explorer(model, X, max_length=3)  # decoded greedily
    assert [w.tolist() for w in free.written] == [w.tolist() for w in ll.decode(model, X, max_length=3)]
    with pytest.raises(ValueError, match="attention_explorer: the model has no attention"):
        attention_explorer(ll.EncoderDecoder(4, 3, num_hidden_units=4), X)
