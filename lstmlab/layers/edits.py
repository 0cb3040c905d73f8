"""The hook through which an intervention changes what a recurrent layer computes.

The step equations of `lstm.py` and `gru.py` pass every quantity through `edit` as soon as it is
computed, before anything else reads it:

    i, f, g, o = edit("i", t, i), edit("f", t, f), edit("g", t, g), edit("o", t, o)
    c_t = edit("c", t, f * c + i * g)
    h_t = edit("h", t, o * sigma_s(c_t))

so a changed gate changes everything computed from it: c, h, the later steps and the later layers.
`NO_EDIT`, the default, hands every value back unchanged. An `Edit` holds the `Action`s of the
interventions (`ll.Intervention`, in `lstmlab.interventions`) that act on one direction of one
layer in one mini-batch, with their units and steps already turned into tensors.

t is a step of the direction's own time (the backward direction of a BiLSTM counts from the end),
with the value (B, H) at that step; or `ALL`, every step at once, with the value (B, T, H), which
is how `ll.trace` recomputes the gates.
"""

from typing import NamedTuple

import torch

ALL = slice(None)  # every time step at once


class Action(NamedTuple):
    """What one intervention does to one quantity in one mini-batch.

    Attributes:
        quantity: "i", "f", "g", "o", "c", "h" (LSTM) or "r", "z", "n", "h" (GRU).
        units: `ALL` or a (U,) long tensor of hidden units.
        steps: (B, T) bool tensor, True where the action acts; None: at every step.
        how: "set", "scale", "add", "fn", or "record" (keep the values, change nothing).
        value: for set, scale and add a tensor that broadcasts against (B, U), or (B, T, U) with
            one value per sequence and step (a patch from another input); for fn the function;
            for record the (B, T, U) tensor to fill.
    """

    quantity: str
    units: object
    steps: object
    how: str
    value: object

    def apply(self, t, computed):
        """The computed values (B, H) at step t, or (B, T, H) for t = ALL, after this action."""
        current = computed[..., self.units]  # (B, U) or (B, T, U)
        if self.how == "record":
            self.value[:, t] = current
            return computed
        value = self.value[:, t] if torch.is_tensor(self.value) and self.value.ndim == 3 else self.value  # a patch: this step's
        if self.how == "set":
            new = value.expand_as(current)
        elif self.how == "scale":
            new = current * value
        elif self.how == "add":
            new = current + value
        else:
            new = _returned(value, current)
        if self.steps is not None:
            new = torch.where(self.steps[:, t, None], new, current)  # (B, 1) or (B, T, 1): acts only on the chosen steps
        return new if self.units is ALL else computed.index_copy(-1, self.units, new)


def _returned(fn, current):
    """fn(current), checked: a value for each one it was given."""
    new = torch.as_tensor(fn(current), dtype=current.dtype, device=current.device)
    try:
        return new.expand_as(current)
    except RuntimeError:
        raise ValueError(
            f"Intervention: fn must return values of the shape it is given, {tuple(current.shape)} (sequences, units at one "
            f"step; or sequences, steps, units); got {tuple(new.shape)}. Write it to act on each value, e.g. "
            f"fn=lambda v: v.clamp(max=0.5)."
        ) from None


class Edit:
    """The actions on one direction of one layer in one mini-batch, in the order given.

    `edit(quantity, t, value)` returns the value as the actions leave it. offset: what step 0 of
    the caller is in the direction's own time (the step loop may start late; see `from_step`).
    """

    def __init__(self, actions=(), offset=0):
        self.actions = tuple(actions)
        self.offset = offset
        self.quantities = {a.quantity for a in self.actions}

    def __call__(self, quantity, t, value):
        if quantity not in self.quantities:
            return value
        t = t if t is ALL else t + self.offset
        for action in self.actions:
            if action.quantity == quantity:
                value = action.apply(t, value)
        return value

    def span(self, T):
        """(first, stop): the steps of T where some action may act; None when none does."""
        if not self.actions:
            return None
        if any(a.steps is None for a in self.actions):
            return 0, T
        acting = torch.stack([a.steps.any(0) for a in self.actions]).any(0).nonzero()  # (S, 1)
        return (int(acting[0]), int(acting[-1]) + 1) if len(acting) else None

    def from_step(self, start):
        """The same actions, for a step loop whose step 0 is step `start`."""
        return Edit(self.actions, self.offset + start)

    def __repr__(self):
        return f"Edit({', '.join(f'{a.how} {a.quantity}' for a in self.actions) or 'nothing'})"


NO_EDIT = Edit()
