"""Sequences from a table, as recordings usually come: one row per sequence and time step.

A long-format table (a pandas DataFrame) has a column that names the sequence, one for the time,
one per channel and perhaps one for the label:

    sequence  time  x     y     label
    a         0     0.1   2.0   walk
    a         1     0.3   NaN   walk
    b         0     1.2   0.7   run

`ll.sequences_from_frame(df, sequence="sequence", time="time", channels=["x", "y"], label="label")`
turns it into what `ll.trainnet` takes: a list of (T_n, C) arrays and one label per sequence.
"""

import numpy as np
import pandas as pd

from ._checks import check_choice

FILLS = ("previous", "linear")


def sequences_from_frame(df, *, sequence, time, channels, label=None, fill=None):
    """Sequences (and their labels) from a long-format DataFrame.

    Args:
        df: a pandas DataFrame with one row per sequence and time step.
        sequence: the column that names each row's sequence.
        time: the column to order the rows of a sequence by (numbers, datetimes, or anything
            that sorts); a time that occurs twice in one sequence is refused.
        channels: the column (or list of columns) of the values, numeric: C channels.
        label: None, or the column of the label; it must be the same on every row of a sequence.
        fill: what to do with missing values (NaN) in the channels:
            None refuses them, saying how many there are and where the first is;
            "previous" takes the last value before the gap;
            "linear" interpolates by time between the values on either side (the time column
            must hold numbers or datetimes).
            With either fill a NaN before a sequence's first value in its channel (a leading
            NaN) takes that first value, and with "linear" a NaN after its last value takes that
            last value. A channel with no value at all in a sequence is refused.

    Returns:
        (X, y): X a list of (T_n, C) float arrays, one per sequence in the order in which the
        sequences first appear in df (`df[sequence].unique()`), each sorted by time; y the label
        of each sequence (an array, or a pandas Categorical when the column is categorical), or
        None without a label column.

    >>> df = pd.DataFrame({"id": ["b", "a", "b", "a"], "t": [1, 0, 0, 1], "x": [4.0, 1.0, 3.0, 2.0], "kind": ["run", "walk", "run", "walk"]})
    >>> X, y = sequences_from_frame(df, sequence="id", time="t", channels="x", label="kind")
    >>> [x[:, 0].tolist() for x in X], y.tolist()
    ([[3.0, 4.0], [1.0, 2.0]], ['run', 'walk'])
    """
    where = "sequences_from_frame"
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{where}: df must be a pandas DataFrame (long format: one row per sequence and time step); got {type(df).__name__}.")
    channels = [channels] if isinstance(channels, str) else list(channels)
    _check_columns(df, [sequence, time, *channels] + ([] if label is None else [label]), where)
    for column in channels:
        if not pd.api.types.is_numeric_dtype(df[column]) or pd.api.types.is_bool_dtype(df[column]):
            raise ValueError(f"{where}: channel {column!r} holds {df[column].dtype} values; channels must be numbers. Convert it, or leave it out of channels.")
    for column in [sequence, time] + ([] if label is None else [label]):
        if df[column].isna().any():
            raise ValueError(
                f"{where}: column {column!r} has {int(df[column].isna().sum())} missing values (first in row "
                f"{_shown(df.index[df[column].isna()][0])!r}); every row needs its {_role(column, sequence, time)}. Drop or fill those rows."
            )
    if fill is not None:
        fill = check_choice(fill, "fill", FILLS, where)
    if fill == "linear" and not (pd.api.types.is_numeric_dtype(df[time]) or pd.api.types.is_datetime64_any_dtype(df[time])):
        raise ValueError(f"{where}: fill='linear' interpolates by time, which needs numbers or datetimes; column {time!r} holds {df[time].dtype}. Use fill='previous'.")
    if fill is None:
        _refuse_missing(df, sequence, time, channels, where)
    X, labels = [], []
    for name, rows in df.groupby(sequence, sort=False, observed=True):
        rows = rows.sort_values(time, kind="stable")
        twice = rows[time][rows[time].duplicated()]
        if len(twice):
            raise ValueError(f"{where}: sequence {_shown(name)!r} has two rows at time {_shown(twice.iloc[0])!r}; each time may occur once in a sequence. Drop or average the duplicates.")
        values = rows[channels].to_numpy(dtype=np.float64, copy=True)  # (T, C), our own (filled in place)
        if fill is not None:
            values = _filled(values, rows[time], fill, name, channels, where)
        X.append(values)
        if label is not None:
            seen = rows[label].unique()
            if len(seen) > 1:
                raise ValueError(f"{where}: sequence {_shown(name)!r} has {len(seen)} labels {[_shown(v) for v in seen[:5]]}; a sequence has one label. Fix its rows, or split it into sequences.")
            labels.append(seen[0])
    if label is None:
        return X, None
    if isinstance(df[label].dtype, pd.CategoricalDtype):
        return X, pd.Categorical(labels, categories=df[label].cat.categories)
    return X, np.array(labels)


def _check_columns(df, columns, where):
    missing = [c for c in dict.fromkeys(columns) if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: df has no column {missing[0]!r}; its columns are {list(df.columns)}.")


def _shown(value):
    """A value for a message: NumPy scalars as the Python values they hold."""
    return value.item() if isinstance(value, np.generic) else value


def _role(column, sequence, time):
    return "sequence" if column == sequence else "time" if column == time else "label"


def _refuse_missing(df, sequence, time, channels, where):
    """fill=None: the NaN of the channels refused with their number and the first place of one."""
    missing = df[channels].isna()
    if missing.to_numpy().any():
        row = missing.any(axis=1).to_numpy().argmax()
        column = channels[missing.iloc[row].to_numpy().argmax()]
        raise ValueError(
            f"{where}: the channels have {int(missing.to_numpy().sum())} missing values (NaN), the first in sequence "
            f"{_shown(df[sequence].iloc[row])!r} at time {_shown(df[time].iloc[row])!r}, channel {column!r}; give fill='previous' or "
            f"fill='linear' to fill them, or drop them first."
        )


def _filled(values, times, fill, name, channels, where):
    """(T, C) values with the NaN of each channel filled (see `sequences_from_frame`)."""
    if pd.api.types.is_datetime64_any_dtype(times):
        t = (times - times.iloc[0]).dt.total_seconds().to_numpy()
    else:
        t = times.to_numpy()
    for c, column in enumerate(channels):
        known = ~np.isnan(values[:, c])
        if known.all():
            continue
        if not known.any():
            raise ValueError(f"{where}: sequence {_shown(name)!r} has no value in channel {column!r}, so there is nothing to fill from; drop the sequence or the channel.")
        if fill == "linear":
            values[:, c] = np.interp(t.astype(np.float64), t[known].astype(np.float64), values[known, c])
        else:  # previous: the last value before each step; before the first value, the first value
            last = np.maximum.accumulate(np.where(known, np.arange(len(known)), -1))
            values[:, c] = values[np.where(last >= 0, last, known.argmax()), c]
    return values
