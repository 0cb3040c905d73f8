"""`ll.Intervention`: change what a recurrent layer computes, and watch what follows.

Recording (`ll.trace`) shows what a network computed; changing it shows what a gate or a cell is
for. An intervention names a recurrent layer, a direction, a quantity (i, f, g, o, c, h of an
LSTM or BiLSTM; r, z, n, h of a GRU), hidden units and time steps, and one thing to do there:

    set=v       the quantity becomes v (one number, or one per unit)
    scale=s     it is multiplied by s (one number, or one per unit)
    add=v       v is added to it (one number, or one per unit)
    fn=fn       it becomes fn(computed): a torch tensor (..., U) in, the same shape out, each
                step on its own (the step loop passes one step (B, U), ll.trace every step (B, T, U))
    source=X2   it takes the value it has when the network reads X2 instead: sequence n of X2 at
                step t for sequence n of X at step t (activation patching, or interchange)

`ll.predict`, `ll.classify`, `ll.activations`, `ll.trace`, `ll.predict_and_update_state` and
`ll.classify_and_update_state` take `interventions=[...]`:

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4)])
    >>> X = np.random.default_rng(0).normal(size=(2, 6, 3))
    >>> hold = [ll.Intervention("lstm", "f", units=1, steps=slice(2, None), set=1.0),
    ...         ll.Intervention("lstm", "i", units=1, steps=slice(2, None), set=0.0)]
    >>> c = ll.trace(net, X, interventions=hold)["lstm"].c[:, :, 1]   # (sequences, steps)
    >>> bool(np.all(c[:, 2:] == c[:, 1:2]))   # f = 1, i = 0: the cell keeps its value exactly
    True

What an intervention means, exactly:

- A quantity is changed as soon as the step computes it, before anything reads it (the hook is
  `edit` in the step equations; see `lstmlab.layers.edits`). A changed gate changes c and h of
  that step, every later step and every later layer; a changed c changes h = o * sigma_s(c) of
  the same step; a changed h changes the layer's output and the next step, but not c.
- Several interventions act in the order of the list; on one quantity each one sees what the
  ones before it left.
- steps count each layer's own time steps in a mini-batch, as `ll.trace` does: with right padding
  (the default) step t is step t of every sequence; padded steps are computed, and intervened on,
  like any other, unless freeze_padding=True, where they carry the state and nothing acts on them.
  The backward direction of a BiLSTM is indexed by input time too. A per-sequence mask (N, T)
  chooses steps for each sequence on its own. When sequences are split into chunks
  (sequence_length=L), steps still count from the start of each sequence.
- A source runs without the interventions, in the same mini-batches and from the same start
  states as X; it must hold as many sequences as X, each as long as its partner.
- Where it runs: torch's fused kernel cannot be changed halfway, so a direction with an
  intervention runs lstmlab's step loop from the first step an intervention acts on to the last
  one, and the fused kernel (when the layer's activations allow it) before and after; the other
  direction of a BiLSTM runs the kernel alone. `ll.trace` says which in `tr[layer].computed_by`.
- A recording of an intervened run shows what was computed: `max_error` compares it with the
  intervened network's own output. An empty list (or None) gives the clean result, bit for bit.

The attention of an encoder–decoder (`ll.EncoderDecoder(..., attention=...)`) takes interventions
too: layer "attention", quantity "weights", steps = output steps (step t writes token t + 1, the
last one <end>), units = source steps. `ll.decode`, `ll.trace_encoder_decoder` and
`ll.sequence_log_probability` take them. The weights alpha_t are changed as soon as the softmax
gives them, before the context vector a_t = sum_s alpha_t(s) hbar_s reads them, and are used as the
interventions leave them: not renormalized (to renormalize, end with fn=lambda w: w / w.sum(-1,
keepdim=True) over units=None). Padded source steps (past a source's length) are set back to
exactly 0 afterwards, whatever an intervention put there; units count up to the longest source of
X. Output steps past a pair's own output are left alone. source=X2 (the weights the model gives
X2's sources, reading the same previous tokens) needs the output given: trace_encoder_decoder,
sequence_log_probability or decode with targets=. The LSTMs' own quantities are not intervened on
through these functions (trace model.encoder or model.decoder with ll.trace for that):

    >>> model = ll.EncoderDecoder(9, 9, num_hidden_units=8, attention="dot")
    >>> x = np.array([3, 1, 4, 1, 5])
    >>> look = [ll.Intervention("attention", "weights", steps=2, set=0.0),             # output step 2 looks
    ...         ll.Intervention("attention", "weights", steps=2, units=4, set=1.0)]    # at source step 4 only
    >>> tr = ll.trace_encoder_decoder(model, x, np.array([2, 7, 1]), interventions=look)
    >>> tr.attention[0, 2].tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0]
    >>> written = ll.decode(model, x, max_length=6, interventions=look)   # free running, as forced
"""

import dataclasses
import warnings

import numpy as np
import torch

from ._checks import check_choice, check_indices
from .layers import GRULayer, LSTMLayer, RecurrentLayer, RNNLayer
from .layers.edits import ALL, Action, Edit
from .preparation import prepare
from .runner import evaluating, run_batches

QUANTITIES = tuple(dict.fromkeys(LSTMLayer.quantities + GRULayer.quantities + RNNLayer.quantities))  # i, f, g, o, c, h, r, z, n, a
ATTENTION_QUANTITIES = ("weights",)  # an encoder–decoder's attention (`lstmlab.seq2seq`)
DIRECTIONS = ("forward", "backward")
ACTIONS = ("set", "scale", "add", "fn", "source")


@dataclasses.dataclass(frozen=True, eq=False)
class Intervention:
    """Change one quantity of one recurrent layer while the network runs (see the module docstring).

    Args:
        layer: the name of a recurrent layer (lstm, bilstm or gru) of the network; or "attention",
            an encoder–decoder's attention (see the module docstring).
        quantity: "i", "f", "g", "o", "c" or "h" for an LSTM or BiLSTM; "r", "z", "n" or "h" for a
            GRU; "weights" for an encoder–decoder's attention weights alpha_t(s).
        units: hidden units (for the attention: source steps): None (all), an int, a list of ints
            or a slice.
        steps: time steps in the layer's own time (for the attention: output steps): None (all),
            an int, a list of ints, a slice, or
            a per-sequence bool mask (an (N, T) array or a list of (T_n,) arrays, True where it acts).
        direction: "forward", or "backward" for a direction that reads the sequence from its end:
            a bidirectional layer's second, or the only one of a layer with direction="reverse".
        set, scale, add: a number, or one number per chosen unit. Give exactly one action.
        fn: a function of the computed values (a torch tensor (..., U)) returning new ones.
        source: another data set (or one sequence), shaped like X, to take the values from.

    >>> import lstmlab as ll
    >>> ll.Intervention("lstm", "f", units=[12], set=1.0)
    Intervention('lstm', 'f', units=(12,), set=1.0)
    """

    layer: str
    quantity: str
    _: dataclasses.KW_ONLY
    units: object = None
    steps: object = None
    direction: str = "forward"
    set: object = None
    scale: object = None
    add: object = None
    fn: object = None
    source: object = None

    def __post_init__(self):
        where = "Intervention"
        if not isinstance(self.layer, str):
            raise TypeError(f"{where}: layer must be the name of a recurrent layer, a string such as 'lstm'; got {self.layer!r}.")
        if self.quantity not in QUANTITIES + ATTENTION_QUANTITIES:
            raise ValueError(
                f"{where}: quantity must be one of 'i', 'f', 'g', 'o', 'c', 'h' (LSTM, BiLSTM), 'r', 'z', 'n', 'h' (GRU), 'a', 'h' (plain RNN) "
                f"or 'weights' (an encoder–decoder's attention); got {self.quantity!r}."
            )
        check_choice(self.direction, "direction", DIRECTIONS, where)
        given = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            got = "none" if not given else " and ".join(given)
            raise ValueError(f"{where}: give exactly one of set=, scale=, add=, fn=, source= (what to do); got {got}.")
        for name in ("set", "scale", "add"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _numbers(getattr(self, name), name, where))
        if self.fn is not None and not callable(self.fn):
            raise TypeError(f"{where}: fn must be a function of the computed values, e.g. lambda v: v.clamp(max=0.5); got {self.fn!r}.")
        object.__setattr__(self, "units", _selection(self.units, "units", where))
        object.__setattr__(self, "steps", _steps(self.steps, where))

    @property
    def action(self):
        """(how, value): "set", "scale", "add", "fn" or "source", and what was given for it."""
        how = next(name for name in ACTIONS if getattr(self, name) is not None)
        return how, getattr(self, how)

    def __repr__(self):
        parts = [repr(self.layer), repr(self.quantity)]
        for field in dataclasses.fields(self)[2:]:  # after layer and quantity
            value = getattr(self, field.name)
            if value is not None and not (field.name == "direction" and value == "forward"):
                parts.append(f"{field.name}={_short(value)}")
        return f"Intervention({', '.join(parts)})"


def _numbers(value, name, where):
    """A finite number (as a float) or a 1-D list of them (as a tuple of floats)."""
    array = np.asarray(value.detach().cpu() if torch.is_tensor(value) else value)
    if array.dtype.kind not in "biuf" or array.ndim > 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"{where}: {name} must be a finite number or a list of them, one per unit; got {value!r}.")
    return float(array) if array.ndim == 0 else tuple(float(v) for v in array)


def _selection(value, name, where):
    """None, a slice, or a tuple of ints (from an int, a list or an integer array)."""
    if value is None or isinstance(value, slice):
        return value
    array = np.atleast_1d(np.asarray(value))
    if array.ndim != 1 or array.dtype.kind not in "iu" or isinstance(value, bool):
        raise ValueError(f"{where}: {name} must be None (all), an int, a list of ints or a slice; got {value!r}.")
    return tuple(int(v) for v in array)


def _steps(value, where):
    """As `_selection`, or a per-sequence bool mask: a tuple of (T_n,) bool arrays."""
    array = isinstance(value, np.ndarray) or torch.is_tensor(value)
    if array and value.dtype in (np.bool_, torch.bool):
        rows = value[None] if value.ndim == 1 else value  # one sequence's mask, or one row per sequence
    elif isinstance(value, (list, tuple)) and value and np.ndim(value[0]) == 1:
        rows = value  # a list of per-sequence masks
    else:
        return _selection(value, "steps", where)
    rows = [np.asarray(row.cpu() if torch.is_tensor(row) else row) for row in rows]
    if any(row.ndim != 1 or row.dtype != np.bool_ for row in rows):
        raise ValueError(f"{where}: steps as a mask must be bool, one row (T_n,) per sequence, True where it acts; got {value!r}.")
    return tuple(rows)


def _short(value):
    """A field's value for a repr: data sets and masks by their size, functions by their name."""
    if callable(value):
        return f"<function {getattr(value, '__name__', type(value).__name__)}>"
    if isinstance(value, tuple) and value and isinstance(value[0], np.ndarray):
        return f"<mask of {len(value)} sequences>"
    if isinstance(value, tuple) and len(value) > 6:
        return f"({', '.join(f'{v:g}' for v in value[:3])}, ... {len(value)} values)"
    if isinstance(value, list):
        return f"<{len(value)} sequences>"
    if isinstance(value, np.ndarray) or torch.is_tensor(value):
        return f"<data {' x '.join(map(str, value.shape))}>"
    return repr(value)


# --- against a network and data ----------------------------------------------------------------


@dataclasses.dataclass
class _Bound:
    """One intervention checked against the network and X: what each mini-batch needs."""

    position: int  # in the list, for messages and for patches
    layer: str
    direction: int  # the index of the direction in layer.directions
    quantity: str
    units: np.ndarray  # (U,) hidden units
    steps: object  # None (all), (S,) step indices, or an (N, T) bool mask
    how: str
    value: object  # a (U,) or () array, a function, or for "source" the source's sequences


def given(interventions, where):
    """Whether a call was given interventions: False for None or an empty list; a TypeError for
    anything but a list or tuple."""
    if interventions is not None and not isinstance(interventions, (list, tuple)):
        raise TypeError(f"{where}: interventions must be a list of ll.Intervention; got {type(interventions).__name__}.")
    return bool(interventions)


def bind(net, interventions, sequences, where, *, batches, start_states, freeze_padding, until=None):
    """Check `interventions` against the network and its data X; return a `Plan`, or None for none.

    Args:
        sequences: X, as `preparation.prepare` returns it.
        batches: a function of a list of sequences giving its mini-batches (`iterate_batches` with
            the call's options), so that a source runs in the same mini-batches as X.
        start_states: what X's mini-batches start from (`runner.held_states`); a source too.
        until: the run goes through net.layers[:until] only (`ll.activations`).
    """
    if not given(interventions, where):
        return None
    recurrent = {layer.name: layer for layer in net.layers if isinstance(layer, RecurrentLayer)}
    lengths = net.recurrent_lengths([len(x) for x in sequences])
    sources = {}  # id of a given source -> its sequences, checked once: one run per source however many patches take from it
    bound = [_bind(net, k, item, recurrent, lengths, sequences, sources, where) for k, item in enumerate(interventions)]
    reached = [layer.name for layer in net.layers[:until]]
    for b in bound:
        if b.layer not in reached:
            warnings.warn(f"{where}: interventions[{b.position}] acts on layer {b.layer!r}, which comes after the layers this "
                          f"call runs (up to {reached[-1]!r}); it changes nothing.", stacklevel=5)
    plan = Plan(net, bound)
    plan.run_sources(batches, start_states, freeze_padding, [b for b in bound if b.layer in reached])
    return plan


def _bind(net, k, item, recurrent, lengths, sequences, sources, where):
    label = f"{where}: interventions[{k}]"
    if not isinstance(item, Intervention):
        hint = " Make it with ll.Intervention(**d)." if isinstance(item, dict) else ""
        raise TypeError(f"{label} is a {type(item).__name__}; expected ll.Intervention(layer, quantity, ...).{hint}")
    if item.layer not in recurrent:
        raise ValueError(
            f"{label} names layer {item.layer!r}, which is not a recurrent layer of the network; "
            f"choose from {', '.join(map(repr, recurrent)) or 'none (the network has no LSTM, BiLSTM or GRU layer)'}."
        )
    layer = recurrent[item.layer]
    if item.quantity not in layer.quantities:
        raise ValueError(
            f"{label} changes quantity {item.quantity!r}, but layer {item.layer!r} is a {layer.kind} layer, which computes "
            f"{', '.join(layer.quantities)}; choose one of those."
        )
    if item.direction not in layer.directions:
        raise ValueError(
            f"{label} has direction={item.direction!r}, but layer {item.layer!r} is a one-way {layer.kind} layer; "
            f"use direction={layer.directions[0]!r}, the one direction it reads."
        )
    direction = layer.directions.index(item.direction)
    H, T = layer.num_hidden_units, int(lengths[item.layer].max())
    units = check_indices(item.units, H, "units", f"the hidden units of layer {item.layer!r}", label)
    how, value = item.action
    if how in ("set", "scale", "add"):
        value = np.asarray(value)
        if value.ndim == 1 and len(value) != len(units):
            raise ValueError(f"{label}: {how} has {len(value)} values but units chooses {len(units)} units; give one number, or one per unit.")
    if how == "source":
        if id(value) not in sources:
            sources[id(value)] = _source(net, value, sequences, label)
        value = sources[id(value)]
    return _Bound(k, item.layer, direction, item.quantity, units, _bound_steps(item.steps, lengths[item.layer], T, item.layer, label), how, value)


def _bound_steps(steps, lengths, T, layer, label):
    """None (every step), the chosen steps (S,), or a per-sequence mask (N, T) padded with False."""
    if steps is None:
        return None
    if not isinstance(steps, tuple) or not isinstance(steps[0], np.ndarray):
        return check_indices(steps, T, "steps", f"the time steps of layer {layer!r} for X", label)
    N = len(lengths)
    if len(steps) != N or any(len(row) not in (n, T) for row, n in zip(steps, lengths)):
        got = f"{len(steps)} rows of lengths {sorted({len(row) for row in steps})}"
        raise ValueError(
            f"{label}: steps as a mask needs one row per sequence of X ({N}), each as long as its sequence in layer "
            f"{layer!r}'s time (or {T}, the longest); got {got}. Give an (N, T) bool array, True where it acts."
        )
    mask = np.zeros((N, T), dtype=bool)
    for row, out in zip(steps, mask):
        out[: len(row)] = row
    return mask


def _source(net, source, sequences, label):
    """The source's sequences, checked to pair with X's: as many, each as long as its partner."""
    from_source = prepare(net, source, f"{label}.source")
    if len(from_source) != len(sequences):
        raise ValueError(
            f"{label}: source has {len(from_source)} sequences but X has {len(sequences)}; give a source shaped like X, "
            f"one sequence for each, so that sequence n of the source patches sequence n of X."
        )
    for n, (s, x) in enumerate(zip(from_source, sequences)):
        if s.shape != x.shape:
            raise ValueError(
                f"{label}: source[{n}] has shape {s.shape} but X[{n}] has {x.shape}; a patch takes step t of the "
                f"source for step t of X, so give sequences of the same shape (cut or pad one of them)."
            )
    return from_source


class Plan:
    """Interventions checked against a network and X, ready to act on each of its mini-batches."""

    def __init__(self, net, bound):
        self.net, self.bound = net, bound
        self.patches = {}  # (position, indices, chunk) -> (B, T, U) values of the source, in the direction's own time

    def edits(self, batch, layer, x, frozen, recording=None):
        """One `Edit` per direction of `layer` in this mini-batch, or None when nothing acts there.

        x: the layer's input (B, T, C); frozen: the frozen-padding mask (B, T), or None.
        recording: for a source's run, the patches (their positions in the list) whose values it
            gives: its edits record them and change nothing.
        """
        B, T = x.shape[:2]
        key = (tuple(batch.indices), batch.chunk)
        actions = [[] for _ in range(layer.num_directions)]
        for b in self.bound:
            if b.layer != layer.name or (recording is not None and b.position not in recording):
                continue
            steps = _mask(b.steps, batch.indices, batch.chunk * T, T, frozen, x.device)  # (B, T) in input time, or None
            if steps is not None and not steps.any():
                continue
            if layer.reads_backward(b.direction) and steps is not None:
                steps = steps.flip(1)  # the backward direction's own time runs from the end
            units = ALL if np.array_equal(b.units, np.arange(layer.num_hidden_units)) else torch.as_tensor(b.units, device=x.device)
            if recording is not None:
                how, value = "record", self.patches.setdefault((b.position, *key), x.new_zeros(B, T, len(b.units)))
            elif b.how == "source":
                how, value = "set", self.patches[(b.position, *key)]
            elif b.how == "fn":
                how, value = "fn", b.value
            else:
                how, value = b.how, torch.as_tensor(b.value, dtype=x.dtype, device=x.device)
            actions[b.direction].append(Action(b.quantity, units, steps, how, value))
        if not any(actions):
            return None
        return tuple(Edit(a) for a in actions)

    def run_recurrent(self, batch, layer, x, states, frozen):
        """Run one recurrent layer with the interventions (`runner.run_batches`'s run_recurrent)."""
        return layer.run(x, states, frozen, self.edits(batch, layer, x, frozen))

    def run_sources(self, batches, start_states, freeze_padding, bound):
        """Run each source once, without interventions, and keep what its patches take."""
        sources = {}
        for b in bound:
            if b.how == "source":
                sources.setdefault(id(b.value), (b.value, []))[1].append(b)
        for source, patching in sources.values():
            positions, layers = {b.position for b in patching}, {b.layer for b in patching}
            stop = 1 + max(k for k, layer in enumerate(self.net.layers) if layer.name in layers)

            def record(batch, layer, x, states, frozen, positions=positions):
                return layer.run(x, states, frozen, self.edits(batch, layer, x, frozen, recording=positions))

            with evaluating(self.net):
                for _ in run_batches(self.net, batches(source), start_states=start_states, until=stop, freeze_padding=freeze_padding, run_recurrent=record):
                    pass  # record keeps the values as the source runs


def _mask(steps, indices, offset, T, frozen, device):
    """Where an intervention acts in one mini-batch (chunk): a (B, T) bool tensor, or None for every step.

    steps: None, step indices (S,), or an (N, T_max) per-sequence mask; offset: the chunk's first
    step; frozen: (B, T) real steps when padding is frozen (nothing acts on a padded step then).
    """
    if steps is None:
        return frozen
    columns = np.arange(offset, offset + T)  # (T,) the steps of this chunk
    if steps.ndim == 1:
        mask = np.tile(np.isin(columns, steps), (len(indices), 1))
    else:
        inside = columns < steps.shape[1]
        mask = np.zeros((len(indices), T), dtype=bool)
        mask[:, inside] = steps[np.ix_(indices, columns[inside])]
    mask = torch.as_tensor(mask, device=device)
    return mask if frozen is None else mask & frozen
