"""Data-parallel training (lstmlab.parallel): N workers take the steps of one process.

Each spawned run costs a few seconds (every worker imports torch and lstmlab), so few tests spawn.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist

import lstmlab as ll
from lstmlab.parallel import WorkerTraceback, pieces, with_seed

from helpers import naming


def data(n=22, seed=0):
    """Sequences of 3 to 14 steps, a label each and a label per step."""
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(t), 3)).astype(np.float32) for t in rng.integers(3, 15, n)]
    return X, rng.integers(0, 3, n), [rng.integers(0, 2, len(x)) for x in X]


def network(output_mode="last", classes=3):
    torch.manual_seed(3)
    layers = [ll.sequence_input_layer(3, normalization="zscore"), ll.lstm_layer(6, output_mode=output_mode), ll.fully_connected_layer(classes), ll.softmax_layer()]
    return ll.Network(layers)


def both(X, Y, output_mode, classes, solver, **options):
    """The same training in one process and in 2 gloo workers."""
    nets = []
    for environment, workers in (("cpu", None), ("parallel", 2)):
        o = ll.training_options(solver, max_epochs=3, mini_batch_size=7, verbose=False, seed=1, execution_environment=environment, workers=workers, **options)
        nets.append(ll.trainnet(X, Y, network(output_mode, classes), "crossentropy", o))
    return nets


def assert_same_training(one, two):
    for (name, p), q in zip(one.named_parameters(), two.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=1e-5, err_msg=name)
    h1, h2 = one.training_history_.drop(columns="seconds"), two.training_history_.drop(columns="seconds")
    assert list(h1.columns) == list(h2.columns) and len(h1) == len(h2)
    np.testing.assert_allclose(h1.to_numpy(float), h2.to_numpy(float), atol=1e-5)


def test_two_workers_take_the_steps_of_one_process():
    """sgdm, shuffled every epoch, sequences of different lengths; 22 sequences in mini-batches of 7
    leave a last mini-batch of 1, where worker 1 has nothing and adds a zero gradient."""
    X, y, _ = data()
    X_val, y_val, _ = data(8, seed=1)
    one, two = both(X, y, "last", 3, "sgdm", shuffle="every-epoch", metrics="accuracy", initial_learn_rate=0.05,
                    validation_data=(X_val, y_val), validation_frequency=2)
    assert_same_training(one, two)
    assert {"accuracy", "validation_loss", "validation_accuracy"} <= set(two.training_history_.columns)
    assert len(two.training_history_) == 3 * 4
    assert two.class_names == [0, 1, 2] and not two.training
    np.testing.assert_allclose(ll.predict(one, X), ll.predict(two, X), atol=1e-5)  # the input statistics came back too


def test_sequence_to_sequence_loss_counts_the_real_steps_of_the_whole_mini_batch():
    """Per-step targets: each worker's mean over its real steps is weighed by its share of the
    mini-batch's real steps; chunks of 4 steps padded on the left, adam."""
    X, _, Y = data()
    one, two = both(X, Y, "sequence", 2, "adam", shuffle="every-epoch", sequence_length=4, sequence_padding_direction="left")
    assert_same_training(one, two)


def test_early_stopping_is_decided_once_for_every_worker():
    X, y, _ = data()
    o = dict(initial_learn_rate=0.5, validation_data=data(8, seed=1)[:2], validation_frequency=1, validation_patience=1)
    one, two = both(X, y, "last", 3, "sgdm", **o)
    assert len(one.training_history_) < 12, "patience stops the run early"
    assert_same_training(one, two)


def fails_in_worker_1(scores, targets):
    """A loss that breaks in worker 1 only (importable by the workers: it lives in this module)."""
    if dist.get_rank() == 1:
        raise ValueError("worker 1 cannot compute this loss")
    return torch.nn.functional.mse_loss(scores, targets)


def test_a_failing_worker_stops_the_run_with_its_error_and_traceback():
    X, _, _ = data()
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4, output_mode="last"), ll.fully_connected_layer(1)])
    o = ll.training_options(max_epochs=50, mini_batch_size=4, verbose=False, execution_environment="parallel", workers=2)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="worker 1 cannot compute this loss") as raised:
        ll.trainnet(X, np.ones(len(X)), net, fails_in_worker_1, o)
    assert time.perf_counter() - start < 60
    cause = raised.value.__cause__
    assert isinstance(cause, WorkerTraceback) and "in worker 1 of 2" in str(cause) and "fails_in_worker_1" in str(cause)


def test_a_process_group_already_set_up_is_joined(tmp_path):
    """As under torchrun: trainnet trains in this process, as worker 0 of a group of 1."""
    X, y, _ = data()
    o = dict(max_epochs=2, mini_batch_size=7, verbose=False, seed=1)
    alone = ll.trainnet(X, y, network(), "crossentropy", ll.training_options(**o))
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        joined = ll.trainnet(X, y, network(), "crossentropy", ll.training_options(execution_environment="parallel", **o))
        with pytest.raises(ValueError, match=r"workers=2, but the process group has 1 processes"):
            ll.trainnet(X, y, network(), "crossentropy", ll.training_options(execution_environment="parallel", workers=2, **o))
    finally:
        dist.destroy_process_group()
    assert_same_training(alone, joined)


TORCHRUN_SCRIPT = """
import json, numpy as np, torch, torch.distributed as dist, lstmlab as ll
rng = np.random.default_rng(0)
X = [rng.normal(size=(int(t), 3)).astype(np.float32) for t in rng.integers(3, 15, 22)]
y = rng.integers(0, 3, 22)
torch.manual_seed(3)
net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(6, output_mode="last"), ll.fully_connected_layer(3), ll.softmax_layer()])
options = ll.training_options("sgdm", max_epochs=2, mini_batch_size=8, seed=1, shuffle="every-epoch", verbose=False, execution_environment="parallel")
net = ll.trainnet(X, y, net, "crossentropy", options)
# one file per process: two processes printing long lines to one pipe can interleave them
with open(f"rank{dist.get_rank()}.json", "w") as f:
    json.dump([dist.get_rank(), net.training_history_.loss.tolist(), net["lstm"].bias.tolist()], f)
dist.barrier()  # leave together: a worker whose peer has already gone can abort at exit (gloo)
dist.destroy_process_group()
"""


def test_torchrun_launches_workers_that_join_one_group(tmp_path):
    """The same script under torchrun: each of the 2 processes returns the network one process trains."""
    script = tmp_path / "train.py"
    script.write_text(TORCHRUN_SCRIPT)
    environment = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(script)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=tmp_path, start_new_session=True)
    try:
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, 9)  # torchrun and the workers it started, never left behind
    assert run.returncode == 0, err[-6000:]
    ranks = sorted(json.loads(path.read_text()) for path in tmp_path.glob("rank*.json"))
    assert [r[0] for r in ranks] == [0, 1]
    torch.manual_seed(3)
    X, y, _ = data()
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(6, output_mode="last"), ll.fully_connected_layer(3), ll.softmax_layer()])
    o = ll.training_options("sgdm", max_epochs=2, mini_batch_size=8, seed=1, shuffle="every-epoch", verbose=False)
    alone = ll.trainnet(X, y, net, "crossentropy", o)
    for _, loss, bias in ranks:
        np.testing.assert_allclose(loss, alone.training_history_.loss, atol=1e-5)
        np.testing.assert_allclose(bias, alone["lstm"].bias.detach().numpy(), atol=1e-5)


def test_without_a_seed_the_workers_get_one_to_shuffle_alike():
    options = ll.training_options(execution_environment="parallel", shuffle="every-epoch")
    assert options.seed is None and isinstance(with_seed(options).seed, int)
    assert with_seed(ll.training_options(seed=7)).seed == 7


def test_pieces_split_a_mini_batch_as_evenly_as_it_goes():
    assert pieces(8, 2) == [slice(0, 4), slice(4, 8)]
    assert pieces(7, 3) == [slice(0, 3), slice(3, 5), slice(5, 7)]
    assert pieces(1, 2) == [slice(0, 1), slice(1, 1)]


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(execution_environment="parallel", workers=0), r"workers must be a positive integer .*; got 0"),
        (dict(execution_environment="parallel", workers=1.5), r"workers must be a positive integer .*; got 1.5"),
        (dict(execution_environment="parallel", workers=True), r"workers must be a positive integer"),
        (dict(workers=2), r"workers=2 is for execution_environment='parallel' or 'multi-gpu'; got execution_environment='auto'"),
        (dict(execution_environment="cpu", workers=2), r"got execution_environment='cpu'. Add execution_environment='parallel'"),
        (dict(execution_environment="parallel", workers=9, mini_batch_size=8), r"workers=9 is more than make sense for mini_batch_size=8"),
        (dict(execution_environment="several"), r"execution_environment"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        ll.training_options(**options)


def test_bad_input_is_refused_before_any_worker_starts():
    X, y, _ = data(5)
    o = dict(max_epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"workers=6 is more than make sense for 5 training sequences"):
        ll.trainnet(X, y, network(), "crossentropy", ll.training_options(execution_environment="parallel", workers=6, **o))
    with pytest.raises(ValueError, match=r"metrics \(<lambda>\) cannot be sent to the worker processes.*define it in a \.py file"):
        ll.trainnet(X, y, network(), "crossentropy", ll.training_options(execution_environment="parallel", workers=2, metrics=lambda s, t: 0, **o))
    with pytest.raises(ValueError, match=r"learn_rate_schedule \(<lambda>\) cannot be sent to the worker processes"):
        ll.trainnet(X, y, network(), "crossentropy", ll.training_options(execution_environment="parallel", workers=2, learn_rate_schedule=lambda e, k: 0.01, **o))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=naming("execution_environment='multi-gpu'", "no CUDA GPU", "execution_environment='parallel'")):
            ll.trainnet(X, y, network(), "crossentropy", ll.training_options(execution_environment="multi-gpu", **o))


def test_a_function_typed_into_a_notebook_is_refused_with_a_fix(monkeypatch):
    import types

    def accuracy(scores, targets):
        return 1.0

    accuracy.__module__ = "__main__"
    monkeypatch.setitem(__import__("sys").modules, "__main__", types.ModuleType("__main__"))  # a kernel's __main__ has no __file__
    X, y, _ = data(5)
    o = ll.training_options(execution_environment="parallel", workers=2, metrics=["accuracy", accuracy], max_epochs=1, verbose=False)
    with pytest.raises(ValueError, match=naming("metrics[1] is 'accuracy'", ".py file")):
        ll.trainnet(X, y, network(), "crossentropy", o)


def test_choose_device_refuses_the_parallel_environments_outside_trainnet():
    from lstmlab.training import choose_device

    with pytest.raises(ValueError, match="trains data-parallel in ll.trainnet only"):
        choose_device("parallel")


SCRIPT = """
import numpy as np, torch, lstmlab as ll


def train(environment):
    rng = np.random.default_rng(0)
    X, y = [rng.normal(size=(4, 2)) for _ in range(8)], [0, 1] * 4
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()]).double()
    workers = 2 if environment == "parallel" else None
    options = ll.training_options(max_epochs=2, mini_batch_size=4, verbose=False, seed=0, execution_environment=environment, workers=workers)
    return ll.trainnet(X, y, net, "crossentropy", options)


{main}
"""
UNGUARDED_SCRIPT = SCRIPT.format(main='train("parallel")  # at top level: no if __name__ == "__main__":')
GUARDED_SCRIPT = SCRIPT.format(main="""if __name__ == "__main__":
    alone, parallel = train("cpu"), train("parallel")
    print(max((p - q).abs().max().item() for p, q in zip(alone.parameters(), parallel.parameters())))""")


def run_script(tmp_path, text):
    script = tmp_path / "train.py"
    script.write_text(text)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120)


def test_a_script_without_the_main_guard_is_told_to_add_it(tmp_path):
    """spawn runs the script again in each worker, which called trainnet again: the error names the guard."""
    run = run_script(tmp_path, UNGUARDED_SCRIPT)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]  # the error the script stops with, in the parent
    assert re.fullmatch(
        r"RuntimeError: trainnet: worker [01] of 2 stopped \(exit code 1\): Python starts each worker by running .*train\.py again from "
        r"the top \(multiprocessing's spawn\), .* Put the code that trains under if __name__ == \"__main__\": \(as the README's parallel example does\)\.",
        last,
    ), run.stderr[-3000:]


def test_with_the_guard_the_script_trains_the_weights_of_one_process(tmp_path):
    run = run_script(tmp_path, GUARDED_SCRIPT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert float(run.stdout.strip().splitlines()[-1]) < 2e-10  # float64: 2 workers take the steps of one process
