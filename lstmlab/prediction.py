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
from .preparation import prepare, token_layer
from .runner import evaluating, held_states, keep_states, run_batches


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
    """Run X through the network and return its outputs as NumPy arrays (MATLAB's predict and
    minibatchpredict; `ll.minibatchpredict` is this function).

    The padding options not given (None) are those the network was trained with
    (`net.sequence_options`, set by `ll.trainnet`), so that a network trained with left or frozen
    padding also predicts with it; an untrained network uses MATLAB's defaults, right padding
    (with zeros) to the longest sequence of each mini-batch. A given option wins.

    The network's held states are where each sequence starts: the initial states, or those that
    `predict_and_update_state` left (as a dlnetwork's predict does; `print(net)` says when it
    holds such states, `ll.reset_state(net)` returns to the initial ones). predict does not
    change them. The network runs in evaluation mode (dropout off) and without gradients.

    Args:
        net: an `ll.Network`.
        X: a list of (T_n, C) sequences, an (N, T, C) array, or one sequence, a (T, C) array (see
            `lstmlab.data.is_one_sequence`). A network whose first layer is a word embedding
            reads token ids: a list of (T_n,) int arrays.
        mini_batch_size: sequences per forward pass (128); changes no output unless sequences of
            different lengths share a mini-batch without freeze_padding (their padding runs
            through the state).
        sequence_length: "longest" (each mini-batch padded to its longest sequence; the default
            whatever the training used: chunks change no output, but the state of a sequence
            shorter than a chunk would run through the padding of its last chunk) | "shortest"
            (truncated to its shortest, the cut steps get no output) | an int L (padded to a
            multiple of L and run in chunks of L steps, the state carried from chunk to chunk),
            as in `ll.sequence_batches`.
        sequence_padding_direction: "right" | "left" (None: the network's, "right" untrained).
        sequence_padding_value: the value of padded input steps (None: the network's, 0
            untrained).
        freeze_padding: True: the recurrent layers carry their state unchanged over padded
            steps, so that a sequence's outputs do not depend on its mini-batch (MATLAB has no
            such option). None: the network's (False untrained).
        interventions: a list of `ll.Intervention` that change what the recurrent layers compute
            (gates, states, patches from another input; see `lstmlab.interventions`). None or []
            gives the clean outputs.

    Returns:
        For a network that outputs one vector per sequence, an (N, K) array; for one that outputs
        sequences, a list of (T_n, K) arrays, one per sequence, cut to its real steps (an
        (N, T, K) array when X was an array, so all equally long). For one (T, C) sequence X,
        that sequence's answer alone: (K,) or (T, K). K is the output size (the class scores
        after a softmax layer); the dtype is the network's (float32).

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4), ll.fully_connected_layer(2)])
    >>> X = [np.ones((5, 3)), np.ones((2, 3))]
    >>> [y.shape for y in ll.predict(net, X)]
    [(5, 2), (2, 2)]
    >>> ll.predict(net, np.ones((4, 5, 3))).shape, ll.predict(net, X[0]).shape
    ((4, 5, 2), (5, 2))
    """
    return _outputs("predict", locals())


minibatchpredict = predict  # MATLAB's name for prediction in mini-batches
OPTIONS = {name: p.default for name, p in inspect.signature(predict).parameters.items() if p.kind == p.KEYWORD_ONLY}
"""The options of every prediction and their defaults, as `predict`'s signature gives them."""


def activations(net, X, layer_name, **options):
    """The outputs of the layer named `layer_name` (MATLAB's activations, or minibatchpredict
    with Outputs=layer_name).

    The network runs up to and including that layer; frames still folded there are unfolded.

    Args:
        net: an `ll.Network`.
        X: sequences as `predict` takes them.
        layer_name: the name of a layer of `net` (`[layer.name for layer in net.layers]`); a
            ValueError lists them for another.
        **options: the options of `predict` (mini_batch_size, sequence_length, the padding
            options, freeze_padding, interventions).

    Returns:
        The layer's outputs, as `predict` returns a network's: (N, H) for one vector per
        sequence, else a list of (T_n, H) arrays (an (N, T, H) array for an array X), or one
        sequence's alone for one (T, C) sequence. For the hidden states of a recurrent layer
        that is h_t; `ll.trace` records its gates and cell state too.

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(4), ll.fully_connected_layer(2)])
    >>> ll.activations(net, np.ones((2, 5, 3)), "lstm").shape
    (2, 5, 4)
    """
    if not isinstance(net, Network):
        raise TypeError(f"activations: net must be an ll.Network; got {type(net).__name__}.")
    names = [layer.name for layer in net.layers]
    if layer_name not in names:
        raise ValueError(f"activations: the network has no layer {layer_name!r}; choose from {', '.join(names)}.")
    return _outputs("activations", {"net": net, "X": X, **options}, until=names.index(layer_name) + 1)


def scores2label(scores, class_names):
    """The label of the highest score (MATLAB's scores2label); a tie goes to the first class.

    Args:
        scores: (N, K) scores, a list of (T_n, K) scores, or one (K,) row, as `predict` returns
            them for a classification network.
        class_names: the K class names in the order of the score columns (`net.class_names`).

    Returns:
        An (N,) array of labels for (N, K) scores, a list of (T_n,) arrays for a list, one label
        for (K,) scores; the labels are elements of class_names (as a NumPy array holds them).

    >>> scores2label(np.array([[0.1, 0.9], [0.8, 0.2]]), ["no", "yes"]).tolist()
    ['yes', 'no']
    """
    names = np.asarray(class_names)
    if isinstance(scores, list):
        return [scores2label(s, class_names) for s in scores]
    scores = np.asarray(scores)
    if scores.shape[-1] != len(names):
        raise ValueError(f"scores2label: the scores have {scores.shape[-1]} columns but there are {len(names)} class names.")
    return names[scores.argmax(-1)]


def classify(net, X, **options):
    """Labels of X, in the type the network was trained with (MATLAB's classify): `predict`'s
    scores turned into labels by `scores2label`.

    Args:
        net: an `ll.Network` trained for classification (with class names, from `ll.trainnet`
            and loss "crossentropy"; a ValueError says so for another).
        X: sequences as `predict` takes them.
        **options: the options of `predict`.

    Returns:
        (N,) labels for a network that labels each sequence, a list of (T_n,) labels for one
        that labels every step; each a pandas Categorical (categories `net.class_names`) when
        trained on a Categorical, else an array of strings or ints. For one sequence X (a (T, C)
        array) the answer is one label, as MATLAB's classify gives: the class itself (a string
        or an int, the category of a Categorical); (T,) labels for a network that labels every
        step.
    """
    return _as_labels(net, predict(net, X, **options), "classify")


def predict_and_update_state(net, X, **options):
    """`predict`, starting from the network's current states and keeping the final ones
    (MATLAB's predictAndUpdateState).

    Feeding sequences in pieces gives exactly what they give whole when the pieces of a call are
    equally long, or with freeze_padding=True; otherwise, as in MATLAB, a shorter piece's state
    also runs through the padding of its mini-batch. The states hold one row per sequence of X:
    later calls need the same number of sequences, until `ll.reset_state(net)`.

    Args:
        net: an `ll.Network`; its recurrent layers' held states change.
        X: sequences as `predict` takes them.
        **options: the options of `predict`.

    Returns:
        The outputs, as `predict` returns them.

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(3)])
    >>> x = np.random.default_rng(0).normal(size=(1, 6, 1))
    >>> first = ll.predict_and_update_state(net, x[:, :4])
    >>> rest = ll.predict_and_update_state(net, x[:, 4:])
    >>> bool(np.allclose(np.concatenate([first, rest], 1), ll.predict(ll.reset_state(net), x)))
    True
    """
    return _outputs("predict_and_update_state", {"net": net, "X": X, **options}, update_state=True)


def classify_and_update_state(net, X, **options):
    """`classify`, starting from the network's current states and keeping the final ones
    (MATLAB's classifyAndUpdateState).

    Args:
        net: an `ll.Network` trained for classification; its recurrent layers' held states
            change, as with `predict_and_update_state`.
        X: sequences as `predict` takes them.
        **options: the options of `predict`.

    Returns:
        The labels, as `classify` returns them.
    """
    return _as_labels(net, predict_and_update_state(net, X, **options), "classify_and_update_state")


def reset_state(net):
    """Return every recurrent layer of the network to its initial state (MATLAB's resetState),
    undoing what `predict_and_update_state` kept.

    Args:
        net: an `ll.Network`; changed in place.

    Returns:
        The same network, `net` (so that `ll.predict(ll.reset_state(net), X)` reads as MATLAB's
        `net = resetState(net)`).
    """
    net.reset_state()
    return net


class Stepper:
    """One sequence through a network a few steps at a time, the states carried from call to call:
    what `predict_and_update_state` computes for one sequence, without its mini-batch machinery, so
    that a step costs little more than the network's own work (closed-loop forecasting, `ll.generate`).

    Each call checks its steps as `predict` does (channels, NaN or Inf, token ids; steps shaped
    and typed as steps already checked need only the last two) and runs them through the network
    (`Network.run`: each layer through `nn.Module.__call__`, so forward hooks fire), in evaluation
    mode, without gradients; no padding, no mini-batches, the states kept on the network's device.
    It starts from the network's held states and leaves them as they are.

    Args:
        net: an `ll.Network`; its layers' weights are read at each call, its held states once.

    Attributes:
        states: {recurrent layer name: its states, (h,) or (h, c), each a (1, D*H) tensor}: where
            the next call starts. After calls on x_1, ..., x_n they are what
            `predict_and_update_state(net, x)` called on each piece in turn leaves in `net.state`.

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(3), ll.fully_connected_layer(1)])
    >>> step = ll.Stepper(net)
    >>> y = step(np.zeros((5, 1)))[-1]  # (1,): read 5 steps, then feed each forecast back
    >>> forecast = [y := step(y[None])[-1] for _ in range(3)]
    >>> np.array(forecast).shape
    (3, 1)
    """

    def __init__(self, net):
        if not isinstance(net, Network):
            raise TypeError(f"Stepper: net must be an ll.Network; got {type(net).__name__}.")
        self.net, self._embedding, self._checked = net, token_layer(net), None  # _checked: (shape, dtype) of X that passed prepare
        self._first, self._net_modules = net.layers[0], list(net.modules())  # a network's layers are fixed
        self.states = held_states([layer for layer in net.layers if isinstance(layer, RecurrentLayer)], 1, "Stepper")

    def __call__(self, X):
        """Run the next steps of the sequence, from `states`, and keep the final states there.

        Args:
            X: a (T, C) array, one sequence's next T steps (a (T,) int array of token ids for a
                network that reads them), as `predict` takes one sequence.

        Returns:
            Their outputs as `predict` returns one sequence's: (T, K), or (K,) for a network that
            outputs one vector per sequence.
        """
        if isinstance(X, np.ndarray) and (X.shape, X.dtype) == self._checked and self._fits(X):
            x = X if X.ndim > 1 else X[:, None]  # (T, C), as prepare makes it
        else:
            sequences = prepare(self.net, X, "Stepper")
            if not is_one_sequence(X):
                raise ValueError(
                    f"Stepper: X must be one sequence, a (T, C) array; got a data set of {len(sequences)}. Step each "
                    f"sequence with its own Stepper."
                )
            x = sequences[0]  # (T, C) checked
            self._checked = (X.shape, X.dtype) if isinstance(X, np.ndarray) and X.dtype.kind in "iuf" else None
        with evaluating(self.net, self._net_modules):
            like = self._first.like  # the network's device and dtype
            y, self.states, _ = self.net.run(torch.as_tensor(x[None], dtype=like.dtype, device=like.device), states=self.states)  # (1, T, K) or (1, K)
        return y[0].cpu().numpy()

    def _fits(self, X):
        """Whether X, shaped and typed as steps that passed `prepare`, passes it too: finite values, or
        integer token ids that are words (float ids go through `prepare`)."""
        if self._embedding is None:
            return X.dtype.kind != "f" or np.isfinite(X).all()
        return X.dtype.kind in "iu" and self._embedding.first_id <= X.min() and X.max() <= self._embedding.last_id


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
