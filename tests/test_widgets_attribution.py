"""widgets.attribution_explorer: moving a control redraws the attribution of what it picks."""

import numpy as np
import pytest

import lstmlab as ll
from lstmlab.widgets import attribution_explorer


def test_attribution_explorer_redraws_when_moved(rng):
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4), ll.gru_layer(3, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    net.class_names = ["cat", "dog"]
    X = [rng.normal(size=(T, 3)).astype(np.float32) for T in (5, 8)]
    app = attribution_explorer(net, X, steps=8)
    assert list(app.controls) == ["sequence", "method", "target"] and list(app.figures) == ["heatmap", "steps"]
    assert "grad-cam" in app.controls["method"].options and app.controls["target"].options == ("predicted class", "cat", "dog")
    app.controls["sequence"].value = 1
    app.controls["method"].value = "gradient"
    app.controls["target"].value = "dog"
    expected = ll.attribute(net, X[1], method="gradient", target="dog")
    np.testing.assert_allclose(np.asarray(app.figure.data[1].z), expected.values.T, rtol=1e-6)
    np.testing.assert_allclose(app.figures["steps"].data[0].y, expected.by_step, rtol=1e-6)
    assert list(app.figures["steps"].data[0].x) == list(range(1, 9)) and "class 'dog'" in app.figure.layout.title.text
    app.controls["method"].value = "grad-cam"
    assert np.asarray(app.figure.data[1].z).shape == (1, 8)


def test_attribution_explorer_wants_a_network():
    with pytest.raises(TypeError, match="net must be an ll.Network"):
        attribution_explorer("net", [np.zeros((3, 2))])


def test_attribution_explorer_offers_contextual_decomposition_for_lstm_networks(rng):
    net = ll.Network([ll.sequence_input_layer(3), ll.bilstm_layer(4, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    X = [rng.normal(size=(6, 3)).astype(np.float32)]
    app = attribution_explorer(net, X)
    assert "contextual-decomposition" in app.controls["method"].options and "grad-cam" not in app.controls["method"].options
    app.controls["method"].value = "contextual-decomposition"
    app.controls["target"].value = 1
    expected = ll.attribute(net, X[0], method="contextual-decomposition", target=1)
    np.testing.assert_allclose(app.figures["steps"].data[0].y, expected.by_step, rtol=1e-6)
