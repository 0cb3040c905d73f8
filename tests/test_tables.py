"""ll.sequences_from_frame: a long-format table in, sequences sorted by time and their labels out."""

import numpy as np
import pandas as pd
import pytest

import lstmlab as ll

from helpers import naming


def recordings():
    """Two sequences, rows shuffled, one NaN in 'b' at time 2 and a leading NaN in 'a'."""
    rows = [
        ("a", 2, 2.0, 20.0, "walk"),
        ("b", 1, 5.0, 50.0, "run"),
        ("a", 0, np.nan, 0.0, "walk"),
        ("b", 0, 4.0, 40.0, "run"),
        ("a", 1, 1.0, 10.0, "walk"),
        ("b", 2, np.nan, 60.0, "run"),
        ("b", 4, 9.0, 80.0, "run"),
    ]
    return pd.DataFrame(rows, columns=["id", "t", "x", "y", "activity"])


def test_rows_become_sequences_sorted_by_time_with_one_label_each():
    df = recordings().dropna()
    X, y = ll.sequences_from_frame(df, sequence="id", time="t", channels=["x", "y"], label="activity")
    assert [x.tolist() for x in X] == [[[1.0, 10.0], [2.0, 20.0]], [[4.0, 40.0], [5.0, 50.0], [9.0, 80.0]]]  # order of first appearance
    assert y.tolist() == ["walk", "run"] and X[0].dtype == np.float64
    X, none = ll.sequences_from_frame(df, sequence="id", time="t", channels="y")
    assert none is None and [x.shape for x in X] == [(2, 1), (3, 1)]
    df = df.assign(activity=pd.Categorical(df.activity, categories=["run", "walk", "swim"]))
    _, y = ll.sequences_from_frame(df, sequence="id", time="t", channels="x", label="activity")
    assert isinstance(y, pd.Categorical) and list(y.categories) == ["run", "walk", "swim"]


def test_missing_values_are_refused_with_their_count_and_place_or_filled():
    df = recordings()
    with pytest.raises(ValueError, match=naming("2 missing values", "sequence 'a' at time 0, channel 'x'", "fill='previous'")):
        ll.sequences_from_frame(df, sequence="id", time="t", channels=["x", "y"])
    X, _ = ll.sequences_from_frame(df, sequence="id", time="t", channels=["x", "y"], fill="previous")
    assert X[0][:, 0].tolist() == [1.0, 1.0, 2.0]  # a leading NaN takes the first value
    assert X[1][:, 0].tolist() == [4.0, 5.0, 5.0, 9.0]
    X, _ = ll.sequences_from_frame(df, sequence="id", time="t", channels=["x", "y"], fill="linear")
    assert X[0][:, 0].tolist() == [1.0, 1.0, 2.0]
    assert X[1][:, 0].tolist() == pytest.approx([4.0, 5.0, 5.0 + (9.0 - 5.0) / 3, 9.0], rel=1e-15)  # by time: 2 is a third of 1 -> 4
    assert X[1][:, 1].tolist() == [40.0, 50.0, 60.0, 80.0]  # channels without NaN are untouched
    dated = df.assign(t=pd.Timestamp("2024-01-01") + pd.to_timedelta(df.t, unit="s"))
    X_dated, _ = ll.sequences_from_frame(dated, sequence="id", time="t", channels=["x", "y"], fill="linear")
    np.testing.assert_array_equal(X_dated[1], X[1])


@pytest.mark.parametrize(
    "change, options, message",
    [
        (lambda df: df.assign(activity=df.activity.where(df.t != 4, "swim")), {}, r"sequence 'b' has 2 labels \['run', 'swim'\]; a sequence has one label"),
        (lambda df: df.assign(t=df.t.where(df.t != 4, 0)), {}, r"sequence 'b' has two rows at time 0"),
        (lambda df: df, {"channels": ["x", "z"]}, r"df has no column 'z'; its columns are \['id', 't', 'x', 'y', 'activity'\]"),
        (lambda df: df, {"channels": ["activity"]}, r"channel 'activity' holds (object|str) values; channels must be numbers"),
        (lambda df: df.assign(x=df.x.where(df.id != "a")), {"fill": "previous"}, r"sequence 'a' has no value in channel 'x'"),
        (lambda df: df, {"fill": "mean"}, r"fill must be one of 'previous', 'linear'; got 'mean'"),
        (lambda df: df.assign(t=df.t.astype(str)), {"fill": "linear"}, r"fill='linear' interpolates by time, which needs numbers or datetimes; column 't' holds (object|str)"),
        (lambda df: df.assign(id=df.id.where(df.t != 1)), {}, r"column 'id' has 2 missing values \(first in row 1\); every row needs its sequence"),
    ],
)
def test_what_cannot_be_read_says_where(change, options, message):
    kwargs = {"sequence": "id", "time": "t", "channels": ["x", "y"], "label": "activity", "fill": "linear", **options}
    with pytest.raises(ValueError, match=message):
        ll.sequences_from_frame(change(recordings()), **kwargs)


def test_a_table_trains_a_network():
    rng = np.random.default_rng(0)
    df = pd.concat(
        [pd.DataFrame({"id": n, "t": np.arange(T), "x": rng.normal(size=T) + (n % 2), "label": ["odd", "even"][n % 2 == 0]}) for n, T in enumerate(rng.integers(4, 9, size=12))]
    )
    X, y = ll.sequences_from_frame(df.sample(frac=1, random_state=0), sequence="id", time="t", channels="x", label="label")
    net = ll.trainnet(X, y, [ll.sequence_input_layer(1), ll.lstm_layer(4, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()], "crossentropy", ll.training_options(max_epochs=1, verbose=False))
    assert net.class_names == ["even", "odd"] and ll.classify(net, X).shape == (12,)
