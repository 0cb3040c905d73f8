"""The CUDA path: run wherever a GPU is present (CI has none; the device machine does)."""

import numpy as np
import pytest
import torch

import lstmlab as ll

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def networks():
    return {
        "lstm": ll.Network([ll.sequence_input_layer(12), ll.lstm_layer(64), ll.lstm_layer(32, output_mode="last")]),
        "bilstm": ll.Network([ll.sequence_input_layer(12), ll.bilstm_layer(32)]),
        "gru": ll.Network([ll.sequence_input_layer(12), ll.gru_layer(32)]),
        "loop": ll.Network([ll.sequence_input_layer(12), ll.lstm_layer(16, gate_activation_function="hard-sigmoid")]),
    }


@pytest.mark.parametrize("name", ["lstm", "bilstm", "gru", "loop"])
@pytest.mark.parametrize("freeze_padding", [False, True])
def test_gpu_matches_cpu_and_traces_exactly(name, freeze_padding):
    torch.manual_seed(0)
    net = networks()[name]
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(T, 12)).astype(np.float32) for T in rng.integers(20, 200, size=48)]
    on_cpu = ll.predict(net, X, mini_batch_size=16, freeze_padding=freeze_padding)
    net.to("cuda")
    on_gpu = ll.predict(net, X, mini_batch_size=16, freeze_padding=freeze_padding)
    for a, b in zip(on_cpu, on_gpu):
        np.testing.assert_allclose(a, b, atol=1e-5)
    tr = ll.trace(net, X, mini_batch_size=16, freeze_padding=freeze_padding)
    assert tr.max_error < 1e-5


def test_parallel_scan_runs_on_the_gpu():
    from lstmlab.scan import linear_recurrence, sequential_scan

    a, u, c0 = torch.rand(4, 300, 8, device="cuda"), torch.randn(4, 300, 8, device="cuda"), torch.randn(4, 8, device="cuda")
    expected = sequential_scan(a.cpu(), u.cpu().clone(), c0.cpu())
    torch.testing.assert_close(linear_recurrence(a, u, c0).cpu(), expected, atol=1e-4, rtol=1e-4)


def test_from_torch_on_the_gpu():
    module = torch.nn.LSTM(3, 4, batch_first=True).cuda()
    layer = ll.from_torch(module)
    x = torch.randn(2, 5, 3, device="cuda")
    torch.testing.assert_close(layer(x), module(x)[0], atol=1e-5, rtol=0)
