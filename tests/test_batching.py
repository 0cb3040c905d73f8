import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lstmlab as ll


def tagged(lengths):
    """Sequence n holds 100 n + t at step t, so every value says where it came from."""
    return [100.0 * n + np.arange(T, dtype=float)[:, None] for n, T in enumerate(lengths)]


def values(batch):
    return batch.x[..., 0]


def test_longest_pads_each_mini_batch_to_its_own_longest():
    X = tagged([2, 4, 3, 1])
    b1, b2 = ll.sequence_batches(X, mini_batch_size=2, sequence_padding_value=-1)
    np.testing.assert_array_equal(values(b1), [[0, 1, -1, -1], [100, 101, 102, 103]])
    np.testing.assert_array_equal(values(b2), [[200, 201, 202], [300, -1, -1]])
    np.testing.assert_array_equal(b2.lengths, [3, 1])
    np.testing.assert_array_equal(b2.indices, [2, 3])
    assert b1.chunk == b2.chunk == 0


def test_left_padding():
    (b,) = ll.sequence_batches(tagged([2, 4]), sequence_padding_direction="left")
    np.testing.assert_array_equal(values(b), [[0, 0, 0, 1], [100, 101, 102, 103]])
    np.testing.assert_array_equal(b.mask, [[0, 0, 1, 1], [1, 1, 1, 1]])


@pytest.mark.parametrize("direction, expected", [("right", [[0, 1], [100, 101]]), ("left", [[0, 1], [102, 103]])])
def test_shortest_truncates_and_reports_what_it_discarded(direction, expected):
    X = tagged([2, 4])
    (b,) = ll.sequence_batches(X, sequence_length="shortest", sequence_padding_direction=direction)
    np.testing.assert_array_equal(values(b), expected)
    summary = ll.batch_summary(X, sequence_length="shortest")
    assert summary.discarded_steps.sum() == 2 and summary.padded_steps.sum() == 0


def test_integer_length_splits_into_chunks_of_that_length():
    X = tagged([5, 2, 3])
    batches = list(ll.sequence_batches(X, mini_batch_size=2, sequence_length=2, sequence_padding_value=-1))
    assert [b.chunk for b in batches] == [0, 1, 2, 0, 1]
    np.testing.assert_array_equal(values(batches[2]), [[4, -1], [-1, -1]])
    np.testing.assert_array_equal(batches[2].lengths, [1, 0])
    np.testing.assert_array_equal(values(batches[4]), [[202, -1]])
    left = list(ll.sequence_batches(X[:1], sequence_length=2, sequence_padding_direction="left", sequence_padding_value=-1))
    np.testing.assert_array_equal(np.concatenate([values(b) for b in left], axis=1), [[-1, 0, 1, 2, 3, 4]])


def test_targets_travel_with_their_sequences():
    X = tagged([3, 1, 2])
    labels = pd.Categorical(["b", "a", "c"])
    b1, b2 = ll.sequence_batches(X, labels, mini_batch_size=2, shuffle="once", seed=3)
    for b in (b1, b2):
        assert list(b.y) == [labels[n] for n in b.indices]
        np.testing.assert_array_equal(b.x[:, 0, 0], 100 * b.indices)
    per_step = [np.arange(len(x)) + 10 * n for n, x in enumerate(X)]
    chunks = list(ll.sequence_batches(X, per_step, sequence_length=2))
    np.testing.assert_array_equal(chunks[1].y, [[2, 0], [0, 0], [0, 0]])
    words = [np.array(["x"] * len(x)) for x in X]
    (b,) = ll.sequence_batches(X, words)
    assert b.y.tolist()[1] == ["x", "", ""]


def test_shuffle_once_every_epoch_and_never():
    X = tagged(range(1, 21))
    order = lambda **o: np.concatenate([b.indices for b in ll.sequence_batches(X, mini_batch_size=4, **o)])  # noqa: E731
    np.testing.assert_array_equal(order(shuffle="never"), np.arange(20))
    once = order(shuffle="once", epoch=0)
    np.testing.assert_array_equal(order(shuffle="once", epoch=5), once)
    assert sorted(once) == list(range(20)) and not np.array_equal(once, np.arange(20))
    e0, e1 = order(shuffle="every-epoch", seed=1, epoch=0), order(shuffle="every-epoch", seed=1, epoch=1)
    assert not np.array_equal(e0, e1)
    np.testing.assert_array_equal(e0, order(shuffle="every-epoch", seed=1, epoch=0))


def test_sorting_by_length_reduces_padding():
    rng = np.random.default_rng(0)
    X = tagged(rng.integers(1, 60, size=64))
    plain = ll.batch_summary(X, mini_batch_size=8)
    sorted_ = ll.batch_summary(X, mini_batch_size=8, sort_by_length=True)
    assert sorted_.padded_steps.sum() < plain.padded_steps.sum() / 4
    assert sorted_.real_steps.sum() == plain.real_steps.sum() == sum(len(x) for x in X)
    shuffled = [b.indices for b in ll.sequence_batches(X, mini_batch_size=8, sort_by_length=True, shuffle="every-epoch", seed=0)]
    for idx in shuffled:  # batches still hold neighbours in length order
        lengths = [len(X[n]) for n in idx]
        assert lengths == sorted(lengths)


def test_sort_by_length():
    X = tagged([3, 1, 2])
    X_sorted, y_sorted, order = ll.sort_by_length(X, ["c", "a", "b"])
    assert [len(x) for x in X_sorted] == [1, 2, 3]
    assert list(y_sorted) == ["a", "b", "c"] and list(order) == [1, 2, 0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sequence_length": 0}, r"sequence_length must be 'longest', 'shortest' or a positive integer; got 0"),
        ({"sequence_length": -3}, r"got -3"),
        ({"sequence_length": "all"}, r"got 'all'"),
        ({"mini_batch_size": 0}, r"mini_batch_size must be a positive integer; got 0"),
        ({"shuffle": "always"}, r"shuffle must be one of 'never', 'once', 'every-epoch'; got 'always'"),
        ({"sequence_padding_direction": "both"}, r"sequence_padding_direction must be one of 'right', 'left'"),
        ({"Y": [1, 2]}, r"Y has 2 targets but X has 3 sequences; give one target per sequence"),
        ({"Y": [np.zeros(3), np.zeros(1), np.zeros(5)]}, r"Y\[2\] has 5 time steps but X\[2\] has 2"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        list(ll.sequence_batches(tagged([3, 1, 2]), **kwargs))


# --- properties -----------------------------------------------------------------------------------

lengths = st.lists(st.integers(1, 12), min_size=1, max_size=8)
directions = st.sampled_from(["right", "left"])


@settings(max_examples=60, deadline=None)
@given(lengths, directions)
def test_padding_then_unpadding_gives_the_input_back(ls, direction):
    X = tagged(ls)
    padded, mask = ll.pad_sequences(X, direction=direction)
    for n, x in enumerate(X):
        np.testing.assert_array_equal(padded[n][mask[n]], x)


@settings(max_examples=60, deadline=None)
@given(lengths, st.integers(1, 5), directions, st.integers(1, 8))
def test_chunks_concatenate_to_the_padded_batch(ls, L, direction, batch_size):
    X = tagged(ls)
    batches = list(ll.sequence_batches(X, mini_batch_size=batch_size, sequence_length=L, sequence_padding_direction=direction))
    starts = [k for k, b in enumerate(batches) if b.chunk == 0] + [len(batches)]
    for a, z in zip(starts, starts[1:]):
        joined = np.concatenate([b.x for b in batches[a:z]], axis=1)
        indices = batches[a].indices
        longest = max(ls[n] for n in indices)
        assert joined.shape[1] == -(-longest // L) * L and all(b.x.shape[1] == L for b in batches[a:z])
        expected, _ = ll.pad_sequences([X[n] for n in indices], length=joined.shape[1], direction=direction)
        np.testing.assert_array_equal(joined, expected)


@settings(max_examples=60, deadline=None)
@given(lengths, st.sampled_from(["longest", "shortest", 3]), directions)
def test_masks_sum_to_the_lengths(ls, rule, direction):
    total = {}
    for b in ll.sequence_batches(tagged(ls), mini_batch_size=3, sequence_length=rule, sequence_padding_direction=direction):
        np.testing.assert_array_equal(b.mask.sum(1), b.lengths)
        for n, length in zip(b.indices, b.lengths):
            total[n] = total.get(n, 0) + length
    for n, T in enumerate(ls):
        kept = T if rule != "shortest" else min(ls[k] for k in range(3 * (n // 3), min(3 * (n // 3) + 3, len(ls))))
        assert total[n] == kept


@settings(max_examples=60, deadline=None)
@given(lengths, st.sampled_from(["longest", "shortest", 4]))
def test_left_and_right_are_mirror_images(ls, rule):
    X = tagged(ls)
    mirrored = [x[::-1] for x in X]
    right = np.concatenate([b.x for b in ll.sequence_batches(X, sequence_length=rule)], axis=1)
    left = np.concatenate([b.x for b in ll.sequence_batches(mirrored, sequence_length=rule, sequence_padding_direction="left")], axis=1)
    np.testing.assert_array_equal(right, left[:, ::-1])


def test_bad_data_names_the_sequence():
    with pytest.raises(ValueError, match=r"X\[1\] has NaN or Inf at time step 0"):
        list(ll.sequence_batches([np.zeros((2, 1)), np.full((1, 1), np.nan)]))
