"""`ll.export_onnx(net, path)`: an lstmlab network as an ONNX file (MATLAB's exportONNXNetwork).

    ll.export_onnx(net, "net.onnx")     # opset 17, float32

Each layer class has its exporter in EXPORTERS, a function that writes the layer's nodes and weights
(gate rows in ONNX's order: see `onnx_format`); a layer without one says why in its row of
`lstmlab.layers.REGISTRY`. ONNX's recurrent operators read time first: the graph transposes around
them, so that the file reads and writes batch first like lstmlab, (N, T, C) in and (N, T, K) or
(N, K) out, with the batch size N and the sequence length T left free (dynamic axes "batch" and
"time"). The file computes what `ll.predict` computes for a mini-batch of sequences of one length
(no padding), in float32.
"""

from pathlib import Path

import numpy as np
import torch

from . import saving
from ._version import __version__
from .layers import (
    BY_CLASS, AveragePooling1DLayer, BatchNormalizationLayer, BiGRULayer, BiLSTMLayer, BiRNNLayer, Convolution1DLayer,
    DropoutLayer, FlattenLayer, FullyConnectedLayer, GlobalAveragePooling1DLayer, GlobalMaxPooling1DLayer, GRULayer, LSTMLayer,
    MaxPooling1DLayer, ProjectedLSTMLayer, ReluLayer, RNNLayer, SequenceInputLayer, SigmoidLayer, SoftmaxLayer, WordEmbeddingLayer,
)
from .network import Network
from .normalization import STATISTICS, center_and_scale
from .onnx_format import ACTIVATIONS, IR_VERSION, ONNX_GATES, OPSET, reorder_gates, require_onnx


def _float64(tensor):
    """A tensor's values as a float64 NumPy array (detached, on the CPU), to be written as float32."""
    return tensor.detach().cpu().double().numpy()


class _Graph:
    """The nodes and weights of the ONNX graph being written, named after the lstmlab layers."""

    def __init__(self, onnx):
        self.onnx, self.nodes, self.initializers = onnx, [], []

    def constant(self, name, value, dtype=np.float32):
        array = np.array(value, dtype=dtype)  # a copy, contiguous; 0-d stays 0-d
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, name, **attributes):
        """Add one node whose one output is named like the node; returns that name."""
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    def over_time(self, x, op, inputs, name, **attributes):
        """A 1-D ONNX operator (Conv, MaxPool, AveragePool) over time: (N, T, C) -> (N, C, T), op, back."""
        x = self.node("Transpose", [x], f"{name}/channels_first", perm=[0, 2, 1])  # (N, C, T)
        y = self.node(op, [x, *inputs], f"{name}/{op}", **attributes)  # (N, K, T_out)
        return self.node("Transpose", [y], f"{name}/time_second", perm=[0, 2, 1])  # (N, T_out, K)

    def every_sequence(self, value, x, name):
        """A constant (D, 1, H) state repeated for every sequence of the batch: (D, N, H)."""
        D, _, H = value.shape
        shape = self.node("Shape", [x], f"{name}/input_shape")  # (3,): N, T, C
        first, second = self.constant(f"{name}/0", [0], np.int64), self.constant(f"{name}/1", [1], np.int64)
        N = self.node("Slice", [shape, first, second], f"{name}/batch_size")  # (1,)
        D, H = self.constant(f"{name}/D", [D], np.int64), self.constant(f"{name}/H", [H], np.int64)
        size = self.node("Concat", [D, N, H], f"{name}/size", axis=0)  # (3,): D, N, H
        return self.node("Expand", [self.constant(f"{name}/value", value), size], name)


def _unsupported(layer, why, fix):
    return ValueError(f"export_onnx: layer {layer.name!r} ({type(layer).__name__}) {why}; {fix}.")


def _export_input(graph, layer, x):
    """The input normalization as (x - center) / scale, which covers every named mode."""
    if isinstance(layer.input_size, tuple):
        raise _unsupported(layer, "reads image sequences, which lstmlab does not export", "export networks of vector sequences (T, C)")
    if layer.split_complex_inputs:
        raise _unsupported(layer, "splits complex inputs, which ONNX has no type for", "split the data yourself and give a real input layer")
    if callable(layer.normalization):
        raise _unsupported(layer, "normalizes with a Python callable, which an ONNX file cannot hold", "use a named normalization")
    missing = layer.missing_statistics()
    if missing:
        raise _unsupported(
            layer, f"has normalization={layer.normalization!r} without {', '.join(missing)}",
            "train the network first, or give the statistics to sequence_input_layer",
        )
    stats = {name: _float64(getattr(layer, name)) for name in STATISTICS[layer.normalization]}
    center, scale = center_and_scale(layer.normalization, stats)  # "none": neither, x unchanged
    if center is not None:
        x = graph.node("Sub", [x, graph.constant(f"{layer.name}/center", center)], f"{layer.name}/centered")
    if scale is not None:
        x = graph.node("Div", [x, graph.constant(f"{layer.name}/scale", scale)], f"{layer.name}/scaled")
    return x


def _onnx_activations(layer):
    """The `activations`, `activation_alpha` and `activation_beta` attributes of an ONNX LSTM / GRU / RNN."""
    per_direction = [layer.gate_activation_function, layer.state_activation_function]
    if isinstance(layer, RNNLayer):
        per_direction = [layer.activation]  # no gate
    if isinstance(layer, LSTMLayer):
        per_direction.append(layer.state_activation_function)  # ONNX's h: the activation of c in h = o * h(c)
    names, alphas, betas = [], [], []
    for activation in per_direction * layer.num_directions:
        name, alpha, beta = ACTIVATIONS[activation]
        names.append(name)
        alphas += [] if alpha is None else [alpha]
        betas += [] if beta is None else [beta]
    attributes = {"activations": names}
    if alphas:
        attributes.update(activation_alpha=alphas, activation_beta=betas)
    return attributes


def _export_recurrent(graph, layer, x):
    """A recurrent layer (LSTM, GRU, RNN: forward, reverse or bidirectional) as one ONNX LSTM / GRU / RNN node,
    with the plumbing for batch-first data."""
    name, D, H = layer.name, layer.num_directions, layer.num_hidden_units
    family = "gru" if isinstance(layer, GRULayer) else "rnn" if isinstance(layer, RNNLayer) else "lstm"  # the keys of ONNX_GATES
    states = [getattr(layer, f"{s}_state").detach().cpu().numpy() for s in layer.state_names]
    if states[0].ndim == 2:
        raise _unsupported(
            layer, f"holds states for {len(states[0])} sequences (from predict_and_update_state)",
            "call ll.reset_state(net) before exporting, or give the state you want as hidden_state/cell_state",
        )
    attributes = {"hidden_size": H, "direction": "bidirectional" if D == 2 else layer.direction, **_onnx_activations(layer)}
    W, R, Wb, Rb = [], [], [], []
    order = (layer.gate_names, ONNX_GATES[family])
    for d in range(D):
        W_d, R_d, b_d = layer.direction_parameters(d)
        W.append(reorder_gates(_float64(W_d), *order))  # (kH, C)
        R.append(reorder_gates(_float64(R_d), *order))  # (kH, H)
        b_W, b_R = layer.split_bias(b_d)  # an LSTM's b is all input bias: Rb = 0
        Wb.append(reorder_gates(_float64(b_W), *order))  # (kH,)
        Rb.append(reorder_gates(_float64(b_R), *order))  # (kH,)
    if family == "gru":
        attributes["linear_before_reset"] = int(layer.reset_gate_mode != "before-multiplication")
    inputs = [
        graph.node("Transpose", [x], f"{name}/time_first", perm=[1, 0, 2]),  # (T, N, C)
        graph.constant(f"{name}/W", np.stack(W)),  # (D, kH, C)
        graph.constant(f"{name}/R", np.stack(R)),  # (D, kH, H)
        graph.constant(f"{name}/B", np.concatenate([np.stack(Wb), np.stack(Rb)], axis=1)),  # (D, 2kH)
        "",  # sequence_lens: every sequence has all T steps
    ]
    for state_name, state in zip(layer.state_names, states):
        value = state.reshape(D, 1, H)
        inputs.append(graph.every_sequence(value, x, f"{name}/initial_{state_name}") if value.any() else "")
    op = family.upper()
    if layer.output_mode == "final" or (layer.output_mode == "last" and layer.direction == "reverse"):  # the final state: Y_h (D, N, H)
        graph.nodes.append(graph.onnx.helper.make_node(op, inputs, ["", f"{name}/Y_h"], name=f"{name}/{op}", **attributes))
        y = graph.node("Transpose", [f"{name}/Y_h"], f"{name}/batch_first", perm=[1, 0, 2])  # (N, D, H)
        return graph.node("Reshape", [y, graph.constant(f"{name}/merge", [0, -1], np.int64)], f"{name}/output")  # (N, D*H)
    y = graph.node(op, inputs, f"{name}/{op}", **attributes)  # (T, D, N, H)
    y = graph.node("Transpose", [y], f"{name}/batch_first", perm=[2, 0, 1, 3])  # (N, T, D, H)
    y = graph.node("Reshape", [y, graph.constant(f"{name}/merge", [0, 0, -1], np.int64)], f"{name}/output")  # (N, T, D*H)
    if layer.output_mode == "last":
        y = graph.node("Gather", [y, graph.constant(f"{name}/last", -1, np.int64)], f"{name}/last_step", axis=1)  # (N, D*H)
    return y


def _export_fully_connected(graph, layer, x):
    W = _float64(layer.weights)  # (K, C)
    y = graph.node("MatMul", [x, graph.constant(f"{layer.name}/W_transposed", W.T)], f"{layer.name}/Wx")  # (N, [T,] K)
    return graph.node("Add", [y, graph.constant(f"{layer.name}/b", _float64(layer.bias))], f"{layer.name}/output")


def _export_embedding(graph, layer, x):
    """Token ids (N, T, 1) as rows of a table: with first_id=1 its row 0 is the zero vector (padding)."""
    table = _float64(layer.weights).T  # (num_words, dimension): row k for id k + first_id
    if layer.first_id == 1:
        table = np.concatenate([np.zeros((1, layer.dimension)), table])  # (num_words + 1, dimension): row k for id k
    ids = graph.node("Squeeze", [x, graph.constant(f"{layer.name}/channel_axis", [2], np.int64)], f"{layer.name}/ids")  # (N, T)
    ids = graph.node("Cast", [ids], f"{layer.name}/integer_ids", to=7)  # 7: int64
    return graph.node("Gather", [graph.constant(f"{layer.name}/table", table), ids], f"{layer.name}/vectors", axis=0)  # (N, T, dimension)


def _window_attributes(window):
    """kernel_shape, strides, dilations and pads of an ONNX 1-D window from an lstmlab `Window`."""
    attributes = {"kernel_shape": [window.size], "strides": [window.stride]}
    if window.padding == "same" and window.stride > 1:
        attributes["auto_pad"] = "SAME_UPPER"  # the padding depends on T; the odd step goes after, as in MATLAB
    else:
        attributes["pads"] = [int(p) for p in window.pads(1)]  # the same for every length
    return attributes


def _export_convolution(graph, layer, x):
    W = _float64(layer.weights).transpose(2, 1, 0)  # (k, C, K) -> (K, C, k)
    inputs = [graph.constant(f"{layer.name}/W", W), graph.constant(f"{layer.name}/b", _float64(layer.bias))]
    return graph.over_time(x, "Conv", inputs, layer.name, dilations=[layer.window.dilation], **_window_attributes(layer.window))


def _export_max_pooling(graph, layer, x):
    return graph.over_time(x, "MaxPool", [], layer.name, **_window_attributes(layer.window))


def _export_average_pooling(graph, layer, x):
    count_padding = int(layer.padding_value == 0)  # padding_value=0: the layer's padding counts as zeros
    return graph.over_time(x, "AveragePool", [], layer.name, count_include_pad=count_padding, **_window_attributes(layer.window))


def _export_batch_normalization(graph, layer, x):
    """Prediction-time batch normalization, scale * (x - mu) / sqrt(sigma^2 + epsilon) + offset, as a * x + c."""
    mu, sigma2 = _float64(layer.trained_mean), _float64(layer.trained_variance)
    a = _float64(layer.scale) / np.sqrt(sigma2 + layer.epsilon)
    y = graph.node("Mul", [x, graph.constant(f"{layer.name}/a", a)], f"{layer.name}/scaled")
    return graph.node("Add", [y, graph.constant(f"{layer.name}/c", _float64(layer.offset) - a * mu)], f"{layer.name}/output")


def _one_node(op, **attributes):
    """An exporter for a layer that is one attribute-only ONNX node: softmax, relu, sigmoid, global pooling."""

    def export(graph, layer, x):
        return graph.node(op, [x], f"{layer.name}/{op}", **attributes)

    return export


def _identity(graph, layer, x):
    """Dropout (off in prediction) and flatten of vector sequences change nothing."""
    return x


# layer class -> the function that writes it: (graph, layer, input name) -> output name
EXPORTERS = {
    SequenceInputLayer: _export_input,
    # one ONNX LSTM, GRU or RNN node each; a projected LSTM as an LSTM with the weights W Q_i^T, R Q_o^T (the compression is lost)
    **dict.fromkeys((LSTMLayer, BiLSTMLayer, ProjectedLSTMLayer, GRULayer, BiGRULayer, RNNLayer, BiRNNLayer), _export_recurrent),
    FullyConnectedLayer: _export_fully_connected,
    SoftmaxLayer: _one_node("Softmax", axis=-1),
    ReluLayer: _one_node("Relu"),
    SigmoidLayer: _one_node("Sigmoid"),
    DropoutLayer: _identity,
    FlattenLayer: _identity,
    WordEmbeddingLayer: _export_embedding,
    Convolution1DLayer: _export_convolution,
    MaxPooling1DLayer: _export_max_pooling,
    AveragePooling1DLayer: _export_average_pooling,
    GlobalMaxPooling1DLayer: _one_node("ReduceMax", axes=[1], keepdims=0),  # (N, T, C) -> (N, C)
    GlobalAveragePooling1DLayer: _one_node("ReduceMean", axes=[1], keepdims=0),
    BatchNormalizationLayer: _export_batch_normalization,
}


def _export_model(net, onnx):
    """The ONNX model of a network, checked; raises before anything is written."""
    if not isinstance(net, Network):
        raise TypeError(f"export_onnx: net must be an ll.Network; got {type(net).__name__}. Wrap layers with ll.Network([...]).")
    if net.input_size == "auto" or not isinstance(net.layers[0], SequenceInputLayer):
        raise ValueError(
            "export_onnx: the network has no sequence_input_layer, so the file could not say how many channels it reads; "
            "put ll.sequence_input_layer(C) first."
        )
    for layer in net.layers:
        if type(layer) not in EXPORTERS:
            row = BY_CLASS.get(type(layer))
            why = row.no_onnx if row else "is not a layer of lstmlab.layers.REGISTRY"
            exportable = ", ".join(sorted(cls.kind for cls in EXPORTERS))
            raise _unsupported(layer, f"has no ONNX export: it {why}", f"lstmlab exports layers of the kinds {exportable}; remove or replace this one")
    graph, x = _Graph(onnx), "input"
    with torch.no_grad():
        for layer in net.layers:
            x = EXPORTERS[type(layer)](graph, layer, x)
    graph.node("Identity", [x], "output")
    float32 = onnx.TensorProto.FLOAT
    time = "time" if net.output_lengths(2**20)[-1] == 2**20 else "output_time"  # convolution or pooling may change T
    output_shape = ["batch", time, net.output_size] if net.returns_sequence else ["batch", net.output_size]
    model = onnx.helper.make_model(
        onnx.helper.make_graph(
            graph.nodes,
            "lstmlab",
            [onnx.helper.make_tensor_value_info("input", float32, ["batch", "time", net.input_size])],
            [onnx.helper.make_tensor_value_info("output", float32, output_shape)],
            graph.initializers,
        ),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="lstmlab",
        producer_version=__version__,
        ir_version=IR_VERSION,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(net, path):
    """Write a network to an ONNX file (MATLAB's exportONNXNetwork), opset 17, float32.

    The file reads "input", (batch, time, C) batch first, and writes "output", (batch, time, K)
    or (batch, K) for a network that outputs one vector per sequence; batch and time are dynamic
    axes. It computes what `ll.predict` computes for sequences of one length (no padding).

    Exported: sequence input with any named normalization (as (x - center) / scale), LSTM, GRU
    (every reset_gate_mode) and RNN layers, forward, reverse (direction="reverse") or bidirectional
    (BiLSTM, BiGRU, BiRNN), and projected LSTM layers, with output_mode "sequence", "last" or "final",
    their gate and state activations (ONNX's Sigmoid, HardSigmoid alpha 0.2 beta 0.5, Tanh,
    Softsign, Relu) and initial states; fully connected, softmax, relu, sigmoid, dropout (nothing
    in prediction), flatten of vectors, word embedding (a Gather), 1-D convolution, max and
    average pooling over time, global pooling, batch normalization (its trained statistics).
    Image sequences (2-D convolution, folding) are refused with a ValueError naming the layer.

    A projected LSTM becomes an ONNX LSTM with the weights W Q_i^T and R Q_o^T: the same
    numbers, without the compression. The model is built and checked in memory, then written to a
    temporary file beside `path` and renamed, so a failure leaves nothing at `path`.

    Args:
        net: an `ll.Network` whose first layer is a `sequence_input_layer`.
        path: the file to write, by convention ending in .onnx.
    """
    onnx = require_onnx("export_onnx")
    model = _export_model(net, onnx)
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"export_onnx: the folder {path.parent} does not exist; create it first or give another path.")
    saving.write(path, lambda f: f.write(model.SerializeToString()))  # whole or not at all, as net.save writes

