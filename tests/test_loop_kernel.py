"""The compiled LSTM step loop (`lstmlab.layers.loop_kernel`) against the Python loop and the NumPy reference.

Where the loop cannot be compiled (no compiler, no ninja, LSTMLAB_NO_COMPILE=1), the tests of the
compiled path skip with the reason, and the fallback tests still run.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab import reference as ref
from lstmlab.layers import loop_kernel

from helpers import GATES, STATES, numpy_params, shaken, step_loop

C, H, B, T = 3, 5, 4, 9
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
PAIRS = [(gate, state) for gate in GATES for state in STATES]
OTHER_PAIRS = PAIRS[1:]  # not sigmoid and tanh, which run torch's fused kernel in a layer


@pytest.fixture(scope="module")
def compiled():
    if loop_kernel.build() is None:
        pytest.skip(f"the compiled LSTM step loop is not available here: {loop_kernel.reason()}")


@pytest.fixture
def calls(monkeypatch):
    """Counts the runs of the compiled loop: calls["n"]."""
    counted, run = {"n": 0}, loop_kernel.lstm_loop

    def counting(*args):
        counted["n"] += 1
        return run(*args)

    monkeypatch.setattr(loop_kernel, "lstm_loop", counting)
    return counted


def python_loop(fn, monkeypatch):
    """fn() with the compiled loop turned off: `route` chooses the Python loop or torch's kernel."""
    with monkeypatch.context() as m:
        m.setattr(loop_kernel, "fits", lambda *args: False)
        return fn()


def make_layer(gate, state, dtype, rng, make=ll.lstm_layer, **options):
    D = 2 if make is ll.bilstm_layer else 1
    layer = make(H, input_size=C, gate_activation_function=gate, state_activation_function=state,
                 hidden_state=rng.normal(size=D * H), cell_state=rng.normal(size=D * H), **options)
    return shaken(layer.double(), rng).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("gate, state", PAIRS)
def test_every_activation_pair_equals_the_python_loop_and_the_reference(gate, state, dtype, rng, compiled, calls, monkeypatch):
    layer = make_layer(gate, state, dtype, rng)
    x = torch.as_tensor(rng.normal(size=(B, T, C)), dtype=dtype)

    def steps(way):  # every step the compiled loop's, or the Python loop's (sigmoid and tanh too, where `route` takes torch's kernel)
        y, final = layer._each_direction(x.transpose(0, 1), layer.start_states(B), [[(0, T, way)]])  # (T, B, H)
        return y.transpose(0, 1), final

    with torch.no_grad():
        y, (h, c) = steps("compiled loop")  # (B, T, H); (B, H) each
        assert calls["n"] == 1
        y_python, (h_python, c_python) = steps("Python loop")
    assert calls["n"] == 1  # the Python loop ran
    tol = TOLERANCE[dtype]
    for got, want in ((y, y_python), (h, h_python), (c, c_python)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=tol, rtol=tol)
    W, R, b = numpy_params(layer.double())
    h0, c0 = layer.initial_hidden_state.double().numpy(), layer.initial_cell_state.double().numpy()
    for n in range(B):
        steps = ref.lstm_sequence(x[n].double().numpy(), W, R, b, h0, c0, gate, state)
        np.testing.assert_allclose(y[n].double().numpy(), steps.h, atol=tol, rtol=tol)
        np.testing.assert_allclose(c[n].double().numpy(), steps.c[-1], atol=tol, rtol=tol)


@pytest.mark.parametrize("gate, state", OTHER_PAIRS)
def test_bilstm_last_output_and_frozen_padding_equal_the_python_loop(gate, state, rng, compiled, calls, monkeypatch):
    layer = make_layer(gate, state, torch.float64, rng, ll.bilstm_layer, output_mode="last", has_state_outputs=True)
    x = torch.as_tensor(rng.normal(size=(B, T, C)))
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 6:] = False  # right padding
    mask[2, :3] = False  # left padding
    mask[3] = False  # nothing but padding: the state never moves
    with torch.no_grad():
        got = layer(x, mask=mask)  # last (B, 2H), h (B, 2H), c (B, 2H)
        want = python_loop(lambda: layer(x, mask=mask), monkeypatch)
    assert calls["n"] == 2  # one run per direction
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-10, rtol=1e-10)
    # the sequence of pure padding holds its initial state
    np.testing.assert_allclose(got[2][3].numpy(), layer.initial_cell_state.numpy(), atol=0)


def classifier(gate, state):
    torch.manual_seed(0)
    layers = [ll.sequence_input_layer(C), ll.lstm_layer(H, gate_activation_function=gate, state_activation_function=state), ll.fully_connected_layer(2)]
    return ll.Network(layers)


@pytest.mark.parametrize("gate, state", OTHER_PAIRS)
def test_predict_in_chunks_statefully_and_with_frozen_padding_equals_the_python_loop(gate, state, rng, compiled, calls, monkeypatch):
    net = classifier(gate, state)
    X = [rng.normal(size=(t, C)).astype("float32") for t in (7, 12, 4)]
    cases = {
        "whole": lambda: ll.predict(net, X),
        "chunks": lambda: ll.predict(net, X, sequence_length=3),  # the state carried from chunk to chunk
        "frozen": lambda: ll.predict(net, X, freeze_padding=True, sequence_padding_direction="left"),
        "stateful": lambda: [ll.reset_state(net), ll.predict_and_update_state(net, [x[:3] for x in X]), ll.predict_and_update_state(net, [x[3:] for x in X])][1:],
    }
    for name, case in cases.items():
        before = calls["n"]
        got, want = case(), python_loop(case, monkeypatch)
        assert calls["n"] > before, name
        for g, w in zip(got, want):
            for a, b in zip(g, w) if isinstance(g, list) else [(g, w)]:
                np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("gate, state", PAIRS)
def test_trace_records_what_the_compiled_loop_computed(gate, state, rng, compiled, calls, monkeypatch):
    """On a CPU a clean trace is recorded by the compiled loop as it runs, torch's activations
    included, and equals the recording recomputed from the kernel's h (or the Python loop's), for a
    BiLSTM with start states and padding, frozen or not, all units and steps or some."""
    layer = ll.bilstm_layer(H, gate_activation_function=gate, state_activation_function=state,
                            hidden_state=rng.normal(size=2 * H), cell_state=rng.normal(size=2 * H))
    net = shaken(ll.Network([ll.sequence_input_layer(C), layer]).double(), rng)
    X = [rng.normal(size=(t, C)) for t in (23, 6, 14)]
    monkeypatch.setattr(loop_kernel, "ROWS_PER_THREAD", 1)  # torch's activations too, in mini-batches of 2 (see the next test)
    recomputed = []
    explain = type(layer)._explain
    monkeypatch.setattr(type(layer), "_explain", lambda self, xh, *args, **kwargs: recomputed.append(xh.shape) or explain(self, xh, *args, **kwargs))
    for options in ({}, {"freeze_padding": True}, {"units": [4, 0], "steps": slice(2, 8)}):
        before, recomputed[:] = calls["n"], []
        got = ll.trace(net, X, mini_batch_size=2, **options)
        assert calls["n"] == before + 4  # two mini-batches, two directions
        assert got["bilstm"].computed_by == dict.fromkeys(("forward", "backward"), "lstmlab's compiled step loop, recording every step as it ran")
        assert [tuple(shape) for shape in recomputed] == [(2 * 4, 1, C + H)] * 2 + [(1 * 3, 1, C + H)] * 2  # steps 0, 10, 20, 22; 0, 10, 13
        want = python_loop(lambda: ll.trace(net, X, mini_batch_size=2, **options), monkeypatch)
        assert got.max_error < 1e-12 and want.max_error < 1e-12
        for direction in ("forward", "backward"):
            for q in "ifgoch":
                np.testing.assert_allclose(getattr(got["bilstm"], direction).arrays[q], getattr(want["bilstm"], direction).arrays[q],
                                           atol=1e-10, rtol=1e-10, err_msg=f"{options} {direction} {q}")


def test_with_torch_activations_only_a_batch_that_fills_the_threads_is_recorded_by_the_loop(rng, compiled, monkeypatch):
    """On several threads, below 16 sequences per thread torch's kernel and the recomputing product are faster (benchmarks/trace_overhead.py)."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    default, other = (ll.lstm_layer(H, input_size=C, gate_activation_function=gate) for gate in ("sigmoid", "hard-sigmoid"))
    small, big = torch.zeros(31, T, C), torch.zeros(32, T, C)
    with torch.no_grad():
        assert default.route(small, record=True) == [[(0, T, "fused kernel")]] and default.route(big, record=True) == [[(0, T, "compiled loop recording")]]
        assert other.route(small, record=True) == other.route(big, record=True) == [[(0, T, "compiled loop recording")]]  # the loop runs anyway: keeping what it computes is free
    assert default.route(big, record=True) == [[(0, T, "fused kernel")]]  # the loop passes no gradient back
    net = ll.Network([ll.sequence_input_layer(C), default])
    tr = ll.trace(net, rng.normal(size=(40, T, C)).astype("float32"), mini_batch_size=32)  # 32 sequences, then 8
    assert tr["lstm"].computed_by == {"forward": "lstmlab's compiled step loop, recording every step as it ran, in 1 of 2 "
                                                 "mini-batches; torch's fused kernel in the smaller ones"}
    assert tr.max_error < 1e-6


@pytest.mark.parametrize("dtype, way", [(torch.float32, "compiled loop recording"), (torch.float64, "fused kernel")])
def test_with_torch_activations_on_one_thread_float32_is_recorded_by_the_loop_from_two_sequences(dtype, way, rng, compiled, monkeypatch):
    """On one thread the float32 recording loop (brgemm's product) beats torch's kernel and the
    recomputing product from 2 sequences on (benchmarks/trace_overhead.py, sweep); float64 keeps 16."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    layer = ll.lstm_layer(H, input_size=C).to(dtype)
    with torch.no_grad():
        assert layer.route(torch.zeros(1, T, C, dtype=dtype), record=True) == [[(0, T, "fused kernel")]]  # the two ways tie
        assert layer.route(torch.zeros(2, T, C, dtype=dtype), record=True) == [[(0, T, way)]]
        assert layer.route(torch.zeros(16, T, C, dtype=dtype), record=True) == [[(0, T, "compiled loop recording")]]
        assert layer.route(torch.zeros(1, T, C, dtype=dtype)) == [[(0, T, "fused kernel")]]  # predictions: torch's kernel
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H)])
    X = rng.normal(size=(3, T, C)).astype("float32")
    tr = ll.trace(net, X)
    assert tr["lstm"].computed_by == {"forward": "lstmlab's compiled step loop, recording every step as it ran"}
    assert tr.max_error < 1e-6
    np.testing.assert_allclose(tr["lstm"].h, ll.predict(net, X), atol=1e-6)


def test_a_full_batch_recorded_by_the_loop_agrees_with_torch_and_with_the_recomputed_trace(rng, compiled, monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # 64 sequences fill two threads
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(16, cell_state=rng.normal(size=16))])
    X = rng.normal(size=(64, 30, C)).astype("float32")
    tr = ll.trace(net, X, mini_batch_size=64)
    assert tr["lstm"].computed_by == {"forward": "lstmlab's compiled step loop, recording every step as it ran"}
    assert tr.max_error < 1e-6
    layer = net["lstm"]
    with torch.no_grad():
        c0 = layer.initial_cell_state.expand(1, 64, 16).contiguous()
        h_torch = ll.to_torch(ll.lstm_layer(16, input_weights=layer.input_weights, recurrent_weights=layer.recurrent_weights,
                                            bias=layer.bias))(torch.as_tensor(X), (torch.zeros(1, 64, 16), c0))[0]
    np.testing.assert_allclose(tr["lstm"].h, h_torch.numpy(), atol=1e-5)
    with monkeypatch.context() as m:
        m.setattr(type(layer), "fast_way", lambda self, x, states, record=False: "fused kernel")
        recomputed = ll.trace(net, X, mini_batch_size=64)
    assert recomputed["lstm"].computed_by == {"forward": "torch's fused kernel"}
    for q in "ifgoch":
        np.testing.assert_allclose(getattr(tr["lstm"], q), getattr(recomputed["lstm"], q), atol=2e-6, err_msg=q)


@pytest.mark.parametrize("recurrent", ["projected", "stacked", "bilstm"])
def test_recorded_and_recomputed_traces_agree_for_stacked_and_projected_layers_in_memory_and_streamed(recurrent, rng, compiled, monkeypatch, tmp_path):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    torch.manual_seed(0)
    layers = {"projected": [ll.lstm_projected_layer(24, 6, 2)], "stacked": [ll.lstm_layer(12), ll.lstm_layer(10)],
              "bilstm": [ll.bilstm_layer(12), ll.lstm_layer(10)]}[recurrent]
    net = ll.Network([ll.sequence_input_layer(C), *layers])
    X = [rng.normal(size=(int(t), C)).astype("float32") for t in rng.integers(5, 40, size=36)]
    for options in ({}, {"freeze_padding": True}):
        got = ll.trace(net, X, mini_batch_size=36, **options)
        with monkeypatch.context() as m:
            m.setattr(ll.layers.LSTMLayer, "fast_way", lambda self, x, states, record=False: "fused kernel")
            want = ll.trace(net, X, mini_batch_size=36, **options)
        assert got.max_error < 1e-6 and want.max_error < 1e-6
        for name in got.layers:
            assert set(got[name].computed_by.values()) == {"lstmlab's compiled step loop, recording every step as it ran"}
            for direction, recorded in got[name].directions.items():
                for q, v in recorded.arrays.items():
                    np.testing.assert_allclose(v, want[name].directions[direction].arrays[q], atol=2e-6, err_msg=f"{options} {name} {q}")
    if recurrent == "bilstm":
        return  # a BiLSTM cannot be streamed: it reads each sequence backwards from its end
    streamed = ll.trace(net, X, mini_batch_size=36, out=tmp_path / "trace", chunk_length=16)  # 16 steps at a time, the state carried
    assert streamed.max_error < 1e-6
    last = list(got.layers)[-1]
    assert set(streamed[last].computed_by.values()) == {"lstmlab's compiled step loop, recording every step as it ran"}
    np.testing.assert_allclose(streamed[last].forward.arrays["c"], ll.trace(net, X, mini_batch_size=36)[last].forward.arrays["c"], atol=2e-6)


@pytest.mark.parametrize("step, quantity, checked", [(10, "f", True), (9, "c", True), (19, "o", True), (5, "g", False)])
def test_max_error_of_a_recording_checks_every_tenth_step(step, quantity, checked, rng, compiled, monkeypatch):
    """The check recomputes steps 0, 10, ... and the last from the recorded states: a quantity kept
    wrong there, or a state kept wrong the step before, shows in max_error; other steps are not checked."""
    monkeypatch.setattr(loop_kernel, "ROWS_PER_THREAD", 1)  # recorded by the loop with torch's activations and 3 sequences
    net = classifier("sigmoid", "tanh")
    X = rng.normal(size=(3, 20, C)).astype("float32")
    clean = ll.trace(net, X)
    assert clean.max_error < 1e-6
    run = loop_kernel.lstm_loop

    def spoiled(x, states, W, R, b, real, gate, state, recording=None):
        y, final = run(x, states, W, R, b, real, gate, state, recording)
        gates, cells = recording
        target = cells[step] if quantity == "c" else gates[step].unflatten(-1, (4, H))[:, "ifgo".index(quantity)]
        target[1, 0] += 0.25  # sequence 1, unit 0
        return y, final

    monkeypatch.setattr(loop_kernel, "lstm_loop", spoiled)
    tr = ll.trace(net, X)
    np.testing.assert_allclose(getattr(tr["lstm"], quantity)[1, step, 0], getattr(clean["lstm"], quantity)[1, step, 0] + 0.25, rtol=1e-6)
    assert (tr.max_error > 0.01) == checked, tr.max_error


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_a_big_batch_is_shared_among_threads_under_any_grad_mode(mode, rng, compiled, calls, monkeypatch):
    """From 32 sequences on, each of torch's threads runs 16 or more of them through every step, with
    the caller's grad or inference mode; the numbers are the Python loop's."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        net = classifier("hard-sigmoid", "softsign")
        X = rng.normal(size=(40, 9, C)).astype("float32")
        with mode():
            got, tr = ll.predict(net, X), ll.trace(net, X)
        assert calls["n"] == 2 and tr.max_error < 1e-6
        np.testing.assert_allclose(got, python_loop(lambda: ll.predict(net, X), monkeypatch), atol=1e-6)
        np.testing.assert_allclose(tr["lstm"].c, python_loop(lambda: ll.trace(net, X), monkeypatch)["lstm"].c, atol=1e-6)
    finally:
        torch.set_num_threads(previous)


def test_training_with_other_activations_runs_the_python_loop_and_learns(calls):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(t), C)).astype("float32") for t in rng.integers(5, 10, size=40)]
    y = np.array(["up" if x[:, 0].sum() > 0 else "down" for x in X])
    torch.manual_seed(0)
    layers = [ll.sequence_input_layer(C), ll.lstm_layer(8, output_mode="last", gate_activation_function="hard-sigmoid",
              state_activation_function="softsign"), ll.fully_connected_layer(2), ll.softmax_layer()]
    options = ll.training_options("adam", max_epochs=15, mini_batch_size=20, initial_learn_rate=0.02, verbose=False, seed=0)
    net = ll.trainnet(X, y, ll.Network(layers), "crossentropy", options)
    layer = net["lstm"]
    x = torch.as_tensor(np.stack([x[:5] for x in X]))
    before = calls["n"]
    layer(x).sum().backward()  # gradients need the Python loop
    assert calls["n"] == before
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in (layer.input_weights, layer.recurrent_weights, layer.bias))
    accuracy = np.mean(ll.classify(net, X) == y)
    assert accuracy > 0.8, accuracy


def test_an_intervention_runs_the_python_loop_over_its_steps_only(rng, compiled, calls):
    net = classifier("hard-sigmoid", "relu")
    X = rng.normal(size=(2, 8, C)).astype("float32")
    clean = ll.predict(net, X)  # (2, 8, 2)
    ran = calls["n"]
    edited = ll.predict(net, X, interventions=[ll.Intervention("lstm", "f", set=0.0)])
    assert calls["n"] == ran  # the edited steps ran in Python
    assert np.abs(clean - edited).max() > 1e-3
    late = ll.predict(net, X, interventions=[ll.Intervention("lstm", "f", steps=slice(4, None), set=0.0)])
    assert calls["n"] == ran + 1  # steps 0 to 3 compiled, as in the clean run: the same bits
    np.testing.assert_array_equal(late[:, :4], clean[:, :4])
    assert np.abs(late[:, 4:] - clean[:, 4:]).max() > 1e-3
    traced = ll.trace(net, X, interventions=[ll.Intervention("lstm", "f", steps=slice(4, None), set=0.0)])
    assert traced["lstm"].computed_by == {"forward": "the step loop over steps 5..8, where interventions act; lstmlab's compiled step loop elsewhere"}


def test_a_failed_build_warns_once_with_its_reason_and_falls_back(monkeypatch, rng):
    def failing():
        raise RuntimeError("Error building extension 'lstmlab_loop':\n[1/2] c++ -c main.cpp\nmain.cpp:3:10: error: no compiler here\nninja: build stopped")

    monkeypatch.setattr(loop_kernel, "_op", None)
    monkeypatch.setattr(loop_kernel, "_reason", None)
    monkeypatch.setattr(loop_kernel, "_build", failing)
    monkeypatch.delenv("LSTMLAB_NO_COMPILE", raising=False)
    layer = make_layer("hard-sigmoid", "softsign", torch.float64, rng)
    x = torch.as_tensor(rng.normal(size=(B, T, C)))
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        y = layer(x)
        layer(x)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert "the compiled LSTM step loop is not available (RuntimeError: main.cpp:3:10: error: no compiler here)" in messages[0]
    assert loop_kernel.reason() == "RuntimeError: main.cpp:3:10: error: no compiler here"
    with torch.no_grad():
        want = python_loop(lambda: layer(x), monkeypatch)
    np.testing.assert_array_equal(y.numpy(), want.numpy())


SCRIPT = """
import warnings; warnings.simplefilter("error", RuntimeWarning)
import numpy as np, torch, lstmlab as ll
from lstmlab.layers import loop_kernel
torch.manual_seed(0)
net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(5, gate_activation_function="hard-sigmoid", state_activation_function="relu")])
X = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
np.save({path!r}, ll.predict(net, X))
print(loop_kernel.reason())
"""


def test_lstmlab_no_compile_takes_the_python_loop_silently_with_the_same_numbers(tmp_path):
    path = str(tmp_path / "y.npy")
    env = {**os.environ, "LSTMLAB_NO_COMPILE": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(path=path)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "LSTMLAB_NO_COMPILE is set"
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(5, gate_activation_function="hard-sigmoid", state_activation_function="relu")])
    X = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    np.testing.assert_allclose(ll.predict(net, X), np.load(path), atol=1e-6, rtol=1e-6)


def test_a_build_error_is_summed_up_in_one_line():
    error = RuntimeError("Error building extension 'x':\n[1/2] c++ -O3\nmain.cpp:1: error: boom\nmain.cpp:2: error: again")
    assert loop_kernel._summary(error) == "RuntimeError: main.cpp:1: error: boom"
    assert loop_kernel._summary(RuntimeError("Ninja is required to load C++ extensions")) == "RuntimeError: Ninja is required to load C++ extensions"
    assert loop_kernel._summary(PermissionError()) == "PermissionError"


def test_prepare_says_what_happened(compiled):
    assert loop_kernel.prepare().startswith(f"lstmlab: the compiled LSTM step loop {loop_kernel.NAME} is ready (")


def test_a_layer_that_torch_s_kernel_runs_builds_nothing(monkeypatch, rng):
    """Predictions with torch's activations, and a trace of a small batch on two threads, never wait for a compiler."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(loop_kernel, "_op", None)
    monkeypatch.setattr(loop_kernel, "_reason", None)
    monkeypatch.setattr(loop_kernel, "_build", lambda: pytest.fail("the compiled loop was built"))
    net = ll.Network([ll.sequence_input_layer(C), ll.bilstm_layer(H)])
    X = rng.normal(size=(3, T, C)).astype("float32")
    ll.predict(net, X)
    ll.predict(net, X, interventions=[ll.Intervention("bilstm", "f", steps=slice(2, 4), set=0.0)])
    assert ll.trace(net, X)["bilstm"].computed_by["forward"] == "torch's fused kernel"
