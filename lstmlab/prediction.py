"""Prediction: scores, labels, activations, and stateful prediction that carries the state on.

Sequences go through the network in mini-batches, padded, truncated or split by the same rule as
in training (`ll.sequence_batches`), and run by the same loop (`lstmlab.runner.run_batches`): when
split into chunks, the state is carried from chunk to chunk. The outputs of each sequence are put
back together and cut to its real steps.
"""

import inspect
import itertools

import numpy as np
import pandas as pd
import torch

from .data import is_one_sequence
from .inference import prepare_inference
from .layers import RecurrentLayer
from .network import Network
from .runner import evaluating, keep_states, run_batches


def predict(
    net,
    X,
    *,
    mini_batch_size=128,
    sequence_length=None,
    sequence_padding_direction=None,
    sequence_padding_value=None,
    freeze_padding=None,
    interventions=None,
):
    """Run X through the network and return its outputs as NumPy arrays.

    A network that outputs one vector per sequence returns (N, K); one that outputs sequences
    returns a list of (T_n, K) arrays, one per sequence, cut to its real steps (an (N, T, K)
    array when X was an array of equal lengths). X may also be one sequence, a (T, C) array (see
    `lstmlab.data.is_one_sequence`): the answer is then that sequence's alone, (K,) or (T, K).

    The sequence options (sequence_length, sequence_padding_direction, sequence_padding_value)
    are those of `ll.sequence_batches`. With freeze_padding=True the recurrent layers carry their
    state unchanged over padded steps, so that a sequence's outputs do not depend on its
    mini-batch (MATLAB has no such option). The padding options not given (None) are those the
    network was trained with (`net.sequence_options`, set by `ll.trainnet`), so that a network
    trained with left or frozen padding also predicts with it; an untrained network uses MATLAB's
    defaults, right padding (with zeros) to the longest sequence of each mini-batch. A given
    option wins. sequence_length is "longest" unless given, whatever the training used: chunks
    change no output, but the state of a sequence shorter than a chunk would run through the
    padding of its last chunk.

    The network's held states are where each sequence starts: the initial states, or those that
    `predict_and_update_state` left (as a dlnetwork's predict does; `print(net)` says when it
    holds such states, `ll.reset_state(net)` returns to the initial ones). predict does not
    change them.

    interventions: a list of `ll.Intervention` that change what the recurrent layers compute
    (gates, states, patches from another input; see `lstmlab.interventions`). None or [] gives
    the clean outputs.
    """
    return _outputs("predict", locals())


minibatchpredict = predict  # MATLAB's name for prediction in mini-batches
OPTIONS = {name: p.default for name, p in inspect.signature(predict).parameters.items() if p.kind == p.KEYWORD_ONLY}
"""The options of every prediction and their defaults, as `predict`'s signature gives them."""


def activations(net, X, layer_name, **options):
    """The outputs of the layer named `layer_name`, as `predict` returns a network's outputs (one
    sequence's alone for one (T, C) sequence)."""
    if not isinstance(net, Network):
        raise TypeError(f"activations: net must be an ll.Network; got {type(net).__name__}.")
    names = [layer.name for layer in net.layers]
    if layer_name not in names:
        raise ValueError(f"activations: the network has no layer {layer_name!r}; choose from {', '.join(names)}.")
    return _outputs("activations", {"net": net, "X": X, **options}, until=names.index(layer_name) + 1)


def scores2label(scores, class_names):
    """The label of the highest score: (N, K) scores give (N,) labels, a list of (T, K) a list of
    (T,), and (K,) one label."""
    names = np.asarray(class_names)
    if isinstance(scores, list):
        return [scores2label(s, class_names) for s in scores]
    scores = np.asarray(scores)
    if scores.shape[-1] != len(names):
        raise ValueError(f"scores2label: the scores have {scores.shape[-1]} columns but there are {len(names)} class names.")
    return names[scores.argmax(-1)]


def classify(net, X, **options):
    """Labels of X, in the type the network was trained with (a Categorical, strings or ints).

    For one sequence X (a (T, C) array) the answer is one label, as MATLAB's classify gives: the
    class itself (a string or an int, the category of a Categorical); (T,) labels for a network
    that labels every step.
    """
    return _as_labels(net, predict(net, X, **options), "classify")


def predict_and_update_state(net, X, **options):
    """`predict`, starting from the network's current states and keeping the final ones.

    Feeding sequences in pieces gives exactly what they give whole when the pieces of a call are
    equally long, or with freeze_padding=True; otherwise, as in MATLAB, a shorter piece's state
    also runs through the padding of its mini-batch. The states hold one row per sequence of X:
    later calls need the same number of sequences, until `ll.reset_state(net)`.
    """
    return _outputs("predict_and_update_state", {"net": net, "X": X, **options}, update_state=True)


def classify_and_update_state(net, X, **options):
    """`classify`, starting from the network's current states and keeping the final ones."""
    return _as_labels(net, predict_and_update_state(net, X, **options), "classify_and_update_state")


def reset_state(net):
    """Return every recurrent layer of the network to its initial state."""
    net.reset_state()
    return net


def _as_labels(net, scores, where):
    if net.class_names is None:
        raise ValueError(f"{where}: the network has no class names; train it with ll.trainnet and loss 'crossentropy'.")
    labels = scores2label(scores, net.class_names)
    if net.label_kind != "categorical" or np.isscalar(labels):  # one sequence's label is the class itself
        return labels
    as_categorical = lambda y: pd.Categorical(y, categories=net.class_names)  # noqa: E731
    return [as_categorical(y) for y in labels] if isinstance(labels, list) else as_categorical(labels)


def _outputs(where, arguments, until=None, update_state=False):
    """What `predict` computes, for `where`: arguments are predict's (net, X and options), those
    not given take predict's defaults. until: run net.layers[:until] only; update_state: keep the
    final states (`predict_and_update_state`)."""
    unknown = arguments.keys() - {"net", "X", *OPTIONS}
    if unknown:
        raise TypeError(f"{where}() got an unexpected keyword argument {min(unknown)!r}; the options are {', '.join(OPTIONS)}.")
    options = {**OPTIONS, **arguments}  # predict's defaults for the options not given
    net, X = options.pop("net"), options.pop("X")
    sequences, batches, start, plan, freeze_padding = prepare_inference(net, X, where, **options, until=until)
    N = len(sequences)
    recurrent = [layer for layer in net.layers[:until] if isinstance(layer, RecurrentLayer)]
    collected, final_states = _Collected(N), {}
    with evaluating(net):
        run_recurrent = None if plan is None else plan.run_recurrent
        for step in run_batches(net, batches(sequences), start_states=start, until=until, freeze_padding=freeze_padding, run_recurrent=run_recurrent):
            collected.add(step)
            for name, final in step.finals.items():
                final_states.setdefault(name, {})[tuple(step.batch.indices)] = final
    if update_state:
        keep_states(recurrent, final_states, N)
    outputs = collected.outputs(as_array=isinstance(X, (np.ndarray, torch.Tensor)))
    return outputs[0] if is_one_sequence(X) else outputs  # one sequence: (K,) or (T, K)


class _Collected:
    """The outputs of every mini-batch, put back in the order of X.

    Each output comes from the device once (`Tensor.numpy()` shares a CPU tensor's memory). When no
    step was padded, whole mini-batches are copied into one (N, T, K) array, with no work per
    sequence; otherwise each sequence's real steps are cut out of its mini-batch.
    """

    def __init__(self, N):
        self.N = N
        self.parts = []  # (indices, chunk, output (B, T_out, K) or (B, K), real steps (B, T_out) or None)

    def add(self, step):
        real = None if step.output_mask is None else step.output_mask.cpu().numpy()
        self.parts.append((step.batch.indices, step.batch.chunk, step.output.cpu().numpy(), real))

    def outputs(self, as_array):
        """(N, K) for one vector per sequence; else (N, T, K) when as_array and every sequence is as
        long as the others, else a list of (T_n, K) arrays."""
        if self.parts[0][3] is None or (as_array and all(real.all() for *_, real in self.parts)):
            return self._stacked()
        sequences = self._per_sequence()
        if as_array and len({len(s) for s in sequences}) == 1:
            return np.stack(sequences)  # equally long after all (e.g. a last chunk padded)
        return sequences

    def _stacked(self):
        """Mini-batch after mini-batch (chunk after chunk) into one (N, ...) array."""
        indices, _, first, real = self.parts[0]
        if len(self.parts) == 1 and np.array_equal(indices, np.arange(self.N)):
            return first  # one mini-batch in order: the output as it is, a view of the device's memory
        shape = first.shape[1:]
        if real is not None:  # (T, K): T adds up the chunks of the first mini-batch
            later = itertools.takewhile(lambda part: part[1] > 0, self.parts[1:])
            shape = (first.shape[1] + sum(y.shape[1] for _, _, y, _ in later), *first.shape[2:])
        out = np.empty((self.N, *shape), first.dtype)
        offset = 0
        for indices, chunk, y, real in self.parts:
            if real is None:
                out[indices] = y  # one vector per sequence: the last chunk's is the answer
                continue
            offset = 0 if chunk == 0 else offset
            out[indices, offset : offset + y.shape[1]] = y
            offset += y.shape[1]
        return out

    def _per_sequence(self):
        """Each sequence's real steps, chunk after chunk: (T_n, K) arrays."""
        pieces = [[] for _ in range(self.N)]
        for indices, _, y, real in self.parts:
            for b, n in enumerate(indices):
                pieces[n].append(y[b][real[b]])  # the real steps of this chunk
        return [p[0] if len(p) == 1 else np.concatenate(p) for p in pieces]
