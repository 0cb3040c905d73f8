"""`ll.ablate`: silence each hidden unit in turn and measure what the network loses.

Silencing a unit is an intervention on its hidden state h at every step (`ll.Intervention`): the
unit can no longer tell the later steps, the later layers or the output anything. "zero" sets
h to 0; "mean" sets it to the unit's mean over the data, which keeps the average the next layers
are used to and removes only what varies (what the unit says about this particular input).
"""

import numpy as np
import pandas as pd
import torch

from . import losses
from ._checks import check_choice, check_indices
from .interventions import Intervention
from .layers import RecurrentLayer, SoftmaxLayer
from .network import Network
from .preparation import prepare
from .prediction import activations, predict
from .targets import encode
from .trace import trace

MODES = ("zero", "mean")


def ablate(net, X, Y, *, units=None, mode="zero", layer=None, loss=None, **options):
    """Silence each hidden unit (or group of units) in turn; return what the loss and accuracy lose.

    Args:
        net: a trained `ll.Network`. X, Y: data and targets, as for `ll.trainnet` (one label per
            sequence, or one per time step).
        units: None (each unit on its own), a list of units (each on its own), or a dict
            {group name: list of units} (each group silenced together).
        mode: "zero" (h = 0 at every step) or "mean" (h = the unit's mean over the real steps of X
            in the clean run).
        layer: the name of the recurrent layer whose units to silence (default: every one). A
            BiLSTM's two directions are silenced separately.
        loss: the loss to measure: "crossentropy" (default for a classifier), "mse" (default
            otherwise), or any loss `ll.trainnet` takes.
        **options: the batching options of `ll.predict` (mini_batch_size, freeze_padding, ...).

    Returns:
        A DataFrame, one row per unit (or group) and direction, the most harmful first (largest
        loss_change): layer, direction, unit, loss, loss_change and, for a classifier, accuracy,
        accuracy_change and one accuracy_change[class] column per class. `frame.attrs` holds the
        clean scores ("clean": {"loss", "accuracy", "per_class"}) and the mode.

    >>> import numpy as np, lstmlab as ll
    >>> net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3, output_mode="last"),
    ...                   ll.fully_connected_layer(2), ll.softmax_layer()])
    >>> net.class_names, net.label_kind = ["a", "b"], "str"
    >>> X, Y = np.random.default_rng(0).normal(size=(8, 5, 2)), ["a", "b"] * 4
    >>> list(ll.ablate(net, X, Y).columns[:5]), len(ll.ablate(net, X, Y, units={"first two": [0, 1]}))
    (['layer', 'direction', 'unit', 'loss', 'loss_change'], 1)
    """
    if not isinstance(net, Network):
        raise TypeError(f"ablate: net must be an ll.Network; got {type(net).__name__}.")
    mode = check_choice(mode, "mode", MODES, "ablate")
    if loss is None:
        loss = "crossentropy" if net.class_names is not None else "mse"
    loss = losses.check_loss(loss, net, "ablate")
    recurrent = [m for m in net.layers if isinstance(m, RecurrentLayer)]
    if layer is not None:
        check_choice(layer, "layer", [m.name for m in recurrent], "ablate")
        recurrent = [net[layer]]
    if not recurrent:
        raise ValueError("ablate: the network has no LSTM, BiLSTM or GRU layer whose units could be silenced.")
    targets = encode(Y, prepare(net, X, "ablate"), loss, net.output_size, net.returns_sequence, "ablate", net.class_names)
    scores = _scorer(net, X, targets, loss, options)
    clean = scores([])
    means = _means(net, X, recurrent, options) if mode == "mean" else None
    rows = []
    for part in recurrent:
        for direction in part.directions:
            for name, chosen in _groups(units, part).items():
                value = 0.0 if means is None else means[part.name, direction][chosen]
                silenced = scores([Intervention(part.name, "h", units=chosen, direction=direction, set=value)])
                row = {"layer": part.name, "direction": direction, "unit": name, "loss": silenced["loss"], "loss_change": silenced["loss"] - clean["loss"]}
                if "accuracy" in clean:
                    row.update(accuracy=silenced["accuracy"], accuracy_change=silenced["accuracy"] - clean["accuracy"])
                    row.update({f"accuracy_change[{c}]": silenced["per_class"][c] - clean["per_class"][c] for c in clean["per_class"]})
                rows.append(row)
    frame = pd.DataFrame(rows).sort_values("loss_change", ascending=False, kind="stable").reset_index(drop=True)
    frame.attrs.update(clean=clean, mode=mode)
    return frame


def _groups(units, layer):
    """{name: units} to silence together: each unit alone (named by its number), or the given groups."""
    where, what = "ablate", f"the hidden units of layer {layer.name!r}"
    if isinstance(units, dict):
        return {name: check_indices(chosen, layer.num_hidden_units, f"units[{name!r}]", what, where) for name, chosen in units.items()}
    return {int(u): np.array([u]) for u in check_indices(units, layer.num_hidden_units, "units", what, where)}


def _scorer(net, X, targets, loss, options):
    """scores(interventions) -> {"loss"; for a classifier also "accuracy" and "per_class" {class: accuracy}}, on X."""
    before_softmax = loss in losses.NEEDS_LAST and isinstance(net.layers[-1], SoftmaxLayer)
    y = torch.as_tensor(np.concatenate(targets.values) if targets.per_step else targets.values)  # (M,) codes or (M, R)

    def scores(interventions):
        if before_softmax:  # the loss from the scores, exact where probabilities underflow (as in training)
            out = activations(net, X, net.layers[-2].name, interventions=interventions, **options)
        else:
            out = predict(net, X, interventions=interventions, **options)
        out = torch.as_tensor(np.concatenate(list(out)) if targets.per_step else out)  # (M, K): sequences, or real steps
        result = {"loss": float(losses.compute(loss, out, y.to(out.dtype) if y.is_floating_point() else y))}
        if targets.class_names is not None:
            right = (out.argmax(-1) == y).numpy()
            codes = y.numpy()
            result["accuracy"] = float(right.mean())
            result["per_class"] = {c: float(right[codes == k].mean()) if (codes == k).any() else np.nan for k, c in enumerate(targets.class_names)}
        return result

    return scores


def _means(net, X, recurrent, options):
    """{(layer, direction): (H,) mean of h over the real steps of X}, from the clean run."""
    recorded = trace(net, X, layers=[m.name for m in recurrent], **{k: v for k, v in options.items() if k in ("mini_batch_size", "freeze_padding")})
    return {
        (name, direction): part.arrays["h"][recorded[name].mask].mean(0).astype(np.float64)
        for name in recorded
        for direction, part in recorded[name].directions.items()
    }
