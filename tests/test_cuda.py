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
        "rnn": ll.Network([ll.sequence_input_layer(12), ll.rnn_layer(32, activation="relu"), ll.rnn_layer(16)]),
        "loop": ll.Network([ll.sequence_input_layer(12), ll.lstm_layer(16, gate_activation_function="hard-sigmoid")]),
        "conv": ll.Network([ll.sequence_input_layer(12, min_length=2), ll.convolution1d_layer(3, 16, padding="same"),
                            ll.max_pooling1d_layer(2, stride=2), ll.lstm_layer(16)]),
    }


@pytest.mark.parametrize("name", ["lstm", "bilstm", "gru", "rnn", "loop", "conv"])
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


def test_video_and_text_networks_on_the_gpu():
    torch.manual_seed(0)
    video = ll.Network([ll.sequence_input_layer((16, 16, 1)), ll.sequence_folding_layer(), ll.convolution2d_layer(3, 8, padding="same"),
                        ll.batch_normalization_layer(), ll.relu_layer(), ll.sequence_unfolding_layer(), ll.flatten_layer(),
                        ll.lstm_layer(16, output_mode="last")])
    X, _ = ll.datasets.moving_digits(12, frames=6)
    X = [x[: 3 + n % 4] for n, x in enumerate(X)]  # varied lengths: padded frames in every mini-batch
    text = ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(8, 33), ll.lstm_layer(16, output_mode="last")])
    T, _, _ = ll.datasets.short_reviews(20)
    for net, data in ((video, X), (text, T)):
        on_cpu = ll.predict(net, data, mini_batch_size=5)
        net.to("cuda")
        np.testing.assert_allclose(ll.predict(net, data, mini_batch_size=5), on_cpu, atol=1e-4)
        assert ll.trace(net, data).max_error < 1e-5


@pytest.mark.parametrize("name", ["lstm", "bilstm", "gru", "loop"])
@pytest.mark.parametrize("freeze_padding", [False, True])
def test_interventions_on_the_gpu_as_on_the_cpu(name, freeze_padding):
    torch.manual_seed(0)
    net = networks()[name]
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(T, 12)).astype(np.float32) for T in rng.integers(20, 120, size=24)]
    source = [rng.normal(size=x.shape).astype(np.float32) for x in X]
    recurrent = {"lstm": "lstm_1", "loop": "lstm"}.get(name, name)
    quantity = "z" if name == "gru" else "f"
    interventions = [ll.Intervention(recurrent, quantity, units=[1, 3], steps=slice(5, 15), set=1.0),
                     ll.Intervention(recurrent, "h", steps=10, source=source),
                     ll.Intervention(recurrent, "h", units=0, fn=lambda h: h.clamp(-0.2, 0.2))]
    if name == "bilstm":
        interventions.append(ll.Intervention("bilstm", "c", units=2, steps=[3, 4], direction="backward", add=0.5))
    options = {"mini_batch_size": 8, "freeze_padding": freeze_padding, "interventions": interventions}
    on_cpu = ll.predict(net, X, **options)
    net.to("cuda")
    on_gpu = ll.predict(net, X, **options)
    for a, b in zip(on_cpu, on_gpu):
        np.testing.assert_allclose(a, b, atol=1e-5)
    tr = ll.trace(net, X, **options)
    assert tr.max_error < 1e-5
