"""`ll.analyze_network`: every layer's activation size, learnables and states, and what is wrong.

The table follows MATLAB's analyzeNetwork: activation sizes in its letters, C channels, B batch,
T time, S space (`12(C) x 1(B) x T(T)`); a layer that changes the time axis shows how
(`ceil(T/2)`, `T-4`). Learnables are listed with their shapes, and, for recurrent layers, per block of rows
(an LSTM's four blocks: the gates i, f, o and the cell candidate g).

Issues are (severity, layer, message) with a fix in the message. What can be known:

- from the layers alone: anything `ll.Network` refuses (a recurrent layer after output_mode="last",
  duplicate names, folds that are not unfolded, a min_length too short for convolution or pooling),
  channel sizes that do not match (layers built for other sizes), and its warnings; a convolution
  or pooling over time after the time axis is gone (`ll.Network` takes it, running it fails);
- with `loss=`: a cross-entropy without the softmax (or sigmoid) layer it needs;
- with targets `Y=`: whether the network must end in one vector per sequence (labels or one
  response per sequence) or in a sequence (one target per step). Without Y a network whose last
  recurrent layer outputs sequences is legal (sequence-to-sequence), so no issue is raised;
- with data `X=`: channels and lengths against the network, the padding of every mini-batch under
  the batching options, and an estimate of the memory each mini-batch takes.
"""

import html
import re
import warnings

import numpy as np
import pandas as pd

from .batching import batch_summary
from .layers import REGISTRY, RecurrentLayer, SequenceFoldingLayer, SequenceInputLayer, SequenceUnfoldingLayer
from .layers.base import Layer
from .losses import check_loss
from .network import Network, _unique_names, sequence_options
from .preparation import prepare
from .targets import is_per_step

SYMBOLS = {"input_weights": "W", "recurrent_weights": "R", "bias": "b", "input_projector": "Q_i", "output_projector": "Q_o"}
BYTES = 4  # float32
OVER_TIME = tuple(row.cls for row in REGISTRY if row.over_time)  # the layers that need sequences


class Analysis:
    """What `analyze_network` found.

    Attributes:
        table: a DataFrame, one row per layer: name, kind, description, activation size,
            learnables (shapes, per block of rows for recurrent layers), count, states.
        issues: [(severity, layer, message)], severity "error" or "warning"; layer is a name or
            None for the whole network.
        network: the `ll.Network`, or None when the layers do not make one.
        batches: with data, a DataFrame per mini-batch: sequences, time_steps, padded_steps,
            training_MB and trace_MB; else None.
        total: the number of learnable parameters.
    """

    def __init__(self, table, issues, network, batches):
        self.table, self.issues, self.network, self.batches = table, issues, network, batches
        self.total = int(table["count"].sum())

    @property
    def errors(self):
        return [issue for issue in self.issues if issue[0] == "error"]

    def __repr__(self):
        lines = [f"Network analysis: {len(self.table)} layers, {self.total:,} learnables, "
                 f"{len(self.errors)} errors, {len(self.issues) - len(self.errors)} warnings",
                 self.table.to_string(index=False)]
        lines += [f"{severity.upper()} [{layer or 'network'}]: {message}" for severity, layer, message in self.issues]
        if self.batches is not None:
            lines += ["Mini-batches:", self.batches.to_string(index=False)]
        return "\n".join(lines)

    def _repr_html_(self):
        colours = {"error": "#c62828", "warning": "#ef6c00"}
        items = "".join(
            f"<li style='color:{colours[severity]}'><b>{severity}</b> [{html.escape(layer or 'network')}]: {html.escape(message)}</li>"
            for severity, layer, message in self.issues
        )
        parts = [
            f"<b>{len(self.table)} layers, {self.total:,} learnables</b>",
            self.table.to_html(index=False),
            f"<ul>{items}</ul>" if items else "<p style='color:#2e7d32'>No issues found.</p>",
        ]
        if self.batches is not None:
            parts += ["<b>Mini-batches</b>", self.batches.to_html(index=False)]
        return "".join(parts)


def analyze_network(net_or_layers, X=None, Y=None, *, loss=None, **options):
    """Analyze a network or a list of layers: the layer table and the issues, each with a fix.

    Never raises for a broken network: what `ll.Network` would refuse becomes an issue.

    Args:
        net_or_layers: an `ll.Network`, or a list of lstmlab layers (valid or not yet).
        X: data (a list of (T, C) arrays, or an (N, T, C) array), or None. With X the analysis
            checks the data against the network and estimates each mini-batch's padding and memory.
        Y: targets, or None: one per sequence (labels or responses) or one per step (a list of
            arrays). Tells whether the network must end in one vector per sequence.
        loss: the loss you will train with ("crossentropy", "mse", ...), or None.
        **options: the batching options of `ll.sequence_batches` (mini_batch_size=128,
            sequence_length, sequence_padding_direction, ...) and freeze_padding, used with X;
            those not given are the network's own (`net.sequence_options`, as `ll.predict`
            uses them). With right padding, an output_mode="last" output read after padded
            steps is a warning.

    Returns:
        An `Analysis`: `.table`, `.issues`, `.batches`; it displays itself in a notebook.

    >>> import lstmlab as ll
    >>> a = ll.analyze_network([ll.sequence_input_layer(12), ll.lstm_layer(100, output_mode="last"),
    ...                         ll.fully_connected_layer(9), ll.softmax_layer()])
    >>> a.table["activation size"].tolist()
    ['12(C) x 1(B) x T(T)', '100(C) x 1(B)', '9(C) x 1(B)', '9(C) x 1(B)']
    >>> a.total, a.issues
    (46109, [])
    """
    net = net_or_layers if isinstance(net_or_layers, Network) else None
    layers = net.layers if net is not None else _as_layers(net_or_layers)
    issues = []
    if net is None:
        net = _make_network(layers, issues)
    table, values = _walk(layers, issues)
    if net is not None and loss is not None:
        try:
            check_loss(loss, net, where="analyze_network")
        except (ValueError, TypeError) as error:
            issues.append(("error", net.layers[-1].name, str(error)))
    if net is not None and Y is not None:
        _check_targets(net, Y, issues)
    batches = None
    if X is not None:
        batches = _batches(net, layers, values, X, options, issues)
    return Analysis(table, issues, net, batches)


def _as_layers(layers):
    layers = [layers] if isinstance(layers, Layer) else list(layers)
    for k, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(
                f"analyze_network: net_or_layers[{k}] is a {type(layer).__name__}; expected an ll.Network or lstmlab "
                f"layers such as ll.lstm_layer(100)."
            )
    return layers


def _make_network(layers, issues):
    """The network, or None with the constructor's refusal (and warnings) as issues."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            net = Network(layers)
        except (ValueError, TypeError) as error:
            issues.append(("error", _layer_named(str(error), layers), str(error)))
            net = None
    issues += [("warning", _layer_named(str(w.message), layers), str(w.message)) for w in caught]
    return net


def _layer_named(message, layers):
    """The layer a message is about: the one it names by position (layers[k]), or the first it quotes."""
    names = _names(layers)
    position = re.search(r"layers\[(\d+)\]", message)
    if position:
        return names[int(position.group(1))]
    if message.split(":")[0] in names:  # a layer's own check: "lstm: the input has ..."
        return message.split(":")[0]
    return next((name for name in re.findall(r"'([^']+)'", message) if name in names), None)


def _names(layers):
    """The names `ll.Network` would give; when names clash, each layer's own name or kind."""
    try:
        return _unique_names(layers)
    except ValueError:
        return [layer.name or layer.kind for layer in layers]


def _walk(layers, issues):
    """The table (each layer's activation size in C, B, T, its learnables and states), and the
    values each layer outputs per sequence and time step (0 where unknown)."""
    rows, values, size, is_sequence, folded, time = [], [], "auto", True, False, "T"
    ended, ended_by_mode = None, False  # the layer that ended the time axis, and whether by its output_mode
    for layer, name in zip(layers, _names(layers)):
        if not is_sequence and isinstance(layer, OVER_TIME):  # ll.Network lets it pass; running it fails
            fix = f"give {ended!r} output_mode='sequence'" if ended_by_mode else f"move {name!r} before {ended!r}"
            issues.append(("error", name, (
                f"{name!r} works over time, but {ended!r} hands on one vector per sequence; {fix}, or remove {name!r}.")))
        if size != "?" and (size != "auto" or isinstance(layer, SequenceInputLayer)):
            try:
                size = layer.build(size)
            except (ValueError, TypeError) as error:
                if all(str(error) != message for _, _, message in issues):
                    issues.append(("error", name, str(error)))
                size = "?"
        folded = (folded or isinstance(layer, SequenceFoldingLayer)) and not isinstance(layer, SequenceUnfoldingLayer)
        was_sequence, is_sequence = is_sequence, layer.returns_sequence(is_sequence)
        if was_sequence and not is_sequence:  # this layer ends the time axis
            ended, ended_by_mode = name, isinstance(layer, RecurrentLayer)
        if is_sequence and was_sequence:
            time = _time(layer, time)
        params = [(n, p) for n, p in layer.named_parameters(recurse=False) if p is not None]
        rows.append(
            {
                "name": name,
                "kind": type(layer).__name__,
                "description": layer.describe(),
                "activation size": _activation(size, is_sequence, folded, time),
                "learnables": _learnables(layer, params),
                "count": sum(p.numel() for _, p in params),
                "states": _states(layer),
            }
        )
        values.append(0 if size in ("auto", "?") else int(np.prod(size)))
    return pd.DataFrame(rows), values


def _activation(size, is_sequence, folded, time):
    """MATLAB's notation: 12(C) x 1(B) x T(T); images 28(S) x 28(S) x 1(C) x ...; folded frames as a batch."""
    if size in ("auto", "?"):
        step = f"{size}(C)"
    elif isinstance(size, tuple):
        step = f"{size[0]}(S) x {size[1]}(S) x {size[2]}(C)"
    else:
        step = f"{size}(C)"
    if folded:
        return f"{step} x (1·{time})(B)"  # every frame of every sequence is one observation
    return f"{step} x 1(B) x {time}(T)" if is_sequence else f"{step} x 1(B)"


def _time(layer, time):
    """The time axis after a layer, as a formula of T (convolution and pooling change it)."""
    windows = getattr(layer, "windows", None) if getattr(layer, "dims", 2) == 1 else None
    window = getattr(layer, "window", None) or (windows[0] if windows else None)
    if window is None:
        return time
    t = time if time == "T" else f"({time})"
    if isinstance(window.padding, str):
        return time if window.stride == 1 else f"ceil({t}/{window.stride})"
    shift = sum(window.padding) - window.span  # outputs: floor((T + shift) / stride) + 1
    if window.stride == 1:
        return time if shift == -1 else f"{t}{shift + 1:+d}"
    return f"floor(({t}{shift:+d})/{window.stride})+1"


def _learnables(layer, params):
    """'W 400x12, R 400x100, b 400 (per block i, f, g, o: W 100x12, ...)'.

    An LSTM's rows come in four blocks: the gates i, f, o and the cell candidate g (no gate).
    """
    text = ", ".join(f"{SYMBOLS.get(n, n) if isinstance(layer, RecurrentLayer) else n} {_shape(p.shape)}" for n, p in params)
    if isinstance(layer, RecurrentLayer) and params and len(layer.gate_names) > 1:  # an RNN has one block of rows: no gates
        blocks = layer.num_directions * len(layer.gate_names)
        per = ", ".join(f"{SYMBOLS[n]} {_shape((p.shape[0] // blocks, *p.shape[1:]))}" for n, p in params if n in layer.learn_rate_factor)
        where = "per direction and block" if layer.num_directions > 1 else "per block"
        text += f" ({where} {', '.join(layer.gate_names)}: {per})"
    return text or "-"


def _shape(shape):
    return "x".join(map(str, shape))


def _states(layer):
    if not isinstance(layer, RecurrentLayer):
        return "-"
    return ", ".join(f"{s} {getattr(layer, f'{s}_state').numel()}" for s in layer.state_names)


def _check_targets(net, Y, issues):
    """Labels (one per sequence) need one vector per sequence; per-step targets need a sequence."""
    per_step = is_per_step(Y)
    if per_step == net.returns_sequence:
        return
    recurrent = [layer for layer in net.layers if isinstance(layer, RecurrentLayer)]
    last = recurrent[-1] if recurrent else net.layers[-1]
    if per_step:
        message = (f"Y has one target per time step, but the network outputs one vector per sequence; give {last.name!r} "
                   f"output_mode='sequence' (and no global pooling after it) for sequence-to-sequence.")
    else:
        message = (f"Y has one target per sequence, but {last.name!r} outputs a sequence (output_mode='sequence') and the "
                   f"network ends in one; give {last.name!r} output_mode='last' for sequence-to-label.")
    issues.append(("error", last.name, message))


def _batches(net, layers, values, X, options, issues):
    """Padding and memory of each mini-batch; data that the network refuses become an issue."""
    freeze_padding = options.pop("freeze_padding", None)
    if net is not None:
        try:
            prepare(net, X, "analyze_network")
        except (ValueError, TypeError) as error:
            issues.append(("error", layers[0].name, str(error)))
        trained = sequence_options(net, freeze_padding=freeze_padding, **options)
        freeze_padding = trained.pop("freeze_padding")
        options = {**options, **trained}
    batches = batch_summary(X, **options)
    if not freeze_padding and options.get("sequence_padding_direction", "right") == "right":
        _check_last_output(layers, batches, issues)
    training, trace = _bytes_per_step(layers, values)
    steps = batches["sequences"] * batches["time_steps"]  # padded steps count: they are computed too
    params = sum(p.numel() for layer in layers for p in layer.parameters(recurse=False) if p is not None)
    # training: every activation and its gradient, plus weights, gradients and two Adam moments
    batches["training_MB"] = (2 * training * steps + 4 * BYTES * params) / 1e6
    batches["trace_MB"] = trace * steps / 1e6
    return batches[["batch", "chunk", "sequences", "time_steps", "real_steps", "padded_steps", "training_MB", "trace_MB"]]


def _check_last_output(layers, batches, issues):
    """With right padding, an output_mode="last" layer outputs the state after the padding of every
    sequence shorter than its mini-batch: a warning, with the share of padded steps."""
    last = next((layer for layer in layers if isinstance(layer, RecurrentLayer) and layer.output_mode in ("last", "final")), None)
    padded = int(batches["padded_steps"].sum())
    if last is None or padded == 0:
        return
    total = int((batches["sequences"] * batches["time_steps"]).sum())
    issues.append(("warning", last.name, (
        f"padding reaches the output of {last.name!r} (output_mode={last.output_mode!r}): with right padding, a sequence shorter than "
        f"its mini-batch ends in padding, and {padded:,} of the {total:,} steps are padding, so its output is read "
        f"after them. Pad on the left (sequence_padding_direction='left'), or carry the state over padding "
        f"(freeze_padding=True), in training_options and prediction alike; or sort the sequences by length "
        f"(ll.sort_by_length) so that each mini-batch holds similar lengths."
    )))


def _bytes_per_step(layers, values):
    """(activations, trace): bytes per sequence and time step kept in training, and held by `ll.trace`.

    Activations: every layer's output, and a recurrent layer's gates and states besides.
    """
    activations, trace = BYTES * sum(values), 0
    for layer in layers:
        if isinstance(layer, RecurrentLayer):
            H, D = layer.num_hidden_units, layer.num_directions
            activations += BYTES * D * H * (len(layer.gate_names) + len(layer.state_names))
            trace += BYTES * len(layer.quantities) * D * H  # LSTM 6, GRU 4, RNN 2 quantities (see lstmlab.trace)
    return activations, trace
