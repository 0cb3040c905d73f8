"""The designer driven through its controls, as a reader would click it."""

import numpy as np
import pandas as pd
import pytest
import torch

import lstmlab as ll
from lstmlab.layers import REGISTRY
from lstmlab.widgets import designer

EVERY_KIND = {  # networks that hold every layer kind, each with options away from the defaults
    "vectors": lambda: [
        ll.sequence_input_layer(12, normalization="zscore", min_length=4), ll.convolution1d_layer(3, 8, stride=2, padding="same"),
        ll.batch_normalization_layer(epsilon=1e-3), ll.relu_layer(), ll.max_pooling1d_layer(2, stride=1, padding=(1, 0)),
        ll.average_pooling1d_layer(2, padding="same", padding_value="mean"), ll.bilstm_layer(6, state_activation_function="softsign"),
        ll.gru_layer(5, reset_gate_mode="before-multiplication"), ll.lstm_layer(4, output_mode="last", gate_activation_function="hard-sigmoid"),
        ll.dropout_layer(0.2), ll.fully_connected_layer(3, name="scores"), ll.sigmoid_layer(),
    ],
    "pooled": lambda: [ll.sequence_input_layer(2), ll.lstm_layer(3), ll.global_max_pooling1d_layer(), ll.fully_connected_layer(2), ll.softmax_layer()],
    "averaged": lambda: [ll.sequence_input_layer(2), ll.gru_layer(3, direction="reverse"), ll.rnn_layer(4, activation="relu"), ll.global_average_pooling1d_layer()],
    "both-ways": lambda: [ll.sequence_input_layer(2), ll.bigru_layer(3, reset_gate_mode="recurrent-bias-after-multiplication"),
                          ll.birnn_layer(4, activation="relu", output_mode="last")],
    "video": lambda: [ll.sequence_input_layer((8, 8, 1)), ll.sequence_folding_layer(), ll.convolution2d_layer((3, 2), 4, padding="same"),
                      ll.sequence_unfolding_layer(), ll.flatten_layer(), ll.lstm_layer(3, output_mode="last")],
    "text": lambda: [ll.sequence_input_layer(1), ll.word_embedding_layer(5, 30, first_id=0), ll.lstm_layer(4)],
    "projected": lambda: [ll.sequence_input_layer(12), ll.lstm_projected_layer(10, 4, 3, output_mode="last", input_projector_learn_rate_factor=0.5),
                          ll.fully_connected_layer(2)],
}


def test_every_layer_kind_is_in_the_palette_and_in_a_round_trip():
    kinds = {type(layer).__name__ for build in EVERY_KIND.values() for layer in build()}
    assert len(kinds) == len(REGISTRY) == len(designer().controls["palette"].options)


@pytest.mark.parametrize("network", EVERY_KIND)
def test_the_code_builds_the_same_network(network):
    net = ll.Network(EVERY_KIND[network]())
    app = designer(net)
    scope = {}
    exec(app.code, scope)
    pd.testing.assert_frame_equal(scope["net"].summary(), net.summary())
    pd.testing.assert_frame_equal(app.network.summary(), net.summary())


def test_the_default_is_japanese_vowels_and_its_code():
    app = designer()
    assert app.code == (
        "import lstmlab as ll\n\nnet = ll.Network([\n    ll.sequence_input_layer(12),\n    ll.lstm_layer(100, output_mode='last'),\n"
        "    ll.fully_connected_layer(9),\n    ll.softmax_layer(),\n])\n"
    )
    assert app.analysis.issues == [] and app.analysis.total == 46109
    assert list(app.controls) == ["layer", "palette", "add", "remove", "up", "down",
                                  "option:input_size", "option:normalization", "option:min_length", "option:name"]


def test_add_move_remove_and_the_diagram_follows():
    app = designer()
    app.controls["layer"].value = 1
    assert app.figure.data[0].marker.color[1] == "#ffb300"  # the selected layer
    app.controls["palette"].value = "dropout_layer"
    app.controls["add"].click()
    assert [layer.kind for layer in app.layers] == ["sequenceinput", "lstm", "dropout", "fc", "softmax"]
    assert app.controls["layer"].value == 2 and len(app.figure.data[0].y) == 5
    app.controls["up"].click()
    assert [layer.kind for layer in app.layers] == ["sequenceinput", "dropout", "lstm", "fc", "softmax"]
    app.controls["down"].click()
    app.controls["remove"].click()
    assert [layer.kind for layer in app.layers] == ["sequenceinput", "lstm", "fc", "softmax"]
    assert app.network is not None and len(app.network.layers) == 4


def test_an_option_with_its_default_and_a_refused_value():
    app = designer()
    app.controls["layer"].value = 1
    assert list(app.controls)[6:] == ["option:num_hidden_units", "option:output_mode", "option:state_activation_function",
                                      "option:gate_activation_function", "option:name"]
    app.controls["option:num_hidden_units"].value = "-3"
    assert "refused: lstm_layer: num_hidden_units must be a positive integer; got -3." in app.message.value
    assert app.refused == "lstm_layer: num_hidden_units must be a positive integer; got -3."
    assert app.layers[1].num_hidden_units == 100 and app.controls["option:num_hidden_units"].value == "100"
    app.controls["option:num_hidden_units"].value = "20"
    assert app.message.value == app.refused == "" and app.network["fc"].input_size == 20  # the fc layer is made again for 20 inputs
    assert "ll.lstm_layer(20, output_mode='last')" in app.code


def test_the_analysis_reports_a_mistake_and_the_fix_clears_it():
    app = designer()
    app.controls["layer"].value = 1
    app.controls["option:output_mode"].value = "sequence"
    assert app.analysis.issues == []  # without targets a sequence output is legal
    app.controls["palette"].value = "lstm_layer"
    app.controls["option:output_mode"].value = "last"
    app.controls["add"].click()  # an LSTM after output_mode="last"
    assert app.network is None
    assert app.analysis.errors == [("error", "lstm_1", (
        "Network: layer 'lstm_1' needs sequences, but 'lstm' has output_mode='last' and hands on one vector per sequence; "
        "give 'lstm' output_mode='sequence'."))]
    assert "needs sequences" in app.report.value and app.figure.data[0].marker.color[2] == "#c62828"
    app.controls["remove"].click()
    assert app.analysis.issues == [] and app.network is not None


def test_a_trained_network_keeps_the_weights_of_the_layers_not_edited(rng):
    X = [rng.normal(size=(6, 3)).astype("float32") for _ in range(8)]
    net = ll.trainnet(X, [0, 1] * 4, [ll.sequence_input_layer(3), ll.lstm_layer(4, output_mode="last"), ll.dropout_layer(),
                                      ll.fully_connected_layer(2), ll.softmax_layer()], "crossentropy",
                      ll.training_options("adam", max_epochs=2, verbose=False))
    app = designer(net)
    statistics = app.report.value
    assert "<b>Weights</b>" in statistics and f"{net['fc'].bias.mean().item():.4g}" in statistics
    app.controls["layer"].value = 2
    app.controls["option:p"].value = "0.1"
    assert app.network["dropout"].p == 0.1
    for name in ("lstm", "fc"):
        for (_, a), (_, b) in zip(app.network[name].named_parameters(), net[name].named_parameters()):
            torch.testing.assert_close(a, b)
    assert app.network["lstm"] is not net["lstm"]  # a copy: the designer leaves the given network alone
    np.testing.assert_allclose(ll.predict(app.network, X), ll.predict(net, X), atol=1e-6)


def test_refuses_what_is_not_a_network():
    with pytest.raises(TypeError, match="designer: net must be an ll.Network, a list of lstmlab layers or None; got str"):
        designer("lstm")


def test_targets_and_a_loss_make_the_analysis_check_the_output(rng):
    X = [rng.normal(size=(T, 12)) for T in (4, 7, 5)]
    app = designer([ll.sequence_input_layer(12), ll.lstm_layer(10), ll.fully_connected_layer(2)], X, ["a", "b", "a"],
                   loss="crossentropy", mini_batch_size=2)
    assert [layer for _, layer, _ in app.analysis.errors] == ["fc", "lstm"]
    assert app.analysis.batches["padded_steps"].tolist() == [3, 0]
    app.controls["layer"].value = 1
    app.controls["option:output_mode"].value = "last"
    app.controls["layer"].value = 2
    app.controls["palette"].value = "softmax_layer"
    app.controls["add"].click()
    (severity, layer, message), = app.analysis.issues  # no error left; right padding reaches the 'last' output
    assert (severity, layer) == ("warning", "lstm") and "padding reaches the output of 'lstm' (output_mode='last')" in message
