"""ONNX files: `ll.export_onnx(net, path)` and `ll.import_onnx(path)` (MATLAB's exportONNXNetwork and
importNetworkFromONNX).

    ll.export_onnx(net, "net.onnx")     # an lstmlab network -> an ONNX file (opset 17, float32)
    net = ll.import_onnx("net.onnx")    # an ONNX chain of LSTM, GRU, RNN, Gemm, ... -> an ll.Network

The conversion is mostly about gate order. lstmlab stores the rows of W, R and b in MATLAB's order,
LSTM i, f, g, o and GRU r, z, n; ONNX's LSTM operator orders them i, o, f, c (c is our g) and its
GRU z, r, h (h is our candidate n). ONNX also keeps an input bias Wb and a recurrent bias Rb where
an lstmlab LSTM (and RNN: one block of rows, no gates) keeps their sum b; a GRU's reset gate mode
becomes ONNX's linear_before_reset:

    lstmlab reset_gate_mode                 ONNX GRU
    "after-multiplication"                  linear_before_reset=1, Rb = 0
    "recurrent-bias-after-multiplication"   linear_before_reset=1, Rb = the recurrent bias
    "before-multiplication"                 linear_before_reset=0, Rb = 0

ONNX's recurrent operators read time first, (T, N, C), and output (T, D, N, H): the exported
graph transposes around them, so that the file reads and writes batch first like lstmlab,
(N, T, C) in and (N, T, K) or (N, K) out, with the batch size N and the sequence length T left
free (dynamic axes "batch" and "time"). The ONNX file computes what `ll.predict` computes for a
mini-batch of sequences of one length (no padding), in float32. Imported graphs may read time first
or batch first (see `import_onnx`); the imported network always takes batch-first data.

`onnx` (and `onnxruntime`, to run a file) are optional: `pip install lstmlab[onnx]`.
"""

import math
import warnings
from pathlib import Path

import numpy as np
import torch

from . import saving
from ._version import __version__
from .layers import (
    AveragePooling1DLayer,
    BatchNormalizationLayer,
    BiGRULayer,
    BiLSTMLayer,
    BiRNNLayer,
    Convolution1DLayer,
    FullyConnectedLayer,
    GlobalAveragePooling1DLayer,
    GlobalMaxPooling1DLayer,
    GRULayer,
    LSTMLayer,
    MaxPooling1DLayer,
    RecurrentLayer,
    ReluLayer,
    RNNLayer,
    SequenceInputLayer,
    SigmoidLayer,
    SoftmaxLayer,
    WordEmbeddingLayer,
)
from .network import Network
from .normalization import STATISTICS, center_and_scale

OPSET = 17  # ONNX's LSTM and GRU last changed in opset 14; onnxruntime runs 17 everywhere
IR_VERSION = 8  # the IR version that goes with opset 17, readable by older runtimes too

# The gate row blocks in ONNX's order, named as lstmlab names them (g is ONNX's c, n its h);
# lstmlab's own order is the layers' gate_names.
ONNX_GATES = {"lstm": ("i", "o", "f", "g"), "gru": ("z", "r", "n"), "rnn": ("a",)}
# ONNX's default activations of each operator, per direction
DEFAULT_ACTIVATIONS = {"lstm": ["Sigmoid", "Tanh", "Tanh"], "gru": ["Sigmoid", "Tanh"], "rnn": ["Tanh"]}

# lstmlab's activation name -> (ONNX activation, its alpha, its beta). MATLAB's hard-sigmoid,
# max(0, min(1, 0.2 x + 0.5)), is ONNX's HardSigmoid with alpha 0.2, beta 0.5.
ACTIVATIONS = {
    "sigmoid": ("Sigmoid", None, None),
    "hard-sigmoid": ("HardSigmoid", 0.2, 0.5),
    "tanh": ("Tanh", None, None),
    "softsign": ("Softsign", None, None),
    "relu": ("Relu", None, None),
}
HARD_SIGMOID_DEFAULTS = (0.2, 0.5)  # ONNX's defaults of alpha and beta
# The ONNX activations that read an alpha, and a beta, from activation_alpha / activation_beta.
WITH_ALPHA = {"Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu"}
WITH_BETA = {"Affine", "ScaledTanh", "HardSigmoid"}


def _require_onnx(where):
    """The `onnx` package, or an error that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{where}: needs the onnx package, which is not installed; pip install lstmlab[onnx].") from None
    return onnx


def _numpy(tensor):
    return tensor.detach().cpu().double().numpy()


def _rows(matrix, source, target):
    """Reorder the gate row blocks of a (k*H, ...) array from gate order `source` to `target`."""
    blocks = np.split(np.asarray(matrix), len(source))
    return np.concatenate([blocks[source.index(gate)] for gate in target])


# ============================================================================================
# export
# ============================================================================================


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
    stats = {name: _numpy(getattr(layer, name)) for name in STATISTICS[layer.normalization]}
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
        W.append(_rows(_numpy(W_d), *order))  # (kH, C)
        R.append(_rows(_numpy(R_d), *order))  # (kH, H)
        b_W, b_R = layer.split_bias(b_d)  # an LSTM's b is all input bias: Rb = 0
        Wb.append(_rows(_numpy(b_W), *order))  # (kH,)
        Rb.append(_rows(_numpy(b_R), *order))  # (kH,)
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
    W = _numpy(layer.weights)  # (K, C)
    y = graph.node("MatMul", [x, graph.constant(f"{layer.name}/W_transposed", W.T)], f"{layer.name}/Wx")  # (N, [T,] K)
    return graph.node("Add", [y, graph.constant(f"{layer.name}/b", _numpy(layer.bias))], f"{layer.name}/output")


def _export_embedding(graph, layer, x):
    """Token ids (N, T, 1) as rows of a table: with first_id=1 its row 0 is the zero vector (padding)."""
    table = _numpy(layer.weights).T  # (num_words, dimension): row k for id k + first_id
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
    W = _numpy(layer.weights).transpose(2, 1, 0)  # (k, C, K) -> (K, C, k)
    inputs = [graph.constant(f"{layer.name}/W", W), graph.constant(f"{layer.name}/b", _numpy(layer.bias))]
    return graph.over_time(x, "Conv", inputs, layer.name, dilations=[layer.window.dilation], **_window_attributes(layer.window))


def _export_max_pooling(graph, layer, x):
    return graph.over_time(x, "MaxPool", [], layer.name, **_window_attributes(layer.window))


def _export_average_pooling(graph, layer, x):
    count_padding = int(layer.padding_value == 0)  # padding_value=0: the layer's padding counts as zeros
    return graph.over_time(x, "AveragePool", [], layer.name, count_include_pad=count_padding, **_window_attributes(layer.window))


def _export_batch_normalization(graph, layer, x):
    """Prediction-time batch normalization, scale * (x - mu) / sqrt(sigma^2 + epsilon) + offset, as a * x + c."""
    mu, sigma2 = _numpy(layer.trained_mean), _numpy(layer.trained_variance)
    a = _numpy(layer.scale) / np.sqrt(sigma2 + layer.epsilon)
    y = graph.node("Mul", [x, graph.constant(f"{layer.name}/a", a)], f"{layer.name}/scaled")
    return graph.node("Add", [y, graph.constant(f"{layer.name}/c", _numpy(layer.offset) - a * mu)], f"{layer.name}/output")


def _one_node(op, **attributes):
    """An exporter for a layer that is one attribute-only ONNX node: softmax, relu, sigmoid, global pooling."""

    def export(graph, layer, x):
        return graph.node(op, [x], f"{layer.name}/{op}", **attributes)

    return export


def _identity(graph, layer, x):
    """Dropout (off in prediction) and flatten of vector sequences change nothing."""
    return x


# layer kind -> the function that writes it: (graph, layer, input name) -> output name
EXPORTERS = {
    "sequenceinput": _export_input,
    "lstm": _export_recurrent,
    "bilstm": _export_recurrent,
    "lstm_projected": _export_recurrent,  # an LSTM with the weights W Q_i^T, R Q_o^T (the compression is lost)
    "gru": _export_recurrent,
    "bigru": _export_recurrent,
    "rnn": _export_recurrent,
    "birnn": _export_recurrent,
    "fc": _export_fully_connected,
    "softmax": _one_node("Softmax", axis=-1),
    "relu": _one_node("Relu"),
    "sigmoid": _one_node("Sigmoid"),
    "dropout": _identity,
    "flatten": _identity,
    "embedding": _export_embedding,
    "conv1d": _export_convolution,
    "maxpool1d": _export_max_pooling,
    "avgpool1d": _export_average_pooling,
    "gmaxpool1d": _one_node("ReduceMax", axes=[1], keepdims=0),  # (N, T, C) -> (N, C)
    "gavgpool1d": _one_node("ReduceMean", axes=[1], keepdims=0),
    "batchnorm": _export_batch_normalization,
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
        if layer.kind not in EXPORTERS:
            exportable = ", ".join(sorted(EXPORTERS))
            raise _unsupported(layer, "has no ONNX export", f"lstmlab exports layers of the kinds {exportable}; remove or replace this one")
    graph, x = _Graph(onnx), "input"
    with torch.no_grad():
        for layer in net.layers:
            x = EXPORTERS[layer.kind](graph, layer, x)
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
    onnx = _require_onnx("export_onnx")
    model = _export_model(net, onnx)
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"export_onnx: the folder {path.parent} does not exist; create it first or give another path.")
    saving.write(path, lambda f: f.write(model.SerializeToString()))  # whole or not at all, as net.save writes


# ============================================================================================
# import
# ============================================================================================
#
# The importer walks the graph's nodes in order and gives every tensor one of these values:
# a NumPy array (a constant: weights, shapes that do not depend on the data), `_Data` (the
# network's activation, with the meaning of each of its axes), `_Dims` (the data's shape or part
# of it, as the axes it measures), `_FROM_SHAPE` (anything else computed from the data's shape),
# `_EverySequence` (a constant repeated for every sequence: an initial state) or `_FinalState` (a
# recurrent node's Y_h). Nodes on `_Data` become layers; the rest is plumbing, evaluated or checked.


class _Data:
    """The network's activation. axes: a label per axis, "N" (batch), "T" (time), "C" (channels),
    "D" (directions of the recurrent layer before), "1" (an axis of size one); directions: the size
    of "D"; layers: how many layers had been made when it was computed (a chain reads the newest).
    Token ids, before their embedding, have no "C": axes ("N", "T")."""

    def __init__(self, axes, layers, directions=1):
        self.axes, self.layers, self.directions = tuple(axes), layers, directions

    def with_axes(self, axes):
        return _Data(axes, self.layers, self.directions)


class _EverySequence:
    def __init__(self, value):
        self.value = np.asarray(value)


class _Unused:
    """An output lstmlab has no place for (an LSTM's final cell state Y_c, a dropout mask): an error if read."""

    def __init__(self, what):
        self.what = what


class _FinalState:
    """The final hidden state Y_h (D, N, H) of a recurrent node: its layer with output_mode="last"
    ("final" if bidirectional), once something reads it. layer: how many layers there were with
    that one (its `_Data.layers`)."""

    def __init__(self, node, layer, directions):
        self.node, self.layer, self.directions = node, layer, directions


class _Dims:
    """The data's shape, or part of it (what Shape, Slice, Mul and Concat compute from it): one entry per
    dimension, the tuple of axis labels whose sizes it multiplies, or a constant int."""

    def __init__(self, entries):
        self.entries = list(entries)


_FROM_SHAPE = object()
SHAPE_OPS = {"Slice", "Gather", "Squeeze", "Unsqueeze", "Reshape", "Transpose", "Identity", "Expand"}  # on zeros: zeros

# MATLAB's InputDataFormats letters -> the importer's axis labels (B is the batch, N here)
INPUT_FORMATS = {"BTC": ("N", "T", "C"), "TBC": ("T", "N", "C"), "BT": ("N", "T"), "TB": ("T", "N")}
# dim_param names that say what an input axis is (lower case)
BATCH_NAMES = {"n", "b", "batch", "batch_size", "batchsize", "num_sequences"}
TIME_NAMES = {"t", "time", "time_steps", "steps", "seq", "seq_len", "sequence", "sequence_length", "length"}
# Operators the layout search passes through unchanged (the recurrent node decides the layout)
PER_STEP_OPS = {"Add", "Sub", "Mul", "Div", "Cast", "Identity", "Dropout", "Relu", "Sigmoid", "MatMul"}
RECURRENT_OPS = ("LSTM", "GRU", "RNN")


def _attributes(node, onnx):
    """A node's attributes as Python values, strings decoded."""

    def decoded(value):
        return value.decode() if isinstance(value, bytes) else value

    values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {name: [decoded(v) for v in value] if isinstance(value, list) else decoded(value) for name, value in values.items()}


def _named(node):
    """A node's name for messages, or the output it writes where the exporter left it unnamed."""
    return repr(node.name) if node.name else f"writing {next((o for o in node.output if o), '')!r}"  # an output it leaves out is ''


def _needed(graph, output):
    """The nodes that the graph output `output` depends on, in graph order."""
    wanted, kept = {output}, []
    for node in reversed(graph.node):
        if wanted & set(node.output):
            kept.append(node)
            wanted |= {name for name in node.input if name}
    return kept[::-1]


def _layout_from_names(value_info):
    """The input's axis labels from its dim names ("batch", "time", ...), or None where they do not say."""
    dims = value_info.type.tensor_type.shape.dim
    labels = ["N" if d.dim_param.lower() in BATCH_NAMES else "T" if d.dim_param.lower() in TIME_NAMES else None for d in dims[:2]]
    return (*labels, "C")[: len(dims)] if sorted(map(str, labels)) == ["N", "T"] else None


def _layout_from_graph(nodes, onnx, name, rank):
    """The input's axis labels as the first recurrent node that reads it says (its layout attribute),
    following the input through transposes, per-step operators and an embedding; None if none does."""
    tracked = {name: list(range(rank))}  # tensor -> which input axis each of its axes is (None: a new axis)
    for node in nodes:
        reads = [k for k, i in enumerate(node.input) if i in tracked]
        if not reads:
            continue
        axes = tracked[node.input[reads[0]]]
        if node.op_type in RECURRENT_OPS and reads == [0]:
            order = ("N", "T", "C") if _attributes(node, onnx).get("layout", 0) == 1 else ("T", "N", "C")
            labels = {axis: order[k] for k, axis in enumerate(axes) if axis is not None}
            return tuple(labels.get(axis, "C") for axis in range(rank))
        if node.op_type == "Transpose":
            tracked[node.output[0]] = [axes[p] for p in _attributes(node, onnx).get("perm", range(len(axes))[::-1])]
        elif node.op_type in PER_STEP_OPS:
            tracked[node.output[0]] = axes
        elif node.op_type == "Gather" and reads == [1]:  # an embedding: the ids' axes, then the vectors'
            tracked[node.output[0]] = [*axes, None]
    return None


class _Importer:
    """Turns the nodes of one ONNX graph into layer specifications (factory, options), in order."""

    def __init__(self, model, onnx, where, input_format, output):
        self.onnx, self.where = onnx, where
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), OPSET)
        self.graph = model.graph
        self.specs = []  # [layer factory, its options], in order
        self.values = {t.name: onnx.numpy_helper.to_array(t) for t in self.graph.initializer}
        self.output = self._output(output)
        self.nodes = _needed(self.graph, self.output)
        self.input_format = input_format
        self.last_from_final = set()  # the layers given output_mode="last" for their Y_h: their sequences are gone

    # --- the walk ------------------------------------------------------------------------------

    def _output(self, output):
        """The graph output to import: the one named, else the first (with a warning when there are others)."""
        names = [o.name for o in self.graph.output]
        if output is None:
            if len(names) > 1:
                warnings.warn(
                    f"{self.where}: the graph has {len(names)} outputs ({', '.join(map(repr, names))}); the network computes the "
                    f"first, {names[0]!r}. Give output= to import another.",
                    stacklevel=3,
                )
            return names[0]
        if output not in names:
            raise ValueError(f"{self.where}: output={output!r} is not an output of the graph; its outputs are {', '.join(map(repr, names))}.")
        return output

    def network(self):
        read = {name for node in self.nodes for name in node.input}
        data_inputs = [i for i in self.graph.input if i.name not in self.values and i.name in read | {self.output}]
        if len(data_inputs) != 1:
            names = ", ".join(repr(i.name) for i in data_inputs)
            raise ValueError(
                f"{self.where}: output {self.output!r} depends on {len(data_inputs)} inputs besides the weights ({names}); lstmlab "
                f"imports graphs with one, the sequences (N, T, C) or token ids (N, T)."
            )
        x = data_inputs[0]
        self.values[x.name] = _Data(self._input_axes(x), 1)
        self.specs.append([SequenceInputLayer, {"input_size": self._channels(x)}])
        for node in self.nodes:
            self._step(node)
        out = self.values.get(self.output)
        if isinstance(out, _Unused):
            raise ValueError(f"{self.where}: the graph's output {self.output!r} is {out.what}, which lstmlab networks do not output; import another output.")
        if isinstance(out, _FinalState):
            out = self._final_state(out, None)
        if isinstance(out, _Data) and out.layers != len(self.specs):
            raise ValueError(
                f"{self.where}: the graph's output {self.output!r} is not what its last layer computes; lstmlab imports chains of layers."
            )
        labels = None if not isinstance(out, _Data) else [a for a in out.axes if not (a == "1" or (a == "D" and out.directions == 1))]
        if labels and "D" in labels and "C" in labels and labels.index("D") < labels.index("C"):
            labels.remove("D")  # a bidirectional Y (T, D, N, H) itself: lstmlab's D*H channels, forward first
        if labels is None or sorted(labels) not in (["C", "N", "T"], ["C", "N"]) or (out.layers in self.last_from_final and "T" in labels):
            got = out.axes if isinstance(out, _Data) else "a value that does not depend on the input"
            raise ValueError(
                f"{self.where}: the graph's output {self.output!r} has axes {got}; lstmlab imports outputs with the axes "
                f"N, T, C or N, C in any order (N batch, T time, C channels, D directions, 1 an axis of size one)."
            )
        return Network([factory(**options) for factory, options in self.specs])

    def _input_axes(self, value_info):
        """The labels of the input's axes: from input_format, the dim names or the first recurrent node; batch first if none says."""
        rank = len(value_info.type.tensor_type.shape.dim)
        formats = [f for f in INPUT_FORMATS if len(f) == rank] or list(INPUT_FORMATS)
        given = None
        if self.input_format is not None:
            given = INPUT_FORMATS.get(self.input_format) if isinstance(self.input_format, str) else None
            if given is None or len(given) != rank:
                raise ValueError(
                    f"{self.where}: input_format must be one of {', '.join(map(repr, formats))} for the graph's input "
                    f"{value_info.name!r} of {rank} axes (B batch, T time, C channels); got {self.input_format!r}."
                )
        found = {
            "its dim names": _layout_from_names(value_info),
            "the recurrent node that reads it": _layout_from_graph(self.nodes, self.onnx, value_info.name, rank),
        }
        said = {source: axes for source, axes in found.items() if axes is not None}
        if given is not None:
            said = {f"input_format={self.input_format!r}": given, **said}
        if len(set(said.values())) > 1:
            views = ", ".join(f"{''.join('B' if a == 'N' else a for a in axes)} from {source}" for source, axes in said.items())
            raise ValueError(f"{self.where}: the layout of input {value_info.name!r} is contradictory: {views}; give the input_format that is true.")
        return next(iter(said.values()), ("N", "T", "C")[:rank])

    def _channels(self, value_info):
        """The input layer's size: the channels C of float sequences, or 1 for integer token ids (N, T)."""
        tensor = value_info.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        T = self.onnx.TensorProto
        if tensor.elem_type in (T.INT64, T.INT32) and len(dims) == 2:
            return 1
        if tensor.elem_type != T.FLOAT or len(dims) != 3 or not dims[self.values[value_info.name].axes.index("C")]:
            raise ValueError(
                f"{self.where}: the graph's input {value_info.name!r} must be float32 sequences (N, T, C) with a fixed number of "
                f"channels C, or int64 token ids (N, T); got element type {tensor.elem_type} and shape {dims}."
            )
        return dims[self.values[value_info.name].axes.index("C")]

    def _step(self, node):
        for name in node.input:
            if name and name not in self.values:
                raise ValueError(f"{self.where}: node {_named(node)} ({node.op_type}) reads {name!r}, which nothing before it computes.")
        inputs = [self.values[name] if name else None for name in node.input]
        inputs = [self._final_state(v, node) if isinstance(v, _FinalState) else v for v in inputs]
        for value in inputs:
            if isinstance(value, _Unused):
                raise self._refuse(node, f"reads {value.what}, which lstmlab networks do not output", "read the output sequence Y or the final hidden state Y_h")
        if any(isinstance(v, _Data) for v in inputs):
            outputs = self._data_node(node, inputs)
        elif any(isinstance(v, _EverySequence) for v in inputs):
            outputs = self._state_node(node, inputs)
        elif any(v is _FROM_SHAPE or isinstance(v, _Dims) for v in inputs):
            outputs = self._shape_node(node, inputs)
        else:
            outputs = self._constant_node(node, inputs)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for name, value in zip(node.output, outputs):
            if name:
                self.values[name] = value

    def _final_state(self, final, reader):
        """Y_h read (by node `reader`, or as the graph's output): its layer hands on its final state, (D, N, H).

        That is output_mode="last" for a one-way layer (a reverse one's "last" is its final state) and
        "final" for a bidirectional one: its backward direction's final state is its output at step 1.
        """
        who = f"node {_named(reader)} ({reader.op_type})" if reader is not None else f"the graph's output {self.output!r}"
        node = final.node
        if final.layer != len(self.specs):
            raise ValueError(
                f"{self.where}: {who} reads the final hidden state Y_h of node {_named(node)} ({node.op_type}) after layers that read "
                f"its sequence Y; lstmlab layers hand on one of the two: read Y or Y_h."
            )
        self.specs[final.layer - 1][1]["output_mode"] = "final" if final.directions > 1 else "last"
        self.last_from_final.add(final.layer)
        return _Data(("D", "N", "C"), final.layer, final.directions)

    def _refuse(self, node, why, fix):
        return ValueError(f"{self.where}: node {_named(node)} ({node.op_type}) {why}; {fix}.")

    def _constant_node(self, node, inputs):
        """A node that depends on constants only: computed now with ONNX's reference evaluator."""
        from onnx.reference import ReferenceEvaluator

        feeds = {name: value for name, value in zip(node.input, inputs) if name}
        try:
            return list(ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds))
        except Exception as error:  # an operator or a case the reference evaluator lacks
            raise self._refuse(node, f"could not be computed from its constant inputs ({error})", "simplify the graph's constant plumbing") from None

    def _shape_node(self, node, inputs):
        """Plumbing on the data's shape: the shape's own arithmetic (`_dims`), or zeros or a constant for
        every sequence (initial states)."""
        dims = self._dims(node, inputs)
        if dims is not None:
            return dims
        if node.op_type == "ConstantOfShape":
            value = _attributes(node, self.onnx).get("value")
            return _EverySequence(0.0 if value is None else self.onnx.numpy_helper.to_array(value).reshape(()))
        if node.op_type == "Expand" and isinstance(inputs[0], np.ndarray):
            return _EverySequence(inputs[0])
        return [_FROM_SHAPE] * len(node.output)

    def _dims(self, node, inputs):
        """Slice, Gather, Concat and Mul on the data's shape, and the reshapes of one dimension, as the axes they
        measure (what torch's dynamo exporter writes for a reshape's target); None for anything else."""
        op, first = node.op_type, inputs[0]
        constant = all(isinstance(v, (np.ndarray, _Dims)) or v is None for v in inputs)
        if not constant or not isinstance(first, _Dims) and op != "Concat":
            return None
        if op == "Slice" and all(v is None or isinstance(v, np.ndarray) for v in inputs[1:]):
            starts, ends, axes, steps = (inputs[1:] + [None] * 4)[:4]
            if (axes is None or list(axes) in ([0], [-1])) and (steps is None or list(steps) == [1]):
                return _Dims(first.entries[int(starts[0]) : int(min(ends[0], 2**31))])
        if op == "Gather" and isinstance(inputs[1], np.ndarray):
            picked = [first.entries[int(k)] for k in np.atleast_1d(inputs[1])]
            return _Dims(picked)
        if op in ("Reshape", "Squeeze", "Unsqueeze", "Cast", "Identity") and len(first.entries) == 1:
            return first  # a one-dimension vector stays one dimension
        if op == "Mul" and all(isinstance(v, _Dims) and len(v.entries) == 1 for v in inputs):
            a, b = (v.entries[0] for v in inputs)
            return _Dims([a + b]) if isinstance(a, tuple) and isinstance(b, tuple) else None
        if op == "Concat":
            entries = [e for v in inputs for e in (v.entries if isinstance(v, _Dims) else [int(k) for k in np.atleast_1d(v)])]
            return _Dims(entries)
        return None

    def _state_node(self, node, inputs):
        """Plumbing on zero initial states (a stacked torch LSTM slices its layers' zeros): zeros again."""
        state = inputs[0]
        if node.op_type not in SHAPE_OPS or not isinstance(state, _EverySequence) or state.value.any():
            raise self._refuse(
                node, f"computes {node.op_type} on an initial state",
                "lstmlab imports initial states that are zeros (sliced or reshaped), or one constant given straight to the LSTM or GRU",
            )
        return [_EverySequence(0.0)] * len(node.output)

    def _data_node(self, node, inputs):
        handler = getattr(self, f"_op_{node.op_type}", None)
        if handler is None:
            supported = ", ".join(sorted(name[4:] for name in dir(self) if name.startswith("_op_")))
            raise self._refuse(node, "has no lstmlab layer", f"lstmlab imports chains of {supported} nodes (and constant plumbing)")
        data = next(v for v in inputs if isinstance(v, _Data))
        if data.layers != len(self.specs):
            raise self._refuse(node, "reads an activation from before the newest layer: the graph branches", "lstmlab imports chains of layers")
        if sum(isinstance(v, _Data) for v in inputs) > 1:
            raise self._refuse(node, "combines two activations", "lstmlab imports chains of layers, one input each")
        if data.layers in self.last_from_final and "T" in data.axes:
            raise self._refuse(node, "reads the output sequence Y of a recurrent node whose final state Y_h the graph reads too", "read one of the two")
        return handler(node, data, inputs, _attributes(node, self.onnx))

    def _add(self, factory, **options):
        """Append a layer; returns how many layers there are now (the `layers` of its output)."""
        self.specs.append([factory, options])
        return len(self.specs)

    # --- plumbing on the data -----------------------------------------------------------------------

    def _op_Shape(self, node, data, inputs, attributes):
        return _Dims((axis,) for axis in data.axes[attributes.get("start", 0) : attributes.get("end")])

    def _op_Identity(self, node, data, inputs, attributes):
        return data

    def _op_Dropout(self, node, data, inputs, attributes):
        return [data, _Unused(f"the dropout mask of node {_named(node)}")]  # prediction: no dropout

    def _op_Transpose(self, node, data, inputs, attributes):
        perm = attributes.get("perm", list(range(len(data.axes)))[::-1])
        return data.with_axes([data.axes[p] for p in perm])

    def _axes(self, node, inputs, attributes, rank):
        axes = attributes.get("axes", inputs[1] if len(inputs) > 1 and inputs[1] is not None else None)
        if axes is None or not isinstance(axes, (list, np.ndarray)):
            raise self._refuse(node, "has no constant axes", "give the axes as a constant")
        return sorted(int(a) % rank for a in np.atleast_1d(axes))

    def _op_Squeeze(self, node, data, inputs, attributes):
        axes = self._axes(node, inputs, attributes, len(data.axes))
        ids = data.layers == 1 and self.specs[0][1]["input_size"] == 1  # the one channel of token ids, as export_onnx writes them
        for a in axes:
            if not (data.axes[a] == "1" or (data.axes[a] == "D" and data.directions == 1) or (data.axes[a] == "C" and ids)):
                raise self._refuse(node, f"removes the {data.axes[a]!r} axis of an activation with axes {data.axes}", "squeeze only axes of size one")
        return data.with_axes([label for k, label in enumerate(data.axes) if k not in axes])

    def _op_Unsqueeze(self, node, data, inputs, attributes):
        axes = self._axes(node, inputs, attributes, len(data.axes) + 1)
        labels = list(data.axes)
        for a in axes:
            labels.insert(a, "1")
        return data.with_axes(labels)

    def _op_Reshape(self, node, data, inputs, attributes):
        """Only the reshapes that merge the direction axis into the channels (..., D, H) -> (..., D*H), given as
        [0, ..., 0, -1] or as the data's own dimensions (`_Dims`)."""
        if isinstance(inputs[1], _Dims):
            entries = inputs[1].entries
            merged = {("D", "C"): "C", ("1", "C"): "C"}
            if all(isinstance(e, tuple) for e in entries) and sum(entries, ()) == data.axes and all(len(e) == 1 or e in merged for e in entries):
                return _Data([merged.get(e, e[0]) for e in entries], data.layers, data.directions if ("D",) in entries else 1)
            raise self._refuse(node, f"reshapes an activation with axes {data.axes} to the dimensions {entries}", "lstmlab imports reshapes that merge the directions into the channels")
        shape = [int(s) for s in np.atleast_1d(inputs[1])] if isinstance(inputs[1], np.ndarray) else None
        keep = len(data.axes) - 2
        if shape == [0] * len(data.axes):
            return data
        if shape == [0] * keep + [-1] and data.axes[keep:] in (("D", "C"), ("1", "C")):
            return _Data([*data.axes[:keep], "C"], data.layers)
        raise self._refuse(
            node, f"reshapes an activation with axes {data.axes} to {shape}",
            "lstmlab imports reshapes that merge the directions into the channels, [0, ..., 0, -1]",
        )

    def _op_Cast(self, node, data, inputs, attributes):
        """Token ids to integers, or an activation to float32: nothing changes."""
        if attributes.get("to") != self.onnx.TensorProto.FLOAT and "C" in data.axes:
            raise self._refuse(node, f"casts an activation to ONNX type {attributes.get('to')}", "lstmlab casts only token ids to integers")
        return data

    def _op_Gather(self, node, data, inputs, attributes):
        """An embedding (rows of a constant table picked by the token ids), or taking the last time step."""
        if inputs[1] is data:
            return self._embedding(node, data, inputs[0], attributes)
        # taking the last time step: the recurrent layer before gets output_mode="last"
        axis = attributes.get("axis", 0) % len(data.axes)
        index = inputs[1]
        if data.axes[axis] != "T" or not isinstance(index, np.ndarray) or index.shape != () or int(index) != -1:
            raise self._refuse(
                node, f"gathers along axis {data.axes[axis]!r} of an activation with axes {data.axes}",
                "lstmlab imports only taking the last time step, index -1 of the time axis",
            )
        recurrent = [k for k, (factory, _) in enumerate(self.specs) if issubclass(factory, RecurrentLayer)]
        after = {factory for factory, _ in self.specs[recurrent[-1] + 1 :]} if recurrent else set()
        per_step = {FullyConnectedLayer, ReluLayer, SigmoidLayer, SoftmaxLayer, BatchNormalizationLayer}  # taking the last step commutes with these
        if not recurrent or self.specs[recurrent[-1]][1]["output_mode"] != "sequence" or not after <= per_step:
            raise self._refuse(
                node, "takes the last time step, but no recurrent layer comes before it with only per-step layers between",
                "take the last step right after an LSTM or GRU",
            )
        if self.specs[recurrent[-1]][1].get("direction") == "reverse":
            raise self._refuse(
                node, "takes the last time step of a reverse node, whose output there has read x_T alone; an lstmlab layer with "
                "direction='reverse' hands on its final state (after reading back to x_1) with output_mode='last'",
                "read the node's final hidden state Y_h, or its whole output Y",
            )
        self.specs[recurrent[-1]][1]["output_mode"] = "last"
        return data.with_axes([label for k, label in enumerate(data.axes) if k != axis])

    # --- layers ------------------------------------------------------------------------------------

    def _embedding(self, node, ids, table, attributes):
        """Gather(table (V, E), ids): a word embedding that takes the same ids. A table whose row 0 is
        zeros is lstmlab's own (ids 1 to V-1, 0 for padding, as export_onnx writes it); any other
        counts from 0, as torch's nn.Embedding does."""
        if "C" in ids.axes or self.specs[-1][0] is not SequenceInputLayer or not isinstance(table, np.ndarray) or table.ndim != 2 or attributes.get("axis", 0) != 0:
            raise self._refuse(node, "is not Gather(constant table (V, E), token ids (N, T)) along axis 0", "lstmlab imports this Gather as a word embedding")
        if not table[0].any():
            layers = self._add(WordEmbeddingLayer, dimension=table.shape[1], num_words=len(table) - 1, weights=table[1:].T)
        else:
            layers = self._add(WordEmbeddingLayer, dimension=table.shape[1], num_words=len(table), weights=table.T, first_id=0)
        return _Data((*ids.axes, "C"), layers)

    def _recurrent(self, node, data, inputs, attributes):
        """An ONNX LSTM, GRU or RNN node: a recurrent layer, its gate rows in lstmlab's order."""
        family = node.op_type.lower()  # "lstm", "gru" or "rnn": the keys of ONNX_GATES
        self._check_recurrent_attributes(node, attributes)
        layout = attributes.get("layout", 0)
        expected = ("N", "T", "C") if layout == 1 else ("T", "N", "C")
        if data.axes != expected:
            why = f"reads axes {data.axes}, but with layout={layout} ONNX's {node.op_type} reads {expected}"
            raise self._refuse(node, why, "give import_onnx the input_format of the graph's input ('BTC' or 'TBC')")
        # inputs: X, W, R, B, sequence_lens, initial_h, then for an LSTM initial_c and the peepholes P
        _, W, R, B, sequence_lens, *states = inputs + [None] * (8 - len(inputs))
        states, peepholes = states[: 2 if family == "lstm" else 1], states[2] if family == "lstm" else None
        if not all(isinstance(v, np.ndarray) for v in (W, R)) or not (B is None or isinstance(B, np.ndarray)):
            raise self._refuse(node, "has weights that are not constants", "store W, R and B as initializers")
        if sequence_lens is not None:
            raise self._refuse(node, "has sequence_lens", "lstmlab runs every sequence for all T steps: export without sequence_lens")
        if peepholes is not None and np.any(peepholes):
            raise self._refuse(node, "has peephole weights P, which lstmlab layers do not compute", "export an LSTM without peepholes")
        D, H = W.shape[0], R.shape[-1]
        k = len(ONNX_GATES[family])
        if attributes.get("hidden_size", H) != H or W.shape[1] != k * H or R.shape != (D, k * H, H) or (B is not None and B.shape != (D, 2 * k * H)):
            why = f"has hidden_size={attributes.get('hidden_size')} with W {W.shape}, R {R.shape}, B {None if B is None else B.shape}"
            raise self._refuse(node, why, f"give W (D, {k}H, C), R (D, {k}H, H) and B (D, {2 * k}H) for H = hidden_size")
        direction = attributes.get("direction", "forward")
        if D != (2 if direction == "bidirectional" else 1):
            raise self._refuse(node, f"has direction={direction!r} with weights for {D} directions", "give W, R and B one block per direction")
        factory, options = self._recurrent_weights(family, W, R, B, attributes.get("linear_before_reset", 0))
        options.update(self._activations(node, attributes, family, D), output_mode="sequence")
        if direction == "reverse":
            options["direction"] = "reverse"  # a one-way layer that reads from the end: its Y_h is output_mode="last"
        state_names = ("hidden", "cell") if family == "lstm" else ("hidden",)
        for state_name, value in zip(state_names, states):
            state = self._initial_state(node, value, D, H, state_name)
            if state is not None:
                options[f"{state_name}_state"] = state
        layers = self._add(factory, num_hidden_units=H, **options)
        y = _Data(("N", "T", "D", "C") if layout == 1 else ("T", "D", "N", "C"), layers, D)
        return [y, _FinalState(node, layers, D), _Unused(f"the final cell state Y_c of node {_named(node)}")]

    def _check_recurrent_attributes(self, node, attributes):
        """Refuse every attribute value lstmlab's layers would not compute exactly. (The activations are
        `_activations`' and hidden_size is checked against the weights; onnx's checker refuses attributes
        the operator does not have.)"""
        if "clip" in attributes:
            raise self._refuse(node, f"has clip={attributes['clip']}, which lstmlab layers do not compute", "export the model without clip")
        if attributes.get("input_forget", 0) != 0:
            raise self._refuse(node, f"has input_forget={attributes['input_forget']}, which lstmlab layers do not compute", "export the model without input_forget")
        if attributes.get("layout", 0) not in (0, 1):
            raise self._refuse(node, f"has layout={attributes['layout']}; ONNX defines 0 and 1", "give layout 0 (time first) or 1 (batch first)")
        if attributes.get("linear_before_reset", 0) not in (0, 1):
            raise self._refuse(node, f"has linear_before_reset={attributes['linear_before_reset']}; ONNX defines 0 and 1", "give 0 or 1")
        direction = attributes.get("direction", "forward")
        if direction not in ("forward", "reverse", "bidirectional"):
            raise self._refuse(node, f"has direction={direction!r}; ONNX defines 'forward', 'reverse' and 'bidirectional'", "give one of these")

    _op_LSTM = _op_GRU = _op_RNN = _recurrent  # the handlers are found by name (_data_node), the family read from node.op_type

    @staticmethod
    def _recurrent_weights(family, W, R, B, linear_before_reset):
        """The layer class and its W, R, b (and reset gate mode) from ONNX's W, R and B = [Wb, Rb]."""
        D, kH, _ = W.shape
        B = np.zeros((D, 2 * kH)) if B is None else B
        order = (ONNX_GATES[family], {"lstm": LSTMLayer, "gru": GRULayer, "rnn": RNNLayer}[family].gate_names)
        Wb, Rb = B[:, :kH], B[:, kH:]
        options = {
            "input_weights": np.concatenate([_rows(W[d], *order) for d in range(D)]),  # (D*kH, C)
            "recurrent_weights": np.concatenate([_rows(R[d], *order) for d in range(D)]),  # (D*kH, H)
        }
        if family == "lstm":
            options["bias"] = np.concatenate([_rows(Wb[d] + Rb[d], *order) for d in range(D)])  # b = Wb + Rb
            return (BiLSTMLayer if D == 2 else LSTMLayer), options
        if family == "rnn":
            return (BiRNNLayer if D == 2 else RNNLayer), {**options, "bias": (Wb + Rb).reshape(-1)}  # one bias, as torch's b_ih + b_hh
        gru = BiGRULayer if D == 2 else GRULayer
        if not linear_before_reset:  # R_n (r * h): the recurrent bias is added outside, with the input bias
            bias = np.concatenate([_rows(Wb[d] + Rb[d], *order) for d in range(D)])  # (D*3H,)
            return gru, {**options, "bias": bias, "reset_gate_mode": "before-multiplication"}
        if not Rb.any():
            return gru, {**options, "bias": np.concatenate([_rows(Wb[d], *order) for d in range(D)]), "reset_gate_mode": "after-multiplication"}
        bias = np.concatenate([np.concatenate([_rows(Wb[d], *order), _rows(Rb[d], *order)]) for d in range(D)])  # per direction: input bias, then recurrent bias
        return gru, {**options, "bias": bias, "reset_gate_mode": "recurrent-bias-after-multiplication"}

    def _initial_state(self, node, value, D, H, state_name):
        """An initial state, zeros (None) or one (D*H,) vector for every sequence."""
        if value is None:
            return None
        array = value.value if isinstance(value, _EverySequence) else value if isinstance(value, np.ndarray) else None
        try:
            array = np.broadcast_to(array, (D, 1, H)) if array is not None else None
        except ValueError:
            array = None
        if array is None:
            raise self._refuse(
                node, f"starts from an initial {state_name} state that differs between sequences",
                "lstmlab imports zero initial states, or one constant (D, 1, H) state for every sequence",
            )
        return array.reshape(D * H) if array.any() else None

    def _activations(self, node, attributes, family, D):
        """gate_activation_function and state_activation_function (an RNN's activation) from ONNX's activations."""
        per_direction = len(DEFAULT_ACTIVATIONS[family])
        names = attributes.get("activations", DEFAULT_ACTIVATIONS[family] * D)
        alphas, betas = list(attributes.get("activation_alpha", [])), list(attributes.get("activation_beta", []))
        found = []
        for name in names:  # each activation that has an alpha (a beta) takes the next one, as onnxruntime reads them
            alpha = alphas.pop(0) if name in WITH_ALPHA and alphas else HARD_SIGMOID_DEFAULTS[0]
            beta = betas.pop(0) if name in WITH_BETA and betas else HARD_SIGMOID_DEFAULTS[1]
            match = [
                ours for ours, (theirs, a, b) in ACTIVATIONS.items()
                if theirs == name and (a is None or (math.isclose(alpha, a, abs_tol=1e-6) and math.isclose(beta, b, abs_tol=1e-6)))
            ]
            found.append(match[0] if match else name)
        unread = alphas or betas  # values no activation takes: what they were meant for is unclear
        if family == "rnn":
            if found != [found[0]] * D or found[0] not in ("tanh", "relu") or unread:
                raise self._refuse(node, f"has activations {names}", "lstmlab's rnn_layer takes Tanh or Relu")
            return {"activation": found[0]}
        gate, state = found[0], found[1]
        lstmlab_form = [gate, state, state][:per_direction] * D
        if found != lstmlab_form or gate not in ("sigmoid", "hard-sigmoid") or state not in ("tanh", "softsign", "relu") or unread:
            raise self._refuse(
                node, f"has activations {names} (alpha {attributes.get('activation_alpha', [])}, beta {attributes.get('activation_beta', [])})",
                "lstmlab layers take one gate activation (Sigmoid, or HardSigmoid alpha 0.2 beta 0.5) and one state activation "
                "(Tanh, Softsign or Relu), the same in both directions",
            )
        return {"gate_activation_function": gate, "state_activation_function": state}

    def _op_MatMul(self, node, data, inputs, attributes):
        W = inputs[1]
        on_channels = data.axes[-1] == "C" and not (data.directions > 1 and "D" in data.axes)
        if inputs[0] is not data or not isinstance(W, np.ndarray) or W.ndim != 2 or not on_channels:
            raise self._refuse(node, "is not activation @ a constant (C, K) matrix on the channels", "lstmlab imports MatMul as a fully connected layer")
        return _Data(data.axes, self._add(FullyConnectedLayer, output_size=W.shape[1], weights=W.T, bias=np.zeros(W.shape[1])), data.directions)

    def _op_Gemm(self, node, data, inputs, attributes):
        A, B, C = (inputs + [None])[:3]
        if not isinstance(A, _Data) or data.axes != ("N", "C") or attributes.get("transA", 0) or not isinstance(B, np.ndarray):
            raise self._refuse(node, "is not Gemm(activation (N, C), constant B, constant C)", "lstmlab imports Gemm as a fully connected layer")
        alpha, beta = attributes.get("alpha", 1.0), attributes.get("beta", 1.0)
        weights = alpha * (B if attributes.get("transB", 0) else B.T)  # (K, C)
        bias = np.zeros(len(weights)) if C is None else beta * np.broadcast_to(C, (len(weights),))
        return _Data(("N", "C"), self._add(FullyConnectedLayer, output_size=len(weights), weights=weights, bias=bias))

    def _affine(self, node, data, inputs, attributes):
        """Add, Sub, Mul, Div with a constant: a fully connected layer's bias, the input normalization,
        or a * x (+ c) elsewhere: a batch normalization at prediction time (as export_onnx writes it)."""
        op = node.op_type
        factory, options = self.specs[-1]
        normalization = factory is SequenceInputLayer and len(self.specs) == 1
        bias = not normalization and ((factory is FullyConnectedLayer and op == "Add") or (factory is BatchNormalizationLayer and op == "Add"))
        scale = not (normalization or bias) and op == "Mul"
        if not (bias or normalization or scale):
            raise self._refuse(
                node, f"applies {op} with a constant after a {factory.__name__}",
                "lstmlab imports an Add after a MatMul (its bias), a Mul (then an Add) by constants (a batch normalization), "
                "and +, -, *, / by constants right at the input (the normalization)",
            )
        constant = next((v for v in inputs if isinstance(v, np.ndarray)), None)
        size = {FullyConnectedLayer: "output_size", SequenceInputLayer: "input_size"}.get(factory)
        size = options[size] if size and not scale else None  # None: as many as the channels
        value = None if constant is None else np.asarray(constant, dtype=np.float64).reshape(-1)
        if value is None or value.size not in (1, size or value.size) or data.axes[-1] != "C" or (op in ("Sub", "Div") and inputs[0] is not data):
            raise self._refuse(
                node, f"is not activation {op} a constant of 1 or {size or 'C'} values (one per channel)",
                "lstmlab imports these as a bias, a batch normalization or the input normalization",
            )
        if scale:  # a * x: mean 0 and variance 1 - epsilon make (x - mean) / sqrt(variance + epsilon) = x
            epsilon = 1e-5
            ones = np.ones_like(value)
            layers = self._add(BatchNormalizationLayer, epsilon=epsilon, scale=value, offset=0 * value, trained_mean=0 * value, trained_variance=ones - epsilon)
            return _Data(data.axes, layers, data.directions)
        if bias:
            key = "bias" if factory is FullyConnectedLayer else "offset"
            options[key] = options[key] + value
            return data
        mean, deviation = options.get("mean", np.zeros(1)), options.get("standard_deviation", np.ones(1))
        if op in ("Add", "Sub"):  # y = (x - mean) / deviation, one constant at a time
            mean = mean + (value if op == "Sub" else -value) * deviation
        else:
            deviation = deviation * (value if op == "Div" else 1 / value)
        options.update(mean=mean, standard_deviation=deviation, normalization="zscore")
        return data

    _op_Add = _op_Sub = _op_Mul = _op_Div = _affine  # found by name (_data_node), the op read from node.op_type

    def _window(self, node, data, attributes):
        """The stride and padding of a 1-D ONNX window (Conv, MaxPool, AveragePool) on (N, C, T)."""
        if data.axes != ("N", "C", "T") or len(attributes.get("kernel_shape", [0])) != 1:
            raise self._refuse(node, f"reads an activation with axes {data.axes}", "lstmlab imports 1-D windows over time, (N, C, T)")
        auto_pad = attributes.get("auto_pad", "NOTSET")
        unsupported = {name: attributes[name] for name in ("ceil_mode", "storage_order") if attributes.get(name, 0)}
        if attributes.get("group", 1) != 1:
            unsupported["group"] = attributes["group"]
        if auto_pad not in ("NOTSET", "SAME_UPPER") or unsupported:
            what = ", ".join(f"{k}={v!r}" for k, v in {**unsupported, "auto_pad": auto_pad}.items() if k != "auto_pad" or auto_pad not in ("NOTSET", "SAME_UPPER"))
            raise self._refuse(node, f"has {what}, which lstmlab's 1-D layers do not compute", "export with explicit pads (or SAME_UPPER), group 1")
        padding = "same" if auto_pad == "SAME_UPPER" else tuple(int(p) for p in attributes.get("pads", [0, 0]))
        return {"stride": int(attributes.get("strides", [1])[0]), "padding": padding}

    def _op_Conv(self, node, data, inputs, attributes):
        W, b = (inputs + [None])[1:3]
        if not isinstance(W, np.ndarray) or W.ndim != 3 or not (b is None or isinstance(b, np.ndarray)):
            raise self._refuse(node, "has weights that are not a constant (K, C, k)", "store W and B as initializers")
        window = self._window(node, data, attributes)
        K, _, k = W.shape
        bias = np.zeros(K) if b is None else b
        layers = self._add(
            Convolution1DLayer, filter_size=k, num_filters=K, dilation_factor=int(attributes.get("dilations", [1])[0]),
            weights=W.transpose(2, 1, 0), bias=bias, **window,
        )
        return _Data(("N", "C", "T"), layers)

    def _op_MaxPool(self, node, data, inputs, attributes):
        window = self._window(node, data, attributes)
        if attributes.get("dilations", [1]) != [1]:
            raise self._refuse(node, f"has dilations={attributes['dilations']}", "lstmlab's max pooling reads neighbouring steps")
        return [_Data(("N", "C", "T"), self._add(MaxPooling1DLayer, pool_size=attributes["kernel_shape"][0], **window)), _Unused(f"the indices of node {_named(node)}")]

    def _op_AveragePool(self, node, data, inputs, attributes):
        window = self._window(node, data, attributes)
        padding_value = 0 if attributes.get("count_include_pad", 0) else "mean"  # excluded padding: the mean of the real steps
        return _Data(("N", "C", "T"), self._add(AveragePooling1DLayer, pool_size=attributes["kernel_shape"][0], padding_value=padding_value, **window))

    def _global_pooling(self, node, data, inputs, attributes):
        """ReduceMax / ReduceMean over time without keeping the axis: global pooling."""
        axes = self._axes(node, inputs, attributes, len(data.axes))
        if [data.axes[a] for a in axes] != ["T"] or attributes.get("keepdims", 1) or data.axes[-1] != "C":
            raise self._refuse(node, f"reduces the axes {[data.axes[a] for a in axes]} of {data.axes} (keepdims={attributes.get('keepdims', 1)})", "lstmlab imports reductions over time, keepdims=0")
        factory = GlobalMaxPooling1DLayer if node.op_type == "ReduceMax" else GlobalAveragePooling1DLayer
        return _Data([a for a in data.axes if a != "T"], self._add(factory))

    _op_ReduceMax = _op_ReduceMean = _global_pooling

    def _op_Softmax(self, node, data, inputs, attributes):
        axis = attributes.get("axis", -1 if self.opset >= 13 else 1) % len(data.axes)
        if axis != len(data.axes) - 1 or data.axes[-1] != "C" or (data.directions > 1 and "D" in data.axes):
            why = f"takes the softmax along axis {data.axes[axis]!r} of an activation with axes {data.axes}"
            raise self._refuse(node, why, "lstmlab's softmax_layer works along the channels, the last axis")
        return _Data(data.axes, self._add(SoftmaxLayer), data.directions)

    def _op_Relu(self, node, data, inputs, attributes):
        return _Data(data.axes, self._add(ReluLayer), data.directions)

    def _op_Sigmoid(self, node, data, inputs, attributes):
        return _Data(data.axes, self._add(SigmoidLayer), data.directions)


def import_onnx(path, *, input_format=None, output=None):
    """Read an ONNX file as an `ll.Network` (MATLAB's importNetworkFromONNX), ready for `ll.trace`.

    The graph must be a chain from one input, float32 sequences (N, T, C) or int64 token ids
    (N, T), to the output imported. Imported nodes: LSTM, GRU (linear_before_reset 1 or 0, see the
    module docstring) and RNN, forward, reverse (a layer with direction="reverse") or bidirectional
    (bilstm_layer, bigru_layer, birnn_layer), Gather on a constant table (a word
    embedding, see below), MatMul and Gemm with constant weights (a fully connected layer; an Add
    after it is its bias), Softmax along the channels, Relu, Sigmoid, Identity, Dropout and Cast;
    Transpose, Squeeze, Unsqueeze and a Reshape that merges the directions into the channels;
    Gather of the last time step (output_mode "last"), or the final hidden state Y_h (output_mode
    "last" for a one-way node, a reverse one's "last" being its final state; "final" for a
    bidirectional node: [h_forward after x_T, h_backward after x_1]); Add, Sub, Mul, Div by a
    constant at the input (a "zscore" normalization). Constant plumbing (Shape, Gather, Concat,
    ConstantOfShape, ...) is computed, and a reshape's target computed from the data's shape (as
    torch's dynamo exporter writes it) is followed; initial states must be zeros or one constant
    state for every sequence. This covers what `torch.onnx.export` writes
    for torch.nn.Embedding, torch.nn.LSTM / torch.nn.GRU (batch first or time first, stacked,
    bidirectional) followed by torch.nn.Linear and a softmax, and what `ll.export_onnx` writes.

    Exact or refused: anything lstmlab's layers would not compute exactly (an operator it has no
    layer for; a recurrent node's clip, input_forget, sequence_lens, peepholes, the final cell
    state Y_c, an activation or attribute it does not read; a branching graph) raises a
    ValueError that names the node and what it cannot follow.

    Layout. Whatever the graph's layout, the network takes lstmlab's batch-first data, (N, T, C)
    (token ids as (N, T, 1)), and outputs (N, T, K) or (N, K); a bidirectional node's Y, (T, 2, N, H),
    as the graph's output comes out as (N, T, 2H), the forward direction's H channels first. The graph's input layout is read
    from input_format if given, else from the input's dim names ("batch", "time", ...), else from
    the first LSTM or GRU node that reads it (its layout attribute: 0 reads (T, N, C), as
    torch.nn.LSTM with batch_first=False exports it); if none of these says, batch first. Where
    two of them disagree, a ValueError says so.

    Token ids keep their meaning: a Gather on a table whose row 0 is zeros is lstmlab's own export
    (ids 1 to V-1, 0 padding); any other table counts ids from 0 as torch's nn.Embedding does, and
    becomes a word_embedding_layer that takes ids from 0 (the same numbers the original model took).

    Args:
        path: the .onnx file.
        input_format: None, or the layout of the graph's input in MATLAB's InputDataFormats
            letters: "BTC" (batch, time, channels) or "TBC" (time first); "BT" / "TB" for token ids.
        output: the name of the graph output to import; None: the first. A graph with several
            (an LSTM's Y and Y_h, say) warns which one the network computes.

    Returns:
        An `ll.Network`.
    """
    onnx = _require_onnx("import_onnx")
    where = "import_onnx"
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{where}: there is no file {path}; give the path of an .onnx file.")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as error:  # protobuf's DecodeError, onnx's ValidationError, ...
        raise ValueError(
            f"{where}: {path} is not a valid ONNX model ({type(error).__name__}: {error}); give a file written by an ONNX exporter."
        ) from None
    if not model.graph.node:
        raise ValueError(f"{where}: {path} holds no ONNX graph (no nodes); give a file written by an ONNX exporter.")
    return _Importer(model, onnx, where, input_format, output).network()
