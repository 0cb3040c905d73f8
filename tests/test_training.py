import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import lstmlab as ll

from helpers import naming


def drift_data(n=60, T=20, seed=0):
    """Class 'up' when channel 0 drifts upward overall, 'down' otherwise."""
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(t), 2)).astype("float32") for t in rng.integers(T // 2, T, size=n)]
    y = np.array(["up" if x[:, 0].sum() > 0 else "down" for x in X])
    return X, y


def classifier(hidden=16):
    torch.manual_seed(0)
    return ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(hidden, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])


def quick(**options):
    return ll.training_options("adam", **{"max_epochs": 15, "mini_batch_size": 20, "initial_learn_rate": 0.02, "verbose": False, "seed": 0, **options})


def test_a_small_classifier_learns_and_keeps_its_history():
    X, y = drift_data()
    net = ll.trainnet(X, y, classifier(), "crossentropy", quick(metrics="accuracy"))
    history = net.training_history_
    assert list(history.columns) == ["epoch", "iteration", "loss", "accuracy", "learn_rate", "seconds"]
    assert len(history) == 15 * 3 and history.epoch.max() == 15
    assert history.loss.iloc[-5:].mean() < history.loss.iloc[:5].mean() / 2
    assert net.class_names == ["down", "up"] and not net.training
    labels = ll.classify(net, X)
    assert labels.dtype.kind == "U" and (labels == y).mean() >= 0.9


def test_labels_come_back_in_their_own_type():
    X, y = drift_data()
    net = ll.trainnet(X, pd.Categorical(y), classifier(), "crossentropy", quick(max_epochs=1))
    assert isinstance(ll.classify(net, X[:3]), pd.Categorical)
    net = ll.trainnet(X, (y == "up").astype(int), classifier(), "crossentropy", quick(max_epochs=1))
    assert ll.classify(net, X[:3]).dtype.kind == "i" and net.class_names == [0, 1]


def test_the_same_seed_gives_the_same_run():
    X, y = drift_data()
    runs = [ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=3, shuffle="every-epoch")) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].training_history_.loss, runs[1].training_history_.loss)
    other = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=3, shuffle="every-epoch", seed=1))
    assert not np.array_equal(other.training_history_.loss, runs[0].training_history_.loss)


def test_validation_and_patience():
    X, y = drift_data()
    X_val, y_val = drift_data(seed=1)
    net = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=40, validation_data=(X_val, y_val), validation_frequency=3, validation_patience=2, metrics="accuracy"))
    history = net.training_history_
    assert len(history) < 40 * 3, "patience stops training"
    validated = history.dropna(subset=["validation_loss"])
    assert (validated.iteration % 3 == 0).all() and "validation_accuracy" in history
    best = validated.validation_loss.cummin()
    assert (validated.validation_loss.iloc[-2:] >= best.iloc[-3]).all()


def test_piecewise_schedule():
    X, y = drift_data()
    net = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=5, learn_rate_schedule="piecewise", learn_rate_drop_period=2, learn_rate_drop_factor=0.5))
    rates = net.training_history_.groupby("epoch").learn_rate.first().tolist()
    assert rates == pytest.approx([0.02, 0.02, 0.01, 0.01, 0.005])


def test_split_sequences_train_chunk_by_chunk():
    X, y = drift_data(n=20, T=30)
    net = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=2, sequence_length=8))
    longest = max(len(x) for x in X)
    assert len(net.training_history_) == 2 * -(-longest // 8)  # one mini-batch of 20, split into chunks


def test_frozen_padding_and_left_padding_train():
    X, y = drift_data()
    plain = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=2)).training_history_.loss
    for options in ({"freeze_padding": True}, {"sequence_padding_direction": "left"}):
        net = ll.trainnet(X, y, classifier(), "crossentropy", quick(**options))
        assert (ll.classify(net, X, **options) == y).mean() > 0.8
        changed = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=2, **options)).training_history_.loss
        assert not np.allclose(changed, plain), f"{options} changes what the network sees"


def test_regression_sequence_to_one_and_sequence_to_sequence():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(T, 1)).astype("float32") for T in rng.integers(5, 15, size=40)]
    sums = np.array([x.sum() for x in X])
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(8, output_mode="last"), ll.fully_connected_layer(1)])
    net = ll.trainnet(X, sums, net, "mse", quick(max_epochs=40, metrics="rmse"))
    assert net.training_history_.rmse.iloc[-1] < 0.5 * net.training_history_.rmse.iloc[0]
    running = [np.cumsum(x, axis=0) for x in X]
    net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(8), ll.fully_connected_layer(1)])
    net = ll.trainnet(X, running, net, "huber", quick(max_epochs=40))
    assert [p.shape for p in ll.predict(net, X[:2])] == [x.shape for x in X[:2]]
    assert net.training_history_.loss.iloc[-1] < net.training_history_.loss.iloc[0]


def test_sequence_to_sequence_classification():
    X, _ = drift_data(n=30)
    Y = [np.where(np.cumsum(x[:, 0]) > 0, "above", "below") for x in X]
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(16), ll.fully_connected_layer(2), ll.softmax_layer()])
    net = ll.trainnet(X, Y, net, "crossentropy", quick(max_epochs=30, metrics="accuracy"))
    labels = ll.classify(net, X)
    assert all(len(a) == len(b) for a, b in zip(labels, Y))
    assert np.mean(np.concatenate(labels) == np.concatenate(Y)) > 0.85


def test_input_statistics_come_from_the_training_data():
    X, y = drift_data()
    net = ll.Network([ll.sequence_input_layer(2, normalization="zscore"), ll.lstm_layer(4, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    net = ll.trainnet(X, y, net, "crossentropy", quick(max_epochs=1))
    np.testing.assert_allclose(net["sequenceinput"].mean.numpy(), np.concatenate(X).mean(0), rtol=1e-5)


def test_a_nan_loss_stops_training_with_the_iteration():
    X, y = drift_data()
    X[3][2, 0] = 1e38  # finite, but the loss overflows
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(4, output_mode="last", state_activation_function="relu"), ll.fully_connected_layer(1)])
    with pytest.raises(FloatingPointError, match=r"the loss became (nan|inf) at iteration \d+.*initial_learn_rate"):
        ll.trainnet(X, np.ones(len(X)), net, "mse", quick(shuffle="never"))


@pytest.mark.parametrize(
    "Y, net, loss, message",
    [
        (np.array(["up"] * 5), classifier(), "crossentropy", r"Y has 5 targets but X has 60 sequences"),
        (np.array(["a", "b", "c"] * 20), classifier(), "crossentropy", r"Y has 3 classes but the network outputs 2 values; make the last fully_connected_layer 3 wide"),
        (np.full(60, np.nan), ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3, output_mode="last"), ll.fully_connected_layer(1)]), "mse", r"Y has NaN or Inf; targets must be finite"),
        (np.zeros((60, 3)), ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3, output_mode="last"), ll.fully_connected_layer(1)]), "mse", r"Y has shape \(60, 3\) but the network outputs 1 values"),
        (np.array(["up"] * 60), ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3), ll.fully_connected_layer(1), ll.softmax_layer()]), "crossentropy", r"Y has one target per sequence, but the network outputs a sequence .* use output_mode='last'"),
        (np.array(["up"] * 60), classifier(), "hinge", r"loss must be one of 'crossentropy'"),
    ],
)
def test_bad_input(Y, net, loss, message):
    X, _ = drift_data()
    with pytest.raises(ValueError, match=message):
        ll.trainnet(X, Y, net, loss, quick(max_epochs=1))


def test_continuous_labels_are_refused_for_crossentropy_and_whole_floats_are_classes():
    X, y = drift_data()
    continuous = np.random.default_rng(0).normal(size=len(X))
    message = r"trainnet: Y holds continuous numbers \(float64 values such as -?\d\.\d+\), which loss 'crossentropy' would take as classes, one per distinct value. Give class labels \(integers, strings or a pandas Categorical\), or for regression use loss 'mse'"
    with pytest.raises(ValueError, match=message):
        ll.trainnet(X, continuous, classifier(), "crossentropy", quick(max_epochs=1))
    per_step = [np.full(len(x), 0.5) for x in X]
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3), ll.fully_connected_layer(2), ll.softmax_layer()])
    with pytest.raises(ValueError, match=r"trainnet: Y\[0\] holds continuous numbers \(float64 values such as 0.5\)"):
        ll.trainnet(X, per_step, net, "crossentropy", quick(max_epochs=1))
    whole = (y == "up").astype(float) + 1.0  # 1.0 and 2.0: classes, as MATLAB's double labels are
    with pytest.raises(ValueError, match=naming("trainnet (validation_data): Y", "float64 values such as 1.5")):
        ll.trainnet(X, whole, classifier(), "crossentropy", quick(max_epochs=1, validation_data=(X[:2], np.array([1.5, 2.0]))))
    net = ll.trainnet(X, whole, classifier(), "crossentropy", quick(max_epochs=1))
    assert net.class_names == [1.0, 2.0]
    net = ll.trainnet(X, continuous, ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3, output_mode="last"), ll.fully_connected_layer(1)]), "mse", quick(max_epochs=1))
    assert len(net.training_history_) == 3


def test_training_on_one_sequence_alone_asks_for_a_data_set_of_one():
    X, y = drift_data()
    message = r"trainnet: X is one sequence \(an array of shape \(18, 2\)\); training needs a data set with one target per sequence. To train on this sequence alone give a data set of one, \[X\]"
    with pytest.raises(ValueError, match=message):
        ll.trainnet(X[0], y[0], classifier(), "crossentropy", quick(max_epochs=1))
    with pytest.raises(ValueError, match=naming("trainnet (validation_data): X is one sequence", "X[..., None]")):
        ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=1, validation_data=(X[0], y[0])))
    net = ll.trainnet([X[0]], pd.Categorical([y[0]], categories=["down", "up"]), classifier(), "crossentropy", quick(max_epochs=1))  # a data set of one
    assert len(net.training_history_) == 1


def test_asking_for_a_missing_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    X, y = drift_data()
    with pytest.raises(ValueError, match=r"execution_environment='gpu', but torch sees no CUDA GPU"):
        ll.trainnet(X, y, classifier(), "crossentropy", quick(execution_environment="gpu"))


def test_options_must_come_from_training_options():
    X, y = drift_data()
    with pytest.raises(TypeError, match=r"options must come from ll.training_options\(...\); got dict"):
        ll.trainnet(X, y, classifier(), "crossentropy", {"max_epochs": 1})


# --- regressions found in review ------------------------------------------------------------------


def test_complex_inputs_with_normalization_train():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(6, 2)) + 1j * rng.normal(size=(6, 2)) for _ in range(12)]
    y = np.array(["a", "b"] * 6)
    net = ll.Network([ll.sequence_input_layer(2, normalization="zscore", split_complex_inputs=True), ll.lstm_layer(3, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    net = ll.trainnet(X, y, net, "crossentropy", quick(max_epochs=1))
    steps = np.concatenate([np.concatenate([x.real, x.imag], axis=1) for x in X])
    np.testing.assert_allclose(net["sequenceinput"].mean.numpy(), steps.mean(0), rtol=1e-6)


def test_seed_makes_a_run_from_layers_reproducible():
    X, y = drift_data()
    layers = lambda: [ll.sequence_input_layer(2), ll.lstm_layer(8, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()]  # noqa: E731
    torch.manual_seed(123)
    a = ll.trainnet(X, y, layers(), "crossentropy", quick(max_epochs=2))
    torch.manual_seed(456)
    b = ll.trainnet(X, y, layers(), "crossentropy", quick(max_epochs=2))
    np.testing.assert_array_equal(a.training_history_.loss, b.training_history_.loss)


def test_validation_carries_state_across_chunks_and_always_ends_validated():
    X, y = drift_data(n=30, T=30)
    options = quick(max_epochs=2, sequence_length=7, shuffle="every-epoch", validation_data=(X, y), validation_frequency=1000)
    net = ll.trainnet(X, y, classifier(), "crossentropy", options)
    last = net.training_history_.iloc[-1]
    assert not np.isnan(last.validation_loss), "the final network is always validated"
    scores = ll.predict(net, X, sequence_length=7, mini_batch_size=20)
    codes = np.searchsorted(net.class_names, y)
    expected = -np.mean(np.log(scores[np.arange(len(y)), codes]))
    assert last.validation_loss == pytest.approx(expected, rel=1e-4)


def test_validation_may_lack_a_class_and_metrics_get_probabilities():
    X, y = drift_data()
    seen = []

    def mean_probability_sum(outputs, targets):
        seen.append((outputs.sum(1), targets.dtype))
        return 0.0

    X_val, y_val = X[:5], np.array(["up"] * 5)
    ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=1, validation_data=(X_val, y_val), metrics=mean_probability_sum))
    np.testing.assert_allclose(seen[0][0], 1.0, rtol=1e-5)
    assert seen[0][1].kind == "i"
    with pytest.raises(ValueError, match=r"Y has labels \['left'\] that are not among the network's classes \['down', 'up'\]"):
        ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=1, validation_data=(X_val, np.array(["left"] * 5))))


def test_training_after_stateful_prediction_starts_from_the_initial_states():
    X, y = drift_data()
    net = classifier()
    ll.predict_and_update_state(net, X[:7])
    net = ll.trainnet(X, y, net, "crossentropy", quick(max_epochs=1))
    assert net.state["lstm"]["hidden"].shape == (16,)


def test_per_step_categoricals_keep_their_declared_classes():
    X, Y = ll.datasets.waveform_segments(4, seed=1)
    classes = sorted(set(Y[0].categories))
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4), ll.fully_connected_layer(len(classes)), ll.softmax_layer()])
    net = ll.trainnet(X, Y, net, "crossentropy", quick(max_epochs=1))
    assert net.class_names == classes


def test_a_column_of_labels_and_per_step_hints():
    X, y = drift_data()
    net = ll.trainnet(X, y[:, None], classifier(), "crossentropy", quick(max_epochs=1))
    assert net.class_names == ["down", "up"]
    seq = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3), ll.fully_connected_layer(2), ll.softmax_layer()])
    equal = [x[:5] for x in X]
    with pytest.raises(ValueError, match=r"If Y is an \(N, T\) array of per-step labels, pass list\(Y\)"):
        ll.trainnet(equal, np.array([["up"] * 5] * len(X)), seq, "crossentropy", quick(max_epochs=1))
    with pytest.raises(ValueError, match=r"For one response vector per sequence give an \(N, R\) array"):
        ll.trainnet(X, [np.ones(1)] * len(X), ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3), ll.fully_connected_layer(1)]), "mse", quick(max_epochs=1))


def test_sequence_to_sequence_targets_need_the_time_axis_kept():
    X = [np.zeros((6, 2), dtype="float32"), np.zeros((8, 2), dtype="float32")]
    Y = [np.zeros((6, 1)), np.zeros((8, 1))]
    layers = [ll.sequence_input_layer(2, min_length=2), ll.max_pooling1d_layer(2, stride=2), ll.fully_connected_layer(1)]
    with pytest.raises(ValueError, match=naming("trainnet:", "4 time steps for a mini-batch of 8")):
        ll.trainnet(X, Y, layers, "mse", quick(max_epochs=1))
    same = [ll.sequence_input_layer(2), ll.convolution1d_layer(3, 4, padding="causal"), ll.fully_connected_layer(1)]
    net = ll.trainnet(X, Y, same, "mse", quick(max_epochs=1))
    assert [p.shape for p in ll.predict(net, X)] == [(6, 1), (8, 1)]


def test_per_step_categoricals_keep_classes_that_never_occur():
    X, Y = ll.datasets.waveform_segments(2, seed=1)
    categories = ["Zigzag", *Y[0].categories]  # declared, never a target
    Y = [pd.Categorical(np.asarray(y), categories=categories) for y in Y]
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4), ll.fully_connected_layer(5), ll.softmax_layer()])
    net = ll.trainnet(X, Y, net, "crossentropy", quick(max_epochs=1))
    assert net.class_names == sorted(categories) and net.label_kind == "categorical"


def overfitting_run(tmp_path=None, **options):
    """A run whose validation loss is lowest at iteration 21 of 90, then rises."""
    X, y = drift_data(n=30, T=12)
    rng = np.random.default_rng(5)
    X_val = rng.normal(size=(20, 10, 2)).astype("float32")  # one length: predict needs no padding
    y_val = np.where(X_val[:, :, 0].sum(1) > 0, "up", "down")
    o = quick(max_epochs=30, mini_batch_size=10, initial_learn_rate=0.05, validation_data=(X_val, y_val), validation_frequency=3, **options)
    return ll.trainnet(X, y, classifier(), "crossentropy", o), X_val, y_val


def test_output_network_best_validation_loss_returns_the_best_validation_network(tmp_path):
    best, X_val, y_val = overfitting_run(output_network="best-validation-loss")
    history = best.training_history_
    lowest = history.validation_loss.idxmin()
    assert history.iteration[lowest] == 21 and history.validation_loss.iloc[-1] > 5 * history.validation_loss.min()
    p = ll.predict(best, X_val)
    loss = -np.log(p[np.arange(len(y_val)), (y_val == "up").astype(int)]).mean()
    assert loss == pytest.approx(history.validation_loss.min(), abs=1e-6)  # its own validation loss is the lowest

    last, _, _ = overfitting_run(checkpoint_path=tmp_path, checkpoint_frequency=21, checkpoint_frequency_unit="iteration")
    pd.testing.assert_frame_equal(last.training_history_.drop(columns="seconds"), history.drop(columns="seconds"))
    copy = ll.load_checkpoint(tmp_path / "checkpoint_epoch7_iteration21.npz")  # the weights at iteration 21
    for (name, a), (_, b) in zip(best.state_dict().items(), copy.state_dict().items()):
        assert torch.equal(a, b), name
    assert not torch.equal(last["lstm"].input_weights, best["lstm"].input_weights)  # "last-iteration" keeps the last


def test_best_validation_loss_needs_validation_data():
    with pytest.raises(ValueError, match=naming("output_network='best-validation-loss' needs validation_data", "validation_data=(X_val, Y_val)")):
        ll.training_options(output_network="best-validation-loss")
    with pytest.raises(ValueError, match=r"output_network must be one of 'last-iteration', 'best-validation-loss'; got 'best'"):
        ll.training_options(output_network="best")


def test_class_weights_weigh_the_loss_and_keep_the_classes():
    X, y = drift_data()
    y = np.where(y == "up", "up", np.where(np.arange(len(y)) % 2, "down", "flat"))  # three classes
    weights = {"down": 1.0, "flat": 3.0, "up": 0.5}
    net3 = lambda: ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(8, output_mode="last"), ll.fully_connected_layer(3), ll.softmax_layer()])  # noqa: E731
    o = dict(max_epochs=1, mini_batch_size=60, initial_learn_rate=1e-12, shuffle="never")
    torch.manual_seed(0)
    start = net3()
    scores = ll.predict(start, X)  # the probabilities before the one (tiny) step
    codes = np.searchsorted(["down", "flat", "up"], y)
    expected = torch.nn.functional.cross_entropy(torch.log(torch.as_tensor(scores, dtype=torch.float64)), torch.as_tensor(codes), weight=torch.tensor([1.0, 3.0, 0.5], dtype=torch.float64))
    for given in (weights, [1, 3, 0.5], {"flat": 3.0, "up": 0.5}):  # classes left out of a dict weigh 1
        torch.manual_seed(0)
        net = ll.trainnet(X, y, net3(), "crossentropy", quick(class_weights=given, **o))
        assert net.training_history_.loss[0] == pytest.approx(expected.item(), rel=1e-5)
    plain = ll.trainnet(X, y, net3(), "crossentropy", quick(**o))
    assert abs(plain.training_history_.loss[0] - expected.item()) > 1e-2
    assert net.class_names == ["down", "flat", "up"] and set(ll.classify(net, X)) <= {"down", "flat", "up"}

    counts = pd.Series(y).value_counts()
    torch.manual_seed(0)
    balanced = ll.trainnet(X, y, net3(), "crossentropy", quick(class_weights="balanced", **o))
    w = torch.tensor([60 / (3 * counts[name]) for name in ["down", "flat", "up"]], dtype=torch.float64)
    expected = torch.nn.functional.cross_entropy(torch.log(torch.as_tensor(scores, dtype=torch.float64)), torch.as_tensor(codes), weight=w)
    assert balanced.training_history_.loss[0] == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize(
    "weights, loss, message",
    [
        ({"sideways": 2}, "crossentropy", r"class_weights names classes \['sideways'\] that are not among the classes \['down', 'up'\]"),
        ([1, 2, 3], "crossentropy", r"class_weights has 3 weights but there are 2 classes \['down', 'up'\]; give one per class"),
        ([1, 2], "mse", r"class_weights is for loss 'crossentropy'; got loss 'mse'"),
    ],
)
def test_class_weights_that_do_not_fit_the_classes_are_refused(weights, loss, message):
    X, y = drift_data(n=10)
    Y = y if loss == "crossentropy" else np.ones((10, 2))
    net = classifier() if loss == "crossentropy" else ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(4, output_mode="last"), ll.fully_connected_layer(2)])
    with pytest.raises(ValueError, match=message):
        ll.trainnet(X, Y, net, loss, quick(max_epochs=1, class_weights=weights))


def test_class_weights_are_checked_in_the_options():
    for bad in ("even", [1, -1], [], {"a": float("nan")}, [[1, 2]]):
        with pytest.raises(ValueError, match=naming("class_weights must be None", f"got {bad!r}")):
            ll.training_options(class_weights=bad)
    with pytest.raises(ValueError, match=r"class_weights is for training in one process; got execution_environment='parallel'"):
        ll.training_options(class_weights="balanced", execution_environment="parallel")
    X, y = drift_data(n=10)
    y[:] = "up"
    with pytest.raises(ValueError, match=r"class_weights='balanced' .* classes \['down'\] have none"):
        ll.trainnet(X, pd.Categorical(y, categories=["down", "up"]), classifier(), "crossentropy", quick(max_epochs=1, class_weights="balanced"))


@pytest.mark.parametrize(
    "schedule, expected",
    [
        ("exponential", [0.02 * 0.5 ** (e / 2) for e in range(5)]),
        ("cosine", [0.02 * (1 + np.cos(np.pi * e / 5)) / 2 for e in range(5)]),
        ("piecewise", [0.02, 0.02, 0.01, 0.01, 0.005]),
    ],
)
def test_epoch_schedules(schedule, expected):
    X, y = drift_data()
    net = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=5, learn_rate_schedule=schedule, learn_rate_drop_period=2, learn_rate_drop_factor=0.5))
    history = net.training_history_
    assert history.groupby("epoch").learn_rate.nunique().eq(1).all()  # one rate per epoch
    assert history.groupby("epoch").learn_rate.first().tolist() == pytest.approx(expected, rel=1e-12)


def test_warmup_and_a_callable_schedule():
    X, y = drift_data()
    net = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=3, learn_rate_schedule="warmup", learn_rate_warmup_period=4))
    assert net.training_history_.learn_rate.tolist() == pytest.approx([0.005, 0.01, 0.015] + [0.02] * 6, rel=1e-12)
    calls = []

    def schedule(epoch, iteration):
        calls.append((epoch, iteration))
        return 0.01 / iteration

    net = ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=2, learn_rate_schedule=schedule))
    assert calls == [(1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (2, 6)]  # counted from 1, as the history counts
    assert net.training_history_.learn_rate.tolist() == pytest.approx([0.01 / k for k in range(1, 7)], rel=1e-12)
    with pytest.raises(ValueError, match=naming("learn_rate_schedule(1, 1)", "returned -1")):
        ll.trainnet(X, y, classifier(), "crossentropy", quick(max_epochs=1, learn_rate_schedule=lambda e, k: -1))
    with pytest.raises(ValueError, match=naming("learn_rate_schedule must be one of", "got 'linear'")):
        ll.training_options(learn_rate_schedule="linear")
def three_classes():
    X, _ = drift_data(n=90)
    y = np.array(["down" if s < -1 else "up" if s > 1 else "flat" for s in (x[:, 0].mean() * np.sqrt(len(x)) for x in X)])
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(2, normalization="zscore"), ll.lstm_layer(8, output_mode="last"), ll.fully_connected_layer(3), ll.softmax_layer()])
    return X, y, ll.trainnet(X, y, net, "crossentropy", quick(max_epochs=3))


def still(**options):
    """Options that train without changing the network's answers: a learn rate of 1e-12, statistics kept."""
    return quick(max_epochs=1, initial_learn_rate=1e-12, reset_input_normalization=False, **options)


def test_fine_tuning_keeps_the_classes_and_their_output_units():
    X, y, net = three_classes()
    assert net.class_names == ["down", "flat", "up"]
    before = ll.predict(net, X)
    two = np.isin(y, ["flat", "up"])  # a subset of the classes
    subset = [x for x, keep in zip(X, two) if keep]
    reordered = pd.Categorical(y[two], categories=["up", "flat"])  # declared in another order
    for labels in (y[two], reordered):
        net = ll.trainnet(subset, labels, net, "crossentropy", still())
        assert net.class_names == ["down", "flat", "up"]
        np.testing.assert_allclose(ll.predict(net, X), before, atol=1e-6)  # every unit still means its class
    assert isinstance(ll.classify(net, X), pd.Categorical)


@pytest.mark.parametrize(
    "labels, message",
    [
        (lambda y: np.where(y == "up", "rising", y), r"Y has labels \['rising'\] that are not among the network's classes \['down', 'flat', 'up'\]"),
        (lambda y: np.searchsorted(["down", "flat", "up"], y), r"Y holds numbers such as 0, but the network's classes are strings.*np.asarray\(net.class_names\)\[Y\]"),
    ],
    ids=["renamed", "integers"],
)
def test_fine_tuning_refuses_labels_the_network_does_not_know(labels, message):
    X, y, net = three_classes()
    with pytest.raises(ValueError, match=message):
        ll.trainnet(X, labels(y), net, "crossentropy", still())
    assert net.class_names == ["down", "flat", "up"]


def test_string_labels_for_a_network_of_integer_classes_are_refused():
    X, y = drift_data()
    net = ll.trainnet(X, (y == "up").astype(int), classifier(), "crossentropy", quick(max_epochs=1))
    with pytest.raises(ValueError, match=r"Y holds strings such as 'down', but the network's classes are numbers, \[0, 1\]"):
        ll.trainnet(X, y, net, "crossentropy", still())


def test_fine_tuning_warns_once_when_it_replaces_the_input_statistics_and_goes_on_with_the_history():
    X, y, net = three_classes()
    first = net.training_history_.copy()
    mean = net["sequenceinput"].mean.clone()
    with pytest.warns(UserWarning, match=naming("reset_input_normalization=True", "reset_input_normalization=False")) as caught:
        ll.trainnet(X[:40], y[:40], net, "crossentropy", quick(max_epochs=2, initial_learn_rate=1e-12))
    assert len(caught) == 1 and not torch.equal(net["sequenceinput"].mean, mean)
    history = net.training_history_
    pd.testing.assert_frame_equal(history.iloc[: len(first)], first)
    assert history.epoch.tolist()[len(first) :] == [4, 4, 5, 5] and history.iteration.tolist() == list(range(1, len(first) + 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll.trainnet(X, y, net, "crossentropy", still())  # statistics kept: no warning
