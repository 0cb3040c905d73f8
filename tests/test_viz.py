import numpy as np
import pandas as pd
import pytest

import lstmlab as ll
from lstmlab.viz import confusion_chart, gate_heatmap, training_progress


@pytest.fixture
def recorded(rng):
    net = ll.Network([ll.sequence_input_layer(2), ll.bilstm_layer(3)])
    return ll.trace(net, [rng.normal(size=(4, 2)), rng.normal(size=(6, 2))])


def test_gate_heatmap_shows_the_recorded_numbers(recorded):
    fig = gate_heatmap(recorded, "bilstm", "o", sequence=0, direction="backward")
    heat = fig.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z), recorded["bilstm"].backward.o[0].T)
    assert (heat.zmin, heat.zmax, heat.colorscale[0][1]) == (0.0, 1.0, "rgb(247,251,255)")
    assert fig.layout.xaxis.title.text == "time step" and fig.layout.yaxis.title.text == "hidden unit"
    assert fig.layout.title.text == "output gate o of layer 'bilstm' (backward), sequence 0 (4 steps)"
    assert fig.layout.shapes[0].x0 == 3.5, "padding beyond the real length is shaded"
    assert "o = %{z:.4f}" in heat.hovertemplate


def test_gate_heatmap_errors_list_the_choices(recorded):
    with pytest.raises(ValueError, match=r"gate must be one of i, f, g, o, c, h for layer 'bilstm'; got 'q'"):
        gate_heatmap(recorded, "bilstm", "q")
    with pytest.raises(ValueError, match=r"sequence must be in 0..1; got 5"):
        gate_heatmap(recorded, "bilstm", "f", sequence=5)
    with pytest.raises(KeyError, match="it recorded bilstm"):
        gate_heatmap(recorded, "lstm", "f")


def test_confusion_chart_counts():
    fig = confusion_chart(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    np.testing.assert_array_equal(np.asarray(fig.data[0].text), [[1, 1], [0, 2]])
    np.testing.assert_allclose(np.asarray(fig.data[0].z), [[0.5, 0.5], [0, 1]])
    assert fig.layout.title.text == "Confusion chart: accuracy 75.00% (3 of 4)"


def test_training_progress_has_a_panel_per_metric():
    history = pd.DataFrame({"epoch": [1, 1, 2], "iteration": [1, 2, 3], "loss": [1.0, 0.8, 0.5], "accuracy": [0.5, 0.6, 0.9],
                            "validation_loss": [np.nan, 0.9, np.nan], "validation_accuracy": [np.nan, 0.55, np.nan], "learn_rate": 0.01, "seconds": [0.1, 0.2, 0.3]})
    fig = training_progress(history)
    assert [t.name for t in fig.data] == ["training", "validation", "training", "validation"]
    assert list(fig.data[1].y) == [0.9]
    assert fig.layout.xaxis2.title.text == "iteration" and fig.layout.yaxis.title.text == "loss"
