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
from ._checks import check_positive_int
from ._version import __version__
from .batching import iterate_batches
from .data import pad
from .layers import fully_connected_layer, lstm_layer, sequence_input_layer, softmax_layer, word_embedding_layer
from .network import Network
from .options import TrainingOptions, training_options
from .prediction import predict, predict_and_update_state
from .runner import Pass
from .targets import Targets
from .trace import Trace, trace
from .training import Run, choose_device


FORMAT, VERSION = "lstmlab encoder-decoder", 1


class EncoderDecoder(torch.nn.Module):
    """An encoder LSTM whose final state starts a decoder LSTM that writes the output token by token.

    Args:
        source_words: how many different source tokens there are; source ids run 1..source_words.
        target_words: how many different target tokens there are; target ids run 1..target_words.
        num_hidden_units: H, the size of h and c in both LSTMs (default 64): the whole source has
            to fit in this one state.
        embedding_dimension: the length of each token's learned vector (default 16).

    Attributes:
        encoder: an `ll.Network`: source ids -> word embedding -> LSTM "encoder".
        decoder: an `ll.Network`: previous ids -> word embedding -> LSTM "decoder" -> fully
            connected -> softmax over target_words + 1 classes, whose `class_names` are the ids.
        start, end: the ids of <start> (the decoder's first input) and <end> (its last output).
        training_history_: after `train_encoder_decoder`, one row per iteration.

    >>> model = EncoderDecoder(10, 30, num_hidden_units=8)
    >>> inputs, targets = model.teacher_forcing([np.array([5, 7])])
    >>> inputs[0].tolist(), targets[0].tolist()
    ([31, 5, 7], [5, 7, 31])
    """

    def __init__(self, source_words, target_words, *, num_hidden_units=64, embedding_dimension=16):
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

    @property
    def layers(self):
        """The encoder's layers, then the decoder's."""
        return self.encoder.layers + self.decoder.layers

    def learnables(self):
        """(layer, parameter name, parameter) for every learnable parameter, encoder first."""
        return self.encoder.learnables() + self.decoder.learnables()

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
        return (
            f"EncoderDecoder: {self.source_words} source words -> {self.target_words} target words "
            f"(<start> and <end> are {self.end}), {learnables:,} learnables\n"
            f"encoder\n{self.encoder.summary().to_string(index=False)}\n"
            f"decoder\n{self.decoder.summary().to_string(index=False)}"
        )


def _load(config, tensors, path):
    """The `EncoderDecoder` of a file written by its `save` (`saving.read` hands it here)."""
    if config.get("version") != VERSION:
        raise ValueError(f"load_network: {path} holds format {FORMAT!r} version {config.get('version')!r}; this lstmlab reads version {VERSION}.")
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


def decode(model, X, *, targets=None, max_length=100, mini_batch_size=128):
    """The output for each source, written greedily: at every step the most probable token.

    Args:
        model: an `ll.EncoderDecoder`.
        X: the sources, a list of 1-D integer arrays of ids, or one such array.
        targets: None: free running, each step reads the decoder's own previous output, until it
            writes <end> or max_length tokens. Or the true targets, one per source: teacher forcing,
            as in training, each step reads the true previous token, and the answer holds the
            guess at each of the target's steps.
        max_length: the most tokens written for one source when free running (default 100).
        mini_batch_size: sources per forward pass (default 128).

    Returns:
        A list of 1-D integer arrays of target ids, without <end>; for one source, one array.

    >>> model = EncoderDecoder(10, 30, num_hidden_units=8)
    >>> len(decode(model, np.array([3, 1, 4]), max_length=5)) <= 5
    True
    """
    where = "decode"
    _check_model(model, where)
    max_length = check_positive_int(max_length, "max_length", where)
    one = isinstance(X, np.ndarray) and X.ndim == 1
    sources = _token_sequences(X, "X", "source_words", model.source_words, where, one=True)
    with _decoder_starts_from_encoder(model, sources, mini_batch_size):
        if targets is not None:
            inputs, _ = model.teacher_forcing(_targets_for(model, targets, sources, where, one=one))
            scores = predict(model.decoder, [x[:, None] for x in inputs], mini_batch_size=mini_batch_size)  # each (T + 1, V + 1)
            written = [s[:-1].argmax(-1) + 1 for s in scores]  # the guesses of y_1 ... y_T (class k is the id k + 1)
        else:
            written = _free_running(model, len(sources), max_length, mini_batch_size)
    return written[0] if one else written


def trace_encoder_decoder(model, X, Y, *, mini_batch_size=128):
    """Record every gate and state of both LSTMs: the encoder reading each source, the decoder
    reading <start>, y_1 ... y_T from the encoder's final state.

    Args:
        model: an `ll.EncoderDecoder`.
        X: the sources, a list of 1-D integer arrays of ids, or one such array.
        Y: a target for each source: the true ones (what the decoder computes under teacher
            forcing), or what `decode` wrote (then the recording is what it computed while
            running free, since it read those very tokens).
        mini_batch_size: sources per forward pass (default 128).

    Returns:
        A `Trace` with the layers "encoder" and "decoder"; `tr["decoder"].h[n, t]` is the decoder's
        hidden state after reading input t (t = 0: <start>), from which it guesses token t + 1.
    """
    where = "trace_encoder_decoder"
    _check_model(model, where)
    one = isinstance(X, np.ndarray) and X.ndim == 1
    sources = _token_sequences(X, "X", "source_words", model.source_words, where, one=True)
    inputs, _ = model.teacher_forcing(_targets_for(model, Y, sources, where, one=one))
    encoder = trace(model.encoder, [x[:, None] for x in sources], mini_batch_size=mini_batch_size, freeze_padding=True)
    with _decoder_starts_from_encoder(model, sources, mini_batch_size):
        decoder = trace(model.decoder, [x[:, None] for x in inputs], mini_batch_size=mini_batch_size)
    return Trace({"encoder": encoder["encoder"], "decoder": decoder["decoder"]})


# --- training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pairs:
    """An encoder–decoder's data set: the sources (S_n, 1) and the decoder's inputs (T_n + 1, 1)."""

    sources: list
    inputs: list

    def __len__(self):
        return len(self.sources)


def _pairs(model, X, Y, where):
    """The checked data set and its targets as class codes: y_1 ... y_T, <end> less one."""
    sources = _token_sequences(X, "X", "source_words", model.source_words, where)
    inputs, outputs = model.teacher_forcing(_targets_for(model, Y, sources, where))
    pairs = _Pairs([x[:, None] for x in sources], [x[:, None] for x in inputs])
    return pairs, Targets([y - 1 for y in outputs], per_step=True, class_names=model.decoder.class_names, label_kind="int")


class _TeacherForcing(Run):
    """`ll.trainnet`'s run on an encoder–decoder: only the mini-batches differ."""

    def passes(self, pairs, values, epoch, shuffle, piece=False):
        """The mini-batches of one epoch, each run through encoder and decoder (see `teacher_forced`);
        one process only, so piece (this worker's rows) is always the whole mini-batch."""
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


def teacher_forced(model, sources, batch, stop=None, direction="right"):
    """One mini-batch through the encoder, then the decoder from its final states: a `runner.Pass`.

    A mini-batch of an encoder–decoder holds two sequences per example, so it is run here rather
    than by `runner.run_batches`, which runs one network. Both networks carry their states over
    padding (freeze_padding), so that each source hands over the state after its last real token.

    Args:
        model: an `ll.EncoderDecoder`.
        sources: every source of the data set, each (S_n, 1).
        batch: a `Batch` of the decoder's inputs (<start>, y_1 ... y_T) and targets, per step.
        stop: run the decoder's layers[:stop] only (-1: the scores before softmax, for the loss).
        direction: where the sources are padded, "right" or "left", as the decoder's inputs.
    """
    like = model.decoder.layers[0].like  # the model's device and dtype
    source, source_mask = pad([sources[n] for n in batch.indices], "longest", direction, 0)
    source = torch.as_tensor(source).to(like)  # (B, S, 1) ids
    source_mask = torch.as_tensor(source_mask, device=like.device)  # (B, S)
    _, finals, _ = model.encoder.run(source, mask=source_mask, freeze_padding=True)  # finals["encoder"]: h_S, c_S, each (B, H)
    x = torch.as_tensor(batch.x).to(like)  # (B, T, 1): <start>, y_1 ... y_{T-1}
    mask = torch.as_tensor(batch.mask, device=like.device)  # (B, T)
    states = {"decoder": finals["encoder"]}  # the decoder starts where the encoder ended
    output, _, output_mask = model.decoder.run(x, mask=mask, states=states, stop=stop, freeze_padding=True)  # (B, T, V + 1)
    y = torch.as_tensor(batch.y, device=like.device).long()  # (B, T): y_1 ... y_T, <end> as class codes
    return Pass(batch=batch, x=x, mask=mask, y=y, output=output, output_mask=output_mask, finals=finals)


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


def _free_running(model, N, max_length, mini_batch_size):
    """Greedy decoding: each step reads the token written at the step before (<start> first)."""
    token = np.full((N, 1, 1), model.start)  # (N, 1, 1): one step of one id for every source
    written, ended = [], np.zeros(N, dtype=bool)
    for _ in range(max_length):
        p = predict_and_update_state(model.decoder, token, mini_batch_size=mini_batch_size)  # (N, 1, V + 1)
        token = p.argmax(-1)[..., None] + 1  # (N, 1, 1): the most probable id (class k is the id k + 1)
        written.append(token[:, 0, 0])
        ended |= token[:, 0, 0] == model.end
        if ended.all():
            break
    written = np.stack(written, 1)  # (N, L)
    return [row[: np.argmax(row == model.end)] if (row == model.end).any() else row for row in written]


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
