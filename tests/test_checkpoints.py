"""Checkpoints: a run stopped and resumed from its checkpoint ends as a run that never stopped."""

import warnings

import numpy as np
import pytest
import torch

import lstmlab as ll


def data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(T), 2)).astype("float32") for T in rng.integers(5, 12, size=n)]
    y = np.array(["up" if x[:, 0].sum() > 0 else "down" for x in X])
    return X, y


def layers():
    return [ll.sequence_input_layer(2, normalization="zscore"), ll.lstm_layer(6, output_mode="last"), ll.dropout_layer(0.3), ll.fully_connected_layer(2), ll.softmax_layer()]


def options(folder, **more):
    X_val, y_val = data(10, seed=1)
    return ll.training_options(
        "adam",
        **{
            "max_epochs": 4,
            "mini_batch_size": 8,
            "initial_learn_rate": 0.01,
            "shuffle": "every-epoch",
            "seed": 3,
            "verbose": False,
            "validation_data": (X_val, y_val),
            "validation_frequency": 3,
            "checkpoint_path": folder,
            **more,
        },
    )


def iteration(checkpoint):
    return int(checkpoint.stem.split("iteration")[1])


def same_run(resumed, unbroken):
    for (name, a), (_, b) in zip(resumed.state_dict().items(), unbroken.state_dict().items()):
        assert torch.equal(a, b), name
    columns = [c for c in unbroken.training_history_.columns if c != "seconds"]
    assert list(resumed.training_history_.columns) == list(unbroken.training_history_.columns)
    np.testing.assert_array_equal(resumed.training_history_[columns].to_numpy(), unbroken.training_history_[columns].to_numpy())


@pytest.mark.parametrize(
    "more, name",
    [
        ({}, "checkpoint_epoch2_iteration8.npz"),  # 4 mini-batches an epoch
        ({"checkpoint_frequency": 3, "checkpoint_frequency_unit": "iteration"}, "checkpoint_epoch2_iteration6.npz"),  # mid-epoch
        ({"sequence_length": 4, "checkpoint_frequency": 5, "checkpoint_frequency_unit": "iteration", "solver": "sgdm"}, None),
        ({"output_network": "best-validation-loss", "learn_rate_schedule": "warmup"}, "checkpoint_epoch3_iteration12.npz"),
    ],
)
def test_a_run_resumed_from_its_checkpoint_ends_as_an_unbroken_run(tmp_path, more, name):
    X, y = data()
    solver = more.pop("solver", "adam")
    o = options(tmp_path / "run", **more)
    if solver != "adam":
        o = ll.training_options(solver, **{f: getattr(o, f) for f in ("max_epochs", "mini_batch_size", "shuffle", "seed", "verbose", "validation_data", "validation_frequency", "checkpoint_path")}, **more)
    unbroken = ll.trainnet(X, y, layers(), "crossentropy", o)
    written = sorted((tmp_path / "run").iterdir(), key=iteration)
    assert not [p for p in written if p.name.endswith(".tmp")]
    if name is None:  # chunks of 4 steps: a checkpoint falls due every 5 iterations and waits for the end of its mini-batch
        iterations = [0] + [iteration(p) for p in written]
        assert all(b // 5 == a // 5 + 1 for a, b in zip(iterations, iterations[1:])), iterations
        assert len(written) == unbroken.training_history_.iteration.max() // 5
        checkpoint = written[len(written) // 2]
    else:
        checkpoint = tmp_path / "run" / name
    net = ll.load_checkpoint(checkpoint)
    state = net.training_state_
    assert len(state.history) == state.iteration == iteration(checkpoint) and state.history[-1]["iteration"] == state.iteration
    assert not hasattr(net, "training_history_")  # a new network had none before this run
    assert net.class_names == ["down", "up"] and ll.classify(net, X[:2]).shape == (2,)  # a checkpoint classifies
    torch.manual_seed(123)  # whatever happened since: the checkpoint brings its own random state
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # going on is no fine-tuning: nothing to warn about (the statistics come out the same)
        resumed = ll.trainnet(X, y, net, "crossentropy", options(tmp_path / "again", **more) if solver == "adam" else o)
    assert not hasattr(resumed, "training_state_")
    same_run(resumed, unbroken)


def test_a_checkpoint_is_a_network_file_and_a_network_file_is_not_a_checkpoint(tmp_path):
    X, y = data()
    net = ll.trainnet(X, y, layers(), "crossentropy", options(tmp_path, max_epochs=1))
    [checkpoint] = tmp_path.iterdir()
    assert checkpoint.name == "checkpoint_epoch1_iteration4.npz"
    plain = ll.load_network(checkpoint)
    np.testing.assert_array_equal(ll.predict(plain, X), ll.predict(net, X))
    net.save(tmp_path / "net.npz")
    with pytest.raises(ValueError, match=r"load_checkpoint: .*net.npz is a network file without a training state"):
        ll.load_checkpoint(tmp_path / "net.npz")


def test_resuming_with_another_solver_is_refused(tmp_path):
    X, y = data()
    ll.trainnet(X, y, layers(), "crossentropy", options(tmp_path, max_epochs=1))
    net = ll.load_checkpoint(tmp_path / "checkpoint_epoch1_iteration4.npz")
    with pytest.raises(ValueError, match=r"trained with solver 'adam' but the options say 'sgdm'.*training_options\('adam'"):
        ll.trainnet(X, y, net, "crossentropy", ll.training_options("sgdm", verbose=False))


def test_checkpoint_options_are_checked(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"checkpoint_path '.*file' is a file; give a folder"):
        ll.training_options(checkpoint_path=tmp_path / "file")
    with pytest.raises(TypeError, match=r"checkpoint_path must be a folder .* got int"):
        ll.training_options(checkpoint_path=3)
    with pytest.raises(ValueError, match=r"checkpoint_frequency_unit must be one of 'epoch', 'iteration'; got 'batch'"):
        ll.training_options(checkpoint_frequency_unit="batch")
    with pytest.raises(ValueError, match=r"checkpoint_frequency must be a positive integer; got 0"):
        ll.training_options(checkpoint_frequency=0)
    with pytest.raises(ValueError, match=r"checkpoint_path is for training in one process; got execution_environment='parallel'"):
        ll.training_options(checkpoint_path=tmp_path, execution_environment="parallel")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_run_on_the_gpu_resumes_with_its_dropout_masks(tmp_path):
    X, y = data()
    unbroken = ll.trainnet(X, y, layers(), "crossentropy", options(tmp_path / "run", execution_environment="gpu"))
    net = ll.load_checkpoint(tmp_path / "run" / "checkpoint_epoch2_iteration8.npz")
    assert net.training_state_.cuda_random is not None
    torch.cuda.manual_seed(123)
    same_run(ll.trainnet(X, y, net, "crossentropy", options(tmp_path / "again", execution_environment="gpu")), unbroken)
