"""ll.export_onnx and ll.import_onnx: the files run in onnxruntime as the networks run in lstmlab.

Every exported file is run at two sequence lengths and two batch sizes (the dynamic axes) and
compared with ll.predict in float32, to 1e-5. Imports are compared with the torch module that
torch.onnx.export wrote, and traced with ll.trace.
"""

import sys
import warnings

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.onnx_export import EXPORTERS

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from helpers import GATES, STATES, naming, shaken  # noqa: E402

ATOL = 1e-5
SHAPES = [(2, 5), (3, 11)]  # (batch, time): two of each, from one file


def run_file(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})[0]


def assert_exported(net, tmp_path, channels=3, make=None):
    """Export, run the file at every (batch, time) of SHAPES, compare with ll.predict."""
    path = tmp_path / "net.onnx"
    ll.export_onnx(net, path)
    rng = np.random.default_rng(1)
    errors = []
    for N, T in SHAPES:
        X = make(rng, N, T) if make else rng.normal(size=(N, T, channels)).astype(np.float32)
        expected = np.asarray(ll.predict(net, X))
        got = run_file(path, X)
        assert got.shape == expected.shape
        errors.append(np.abs(got - expected).max())
    assert max(errors) < ATOL, errors


# --- export ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("output_mode", ["sequence", "last"])
@pytest.mark.parametrize("kind", ["lstm", "bilstm"])
@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("state", STATES)
def test_lstm_layers_export_with_every_activation(kind, gate, state, output_mode, tmp_path):
    layer = getattr(ll, f"{kind}_layer")(4, output_mode=output_mode, gate_activation_function=gate, state_activation_function=state)
    net = shaken(ll.Network([ll.sequence_input_layer(3), layer, ll.fully_connected_layer(2), ll.softmax_layer()]), np.random.default_rng(0))
    assert_exported(net, tmp_path)


@pytest.mark.parametrize("reset_gate_mode", ["after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication"])
@pytest.mark.parametrize("gate,state", [("sigmoid", "tanh"), ("hard-sigmoid", "softsign"), ("sigmoid", "relu")])
def test_gru_exports_with_every_reset_gate_mode(reset_gate_mode, gate, state, tmp_path):
    layer = ll.gru_layer(4, reset_gate_mode=reset_gate_mode, gate_activation_function=gate, state_activation_function=state)
    net = shaken(ll.Network([ll.sequence_input_layer(3), layer, ll.fully_connected_layer(2)]), np.random.default_rng(0))
    assert_exported(net, tmp_path)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("output_mode", ["sequence", "last"])
def test_rnn_layers_export_as_onnx_rnn_nodes(activation, output_mode, tmp_path):
    layer = ll.rnn_layer(4, activation=activation, output_mode=output_mode, hidden_state=[0.5, -0.5, 0.25, 0.0])
    net = shaken(ll.Network([ll.sequence_input_layer(3), layer, ll.fully_connected_layer(2)]), np.random.default_rng(0))
    assert_exported(net, tmp_path)
    (node,) = [n for n in onnx.load(tmp_path / "net.onnx").graph.node if n.op_type == "RNN"]
    assert [a.strings for a in node.attribute if a.name == "activations"] == [[activation.capitalize().encode()]]


@pytest.mark.parametrize(
    "layer",
    [
        lambda: ll.lstm_layer(4, direction="reverse", hidden_state=np.linspace(-1, 1, 4)),
        lambda: ll.lstm_layer(4, direction="reverse", output_mode="last", state_activation_function="softsign"),
        lambda: ll.gru_layer(4, direction="reverse", output_mode="last", reset_gate_mode="before-multiplication"),
        lambda: ll.rnn_layer(4, direction="reverse", activation="relu"),
        lambda: ll.bigru_layer(4, reset_gate_mode="recurrent-bias-after-multiplication", hidden_state=np.linspace(-1, 1, 8)),
        lambda: ll.bigru_layer(4, output_mode="last", gate_activation_function="hard-sigmoid"),
        lambda: ll.birnn_layer(4, activation="relu", output_mode="last"),
        lambda: ll.birnn_layer(4),
        lambda: ll.bilstm_layer(4, output_mode="final", cell_state=np.linspace(-1, 1, 8)),
        lambda: ll.bigru_layer(4, output_mode="final", reset_gate_mode="before-multiplication"),
    ],
    ids=["lstm-reverse", "lstm-reverse-last", "gru-reverse-last", "rnn-reverse", "bigru", "bigru-last", "birnn-last", "birnn", "bilstm-final", "bigru-final"],
)
def test_reverse_and_bidirectional_layers_export(layer, tmp_path):
    net = shaken(ll.Network([ll.sequence_input_layer(3), layer(), ll.fully_connected_layer(2)]), np.random.default_rng(0))
    assert_exported(net, tmp_path)
    (node,) = [n for n in onnx.load(tmp_path / "net.onnx").graph.node if n.op_type in ("LSTM", "GRU", "RNN")]
    direction = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}["direction"]
    assert direction == (b"bidirectional" if net.layers[1].num_directions == 2 else b"reverse")


def test_hard_sigmoid_is_onnx_hard_sigmoid_with_alpha_and_beta(tmp_path):
    net = ll.Network([ll.sequence_input_layer(2), ll.bilstm_layer(3, gate_activation_function="hard-sigmoid", state_activation_function="softsign")])
    ll.export_onnx(net, tmp_path / "net.onnx")
    (node,) = [n for n in onnx.load(tmp_path / "net.onnx").graph.node if n.op_type == "LSTM"]
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attributes["activations"] == [b"HardSigmoid", b"Softsign", b"Softsign"] * 2
    assert np.allclose(attributes["activation_alpha"], [0.2, 0.2]) and np.allclose(attributes["activation_beta"], [0.5, 0.5])


@pytest.mark.parametrize("normalization", ["zerocenter", "zscore", "rescale-symmetric", "rescale-zero-one"])
def test_input_normalization_exports(normalization, tmp_path):
    net = shaken(ll.Network([ll.sequence_input_layer(3, normalization=normalization), ll.lstm_layer(4), ll.fully_connected_layer(2)]), np.random.default_rng(0))
    net["sequenceinput"].initialize_normalization(np.random.default_rng(2).normal(3.0, 2.0, size=(5, 8, 3)))
    assert_exported(net, tmp_path)


def test_layers_over_time_export(tmp_path):
    layers = [
        ll.sequence_input_layer(3, min_length=5),
        ll.convolution1d_layer(3, 6, padding="causal", dilation_factor=2),
        ll.batch_normalization_layer(),
        ll.relu_layer(),
        ll.max_pooling1d_layer(2, stride=1, padding="same"),
        ll.convolution1d_layer(2, 5, stride=2, padding="same"),
        ll.average_pooling1d_layer(2, padding=1),
        ll.average_pooling1d_layer(3, padding="same", padding_value="mean"),
        ll.dropout_layer(0.3),
        ll.flatten_layer(),
        ll.lstm_layer(4),
        ll.sigmoid_layer(),
        ll.global_max_pooling1d_layer(),
        ll.fully_connected_layer(2),
    ]
    net = shaken(ll.Network(layers), np.random.default_rng(0))
    with torch.no_grad():
        net["batchnorm"].trained_variance.abs_()
    assert_exported(net, tmp_path)
    net = shaken(ll.Network([ll.sequence_input_layer(3), ll.convolution1d_layer(2, 4, padding=(1, 0)), ll.global_average_pooling1d_layer()]), np.random.default_rng(0))
    assert_exported(net, tmp_path)


def test_word_embedding_exports_as_a_gather_with_zeros_for_padding(tmp_path):
    net = shaken(ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(4, num_words=9), ll.gru_layer(3, output_mode="last"), ll.fully_connected_layer(2)]), np.random.default_rng(0))

    def token_ids(rng, N, T):
        ids = rng.integers(1, 10, size=(N, T, 1)).astype(np.float32)
        ids[0, :2] = 0  # padding
        return ids

    assert_exported(net, tmp_path, make=token_ids)


def test_initial_states_export(tmp_path):
    lstm = ll.bilstm_layer(3, hidden_state=np.linspace(-1, 1, 6), cell_state=np.linspace(1, -1, 6))
    gru = ll.gru_layer(2, hidden_state=[0.5, -0.5], output_mode="last")
    assert_exported(shaken(ll.Network([ll.sequence_input_layer(3), lstm, gru]), np.random.default_rng(0)), tmp_path)


@pytest.mark.skipif(not hasattr(ll, "lstm_projected_layer"), reason="ll.lstm_projected_layer is not in this tree")
def test_projected_lstm_exports_as_an_lstm_with_the_product_weights(tmp_path):
    net = shaken(ll.Network([ll.sequence_input_layer(6), ll.lstm_projected_layer(8, 3, 2, output_mode="last"), ll.fully_connected_layer(2)]), np.random.default_rng(0))
    assert_exported(net, tmp_path, channels=6)


def test_the_file_has_dynamic_batch_and_time_and_opset_17(tmp_path):
    ll.export_onnx(ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4), ll.fully_connected_layer(2)]), tmp_path / "net.onnx")
    model = onnx.load(tmp_path / "net.onnx")
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in (model.graph.input[0], model.graph.output[0])]
    assert dims == [["batch", "time", 3], ["batch", "time", 2]]
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]


# --- import --------------------------------------------------------------------------------------


class TorchClassifier(torch.nn.Module):
    """nn.LSTM / nn.GRU (batch first or time first) + nn.Linear + softmax: what a torch user exports."""

    def __init__(self, rnn, last=False):
        super().__init__()
        self.rnn, self.last = rnn, last
        self.fc = torch.nn.Linear(rnn.hidden_size * (2 if rnn.bidirectional else 1), 4)

    def forward(self, x):
        y, _ = self.rnn(x)  # (N, T, D*H), or (T, N, D*H) time first
        y = (y[:, -1] if self.rnn.batch_first else y[-1]) if self.last else y
        return torch.softmax(self.fc(y), dim=-1)

    def batch_first(self, X):
        """torch's output for lstmlab's batch-first X (N, T, C), batch first too."""
        with torch.no_grad():
            x = torch.as_tensor(X) if self.rnn.batch_first else torch.as_tensor(X).transpose(0, 1)
            y = self(x)
        return (y if self.rnn.batch_first or self.last else y.transpose(0, 1)).numpy()


def torch_export(module, path, opset=None, names=("batch", "time")):
    """torch.onnx.export with dynamic batch and time axes, named `names` (the exporter's legacy path: see the README)."""
    batch, time = (0, 1) if module.rnn.batch_first else (1, 0)
    dynamic = {"x": {batch: names[0], time: names[1]}, "y": {batch: names[0]} if module.last else {batch: names[0], time: names[1]}}
    x = torch.randn(2, 7, module.rnn.input_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and batch-size notes
        torch.onnx.export(
            module.eval(), (x if module.rnn.batch_first else x.transpose(0, 1),), str(path), dynamo=False, opset_version=opset,
            input_names=["x"], output_names=["y"], dynamic_axes=dynamic,
        )


@pytest.mark.parametrize(
    "rnn,last",
    [
        (torch.nn.LSTM(3, 5, batch_first=True), False),
        (torch.nn.LSTM(3, 5, batch_first=True), True),
        (torch.nn.LSTM(3, 5, batch_first=True, bidirectional=True), False),
        (torch.nn.GRU(3, 5, batch_first=True), False),
    ],
    ids=["lstm", "lstm-last", "bilstm", "gru"],
)
def test_a_torch_export_imports_with_the_same_outputs_and_an_exact_trace(rnn, last, tmp_path):
    torch.manual_seed(0)
    module = TorchClassifier(rnn, last)
    torch_export(module, tmp_path / "torch.onnx")
    net = ll.import_onnx(tmp_path / "torch.onnx")
    recurrent = net.layers[1]
    expected_kind = {torch.nn.GRU: "gru"}.get(type(rnn), "bilstm" if rnn.bidirectional else "lstm")
    assert [layer.kind for layer in net.layers] == ["sequenceinput", expected_kind, "fc", "softmax"]
    assert recurrent.output_mode == ("last" if last else "sequence")
    for N, T in SHAPES:
        X = np.random.default_rng(T).normal(size=(N, T, 3)).astype(np.float32)
        with torch.no_grad():
            expected, (h_torch, _) = module(torch.as_tensor(X)).numpy(), module.rnn(torch.as_tensor(X))
        assert np.abs(ll.predict(net, X) - expected).max() < ATOL
        tr = ll.trace(net, X)
        assert tr.max_error < 1e-6
        traced = tr[recurrent.name]
        h = np.concatenate([traced.forward.h, traced.backward.h], -1) if rnn.bidirectional else traced.h
        assert np.abs(h - h_torch.numpy()).max() < ATOL  # the trace's h is torch's LSTM / GRU output


@pytest.mark.parametrize("opset", [11, 17])
def test_a_stacked_torch_lstm_imports_as_a_chain(opset, tmp_path):
    """torch slices each layer's zero states from one ConstantOfShape; opset 11 has Squeeze axes as attributes."""
    torch.manual_seed(1)
    module = TorchClassifier(torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True), last=True)
    torch_export(module, tmp_path / "stacked.onnx", opset)
    net = ll.import_onnx(tmp_path / "stacked.onnx")
    assert [layer.kind for layer in net.layers] == ["sequenceinput", "bilstm", "bilstm", "fc", "softmax"]
    assert [layer.output_mode for layer in net.layers[1:3]] == ["sequence", "last"]
    X = np.random.default_rng(5).normal(size=(3, 8, 3)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.as_tensor(X)).numpy()
    assert np.abs(ll.predict(net, X) - expected).max() < ATOL


def test_torch_gate_order_becomes_lstmlab_gate_order(tmp_path):
    """ONNX orders LSTM rows i, o, f, c; lstmlab i, f, g, o, as torch does: the weights come back as torch has them."""
    module = TorchClassifier(torch.nn.LSTM(3, 5, batch_first=True))
    torch_export(module, tmp_path / "torch.onnx")
    layer = ll.import_onnx(tmp_path / "torch.onnx").layers[1]
    np.testing.assert_allclose(layer.input_weights.detach().numpy(), module.rnn.weight_ih_l0.detach().numpy())
    np.testing.assert_allclose(layer.bias.detach().numpy(), (module.rnn.bias_ih_l0 + module.rnn.bias_hh_l0).detach().numpy(), atol=1e-7)
    gru = TorchClassifier(torch.nn.GRU(3, 5, batch_first=True))
    torch_export(gru, tmp_path / "gru.onnx")
    layer = ll.import_onnx(tmp_path / "gru.onnx").layers[1]
    assert layer.reset_gate_mode == "recurrent-bias-after-multiplication"  # torch's linear_before_reset=1 with a recurrent bias
    np.testing.assert_allclose(layer.recurrent_weights.detach().numpy(), gru.rnn.weight_hh_l0.detach().numpy())


def round_trip(net, tmp_path):
    ll.export_onnx(net, tmp_path / "net.onnx")
    return ll.import_onnx(tmp_path / "net.onnx")


@pytest.mark.parametrize("reset_gate_mode", ["after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication"])
def test_round_trip_keeps_predictions_and_trace(reset_gate_mode, tmp_path):
    layers = [
        ll.sequence_input_layer(3, normalization="zscore"),
        ll.lstm_layer(4, gate_activation_function="hard-sigmoid", cell_state=np.full(4, 0.3)),
        ll.bilstm_layer(3, state_activation_function="softsign"),
        ll.gru_layer(2, reset_gate_mode=reset_gate_mode, output_mode="last"),
        ll.fully_connected_layer(3),
        ll.softmax_layer(),
    ]
    net = shaken(ll.Network(layers), np.random.default_rng(0))
    net["sequenceinput"].initialize_normalization(np.random.default_rng(3).normal(1.0, 2.0, size=(4, 6, 3)))
    back = round_trip(net, tmp_path)
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in net.layers]
    assert back["gru"].reset_gate_mode == reset_gate_mode and back["gru"].output_mode == "last"
    X = np.random.default_rng(4).normal(size=(3, 9, 3)).astype(np.float32)
    assert np.abs(ll.predict(back, X) - ll.predict(net, X)).max() < ATOL
    ours, theirs = ll.trace(net, X), ll.trace(back, X)
    assert theirs.max_error < 1e-6
    for quantity in "ifgoch":
        assert np.abs(getattr(theirs["lstm"], quantity) - getattr(ours["lstm"], quantity)).max() < ATOL
        assert np.abs(getattr(theirs["bilstm"].backward, quantity) - getattr(ours["bilstm"].backward, quantity)).max() < ATOL
    for quantity in "rznh":
        assert np.abs(getattr(theirs["gru"], quantity) - getattr(ours["gru"], quantity)).max() < ATOL


# --- bad input -----------------------------------------------------------------------------------


def test_an_unsupported_layer_is_named_and_nothing_is_written(tmp_path):
    net = ll.Network([ll.sequence_input_layer((8, 8, 1)), ll.sequence_folding_layer(), ll.convolution2d_layer(3, 2), ll.sequence_unfolding_layer(), ll.flatten_layer(), ll.lstm_layer(2)])
    path = tmp_path / "net.onnx"
    with pytest.raises(ValueError, match=naming("layer 'fold' (SequenceFoldingLayer) has no ONNX export", "image sequences")):
        ll.export_onnx(net, path)
    assert list(tmp_path.iterdir()) == []


def test_states_of_a_stateful_prediction_are_refused(tmp_path):
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)])
    ll.predict_and_update_state(net, np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match=naming("layer 'lstm' (LSTMLayer)", "states for 2 sequences", "ll.reset_state(net)")):
        ll.export_onnx(net, tmp_path / "net.onnx")
    ll.reset_state(net)
    ll.export_onnx(net, tmp_path / "net.onnx")


def test_missing_statistics_and_callables_are_refused(tmp_path):
    with pytest.raises(ValueError, match=naming("layer 'sequenceinput'", "normalization='zscore' without mean, standard_deviation")):
        ll.export_onnx(ll.Network([ll.sequence_input_layer(2, normalization="zscore"), ll.lstm_layer(3)]), tmp_path / "a.onnx")
    with pytest.raises(ValueError, match=r"normalizes with a Python callable"):
        ll.export_onnx(ll.Network([ll.sequence_input_layer(2, normalization=lambda x: x), ll.lstm_layer(3)]), tmp_path / "a.onnx")
    with pytest.raises(ValueError, match=r"has no sequence_input_layer"):
        ll.export_onnx(ll.Network([ll.lstm_layer(3)]), tmp_path / "a.onnx")
    with pytest.raises(TypeError, match=r"net must be an ll.Network; got LSTMLayer"):
        ll.export_onnx(ll.lstm_layer(3, input_size=2), tmp_path / "a.onnx")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_survives_a_failed_export(tmp_path):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"the previous file")
    with pytest.raises(ValueError):
        ll.export_onnx(ll.Network([ll.sequence_input_layer(2, normalization="zscore"), ll.lstm_layer(3)]), path)
    assert path.read_bytes() == b"the previous file" and len(list(tmp_path.iterdir())) == 1


def test_missing_and_non_onnx_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=naming("import_onnx: there is no file", "nothing.onnx")):
        ll.import_onnx(tmp_path / "nothing.onnx")
    (tmp_path / "notes.onnx").write_text("not a model")
    with pytest.raises(ValueError, match=naming("notes.onnx is not a valid ONNX model")):
        ll.import_onnx(tmp_path / "notes.onnx")
    ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)]).save(tmp_path / "net.npz")
    with pytest.raises(ValueError, match=r"is not a valid ONNX model"):
        ll.import_onnx(tmp_path / "net.npz")


def model_file(path, nodes, initializers=(), output_shape=("N", "T", 3), input_shape=("N", "T", 3)):
    """An opset-17 file of these nodes, reading "x" (N, T, 3) and writing the last node's first output."""
    graph = onnx.helper.make_graph(
        nodes,
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(input_shape))],
        [onnx.helper.make_tensor_value_info(nodes[-1].output[0], onnx.TensorProto.FLOAT, list(output_shape))],
        [onnx.numpy_helper.from_array(np.asarray(v, dtype=np.float32), name) for name, v in initializers],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), path)
    return path


def test_an_unsupported_operator_is_named_with_its_node(tmp_path):
    path = model_file(tmp_path / "tanh.onnx", [onnx.helper.make_node("Tanh", ["x"], ["y"], name="squash")])
    with pytest.raises(ValueError, match=naming("node 'squash' (Tanh) has no lstmlab layer", "GRU", "LSTM", "MatMul")):
        ll.import_onnx(path)


def test_lstm_options_lstmlab_cannot_compute_are_refused(tmp_path):
    H = 2
    weights = [("W", np.zeros((1, 4 * H, 3))), ("R", np.zeros((1, 4 * H, H))), ("h0", np.arange(4.0).reshape(1, 2, H))]
    x = onnx.helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2])
    for attributes, message in [
        ({"activations": ["Sigmoid", "Elu", "Elu"]}, naming("node 'rnn' (LSTM) has activations ['Sigmoid', 'Elu', 'Elu']")),
        ({"activations": ["HardSigmoid", "Tanh", "Tanh"], "activation_alpha": [0.25]}, naming("activations ['HardSigmoid', 'Tanh', 'Tanh'] (alpha [0.25")),
        ({"clip": 3.0}, r"has clip=3.0, which lstmlab layers do not compute"),
        ({"inputs": ["xt", "W", "R", "", "", "h0"]}, r"starts from an initial hidden state that differs between sequences"),
    ]:
        inputs = attributes.pop("inputs", ["xt", "W", "R"])
        lstm = onnx.helper.make_node("LSTM", inputs, ["y"], name="rnn", hidden_size=H, **attributes)
        path = model_file(tmp_path / "lstm.onnx", [x, lstm], weights, output_shape=("T", 1, "N", H))
        with pytest.raises(ValueError, match=message):
            ll.import_onnx(path)


def test_a_time_major_output_comes_out_batch_first(tmp_path):
    path = model_file(tmp_path / "t.onnx", [onnx.helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0, 2], name="swap")])
    net = ll.import_onnx(path)
    X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    assert np.array_equal(ll.predict(net, X), X)  # the graph's (T, N, C) output, as lstmlab's (N, T, C)


def test_an_output_without_the_batch_is_refused(tmp_path):
    nodes = [onnx.helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]), onnx.helper.make_node("Gather", ["xt", "i"], ["y"], name="first_sequence", axis=1)]
    path = model_file(tmp_path / "t.onnx", nodes, [("i", np.array(0.0))], output_shape=("T", 3))
    with pytest.raises(ValueError, match=r"node 'first_sequence' \(Gather\) gathers along axis 'N'"):
        ll.import_onnx(path)


def test_without_onnx_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=naming("export_onnx: needs the onnx package", "pip install lstmlab[onnx]")):
        ll.export_onnx(ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)]), tmp_path / "net.onnx")


def test_a_branching_graph_is_refused(tmp_path):
    nodes = [
        onnx.helper.make_node("Relu", ["x"], ["a"], name="first"),
        onnx.helper.make_node("Sigmoid", ["x"], ["b"], name="second"),
        onnx.helper.make_node("Add", ["a", "b"], ["y"], name="join"),
    ]
    path = model_file(tmp_path / "branch.onnx", nodes)
    with pytest.raises(ValueError, match=naming("node 'second' (Sigmoid)", "the graph branches")):
        ll.import_onnx(path)


# --- ONNX's own operator cases --------------------------------------------------------------------


def onnx_operator_cases():
    """Every LSTM, GRU and RNN case of the installed onnx package, one per (case, output)."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # other operators' cases overflow on purpose while they are made
        cases = [c for c in collect_testcases(None) if c.model.graph.node[0].op_type in ("LSTM", "GRU", "RNN")]
    return [pytest.param(case, output.name, id=f"{case.name}-{output.name}") for case in cases for output in case.model.graph.output]


def as_an_exporter_writes_it(case, path):
    """The case's node with its weights (every input but X) as initializers; returns X and the expected outputs."""
    graph, (inputs, outputs) = case.model.graph, case.data_sets[0]
    weights = [onnx.numpy_helper.from_array(v, i.name) for i, v in zip(graph.input[1:], inputs[1:])]
    model = onnx.helper.make_model(onnx.helper.make_graph(list(graph.node), case.name, [graph.input[0]], list(graph.output), weights), opset_imports=case.model.opset_import)
    onnx.save(model, path)
    return inputs[0], {o.name: y for o, y in zip(graph.output, outputs)}


# The (case, output) pairs lstmlab refuses, and what the refusal names. Every other one must agree.
CELL_STATE = naming("output 'Y_c' is the final cell state Y_c of node writing 'Y_h'")
REFUSED = {
    ("test_lstm_with_peepholes", "Y_h"): r"has sequence_lens",
    ("test_lstm_reverse", "Y_c"): CELL_STATE,
    ("test_lstm_bidirectional", "Y_c"): CELL_STATE,
}


@pytest.mark.parametrize("case,output", onnx_operator_cases())
def test_onnx_operator_cases_agree_or_are_refused_by_name(case, output, tmp_path):
    X, expected = as_an_exporter_writes_it(case, tmp_path / "case.onnx")
    if (case.name, output) in REFUSED:
        with pytest.raises(ValueError, match=REFUSED[case.name, output]):
            ll.import_onnx(tmp_path / "case.onnx", output=output)
        return
    net = ll.import_onnx(tmp_path / "case.onnx", output=output)  # the layout comes from the node: X is (T, N, C) unless layout=1
    batch_first = dict((a.name, a.i) for a in case.model.graph.node[0].attribute).get("layout", 0) == 1
    y = expected[output]
    if not batch_first:
        X, y = X.transpose(1, 0, 2), (y.transpose(2, 0, 1, 3) if y.ndim == 4 else y.transpose(1, 0, 2))  # Y (T, D, N, H), Y_h (D, N, H)
    got = np.asarray(ll.predict(net, X.astype(np.float32)))
    assert np.abs(got - y.reshape(got.shape)).max() < ATOL


def test_all_onnx_operator_cases_but_peepholes_with_sequence_lens_import():
    """17 of the 18 cases import every output but an LSTM's final cell state Y_c (two cases have it)."""
    cases = {param.values[0].name for param in onnx_operator_cases()}
    refused = {case for case, output in REFUSED if output != "Y_c"}
    assert len(cases) == 18 and refused == {"test_lstm_with_peepholes"}
    assert {case for case, output in REFUSED if output == "Y_c"} == {"test_lstm_reverse", "test_lstm_bidirectional"}


# --- layout, outputs and attributes ----------------------------------------------------------------


@pytest.mark.parametrize("names", [("batch", "time"), ("d0", "d1")], ids=["named", "from-the-lstm-node"])
def test_a_time_major_torch_lstm_imports_and_takes_batch_first_data(names, tmp_path):
    torch.manual_seed(2)
    module = TorchClassifier(torch.nn.LSTM(3, 5))  # batch_first=False: the file reads (T, N, C)
    torch_export(module, tmp_path / "time_major.onnx", names=names)
    net = ll.import_onnx(tmp_path / "time_major.onnx")
    X = np.random.default_rng(6).normal(size=(4, 9, 3)).astype(np.float32)
    assert np.abs(ll.predict(net, X) - module.batch_first(X)).max() < 1e-6


def test_input_format_says_the_layout_where_the_graph_does_not(tmp_path):
    path = model_file(tmp_path / "relu.onnx", [onnx.helper.make_node("Relu", ["x"], ["y"], name="relu")], input_shape=("a", "b", 3))
    X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    assert np.array_equal(ll.predict(ll.import_onnx(path, input_format="TBC"), X), np.maximum(X, 0))
    with pytest.raises(ValueError, match=naming("input_format must be one of 'BTC', 'TBC'", "got 'NTC'")):
        ll.import_onnx(path, input_format="NTC")


def test_a_layout_that_contradicts_the_graph_is_refused(tmp_path):
    torch.manual_seed(2)
    module = TorchClassifier(torch.nn.LSTM(3, 5))
    torch_export(module, tmp_path / "time_major.onnx", names=("d0", "d1"))
    with pytest.raises(ValueError, match=naming("input 'x' is contradictory", "BTC from input_format='BTC', TBC from the recurrent node")):
        ll.import_onnx(tmp_path / "time_major.onnx", input_format="BTC")
    torch_export(module, tmp_path / "mislabelled.onnx", names=("time", "batch"))
    with pytest.raises(ValueError, match=naming("BTC from its dim names, TBC from the recurrent node")):
        ll.import_onnx(tmp_path / "mislabelled.onnx")


def lstm_with_two_outputs(path, direction="forward"):
    """An exporter's LSTM node: X (T, N, 3), outputs Y (T, D, N, 2) and Y_h (D, N, 2)."""
    D, H = (2 if direction == "bidirectional" else 1), 2  # direction: "forward", "reverse" or "bidirectional"
    rng = np.random.default_rng(0)
    weights = [("W", rng.normal(size=(D, 4 * H, 3))), ("R", rng.normal(size=(D, 4 * H, H)))]
    node = onnx.helper.make_node("LSTM", ["x", "W", "R"], ["Y", "Y_h"], name="lstm", hidden_size=H, direction=direction)
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["T", "N", 3])],
        [onnx.helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, ["T", D, "N", H]), onnx.helper.make_tensor_value_info("Y_h", onnx.TensorProto.FLOAT, [D, "N", H])],
        [onnx.numpy_helper.from_array(v.astype(np.float32), name) for name, v in weights],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), path)
    return path


def test_several_outputs_import_the_one_named_and_warn_which_by_default(tmp_path):
    path = lstm_with_two_outputs(tmp_path / "two.onnx")
    with pytest.warns(UserWarning, match=naming("2 outputs ('Y', 'Y_h')", "the first, 'Y'", "output=")):
        net = ll.import_onnx(path)
    assert net["lstm"].output_mode == "sequence"
    last = ll.import_onnx(path, output="Y_h")
    assert last["lstm"].output_mode == "last"
    X = np.random.default_rng(1).normal(size=(3, 6, 3)).astype(np.float32)
    assert np.array_equal(ll.predict(last, X), ll.predict(net, X)[:, -1])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    Y, Y_h = session.run(None, {"x": X.transpose(1, 0, 2)})
    assert np.abs(ll.predict(last, X) - Y_h[0]).max() < ATOL
    with pytest.raises(ValueError, match=naming("output='Y_c' is not an output", "'Y', 'Y_h'")):
        ll.import_onnx(path, output="Y_c")


def test_the_final_state_of_a_bidirectional_node_is_output_mode_final(tmp_path):
    path = lstm_with_two_outputs(tmp_path / "two.onnx", "bidirectional")
    net = ll.import_onnx(path, output="Y_h")
    assert net["bilstm"].output_mode == "final"
    X = np.random.default_rng(1).normal(size=(3, 6, 3)).astype(np.float32)
    Y, Y_h = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": X.transpose(1, 0, 2)})
    got = ll.predict(net, X)  # (N, 2H): [forward after x_T, backward after x_1]
    assert np.abs(got - Y_h.transpose(1, 0, 2).reshape(3, 4)).max() < ATOL
    assert np.abs(got - np.concatenate([Y[-1, 0], Y[0, 1]], -1)).max() < ATOL


def test_the_last_step_of_a_reverse_node_is_refused(tmp_path):
    path = lstm_with_two_outputs(tmp_path / "two.onnx", "reverse")
    model = onnx.load(path)
    last = onnx.helper.make_node("Gather", ["Y", "minus_one"], ["last"], name="last", axis=0)  # Y[-1]: (D, N, H), read x_T alone
    model.graph.node.append(last)
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.array(-1, np.int64), "minus_one"))
    del model.graph.output[:]
    model.graph.output.append(onnx.helper.make_tensor_value_info("last", onnx.TensorProto.FLOAT, [1, "N", 2]))
    onnx.save(model, tmp_path / "last.onnx")
    with pytest.raises(ValueError, match=naming("node 'last' (Gather) takes the last time step of a reverse node")):
        ll.import_onnx(tmp_path / "last.onnx")
    net = ll.import_onnx(path, output="Y_h")  # the final state: after reading back to x_1
    assert net["lstm"].direction == "reverse" and net["lstm"].output_mode == "last"
    X = np.random.default_rng(1).normal(size=(3, 6, 3)).astype(np.float32)
    Y, Y_h = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": X.transpose(1, 0, 2)})
    assert np.abs(ll.predict(net, X) - Y_h[0]).max() < ATOL and np.abs(Y_h[0] - Y[0, 0]).max() < ATOL


@pytest.mark.parametrize(
    "attributes,message",
    [
        ({"direction": "backward"}, naming("node 'rnn' (LSTM) has direction='backward'")),
        ({"input_forget": 1}, naming("node 'rnn' (LSTM) has input_forget=1")),
        ({"clip": 1e9}, r"node 'rnn' \(LSTM\) has clip=1000000000.0"),
        ({"hidden_size": 3}, r"node 'rnn' \(LSTM\) has hidden_size=3 with W \(1, 8, 3\)"),
        ({"activation_alpha": [0.5]}, naming("node 'rnn' (LSTM) has activations ['Sigmoid', 'Tanh', 'Tanh'] (alpha [0.5")),
        ({"layout": 2}, r"node 'rnn' \(LSTM\) has layout=2; ONNX defines 0 and 1"),
    ],
    ids=["direction", "input_forget", "clip", "hidden_size", "unread-alpha", "layout"],
)
def test_every_lstm_attribute_lstmlab_would_not_compute_exactly_is_refused_by_name(attributes, message, tmp_path):
    H, rng = 2, np.random.default_rng(0)
    node = onnx.helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="rnn", hidden_size=attributes.pop("hidden_size", H), **attributes)
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["T", "N", 3])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["T", 1, "N", H])],
        [onnx.numpy_helper.from_array(rng.normal(size=s).astype(np.float32), n) for n, s in (("W", (1, 4 * H, 3)), ("R", (1, 4 * H, H)))],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), tmp_path / "lstm.onnx")
    with pytest.raises(ValueError, match=message):
        ll.import_onnx(tmp_path / "lstm.onnx")


# --- round trips: every layer export_onnx writes, import_onnx reads back -------------------------


def every_exportable_network():
    """Networks that hold every layer kind export_onnx writes, each with its data."""
    over_time = [
        ll.sequence_input_layer(3, min_length=5, normalization="zscore", mean=np.array([0.1, -0.2, 0.3]), standard_deviation=np.array([1.5, 0.5, 2.0])),
        ll.convolution1d_layer(3, 6, padding="causal", dilation_factor=2),
        ll.batch_normalization_layer(),
        ll.relu_layer(),
        ll.max_pooling1d_layer(2, stride=1, padding="same"),
        ll.convolution1d_layer(2, 5, stride=2, padding="same"),
        ll.average_pooling1d_layer(2, padding=1),
        ll.average_pooling1d_layer(3, padding="same", padding_value="mean"),
        ll.dropout_layer(0.3),
        ll.flatten_layer(),
        ll.bilstm_layer(4),
        ll.sigmoid_layer(),
        ll.global_max_pooling1d_layer(),
        ll.fully_connected_layer(2),
        ll.softmax_layer(),
    ]
    recurrent = [ll.sequence_input_layer(3), ll.lstm_projected_layer(6, 3, 2), ll.gru_layer(4, output_mode="last"), ll.fully_connected_layer(2)]
    pooled = [ll.sequence_input_layer(3), ll.rnn_layer(5, activation="relu", hidden_state=np.linspace(-1, 1, 5)), ll.lstm_layer(4), ll.global_average_pooling1d_layer()]
    both_ways = [
        ll.sequence_input_layer(3), ll.bigru_layer(4, reset_gate_mode="recurrent-bias-after-multiplication"), ll.gru_layer(3, direction="reverse"),
        ll.birnn_layer(3, hidden_state=np.linspace(-1, 1, 6)), ll.lstm_layer(4, direction="reverse"), ll.rnn_layer(2, direction="reverse", output_mode="last"),
    ]
    final = [ll.sequence_input_layer(3), ll.bilstm_layer(3, output_mode="final"), ll.fully_connected_layer(2)]
    nets = [ll.Network(layers) for layers in (over_time, recurrent, pooled, both_ways, final)]
    for first_id in (1, 0):
        embedding = ll.word_embedding_layer(4, num_words=9, first_id=first_id)
        nets.append(ll.Network([ll.sequence_input_layer(1), embedding, ll.lstm_layer(3, output_mode="last"), ll.fully_connected_layer(2)]))
    rng = np.random.default_rng(0)
    nets = [shaken(net, rng) for net in nets]
    with torch.no_grad():
        nets[0]["batchnorm"].trained_variance.abs_()
    X = rng.normal(size=(3, 11, 3)).astype(np.float32)
    ids = rng.integers(0, 10, size=(3, 11, 1)).astype(np.float32)  # first_id=1: 0 is padding; first_id=0: the first word
    return [(net, X) for net in nets[:5]] + [(nets[5], ids), (nets[6], ids.clip(0, 8))]


def test_every_exportable_layer_kind_reads_back_with_the_same_outputs(tmp_path):
    covered = set()
    for net, X in every_exportable_network():
        back = round_trip(net, tmp_path)
        assert np.abs(np.asarray(ll.predict(back, X)) - np.asarray(ll.predict(net, X))).max() < ATOL, [layer.kind for layer in net.layers]
        covered |= {layer.kind for layer in net.layers}
    assert covered == {cls.kind for cls in EXPORTERS}
    directions = {(layer.kind, layer.directions) for net, _ in every_exportable_network() for layer in net.layers if isinstance(layer, ll.layers.RecurrentLayer)}
    assert {(kind, ("backward",)) for kind in ("lstm", "gru", "rnn")} <= directions  # and reverse layers read back as reverse
    back = round_trip(every_exportable_network()[4][0], tmp_path)
    assert back["bilstm"].output_mode == "final"


class TorchTextClassifier(torch.nn.Module):
    """nn.Embedding -> nn.LSTM -> nn.Linear on the last step: token ids (N, T), counted from 0, in."""

    def __init__(self, batch_first=True):
        super().__init__()
        self.embedding, self.rnn, self.fc = torch.nn.Embedding(12, 4), torch.nn.LSTM(4, 5, batch_first=batch_first), torch.nn.Linear(5, 3)

    def forward(self, ids):
        y, _ = self.rnn(self.embedding(ids))
        return self.fc(y[:, -1] if self.rnn.batch_first else y[-1])


@pytest.mark.parametrize("batch_first", [True, False], ids=["batch-first", "time-major"])
def test_a_torch_text_classifier_imports_and_takes_the_same_token_ids(batch_first, tmp_path):
    torch.manual_seed(3)
    module = TorchTextClassifier(batch_first).eval()
    ids = torch.randint(0, 12, (2, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation note
        torch.onnx.export(module, (ids if batch_first else ids.T,), str(tmp_path / "text.onnx"), dynamo=False, input_names=["ids"], output_names=["y"],
                          dynamic_axes={"ids": {0: "d0", 1: "d1"}, "y": {0: "d0" if batch_first else "d1"}})
    net = ll.import_onnx(tmp_path / "text.onnx")
    assert [layer.kind for layer in net.layers] == ["sequenceinput", "embedding", "lstm", "fc"]
    wrong, right = ("TB", "BT") if batch_first else ("BT", "TB")  # the ids' layout: what input_format says for token ids
    with pytest.raises(ValueError, match=naming(f"{wrong} from input_format='{wrong}', {right} from the recurrent node")):
        ll.import_onnx(tmp_path / "text.onnx", input_format=wrong)
    assert len(ll.import_onnx(tmp_path / "text.onnx", input_format=right).layers) == 4
    assert net["embedding"].first_id == 0 and net["embedding"].num_words == 12
    X = np.random.default_rng(7).integers(0, 12, size=(3, 9))
    X[0, 0] = 0  # torch's first word, not padding
    with torch.no_grad():
        expected = module(torch.as_tensor(X if batch_first else X.T)).numpy()
    assert np.abs(ll.predict(net, X[..., None].astype(np.float32)) - expected).max() < ATOL


# torch module, whether it reads batch first, and the layers the import makes: what torch.onnx.export writes, read back
TORCH_EXPORTS = [
    (lambda: torch.nn.LSTM(3, 5, batch_first=True), ["lstm"]),
    (lambda: torch.nn.LSTM(3, 5), ["lstm"]),
    (lambda: torch.nn.LSTM(3, 5, num_layers=2), ["lstm", "lstm"]),
    (lambda: torch.nn.LSTM(3, 5, bidirectional=True), ["bilstm"]),
    (lambda: torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True), ["bilstm", "bilstm"]),
    (lambda: torch.nn.LSTM(3, 5, bias=False), ["lstm"]),
    (lambda: torch.nn.GRU(3, 5, batch_first=True), ["gru"]),
    (lambda: torch.nn.GRU(3, 5), ["gru"]),
    (lambda: torch.nn.GRU(3, 5, num_layers=2, bias=False), ["gru", "gru"]),
    (lambda: torch.nn.GRU(3, 5, bidirectional=True, batch_first=True), ["bigru"]),
    (lambda: torch.nn.GRU(3, 5, num_layers=2, bidirectional=True), ["bigru", "bigru"]),
    (lambda: torch.nn.RNN(3, 5, batch_first=True), ["rnn"]),
    (lambda: torch.nn.RNN(3, 5, nonlinearity="relu"), ["rnn"]),
    (lambda: torch.nn.RNN(3, 5, num_layers=2, bias=False, batch_first=True), ["rnn", "rnn"]),
    (lambda: torch.nn.RNN(3, 5, nonlinearity="relu", bidirectional=True), ["birnn"]),
]


@pytest.mark.parametrize("make,kinds", TORCH_EXPORTS, ids=lambda v: None if isinstance(v, list) else repr(v()))
@pytest.mark.parametrize("last", [False, True], ids=["sequence", "last"])
def test_torch_onnx_exports_read_back_with_torchs_outputs(make, kinds, last, tmp_path):
    torch.manual_seed(4)
    module = TorchClassifier(make(), last)
    torch_export(module, tmp_path / "torch.onnx", names=("d0", "d1"))  # the layout comes from the graph
    net = ll.import_onnx(tmp_path / "torch.onnx")
    assert [layer.kind for layer in net.layers] == ["sequenceinput", *kinds, "fc", "softmax"]
    X = np.random.default_rng(8).normal(size=(3, 6, 3)).astype(np.float32)
    assert np.abs(ll.predict(net, X) - module.batch_first(X)).max() < ATOL


def dynamo_export(module, x, path, dims):
    """torch.onnx.export with its defaults (the dynamo exporter, which needs onnxscript)."""
    pytest.importorskip("onnxscript")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x,), str(path), dynamic_shapes=(dims,), verbose=False)


@pytest.mark.parametrize(
    "module",
    [
        TorchClassifier(torch.nn.LSTM(3, 5, batch_first=True)),
        TorchClassifier(torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True), last=True),
        TorchTextClassifier(),
    ],
    ids=["lstm", "stacked-bilstm-last", "text-classifier"],
)
def test_torch_onnx_exports_with_the_default_exporter_read_back(module, tmp_path):
    """The dynamo exporter writes a reshape's target as arithmetic on the data's shape (Shape, Slice, Mul, Concat)."""
    torch.manual_seed(5)
    text = isinstance(module, TorchTextClassifier)
    x = torch.randint(0, 12, (2, 7)) if text else torch.randn(2, 7, 3)
    dynamo_export(module, x, tmp_path / "dynamo.onnx", {0: torch.export.Dim("batch"), 1: torch.export.Dim("time")})
    net = ll.import_onnx(tmp_path / "dynamo.onnx")
    rng = np.random.default_rng(9)
    if text:
        X = rng.integers(0, 12, size=(3, 9))
        with torch.no_grad():
            expected = module(torch.as_tensor(X)).numpy()
        X = X[..., None].astype(np.float32)
    else:
        X = rng.normal(size=(3, 9, 3)).astype(np.float32)
        expected = module.batch_first(X)
    assert np.abs(ll.predict(net, X) - expected).max() < ATOL


def test_a_time_major_lstm_whose_length_the_default_exporter_fixed_is_refused(tmp_path):
    """torch.export fixes T of a time-major nn.LSTM (the file reshapes to [7, -1, 5]): lstmlab, whose T is free, refuses."""
    module = TorchClassifier(torch.nn.LSTM(3, 5))
    dynamo_export(module, torch.randn(7, 2, 3), tmp_path / "dynamo.onnx", {0: torch.export.Dim("time"), 1: torch.export.Dim("batch")})
    with pytest.raises(ValueError, match=naming("(Reshape) reshapes", "('T', 'N', 'D', 'C') to [7, -1, 5]")):
        ll.import_onnx(tmp_path / "dynamo.onnx")
