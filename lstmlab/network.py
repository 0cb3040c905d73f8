"""`Network`: a chain of layers, and the checks that data pass before entering one."""

import collections
import contextlib
import warnings

import numpy as np
import pandas as pd
import torch

from . import saving
from .data import as_sequences, is_one_sequence
from .layers import Layer, RecurrentLayer, SequenceFoldingLayer, SequenceInputLayer, SequenceUnfoldingLayer, WordEmbeddingLayer
from .layers.basic import split_complex

SEQUENCE_OPTIONS = {"sequence_length": "longest", "sequence_padding_direction": "right", "sequence_padding_value": 0, "freeze_padding": False}
"""MATLAB's defaults, the sequence options of an untrained network; `ll.trainnet` sets
`Network.sequence_options` to those it trained with."""
PADDING_OPTIONS = ("sequence_padding_direction", "sequence_padding_value", "freeze_padding")
"""The trained options that prediction and trace default to. Not sequence_length: chunks change no
output, but a short sequence's state would run through the padding of its last chunk."""


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
        self.sequence_options = dict(SEQUENCE_OPTIONS)  # ll.trainnet keeps those it trained with
        self._layers = torch.nn.ModuleDict(zip(_unique_names(layers), layers))
        for name, layer in self._layers.items():
            layer.name = name
        _check_chain(self.layers)
        self._check_min_length()
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

    def _check_min_length(self):
        """A sequence input layer's min_length must be enough for every layer that shortens time."""
        first = self.layers[0]
        if not isinstance(first, SequenceInputLayer):
            return
        lengths = self.output_lengths(first.min_length)
        short = next((k for k, n in enumerate(lengths) if n is not None and n < 1), None)
        if short is None:
            return
        layer, before = self.layers[short], lengths[short - 1]
        raise ValueError(
            f"Network: layer {layer.name!r} ({layer.describe()}) gets {before} time step{'s' if before != 1 else ''} from a sequence of "
            f"min_length={first.min_length} and has no output step left. The network needs sequences of at least "
            f"{self.min_length()} steps: give sequence_input_layer(..., min_length={self.min_length()}), or pad the "
            f"layer (padding='same')."
        )

    def summary(self):
        """The layer table as a DataFrame: name, type, description, output shape, learnables."""
        rows, size, is_sequence, folded = [], self.input_size, True, False
        for layer in self.layers:
            if size != "auto":
                size = layer.build(size)
            is_sequence = layer.returns_sequence(is_sequence)
            folded = (folded or isinstance(layer, SequenceFoldingLayer)) and not isinstance(layer, SequenceUnfoldingLayer)
            step = "x".join(map(str, size)) if isinstance(size, tuple) else str(size)
            shape = "auto" if size == "auto" else (f"(frames, {step})" if folded else f"(T, {step})" if is_sequence else f"({step},)")
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
        lines = [f"Network with {len(table)} layers, {total:,} learnables", table.to_string(index=False)]
        trained = {name: value for name, value in self.sequence_options.items() if value != SEQUENCE_OPTIONS[name]}
        if trained:
            options = ", ".join(f"{name}={value!r}" for name, value in trained.items())
            padding = " predict, classify and trace pad as in training unless told otherwise." if trained.keys() & set(PADDING_OPTIONS) else ""
            lines.append(f"Trained with {options}.{padding}")
        if self.holds_state:
            lines.append(
                "Holds states left by predict_and_update_state (or classify_and_update_state): ll.predict starts from "
                "them; ll.reset_state(net) returns to the initial states."
            )
        return "\n".join(lines)

    # --- running -----------------------------------------------------------------------------------

    def forward(self, x, mask=None):
        """x (B, T, C) through every layer; see `run`."""
        return self.run(x, mask)[0]

    def run(self, x, mask=None, states=None, run_recurrent=None, until=None, freeze_padding=False):
        """x (B, T, ...) through every layer; returns the output, each recurrent layer's final states
        and the output's mask.

        Each layer is called as a module (`layer(x, ...)`), so its forward hooks fire and see the
        tensor handed to the next layer; a hook that returns another changes what follows.
        mask (B, T), True on real steps (None: every step is real), travels with the data: layers that
        change the time axis (convolution, pooling) change it too, and pooling leaves padding out.
        freeze_padding: recurrent layers carry their states unchanged over padded steps (see
        `RecurrentLayer.run`); otherwise they compute padded steps like any other, as MATLAB does.
        states {layer name: (h, c) or (h,), each (B, D*H)} starts those layers there instead of at
        their own states. `run_recurrent(layer, x, start, mask)`, if given, computes each recurrent
        layer instead of its `run` and returns (y, final), y its full output sequence; mask is the
        frozen-padding mask or None. until: run self.layers[:until] only (until=-1 leaves out the
        softmax); frames still folded there are unfolded.
        """
        finals, folds = {}, []  # folds: (batch shape, mask) of each folding layer not yet unfolded
        for layer in self.layers[:until]:
            if isinstance(layer, RecurrentLayer):
                frozen = mask if freeze_padding else None
                x = layer(x, mask=frozen, states=(states or {}).get(layer.name), finals=finals, run=run_recurrent)
                mask = layer.output_mask(mask)
            elif isinstance(layer, SequenceUnfoldingLayer):
                batch_shape, mask = folds.pop()
                x = layer(x, batch_shape=batch_shape, mask=mask)
            else:
                if isinstance(layer, SequenceFoldingLayer):
                    folds.append((x.shape[:2], mask))
                x, mask = layer.propagate(x, mask)
        while folds:
            x, mask = SequenceUnfoldingLayer.unfold(x, *folds.pop())
        return x, finals, mask

    def output_lengths(self, length):
        """The number of time steps each layer outputs for `length` steps in (None once time is pooled away)."""
        lengths = []
        for layer in self.layers:
            length = layer.output_length(length) if length is not None and layer.returns_sequence(True) else None
            lengths.append(length)
        return lengths

    def recurrent_lengths(self, lengths):
        """Each sequence's real length at the input of each recurrent layer, in that layer's own time
        (after any convolution or pooling that shortens it): {layer name: (N,) array}."""
        lengths = torch.as_tensor(lengths)
        inputs = [lengths, *self.output_lengths(lengths)[:-1]]
        return {layer.name: n.numpy() for layer, n in zip(self.layers, inputs) if isinstance(layer, RecurrentLayer)}

    def min_length(self):
        """The fewest time steps an input sequence needs so that every layer has at least one step."""
        length = 1
        while not all(n is None or n >= 1 for n in self.output_lengths(length)):
            length += 1
        return length

    @property
    def state(self):
        """The recurrent states: {layer name: {"hidden": array, "cell": array}}."""
        return {
            layer.name: {s: getattr(layer, f"{s}_state").detach().cpu().numpy() for s in layer.state_names}
            for layer in self.layers
            if isinstance(layer, RecurrentLayer)
        }

    @property
    def holds_state(self):
        """Whether a recurrent layer holds a state other than its initial one (left by a stateful call)."""
        return any(
            not torch.equal(getattr(layer, f"{s}_state"), getattr(layer, f"initial_{s}_state"))
            for layer in self.layers
            if isinstance(layer, RecurrentLayer)
            for s in layer.state_names
        )

    def reset_state(self):
        """Return every recurrent layer to its initial state."""
        for layer in self.layers:
            if isinstance(layer, RecurrentLayer):
                layer.reset_state()

    def save(self, path):
        """Write the network to a file: weights, options, statistics, class names, states, history.

        `ll.load_network(path)` reads it back; the format is in `lstmlab.saving`.
        """
        saving.save(self, path)

    def learnables(self):
        """(layer, parameter name, parameter) for every learnable parameter, in order."""
        return [(layer, name, p) for layer in self.layers for name, p in layer.named_parameters(recurse=False)]


def load_network(path):
    """Read a network written by `net.save(path)`: the same weights, states, statistics and classes.

    A file written by an `ll.EncoderDecoder`'s `save` gives the EncoderDecoder back.

    The file is read and checked by `lstmlab.saving`, never unpickled.
    """
    saved = saving.read(path)
    if not isinstance(saved, saving.NetworkFile):
        return saved  # a model of another kind, made by its loader (an ll.EncoderDecoder: lstmlab.seq2seq)
    return saving.restore(Network(saved.layers), saved)


def sequence_options(net, **given):
    """The sequence options of a prediction: each given one (not None) wins; else the network's
    padding options (`Network.sequence_options`, those it was trained with) and MATLAB's default
    for the others."""
    defaults = {**SEQUENCE_OPTIONS, **{name: net.sequence_options[name] for name in PADDING_OPTIONS}}
    return {name: value if given.get(name) is None else given[name] for name, value in defaults.items()}


def _check_chain(layers):
    """Recurrent layers need sequences; state outputs go nowhere in a chain; folds are paired."""
    is_sequence, previous, fold = True, None, None
    for layer in layers:
        if isinstance(layer, SequenceFoldingLayer):
            if fold is not None:
                raise ValueError(f"Network: {layer.name!r} folds frames that {fold.name!r} has already folded; unfold them first.")
            fold = layer
        if isinstance(layer, SequenceUnfoldingLayer):
            if fold is None:
                raise ValueError(f"Network: {layer.name!r} unfolds, but no sequence_folding_layer comes before it.")
            fold = None
        if fold is not None and (isinstance(layer, RecurrentLayer) or not layer.returns_sequence(True)):
            raise ValueError(
                f"Network: {layer.name!r} needs whole sequences, but the frames are folded by {fold.name!r}; put a "
                f"sequence_unfolding_layer before it."
            )
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
    if fold is not None:
        raise ValueError(f"Network: {fold.name!r} folds frames that nothing unfolds; add a sequence_unfolding_layer after the frame layers.")


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
    """Check X, a data set or one sequence, against the network; return the sequences as a list of arrays, ready to pad."""
    if not isinstance(net, Network):
        raise TypeError(f"{where}: net must be an ll.Network; got {type(net).__name__}. Wrap layers with ll.Network([...]).")
    first = net.layers[0]
    is_input = isinstance(first, SequenceInputLayer)
    embedding = next((layer for layer in net.layers[:2] if isinstance(layer, WordEmbeddingLayer)), None)
    one = is_one_sequence(X)
    if one and embedding is not None and X.ndim == 2 and X.shape[1] != 1:
        raise ValueError(
            f"{where}: X is one 2-D array of shape {tuple(X.shape)}, which lstmlab reads as one (T, C) sequence, but the "
            f"network reads token ids in one channel (layer {embedding.name!r}). Give one token sequence as a (T,) array, "
            f"or N token sequences as a list of (T,) arrays or an (N, T, 1) array (X[..., None])."
        )
    split = is_input and first.split_complex_inputs
    sequences = as_sequences(X, where=where, allow_complex=split)
    if split:
        sequences = [split_complex(x) for x in sequences]
    labels = ["X"] if one else [f"X[{n}]" for n in range(len(sequences))]
    step = sequences[0].shape[1:]
    if is_input and step != first.step_shape:
        if len(step) == 1 == len(first.step_shape):
            channels = step[0] // 2 if split else step[0]
            hint = " If the rows of X are sequences of one channel, give X[..., None], an (N, T, 1) array." if one and first.input_size == 1 else ""
            if all(len(x) == first.input_size for x in sequences):  # the time axis holds the expected channels
                hint += _transpose_hint(X, one)
            raise ValueError(f"{where}: X has {channels} channels; the network expects {first.input_size} (input_size={first.input_size}).{hint}")
        raise ValueError(f"{where}: X has time steps of shape {step}; the network expects {first.step_shape} (input_size={first.input_size}).")
    needed = first.min_length if is_input else net.min_length()
    for x, label in zip(sequences, labels):
        if len(x) < needed:
            raise ValueError(
                f"{where}: {label} has {len(x)} time steps, fewer than the {needed} the network needs "
                f"(min_length={needed}); pad it or drop it."
            )
    net.build(step[0] if len(step) == 1 else step)
    if embedding is not None:
        _check_token_ids(sequences, labels, embedding, where, padded=not one and hasattr(X, "ndim"))
    return sequences


def _transpose_hint(X, one):
    """How to put time first, for data whose time axis is as long as the network's channels."""
    if one:
        return " If time is on the last axis, transpose to (T, C): X.T."
    if isinstance(X, (np.ndarray, torch.Tensor)):
        swap = "X.transpose(0, 2, 1)" if isinstance(X, np.ndarray) else "X.transpose(1, 2)"
        return f" If time is on the last axis, transpose to (N, T, C): {swap}."
    return " If time is on the last axis, transpose each sequence to (T, C): [x.T for x in X]."


def _check_token_ids(sequences, labels, layer, where, padded):
    """Every token id must be a word of the embedding layer's vocabulary, or padding where the data
    may hold it: in an (N, T, 1) array (padded), never in a list or one sequence, which are not padded yet."""
    for x, label in zip(sequences, labels):
        bad = layer.bad_ids(x[:, 0], padded)
        if bad.any():
            t = int(np.flatnonzero(bad)[0])
            if x[t, 0] == 0 and layer.has_padding:
                raise ValueError(
                    f"{where}: {label} has token id 0 at time step {t}, but layer {layer.name!r} counts words from 1 "
                    f"(first_id=1) and reads 0 as padding, which a sequence given on its own or in a list does not hold "
                    f"yet. If your ids count from 0 (as torch's nn.Embedding), add 1 to them, or make the layer with "
                    f"first_id=0."
                )
            raise ValueError(
                f"{where}: {label} has token id {x[t, 0]:g} at time step {t}, outside the vocabulary of layer "
                f"{layer.name!r}: ids are {layer.ids_text()}. "
                f"Map unknown words to an id of their own, or give word_embedding_layer a larger num_words."
            )


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
