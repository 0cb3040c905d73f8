"""The analysis of a traced text: which cells follow a feature (`find_cells`), and which spans share a
selected span's pattern of units (`match_spans`, as LSTMVis matches them)."""

import math

import numpy as np
import pandas as pd

from .vocabulary import check_text


def find_cells(tr, features):
    """Rank every recorded unit of every quantity by how closely it follows each feature.

    The correlation (Pearson's r) between a unit's value and a feature, over every real time step
    the trace recorded: the cells of the 2015 paper by Karpathy, Johnson and Fei-Fei ("Visualizing
    and Understanding Recurrent Networks") that switch on inside strings or count indentation
    have |r| near 1 with in_string or indent. A unit or a feature that never changes has r = 0.

    Args:
        tr: an `ll.Trace`, for example `ll.trace(net, [vocabulary.encode(text)])`.
        features: a DataFrame (or a dict of name -> (M,) array) with one row per recorded real
            step: the steps of sequence 0, then those of sequence 1, and so on, as
            `ll.text.code_features(text)` gives them for one text traced as one sequence.

    Returns:
        DataFrame with columns layer, direction, quantity, unit, feature, correlation: one row
        per layer, direction, quantity, unit and feature, strongest |correlation| first.

    Raises:
        ValueError: when features has a different number of rows than the trace has recorded
            steps, or a column that is not numeric.
    """
    where = "find_cells"
    if not hasattr(tr, "layers") or not hasattr(tr, "to_frame"):
        raise TypeError(f"{where}: tr must be an ll.Trace (from ll.trace(net, X)); got {type(tr).__name__}.")
    table = _feature_table(features, where)
    rows = []
    for layer in tr.layers.values():
        steps = int(np.sum(layer.mask))
        if steps != len(table):
            raise ValueError(
                f"{where}: features has {len(table)} rows but the trace of layer {layer.name!r} recorded {steps} real "
                f"time steps; give one row per recorded step (compute the features on the text that was traced, "
                f"and trace all of its steps)."
            )
        for direction, recorded in layer.directions.items():
            for quantity, values in recorded.arrays.items():
                r = _correlations(values[layer.mask], table.to_numpy(np.float64))  # (U, F)
                columns = {"unit": np.repeat(layer.units, r.shape[1]), "feature": np.tile(table.columns.to_numpy(), r.shape[0]), "correlation": r.reshape(-1)}
                rows.append(pd.DataFrame({"layer": layer.name, "direction": direction, "quantity": quantity, **columns}))
    found = pd.concat(rows, ignore_index=True)
    order = np.argsort(-found["correlation"].abs().to_numpy(), kind="stable")
    return found.iloc[order].reset_index(drop=True)


def _feature_table(features, where):
    table = pd.DataFrame(features) if isinstance(features, dict) else features
    if not isinstance(table, pd.DataFrame) or table.shape[1] == 0:
        raise TypeError(
            f"{where}: features must be a DataFrame or a dict of name -> (M,) array, with at least one feature; got "
            f"{type(features).__name__}. Use ll.text.code_features(text) for source code."
        )
    bad = next((name for name in table.columns if table[name].dtype.kind not in "biuf"), None)
    if bad is not None:
        raise ValueError(f"{where}: feature {bad!r} is not numeric (dtype {table[bad].dtype}); give one number per character.")
    return table


def _correlations(values, features):
    """Pearson's r of every column of values (M, U) with every column of features (M, F): (U, F)."""
    x = values.astype(np.float64) - values.mean(axis=0)  # (M, U)
    y = features - features.mean(axis=0)  # (M, F)
    x_norm, y_norm = np.linalg.norm(x, axis=0), np.linalg.norm(y, axis=0)  # (U,), (F,)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (x.T @ y) / np.outer(x_norm, y_norm)  # (U, F)
    return np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0)


def match_spans(tr, text, start, end, threshold, *, layer=None, quantity="h", direction="forward", min_units=None):
    """Find every span of the text whose units are on as they are over a selected span, ranked.

    The matching of LSTMVis (Strobelt, Gehrmann, Pfister and Rush, "LSTMVis: A Tool for Visual
    Analysis of Hidden State Dynamics in Recurrent Neural Networks", 2018). A unit is *on* at a
    step when its value is above the threshold. The units on at every step of the selection
    text[start:end] form the pattern P. A step matches when at least min_units units of P are on;
    every maximal run of matching steps is a match, and A, the units on at every step of it, is
    compared with the pattern by the Jaccard score |P and A| / |P or A|: 1 when exactly the
    pattern's units stay on over it, less when some pattern units go off or other units stay on
    too. The selection itself is among the matches (the run that holds it).

    Args:
        tr: an `ll.Trace` of the text as one sequence, every step recorded:
            `ll.trace(net, [vocabulary.encode(text)])` (with `out=` for a long text).
        text: the traced text, one character per recorded step.
        start, end: the selection, text[start:end], 0 <= start < end <= len(text).
        threshold: a unit is on where its value is above this number (h and the gates of an LSTM
            lie in (-1, 1) and (0, 1); 0.5 is a usual start).
        layer: the recorded layer to read (default: the trace's only layer).
        quantity: the recorded quantity to read: "h" (default), "c" or a gate.
        direction: "forward" (default) or "backward" for a bidirectional layer.
        min_units: how many of the pattern's units must be on for a step to match (default: all
            of them; fewer finds partial matches as well, with lower scores).

    Returns:
        DataFrame with columns start, end, score, text (one row per match, text[start:end]),
        best score first, then the length closest to the selection's, then the earliest; its
        `.attrs["units"]` lists the pattern's units.

    Raises:
        ValueError: for a span outside the text, a threshold that is not a finite number, a
            threshold that no unit stays above over the span, or a trace that does not hold the text.

    >>> import lstmlab as ll
    >>> text = "ab ab ab"
    >>> vocabulary = ll.text.Vocabulary(text)
    >>> net = ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(4, len(vocabulary)), ll.lstm_layer(6)])
    >>> tr = ll.trace(net, [vocabulary.encode(text)])
    >>> ll.text.match_spans(tr, text, 0, 2, threshold=-1.0)  # below -1 no unit goes: all on, all along
       start  end  score      text
    0      0    8    1.0  ab ab ab
    """
    where = "match_spans"
    values, units = _one_text_values(tr, text, layer, quantity, direction, where)  # (T, U), (U,)
    T = len(values)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end)) or not 0 <= start < end <= T:
        raise ValueError(f"{where}: start and end must select a span of the text, 0 <= start < end <= {T} (its length); got start={start!r}, end={end!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not math.isfinite(threshold):
        raise ValueError(f"{where}: threshold must be a finite number, such as 0.5; got {threshold!r}.")
    on = values > threshold  # (T, U)
    pattern = np.flatnonzero(on[start:end].all(axis=0))  # (P,) positions among the recorded units
    if len(pattern) == 0:
        lowest = np.asarray(values[start:end]).min(axis=0)  # (U,) each unit's least value over the span
        raise ValueError(
            f"{where}: no unit stays above threshold={threshold!r} over text[{start}:{end}] ({text[start:end]!r}); the "
            f"highest least value there is {lowest.max():.3g} (unit {units[lowest.argmax()]}). Lower the threshold or select a shorter span."
        )
    needed = len(pattern) if min_units is None else min_units
    if isinstance(needed, bool) or not isinstance(needed, (int, np.integer)) or not 1 <= needed <= len(pattern):
        raise ValueError(f"{where}: min_units must be a whole number from 1 to {len(pattern)} (the pattern's units); got {min_units!r}.")
    matching = on[:, pattern].sum(axis=1) >= needed  # (T,)
    edges = np.diff(np.concatenate([[0], matching.astype(np.int8), [0]]))  # (T + 1,)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # (M,) each, the maximal runs
    ons = np.logical_and.reduceat(np.vstack([on, np.zeros((1, on.shape[1]), bool)]), np.ravel([starts, ends], "F"))[::2]  # (M, U) on throughout each run
    in_pattern = np.zeros(on.shape[1], bool)
    in_pattern[pattern] = True
    scores = (ons & in_pattern).sum(axis=1) / (ons | in_pattern).sum(axis=1)  # (M,) Jaccard
    order = np.lexsort((starts, np.abs((ends - starts) - (end - start)), -scores))
    found = pd.DataFrame(
        {"start": starts[order], "end": ends[order], "score": scores[order], "text": [text[a:b] for a, b in zip(starts[order], ends[order])]}
    )
    found.attrs["units"] = units[pattern].tolist()
    return found


def _one_text_values(tr, text, layer, quantity, direction, where):
    """The (T, U) values of one quantity over the one traced text, checked against it, and the (U,) units."""
    if not hasattr(tr, "layers") or not hasattr(tr, "to_frame"):
        raise TypeError(f"{where}: tr must be an ll.Trace (from ll.trace(net, [vocabulary.encode(text)])); got {type(tr).__name__}.")
    text = check_text(text, "text", where)
    if layer is None and len(tr.layers) > 1:
        raise ValueError(f"{where}: the trace recorded {len(tr.layers)} layers; choose one with layer=, from {', '.join(tr.layers)}.")
    recorded = tr[layer or next(iter(tr.layers))]
    if recorded.mask.shape[0] != 1 or int(recorded.mask.sum()) != len(text) or not np.array_equal(recorded.steps, np.arange(len(text))):
        raise ValueError(
            f"{where}: the trace of layer {recorded.name!r} holds {recorded.mask.shape[0]} sequence(s) and {int(recorded.mask.sum())} "
            f"recorded real steps, but text has {len(text)} characters; trace the text as one sequence with every step "
            f"(ll.trace(net, [vocabulary.encode(text)]))."
        )
    if direction not in recorded.directions:
        raise ValueError(f"{where}: direction must be one of {', '.join(map(repr, recorded.directions))} for layer {recorded.name!r}; got {direction!r}.")
    arrays = recorded.directions[direction].arrays
    if quantity not in arrays:
        raise ValueError(f"{where}: quantity must be one of {', '.join(map(repr, arrays))} (what the trace recorded of layer {recorded.name!r}); got {quantity!r}.")
    return arrays[quantity][0], recorded.units  # (T, U), (U,)
