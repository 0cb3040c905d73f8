"""What `ll.predict` and `ll.trace` do before they run X through a network, written once.

Both check their options the same way, with the same defaults (a sequence option not given is the
network's own: `network.sequence_options`), prepare X (`network.prepare`), cut it into mini-batches
(`lstmlab.batching`), start from the network's held states (`runner.held_states`) and bind the
interventions to X (`interventions.bind`); then each runs `runner.run_batches` its own way.
"""

import functools
from typing import Callable, NamedTuple

from ._checks import check_bool
from .batching import check_batching_options, iterate_batches
from .interventions import bind
from .layers import RecurrentLayer
from .network import prepare, sequence_options
from .runner import held_states


class Inference(NamedTuple):
    """X ready to run: `run_batches(net, batches(sequences), start_states=start_states, ...)`."""

    sequences: list  # X as `network.prepare` returns it
    batches: Callable  # sequences -> their mini-batches, in order (`iterate_batches` with the call's options)
    start_states: dict  # {recurrent layer name: held states, one row per sequence}
    plan: object  # the interventions bound to X (an `interventions.Plan`), or None for none
    freeze_padding: bool


def prepare_inference(net, X, where, *, mini_batch_size, sequence_length, sequence_padding_direction, sequence_padding_value, freeze_padding, interventions, stop=None):
    """Check the options of `where` (as `ll.predict` documents them), prepare X, and bind the interventions.

    stop: the run goes through net.layers[:stop] only (`ll.activations`).
    """
    sequences = prepare(net, X, where)
    o = sequence_options(  # the network's own for those not given
        net,
        sequence_length=sequence_length,
        sequence_padding_direction=sequence_padding_direction,
        sequence_padding_value=sequence_padding_value,
        freeze_padding=freeze_padding,
    )
    freeze_padding = check_bool(o["freeze_padding"], "freeze_padding", where)
    options = check_batching_options(mini_batch_size, o["sequence_length"], o["sequence_padding_direction"], "never", False, where)
    recurrent = [layer for layer in net.layers[:stop] if isinstance(layer, RecurrentLayer)]
    start = held_states(recurrent, len(sequences), where)
    batches = functools.partial(iterate_batches, targets=None, per_step=False, seed=None, epoch=0, padding_value=o["sequence_padding_value"], **options)
    plan = bind(net, interventions, sequences, where, batches=batches, start_states=start, freeze_padding=freeze_padding, stop=stop)
    return Inference(sequences, batches, start, plan, freeze_padding)
