"""Encoder–decoder sequence-to-sequence: read a whole sequence, then write another of any length.

    encoder   reads x_1 ... x_S                   -> (h_S, c_S): the whole source in one state
    decoder   starts from (h_S, c_S); at output step t it reads the previous token y_{t-1}
              (y_0 = <start>) and gives p(y_t) = softmax(W_y h_t + b_y); it stops at <end>

Tokens are ids, as everywhere in lstmlab: 1..source_words in the source, 1..target_words in the
target, 0 for padding. The decoder has one input word more, <start>, and one output class more,
<end>, both with the id target_words + 1: it reads <start>, y_1 ... y_T and writes y_1 ... y_T, <end>.

Training (`train_encoder_decoder`) uses teacher forcing: the decoder reads the true previous token
at every step, so one pass over the target gives the loss of every step. Decoding (`decode`) runs
free: the decoder reads its own previous output. Trained on true histories only, it never saw its
own mistakes; at decoding time one wrong token puts it on a history it was never trained on
(exposure bias).

With attention (`attention="dot" | "general" | "additive"`, Luong et al. 2015; the equations are
in `lstmlab.attention`), the decoder's h_t also scores every encoder state h_1 ... h_S, and the
weighted mix of them joins h_t before the classifier: the source no longer has to fit in one state.
Interventions on the attention weights (`ll.Intervention("attention", "weights", ...)`, output steps
by source steps) are checked here (`bind_attention`) and act inside `Attention.forward`.

Both halves are `ll.Network`s, so their layers, weights, summaries and `ll.trace` are the usual
ones. What joins them is a state: the decoder's LSTM starts from the encoder's final (h, c). In
training it is handed over inside each mini-batch, so that gradients flow back into the encoder;
to decode and to trace, the decoder holds it, one row per source, as `ll.predict_and_update_state`
leaves a network's states.
"""

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from . import saving
from ._checks import check_indices, check_positive_int
from ._version import __version__
from .attention import Attention
from .batching import iterate_batches
from .data import pad
from .interventions import Intervention, _bound_steps, _mask, given
from .layers import fully_connected_layer, lstm_layer, sequence_input_layer, softmax_layer, word_embedding_layer
from .layers.edits import ALL, Action, Edit
from .network import Network
from .options import TrainingOptions, training_options
from .prediction import predict_and_update_state
from .runner import Pass
from .targets import Targets
from .trace import Trace, trace
from .training import Run, choose_device


FORMAT, VERSION = "lstmlab encoder-decoder", 2  # version 2 adds the option attention (and its weights); 1 had none


class EncoderDecoder(torch.nn.Module):
    """An encoder LSTM whose final state starts a decoder LSTM that writes the output token by token.

    Args:
        source_words: how many different source tokens there are; source ids run 1..source_words.
        target_words: how many different target tokens there are; target ids run 1..target_words.
        num_hidden_units: H, the size of h and c in both LSTMs (default 64): the whole source has
            to fit in this one state.
        embedding_dimension: the length of each token's learned vector (default 16).
        attention: None (default): the decoder sees the source only through the encoder's final
            state. "dot", "general" or "additive": global attention (Luong, Pham and Manning 2015,
            eqs. 5-8; "additive" is their "concat", Bahdanau et al.'s score function) over the
            encoder's hidden states at the real source steps. At output step t the decoder's h_t
            scores each encoder state hbar_s (dot: h_t . hbar_s; general: h_t . (W_a hbar_s);
            additive: v_a . tanh(W_a [h_t; hbar_s])), the softmax over the real steps gives the
            weights alpha_t(s), the context a_t = sum_s alpha_t(s) hbar_s joins h_t as
            tanh(W_c [a_t; h_t]), and that is what the fully connected layer reads. The decoder
            LSTM itself is unchanged (no input feeding). `lstmlab.reference.attention_step` holds
            the same equations in NumPy.

    Attributes:
        encoder: an `ll.Network`: source ids -> word embedding -> LSTM "encoder".
        decoder: an `ll.Network`: previous ids -> word embedding -> LSTM "decoder" -> fully
            connected -> softmax over target_words + 1 classes, whose `class_names` are the ids.
        attend: the `lstmlab.attention.Attention` module with W_c (and W_a, v_a), or None.
        start, end: the ids of <start> (the decoder's first input) and <end> (its last output).
        training_history_: after `train_encoder_decoder`, one row per iteration.

    >>> model = EncoderDecoder(10, 30, num_hidden_units=8)
    >>> inputs, targets = model.teacher_forcing([np.array([5, 7])])
    >>> inputs[0].tolist(), targets[0].tolist()
    ([31, 5, 7], [5, 7, 31])
    """

    def __init__(self, source_words, target_words, *, num_hidden_units=64, embedding_dimension=16, attention=None):
        super().__init__()
        where = "EncoderDecoder"
        self.source_words = check_positive_int(source_words, "source_words", where)
        self.target_words = check_positive_int(target_words, "target_words", where)
        H = check_positive_int(num_hidden_units, "num_hidden_units", where)
        E = check_positive_int(embedding_dimension, "embedding_dimension", where)
        self.start = self.end = self.target_words + 1
        self.encoder = Network([
            sequence_input_layer(1, name="source"),
            word_embedding_layer(E, self.source_words, name="source_embedding"),
            lstm_layer(H, name="encoder"),
        ])
        self.decoder = Network([
            sequence_input_layer(1, name="previous"),
            word_embedding_layer(E, self.end, name="target_embedding"),  # the target ids and <start>
            lstm_layer(H, name="decoder"),
            fully_connected_layer(self.end, name="fc"),  # the target ids and <end>
            softmax_layer(name="softmax"),
        ])
        self.decoder.class_names = list(range(1, self.end + 1))  # class k is the id k + 1
        self.decoder.label_kind = "int"
        if attention is not None and not isinstance(attention, str):
            raise TypeError(f"{where}: attention must be None, 'dot', 'general' or 'additive'; got {type(attention).__name__}.")
        self.attention = attention
        self.attend = None if attention is None else Attention(attention, H)  # checks the name

    @property
    def layers(self):
        """The encoder's layers, then the decoder's."""
        return self.encoder.layers + self.decoder.layers

    def learnables(self):
        """(layer, parameter name, parameter) for every learnable parameter: encoder, decoder, attention."""
        attention = [] if self.attend is None else [(self.attend, name, p) for name, p in self.attend.named_parameters()]
        return self.encoder.learnables() + self.decoder.learnables() + attention

    def teacher_forcing(self, Y):
        """What the decoder reads and what it must write, for each target: (inputs, targets).

        inputs[n] is <start>, y_1 ... y_T: the true previous token at every step; targets[n] is
        y_1 ... y_T, <end>. Both are T + 1 long.
        """
        Y = _token_sequences(Y, "Y", "target_words", self.target_words, "teacher_forcing", empty=True)
        return [np.r_[self.start, y] for y in Y], [np.r_[y, self.end] for y in Y]

    def options(self):
        """The constructor's options, which remake this model (without its weights)."""
        return {
            "source_words": self.source_words,
            "target_words": self.target_words,
            "num_hidden_units": self.encoder["encoder"].num_hidden_units,
            "embedding_dimension": self.encoder["source_embedding"].dimension,
            "attention": self.attention,
        }

    def save(self, path):
        """Write the model to an .npz file, as `net.save` writes a network (no pickle: `lstmlab.saving`).

        `ll.load_network(path)` reads it back: the same options, weights and training history.
        """
        history = getattr(self, "training_history_", None)
        config = {
            "format": FORMAT,
            "version": VERSION,
            "lstmlab": __version__,
            "options": self.options(),
            "training_history": None if history is None else history.to_dict(orient="list"),
        }
        saving.write_archive(path, config, {key: t.detach().cpu().numpy() for key, t in self.state_dict().items()})

    def __repr__(self):
        learnables = sum(p.numel() for _, _, p in self.learnables())
        attention = "" if self.attend is None else f"\nattention {self.attention!r} (Luong et al. 2015) between the decoder and fc: {', '.join(f'{name} {tuple(p.shape)}' for name, p in self.attend.named_parameters())}"
        return (
            f"EncoderDecoder: {self.source_words} source words -> {self.target_words} target words "
            f"(<start> and <end> are {self.end}), {learnables:,} learnables\n"
            f"encoder\n{self.encoder.summary().to_string(index=False)}\n"
            f"decoder\n{self.decoder.summary().to_string(index=False)}{attention}"
        )


def _load(config, tensors, path):
    """The `EncoderDecoder` of a file written by its `save` (`saving.read` hands it here)."""
    if config.get("version") not in (1, VERSION):
        raise ValueError(f"load_network: {path} holds format {FORMAT!r} version {config.get('version')!r}; this lstmlab reads versions 1 to {VERSION}.")
    model = EncoderDecoder(**config["options"])
    expected = model.state_dict()
    if set(tensors) != set(expected) or any(tensors[key].shape != expected[key].shape for key in expected):
        raise ValueError(f"load_network: {path} does not hold the weights of an EncoderDecoder with options {config['options']}; it is damaged.")
    model.to(tensors["encoder._layers.encoder.input_weights"].dtype)  # the model's dtype, as saved
    model.load_state_dict(tensors)
    if config["training_history"] is not None:
        model.training_history_ = pd.DataFrame(config["training_history"])
    return model.eval()


saving.LOADERS[FORMAT] = _load


def train_encoder_decoder(X, Y, model, options=None):
    """Train an encoder–decoder with teacher forcing and return it.

    Each iteration takes a mini-batch of (source, target) pairs, runs the encoder over the sources,
    starts the decoder from the encoder's final states, lets it read <start>, y_1 ... y_T (the true
    previous tokens) and scores its guesses of y_1 ... y_T, <end> with the cross-entropy. The rest
    is `ll.trainnet`'s run (`lstmlab.training.Run`): the solver and its options, the history, the
    progress bar, validation and early stopping.

    Args:
        X: the sources, a list of 1-D integer arrays of ids 1..source_words.
        Y: the targets, a list of 1-D integer arrays of ids 1..target_words, one per source.
        model: an `ll.EncoderDecoder`.
        options: from `ll.training_options`. sequence_length must be "longest" (every source
            and target is read whole). metrics="accuracy" is the share of tokens guessed right
            under teacher forcing; validation_data=(X_val, Y_val) holds other pairs.

    Returns:
        The model, trained and in evaluation mode, with `training_history_`: a DataFrame with
        one row per iteration, as `ll.trainnet` gives.
    """
    where = "train_encoder_decoder"
    _check_model(model, where)
    options = training_options() if options is None else options
    if not isinstance(options, TrainingOptions):
        raise TypeError(f"{where}: options must come from ll.training_options(...); got {type(options).__name__}.")
    if options.sequence_length != "longest":
        raise ValueError(
            f"{where}: sequence_length must be 'longest' for an encoder–decoder, which reads every source and writes every "
            f"target whole; got {options.sequence_length!r}. Drop the option, or shorten the sequences themselves."
        )
    if options.checkpoint_path is not None:
        raise ValueError(
            f"{where}: checkpoint_path is for ll.trainnet; an encoder–decoder writes no checkpoints (a checkpoint is "
            f"a network file, and an encoder–decoder is two networks). Drop the option."
        )
    pairs, targets = _pairs(model, X, Y, where)
    validation = None
    if options.validation_data is not None:
        validation = _pairs(model, *options.validation_data, f"{where} (validation_data)")
    model.to(choose_device(options.execution_environment))
    run = _TeacherForcing(model, "crossentropy", options, targets)
    run.train(pairs, validation)
    model.eval()
    model.training_history_ = pd.DataFrame(run.history)
    return model


def trace_encoder_decoder(model, X, Y, *, mini_batch_size=128, interventions=None):
    """Record every gate and state of both LSTMs: the encoder reading each source, the decoder
    reading <start>, y_1 ... y_T from the encoder's final state; and, with attention, its weights.

    Args:
        model: an `ll.EncoderDecoder`.
        X: the sources, a list of 1-D integer arrays of ids, or one such array.
        Y: a target for each source: the true ones (what the decoder computes under teacher
            forcing), or what `decode` wrote (then the recording is what it computed while
            running free, since it read those very tokens).
        mini_batch_size: sources per forward pass (default 128).
        interventions: None, or a list of `ll.Intervention("attention", "weights", ...)` (steps:
            output steps 0..T, units: source steps; see `lstmlab.interventions`): the recorded
            weights are the intervened ones, and the decoder's outputs read them. The LSTMs compute
            what they compute without them (no input feeding), so their recording and its
            `max_error` are the clean ones. An empty list gives the clean trace, bit for bit.

    Returns:
        An `EncoderDecoderTrace`: a `Trace` with the layers "encoder" and "decoder";
        `tr["decoder"].h[n, t]` is the decoder's hidden state after reading input t (t = 0:
        <start>), from which it guesses token t + 1. With attention, `tr.attention[n, t, s]` is
        the weight that output step t gave source step s, (N, T_out, T_in) with T_out = T + 1
        (<end> is an output too): each row sums to 1 over the source's real steps, and padding
        (source steps past its length, output steps past its target's) holds exactly 0.
    """
    where = "trace_encoder_decoder"
    sources, targets, plan, one = checked_pairs(model, X, Y, interventions, mini_batch_size, where)
    inputs, _ = model.teacher_forcing(targets)
    encoder = trace(model.encoder, [x[:, None] for x in sources], mini_batch_size=mini_batch_size, freeze_padding=True)
    with _decoder_starts_from_encoder(model, sources, mini_batch_size):
        decoder = trace(model.decoder, [x[:, None] for x in inputs], mini_batch_size=mini_batch_size)
    attention = None
    if model.attend is not None:
        weights = teacher_forced_outputs(model, sources, targets, mini_batch_size, plan)[1]  # each (T_n + 1, S_n)
        attention = np.zeros((len(sources), max(len(w) for w in weights), max(len(x) for x in sources)))
        for n, w in enumerate(weights):
            attention[n, : w.shape[0], : w.shape[1]] = w
    layers = {"encoder": encoder["encoder"], "decoder": decoder["decoder"]}
    return EncoderDecoderTrace(layers, interventions=interventions or (), attention=attention)


class EncoderDecoderTrace(Trace):
    """A `Trace` of an encoder–decoder: the layers "encoder" and "decoder", and `attention`.

    attention: (N, T_out, T_in) float64, the weights alpha_t(s) of every pair (None without
    attention); attention[n, t, s] is what output step t (t = 0 writes y_1) gave source step s.
    """

    def __init__(self, layers, interventions=(), attention=None):
        super().__init__(layers, interventions)
        self.attention = attention

    def __repr__(self):
        text = super().__repr__()
        if self.attention is None:
            return text
        N, T_out, T_in = self.attention.shape
        return text.replace("\n)", f"\n  attention weights for {N} pairs, {T_out} output steps x {T_in} source steps\n)", 1)



# --- training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pairs:
    """An encoder–decoder's data set: the sources (S_n, 1) and the decoder's inputs (T_n + 1, 1)."""

    sources: list
    inputs: list

    def __len__(self):
        return len(self.sources)


def checked_pairs(model, X, Y, interventions, mini_batch_size, where):
    """Sources and targets checked against the model, and the interventions bound to them:
    (sources, targets, plan, one), one=True where X was a single source (a 1-D array)."""
    _check_model(model, where)
    one = isinstance(X, np.ndarray) and X.ndim == 1
    sources = _token_sequences(X, "X", "source_words", model.source_words, where, one=True)
    targets = _targets_for(model, Y, sources, where, one=one)
    plan = bind_attention(model, interventions, sources, where, targets=targets, mini_batch_size=mini_batch_size)
    return sources, targets, plan, one


def _pairs(model, X, Y, where):
    """The checked data set and its targets as class codes: y_1 ... y_T, <end> less one."""
    sources = _token_sequences(X, "X", "source_words", model.source_words, where)
    inputs, outputs = model.teacher_forcing(_targets_for(model, Y, sources, where))
    pairs = _Pairs([x[:, None] for x in sources], [x[:, None] for x in inputs])
    return pairs, Targets([y - 1 for y in outputs], per_step=True, class_names=model.decoder.class_names, label_kind="int")


class _TeacherForcing(Run):
    """`ll.trainnet`'s run on an encoder–decoder: only the mini-batches differ."""

    def passes(self, pairs, values, epoch, shuffle, piece=False, skip=0):
        """The mini-batches of one epoch, each run through encoder and decoder (see `teacher_forced`);
        one process only, so piece (this worker's rows) is always the whole mini-batch, and no
        checkpoints, so skip (the mini-batches a checkpoint had done) is always 0."""
        o = self.options
        batches = iterate_batches(
            pairs.inputs,
            values,
            True,
            mini_batch_size=o.mini_batch_size,
            sequence_length="longest",
            direction=o.sequence_padding_direction,
            shuffle=shuffle,
            sort=False,
            seed=o.seed,
            epoch=epoch,
            padding_value=0,
        )
        for batch in batches:
            yield teacher_forced(self.net, pairs.sources, batch, self.stop, o.sequence_padding_direction)


def encode(model, source, source_mask):
    """The encoder over a mini-batch: its hidden states (B, S, H), the memory that attention reads,
    and its final states {"encoder": (h_S, c_S)}, each (B, H), taken after each source's last real
    token (the encoder carries its state over padding)."""
    memory, finals, _ = model.encoder.run(source, mask=source_mask, freeze_padding=True)  # (B, S, H)
    return memory, finals


def run_decoder(model, x, mask, states, memory, memory_mask, stop=None, edit=None):
    """The decoder over a mini-batch of inputs x (B, T, 1), from the LSTM states {"decoder": (h, c)}.

    Without attention this is `model.decoder.run`. With it, the decoder's LSTM outputs h_t
    (B, T, H), attention over memory (B, S, H) (padded where memory_mask is False) makes
    htilde_t, and the fully connected layer (and the softmax unless stop=-1) read that instead.
    edit: None, or what interventions do to the weights (B, T, S) (`AttentionPlan.edit`).

    Returns (output, finals, output_mask, alpha): output (B, T, V + 1), the scores before softmax
    for stop=-1, probabilities for stop=None; alpha (B, T, S), or None without attention.
    """
    decoder = model.decoder
    if model.attend is None:
        output, finals, output_mask = decoder.run(x, mask=mask, states=states, until=stop, freeze_padding=True)
        return output, finals, output_mask, None
    lstm = decoder.layers.index(decoder["decoder"])
    h, finals, output_mask = decoder.run(x, mask=mask, states=states, until=lstm + 1, freeze_padding=True)  # (B, T, H)
    h_tilde, alpha = model.attend(h, memory, memory_mask, edit)  # (B, T, H), (B, T, S)
    output, output_mask = decoder["fc"].propagate(h_tilde, output_mask)  # (B, T, V + 1)
    if stop is None:
        output, output_mask = decoder["softmax"].propagate(output, output_mask)
    return output, finals, output_mask, alpha


def teacher_forced(model, sources, batch, stop=None, direction="right"):
    """One mini-batch through the encoder, then the decoder from its final states: a `runner.Pass`.

    A mini-batch of an encoder–decoder holds two sequences per example, so it is run here rather
    than by `runner.run_batches`, which runs one network. Both networks carry their states over
    padding (freeze_padding), so that each source hands over the state after its last real token.

    Args:
        model: an `ll.EncoderDecoder`.
        sources: every source of the data set, each (S_n, 1).
        batch: a `Batch` of the decoder's inputs (<start>, y_1 ... y_T) and targets, per step.
        stop: None for probabilities, or -1: the scores before softmax, for the loss.
        direction: where the sources are padded, "right" or "left", as the decoder's inputs.

    Returns:
        The `Pass` (`_attended` also gives the attention weights).
    """
    return _attended(model, sources, batch, stop, direction)[0]


def _attended(model, sources, batch, stop=None, direction="right", plan=None):
    """`teacher_forced`'s (Pass, alpha): alpha (B, T, S) the attention weights, or None without attention.

    plan: an `AttentionPlan` (interventions on the weights), or None."""
    like = model.decoder.layers[0].like  # the model's device and dtype
    source, source_mask = pad([sources[n] for n in batch.indices], "longest", direction, 0)
    source = torch.as_tensor(source).to(like)  # (B, S, 1) ids
    source_mask = torch.as_tensor(source_mask, device=like.device)  # (B, S)
    memory, finals = encode(model, source, source_mask)  # finals["encoder"]: h_S, c_S, each (B, H)
    x = torch.as_tensor(batch.x).to(like)  # (B, T, 1): <start>, y_1 ... y_{T-1}
    mask = torch.as_tensor(batch.mask, device=like.device)  # (B, T)
    states = {"decoder": finals["encoder"]}  # the decoder starts where the encoder ended
    edit = None if plan is None else plan.edit(batch.indices, x.shape[1], like)
    output, _, output_mask, alpha = run_decoder(model, x, mask, states, memory, source_mask, stop, edit)  # (B, T, V + 1)
    y = torch.as_tensor(batch.y, device=like.device).long()  # (B, T): y_1 ... y_T, <end> as class codes
    return Pass(batch=batch, x=x, mask=mask, y=y, output=output, output_mask=output_mask, finals=finals), alpha


@torch.no_grad()
def teacher_forced_outputs(model, sources, targets, mini_batch_size=128, plan=None):
    """Each pair under teacher forcing: the log-probabilities (T_n + 1, V + 1) of every token at
    every step (float64), and with attention the weights (T_n + 1, S_n), else None.

    sources and targets are checked lists of 1-D id arrays; the decoder reads <start>, y_1 ... y_T.
    plan: an `AttentionPlan` from `bind_attention` (interventions on the weights), or None.
    """
    pairs, coded = _pairs(model, sources, targets, "teacher_forced_outputs")
    batches = iterate_batches(pairs.inputs, coded.values, True, mini_batch_size=mini_batch_size, sequence_length="longest",
                              direction="right", shuffle="never", sort=False, seed=None, epoch=0, padding_value=0)
    log_p, weights = [None] * len(sources), [None] * len(sources)
    for batch in batches:
        step, alpha = _attended(model, pairs.sources, batch, stop=-1, plan=plan)
        scores = torch.log_softmax(step.output.double(), dim=-1).cpu().numpy()  # (B, T, V + 1)
        for row, n in enumerate(batch.indices):
            T = len(targets[n]) + 1
            log_p[n] = scores[row, :T]
            if alpha is not None:
                weights[n] = alpha[row, :T, : len(sources[n])].double().cpu().numpy()
    return log_p, weights



# --- interventions on the attention ---------------------------------------------------------------


class AttentionPlan:
    """Interventions on the attention weights, checked against the model and X (`bind_attention`).

    bound: (position, units (U,), steps (None, (K,) indices or an (N, T_out) mask), how, value) for
    each intervention; value is a (U,) or () array, a function, or for source= the source's weights
    (N, T_out, S) float64. S: the longest source of X, the width the actions see.
    """

    def __init__(self, bound, S):
        self.bound, self.S = bound, S

    def edit(self, indices, T, like, step=None):
        """What `Attention.forward` does to the weights of one mini-batch: a function of alpha
        (B, T', S_b), or None when nothing acts there.

        indices: the rows of X in the mini-batch (a beam repeats each source's row k times). T: its
        output steps from step 0; with step=None (teacher forcing) alpha holds all of them, T' = T;
        with step=t (decoding, one step at a time) alpha holds step t only, T' = 1.
        """
        indices = np.asarray(indices)
        actions = []
        for _, units, steps, how, value in self.bound:
            mask = _mask(steps, indices, 0, T, None, like.device)  # (B, T) or None: every step
            if mask is not None and not mask.any():
                continue
            chosen = ALL if np.array_equal(units, np.arange(self.S)) else torch.as_tensor(units, device=like.device)
            if how == "source":
                how, value = "set", torch.as_tensor(value[indices, :T][:, :, units]).to(like)  # (B, T, U) the source's weights
            elif how != "fn":
                value = torch.as_tensor(value).to(like)
            actions.append(Action("weights", chosen, mask, how, value))
        if not actions:
            return None
        edit, S = Edit(actions), self.S

        def apply(alpha):
            S_b = alpha.shape[-1]  # this mini-batch's longest source
            wide = torch.nn.functional.pad(alpha, (0, S - S_b))  # (B, T', S): the source steps the interventions count
            wide = edit("weights", ALL, wide) if step is None else edit("weights", step, wide[:, 0])[:, None]
            return wide[..., :S_b]

        return apply


def bind_attention(model, interventions, sources, where, *, targets=None, max_length=None, mini_batch_size=128):
    """Check interventions on an encoder–decoder against the model and its sources; an
    `AttentionPlan`, or None for none (None or an empty list).

    targets: the outputs, one per source (teacher forcing: output steps 0..len(y)); or None and
    max_length: free running, output steps 0..max_length - 1.
    """
    if not given(interventions, where):
        return None
    S = max(len(x) for x in sources)
    if targets is not None:
        lengths = np.array([len(y) + 1 for y in targets])
        T, what = int(lengths.max()), f"the output steps; the longest output here has {int(lengths.max())}, its tokens and <end>"
    else:
        lengths = np.full(len(sources), max_length)
        T, what = max_length, f"the output steps decode writes, at most max_length={max_length}"
    bound = []
    for k, item in enumerate(interventions):
        label = f"{where}: interventions[{k}]"
        if not isinstance(item, Intervention):
            raise TypeError(f"{label} is a {type(item).__name__}; expected ll.Intervention('attention', 'weights', steps=..., units=..., set=...).")
        if item.layer != "attention":
            raise ValueError(
                f"{label} names layer {item.layer!r}; on an encoder–decoder, interventions act on the attention: "
                f"ll.Intervention('attention', 'weights', steps=output steps, units=source steps, ...). To change the encoder's "
                f"or the decoder's LSTM, give the intervention to ll.trace(model.encoder, ...) or ll.trace(model.decoder, ...)."
            )
        if model.attend is None:
            raise ValueError(
                f"{label} acts on the attention, but this model has none (it was made with attention=None); make it with "
                f"ll.EncoderDecoder(..., attention='dot', 'general' or 'additive'), or drop the intervention."
            )
        if item.quantity != "weights":
            raise ValueError(
                f"{label} changes quantity {item.quantity!r}, but the attention computes 'weights' (alpha_t(s): output "
                f"step t by source step s); use quantity 'weights'."
            )
        if item.direction != "forward":
            raise ValueError(f"{label} has direction={item.direction!r}; the attention has no direction, drop the option.")
        units = check_indices(item.units, S, "units", f"the source steps; the longest source of X has {S}", label)
        if isinstance(item.steps, tuple) and item.steps and isinstance(item.steps[0], np.ndarray):
            steps = _bound_steps(item.steps, lengths, T, "attention", label)  # a per-pair mask (N, T)
        else:
            steps = None if item.steps is None else check_indices(item.steps, T, "steps", what, label)
        how, value = item.action
        if how in ("set", "scale", "add"):
            value = np.asarray(value)
            if value.ndim == 1 and len(value) != len(units):
                raise ValueError(f"{label}: {how} has {len(value)} values but units chooses {len(units)} source steps; give one number, or one per source step.")
        if how == "source":
            value = _source_weights(model, value, sources, targets, S, T, label, mini_batch_size)
        bound.append((k, units, steps, how, value))
    return AttentionPlan(bound, S)


def _source_weights(model, source, sources, targets, S, T, label, mini_batch_size):
    """The clean weights (N, T, S) of the source's sequences, each reading its partner's target."""
    if targets is None:
        raise ValueError(
            f"{label}: source= takes the weights the model gives other sources at the same output steps, so the output must "
            f"be given: use it with ll.trace_encoder_decoder, ll.sequence_log_probability or ll.decode(..., targets=Y). "
            f"Running free, each source writes its own output."
        )
    other = _token_sequences(source, "source", "source_words", model.source_words, label, one=True)
    if len(other) != len(sources) or any(len(a) != len(b) for a, b in zip(other, sources)):
        raise ValueError(
            f"{label}: source holds {len(other)} sources of lengths {[len(a) for a in other]}, but X holds {len(sources)} of "
            f"lengths {[len(b) for b in sources]}; give one source per source of X, each as long as its partner."
        )
    weights = np.zeros((len(sources), T, S))
    for n, w in enumerate(teacher_forced_outputs(model, other, targets, mini_batch_size)[1]):
        weights[n, : w.shape[0], : w.shape[1]] = w
    return weights


# --- decoding ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _decoder_starts_from_encoder(model, sources, mini_batch_size):
    """While inside, the decoder's LSTM holds each source's final encoder state, one row per source."""
    encoder, decoder = model.encoder["encoder"], model.decoder["decoder"]
    try:
        encoded = [x[:, None] for x in sources]  # each (S_n, 1)
        predict_and_update_state(model.encoder, encoded, mini_batch_size=mini_batch_size, freeze_padding=True)  # keeps (h_S, c_S)
        decoder.hidden_state, decoder.cell_state = encoder.hidden_state, encoder.cell_state  # each (N, H)
        yield
    finally:
        model.encoder.reset_state()
        model.decoder.reset_state()


# --- checks --------------------------------------------------------------------------------------


def _check_model(model, where):
    if not isinstance(model, EncoderDecoder):
        raise TypeError(
            f"{where}: model must be an ll.EncoderDecoder; got {type(model).__name__}. Make one with "
            f"ll.EncoderDecoder(source_words, target_words)."
        )


def _token_sequences(Z, name, option, words, where, one=False, empty=False):
    """Z as a list of 1-D int64 arrays of ids 1..words (words is the model's `option`), checked.

    With one=True a 1-D array is one sequence; with empty=True a sequence may have no tokens.
    """
    if one and isinstance(Z, np.ndarray) and Z.ndim == 1:
        Z = [Z]
    if not isinstance(Z, (list, tuple)):
        hint = ""
        if isinstance(Z, np.ndarray):
            hint = f" For one sequence give [{name}], a data set of one." if Z.ndim == 1 else f" For an (N, T) array give list({name})."
        raise TypeError(f"{where}: {name} must be a list of 1-D arrays of token ids; got {type(Z).__name__}.{hint}")
    if len(Z) == 0:
        raise ValueError(f"{where}: {name} is empty; give at least one sequence.")
    sequences = []
    for n, z in enumerate(Z):
        z = np.asarray(z)
        if z.ndim != 1 or (z.dtype.kind not in "iu" and z.size):
            raise TypeError(
                f"{where}: {name}[{n}] must be a 1-D array of integer token ids; got {z.dtype} values of shape {z.shape}. "
                f"Give one id per step, as integers ({name}[{n}].astype(int) for whole numbers stored as floats)."
            )
        if len(z) == 0 and not empty:
            raise ValueError(f"{where}: {name}[{n}] is empty; every source needs at least one token.")
        bad = (z < 1) | (z > words)
        if bad.any():
            t = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{where}: {name}[{n}] holds the id {z[t]} at step {t}; ids run from 1 to {option}={words}. Number the tokens "
                f"from 1 (0 is padding), or make the model with a larger {option}."
            )
        sequences.append(z.astype(np.int64))
    return sequences


def _targets_for(model, Y, sources, where, one=False):
    """The targets, checked: token ids 1..target_words, one sequence (possibly empty) per source."""
    targets = _token_sequences(Y, "Y", "target_words", model.target_words, where, one=one, empty=True)
    if len(targets) != len(sources):
        raise ValueError(f"{where}: Y has {len(targets)} targets but X has {len(sources)} sources; give one target per source.")
    return targets
