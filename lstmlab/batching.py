"""Mini-batches of variable-length sequences: padding, truncation, splitting, shuffling, sorting.

The rule, as in MATLAB's training and prediction, applies to each mini-batch on its own:

    sequence_length="longest"    pad every sequence to the longest one in the mini-batch
    sequence_length="shortest"   truncate every sequence to the shortest one (data are discarded)
    sequence_length=L (an int)   pad to the nearest multiple of L that holds the longest sequence,
                                 then split into chunks of L steps, yielded in order with
                                 chunk = 0, 1, ...; a recurrent network carries its state from
                                 one chunk to the next and starts afresh at chunk 0

sequence_padding_direction="right" pads (or truncates) at the end; "left" at the start. With
truncation, "right" keeps the first steps and "left" the last ones.

Sorting the sequences by length before forming mini-batches puts sequences of similar length
together, so that less padding is needed; `batch_summary` reports how much padding and
truncation a choice of options costs.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._checks import check_bool, check_choice, check_positive_int, check_sequence_length
from .data import as_sequences, pad
from .targets import split_targets


@dataclass(frozen=True)
class Batch:
    """One mini-batch, as the network sees it.

    Attributes:
        x: (B, T, C) inputs, padded, truncated or split as the options say.
        y: the targets of these sequences: labels (B,), responses (B, R), per-step targets
            (B, T[, R]) padded like x, or None.
        mask: (B, T), True on real time steps.
        lengths: (B,) real time steps of each sequence in this batch (in this chunk), from the mask.
        indices: (B,) positions of the sequences in X.
        chunk: 0, 1, ... for a sequence split into chunks; always 0 otherwise.
    """

    x: np.ndarray
    y: object
    mask: np.ndarray
    indices: np.ndarray
    chunk: int

    @property
    def lengths(self):
        return self.mask.sum(1)


def sequence_batches(
    X,
    Y=None,
    *,
    mini_batch_size=128,
    sequence_length="longest",
    sequence_padding_direction="right",
    sequence_padding_value=0,
    shuffle="never",
    sort_by_length=False,
    seed=None,
    epoch=0,
):
    """Yield the mini-batches of one epoch as `Batch` items (see the module docstring for the rule).

    Args:
        X: list of (T, C) sequences, or an (N, T, C) array.
        Y: None; one target per sequence (labels, or an (N, R) array of responses); or one per
            time step (a list of (T_n,) or (T_n, R) arrays, each as long as its sequence).
        mini_batch_size: sequences per mini-batch (the last one may have fewer).
        sequence_length: "longest" | "shortest" | a positive int.
        sequence_padding_direction: "right" | "left".
        sequence_padding_value: the value of padded input steps.
        shuffle: "never" | "once" (the same order every epoch) | "every-epoch".
        sort_by_length: sort by length (shortest first) before forming mini-batches; when
            shuffling, the order of the mini-batches is shuffled instead of the sequences.
        seed: seed of the shuffle; with shuffle="once", None means seed 0, so that every epoch
            sees the same order.
        epoch: the epoch number, which makes "every-epoch" differ from epoch to epoch.

    Yields:
        `Batch` items (x (B, T, C), y, mask (B, T), indices (B,), chunk), mini-batch after
        mini-batch; with sequence_length=L each mini-batch's chunks come in order, chunk 0, 1,
        ...

    >>> X = [np.ones((n, 1)) for n in (3, 5, 2)]
    >>> [b.x.shape for b in sequence_batches(X, mini_batch_size=2, sequence_length=2)]
    [(2, 2, 1), (2, 2, 1), (2, 2, 1), (1, 2, 1)]
    """
    where = "sequence_batches"
    sequences = as_sequences(X, where=where)
    targets, per_step = (None, False) if Y is None else split_targets(Y, sequences, where)
    options = check_batching_options(mini_batch_size, sequence_length, sequence_padding_direction, shuffle, sort_by_length, where)
    yield from iterate_batches(sequences, targets, per_step, seed=seed, epoch=epoch, padding_value=sequence_padding_value, **options)


def iterate_batches(sequences, targets, per_step, *, mini_batch_size, sequence_length, direction, shuffle, sort, seed, epoch, padding_value):
    for indices in _order(sequences, mini_batch_size, shuffle, sort, seed, epoch):
        batch = [sequences[n] for n in indices]
        longest = max(len(x) for x in batch)
        if sequence_length == "longest":
            T, step = longest, longest
        elif sequence_length == "shortest":
            T = step = min(len(x) for x in batch)
        else:
            T, step = math.ceil(longest / sequence_length) * sequence_length, sequence_length
        x, mask = pad(batch, T, direction, padding_value)
        y = targets
        if per_step:
            y = pad([targets[n] for n in indices], T, direction, _fill_value(targets[indices[0]]))[0]
        elif targets is not None:
            y = targets[indices]
        for chunk, start in enumerate(range(0, T, step)):
            span = slice(start, start + step)
            yield Batch(x[:, span], y[:, span] if per_step else y, mask[:, span], indices, chunk)


def count_batches(sequences, mini_batch_size, sequence_length, shuffle, seed, epoch):
    """How many batches (chunks counted) one epoch yields, without padding anything."""
    groups = _order(sequences, mini_batch_size, shuffle, False, seed, epoch)
    if not isinstance(sequence_length, (int, np.integer)):
        return len(groups)
    return sum(math.ceil(max(len(sequences[n]) for n in group) / sequence_length) for group in groups)


def _order(sequences, mini_batch_size, shuffle, sort, seed, epoch):
    """The index arrays of the mini-batches of one epoch."""
    N = len(sequences)
    rng = None
    if shuffle == "once":
        rng = np.random.default_rng(0 if seed is None else seed)
    elif shuffle == "every-epoch":
        rng = np.random.default_rng(None if seed is None else [seed, epoch])
    if sort:
        order = _by_length(sequences)
    else:
        order = np.arange(N) if rng is None else rng.permutation(N)
    groups = [order[k : k + mini_batch_size] for k in range(0, N, mini_batch_size)]
    if sort and rng is not None:
        groups = [groups[k] for k in rng.permutation(len(groups))]
    return groups


def _by_length(sequences):
    """Indices that order sequences by length, shortest first; ties keep their order."""
    return np.argsort([len(x) for x in sequences], kind="stable")


def _fill_value(y):
    return "" if y.dtype.kind in "OUS" else 0


def check_batching_options(mini_batch_size, sequence_length, direction, shuffle, sort, where):
    return {
        "mini_batch_size": check_positive_int(mini_batch_size, "mini_batch_size", where),
        "sequence_length": check_sequence_length(sequence_length, "sequence_length", where),
        "direction": check_choice(direction, "sequence_padding_direction", ("right", "left"), where),
        "shuffle": check_choice(shuffle, "shuffle", ("never", "once", "every-epoch"), where),
        "sort": check_bool(sort, "sort_by_length", where),
    }


def sort_by_length(X, Y=None):
    """Sort sequences by length, shortest first (ties keep their order).

    MATLAB's examples sort by hand (`[~, idx] = sort(sequenceLengths)`); training sorts by itself
    with `sequence_batches(..., sort_by_length=True)`.

    Args:
        X: a list of (T_n, C) sequences, or an (N, T, C) array.
        Y: None, or the targets as `sequence_batches` takes them: one per sequence, or one per
            time step (a list of (T_n,) or (T_n, R) arrays).

    Returns:
        (X_sorted, order) without Y, (X_sorted, Y_sorted, order) with it. X_sorted is a list of
        the sequences; order is an (N,) int array of positions in X, so that X_sorted[k] is
        X[order[k]]. Y_sorted is an array (one target per sequence) or a list (one per step).

    >>> X = [np.zeros((n, 1)) for n in (3, 1, 2)]
    >>> X_sorted, y_sorted, order = sort_by_length(X, np.array(["a", "b", "c"]))
    >>> [len(x) for x in X_sorted], y_sorted.tolist(), order.tolist()
    ([1, 2, 3], ['b', 'c', 'a'], [1, 2, 0])
    """
    sequences = as_sequences(X, where="sort_by_length")
    order = _by_length(sequences)
    X_sorted = [sequences[n] for n in order]
    if Y is None:
        return X_sorted, order
    targets, per_step = split_targets(Y, sequences, "sort_by_length")
    return X_sorted, ([targets[n] for n in order] if per_step else targets[order]), order


def batch_summary(X, **options):
    """How many steps each mini-batch pads and discards, as a DataFrame (one row per batch and chunk).

    Args:
        X: a list of (T_n, C) sequences, or an (N, T, C) array.
        **options: the options of `sequence_batches` (mini_batch_size, sequence_length,
            sequence_padding_direction, sequence_padding_value, shuffle, sort_by_length, seed,
            epoch), shuffle included, so pass the same seed to see the same mini-batches.

    Returns:
        A pandas DataFrame, one row per mini-batch and chunk, with the columns batch (counted
        from 0), chunk, sequences (B), time_steps (T of the padded batch), real_steps,
        padded_steps and discarded_steps (cut by "shortest"; 0 otherwise).
        `summary[["padded_steps", "discarded_steps"]].sum()` gives the totals.

    >>> X = [np.zeros((n, 1)) for n in (3, 5, 2)]
    >>> batch_summary(X, mini_batch_size=2).to_dict("list")["padded_steps"]
    [2, 0]
    >>> int(batch_summary(X, mini_batch_size=2, sequence_length="shortest").discarded_steps.sum())
    2
    """
    sequences = as_sequences(X, where="batch_summary")
    rows, batch = [], -1
    for b in sequence_batches(sequences, **options):
        batch += b.chunk == 0
        total = sum(len(sequences[n]) for n in b.indices)
        rows.append(
            {
                "batch": batch,
                "chunk": b.chunk,
                "sequences": len(b.indices),
                "time_steps": b.x.shape[1],
                "real_steps": int(b.lengths.sum()),
                "padded_steps": int((~b.mask).sum()),
                "discarded_steps": total - int(b.mask.sum()) if options.get("sequence_length") == "shortest" else 0,
            }
        )
    return pd.DataFrame(rows)
