import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.data import as_sequences, is_one_sequence


def steps(T, start=0):
    """A one-channel sequence whose values say which step they came from."""
    return np.arange(start, start + T, dtype=float)[:, None]


def test_pad_longest_right_and_left():
    X = [steps(2, 1), steps(4, 10)]
    padded, mask = ll.pad_sequences(X, padding_value=-1)
    np.testing.assert_array_equal(padded[..., 0], [[1, 2, -1, -1], [10, 11, 12, 13]])
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0], [1, 1, 1, 1]])
    padded, mask = ll.pad_sequences(X, direction="left")
    np.testing.assert_array_equal(padded[..., 0], [[0, 0, 1, 2], [10, 11, 12, 13]])
    np.testing.assert_array_equal(mask, [[0, 0, 1, 1], [1, 1, 1, 1]])


def test_shortest_truncates_keeping_first_or_last_steps():
    X = [steps(2, 1), steps(4, 10)]
    right, _ = ll.pad_sequences(X, length="shortest")
    left, _ = ll.pad_sequences(X, length="shortest", direction="left")
    np.testing.assert_array_equal(right[..., 0], [[1, 2], [10, 11]])
    np.testing.assert_array_equal(left[..., 0], [[1, 2], [12, 13]])


def test_integer_length_pads_or_truncates_exactly():
    padded, mask = ll.pad_sequences([steps(2, 1), steps(4, 10)], length=3)
    np.testing.assert_array_equal(padded[..., 0], [[1, 2, 0], [10, 11, 12]])
    assert mask.sum() == 5


def test_as_sequences_accepts_lists_arrays_and_tensors():
    assert len(as_sequences(np.zeros((3, 4, 2)))) == 3
    assert as_sequences([torch.zeros(4, 2)])[0].shape == (4, 2)
    assert as_sequences([np.zeros((4, 2), dtype=int)])[0].dtype == np.float64
    assert as_sequences([np.zeros((4, 2), dtype=np.float32)])[0].dtype == np.float32


@pytest.mark.parametrize(
    "X, error, message",
    [
        ([], ValueError, r"X is empty; give at least one sequence"),
        (np.zeros(4), ValueError, r"X must be one \(T, C\) sequence, an \(N, T, C\) array, a list of sequences.*; got shape \(4,\). For one sequence of one channel use X.reshape\(-1, 1\)"),
        (np.zeros((2, 3, 4, 5, 6, 7)), ValueError, r"or for image sequences \(T, H, W, C\) or \(N, T, H, W, C\); got shape \(2, 3, 4, 5, 6, 7\)\.$"),
        (np.array([[0.0], [np.nan]]), ValueError, r"X has NaN or Inf at time step 1"),
        ("abc", TypeError, r"X must be a list of \(T, C\) arrays, an \(N, T, C\) array or one \(T, C\) array; got str"),
        ([np.zeros((3, 2)), np.zeros((3, 5))], ValueError, r"X\[1\] has 5 channels but X\[0\] has 2"),
        ([np.zeros((3, 2)), np.zeros((0, 2))], ValueError, r"X\[1\] is empty \(0 time steps\)"),
        ([np.array([[0.0], [np.nan]])], ValueError, r"X\[0\] has NaN or Inf at time step 1"),
        ([np.array([[0.0], [np.inf]])], ValueError, r"X\[0\] has NaN or Inf at time step 1"),
        ([np.array([["a"], ["b"]])], TypeError, r"X\[0\] is not numeric \(dtype <U1\)"),
        ([np.zeros(5)], ValueError, r"X\[0\] must be a \(T, C\) array \(or \(T, H, W, C\) for image sequences, or \(T,\) integer token ids\); got shape \(5,\). For one channel use x.reshape\(-1, 1\)"),
        ([np.arange(4)], None, None),
        ([np.zeros((3, 1), dtype=complex)], ValueError, r"X\[0\] is complex; give real values, or use sequence_input_layer\(..., split_complex_inputs=True\)"),
    ],
)
def test_bad_data_errors_name_the_sequence(X, error, message):
    if error is None:  # integer (T,) arrays are token sequences: one channel
        assert as_sequences(X)[0].shape == (4, 1)
        return
    with pytest.raises(error, match=message):
        as_sequences(X)


@pytest.mark.parametrize(
    "X, one",
    [
        (np.zeros((5, 3)), True),
        (torch.zeros(5, 3), True),
        (np.zeros((5, 4, 4, 1)), True),  # an image sequence
        (np.arange(5), True),  # token ids
        (torch.arange(5), True),
        (np.zeros(5), False),  # floats: neither a sequence nor a data set
        (np.zeros((2, 5, 3)), False),
        (np.zeros((2, 5, 4, 4, 1)), False),
        ([np.zeros((5, 3))], False),
    ],
)
def test_one_sequence_is_a_data_set_of_one(X, one):
    assert is_one_sequence(X) == one
    if one:
        (x,) = as_sequences(X)
        np.testing.assert_array_equal(x, as_sequences([X])[0])


def test_one_sequence_pads_like_a_data_set_of_one():
    padded, mask = ll.pad_sequences(steps(3), length=5)
    np.testing.assert_array_equal(padded, ll.pad_sequences([steps(3)], length=5)[0])
    assert padded.shape == (1, 5, 1) and mask.sum() == 3


def test_bad_padding_arguments():
    with pytest.raises(ValueError, match=r"length must be 'longest', 'shortest' or a positive integer; got 0"):
        ll.pad_sequences([steps(2)], length=0)
    with pytest.raises(ValueError, match=r"direction must be one of 'right', 'left'; got 'up'"):
        ll.pad_sequences([steps(2)], direction="up")


def test_padding_value_must_be_a_number():
    with pytest.raises(ValueError, match=r"padding_value must be a finite number; got \[1\]"):
        ll.pad_sequences([steps(2)], padding_value=[1])
    with pytest.raises(ValueError, match=r"padding_value must be a finite number; got nan"):
        ll.pad_sequences([steps(2)], padding_value=float("nan"))
