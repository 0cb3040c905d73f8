"""Training targets, checked against the data and the network, and encoded for a loss.

Sequence-to-label and sequence-to-one targets have one value per sequence: labels (ints,
strings or a pandas Categorical) or an (N,) / (N, R) array of responses. Sequence-to-sequence
targets have one per time step: a list of (T_n,) label arrays or (T_n, R) response arrays.
Class names come out sorted.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

CLASSIFICATION = ("crossentropy",)


@dataclass
class Targets:
    """Targets ready for a loss: per sequence, an (N,) or (N, R) array; per step, a list of arrays."""

    values: object
    per_step: bool
    class_names: list = None  # for classification: the sorted class names; values are their codes
    label_kind: str = None  # "categorical" | "str" | "int": what classify returns


def is_per_step(Y):
    """Whether Y holds one target per time step (a list of arrays) rather than one per sequence."""
    return isinstance(Y, (list, tuple)) and len(Y) > 0 and np.ndim(Y[0]) >= 1 and not isinstance(Y[0], str)


def split_targets(Y, sequences, where):
    """Y as targets per sequence (an indexable array or Categorical) or per time step (a list of
    arrays), checked against the sequences. Returns (targets, per_step)."""
    N = len(sequences)
    per_step = is_per_step(Y)
    if per_step:
        targets = [y if isinstance(y, pd.Categorical) else np.asarray(y) for y in Y]  # a Categorical keeps its declared classes
    elif isinstance(Y, pd.Categorical):
        targets = Y
    else:
        targets = Y.to_numpy() if isinstance(Y, pd.Series) else np.asarray(Y)
    if len(targets) != N:
        raise ValueError(f"{where}: Y has {len(targets)} targets but X has {N} sequences; give one target per sequence.")
    if per_step:
        for n, (y, x) in enumerate(zip(targets, sequences)):
            if len(y) != len(x):
                hint = " For one response vector per sequence give an (N, R) array." if len(y) == 1 else ""
                raise ValueError(f"{where}: Y[{n}] has {len(y)} time steps but X[{n}] has {len(x)}; per-step targets need one per step.{hint}")
    return targets, per_step


def encode(Y, sequences, loss, output_size, returns_sequence, where="trainnet", class_names=None):
    """Check Y against the data X and the network's output, and encode it for `loss`.

    class_names, if given (the classes of a trained network being fine-tuned, or the training
    classes for validation data), are the classes Y is coded against, one per output unit: Y may
    use some of them, and a label outside them is refused.
    """
    if Y is None:
        raise ValueError(f"{where}: Y is None; give one target per sequence, or one per time step.")
    items, per_step = split_targets(Y, sequences, where)
    if not per_step and loss in CLASSIFICATION and np.ndim(items) == 2 and np.shape(items)[1] == 1:
        items = np.asarray(items).ravel()  # a column of labels
    if per_step != returns_sequence:
        if per_step:
            raise ValueError(
                f"{where}: Y has one target per time step, but the network outputs one vector per sequence (its last "
                f"recurrent layer has output_mode='last'); use output_mode='sequence' for sequence-to-sequence."
            )
        hint = " If Y is an (N, T) array of per-step labels, pass list(Y)." if np.ndim(items) == 2 and loss in CLASSIFICATION else ""
        raise ValueError(
            f"{where}: Y has one target per sequence, but the network outputs a sequence (its last recurrent layer has "
            f"output_mode='sequence'); use output_mode='last' for sequence-to-label or sequence-to-one.{hint}"
        )
    if loss in CLASSIFICATION:
        return _classes(items, per_step, output_size, where, class_names)
    return _responses(items, per_step, output_size, loss, where)


def _classes(items, per_step, output_size, where, class_names):
    flat = pd.Categorical(np.concatenate([np.asarray(y) for y in items])) if per_step else pd.Categorical(items)
    if flat.isna().any():
        raise ValueError(f"{where}: Y has missing labels (NaN or None); every target needs a class.")
    for n, y in enumerate(items if per_step else [items]):
        _check_not_continuous(y, f"Y[{n}]" if per_step else "Y", where)
    categories = set(flat.categories.tolist())
    for y in items if per_step else [items]:
        if isinstance(y, pd.Categorical):
            categories |= set(y.categories.tolist())  # a class may be declared yet unused
    names = sorted(categories)
    if class_names is not None:
        _check_known(flat.categories.tolist(), class_names, where)
        names = class_names
    if len(names) != output_size:
        raise ValueError(
            f"{where}: Y has {len(names)} classes but the network outputs {output_size} values; make the last "
            f"fully_connected_layer {len(names)} wide."
        )
    kind = "categorical" if isinstance(items, pd.Categorical) or (per_step and isinstance(items[0], pd.Categorical)) else (
        "int" if np.asarray(flat.categories).dtype.kind in "iu" else "str"
    )
    lookup = {name: code for code, name in enumerate(names)}
    encode_labels = lambda y: np.array([lookup[v] for v in np.asarray(y).tolist()], dtype=np.int64)  # noqa: E731
    values = [encode_labels(y) for y in items] if per_step else encode_labels(items)
    return Targets(values, per_step, names, kind)


def _check_known(labels, class_names, where):
    """Labels must be among the classes the output units stand for, in the type of their names."""
    known = set(class_names)
    unknown = [label for label in labels if label not in known]
    if not unknown:
        return
    kind = lambda values: "strings" if all(isinstance(v, str) for v in values) else "numbers"  # noqa: E731
    if kind(labels) != kind(class_names):
        fix = "if Y holds class positions, np.asarray(net.class_names)[Y] names them" if kind(class_names) == "strings" else "give labels among them"
        raise ValueError(
            f"{where}: Y holds {kind(labels)} such as {unknown[0]!r}, but the network's classes are {kind(class_names)}, "
            f"{class_names}, one per output unit; labels keep the type of the class names: {fix}."
        )
    raise ValueError(
        f"{where}: Y has labels {unknown} that are not among the network's classes {class_names} (net.class_names, "
        f"one per output unit). Give labels among them; for other classes train a network with a new last "
        f"fully_connected_layer."
    )


def _check_not_continuous(y, label, where):
    """Float labels must be whole numbers: 0.0, 1.0, 2.0 are classes (as MATLAB's double arrays hold
    them), 0.31 is a response that a regression loss should get."""
    if isinstance(y, pd.Categorical):
        return  # its categories are declared classes, whatever they are
    y = np.asarray(y)
    if y.dtype.kind != "f":
        return
    fractional = y[~(np.isfinite(y) & (y == np.round(y)))]
    if fractional.size:
        raise ValueError(
            f"{where}: {label} holds continuous numbers ({y.dtype} values such as {fractional.flat[0]:g}), which loss "
            f"'crossentropy' would take as classes, one per distinct value. Give class labels (integers, strings or a "
            f"pandas Categorical), or for regression use loss 'mse' (or 'mae', 'huber') with a network that ends in "
            f"fully_connected_layer, without softmax_layer."
        )


def _responses(items, per_step, output_size, loss, where):
    arrays = [np.asarray(y) for y in items] if per_step else [np.asarray(items)]
    for n, y in enumerate(arrays):
        label = f"Y[{n}]" if per_step else "Y"
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{where}: {label} is not numeric (dtype {y.dtype}); loss {loss!r} needs numbers. For labels use 'crossentropy'.")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{where}: {label} has NaN or Inf; targets must be finite.")
        width = 1 if y.ndim == 1 else y.shape[-1]
        if y.ndim > 2 or width != output_size:
            shape = "(T, R)" if per_step else "(N, R)"
            raise ValueError(
                f"{where}: {label} has shape {y.shape} but the network outputs {output_size} values; give {shape} "
                f"targets with R = {output_size}, or make the last fully_connected_layer {width} wide."
            )
        if loss == "binary-crossentropy" and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{where}: {label} has values outside [0, 1]; 'binary-crossentropy' needs probabilities.")
    as_columns = lambda y: y.astype(np.float64).reshape(len(y), -1)  # noqa: E731
    values = [as_columns(y) for y in arrays] if per_step else as_columns(arrays[0])
    return Targets(values, per_step)
