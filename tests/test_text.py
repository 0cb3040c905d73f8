import math

import numpy as np
import pandas as pd
import pytest
import torch

import lstmlab as ll
from lstmlab import text
from lstmlab.text import generation
from lstmlab.trace import LayerTrace, Trace


def char_model(vocabulary, hidden=6, seed=0):
    torch.manual_seed(seed)
    return ll.Network([
        ll.sequence_input_layer(1),
        ll.word_embedding_layer(4, len(vocabulary)),
        ll.lstm_layer(hidden),
        ll.fully_connected_layer(len(vocabulary)),
        ll.softmax_layer(),
    ])


# --- Vocabulary ---------------------------------------------------------------------------------------


def test_vocabulary_numbers_sorted_characters_from_one():
    vocabulary = text.Vocabulary("hello, world\n")
    assert vocabulary.characters == ("\n", " ", ",", "d", "e", "h", "l", "o", "r", "w")
    assert len(vocabulary) == 10
    ids = vocabulary.encode("hello")
    assert ids.dtype == np.int64 and ids.tolist() == [6, 5, 7, 7, 8]
    assert vocabulary.decode(ids) == "hello" and vocabulary.decode(np.array([[10], [8]])) == "wo"
    assert repr(text.Vocabulary("ba")) == "Vocabulary(2 characters: 'ab')"
    assert text.Vocabulary("ab") == text.Vocabulary("ba") != text.Vocabulary("abc")


def test_vocabulary_bad_input():
    vocabulary = text.Vocabulary("abc")
    with pytest.raises(ValueError, match=r"Vocabulary.encode: text\[2\] is 'x', a character outside the vocabulary of 3 characters; build the Vocabulary from text that holds it, or remove it"):
        vocabulary.encode("abxa")
    with pytest.raises(ValueError, match=r"Vocabulary: text is empty; give at least one character"):
        text.Vocabulary("")
    with pytest.raises(ValueError, match=r"Vocabulary.encode: text is empty"):
        vocabulary.encode("")
    with pytest.raises(TypeError, match=r"Vocabulary: text must be a string; got list"):
        text.Vocabulary(["a", "b"])
    with pytest.raises(ValueError, match=r"Vocabulary.decode: ids\[1\] is 0; ids must be whole numbers from 1 to 3"):
        vocabulary.decode([1, 0])
    with pytest.raises(ValueError, match=r"ids\[0\] is 4"):
        vocabulary.decode([4])


# --- Training data and bits per character ----------------------------------------------------------------


def test_next_character_data_cuts_streams_with_next_character_targets():
    vocabulary = text.Vocabulary("abcdefghij")
    X, Y = text.next_character_data("abcdefghij", vocabulary, num_streams=3)  # 9 inputs with a next: 3 streams of 3
    assert [vocabulary.decode(x) for x in X] == ["abc", "def", "ghi"]
    assert ["".join(y) for y in Y] == ["bcd", "efg", "hij"]
    assert all(list(y.categories) == list(vocabulary.characters) for y in Y)
    X, Y = text.next_character_data("abab", text.Vocabulary("ab"))
    assert len(X) == 1 and X[0].tolist() == [1, 2, 1] and list(Y[0]) == ["b", "a", "b"]


def test_next_character_data_bad_input():
    vocabulary = text.Vocabulary("ab")
    with pytest.raises(ValueError, match=r"text has 3 characters, too few for num_streams=3 streams .* at least 4 characters"):
        text.next_character_data("aba", vocabulary, num_streams=3)
    with pytest.raises(ValueError, match=r"num_streams must be a positive integer; got 0"):
        text.next_character_data("abab", vocabulary, num_streams=0)
    with pytest.raises(TypeError, match=r"vocabulary must be an ll.text.Vocabulary; got str"):
        text.next_character_data("abab", "ab")
    with pytest.raises(ValueError, match=r"outside the vocabulary"):
        text.next_character_data("abc", vocabulary)


def test_bits_per_character():
    assert text.bits_per_character(np.full((5, 8), 1 / 8), np.arange(5)) == pytest.approx(3.0)
    assert text.bits_per_character(np.array([[0.5, 0.5], [0.25, 0.75]]), np.array([0, 0])) == pytest.approx(1.5)


def test_trainnet_learns_a_stream_and_reports_bits_per_character():
    corpus = "abcd" * 200
    vocabulary = text.Vocabulary(corpus)
    X, Y = text.next_character_data(corpus, vocabulary, num_streams=4)
    options = ll.training_options(
        max_epochs=15, mini_batch_size=4, sequence_length=20, initial_learn_rate=0.05, shuffle="never",
        validation_data=(X, Y), validation_frequency=10, metrics=[text.bits_per_character], verbose=False, seed=0,
    )
    net = ll.trainnet(X, Y, char_model(vocabulary), "crossentropy", options)
    assert net.class_names == list(vocabulary.characters)
    last = net.training_history_.dropna(subset=["validation_loss"]).iloc[-1]
    assert last.validation_bits_per_character == pytest.approx(last.validation_loss / math.log(2), rel=1e-4)
    assert last.validation_bits_per_character < 0.1  # "abcd" repeats: the next character is certain
    assert text.generate(net, vocabulary, "ab", 6, temperature=0) == "cdabcd"


# --- Generation ----------------------------------------------------------------------------------------


def test_generate_is_stateful_and_matches_reading_the_whole_text_again():
    vocabulary = text.Vocabulary("abcde")
    net = char_model(vocabulary, seed=3)
    written = text.generate(net, vocabulary, "abc", 8, temperature=0)
    expected = "abc"
    for _ in range(8):  # the slow way: read everything again for every character
        scores = ll.predict(net, vocabulary.encode(expected))[-1]  # (V,)
        expected += vocabulary.characters[int(np.argmax(scores))]
    assert written == expected[3:] and len(written) == 8
    assert not net["lstm"].hidden_state.any()  # left at its initial state


def test_generate_runs_one_step_per_character_read(monkeypatch):
    vocabulary = text.Vocabulary("abcde")
    net = char_model(vocabulary, seed=3)
    steps = []

    class Counting(ll.Stepper):
        def __call__(self, ids):
            steps.append(len(ids))
            return super().__call__(ids)

    monkeypatch.setattr(generation, "Stepper", Counting)
    text.generate(net, vocabulary, "abc", 8, temperature=0)
    assert steps == [3] + [1] * 7  # the prompt, then every written character but the last: 3 + 8 - 1 steps


def test_generate_writes_what_predict_and_update_state_writes():
    vocabulary = text.Vocabulary("abcde")
    net = char_model(vocabulary)
    rng, written = np.random.default_rng(4), []
    scores = ll.predict_and_update_state(net, vocabulary.encode("ab"))[-1]  # (V,)
    for _ in range(30):
        written.append(generation._sample(scores, 1.0, rng) + 1)
        scores = ll.predict_and_update_state(net, np.array(written[-1:]))[-1]
    ll.reset_state(net)
    assert text.generate(net, vocabulary, "ab", 30, seed=4) == vocabulary.decode(written)
    step = ll.Stepper(net)
    step(np.array([2]))  # checked whole; later ids of its shape and type are checked against the vocabulary alone
    with pytest.raises(ValueError, match=r"Stepper: X has token id 6 at time step 0, outside the vocabulary of layer 'embedding'"):
        step(np.array([6]))
    with pytest.raises(ValueError, match=r"Stepper: X has token id 0 at time step 0, but layer 'embedding' counts words from 1"):
        step(np.array([0]))


def test_generate_sampling_is_reproducible_with_a_seed():
    vocabulary = text.Vocabulary("abcde")
    net = char_model(vocabulary)
    first = text.generate(net, vocabulary, "a", 40, seed=1)
    assert first == text.generate(net, vocabulary, "a", 40, seed=1)
    assert first != text.generate(net, vocabulary, "a", 40, seed=2)
    assert set(first) <= set("abcde") and ll.generate is text.generate


def test_generate_passes_interventions_to_every_step():
    vocabulary = text.Vocabulary("abcde")
    net = char_model(vocabulary, seed=3)
    closed = [ll.Intervention("lstm", "o", set=0.0)]  # output gates shut: h = 0 whatever was read
    written = text.generate(net, vocabulary, "abc", 6, temperature=0, interventions=closed)
    favourite = vocabulary.characters[int(np.argmax(net["fc"].bias.detach().numpy()))]  # softmax(b) alone
    assert written == favourite * 6
    assert text.generate(net, vocabulary, "abc", 6, temperature=0, interventions=[]) == text.generate(net, vocabulary, "abc", 6, temperature=0)


def test_generate_bad_input():
    vocabulary = text.Vocabulary("abcde")
    net = char_model(vocabulary)
    with pytest.raises(ValueError, match=r"generate: the network scores 5 characters but the vocabulary has 2; give the vocabulary the network was trained with"):
        text.generate(net, text.Vocabulary("ab"), "a", 3)
    with pytest.raises(ValueError, match=r"generate: prompt is empty"):
        text.generate(net, vocabulary, "", 3)
    with pytest.raises(ValueError, match=r"text\[1\] is 'z', a character outside the vocabulary"):
        text.generate(net, vocabulary, "az", 3)
    with pytest.raises(ValueError, match=r"generate: length must be a positive integer; got 0"):
        text.generate(net, vocabulary, "a", 0)
    with pytest.raises(ValueError, match=r"generate: temperature must be a finite non-negative number; got -1"):
        text.generate(net, vocabulary, "a", 3, temperature=-1)


# --- Code features ---------------------------------------------------------------------------------------


def column(features, name):
    return "".join(str(v) for v in features[name])


def test_code_features_strings_comments_and_brackets_come_from_tokenize():
    source = "x = f('a(', \"#\")  # (c\n"
    features = text.code_features(source)
    assert list(features.columns) == list(text.CODE_FEATURES) and len(features) == len(source)
    assert column(features, "in_string") == "00000011110011100000000"
    assert column(features, "in_comment") == "00000000000000000011110"
    assert column(features, "bracket_depth") == "00000111111111110000000"


def test_code_features_triple_quotes_prefixes_and_unfinished_strings():
    source = 'def f():\n    """Doc (\n    more."""\n    return rb"x"\ny = """open'
    features = text.code_features(source)
    s = features["in_string"].to_numpy()
    docstring = source.index('"""')
    assert s[docstring : source.index('more."""') + 8].all() and not s[:docstring].any()
    assert s[source.index('rb"x"') : source.index('rb"x"') + 5].all() and s[source.index("return")] == 0
    assert s[source.index('"""open') :].all()  # runs to the end of a cut-off text
    assert features["bracket_depth"].max() == 1  # "(" inside the docstring is no bracket


def test_code_features_indent_and_line_position():
    source = "if x:\n    y = [1,\n         2]\n"
    features = text.code_features(source)
    assert features["indent"].tolist() == [0] * 6 + [4] * 12 + [9] * 12
    assert features["line_position"].tolist() == list(range(6)) + list(range(12)) + list(range(12))
    assert column(features, "bracket_depth") == "0" * 14 + "1" * 15 + "0"


def test_code_features_bad_input():
    with pytest.raises(ValueError, match=r"code_features: text is not Python source that tokenize can read \(unindent does not match any outer indentation level, line 3\)"):
        text.code_features("if x:\n        y\n    z\n")
    with pytest.raises(ValueError, match=r"code_features: text is empty"):
        text.code_features("")


# --- Finding cells --------------------------------------------------------------------------------------------


def test_find_cells_ranks_the_unit_that_follows_a_feature_first():
    source = "def f(x):\n    return 'abc' + x  # add\n" * 3
    vocabulary = text.Vocabulary(source)
    tr = ll.trace(char_model(vocabulary, hidden=5), [vocabulary.encode(source)])
    features = text.code_features(source)
    features["copy_of_c2"] = tr["lstm"].c[0, :, 2]  # a feature that unit 2's cell state follows exactly
    found = text.find_cells(tr, features)
    assert list(found.columns) == ["layer", "direction", "quantity", "unit", "feature", "correlation"]
    assert len(found) == 6 * 5 * 6  # quantities x units x features
    assert found.iloc[0][["quantity", "unit", "feature"]].tolist() == ["c", 2, "copy_of_c2"]
    assert found.iloc[0].correlation == pytest.approx(1.0)
    assert np.all(np.diff(found.correlation.abs().to_numpy()) <= 1e-12)  # strongest first
    assert ll.find_cells is text.find_cells


def test_find_cells_of_a_constant_feature_is_zero_and_dicts_work():
    source = "x = 1\n" * 4
    vocabulary = text.Vocabulary(source)
    tr = ll.trace(char_model(vocabulary, hidden=3), [vocabulary.encode(source)], units=[0, 2])
    found = text.find_cells(tr, {"zeros": np.zeros(len(source)), "position": np.arange(len(source))})
    assert set(found.unit) == {0, 2}
    assert (found[found.feature == "zeros"].correlation == 0).all()


def test_find_cells_bad_input():
    source = "x = 1\n"
    vocabulary = text.Vocabulary(source)
    tr = ll.trace(char_model(vocabulary, hidden=3), [vocabulary.encode(source)])
    with pytest.raises(ValueError, match=r"find_cells: features has 5 rows but the trace of layer 'lstm' recorded 6 real time steps; give one row per recorded step"):
        text.find_cells(tr, {"short": np.zeros(5)})
    with pytest.raises(ValueError, match=r"find_cells: feature 'kind' is not numeric \(dtype (object|str)\); give one number per character"):
        text.find_cells(tr, pd.DataFrame({"kind": list("abcdef")}))
    with pytest.raises(TypeError, match=r"find_cells: tr must be an ll.Trace"):
        text.find_cells("trace", text.code_features(source))
    with pytest.raises(TypeError, match=r"find_cells: features must be a DataFrame or a dict"):
        text.find_cells(tr, [1, 2, 3])


# --- match_spans ----------------------------------------------------------------------------------

ON, OFF = 0.9, 0.1
MATCH_TEXT = "0123456789"


def constructed_trace():
    """One text of 10 steps, units 7, 2 and 5 of layer 'lstm': on (0.9) where listed, else off (0.1)."""
    on_at = {7: [1, 3, 4, 6, 8, 9], 2: [1, 3, 4, 8], 5: [4, 8, 9]}
    h = np.full((1, 10, 3), OFF)  # (N, T, U)
    for u, unit in enumerate(on_at):
        h[0, on_at[unit], u] = ON
    layer = LayerTrace("lstm", "lstm", [{"h": h, "c": -h}], np.arange(10), np.array([7, 2, 5]), np.array([10]), 0.0, ["given"])
    return Trace({"lstm": layer})


def test_match_spans_finds_and_ranks_the_runs_that_hold_the_pattern():
    found = text.match_spans(constructed_trace(), MATCH_TEXT, 3, 5, 0.5)  # units 7 and 2 are on over 3, 4
    assert found.attrs["units"] == [7, 2]
    assert found[["start", "end"]].values.tolist() == [[3, 5], [1, 2], [8, 9]]  # same score: the selection's length first
    np.testing.assert_allclose(found["score"], [1, 1, 2 / 3])  # at step 8 unit 5 is on too
    assert found["text"].tolist() == ["34", "1", "8"]


def test_match_spans_with_fewer_units_finds_partial_matches():
    found = text.match_spans(constructed_trace(), MATCH_TEXT, 3, 5, 0.5, min_units=1)
    assert found[["start", "end"]].values.tolist() == [[3, 5], [1, 2], [6, 7], [8, 10]]
    np.testing.assert_allclose(found["score"], [1, 1, 1 / 2, 1 / 3])  # {7} of {7, 2}; {7, 5} against {7, 2}
    below = text.match_spans(constructed_trace(), MATCH_TEXT, 0, 1, -0.5, quantity="c")  # c = -h: on where h is off
    assert below.attrs["units"] == [7, 2, 5]
    assert below[["start", "end"]].values.tolist() == [[0, 1], [2, 3], [5, 6], [7, 8]]
    assert below["score"].tolist() == [1.0] * 4


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(start=5, end=5), r"start and end must select a span of the text, 0 <= start < end <= 10 \(its length\); got start=5, end=5"),
        (dict(start=8, end=11), r"got start=8, end=11"),
        (dict(threshold=float("nan")), r"threshold must be a finite number, such as 0.5; got nan"),
        (dict(threshold=0.95), r"no unit stays above threshold=0.95 over text\[3:5\] \('34'\); the highest least value there is 0.9 \(unit 7\)"),
        (dict(min_units=3), r"min_units must be a whole number from 1 to 2 \(the pattern's units\); got 3"),
        (dict(quantity="f"), r"quantity must be one of 'h', 'c' \(what the trace recorded of layer 'lstm'\); got 'f'"),
        (dict(text="0123"), r"holds 1 sequence\(s\) and 10 recorded real steps, but text has 4 characters"),
    ],
)
def test_match_spans_bad_input_is_a_clear_error(arguments, message):
    options = dict(text=MATCH_TEXT, start=3, end=5, threshold=0.5) | arguments
    with pytest.raises(ValueError, match=message):
        text.match_spans(constructed_trace(), **options)


def test_match_spans_reads_a_streamed_trace_and_finds_the_selection(tmp_path):
    source = "def f(x):\n    return 'a' + x\n" * 4
    vocabulary = text.Vocabulary(source)
    net = char_model(vocabulary)
    tr = ll.trace(net, [vocabulary.encode(source)], out=tmp_path / "tr", chunk_length=16)
    found = text.match_spans(tr, source, 40, 44, 0.0)
    holding = found[(found["start"] <= 40) & (found["end"] >= 44)]  # the run that holds the selection
    assert len(holding) == 1 and holding["score"].item() == 1.0
    assert (found["score"] <= 1).all() and found["score"].is_monotonic_decreasing
    two = ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(4, len(vocabulary)), ll.lstm_layer(3), ll.gru_layer(3)])
    with pytest.raises(ValueError, match=r"the trace recorded 2 layers; choose one with layer=, from lstm, gru"):
        text.match_spans(ll.trace(two, [vocabulary.encode(source)]), source, 0, 2, 0.0)
