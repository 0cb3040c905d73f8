import numpy as np
import pandas as pd
import pytest

import lstmlab as ll
from lstmlab.viz import (
    ablation_chart,
    compare_runs,
    confusion_chart,
    frames,
    gate_health,
    gate_heatmap,
    gate_heatmaps,
    prediction_change,
    state_lines,
    training_progress,
)


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
    assert list(heat.x) == [1, 2, 3, 4, 5, 6], "the axis counts steps from 1, as the lessons do"
    assert (fig.layout.shapes[0].x0, fig.layout.shapes[0].x1) == (4.5, 6.5), "padding beyond the real length (steps 5, 6) is shaded"
    assert "o = %{z:.4f}" in heat.hovertemplate


def test_gate_heatmap_names_steps_with_labels(recorded):
    fig = gate_heatmap(recorded, "bilstm", "h", sequence=0, direction="forward", step_labels=["a", "b", "c", "d"])
    assert list(fig.layout.xaxis.ticktext) == ["a", "b", "c", "d", "(padding)", "(padding)"]
    assert list(fig.layout.xaxis.tickvals) == [1, 2, 3, 4, 5, 6]
    assert list(fig.data[0].customdata[0]) == ["a", "b", "c", "d", "(padding)", "(padding)"]
    with pytest.raises(ValueError, match=r"step_labels has 3 entries but the sequence has 4 steps; give one per step"):
        gate_heatmap(recorded, "bilstm", "h", sequence=0, step_labels=["a", "b", "c"])


def test_frames_draws_each_frame_on_one_colour_scale():
    video = np.zeros((3, 4, 5, 2), dtype=np.float32)
    video[1, 2, 3, 1] = 7.0
    fig = frames(video, channel=1)
    assert len(fig.data) == 3 and fig.layout.title.text == "3 frames of 4x5 pixels, channel 1"
    assert fig.layout.annotations[0].text == "t = 1" and fig.data[0].hovertemplate.startswith("frame 1<br>")  # counted from 1
    np.testing.assert_array_equal(np.asarray(fig.data[1].z), video[1, :, :, 1])
    assert {(d.zmin, d.zmax) for d in fig.data} == {(0.0, 7.0)}
    assert "value %{z:.3f}" in fig.data[0].hovertemplate
    with pytest.raises(ValueError, match=r"frames: channel must be in 0..1; got 2"):
        frames(video, channel=2)
    with pytest.raises(ValueError, match=r"frames: video must be one image sequence \(T, H, W, C\); got shape \(4, 5, 2\)"):
        frames(video[0])


def test_gate_heatmap_errors_list_the_choices(recorded):
    with pytest.raises(ValueError, match=r"gate must be one of 'i', 'f', 'g', 'o', 'c', 'h'; got 'q'"):
        gate_heatmap(recorded, "bilstm", "q")
    with pytest.raises(ValueError, match=r"sequence must be in 0..1; got 5"):
        gate_heatmap(recorded, "bilstm", "f", sequence=5)
    with pytest.raises(ValueError, match=r"layer must be one of 'bilstm'; got 'lstm'"):
        gate_heatmap(recorded, "lstm", "f")
    with pytest.raises(ValueError, match=r"direction must be one of 'forward', 'backward'; got 'up'"):
        gate_heatmap(recorded, "bilstm", "f", direction="up")


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


def test_gate_heatmaps_one_panel_per_quantity_on_shared_colour_bars(recorded):
    fig = gate_heatmaps(recorded, "bilstm", sequence=1)
    assert [a.text for a in fig.layout.annotations] == ["input gate i", "forget gate f", "cell candidate g", "output gate o", "cell state c", "hidden state h"]
    assert [t.coloraxis for t in fig.data] == ["coloraxis", "coloraxis", "coloraxis2", "coloraxis", "coloraxis2", "coloraxis2"]
    np.testing.assert_array_equal(np.asarray(fig.data[4].z), recorded["bilstm"].forward.c[1].T)
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0, 1)


def test_state_lines_follow_chosen_units(recorded):
    fig = state_lines(recorded, "bilstm", units=[2, 0], sequence=1)
    assert [t.name for t in fig.data] == ["unit 2", "unit 0", "unit 2", "unit 0"]
    np.testing.assert_array_equal(fig.data[1].y, recorded["bilstm"].forward.c[1, :, 0])
    with pytest.raises(ValueError, match=r"units must be one of 0, 1, 2; got 7"):
        state_lines(recorded, "bilstm", units=[7])


def test_gate_health_counts_saturated_values_on_real_steps(recorded):
    fig = gate_health(recorded, threshold=0.5)
    rec = recorded["bilstm"]
    closed = np.mean(rec.forward.i[rec.mask] < 0.5)
    assert fig.data[0].y[0] == pytest.approx(closed)
    assert list(fig.data[0].x[1][:3]) == ["i", "f", "o"]


def test_step_inspector_numbers_match_the_reference_and_the_trace(rng):
    from lstmlab import reference as ref
    from lstmlab.viz import step_inspector
    from lstmlab.viz.inspector import step_numbers

    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4, cell_state=[0.5, -0.5, 1.0, 0.0]), ll.bilstm_layer(2)])
    X = [rng.normal(size=(5, 3))]
    lstm = net["lstm"]
    W, R, b = (p.detach().double().numpy() for p in lstm.direction_parameters(0))
    x32 = X[0].astype(np.float32).astype(float)  # what the float32 network reads
    seq = ref.lstm_sequence(x32, W, R, b, c0=lstm.initial_cell_state.double().numpy())
    n = step_numbers(net, X, "lstm", step=0, unit=2)
    assert n["c_prev"] == 1.0  # the first step starts from the given cell state
    assert n["f"]["Wx"] == pytest.approx(W[4 + 2] @ x32[0], abs=1e-12) and n["f"]["b"] == 1.0
    for q in "ifgo":
        assert n[q]["value"] == pytest.approx(getattr(seq, q)[0, 2], abs=1e-12)
        assert n[q]["value"] == pytest.approx(n["recorded"][q], abs=1e-6)
    assert n["c"] == pytest.approx(seq.c[0, 2], abs=1e-12) and n["h"] == pytest.approx(seq.h[0, 2], abs=1e-12)
    back = step_numbers(net, X, "bilstm", step=4, unit=1, direction="backward")  # the backward pass starts here
    assert back["h_prev"] == 0.0 and back["h"] == pytest.approx(back["recorded"]["h"], abs=1e-6)
    fig = step_inspector(net, X, "lstm", step=3, unit=1)
    cells = fig.data[0].cells.values
    assert cells[0][0].startswith("i = sigmoid(W_i·x_t") and cells[5][-1] == cells[6][-1]  # h_t as computed and as recorded
    assert "sequence 0, step 4, unit 1" in fig.layout.title.text  # index 3 is step 4: titles count from 1
    with pytest.raises(ValueError, match=r"step must be in 0..4 \(layer 'lstm' reads 5 steps\); got 9"):
        step_inspector(net, X, "lstm", step=9)
    with pytest.raises(ValueError, match=r"layer must be one of 'lstm', 'bilstm'; got 'fc'"):
        step_inspector(net, X, "fc")


def test_step_inspector_reads_as_the_trace_does_on_a_network_trained_with_left_padding(rng):
    from lstmlab.viz.inspector import step_numbers

    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4), ll.bilstm_layer(2)])
    net.sequence_options.update(sequence_padding_direction="left", sequence_padding_value=-3.0)  # as trained with them
    X = [rng.normal(size=(3, 3)), rng.normal(size=(6, 3))]
    for direction, step in (("forward", 2), ("backward", 2), ("backward", 0)):
        n = step_numbers(net, X, "bilstm", sequence=0, step=step, unit=1, direction=direction)
        for q in "ifgo":
            assert n[q]["value"] == pytest.approx(n["recorded"][q], abs=1e-6), (direction, step, q)
        assert n["h"] == pytest.approx(n["recorded"]["h"], abs=1e-6)


def steps_of(lengths):
    return [np.ones((n, 1)) for n in lengths]


@pytest.mark.parametrize(
    "options, padded, discarded",
    [({}, 7, 0), ({"sequence_length": "shortest"}, 0, 7), ({"sequence_length": 3}, 15, 0), ({"sort_by_length": True}, 2, 0)],
)
def test_padding_chart_totals(options, padded, discarded):
    from lstmlab.viz import padding_chart

    X = steps_of((3, 5, 2, 7, 4))
    fig = padding_chart(X, mini_batch_size=2, **options)
    assert f": {padded} padded steps" in fig.layout.title.text and f", {discarded} discarded" in fig.layout.title.text
    summary = ll.batch_summary(X, mini_batch_size=2, **options)
    assert (summary.padded_steps.sum(), summary.discarded_steps.sum()) == (padded, discarded)
    real = next(t for t in fig.data if t.name == "real")
    assert sum(real.x) == sum(len(x) for x in X) - discarded


def test_padding_chart_draws_left_padding_before_the_real_steps():
    from lstmlab.viz import padding_chart

    fig = padding_chart(steps_of((2, 5)), mini_batch_size=2, sequence_padding_direction="left")
    real, padding = fig.data
    assert list(real.base) == [3.5, 0.5] and list(padding.base) == [0.5] and list(padding.x) == [3]  # steps counted from 1
    assert [list(c) for c in real.customdata] == [[0, 4, 5], [1, 1, 5]]  # hover: steps 4 to 5, and 1 to 5


def test_sequence_lengths_and_normalization_histograms(rng):
    from lstmlab.viz import normalization_histograms, sequence_lengths

    fig = sequence_lengths(steps_of((3, 1, 2)), sort=True)
    assert list(fig.data[0].y) == [1, 2, 3] and list(fig.data[0].customdata) == [1, 2, 0]
    X = [rng.normal(loc=5, size=(n, 2)) for n in (4, 6)]
    fig = normalization_histograms(X, "zscore")
    after = np.asarray(fig.data[1].x)
    assert len(after) == 10 and abs(after.mean()) < 1e-9 and after.std() == pytest.approx(1)


def test_bilstm_flow_marks_what_last_hands_on(recorded):
    from lstmlab.viz import bilstm_flow

    fig = bilstm_flow(recorded, "bilstm", sequence=0, unit=1)
    rec = recorded["bilstm"]
    last = fig.data[2]
    assert list(fig.data[0].x) == [1, 2, 3, 4, 5, 6]  # steps counted from 1
    assert list(last.x) == [4, 4] and list(last.y) == [rec.forward.h[0, 3, 1], rec.backward.h[0, 3, 1]]
    assert list(fig.data[3].x) == [1] and fig.data[3].y[0] == rec.backward.h[0, 0, 1]
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)])
    with pytest.raises(ValueError, match="is a one-way lstm layer; choose a bilstm layer"):
        bilstm_flow(ll.trace(net, [np.ones((3, 2))]), "lstm")


def test_hidden_state_pca_projects_real_steps(recorded):
    from lstmlab.viz import hidden_state_pca

    fig = hidden_state_pca(recorded, "bilstm", labels=["a", "b"])
    points = [t for t in fig.data if t.mode == "markers"]
    assert [t.name for t in points] == ["class a", "class b"] and sum(len(t.x) for t in points) == 4 + 6
    assert "principal component 1" in fig.layout.xaxis.title.text
    by_time = hidden_state_pca(recorded, "bilstm", color="time").data[-1]
    assert len(by_time.x) == 10 and min(by_time.marker.color) == 1 and max(by_time.marker.color) == 6  # steps from 1
    with pytest.raises(ValueError, match="color='class' needs labels"):
        hidden_state_pca(recorded, "bilstm")


def test_confusion_chart_names_unknown_labels():
    with pytest.raises(ValueError, match=r"labels \['c'\] are not among class_names \['a', 'b'\]"):
        confusion_chart(["a", "c"], ["a", "b"], ["a", "b"])


def test_ablation_chart_ranks_the_costliest_units_first():
    frame = pd.DataFrame({"layer": "lstm", "direction": ["forward", "backward", "forward"], "unit": [3, 0, 7],
                          "loss": [1.0, 2.0, 3.0], "loss_change": [0.1, 0.5, -0.2], "accuracy_change": [-0.3, 0.0, -0.1]})
    fig = ablation_chart(frame, top=2)
    assert list(fig.data[0].y) == ["lstm (backward), unit 0", "lstm (forward), unit 3"]
    assert list(fig.data[0].x) == [0.5, 0.1] and fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.title.text == "Silencing each unit (zero ablation): the 2 that cost most, by loss change"
    assert list(ablation_chart(frame, metric="accuracy_change").data[0].x) == [-0.3, -0.1, 0.0]  # the largest drop first
    with pytest.raises(ValueError, match=r"ablation_chart: metric must be one of 'loss_change', 'accuracy_change'; got 'loss'"):
        ablation_chart(frame, metric="loss")


def test_compare_runs_draws_one_line_per_run_and_quantity(rng):
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)])
    X = rng.normal(size=(2, 5, 2))
    runs = {"clean": ll.trace(net, X), "f = 1": ll.trace(net, X, interventions=[ll.Intervention("lstm", "f", units=2, set=1.0)])}
    fig = compare_runs(runs, "lstm", unit=2, sequence=1, quantities=["f", "c"])
    assert [d.name for d in fig.data] == ["clean", "clean", "f = 1", "f = 1"]
    np.testing.assert_array_equal(fig.data[3].y, runs["f = 1"]["lstm"].c[1, :, 2])
    assert list(fig.data[2].y) == [1.0] * 5 and fig.data[2].line.dash == "dash"
    assert fig.layout.title.text == "Layer 'lstm', unit 2, sequence 1: clean vs f = 1"
    assert list(fig.data[0].x) == [1, 2, 3, 4, 5]  # steps counted from 1
    late = {"clean": runs["clean"], "from index 3": ll.trace(net, X, interventions=[ll.Intervention("lstm", "f", units=2, steps=slice(3, None), set=1.0)])}
    split = compare_runs(late, "lstm", unit=2, sequence=1, quantities=["f"])
    x, clean, changed = np.asarray(split.data[0].x), np.asarray(split.data[0].y), np.asarray(split.data[1].y)
    assert x[clean != changed].min() == 4  # steps=slice(3, None) acts from index 3: the runs part at step 4
    with pytest.raises(ValueError, match=r"compare_runs: unit must be one of 0, 1, 2; got 5"):
        compare_runs(runs, "lstm", unit=5)


def test_prediction_change_as_bars_or_lines():
    bars = prediction_change([0.7, 0.3], [0.2, 0.8], class_names=["a", "b"])
    assert [d.name for d in bars.data] == ["clean", "intervened"] and list(bars.data[1].y) == [0.2, 0.8]
    assert bars.layout.title.text == "Prediction: clean a, intervened b"
    lines = prediction_change(np.ones((4, 3)) / 3, np.eye(4, 3), labels=("clean", "patched"))
    assert len(lines.data) == 6 and lines.data[1].name == "output 0 (patched)" and list(lines.data[1].y) == [1, 0, 0, 0]
    assert list(lines.data[1].x) == [1, 2, 3, 4]  # steps counted from 1
    with pytest.raises(ValueError, match=r"prediction_change: clean and changed must be one sequence's outputs of the same shape"):
        prediction_change(np.ones(3), np.ones(4))
