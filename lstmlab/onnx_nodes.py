"""What each ONNX node on the network's activation becomes, for `ll.import_onnx` (`onnx_import`).

The importer keeps a value for every tensor: a NumPy array (a constant: weights, shapes that do not
depend on the data), `Data` (the activation, with the meaning of each of its axes), `Dims` (the
data's shape or part of it), `EverySequence` (a constant for every sequence: an initial state),
`FinalState` (a recurrent node's Y_h) or `Unused` (an output no layer hands on). A node that reads
`Data` goes to its handler, `HANDLERS[op](importer, node, data, inputs, attributes)`, which relabels
the axes (plumbing: Transpose, Reshape, ...) or appends a layer with `importer.add(factory, **options)`
(`importer.specs`: [factory, options] of the layers so far), and returns the node's output values.
"""

import math

import numpy as np

from .layers import (
    AveragePooling1DLayer, BatchNormalizationLayer, BiGRULayer, BiLSTMLayer, BiRNNLayer, Convolution1DLayer, FullyConnectedLayer,
    GlobalAveragePooling1DLayer, GlobalMaxPooling1DLayer, GRULayer, LSTMLayer, MaxPooling1DLayer, RecurrentLayer, ReluLayer,
    RNNLayer, SequenceInputLayer, SigmoidLayer, SoftmaxLayer, WordEmbeddingLayer,
)
from .onnx_format import ACTIVATIONS, ONNX_GATES, reorder_gates

# ONNX's default activations of each operator, per direction
DEFAULT_ACTIVATIONS = {"lstm": ["Sigmoid", "Tanh", "Tanh"], "gru": ["Sigmoid", "Tanh"], "rnn": ["Tanh"]}
HARD_SIGMOID_DEFAULTS = (0.2, 0.5)  # ONNX's defaults of alpha and beta
# The ONNX activations that read an alpha, and a beta, from activation_alpha / activation_beta.
WITH_ALPHA = {"Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu"}
WITH_BETA = {"Affine", "ScaledTanh", "HardSigmoid"}


class Data:
    """The network's activation. axes: a label per axis, "N" (batch), "T" (time), "C" (channels),
    "D" (directions of the recurrent layer before), "1" (an axis of size one); directions: the size
    of "D"; layers: how many layers had been made when it was computed (a chain reads the newest).
    Token ids, before their embedding, have no "C": axes ("N", "T")."""

    def __init__(self, axes, layers, directions=1):
        self.axes, self.layers, self.directions = tuple(axes), layers, directions

    def with_axes(self, axes):
        return Data(axes, self.layers, self.directions)


class EverySequence:
    def __init__(self, value):
        self.value = np.asarray(value)


class Unused:
    """An output lstmlab has no place for (an LSTM's final cell state Y_c, a dropout mask): an error if read."""

    def __init__(self, what):
        self.what = what


class FinalState:
    """The final hidden state Y_h (D, N, H) of a recurrent node: its layer with output_mode="last"
    ("final" if bidirectional), once something reads it. layer: how many layers there were with
    that one (its `Data.layers`)."""

    def __init__(self, node, layer, directions):
        self.node, self.layer, self.directions = node, layer, directions


class Dims:
    """The data's shape, or part of it (what Shape, Slice, Mul and Concat compute from it): one entry per
    dimension, the tuple of axis labels whose sizes it multiplies, or a constant int."""

    def __init__(self, entries):
        self.entries = list(entries)


def named(node):
    """A node's name for messages, or the output it writes where the exporter left it unnamed."""
    return repr(node.name) if node.name else f"writing {next((o for o in node.output if o), '')!r}"  # an output it leaves out is ''


def refuse(node, why, fix):
    """The ValueError for a node lstmlab cannot import: which node, why, and what to do."""
    return ValueError(f"import_onnx: node {named(node)} ({node.op_type}) {why}; {fix}.")


# --- plumbing on the data -----------------------------------------------------------------------


def shape(importer, node, data, inputs, attributes):
    return Dims((axis,) for axis in data.axes[attributes.get("start", 0) : attributes.get("end")])


def identity(importer, node, data, inputs, attributes):
    return data


def dropout(importer, node, data, inputs, attributes):
    return [data, Unused(f"the dropout mask of node {named(node)}")]  # prediction: no dropout


def transpose(importer, node, data, inputs, attributes):
    perm = attributes.get("perm", list(range(len(data.axes)))[::-1])
    return data.with_axes([data.axes[p] for p in perm])


def _axes(node, inputs, attributes, rank):
    axes = attributes.get("axes", inputs[1] if len(inputs) > 1 and inputs[1] is not None else None)
    if axes is None or not isinstance(axes, (list, np.ndarray)):
        raise refuse(node, "has no constant axes", "give the axes as a constant")
    return sorted(int(a) % rank for a in np.atleast_1d(axes))


def squeeze(importer, node, data, inputs, attributes):
    axes = _axes(node, inputs, attributes, len(data.axes))
    ids = data.layers == 1 and importer.specs[0][1]["input_size"] == 1  # the one channel of token ids, as export_onnx writes them
    for a in axes:
        if not (data.axes[a] == "1" or (data.axes[a] == "D" and data.directions == 1) or (data.axes[a] == "C" and ids)):
            raise refuse(node, f"removes the {data.axes[a]!r} axis of an activation with axes {data.axes}", "squeeze only axes of size one")
    return data.with_axes([label for k, label in enumerate(data.axes) if k not in axes])


def unsqueeze(importer, node, data, inputs, attributes):
    axes = _axes(node, inputs, attributes, len(data.axes) + 1)
    labels = list(data.axes)
    for a in axes:
        labels.insert(a, "1")
    return data.with_axes(labels)


def reshape(importer, node, data, inputs, attributes):
    """Only the reshapes that merge the direction axis into the channels (..., D, H) -> (..., D*H), given as
    [0, ..., 0, -1] or as the data's own dimensions (`Dims`)."""
    if isinstance(inputs[1], Dims):
        entries = inputs[1].entries
        merged = {("D", "C"): "C", ("1", "C"): "C"}
        if all(isinstance(e, tuple) for e in entries) and sum(entries, ()) == data.axes and all(len(e) == 1 or e in merged for e in entries):
            return Data([merged.get(e, e[0]) for e in entries], data.layers, data.directions if ("D",) in entries else 1)
        raise refuse(node, f"reshapes an activation with axes {data.axes} to the dimensions {entries}", "lstmlab imports reshapes that merge the directions into the channels")
    target = [int(s) for s in np.atleast_1d(inputs[1])] if isinstance(inputs[1], np.ndarray) else None
    keep = len(data.axes) - 2
    if target == [0] * len(data.axes):
        return data
    if target == [0] * keep + [-1] and data.axes[keep:] in (("D", "C"), ("1", "C")):
        return Data([*data.axes[:keep], "C"], data.layers)
    raise refuse(
        node, f"reshapes an activation with axes {data.axes} to {target}",
        "lstmlab imports reshapes that merge the directions into the channels, [0, ..., 0, -1]",
    )


def cast(importer, node, data, inputs, attributes):
    """Token ids to integers, or an activation to float32: nothing changes."""
    if attributes.get("to") != importer.onnx.TensorProto.FLOAT and "C" in data.axes:
        raise refuse(node, f"casts an activation to ONNX type {attributes.get('to')}", "lstmlab casts only token ids to integers")
    return data


def gather(importer, node, data, inputs, attributes):
    """An embedding (rows of a constant table picked by the token ids), or taking the last time step."""
    if inputs[1] is data:
        return _embedding(importer, node, data, inputs[0], attributes)
    # taking the last time step: the recurrent layer before gets output_mode="last"
    axis = attributes.get("axis", 0) % len(data.axes)
    index = inputs[1]
    if data.axes[axis] != "T" or not isinstance(index, np.ndarray) or index.shape != () or int(index) != -1:
        raise refuse(
            node, f"gathers along axis {data.axes[axis]!r} of an activation with axes {data.axes}",
            "lstmlab imports only taking the last time step, index -1 of the time axis",
        )
    rnns = [k for k, (factory, _) in enumerate(importer.specs) if issubclass(factory, RecurrentLayer)]
    after = {factory for factory, _ in importer.specs[rnns[-1] + 1 :]} if rnns else set()
    per_step = {FullyConnectedLayer, ReluLayer, SigmoidLayer, SoftmaxLayer, BatchNormalizationLayer}  # taking the last step commutes with these
    if not rnns or importer.specs[rnns[-1]][1]["output_mode"] != "sequence" or not after <= per_step:
        raise refuse(
            node, "takes the last time step, but no recurrent layer comes before it with only per-step layers between",
            "take the last step right after an LSTM or GRU",
        )
    if importer.specs[rnns[-1]][1].get("direction") == "reverse":
        raise refuse(
            node, "takes the last time step of a reverse node, whose output there has read x_T alone; an lstmlab layer with "
            "direction='reverse' hands on its final state (after reading back to x_1) with output_mode='last'",
            "read the node's final hidden state Y_h, or its whole output Y",
        )
    importer.specs[rnns[-1]][1]["output_mode"] = "last"
    return data.with_axes([label for k, label in enumerate(data.axes) if k != axis])


# --- layers ------------------------------------------------------------------------------------


def _embedding(importer, node, ids, table, attributes):
    """Gather(table (V, E), ids): a word embedding that takes the same ids. A table whose row 0 is
    zeros is lstmlab's own (ids 1 to V-1, 0 for padding, as export_onnx writes it); any other
    counts from 0, as torch's nn.Embedding does."""
    if "C" in ids.axes or importer.specs[-1][0] is not SequenceInputLayer or not isinstance(table, np.ndarray) or table.ndim != 2 or attributes.get("axis", 0) != 0:
        raise refuse(node, "is not Gather(constant table (V, E), token ids (N, T)) along axis 0", "lstmlab imports this Gather as a word embedding")
    if not table[0].any():
        layers = importer.add(WordEmbeddingLayer, dimension=table.shape[1], num_words=len(table) - 1, weights=table[1:].T)
    else:
        layers = importer.add(WordEmbeddingLayer, dimension=table.shape[1], num_words=len(table), weights=table.T, first_id=0)
    return Data((*ids.axes, "C"), layers)


def recurrent(importer, node, data, inputs, attributes):
    """An ONNX LSTM, GRU or RNN node: a recurrent layer, its gate rows in lstmlab's order."""
    family = node.op_type.lower()  # "lstm", "gru" or "rnn": the keys of ONNX_GATES
    _check_recurrent_attributes(node, attributes)
    layout = attributes.get("layout", 0)
    expected = ("N", "T", "C") if layout == 1 else ("T", "N", "C")
    if data.axes != expected:
        why = f"reads axes {data.axes}, but with layout={layout} ONNX's {node.op_type} reads {expected}"
        raise refuse(node, why, "give import_onnx the input_format of the graph's input ('BTC' or 'TBC')")
    # inputs: X, W, R, B, sequence_lens, initial_h, then for an LSTM initial_c and the peepholes P
    _, W, R, B, sequence_lens, *states = inputs + [None] * (8 - len(inputs))
    states, peepholes = states[: 2 if family == "lstm" else 1], states[2] if family == "lstm" else None
    if not all(isinstance(v, np.ndarray) for v in (W, R)) or not (B is None or isinstance(B, np.ndarray)):
        raise refuse(node, "has weights that are not constants", "store W, R and B as initializers")
    if sequence_lens is not None:
        raise refuse(node, "has sequence_lens", "lstmlab runs every sequence for all T steps: export without sequence_lens")
    if peepholes is not None and np.any(peepholes):
        raise refuse(node, "has peephole weights P, which lstmlab layers do not compute", "export an LSTM without peepholes")
    D, H = W.shape[0], R.shape[-1]
    k = len(ONNX_GATES[family])
    if attributes.get("hidden_size", H) != H or W.shape[1] != k * H or R.shape != (D, k * H, H) or (B is not None and B.shape != (D, 2 * k * H)):
        why = f"has hidden_size={attributes.get('hidden_size')} with W {W.shape}, R {R.shape}, B {None if B is None else B.shape}"
        raise refuse(node, why, f"give W (D, {k}H, C), R (D, {k}H, H) and B (D, {2 * k}H) for H = hidden_size")
    direction = attributes.get("direction", "forward")
    if D != (2 if direction == "bidirectional" else 1):
        raise refuse(node, f"has direction={direction!r} with weights for {D} directions", "give W, R and B one block per direction")
    factory, options = _recurrent_weights(family, W, R, B, attributes.get("linear_before_reset", 0))
    options.update(_activations(node, attributes, family, D), output_mode="sequence")
    if direction == "reverse":
        options["direction"] = "reverse"  # a one-way layer that reads from the end: its Y_h is output_mode="last"
    state_names = ("hidden", "cell") if family == "lstm" else ("hidden",)
    for state_name, value in zip(state_names, states):
        state = _initial_state(node, value, D, H, state_name)
        if state is not None:
            options[f"{state_name}_state"] = state
    layers = importer.add(factory, num_hidden_units=H, **options)
    y = Data(("N", "T", "D", "C") if layout == 1 else ("T", "D", "N", "C"), layers, D)
    return [y, FinalState(node, layers, D), Unused(f"the final cell state Y_c of node {named(node)}")]


def _check_recurrent_attributes(node, attributes):
    """Refuse every attribute value lstmlab's layers would not compute exactly. (The activations are
    `_activations`' and hidden_size is checked against the weights; onnx's checker refuses attributes
    the operator does not have.)"""
    if "clip" in attributes:
        raise refuse(node, f"has clip={attributes['clip']}, which lstmlab layers do not compute", "export the model without clip")
    if attributes.get("input_forget", 0) != 0:
        raise refuse(node, f"has input_forget={attributes['input_forget']}, which lstmlab layers do not compute", "export the model without input_forget")
    if attributes.get("layout", 0) not in (0, 1):
        raise refuse(node, f"has layout={attributes['layout']}; ONNX defines 0 and 1", "give layout 0 (time first) or 1 (batch first)")
    if attributes.get("linear_before_reset", 0) not in (0, 1):
        raise refuse(node, f"has linear_before_reset={attributes['linear_before_reset']}; ONNX defines 0 and 1", "give 0 or 1")
    direction = attributes.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise refuse(node, f"has direction={direction!r}; ONNX defines 'forward', 'reverse' and 'bidirectional'", "give one of these")


def _recurrent_weights(family, W, R, B, linear_before_reset):
    """The layer class and its W, R, b (and reset gate mode) from ONNX's W, R and B = [Wb, Rb]."""
    D, kH, _ = W.shape
    B = np.zeros((D, 2 * kH)) if B is None else B
    order = (ONNX_GATES[family], {"lstm": LSTMLayer, "gru": GRULayer, "rnn": RNNLayer}[family].gate_names)
    Wb, Rb = B[:, :kH], B[:, kH:]
    options = {
        "input_weights": np.concatenate([reorder_gates(W[d], *order) for d in range(D)]),  # (D*kH, C)
        "recurrent_weights": np.concatenate([reorder_gates(R[d], *order) for d in range(D)]),  # (D*kH, H)
    }
    if family == "lstm":
        options["bias"] = np.concatenate([reorder_gates(Wb[d] + Rb[d], *order) for d in range(D)])  # b = Wb + Rb
        return (BiLSTMLayer if D == 2 else LSTMLayer), options
    if family == "rnn":
        return (BiRNNLayer if D == 2 else RNNLayer), {**options, "bias": (Wb + Rb).reshape(-1)}  # one bias, as torch's b_ih + b_hh
    gru = BiGRULayer if D == 2 else GRULayer
    if not linear_before_reset:  # R_n (r * h): the recurrent bias is added outside, with the input bias
        bias = np.concatenate([reorder_gates(Wb[d] + Rb[d], *order) for d in range(D)])  # (D*3H,)
        return gru, {**options, "bias": bias, "reset_gate_mode": "before-multiplication"}
    if not Rb.any():
        return gru, {**options, "bias": np.concatenate([reorder_gates(Wb[d], *order) for d in range(D)]), "reset_gate_mode": "after-multiplication"}
    bias = np.concatenate([np.concatenate([reorder_gates(Wb[d], *order), reorder_gates(Rb[d], *order)]) for d in range(D)])  # per direction: input bias, then recurrent bias
    return gru, {**options, "bias": bias, "reset_gate_mode": "recurrent-bias-after-multiplication"}


def _initial_state(node, value, D, H, state_name):
    """An initial state, zeros (None) or one (D*H,) vector for every sequence."""
    if value is None:
        return None
    array = value.value if isinstance(value, EverySequence) else value if isinstance(value, np.ndarray) else None
    try:
        array = np.broadcast_to(array, (D, 1, H)) if array is not None else None
    except ValueError:
        array = None
    if array is None:
        raise refuse(
            node, f"starts from an initial {state_name} state that differs between sequences",
            "lstmlab imports zero initial states, or one constant (D, 1, H) state for every sequence",
        )
    return array.reshape(D * H) if array.any() else None


def _activations(node, attributes, family, D):
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
            raise refuse(node, f"has activations {names}", "lstmlab's rnn_layer takes Tanh or Relu")
        return {"activation": found[0]}
    gate, state = found[0], found[1]
    lstmlab_form = [gate, state, state][:per_direction] * D
    if found != lstmlab_form or gate not in ("sigmoid", "hard-sigmoid") or state not in ("tanh", "softsign", "relu") or unread:
        raise refuse(
            node, f"has activations {names} (alpha {attributes.get('activation_alpha', [])}, beta {attributes.get('activation_beta', [])})",
            "lstmlab layers take one gate activation (Sigmoid, or HardSigmoid alpha 0.2 beta 0.5) and one state activation "
            "(Tanh, Softsign or Relu), the same in both directions",
        )
    return {"gate_activation_function": gate, "state_activation_function": state}


def matmul(importer, node, data, inputs, attributes):
    W = inputs[1]
    on_channels = data.axes[-1] == "C" and not (data.directions > 1 and "D" in data.axes)
    if inputs[0] is not data or not isinstance(W, np.ndarray) or W.ndim != 2 or not on_channels:
        raise refuse(node, "is not activation @ a constant (C, K) matrix on the channels", "lstmlab imports MatMul as a fully connected layer")
    return Data(data.axes, importer.add(FullyConnectedLayer, output_size=W.shape[1], weights=W.T, bias=np.zeros(W.shape[1])), data.directions)


def gemm(importer, node, data, inputs, attributes):
    A, B, C = (inputs + [None])[:3]
    if not isinstance(A, Data) or data.axes != ("N", "C") or attributes.get("transA", 0) or not isinstance(B, np.ndarray):
        raise refuse(node, "is not Gemm(activation (N, C), constant B, constant C)", "lstmlab imports Gemm as a fully connected layer")
    alpha, beta = attributes.get("alpha", 1.0), attributes.get("beta", 1.0)
    weights = alpha * (B if attributes.get("transB", 0) else B.T)  # (K, C)
    bias = np.zeros(len(weights)) if C is None else beta * np.broadcast_to(C, (len(weights),))
    return Data(("N", "C"), importer.add(FullyConnectedLayer, output_size=len(weights), weights=weights, bias=bias))


def affine(importer, node, data, inputs, attributes):
    """Add, Sub, Mul, Div with a constant: a fully connected layer's bias, the input normalization,
    or a * x (+ c) elsewhere: a batch normalization at prediction time (as export_onnx writes it)."""
    op = node.op_type
    factory, options = importer.specs[-1]
    normalization = factory is SequenceInputLayer and len(importer.specs) == 1
    bias = not normalization and ((factory is FullyConnectedLayer and op == "Add") or (factory is BatchNormalizationLayer and op == "Add"))
    scale = not (normalization or bias) and op == "Mul"
    if not (bias or normalization or scale):
        raise refuse(
            node, f"applies {op} with a constant after a {factory.__name__}",
            "lstmlab imports an Add after a MatMul (its bias), a Mul (then an Add) by constants (a batch normalization), "
            "and +, -, *, / by constants right at the input (the normalization)",
        )
    constant = next((v for v in inputs if isinstance(v, np.ndarray)), None)
    size = {FullyConnectedLayer: "output_size", SequenceInputLayer: "input_size"}.get(factory)
    size = options[size] if size and not scale else None  # None: as many as the channels
    value = None if constant is None else np.asarray(constant, dtype=np.float64).reshape(-1)
    if value is None or value.size not in (1, size or value.size) or data.axes[-1] != "C" or (op in ("Sub", "Div") and inputs[0] is not data):
        raise refuse(
            node, f"is not activation {op} a constant of 1 or {size or 'C'} values (one per channel)",
            "lstmlab imports these as a bias, a batch normalization or the input normalization",
        )
    if scale:  # a * x: mean 0 and variance 1 - epsilon make (x - mean) / sqrt(variance + epsilon) = x
        epsilon = 1e-5
        ones = np.ones_like(value)
        layers = importer.add(BatchNormalizationLayer, epsilon=epsilon, scale=value, offset=0 * value, trained_mean=0 * value, trained_variance=ones - epsilon)
        return Data(data.axes, layers, data.directions)
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


def _window(node, data, attributes):
    """The stride and padding of a 1-D ONNX window (Conv, MaxPool, AveragePool) on (N, C, T)."""
    if data.axes != ("N", "C", "T") or len(attributes.get("kernel_shape", [0])) != 1:
        raise refuse(node, f"reads an activation with axes {data.axes}", "lstmlab imports 1-D windows over time, (N, C, T)")
    auto_pad = attributes.get("auto_pad", "NOTSET")
    unsupported = {name: attributes[name] for name in ("ceil_mode", "storage_order") if attributes.get(name, 0)}
    if attributes.get("group", 1) != 1:
        unsupported["group"] = attributes["group"]
    if auto_pad not in ("NOTSET", "SAME_UPPER") or unsupported:
        what = ", ".join(f"{k}={v!r}" for k, v in {**unsupported, "auto_pad": auto_pad}.items() if k != "auto_pad" or auto_pad not in ("NOTSET", "SAME_UPPER"))
        raise refuse(node, f"has {what}, which lstmlab's 1-D layers do not compute", "export with explicit pads (or SAME_UPPER), group 1")
    padding = "same" if auto_pad == "SAME_UPPER" else tuple(int(p) for p in attributes.get("pads", [0, 0]))
    return {"stride": int(attributes.get("strides", [1])[0]), "padding": padding}


def conv(importer, node, data, inputs, attributes):
    W, b = (inputs + [None])[1:3]
    if not isinstance(W, np.ndarray) or W.ndim != 3 or not (b is None or isinstance(b, np.ndarray)):
        raise refuse(node, "has weights that are not a constant (K, C, k)", "store W and B as initializers")
    window = _window(node, data, attributes)
    K, _, k = W.shape
    bias = np.zeros(K) if b is None else b
    layers = importer.add(
        Convolution1DLayer, filter_size=k, num_filters=K, dilation_factor=int(attributes.get("dilations", [1])[0]),
        weights=W.transpose(2, 1, 0), bias=bias, **window,
    )
    return Data(("N", "C", "T"), layers)


def max_pool(importer, node, data, inputs, attributes):
    window = _window(node, data, attributes)
    if attributes.get("dilations", [1]) != [1]:
        raise refuse(node, f"has dilations={attributes['dilations']}", "lstmlab's max pooling reads neighbouring steps")
    return [Data(("N", "C", "T"), importer.add(MaxPooling1DLayer, pool_size=attributes["kernel_shape"][0], **window)), Unused(f"the indices of node {named(node)}")]


def average_pool(importer, node, data, inputs, attributes):
    window = _window(node, data, attributes)
    padding_value = 0 if attributes.get("count_include_pad", 0) else "mean"  # excluded padding: the mean of the real steps
    return Data(("N", "C", "T"), importer.add(AveragePooling1DLayer, pool_size=attributes["kernel_shape"][0], padding_value=padding_value, **window))


def global_pooling(importer, node, data, inputs, attributes):
    """ReduceMax / ReduceMean over time without keeping the axis: global pooling."""
    axes = _axes(node, inputs, attributes, len(data.axes))
    if [data.axes[a] for a in axes] != ["T"] or attributes.get("keepdims", 1) or data.axes[-1] != "C":
        raise refuse(node, f"reduces the axes {[data.axes[a] for a in axes]} of {data.axes} (keepdims={attributes.get('keepdims', 1)})", "lstmlab imports reductions over time, keepdims=0")
    factory = GlobalMaxPooling1DLayer if node.op_type == "ReduceMax" else GlobalAveragePooling1DLayer
    return Data([a for a in data.axes if a != "T"], importer.add(factory))


def softmax(importer, node, data, inputs, attributes):
    axis = attributes.get("axis", -1 if importer.opset >= 13 else 1) % len(data.axes)
    if axis != len(data.axes) - 1 or data.axes[-1] != "C" or (data.directions > 1 and "D" in data.axes):
        why = f"takes the softmax along axis {data.axes[axis]!r} of an activation with axes {data.axes}"
        raise refuse(node, why, "lstmlab's softmax_layer works along the channels, the last axis")
    return Data(data.axes, importer.add(SoftmaxLayer), data.directions)


def relu(importer, node, data, inputs, attributes):
    return Data(data.axes, importer.add(ReluLayer), data.directions)


def sigmoid(importer, node, data, inputs, attributes):
    return Data(data.axes, importer.add(SigmoidLayer), data.directions)


# ONNX operator -> its handler (see the module docstring); the family of a recurrent node, the
# operation of an affine one, is read from node.op_type
HANDLERS = {
    "Shape": shape, "Identity": identity, "Dropout": dropout, "Transpose": transpose, "Squeeze": squeeze, "Unsqueeze": unsqueeze,
    "Reshape": reshape, "Cast": cast, "Gather": gather, "LSTM": recurrent, "GRU": recurrent, "RNN": recurrent, "MatMul": matmul,
    "Gemm": gemm, "Add": affine, "Sub": affine, "Mul": affine, "Div": affine, "Conv": conv, "MaxPool": max_pool,
    "AveragePool": average_pool, "ReduceMax": global_pooling, "ReduceMean": global_pooling, "Softmax": softmax, "Relu": relu,
    "Sigmoid": sigmoid,
}
