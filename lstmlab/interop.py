"""Moving weights between lstmlab and torch: single recurrent modules, and whole models.

    layer = ll.from_torch(torch.nn.LSTM(12, 100, batch_first=True))   # torch -> lstmlab
    module = layer.to_torch()                                          # lstmlab -> torch
    net = ll.from_torch(model)     # an nn.Sequential, or a module whose children run in order

torch keeps the same row order as lstmlab (LSTM: i, f, g, o; GRU: r, z, n) but two biases,
b_ih and b_hh. An LSTM and a plain RNN only ever use their sum, so lstmlab stores b = b_ih + b_hh
and exports b_ih = b, b_hh = 0. A GRU uses b_hh inside the reset gate's product, so it becomes a GRU layer
with reset_gate_mode="recurrent-bias-after-multiplication" and a 6H bias [b_ih; b_hh].

A whole model is read from its forward, traced by torch.fx: each step must read the output of
the step before (a chain) and be a module lstmlab has a layer for (Embedding, LSTM, GRU, RNN,
Linear, Dropout, ReLU, Sigmoid, Conv1d, MaxPool1d, AvgPool1d, Softmax) or one of the few tensor
operations that only move axes or pick a recurrent module's output (`Follower`); anything else is
refused, naming it. An nn.LSTM returns a tuple (y, (h_n, c_n)), which the next module of an
nn.Sequential cannot read (torch itself fails there), so a model takes y = out[0] in its own
forward (`y, _ = self.lstm(x)`), and the usual last step of a classifier, y[:, -1] (y[-1] when
time-major) or h_n[-1], becomes the recurrent layer's output_mode="last". A forward that returns
the tuple itself gives y.

The export is the layer's own method, `RecurrentLayer.to_torch` (lstmlab/layers/recurrent.py)
and `WordEmbeddingLayer.to_torch`.
"""

import operator

import torch

from .layers import (
    AveragePooling1DLayer,
    BiGRULayer,
    BiLSTMLayer,
    BiRNNLayer,
    Convolution1DLayer,
    DropoutLayer,
    FullyConnectedLayer,
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

RECURRENT = (torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN)


def from_torch(module, *, output_mode="sequence", **options):
    """lstmlab layers with a torch model's weights: one recurrent module, or a whole model.

    Args:
        module: a torch.nn.LSTM, GRU or RNN; or a whole model, an nn.Sequential or a module whose
            forward runs its children in order (the module docstring says what it may hold).
        output_mode, options: for one recurrent module, the options of its (last) layer
            (has_state_outputs=True, say). A whole model's are read from its forward.

    Returns:
        For a recurrent module, one layer, or a list with a dropout_layer between recurrent
        layers when the module has num_layers > 1. For a whole model, an `ll.Network` that
        computes what the model computes, on lstmlab's batch-first data: a time-major model's
        (T, N, C) input is given as lstmlab's (N, T, C), as are its outputs, and its token ids keep their meaning
        (torch's nn.Embedding counts from 0: `word_embedding_layer(first_id=0)`; with
        padding_idx=0, id 0 is padding, lstmlab's first_id=1).
    """
    if not isinstance(module, RECURRENT):
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"from_torch: module must be a torch.nn.Module (an LSTM, GRU, RNN or a whole model); got {type(module).__name__}.")
        if output_mode != "sequence" or options:
            raise TypeError(
                f"from_torch: output_mode and layer options apply to one recurrent module; {type(module).__name__}'s are read "
                f"from its forward (y[:, -1] or h_n[-1] there gives output_mode='last')."
            )
        return _network(module)
    return _recurrent_layers(module, output_mode, options)


def _recurrent_layers(module, output_mode, options, layer_name=""):
    """The layers of a torch.nn.LSTM, GRU or RNN; layer_name: theirs (numbered when there are several)."""
    if getattr(module, "proj_size", 0):
        raise ValueError(
            f"from_torch: an LSTM with proj_size={module.proj_size} outputs its projected state W_hr h, which no lstmlab layer "
            f"outputs: ll.lstm_projected_layer, like MATLAB's lstmProjectedLayer, projects h only where the recurrent weights "
            f"read it and outputs h itself. Use proj_size=0, or build an ll.lstm_projected_layer with output_projector=W_hr.T "
            f"(tests/test_projected.py shows the correspondence)."
        )
    one_bias = not isinstance(module, torch.nn.GRU)  # LSTM, RNN: b = b_ih + b_hh
    suffixes = ["", "_reverse"] if module.bidirectional else [""]
    layers = []
    for k in range(module.num_layers):
        W, R, b = [], [], []
        for suffix in suffixes:
            name = f"l{k}{suffix}"
            W.append(getattr(module, f"weight_ih_{name}"))
            R.append(getattr(module, f"weight_hh_{name}"))
            if module.bias:
                b_ih, b_hh = getattr(module, f"bias_ih_{name}"), getattr(module, f"bias_hh_{name}")
                b.append(b_ih + b_hh if one_bias else torch.cat([b_ih, b_hh]))
            else:
                b.append(torch.zeros(W[-1].shape[0] * (1 if one_bias else 2)))
        layer_options = {
            "input_weights": torch.cat(W).detach(),
            "recurrent_weights": torch.cat(R).detach(),
            "bias": torch.cat(b).detach().to(W[0]),
        }
        if layer_name:
            layer_options["name"] = layer_name if module.num_layers == 1 else f"{layer_name}_{k + 1}"
        if k == module.num_layers - 1:
            layer_options.update(output_mode=output_mode, **options)
        if isinstance(module, torch.nn.LSTM):
            layer = (BiLSTMLayer if module.bidirectional else LSTMLayer)(module.hidden_size, **layer_options)
        elif isinstance(module, torch.nn.GRU):
            family = BiGRULayer if module.bidirectional else GRULayer
            layer = family(module.hidden_size, reset_gate_mode="recurrent-bias-after-multiplication", **layer_options)
        else:
            layer = (BiRNNLayer if module.bidirectional else RNNLayer)(module.hidden_size, activation=module.nonlinearity, **layer_options)
        if k > 0 and module.dropout > 0:
            layers.append(DropoutLayer(module.dropout))
        layers.append(_same_numbers(layer, layer_options))
    return layers[0] if len(layers) == 1 else layers


def _same_numbers(layer, given):
    """The layer moved to the given weights' device and dtype, holding exactly their values.

    given: {parameter name: tensor}, with the layer's other options (a name, say) left out."""
    parameters = dict(layer.named_parameters())
    tensors = {name: value for name, value in given.items() if name in parameters}
    first = next(iter(tensors.values()))
    layer = layer.to(device=first.device, dtype=first.dtype)
    with torch.no_grad():
        for name, value in tensors.items():
            getattr(layer, name).copy_(value)
    return layer


# --- whole models ---------------------------------------------------------------------------------

FUNCTIONS = {torch.relu: ReluLayer, torch.nn.functional.relu: ReluLayer, torch.sigmoid: SigmoidLayer}
METHODS = {"relu": ReluLayer, "sigmoid": SigmoidLayer}
FOLLOWED = "Embedding, LSTM, GRU, RNN, Linear, Dropout, ReLU, Sigmoid, Conv1d, MaxPool1d, AvgPool1d, Softmax"


def _network(model):
    """An ll.Network that computes what a torch model's forward computes (see the module docstring)."""
    who = type(model).__name__
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception as error:  # torch.fx raises many kinds: data-dependent control flow, unsupported calls, ...
        raise ValueError(
            f"from_torch: cannot follow the forward of {who} (torch.fx: {type(error).__name__}: {error}); give an "
            f"nn.Sequential, or a module whose forward runs its children one after the other."
        ) from error
    graph.eliminate_dead_code()  # what the forward computes but does not return (h_n when y is used, say)
    follower = Follower(model)
    for node in graph.nodes:
        follower.follow(node)
    if not follower.layers:
        raise ValueError(f"from_torch: {who} holds no module that lstmlab has a layer for ({FOLLOWED}).")
    input_size = 1 if isinstance(follower.layers[0], WordEmbeddingLayer) else follower.input_size
    if input_size is None:
        raise ValueError(f"from_torch: no module of {who} says how many channels come in (an Embedding, LSTM, GRU, RNN, Linear or Conv1d).")
    needed = Network(follower.layers).min_length()  # the steps the model's convolutions and pooling need
    net = Network([SequenceInputLayer(input_size, min_length=needed), *follower.layers])
    like = next(model.parameters(), None)
    return net if like is None else net.to(device=like.device, dtype=like.dtype)  # the layers without weights too


class Follower:
    """Reads a traced forward node by node and makes the lstmlab layer of each.

    It keeps the axes of the value that flows ("NTC": batch, time, channels; "NCT" before a Conv1d;
    "NC" after the last step) and, after a recurrent module, which part of its tuple was taken.
    """

    def __init__(self, model):
        self.model, self.who = model, type(model).__name__
        self.modules = dict(model.named_modules())
        recurrent = [m for m in self.modules.values() if isinstance(m, RECURRENT)]
        self.time_major = bool(recurrent) and not recurrent[0].batch_first  # the input's layout is that of the first recurrent module
        self.layers, self.input_size = [], None
        self.current = None  # the node whose value flows on
        self.axes = None  # of the current value; None: the input, not yet read by a module
        self.taken = "tensor"  # after a recurrent module: "outputs" (y, states), "states" (h_n, c_n), "final" (h_n)
        self.recurrent = None  # the torch module whose tuple flows, while taken != "tensor"

    def refuse(self, node, why):
        raise ValueError(f"from_torch: {self.describe(node)} in {self.who}: {why}")

    def describe(self, node):
        if node.op == "call_module":
            return f"module {node.target!r} ({type(self.modules[node.target]).__name__})"
        if node.op == "call_method":
            return f"{node.name} (the tensor method .{node.target}())"
        return f"{node.name} ({getattr(node.target, '__name__', node.target)})"

    def follow(self, node):
        if node.op == "placeholder":
            if self.current is not None:
                self.refuse(node, "the model takes a second input; lstmlab networks take one (the sequences).")
            self.current = node
            return
        if node.op == "output":
            if node.args[0] is not self.current:
                self.refuse(node, "the forward returns something other than the value of its last step.")
            if self.taken not in ("tensor", "outputs"):
                self.refuse(node, "the forward returns a recurrent module's states; lstmlab networks output y or its last step.")
            if self.axes == "NCT":
                self.refuse(node, "the forward returns channels first (N, C, T); transpose back to (N, T, C) as lstmlab outputs.")
            return
        if node.all_input_nodes != [self.current] or (node.kwargs and node.op == "call_module"):
            others = ", ".join(n.name for n in node.all_input_nodes if n is not self.current) or "keyword arguments"
            self.refuse(node, f"it reads {others} besides the step before it; lstmlab follows chains, in which each step reads only the output of the one before.")
        if self.axes is None and not (node.op == "call_module" and isinstance(self.modules[node.target], torch.nn.Embedding)):
            self.axes = "TNC" if self.time_major else "NTC"  # a vector sequence comes in
        if self.taken != "tensor":
            self._take(node)
        elif node.op == "call_module":
            self._module(node, self.modules[node.target])
        elif node.op == "call_function" and node.target is operator.getitem:
            self._last_step(node, node.args[1])
        elif node.op == "call_function" and node.target in FUNCTIONS:
            self.layers.append(FUNCTIONS[node.target]())
        elif node.op == "call_function" and node.target in (torch.softmax, torch.nn.functional.softmax):
            self._softmax(node, node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None))
        elif node.op == "call_method" and node.target == "softmax":
            self._softmax(node, node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None))
        elif node.op == "call_method" and node.target in METHODS:
            self.layers.append(METHODS[node.target]())
        elif node.op == "call_method" and node.target in ("transpose", "permute"):
            self._move_axes(node)
        elif node.op != "call_method" or node.target != "contiguous":  # contiguous changes no value
            self.refuse(node, f"lstmlab has no layer for it; it follows {FOLLOWED}, and y[:, -1], h_n[-1], transpose and permute.")
        self.current = node

    def _module(self, node, m):
        name = _layer_name(node.target)
        if isinstance(m, torch.nn.Embedding):
            if self.layers or self.axes is not None:
                self.refuse(node, "an embedding reads token ids, so it must be the model's first step.")
            self.layers.append(_embedding(m, name, lambda why: self.refuse(node, why)))
            self.axes = "TNC" if self.time_major else "NTC"
            return
        size = next((getattr(m, a) for a in ("input_size", "in_features", "in_channels") if hasattr(m, a)), None)
        if self.input_size is None and size is not None:
            self.input_size = size  # the first module that reads channels says how many come in
        if isinstance(m, RECURRENT):
            expected = "NTC" if m.batch_first else "TNC"
            if self.axes != expected:
                self.refuse(node, f"it reads its input as ({', '.join(expected)}) (batch_first={m.batch_first}) but gets ({', '.join(self.axes)}).")
            self.layers.extend(_as_list(_recurrent_layers(m, "sequence", {}, name)))
            self.taken, self.recurrent = "outputs", m
            return
        if isinstance(m, (torch.nn.Conv1d, torch.nn.MaxPool1d, torch.nn.AvgPool1d)):
            if self.axes != "NCT":
                self.refuse(node, f"it reads (N, C, T) but gets ({', '.join(self.axes)}); a torch model transposes before it, x.transpose(1, 2).")
            self.layers.append(_window_layer(m, name, lambda why: self.refuse(node, why)))
            return
        if self.axes[-1] != "C" and not isinstance(m, (torch.nn.Dropout, torch.nn.ReLU, torch.nn.Sigmoid)):
            self.refuse(node, f"it reads channels on the last axis but gets ({', '.join(self.axes)}).")
        if isinstance(m, torch.nn.Linear):
            given = {"weights": m.weight.detach(), "bias": m.bias.detach() if m.bias is not None else torch.zeros_like(m.weight[:, 0])}
            self.layers.append(_same_numbers(FullyConnectedLayer(m.out_features, name=name, **given), given))
        elif type(m) is torch.nn.Dropout:
            self.layers.append(DropoutLayer(m.p, name=name))
        elif type(m) in (torch.nn.ReLU, torch.nn.Sigmoid):
            self.layers.append((ReluLayer if isinstance(m, torch.nn.ReLU) else SigmoidLayer)(name=name))
        elif type(m) is torch.nn.Softmax:
            self._softmax(node, m.dim, name)
        else:
            self.refuse(node, f"lstmlab has no layer for it; it follows {FOLLOWED}.")

    def _softmax(self, node, dim, name=""):
        if not isinstance(dim, int) or not -len(self.axes) <= dim < len(self.axes) or self.axes[dim] != "C":
            self.refuse(node, f"lstmlab's softmax runs over the channels, axis {len(self.axes) - 1}; this one runs over dim={dim}.")
        self.layers.append(SoftmaxLayer(name=name))

    def _move_axes(self, node):
        """transpose(a, b) or permute(...): the axes move; the values do not."""
        dims = [d % len(self.axes) for d in node.args[1:]]
        if node.target == "transpose":
            order = list(range(len(self.axes)))
            order[dims[0]], order[dims[1]] = order[dims[1]], order[dims[0]]
        else:
            order = dims[0] if len(dims) == 1 and isinstance(node.args[1], (tuple, list)) else dims
        self.axes = "".join(self.axes[d] for d in order)

    def _last_step(self, node, index):
        """y[:, -1] (y[-1] when time-major): the last step of a recurrent layer's output sequence."""
        index = index if isinstance(index, tuple) else (index,)
        T = self.axes.index("T") if "T" in self.axes else None
        last = (
            T is not None and len(index) > T and index[T] == -1
            and all(i == slice(None) for k, i in enumerate(index) if k != T)
        )
        if not last:
            self.refuse(node, f"an index {index!r} that is not the last time step, y[:, -1] (y[-1] when time-major).")
        self._take_last(node)

    def _take_last(self, node):
        layer = self.layers[-1]
        if not isinstance(layer, RecurrentLayer) or layer.output_mode != "sequence":
            self.refuse(node, "lstmlab takes the last time step only as a recurrent layer's output_mode='last', so it must follow the recurrent module directly.")
        layer.output_mode = "last"
        self.axes = self.axes.replace("T", "")
        self.taken = "tensor"

    def _take(self, node):
        """A part of the tuple a recurrent module returns: y, its states, or the last layer's final h."""
        m, index = self.recurrent, node.args[1] if node.target is operator.getitem else None
        if index is None and node.target != "squeeze":
            self.refuse(
                node, f"it reads the tuple (y, states) that {type(m).__name__} returns, which torch itself cannot pass on to a "
                f"module; take y first, y, _ = self.{type(m).__name__.lower()}(x) in a forward of your own."
            )
        last_h = m.num_layers * (1 + m.bidirectional) - 1  # h_n's row of the last layer's last direction
        if self.taken == "outputs" and index in (0, 1):
            self.taken = "tensor" if index == 0 else ("states" if isinstance(m, torch.nn.LSTM) else "final")
        elif self.taken == "states" and index == 0:
            self.taken = "final"
        elif self.taken == "final" and (index in (-1, last_h) or (node.target == "squeeze" and last_h == 0 and node.args[1:] == (0,))):
            if m.bidirectional:
                self.refuse(node, "h_n[-1] of a bidirectional module is the backward direction's state alone, which no lstmlab layer outputs; use y[:, -1], or both final states, torch.cat([h_n[-2], h_n[-1]], -1), as ll.from_torch(module, output_mode='final') of the module alone gives them.")
            self.axes = "NTC"  # y's axes, of which _take_last keeps N and C
            self._take_last(node)
        else:
            self.refuse(node, "it takes a part of a recurrent module's (y, states) that lstmlab does not follow: y = out[0], then y[:, -1] or h_n[-1].")


def _layer_name(target):
    """The lstmlab name of a torch module: its attribute path ("encoder_lstm"); none for nn.Sequential's numbers."""
    return "" if target.replace(".", "").isdigit() else target.replace(".", "_")


def _as_list(layers):
    return layers if isinstance(layers, list) else [layers]


def _embedding(m, name, refuse):
    """word_embedding_layer for an nn.Embedding, reading the same ids: padding_idx=0 is lstmlab's padding (first_id=1)."""
    if m.max_norm is not None:
        refuse(f"max_norm={m.max_norm} rescales the vectors it reads, which word_embedding_layer does not do.")
    table = m.weight.detach()  # (num_embeddings, dimension)
    if m.padding_idx == 0 and not table[0].any():
        given, first_id = {"weights": table[1:].T}, 1
    else:  # every id a word (a padding_idx other than 0 keeps its row, which torch does not train)
        given, first_id = {"weights": table.T}, 0
    layer = WordEmbeddingLayer(m.embedding_dim, len(given["weights"][0]), first_id=first_id, name=name, **given)
    return _same_numbers(layer, given)


def _window_layer(m, name, refuse):
    """convolution1d_layer or a pooling layer for a torch Conv1d, MaxPool1d or AvgPool1d."""
    single = lambda v: v[0] if isinstance(v, (tuple, list)) else v  # noqa: E731  (torch keeps 1-D sizes as 1-tuples)
    if getattr(m, "ceil_mode", False):
        refuse("ceil_mode=True; lstmlab's windows count like ceil_mode=False.")
    padding = single(m.padding)
    padding = 0 if padding == "valid" else padding  # torch's name for no padding
    if isinstance(m, torch.nn.Conv1d):
        if m.groups != 1 or m.padding_mode != "zeros":
            refuse(f"groups={m.groups}, padding_mode={m.padding_mode!r}; convolution1d_layer has one group and zero padding.")
        given = {"weights": m.weight.detach().permute(2, 1, 0), "bias": m.bias.detach() if m.bias is not None else torch.zeros_like(m.weight[:, 0, 0])}
        layer = Convolution1DLayer(
            single(m.kernel_size), m.out_channels, stride=single(m.stride), dilation_factor=single(m.dilation), padding=padding, name=name, **given
        )
        return _same_numbers(layer, given)
    if isinstance(m, torch.nn.MaxPool1d):
        if single(m.dilation) != 1 or m.return_indices:
            refuse("dilation or return_indices, which max_pooling1d_layer has not.")
        return MaxPooling1DLayer(single(m.kernel_size), stride=single(m.stride), padding=padding, name=name)
    return AveragePooling1DLayer(single(m.kernel_size), stride=single(m.stride), padding=padding, padding_value=0 if m.count_include_pad else "mean", name=name)


def to_torch(layer):
    """A torch module with the layer's weights, `layer.to_torch()` (the way back is `from_torch`).

    The module computes what the layer computes from zero initial states, at every time step: a
    torch module has no output mode (take y[:, -1] for "last"). torch's two biases become
    b_ih = b, b_hh = 0, except for a GRU with reset_gate_mode="recurrent-bias-after-multiplication",
    whose 6H bias is [b_ih; b_hh] (the module docstring says why).

    Args:
        layer: an lstmlab LSTM, BiLSTM, GRU, BiGRU, RNN or BiRNN layer with its weights (not
            input_size="auto" before any data), activations that torch's module computes
            (sigmoid gates, tanh states, a GRU's reset gate applied after the multiplication),
            zero initial states and direction "forward"; or a word embedding layer.
            Another layer, or one of these options torch cannot hold, gives an error that says
            which.

    Returns:
        A new torch.nn.LSTM / GRU / RNN (batch_first=True, bidirectional for a Bi layer) on the
        layer's device and dtype, or a torch.nn.Embedding that maps the same ids to the same
        vectors (with padding_idx=0 for a layer with first_id=1). Its parameters are copies:
        training one changes nothing in the other.

    >>> import torch, lstmlab as ll
    >>> layer = ll.lstm_layer(4, input_size=3)
    >>> module = ll.to_torch(layer)
    >>> x = torch.randn(2, 5, 3)
    >>> torch.allclose(module(x)[0], layer(x), atol=1e-6)
    True
    """
    if not isinstance(layer, (RecurrentLayer, WordEmbeddingLayer)):
        raise TypeError(f"to_torch: layer must be an LSTM, BiLSTM, GRU, RNN or word embedding layer; got {type(layer).__name__}.")
    return layer.to_torch()
