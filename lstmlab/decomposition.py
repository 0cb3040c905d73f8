"""`ll.decompose`: contextual decomposition of an LSTM's score into the part from a span of steps and the rest.

Murdoch, Liu & Yu (ICLR 2018), "Beyond word importance: contextual decomposition to extract
interactions from LSTMs". Every state of the LSTM is written as a sum of two parts,
h = beta + gamma and c = beta_c + gamma_c: beta comes from the steps in the span, gamma from
everything else (the other steps, the start states). Step by step:

- each gate's input splits in three: the relevant part (W x_t for a step in the span, R beta_{t-1}),
  the irrelevant part (W x_t for a step outside it, R gamma_{t-1}) and the bias b;
- each activation is linearized: sigma(a + b + bias) = L(a) + L(b) + sigma(bias), where L(a) is
  what adding a changes, averaged over the two orders (a before b, b before a), as a Shapley value
  of two players with the bias always first;
- the cell state c = f * c_prev + i * g splits into beta_c (products of relevant parts, or of a
  relevant part and a bias) and gamma_c (every product with an irrelevant part); the product of the
  two biases, i_bias * g_bias, belongs to beta_c at a step in the span and to gamma_c elsewhere;
- the output gate o is applied whole, as in the paper: h = o * L(beta_c) + o * L(gamma_c), with
  L the state activation linearized as above.

Each split adds up to what the network computed, so beta + gamma = h at every step, and the final
score splits into relevant + irrelevant = score, up to float rounding. The layers after the LSTM
pass both parts on: a fully connected layer gives W beta and W gamma + b (its bias counts as
irrelevant: no step put it there), a ReLU or sigmoid layer is linearized as above.

Conventions that follow: with an empty span the relevant part is exactly 0. With a span of every
step (zero start states, and no padded step computed: equal lengths or frozen padding, since a
computed padded step is outside every span) gamma is exactly 0 inside the LSTM, and the irrelevant part of the
score is what the layers after it add as bias: exactly the bias of the last fully connected layer
for a network that ends in one.

`each_step` gives every step's own relevant part (the span [t], for each t) in one run, meant for
`ll.attribute(method="contextual-decomposition")`.

The decomposition is computed in float64 from the layer weights, on the mini-batches `ll.predict`
runs (the same padding, frozen or not); `Decomposition.max_error` says how far relevant +
irrelevant is from the score the network itself computed.
"""

import numpy as np
import pandas as pd
import torch

from .activations import GATE_ACTIVATIONS, STATE_ACTIVATIONS
from .data import is_one_sequence
from .inference import prepare_inference
from .layers import (
    DropoutLayer,
    FullyConnectedLayer,
    LSTMLayer,
    ProjectedLSTMLayer,
    RecurrentLayer,
    ReluLayer,
    SequenceInputLayer,
    SigmoidLayer,
    SoftmaxLayer,
    WordEmbeddingLayer,
)
from .network import Network, sequence_options
from .runner import evaluating, run_batches

BEFORE = (SequenceInputLayer, WordEmbeddingLayer, FullyConnectedLayer, DropoutLayer, ReluLayer, SigmoidLayer)
"""Layers that may come before the first LSTM: each acts on every step alone."""
AFTER = (FullyConnectedLayer, DropoutLayer, ReluLayer, SigmoidLayer)
"""Layers that may come between and after the LSTMs: their two parts are passed on exactly."""


class Decomposition:
    """What `ll.decompose` returns: per sequence, the target's score split in two.

    Attributes:
        relevant: (N,) the part of the score that comes from the steps in the span (beta).
        irrelevant: (N,) the rest (gamma): the other steps, the start states, the biases after the LSTM.
        score: (N,) the score the network computed (the input of its softmax, where it has one).
        target: (N,) the column of the output each row explains (a class index).
        target_names: (N,) the class names of those columns (the indices where there are none).
        step: (N,) for a network with an output at every step, the output step explained (among
            the sequence's real steps, counted from 0); None for one output per sequence.
        span: per sequence, the (0-based) steps the relevant part comes from.
        max_error: the largest |relevant + irrelevant - score|.
    For one (T, C) sequence X, relevant, irrelevant, score and target are numbers.
    """

    def __init__(self, relevant, irrelevant, score, target, target_names, span, one, step=None):
        self.max_error = float(np.max(np.abs(relevant + irrelevant - score))) if len(score) else 0.0
        pick = (lambda a: a[0].item() if isinstance(a[0], np.generic) else a[0]) if one else (lambda a: a)
        self.relevant, self.irrelevant, self.score = pick(relevant), pick(irrelevant), pick(score)
        self.target, self.target_names = pick(target), pick(target_names)
        self.span = span[0] if one else span
        self.step = None if step is None else pick(step)

    def to_frame(self):
        """A DataFrame, one row per sequence: sequence, target, relevant, irrelevant, score."""
        return pd.DataFrame(
            {
                "sequence": np.arange(np.size(self.score)),
                "target": np.atleast_1d(self.target_names),
                "relevant": np.atleast_1d(self.relevant),
                "irrelevant": np.atleast_1d(self.irrelevant),
                "score": np.atleast_1d(self.score),
            }
        )

    def __repr__(self):
        return f"Decomposition({np.size(self.score)} sequences: relevant + irrelevant = score; max_error={self.max_error:.1e})"


def decompose(
    net,
    X,
    span,
    *,
    target=None,
    mini_batch_size=128,
    sequence_length=None,
    sequence_padding_direction=None,
    sequence_padding_value=None,
    freeze_padding=None,
    interventions=None,
):
    """Split each sequence's score into the part from the steps in `span` and the rest (contextual decomposition).

    Args:
        net: an `ll.Network` of LSTM or BiLSTM layers (stacked or not), with only per-step layers
            before them (input, word embedding, fully connected, ReLU, sigmoid, dropout) and only
            fully connected, ReLU, sigmoid and dropout layers after them, then an optional softmax.
            Refused: GRU and plain RNN layers (the paper decomposes the LSTM's cell state),
            projected LSTMs, and layers that mix steps or frames (convolution, pooling, folding).
        X: sequences as for `ll.predict`: a list of (T_n, C) arrays, an (N, T, C) array or one
            (T, C) sequence.
        span: the steps whose part is "relevant", counted from 0 in each sequence's own steps,
            as Python indexes them (negative from the end): an int, a list or range of ints, a
            slice (slice(0, 3): the first three steps; slice(-4, None): the last four), or [] (an
            empty span). A list with one such item per sequence gives each sequence its own span.
        target: the output column to explain: None (each sequence's predicted class for a
            classifier; the only response of a network with one output), an int (a column
            index), a class name (a str), or a list of these, one per sequence. A network with an
            output at every step is explained at each sequence's last real step, or, with a tuple
            (class, step), at that real step (counted from 0, -1 the last; class None: the class
            predicted there), as `ll.attribute` takes it.
        mini_batch_size, sequence_padding_direction, sequence_padding_value, freeze_padding: as
            in `ll.predict`, whose mini-batches (and padding) the decomposition runs on, so that
            the score is the one `ll.predict` returns with the same options (before the softmax).
            Padded steps are outside every span. sequence_length must stay "longest" and
            interventions None: both are refused.

    Returns:
        A `Decomposition`: .relevant, .irrelevant and .score per sequence, relevant +
        irrelevant == score to float rounding (.max_error says how close).

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(4, output_mode="last"),
    ...                   ll.fully_connected_layer(3), ll.softmax_layer()])
    >>> d = ll.decompose(net, np.random.default_rng(0).normal(size=(5, 6, 2)), slice(0, 3))
    >>> d.relevant.shape, d.max_error < 1e-5
    ((5,), True)
    """
    sequences, run = _inference(net, X, mini_batch_size, sequence_length, sequence_padding_direction, sequence_padding_value, freeze_padding, interventions)
    spans = _spans(span, [len(x) for x in sequences])
    relevant, irrelevant, score = _decomposed(net, sequences, [spans], *run)
    return _explained(net, relevant[0], irrelevant[0], score, target, spans, is_one_sequence(X))


def each_step(net, X, *, target=None, **options):
    """Each step's own relevant part: `ll.decompose` with the span [t], for every step t at once.

    Takes the arguments of `ll.decompose` but span. Returns (values, decomposition): values a list
    of (T_n,) arrays, step t of sequence n holding the relevant part of the span [t];
    decomposition the `Decomposition` of the empty span, which holds the score and the target
    explained. The network runs once, on each mini-batch repeated once per step: the cost
    grows with the square of the length.
    """
    sequences, run = _inference(net, X, **options)
    lengths = [len(x) for x in sequences]
    span_sets = [[np.arange(0)] * len(lengths)] + [[np.array([t]) if t < T else np.arange(0) for T in lengths] for t in range(max(lengths, default=0))]
    relevant, irrelevant, score = _decomposed(net, sequences, span_sets, *run)
    empty = _explained(net, relevant[0], irrelevant[0], score, target, span_sets[0], False)
    chosen = list(zip(np.atleast_1d(empty.target), [None] * len(lengths) if empty.step is None else np.atleast_1d(empty.step)))
    values = [np.array([_pick(relevant[1 + t][n], *chosen[n]) for t in range(T)]) for n, T in enumerate(lengths)]
    return values, empty


def _inference(net, X, mini_batch_size=128, sequence_length=None, sequence_padding_direction=None, sequence_padding_value=None, freeze_padding=None, interventions=None):
    """X prepared as `ll.predict` prepares it (`inference.prepare_inference`), after refusing what the
    decomposition cannot follow; returns (sequences, (batches, start states, freeze_padding))."""
    if not isinstance(net, Network):
        raise TypeError(f"decompose: net must be an ll.Network; got {type(net).__name__}.")
    if interventions:
        raise ValueError("decompose: interventions are not supported: the decomposition follows the clean network's equations; give interventions=None.")
    length = sequence_options(net, sequence_length=sequence_length)["sequence_length"]
    if length != "longest":
        raise ValueError(f"decompose: sequence_length must be 'longest' (each sequence decomposed whole, in one piece); got {length!r}. Leave sequence_length out.")
    sequences, batches, start, _, freeze = prepare_inference(
        net, X, "decompose", mini_batch_size=mini_batch_size, sequence_padding_direction=sequence_padding_direction,
        sequence_padding_value=sequence_padding_value, freeze_padding=freeze_padding,
    )
    return sequences, (batches(sequences), start, freeze)


def _decomposed(net, sequences, span_sets, batches, start, freeze):
    """The engine of `decompose`: per span set j, per sequence n, relevant[j][n] and irrelevant[j][n],
    (K,) or (T_n, K) for an output at every step, and score[n]. Each mini-batch (of `_inference`) runs
    once, its rows repeated once per span set."""
    chain = _check_layers(net)
    N, k = len(sequences), len(span_sets)
    recurrent = [layer for layer in net.layers if isinstance(layer, RecurrentLayer)]
    until = len(net.layers) - 1 if isinstance(net.layers[-1], SoftmaxLayer) else len(net.layers)
    parts = {}  # the two parts of what the last recurrent layer handed on, per mini-batch, its rows repeated k times

    def run_and_split(batch, layer, x, states, frozen):  # runs each LSTM, and carries the two parts through it
        y, final = layer.run(x, states, frozen)
        if layer is recurrent[0]:
            in_span = torch.zeros((k, *x.shape[:2]), dtype=torch.bool)  # (k, B, T) in the mini-batch's own positions
            for j, spans in enumerate(span_sets):
                for b, n in enumerate(batch.indices):
                    in_span[j, b, np.flatnonzero(batch.mask[b])[spans[n]]] = True
            in_span = in_span.flatten(0, 1)  # (k*B, T): span set j in rows j*B .. (j+1)*B - 1
            x = x.detach().double().cpu().repeat(k, 1, 1)  # (k*B, T, C)
            rel = x * in_span[..., None]
            parts["in_span"], parts["x"] = in_span, (rel, x - rel)
        else:
            parts["x"] = _through(chain[layer.name], *parts["x"])
        repeated = None if frozen is None else frozen.cpu().repeat(k, 1)  # (k*B, T)
        starts = tuple(s.repeat(k, 1) for s in states)  # (k*B, D*H) each
        rel_y, irr_y, rel_final, irr_final = _lstm(layer, *parts["x"], parts["in_span"], starts, repeated)
        parts["x"] = tuple(_handed_on(layer.output(y_part, final_part, repeated)) for y_part, final_part in ((rel_y, rel_final), (irr_y, irr_final)))
        return y, final

    relevant, irrelevant, score = [[None] * N for _ in range(k)], [[None] * N for _ in range(k)], [None] * N
    with evaluating(net), torch.no_grad():
        for step in run_batches(net, batches, start_states=start, until=until, freeze_padding=freeze, run_recurrent=run_and_split):
            B = len(step.batch.indices)
            rel, irr = (p.unflatten(0, (k, B)) for p in _through(chain["after"], *parts["x"]))  # (k, B, K) or (k, B, T, K)
            out = step.output.detach().double().cpu()
            real = None if step.output_mask is None else step.output_mask.cpu()  # (B, T_out) for an output at every step
            for b, n in enumerate(step.batch.indices):
                keep = slice(None) if real is None else real[b]  # the real output steps
                score[n] = out[b][keep].numpy()  # (K,) or (T_n, K)
                for j in range(k):
                    relevant[j][n], irrelevant[j][n] = rel[j, b][keep].numpy(), irr[j, b][keep].numpy()
    return relevant, irrelevant, score


def _explained(net, relevant, irrelevant, score, target, spans, one):
    """The `Decomposition` of one span set, at each sequence's target."""
    chosen = [_target(t, net, score[n], n) for n, t in enumerate(_per_sequence(target, len(score)))]  # (column, step or None)
    pick = lambda parts: np.array([_pick(part, *c) for part, c in zip(parts, chosen)])  # noqa: E731
    columns = np.array([c for c, _ in chosen], dtype=int)
    names = np.asarray(net.class_names, dtype=object)[columns] if net.class_names is not None else columns
    steps = None if not score or score[0].ndim == 1 else np.array([at for _, at in chosen])
    return Decomposition(pick(relevant), pick(irrelevant), pick(score), columns, names, spans, one, steps)


def _pick(part, column, step):
    """The explained value of one sequence's (K,) or (T_n, K) part."""
    return part[column] if step is None else part[step, column]


# --- the LSTM, split in two ---------------------------------------------------------------------


def _split3(a, b, bias, sigma):
    """sigma(a + b + bias) as L(a) + L(b) + sigma(bias): what adding a (or b) changes, averaged over
    the two orders, after the bias (Murdoch et al. 2018, the linearization of an activation)."""
    alone = sigma(bias.expand_as(a).contiguous())  # the shape of the others: a vectorized sigma can round a value differently at another position
    whole, with_a, with_b = sigma(a + b + bias), sigma(a + bias), sigma(b + bias)
    return 0.5 * (with_a - alone + whole - with_b), 0.5 * (with_b - alone + whole - with_a), alone


def _split2(a, b, sigma):
    """sigma(a + b) as L(a) + L(b), the value at 0 counted with b (the irrelevant part)."""
    rel, irr, zero = _split3(a, b, torch.zeros_like(a), sigma)
    return rel, irr + zero


def _lstm(layer, x_rel, x_irr, in_span, states, frozen):
    """Both parts of each direction's output sequence and final states.

    x_rel, x_irr (B, T, C) the two parts of the layer's input; in_span (B, T); states the start
    states (h, c), each (B, D*H): they count as irrelevant; frozen (B, T) or None, as in `run`.
    Returns rel_y, irr_y (B, T, D*H) and the final states of each part, ((B, D*H), (B, D*H)).
    """
    sigma_g, sigma_s = GATE_ACTIVATIONS[layer.gate_activation_function], STATE_ACTIVATIONS[layer.state_activation_function]
    H = layer.num_hidden_units
    outputs, finals = [], []
    for d in range(layer.num_directions):
        W, R, b = (p.detach().double().cpu() for p in layer.direction_parameters(d))
        h0, c0 = (s[:, d * H : (d + 1) * H].detach().double().cpu() for s in states)
        seen = [x_rel, x_irr, in_span, frozen]
        if layer.reads_backward(d):  # from the end: the same equations on the steps in reverse order
            seen = [None if s is None else s.flip(1) for s in seen]
        ys, final = _direction(*seen, h0, c0, W, R, b, sigma_g, sigma_s)
        outputs.append([y.flip(1) for y in ys] if layer.reads_backward(d) else ys)
        finals.append(final)
    rel_y, irr_y = (torch.cat([out[k] for out in outputs], -1) for k in (0, 1))
    rel_final, irr_final = (tuple(torch.cat([f[k][s] for f in finals], -1) for s in (0, 1)) for k in (0, 1))
    return rel_y, irr_y, rel_final, irr_final


def _direction(x_rel, x_irr, in_span, frozen, h0, c0, W, R, b, sigma_g, sigma_s):
    """One direction of an LSTM, every quantity split into beta (relevant) and gamma (irrelevant).

    x_rel, x_irr (B, T, C); in_span (B, T); frozen (B, T) True on real steps, or None; h0, c0 (B, H).
    Returns ((beta_h, gamma_h), each (B, T, H)) and the final states ((beta_h, beta_c), (gamma_h, gamma_c)).
    """
    b_i, b_f, b_g, b_o = b.chunk(4)  # (H,) each
    Wx_rel, Wx_irr = x_rel @ W.T, x_irr @ W.T  # (B, T, 4H) each
    beta_h, gamma_h = torch.zeros_like(h0), h0  # (B, H) the start states are irrelevant
    beta_c, gamma_c = torch.zeros_like(c0), c0
    betas, gammas = [], []
    for t in range(x_rel.shape[1]):
        rel = (Wx_rel[:, t] + beta_h @ R.T).chunk(4, -1)  # i, f, g, o inputs from the span, (B, H) each
        irr = (Wx_irr[:, t] + gamma_h @ R.T).chunk(4, -1)  # ... and from the rest
        i_rel, i_irr, i_bias = _split3(rel[0], irr[0], b_i, sigma_g)
        f_rel, f_irr, f_bias = _split3(rel[1], irr[1], b_f, sigma_g)
        g_rel, g_irr, g_bias = _split3(rel[2], irr[2], b_g, sigma_s)
        o = sigma_g(rel[3] + irr[3] + b_o)  # the output gate, whole
        both_biases = i_bias * g_bias  # (B, H): to the span's part at its steps, else to the rest
        inside = in_span[:, t, None]  # (B, 1)
        new_beta_c = (f_rel + f_bias) * beta_c + i_rel * (g_rel + g_bias) + i_bias * g_rel + torch.where(inside, both_biases, 0.0)
        new_gamma_c = (f_rel + f_irr + f_bias) * gamma_c + f_irr * beta_c + i_irr * (g_rel + g_irr + g_bias) + (i_rel + i_bias) * g_irr + torch.where(inside, 0.0, both_biases)
        state_rel, state_irr = _split2(new_beta_c, new_gamma_c, sigma_s)
        new_beta_h, new_gamma_h = o * state_rel, o * state_irr
        if frozen is not None:  # a padded step carries every part on unchanged
            real = frozen[:, t, None]  # (B, 1)
            new_beta_c, new_gamma_c = torch.where(real, new_beta_c, beta_c), torch.where(real, new_gamma_c, gamma_c)
            new_beta_h, new_gamma_h = torch.where(real, new_beta_h, beta_h), torch.where(real, new_gamma_h, gamma_h)
        beta_c, gamma_c, beta_h, gamma_h = new_beta_c, new_gamma_c, new_beta_h, new_gamma_h
        betas.append(beta_h)
        gammas.append(gamma_h)
    return (torch.stack(betas, 1), torch.stack(gammas, 1)), ((beta_h, beta_c), (gamma_h, gamma_c))


def _handed_on(output):
    """What a recurrent layer hands on (`RecurrentLayer.output`), without state outputs."""
    return output[0] if isinstance(output, tuple) else output


# --- the layers around the LSTMs ----------------------------------------------------------------


def _through(layers, rel, irr):
    """Both parts through fully connected, ReLU, sigmoid and dropout layers (dropout: inactive, as in prediction)."""
    for layer in layers:
        if isinstance(layer, FullyConnectedLayer):
            W, b = layer.weights.detach().double().cpu(), layer.bias.detach().double().cpu()
            rel, irr = rel @ W.T, irr @ W.T + b  # the bias came from no step: irrelevant
        elif isinstance(layer, (ReluLayer, SigmoidLayer)):
            rel, irr = _split2(rel, irr, torch.relu if isinstance(layer, ReluLayer) else torch.sigmoid)
    return rel, irr


def _check_layers(net):
    """{LSTM layer name: the layers between it and the LSTM before it; "after": those after the last LSTM}, or a clear error."""
    layers = net.layers[:-1] if isinstance(net.layers[-1], SoftmaxLayer) else net.layers
    chain, between, seen = {}, [], False
    for layer in layers:
        if isinstance(layer, RecurrentLayer):
            if not isinstance(layer, LSTMLayer) or isinstance(layer, ProjectedLSTMLayer):
                kind = "projected LSTM" if isinstance(layer, ProjectedLSTMLayer) else layer.kind.upper()
                raise ValueError(
                    f"decompose: layer {layer.name!r} is a {kind} layer; contextual decomposition (Murdoch et al. 2018) splits "
                    f"the cell state of LSTM and BiLSTM layers only. Use ll.attribute for this network, or an LSTM."
                )
            chain[layer.name], between, seen = between, [], True
        elif not isinstance(layer, AFTER if seen else BEFORE):
            where = "after an LSTM" if seen else "before the first LSTM"
            allowed = ", ".join(c.__name__ for c in (AFTER if seen else BEFORE))
            why = (
                "its two parts could not be passed on exactly"
                if seen
                else "it mixes time steps or frames, so an input step's part would no longer come from that step alone"
            )
            raise ValueError(f"decompose: layer {layer.name!r} ({type(layer).__name__}) {where} is not supported: {why}. Allowed {where}: {allowed}.")
        else:
            between.append(layer)
    if not seen:
        raise ValueError("decompose: the network has no LSTM or BiLSTM layer to decompose.")
    chain["after"] = between
    return chain


def _spans(span, lengths):
    """Per sequence, the (0-based, sorted) steps of its span."""
    each = isinstance(span, (list, tuple)) and any(isinstance(s, (list, tuple, range, slice, np.ndarray)) for s in span)
    if each and len(span) != len(lengths):
        raise ValueError(f"decompose: span has {len(span)} items, one per sequence, but X has {len(lengths)} sequences; give one span for all, or one per sequence.")
    return [_steps(span[n] if each else span, length, n) for n, length in enumerate(lengths)]


def _steps(span, length, n):
    if isinstance(span, slice):
        return np.arange(length)[span]
    index = np.atleast_1d(np.asarray(span))
    if index.size == 0:
        return np.arange(0)
    if index.dtype.kind not in "iu" or index.ndim != 1 or index.min() < -length or index.max() >= length:
        raise ValueError(
            f"decompose: span must be steps of each sequence (ints from {-length} to {length - 1} for X[{n}], "
            f"which has {length} steps), a list of them, a slice or []; got {span!r}."
        )
    return np.unique(np.arange(length)[index])


def _per_sequence(target, N):
    """One target per sequence: a list (or array) gives each its own, anything else is for all."""
    if isinstance(target, (list, np.ndarray, pd.Categorical)):
        if len(target) != N:
            raise ValueError(f"decompose: target has {len(target)} items but X has {N} sequences; give one target, or one per sequence.")
        return list(target)
    return [target] * N


def _target(t, net, score, n):
    """(column, step or None) for sequence n, whose score is (K,), or (T_n, K) with an output at every step."""
    per_step = score.ndim == 2
    at = None
    if isinstance(t, tuple):
        if not per_step or len(t) != 2 or not isinstance(t[1], (int, np.integer)) or isinstance(t[1], bool):
            what = "a (class, step) pair with an int step" if per_step else "the class alone: the network has one output per sequence"
            raise ValueError(f"decompose: target {t!r} for X[{n}]; give {what}.")
        t, at = t
        if not -len(score) <= at < len(score):
            raise ValueError(f"decompose: the target step {at} is outside X[{n}]'s {len(score)} output steps; give a step from {-len(score)} to {len(score) - 1}.")
    if per_step:
        at = len(score) - 1 if at is None else at % len(score)
    row = score[at] if per_step else score  # (K,)
    K = len(row)
    if t is None:
        if isinstance(net.layers[-1], SoftmaxLayer) or net.class_names is not None:
            return int(row.argmax()), at
        if K == 1:
            return 0, at
        raise ValueError(f"decompose: the network has {K} responses; choose one with target= (a column index 0..{K - 1}).")
    names = [] if net.class_names is None else [str(c) for c in net.class_names]
    if isinstance(t, str) and t in names:
        return names.index(t), at
    if isinstance(t, (int, np.integer)) and not isinstance(t, bool) and 0 <= t < K:
        return int(t), at
    choices = f"a class name ({', '.join(names)}) or " if names else ""
    raise ValueError(f"decompose: target must be {choices}a column index 0..{K - 1}; got {t!r}.")
