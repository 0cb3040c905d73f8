"""ll.split_validation: stratified by label, seeded, disjoint and complete."""

import numpy as np
import pandas as pd
import pytest

import lstmlab as ll


def labelled(n_per_class=(40, 12, 4), T=5):
    """Sequences whose first value is their index, so that a split can be read back."""
    y = np.repeat(["common", "middle", "rare"], n_per_class)
    X = [np.full((T + k % 3, 2), float(k)) for k in range(len(y))]
    return X, y


def test_each_class_keeps_its_share():
    X, y = labelled()
    X_train, y_train, X_val, y_val = ll.split_validation(X, y, fraction=0.25, seed=0)
    assert len(X_val) == len(y_val) == 14 and len(X_train) == 42  # round(0.25 * 56)
    assert pd.Series(y_val).value_counts().to_dict() == {"common": 10, "middle": 3, "rare": 1}
    _, _, _, y_val = ll.split_validation(X, y, fraction=0.3, seed=0)  # 16.8 -> 17: 12 + 3.6 + 1.2, the largest remainder rounds up
    assert pd.Series(y_val).value_counts().to_dict() == {"common": 12, "middle": 4, "rare": 1}


def test_disjoint_complete_in_order_and_the_targets_follow_their_sequences():
    X, y = labelled()
    X_train, y_train, X_val, y_val = ll.split_validation(X, y)
    train, val = [int(x[0, 0]) for x in X_train], [int(x[0, 0]) for x in X_val]
    assert sorted(train + val) == list(range(56)) and not set(train) & set(val)
    assert train == sorted(train) and val == sorted(val)
    assert list(y_train) == list(y[train]) and list(y_val) == list(y[val])


def test_the_same_seed_gives_the_same_split():
    X, y = labelled()
    first = ll.split_validation(X, y, seed=4)[3]
    index = lambda part: [int(x[0, 0]) for x in part]  # noqa: E731
    assert index(ll.split_validation(X, y, seed=4)[2]) == index(ll.split_validation(X, y, seed=4)[2])
    assert index(ll.split_validation(X, y, seed=4)[2]) != index(ll.split_validation(X, y, seed=5)[2])
    assert list(first) == list(ll.split_validation(X, y, seed=4)[3])


def test_arrays_categoricals_responses_and_per_step_targets():
    X, y = labelled(T=5)
    X = np.stack([x[:5] for x in X])  # (56, 5, 2)
    X_train, y_train, X_val, y_val = ll.split_validation(X, pd.Categorical(y), fraction=0.5)
    assert X_train.shape == (28, 5, 2) and X_val.shape == (28, 5, 2) and isinstance(y_val, pd.Categorical)
    assert pd.Series(y_val).value_counts().to_dict() == {"common": 20, "middle": 6, "rare": 2}
    responses = np.arange(56.0)  # floats: no strata
    _, r_train, X_val, r_val = ll.split_validation(X, responses, fraction=0.25)
    assert len(r_val) == 14 and np.array_equal(r_val, X_val[:, 0, 0])
    per_step = [np.full(5, k) for k in range(56)]
    _, s_train, X_val, s_val = ll.split_validation(list(X), per_step, fraction=0.25)
    assert isinstance(s_val, list) and [s[0] for s in s_val] == [int(x[0, 0]) for x in X_val]


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.zeros((5, 2)), [0] * 5), r"X is one sequence \(an array of shape \(5, 2\)\)"),
        (([np.zeros((5, 2))] * 4, [0] * 3), r"Y has 3 targets but X has 4 sequences"),
        (([np.zeros((5, 2))] * 4, [0] * 4, 0.1), r"fraction=0.1 of 4 sequences holds out 0, leaving no validation sequence; give a fraction between 0.25 and 0.75"),
        (([np.zeros((5, 2))] * 4, [0] * 4, 1.5), r"fraction must be a number in \[0, 1\); got 1.5"),
        (([np.zeros((5, 2))] * 4, [0] * 4, 0.5, -1), r"seed must be a non-negative integer; got -1"),
    ],
)
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        ll.split_validation(*args)
