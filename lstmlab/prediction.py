"""Prediction: scores, labels, activations, and stateful prediction that carries the state on.

Sequences go through the network in mini-batches, padded, truncated or split by the same rule as
in training (`ll.sequence_batches`), and run by the same loop (`lstmlab.runner.run_batches`): when
split into chunks, the state is carried from chunk to chunk. The outputs of each sequence are put
back together and cut to its real steps.
"""

import functools

import numpy as np
import pandas as pd
import torch

from ._checks import check_bool
from .batching import check_batching_options, iterate_batches
from .data import is_one_sequence
from .interventions import bind
from .layers import RecurrentLayer
from .network import Network, evaluating, prepare
from .runner import held_states, keep_states, run_batches


def predict(
    net,
    X,
    *,
    mini_batch_size=128,
    sequence_length="longest",
    sequence_padding_direction="right",
    sequence_padding_value=0,
    freeze_padding=False,
    interventions=None,
):
    """Run X through the network and return its outputs as NumPy arrays.

    A network that outputs one vector per sequence returns (N, K); one that outputs sequences
    returns a list of (T_n, K) arrays, one per sequence, cut to its real steps (an (N, T, K)
    array when X was an array of equal lengths). X may also be one sequence, a (T, C) array (see
    `lstmlab.data.is_one_sequence`): the answer is then that sequence's alone, (K,) or (T, K).

    The sequence options are those of `ll.sequence_batches` (MATLAB's defaults: right padding to
    the longest sequence of each mini-batch). With freeze_padding=True the recurrent layers carry
    their state unchanged over padded steps, so that a sequence's outputs do not depend on its
    mini-batch (MATLAB has no such option).

    interventions: a list of `ll.Intervention` that change what the recurrent layers compute
    (gates, states, patches from another input; see `lstmlab.interventions`). None or [] gives
    the clean outputs.
    """
    return _outputs(
        net,
        X,
        "predict",
        mini_batch_size=mini_batch_size,
        sequence_length=sequence_length,
        sequence_padding_direction=sequence_padding_direction,
        sequence_padding_value=sequence_padding_value,
        freeze_padding=freeze_padding,
        interventions=interventions,
    )


minibatchpredict = predict  # MATLAB's name for prediction in mini-batches


def activations(net, X, layer_name, **options):
    """The outputs of the layer named `layer_name`, as `predict` returns a network's outputs (one
    sequence's alone for one (T, C) sequence)."""
    if not isinstance(net, Network):
        raise TypeError(f"activations: net must be an ll.Network; got {type(net).__name__}.")
    names = [layer.name for layer in net.layers]
    if layer_name not in names:
        raise ValueError(f"activations: the network has no layer {layer_name!r}; choose from {', '.join(names)}.")
    return _outputs(net, X, "activations", stop=names.index(layer_name) + 1, **options)


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
    return _outputs(net, X, "predict_and_update_state", update_state=True, **options)


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


def _outputs(
    net,
    X,
    where,
    *,
    mini_batch_size=128,
    sequence_length="longest",
    sequence_padding_direction="right",
    sequence_padding_value=0,
    freeze_padding=False,
    interventions=None,
    stop=None,
    update_state=False,
):
    sequences = prepare(net, X, where)
    check_bool(freeze_padding, "freeze_padding", where)
    options = check_batching_options(mini_batch_size, sequence_length, sequence_padding_direction, "never", False, where)
    N = len(sequences)
    recurrent = [layer for layer in net.layers[:stop] if isinstance(layer, RecurrentLayer)]
    start = held_states(recurrent, N, where)
    batches = functools.partial(iterate_batches, targets=None, per_step=False, seed=None, epoch=0, padding_value=sequence_padding_value, **options)
    plan = bind(net, interventions, sequences, where, batches=batches, start_states=start, freeze_padding=freeze_padding, stop=stop)
    pieces, last, final_states = [[] for _ in range(N)], [None] * N, {}
    with evaluating(net):
        observe = None if plan is None else plan.observe
        for step in run_batches(net, batches(sequences), start_states=start, stop=stop, freeze_padding=freeze_padding, observe=observe):
            y = step.output.cpu().numpy()  # (B, T_out, ...) or (B, K)
            real = None if step.output_mask is None else step.output_mask.cpu().numpy()  # (B, T_out)
            for b, n in enumerate(step.batch.indices):
                if real is not None:
                    pieces[n].append(y[b][real[b]])  # the real steps of this chunk
                else:
                    last[n] = y[b]  # the last chunk's output
            for name, final in step.finals.items():
                final_states.setdefault(name, {})[tuple(step.batch.indices)] = final
    if update_state:
        keep_states(recurrent, final_states, N)
    if last[0] is not None:
        outputs = np.stack(last)  # (N, K)
    else:
        outputs = [np.concatenate(p) for p in pieces]  # each (T_n, K)
        if isinstance(X, (np.ndarray, torch.Tensor)) and len({len(o) for o in outputs}) == 1:
            outputs = np.stack(outputs)  # (N, T, K)
    return outputs[0] if is_one_sequence(X) else outputs  # one sequence: (K,) or (T, K)
