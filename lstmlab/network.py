"""`Network`: a chain of layers, and the checks that data pass before entering one."""

import collections
import contextlib
import warnings

import pandas as pd
import torch

from .data import as_sequences
from .layers import Layer, RecurrentLayer, SequenceInputLayer
from .layers.basic import split_complex


class Network(torch.nn.Module):
    """A chain of lstmlab layers, each feeding the next (MATLAB's dlnetwork for a layer array).

    Layers without a name get their kind as a name ("lstm"), numbered when a kind repeats
    ("lstm_1", "lstm_2"). When the first layer is a `sequence_input_layer`, every input size
    marked "auto" is inferred at once; otherwise on the first forward pass.

    >>> import lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(12), ll.lstm_layer(100, output_mode="last"),
    ...                   ll.fully_connected_layer(9), ll.softmax_layer()])
    >>> net["lstm"].input_weights.shape
    torch.Size([400, 12])
    """

    def __init__(self, layers):
        super().__init__()
        layers = [layers] if isinstance(layers, Layer) else list(layers)
        if not layers:
            raise ValueError("Network: layers is empty; give a list such as [ll.sequence_input_layer(12), ll.lstm_layer(100)].")
        for k, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Network: layers[{k}] is a {type(layer).__name__}; expected an lstmlab layer such as ll.lstm_layer(100).")
            if any(layer is other for other in layers[:k]):
                raise ValueError(f"Network: layers[{k}] is the same object as an earlier layer; make a new layer for each position.")
            if k > 0 and isinstance(layer, SequenceInputLayer):
                raise ValueError(f"Network: layers[{k}] is a sequence input layer; it can only be the first layer.")
            if isinstance(layer, RecurrentLayer) and layer.has_state_inputs:
                raise ValueError(
                    f"Network: layers[{k}] has has_state_inputs=True, but a chain has nowhere to take states "
                    f"from; give hidden_state/cell_state instead, or call the layer directly."
                )
        self.class_names = None  # set by ll.trainnet for classification
        self.label_kind = None
        self._layers = torch.nn.ModuleDict(zip(_unique_names(layers), layers))
        for name, layer in self._layers.items():
            layer.name = name
        _check_chain(self.layers)
        if self.input_size != "auto":
            self.build(self.input_size)

    # --- structure -----------------------------------------------------------------------------------

    @property
    def layers(self):
        return list(self._layers.values())

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.layers[key]
        if key not in self._layers:
            raise KeyError(f"no layer named {key!r}; the layers are {', '.join(self._layers)}.")
        return self._layers[key]

    @property
    def input_size(self):
        """The number of input channels, or "auto" until the network has seen data."""
        first = self.layers[0]
        return getattr(first, "input_size", "auto")

    @property
    def output_size(self):
        """The channels of the network's output, or "auto" until its input size is known."""
        return "auto" if self.input_size == "auto" else self.build(self.input_size)

    @property
    def returns_sequence(self):
        """Whether the network outputs a sequence (else one vector per sequence)."""
        is_sequence = True
        for layer in self.layers:
            is_sequence = layer.returns_sequence(is_sequence)
        return is_sequence

    def build(self, input_size):
        """Infer every layer's input size from the network's input channels."""
        size = input_size
        for layer in self.layers:
            size = layer.build(size)
        return size

    def summary(self):
        """The layer table as a DataFrame: name, type, description, output shape, learnables."""
        rows, size, is_sequence = [], self.input_size, True
        for layer in self.layers:
            if size != "auto":
                size = layer.build(size)
            is_sequence = layer.returns_sequence(is_sequence)
            shape = "auto" if size == "auto" else (f"(T, {size})" if is_sequence else f"({size},)")
            params = [p for p in layer.parameters(recurse=False) if p is not None]
            rows.append(
                {
                    "name": layer.name,
                    "type": type(layer).__name__,
                    "description": layer.describe(),
                    "output shape": shape,
                    "learnables": sum(p.numel() for p in params),
                }
            )
        return pd.DataFrame(rows)

    def __repr__(self):
        table = self.summary()
        total = int(table["learnables"].sum())
        return f"Network with {len(table)} layers, {total:,} learnables\n{table.to_string(index=False)}"

    # --- running -----------------------------------------------------------------------------------

    def forward(self, x, mask=None):
        """x (B, T, C) through every layer; see `run`."""
        return self.run(x, mask)[0]

    def run(self, x, mask=None, states=None, observe=None, stop=None):
        """x (B, T, C) through every layer; returns the output and each recurrent layer's final states.

        mask (B, T), True on real steps, freezes the recurrent states over padded steps (see
        `RecurrentLayer.run`); None computes padded steps like any other, as MATLAB does.
        states {layer name: (h, c) or (h,), each (B, D*H)} starts those layers there instead of
        at their own states. `observe(layer, x, start)`, if given, runs each recurrent layer
        instead and returns (y, final), y its full output sequence. stop: run self.layers[:stop] only.
        """
        finals = {}
        for layer in self.layers[:stop]:
            if isinstance(layer, RecurrentLayer):
                start = layer.start_states(x.shape[0], (states or {}).get(layer.name))
                y, finals[layer.name] = layer.run(x, start, mask) if observe is None else observe(layer, x, start)
                x = layer.output(y, finals[layer.name], mask)
            else:
                x = layer(x)
            if isinstance(x, tuple):  # state outputs do not travel down a chain
                x = x[0]
        return x, finals

    @property
    def state(self):
        """The recurrent states: {layer name: {"hidden": array, "cell": array}}."""
        return {
            layer.name: {s: getattr(layer, f"{s}_state").detach().cpu().numpy() for s in layer.state_names}
            for layer in self.layers
            if isinstance(layer, RecurrentLayer)
        }

    def reset_state(self):
        """Return every recurrent layer to its initial state."""
        for layer in self.layers:
            if isinstance(layer, RecurrentLayer):
                layer.reset_state()

    def save(self, path):
        """Write the network to a file: weights, options, statistics, class names, states, history."""
        from .saving import save

        save(self, path)

    def learnables(self):
        """(layer, parameter name, parameter) for every learnable parameter, in order."""
        return [(layer, name, p) for layer in self.layers for name, p in layer.named_parameters(recurse=False)]


def _check_chain(layers):
    """Recurrent layers need sequences; state outputs go nowhere in a chain."""
    is_sequence, previous = True, None
    for layer in layers:
        if isinstance(layer, RecurrentLayer):
            if not is_sequence:
                raise ValueError(
                    f"Network: layer {layer.name!r} needs sequences, but {previous.name!r} has "
                    f"output_mode='last' and hands on one vector per sequence; give {previous.name!r} "
                    f"output_mode='sequence'."
                )
            if layer.has_state_outputs:
                warnings.warn(
                    f"layer {layer.name!r} has has_state_outputs=True, but a chain hands on only its output; "
                    f"its final states are dropped.",
                    stacklevel=3,
                )
            previous = layer
        is_sequence = layer.returns_sequence(is_sequence)


def _unique_names(layers):
    given = [layer.name for layer in layers if layer.name]
    for name in given:
        if given.count(name) > 1:
            raise ValueError(f"Network: two layers are named {name!r}; layer names must be unique.")
        if "." in name:
            raise ValueError(f"Network: layer name {name!r} contains '.'; use letters, digits, '_' or '-'.")
    unnamed = collections.Counter(layer.kind for layer in layers if not layer.name)
    counters = collections.Counter()
    names = []
    for layer in layers:
        if layer.name:
            names.append(layer.name)
            continue
        counters[layer.kind] += 1
        name = layer.kind if unnamed[layer.kind] == 1 else f"{layer.kind}_{counters[layer.kind]}"
        while name in given:
            name += "_"
        names.append(name)
    return names


# --- prediction ---------------------------------------------------------------------------------


def prepare(net, X, where):
    """Check X against the network and return the sequences as a list of arrays, ready to pad."""
    if not isinstance(net, Network):
        raise TypeError(f"{where}: net must be an ll.Network; got {type(net).__name__}. Wrap layers with ll.Network([...]).")
    first = net.layers[0]
    is_input = isinstance(first, SequenceInputLayer)
    split = is_input and first.split_complex_inputs
    sequences = as_sequences(X, where=where, allow_complex=split)
    if split:
        sequences = [split_complex(x) for x in sequences]
    step = sequences[0].shape[1:]
    if is_input and step != first.step_shape:
        if len(step) == 1 == len(first.step_shape):
            channels = step[0] // 2 if split else step[0]
            raise ValueError(f"{where}: X has {channels} channels; the network expects {first.input_size} (input_size={first.input_size}).")
        raise ValueError(f"{where}: X has time steps of shape {step}; the network expects {first.step_shape} (input_size={first.input_size}).")
    for n, x in enumerate(sequences):
        if is_input and len(x) < first.min_length:
            raise ValueError(
                f"{where}: X[{n}] has {len(x)} time steps, fewer than the input layer's min_length="
                f"{first.min_length}; pad it or drop it."
            )
    net.build(step[0] if len(step) == 1 else step)
    return sequences


@contextlib.contextmanager
def evaluating(net):
    """Inference mode, dropout off and exact float32; the training flag is restored afterwards."""
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode(), exact_float32():
            yield
    finally:
        net.train(was_training)


@contextlib.contextmanager
def exact_float32():
    """TF32 off on a GPU, so that float32 means float32.

    cuDNN may compute an LSTM in TF32 (10-bit mantissa) by default; lstmlab predicts and traces
    with it off, so that what `ll.trace` recomputes equals what `ll.predict` returns.
    """
    if not torch.cuda.is_available():
        yield
        return
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(
            enabled=torch.backends.cudnn.enabled,
            benchmark=torch.backends.cudnn.benchmark,
            deterministic=torch.backends.cudnn.deterministic,
            allow_tf32=False,
        ):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul
