import re

import numpy as np
import pytest

import lstmlab as ll
from lstmlab.layers import REGISTRY

LESSONS = {  # the networks that lessons 02-07 and 13 build
    "04 Japanese Vowels": lambda: [ll.sequence_input_layer(12, normalization="zscore"), ll.lstm_layer(100, output_mode="last"),
                                   ll.fully_connected_layer(9), ll.softmax_layer()],
    "05 BiLSTM": lambda: [ll.sequence_input_layer(12, normalization="zscore"), ll.bilstm_layer(16),
                          ll.lstm_layer(16, output_mode="last"), ll.fully_connected_layer(9), ll.softmax_layer()],
    "06 forecasting": lambda: [ll.sequence_input_layer(3), ll.lstm_layer(16), ll.fully_connected_layer(1)],
    "07 sequence to sequence": lambda: [ll.sequence_input_layer(3, normalization="zscore"), ll.lstm_layer(32),
                                        ll.fully_connected_layer(4), ll.softmax_layer()],
    "08 convolution + LSTM": lambda: [ll.sequence_input_layer(12, normalization="zscore"), ll.convolution1d_layer(3, 32, padding="same"),
                                      ll.relu_layer(), ll.lstm_layer(32, output_mode="last"), ll.fully_connected_layer(9), ll.softmax_layer()],
    "08 video": lambda: [ll.sequence_input_layer((16, 16, 1)), ll.sequence_folding_layer(), ll.convolution2d_layer(3, 8, padding="same"),
                         ll.batch_normalization_layer(), ll.relu_layer(), ll.convolution2d_layer(3, 16, stride=2),
                         ll.batch_normalization_layer(), ll.relu_layer(), ll.sequence_unfolding_layer(), ll.flatten_layer(),
                         ll.lstm_layer(32, output_mode="last"), ll.fully_connected_layer(10), ll.softmax_layer()],
}


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_lessons_networks_have_no_issues(lesson):
    net = ll.Network(LESSONS[lesson]())
    analysis = ll.analyze_network(net)
    assert analysis.issues == []
    assert analysis.table["name"].tolist() == [layer.name for layer in net.layers]
    assert analysis.total == sum(p.numel() for p in net.parameters()) == net.summary()["learnables"].sum()


def test_the_table_speaks_matlab():
    analysis = ll.analyze_network(LESSONS["04 Japanese Vowels"]())
    table = analysis.table.set_index("name")
    assert table["activation size"].tolist() == ["12(C) x 1(B) x T(T)", "100(C) x 1(B)", "9(C) x 1(B)", "9(C) x 1(B)"]
    assert table.loc["lstm", "learnables"] == "W 400x12, R 400x100, b 400 (per block i, f, g, o: W 100x12, R 100x100, b 100)"
    assert table.loc["lstm", "count"] == 4 * 100 * (12 + 100 + 1)
    assert table.loc["lstm", "states"] == "hidden 100, cell 100"
    assert table.loc["fc", "learnables"] == "weights 9x100, bias 9"
    assert analysis.total == 45200 + 909
    assert "46,109 learnables" in repr(analysis) and "No issues found" in analysis._repr_html_()


def test_time_changes_and_recurrent_layers_per_direction():
    analysis = ll.analyze_network([ll.sequence_input_layer(12, min_length=5), ll.convolution1d_layer(5, 16),
                                   ll.max_pooling1d_layer(2, stride=2, padding="same"), ll.bilstm_layer(8), ll.gru_layer(4, output_mode="last")])
    table = analysis.table.set_index("name")
    assert table["activation size"].tolist() == ["12(C) x 1(B) x T(T)", "16(C) x 1(B) x T-4(T)", "16(C) x 1(B) x ceil((T-4)/2)(T)",
                                                 "16(C) x 1(B) x ceil((T-4)/2)(T)", "4(C) x 1(B)"]
    assert table.loc["bilstm", "learnables"].endswith("(per direction and block i, f, g, o: W 8x16, R 8x8, b 8)")
    assert table.loc["gru", "states"] == "hidden 4"
    video = ll.analyze_network(LESSONS["08 video"]()).table.set_index("name")["activation size"]
    assert video["conv2d_2"] == "7(S) x 7(S) x 16(C) x (1·T)(B)"
    assert video["flatten"] == "784(C) x 1(B) x T(T)"


def test_sequence_to_label_with_a_sequence_output():
    layers = [ll.sequence_input_layer(12), ll.lstm_layer(10), ll.fully_connected_layer(3), ll.softmax_layer()]
    assert ll.analyze_network(layers).issues == []  # without targets, a sequence output is legal (sequence to sequence)
    layers = [ll.sequence_input_layer(12), ll.lstm_layer(10), ll.fully_connected_layer(3), ll.softmax_layer()]
    assert ll.analyze_network(layers, Y=["a", "b", "c"]).issues == [("error", "lstm", (
        "Y has one target per sequence, but 'lstm' outputs a sequence (output_mode='sequence') and the network ends in one; "
        "give 'lstm' output_mode='last' for sequence-to-label."))]
    labelled = [ll.sequence_input_layer(12), ll.lstm_layer(10, output_mode="last"), ll.fully_connected_layer(3), ll.softmax_layer()]
    [(severity, layer, message)] = ll.analyze_network(labelled, Y=[np.zeros(5), np.ones(4)]).issues
    assert (severity, layer) == ("error", "lstm") and message.startswith("Y has one target per time step")


def test_missing_softmax_for_crossentropy():
    layers = [ll.sequence_input_layer(12), ll.lstm_layer(10, output_mode="last"), ll.fully_connected_layer(3)]
    assert ll.analyze_network(layers, loss="crossentropy").issues == [
        ("error", "fc", "analyze_network: loss 'crossentropy' needs probabilities; end the network with ll.softmax_layer().")]
    assert ll.analyze_network([ll.sequence_input_layer(12), ll.lstm_layer(10), ll.fully_connected_layer(3)], loss="mse").issues == []


def test_channels_that_do_not_match():
    analysis = ll.analyze_network([ll.sequence_input_layer(12), ll.lstm_layer(10, input_size=5), ll.fully_connected_layer(3)])
    assert analysis.network is None
    assert analysis.issues == [("error", "lstm", "lstm: the input has 12 channels but the layer was built for input_size=5; give data with 5 channels.")]
    assert analysis.table["activation size"].tolist() == ["12(C) x 1(B) x T(T)", "?(C) x 1(B) x T(T)", "?(C) x 1(B) x T(T)"]


def test_min_length_too_short_for_a_convolution():
    [(severity, layer, message)] = ll.analyze_network([ll.sequence_input_layer(12), ll.convolution1d_layer(5, 16), ll.lstm_layer(4)]).issues
    assert (severity, layer) == ("error", "conv1d")
    assert "gets 1 time step from a sequence of min_length=1 and has no output step left" in message
    assert "give sequence_input_layer(..., min_length=5), or pad the layer (padding='same')" in message


def test_duplicate_names():
    layers = [ll.sequence_input_layer(12), ll.lstm_layer(10, output_mode="last"), ll.fully_connected_layer(3, name="out"), ll.softmax_layer(name="out")]
    analysis = ll.analyze_network(layers)
    assert analysis.issues == [("error", "out", "Network: two layers are named 'out'; layer names must be unique.")]
    assert analysis.table["name"].tolist() == ["sequenceinput", "lstm", "out", "out"]


def test_a_recurrent_layer_after_output_mode_last():
    layers = [ll.sequence_input_layer(12), ll.lstm_layer(10, output_mode="last"), ll.lstm_layer(4), ll.fully_connected_layer(3)]
    assert ll.analyze_network(layers).issues == [("error", "lstm_2", (
        "Network: layer 'lstm_2' needs sequences, but 'lstm_1' has output_mode='last' and hands on one vector per sequence; "
        "give 'lstm_1' output_mode='sequence'."))]


def test_warnings_become_issues():
    layers = [ll.sequence_input_layer(2), ll.lstm_layer(3, has_state_outputs=True)]
    assert ll.analyze_network(layers).issues == [("warning", "lstm", (
        "layer 'lstm' has has_state_outputs=True, but a chain hands on only its output; its final states are dropped."))]


def test_with_data_padding_and_memory_per_mini_batch():
    X = [np.zeros((n, 12)) for n in (5, 9, 20, 7)]
    analysis = ll.analyze_network(LESSONS["04 Japanese Vowels"](), X, mini_batch_size=2)
    batches = analysis.batches
    assert batches[["sequences", "time_steps", "padded_steps"]].values.tolist() == [[2, 9, 4], [2, 20, 13]]
    # the trace: 24 bytes per unit, step and sequence for one LSTM direction
    assert batches["trace_MB"].tolist() == pytest.approx([24 * 100 * 2 * 9 / 1e6, 24 * 100 * 2 * 20 / 1e6])
    assert (batches["training_MB"] > batches["trace_MB"]).all()
    assert "Mini-batches" in repr(analysis)


def test_padding_that_reaches_an_output_mode_last_output_is_a_warning():
    X = [np.zeros((n, 12)) for n in (5, 9, 20, 7)]
    issues = ll.analyze_network(LESSONS["04 Japanese Vowels"](), X, mini_batch_size=2).issues
    assert len(issues) == 1 and issues[0][:2] == ("warning", "lstm")
    assert re.match(
        r"padding reaches the output of 'lstm' \(output_mode='last'\): .* 17 of the 58 steps are padding, .*"
        r"sequence_padding_direction='left'.*freeze_padding=True.*ll.sort_by_length",
        issues[0][2],
    )
    net = ll.Network(LESSONS["04 Japanese Vowels"]())
    for options in ({"sequence_padding_direction": "left"}, {"freeze_padding": True}):
        assert ll.analyze_network(net, X, mini_batch_size=2, **options).issues == []
        net.sequence_options.update(options)  # as a network trained with them
        assert ll.analyze_network(net, X, mini_batch_size=2).issues == []
        assert len(ll.analyze_network(net, X, mini_batch_size=2, sequence_padding_direction="right", freeze_padding=False).issues) == 1
    assert ll.analyze_network(LESSONS["04 Japanese Vowels"](), [np.zeros((6, 12))] * 3).issues == []  # equal lengths: no padding
    assert ll.analyze_network(LESSONS["06 forecasting"](), [np.zeros((n, 3)) for n in (4, 8)]).issues == []  # outputs sequences


def test_data_the_network_refuses():
    analysis = ll.analyze_network(LESSONS["06 forecasting"](), [np.zeros((4, 5))])
    assert analysis.issues == [("error", "sequenceinput", "analyze_network: X has 5 channels; the network expects 3 (input_size=3).")]


def test_refuses_what_is_not_a_layer():
    with pytest.raises(TypeError, match=r"analyze_network: net_or_layers\[1\] is a str; expected an ll.Network or lstmlab layers"):
        ll.analyze_network([ll.sequence_input_layer(2), "lstm"])


@pytest.mark.parametrize("over_time", [lambda: ll.max_pooling1d_layer(2), lambda: ll.convolution1d_layer(3, 4), ll.global_max_pooling1d_layer])
def test_a_layer_over_time_after_output_mode_last(over_time):
    layer = over_time()
    [issue] = ll.analyze_network([ll.sequence_input_layer(3), ll.lstm_layer(4, output_mode="last"), layer, ll.fully_connected_layer(2)]).issues
    assert issue == ("error", layer.kind, (
        f"{layer.kind!r} works over time, but 'lstm' hands on one vector per sequence; give 'lstm' output_mode='sequence', "
        f"or remove {layer.kind!r}."))
    assert ll.analyze_network([ll.sequence_input_layer(3), ll.lstm_layer(4, output_mode="last"), ll.batch_normalization_layer()]).issues == []
    assert ll.analyze_network([ll.sequence_input_layer(3), ll.global_average_pooling1d_layer(), ll.max_pooling1d_layer(2)]).issues == [
        ("error", "maxpool1d", "'maxpool1d' works over time, but 'gavgpool1d' hands on one vector per sequence; move 'maxpool1d' "
                               "before 'gavgpool1d', or remove 'maxpool1d'.")]


def test_the_layers_registered_over_time_are_those_that_fail_on_one_vector_per_sequence():
    """REGISTRY's over_time column, which analyze_network reads, against running: after an LSTM that hands on
    one vector per sequence, ll.Network lets these layers pass and ll.predict fails."""
    X = np.random.default_rng(0).normal(size=(2, 6, 3))
    fail = set()
    for row in REGISTRY:
        try:
            net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4, output_mode="last"), row.cls(**row.example)])
        except ValueError:
            continue  # refused already by the network (recurrent layers, image frames, token ids)
        try:
            ll.predict(net, X)
        except ValueError as error:
            assert "expects input of shape (batch, time, channels)" in str(error)
            fail.add(row.cls)
    assert fail == {row.cls for row in REGISTRY if row.over_time}
