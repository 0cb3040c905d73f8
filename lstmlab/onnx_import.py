"""`ll.import_onnx(path)`: an ONNX chain of LSTM, GRU, RNN, Gemm, ... as an `ll.Network` (MATLAB's
importNetworkFromONNX).

    net = ll.import_onnx("net.onnx")

`_Importer` walks the graph's nodes in order, from the one input to the output imported: constants
are computed, plumbing on the data's shape and on initial states is followed, and each node that
reads the network's activation goes to its handler in `onnx_nodes.HANDLERS`. The imported network
always takes batch-first data, whatever the graph's layout (see `import_onnx`).
"""

import warnings
from pathlib import Path

import numpy as np

from .layers import SequenceInputLayer
from .network import Network
from .onnx_format import OPSET, require_onnx
from .onnx_nodes import HANDLERS, Data, Dims, EverySequence, FinalState, Unused, named, refuse

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


def _chosen_output(graph, output):
    """The graph output to import: the one named, else the first (with a warning when there are others)."""
    names = [o.name for o in graph.output]
    if output is None:
        if len(names) > 1:
            warnings.warn(
                f"import_onnx: the graph has {len(names)} outputs ({', '.join(map(repr, names))}); the network computes the "
                f"first, {names[0]!r}. Give output= to import another.",
                stacklevel=3,
            )
        return names[0]
    if output not in names:
        raise ValueError(f"import_onnx: output={output!r} is not an output of the graph; its outputs are {', '.join(map(repr, names))}.")
    return output


def _input_axes(value_info, nodes, onnx, input_format):
    """The labels of the input's axes: from input_format, the dim names or the first recurrent node; batch first if none says."""
    rank = len(value_info.type.tensor_type.shape.dim)
    formats = [f for f in INPUT_FORMATS if len(f) == rank] or list(INPUT_FORMATS)
    given = None
    if input_format is not None:
        given = INPUT_FORMATS.get(input_format) if isinstance(input_format, str) else None
        if given is None or len(given) != rank:
            raise ValueError(
                f"import_onnx: input_format must be one of {', '.join(map(repr, formats))} for the graph's input "
                f"{value_info.name!r} of {rank} axes (B batch, T time, C channels); got {input_format!r}."
            )
    found = {
        "its dim names": _layout_from_names(value_info),
        "the recurrent node that reads it": _layout_from_graph(nodes, onnx, value_info.name, rank),
    }
    said = {source: axes for source, axes in found.items() if axes is not None}
    if given is not None:
        said = {f"input_format={input_format!r}": given, **said}
    if len(set(said.values())) > 1:
        views = ", ".join(f"{''.join('B' if a == 'N' else a for a in axes)} from {source}" for source, axes in said.items())
        raise ValueError(f"import_onnx: the layout of input {value_info.name!r} is contradictory: {views}; give the input_format that is true.")
    return next(iter(said.values()), ("N", "T", "C")[:rank])

def _channels(value_info, axes, onnx):
    """The input layer's size: the channels C of float sequences, or 1 for integer token ids (N, T)."""
    tensor = value_info.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    T = onnx.TensorProto
    if tensor.elem_type in (T.INT64, T.INT32) and len(dims) == 2:
        return 1
    if tensor.elem_type != T.FLOAT or len(dims) != 3 or not dims[axes.index("C")]:
        raise ValueError(
            f"import_onnx: the graph's input {value_info.name!r} must be float32 sequences (N, T, C) with a fixed number of "
            f"channels C, or int64 token ids (N, T); got element type {tensor.elem_type} and shape {dims}."
        )
    return dims[axes.index("C")]


def _shape_arithmetic(node, inputs):
    """Slice, Gather, Concat and Mul on the data's shape, and the reshapes of one dimension, as the axes they
    measure (what torch's dynamo exporter writes for a reshape's target); None for anything else."""
    op, first = node.op_type, inputs[0]
    constant = all(isinstance(v, (np.ndarray, Dims)) or v is None for v in inputs)
    if not constant or not isinstance(first, Dims) and op != "Concat":
        return None
    if op == "Slice" and all(v is None or isinstance(v, np.ndarray) for v in inputs[1:]):
        starts, ends, axes, steps = (inputs[1:] + [None] * 4)[:4]
        if (axes is None or list(axes) in ([0], [-1])) and (steps is None or list(steps) == [1]):
            return Dims(first.entries[int(starts[0]) : int(min(ends[0], 2**31))])
    if op == "Gather" and isinstance(inputs[1], np.ndarray):
        picked = [first.entries[int(k)] for k in np.atleast_1d(inputs[1])]
        return Dims(picked)
    if op in ("Reshape", "Squeeze", "Unsqueeze", "Cast", "Identity") and len(first.entries) == 1:
        return first  # a one-dimension vector stays one dimension
    if op == "Mul" and all(isinstance(v, Dims) and len(v.entries) == 1 for v in inputs):
        a, b = (v.entries[0] for v in inputs)
        return Dims([a + b]) if isinstance(a, tuple) and isinstance(b, tuple) else None
    if op == "Concat":
        entries = [e for v in inputs for e in (v.entries if isinstance(v, Dims) else [int(k) for k in np.atleast_1d(v)])]
        return Dims(entries)
    return None


def _state_plumbing(node, inputs):
    """Plumbing on zero initial states (a stacked torch LSTM slices its layers' zeros): zeros again."""
    state = inputs[0]
    if node.op_type not in SHAPE_OPS or not isinstance(state, EverySequence) or state.value.any():
        raise refuse(
            node, f"computes {node.op_type} on an initial state",
            "lstmlab imports initial states that are zeros (sliced or reshaped), or one constant given straight to the LSTM or GRU",
        )
    return [EverySequence(0.0)] * len(node.output)


class _Importer:
    """Turns the nodes of one ONNX graph into layer specifications (factory, options), in order: `_step`
    gives each node's outputs their values, a node on the activation through its handler (`onnx_nodes.HANDLERS`)."""

    def __init__(self, model, onnx, input_format, output):
        self.onnx = onnx
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), OPSET)
        self.graph = model.graph
        self.specs = []  # [layer factory, its options], in order
        self.values = {t.name: onnx.numpy_helper.to_array(t) for t in self.graph.initializer}
        self.output = _chosen_output(self.graph, output)
        self.nodes = _needed(self.graph, self.output)
        self.input_format = input_format
        self.last_from_final = set()  # the layers given output_mode="last" for their Y_h: their sequences are gone

    def network(self):
        """The `ll.Network` the graph computes, or a ValueError that says what it cannot follow."""
        read = {name for node in self.nodes for name in node.input}
        data_inputs = [i for i in self.graph.input if i.name not in self.values and i.name in read | {self.output}]
        if len(data_inputs) != 1:
            names = ", ".join(repr(i.name) for i in data_inputs)
            raise ValueError(
                f"import_onnx: output {self.output!r} depends on {len(data_inputs)} inputs besides the weights ({names}); lstmlab "
                f"imports graphs with one, the sequences (N, T, C) or token ids (N, T)."
            )
        x = data_inputs[0]
        axes = _input_axes(x, self.nodes, self.onnx, self.input_format)
        self.values[x.name] = Data(axes, 1)
        self.specs.append([SequenceInputLayer, {"input_size": _channels(x, axes, self.onnx)}])
        for node in self.nodes:
            self._step(node)
        out = self.values.get(self.output)
        if isinstance(out, Unused):
            raise ValueError(f"import_onnx: the graph's output {self.output!r} is {out.what}, which lstmlab networks do not output; import another output.")
        if isinstance(out, FinalState):
            out = self._final_state(out, None)
        if isinstance(out, Data) and out.layers != len(self.specs):
            raise ValueError(
                f"import_onnx: the graph's output {self.output!r} is not what its last layer computes; lstmlab imports chains of layers."
            )
        labels = None if not isinstance(out, Data) else [a for a in out.axes if not (a == "1" or (a == "D" and out.directions == 1))]
        if labels and "D" in labels and "C" in labels and labels.index("D") < labels.index("C"):
            labels.remove("D")  # a bidirectional Y (T, D, N, H) itself: lstmlab's D*H channels, forward first
        if labels is None or sorted(labels) not in (["C", "N", "T"], ["C", "N"]) or (out.layers in self.last_from_final and "T" in labels):
            got = out.axes if isinstance(out, Data) else "a value that does not depend on the input"
            raise ValueError(
                f"import_onnx: the graph's output {self.output!r} has axes {got}; lstmlab imports outputs with the axes "
                f"N, T, C or N, C in any order (N batch, T time, C channels, D directions, 1 an axis of size one)."
            )
        return Network([factory(**options) for factory, options in self.specs])

    def _step(self, node):
        for name in node.input:
            if name and name not in self.values:
                raise ValueError(f"import_onnx: node {named(node)} ({node.op_type}) reads {name!r}, which nothing before it computes.")
        inputs = [self.values[name] if name else None for name in node.input]
        inputs = [self._final_state(v, node) if isinstance(v, FinalState) else v for v in inputs]
        for value in inputs:
            if isinstance(value, Unused):
                raise refuse(node, f"reads {value.what}, which lstmlab networks do not output", "read the output sequence Y or the final hidden state Y_h")
        if any(isinstance(v, Data) for v in inputs):
            outputs = self._data_node(node, inputs)
        elif any(isinstance(v, EverySequence) for v in inputs):
            outputs = _state_plumbing(node, inputs)
        elif any(v is _FROM_SHAPE or isinstance(v, Dims) for v in inputs):
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
        who = f"node {named(reader)} ({reader.op_type})" if reader is not None else f"the graph's output {self.output!r}"
        node = final.node
        if final.layer != len(self.specs):
            raise ValueError(
                f"import_onnx: {who} reads the final hidden state Y_h of node {named(node)} ({node.op_type}) after layers that read "
                f"its sequence Y; lstmlab layers hand on one of the two: read Y or Y_h."
            )
        self.specs[final.layer - 1][1]["output_mode"] = "final" if final.directions > 1 else "last"
        self.last_from_final.add(final.layer)
        return Data(("D", "N", "C"), final.layer, final.directions)

    def _constant_node(self, node, inputs):
        """A node that depends on constants only: computed now with ONNX's reference evaluator."""
        from onnx.reference import ReferenceEvaluator

        feeds = {name: value for name, value in zip(node.input, inputs) if name}
        try:
            return list(ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds))
        except Exception as error:  # an operator or a case the reference evaluator lacks
            raise refuse(node, f"could not be computed from its constant inputs ({error})", "simplify the graph's constant plumbing") from None

    def _shape_node(self, node, inputs):
        """Plumbing on the data's shape: the shape's own arithmetic (`_shape_arithmetic`), or zeros or a constant for
        every sequence (initial states)."""
        dims = _shape_arithmetic(node, inputs)
        if dims is not None:
            return dims
        if node.op_type == "ConstantOfShape":
            value = _attributes(node, self.onnx).get("value")
            return EverySequence(0.0 if value is None else self.onnx.numpy_helper.to_array(value).reshape(()))
        if node.op_type == "Expand" and isinstance(inputs[0], np.ndarray):
            return EverySequence(inputs[0])
        return [_FROM_SHAPE] * len(node.output)

    def _data_node(self, node, inputs):
        handler = HANDLERS.get(node.op_type)
        if handler is None:
            supported = ", ".join(sorted(HANDLERS))
            raise refuse(node, "has no lstmlab layer", f"lstmlab imports chains of {supported} nodes (and constant plumbing)")
        data = next(v for v in inputs if isinstance(v, Data))
        if data.layers != len(self.specs):
            raise refuse(node, "reads an activation from before the newest layer: the graph branches", "lstmlab imports chains of layers")
        if sum(isinstance(v, Data) for v in inputs) > 1:
            raise refuse(node, "combines two activations", "lstmlab imports chains of layers, one input each")
        if data.layers in self.last_from_final and "T" in data.axes:
            raise refuse(node, "reads the output sequence Y of a recurrent node whose final state Y_h the graph reads too", "read one of the two")
        return handler(self, node, data, inputs, _attributes(node, self.onnx))

    def add(self, factory, **options):
        """Append a layer; returns how many layers there are now (the `layers` of its output)."""
        self.specs.append([factory, options])
        return len(self.specs)


def import_onnx(path, *, input_format=None, output=None):
    """Read an ONNX file as an `ll.Network` (MATLAB's importNetworkFromONNX), ready for `ll.trace`.

    The graph must be a chain from one input, float32 sequences (N, T, C) or int64 token ids
    (N, T), to the output imported. Imported nodes: LSTM, GRU (linear_before_reset 1 or 0, see
    `onnx_format`) and RNN, forward, reverse (a layer with direction="reverse") or bidirectional
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
    onnx = require_onnx("import_onnx")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"import_onnx: there is no file {path}; give the path of an .onnx file.")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as error:  # protobuf's DecodeError, onnx's ValidationError, ...
        raise ValueError(
            f"import_onnx: {path} is not a valid ONNX model ({type(error).__name__}: {error}); give a file written by an ONNX exporter."
        ) from None
    if not model.graph.node:
        raise ValueError(f"import_onnx: {path} holds no ONNX graph (no nodes); give a file written by an ONNX exporter.")
    return _Importer(model, onnx, input_format, output).network()
