"""What `ll.predict` and `ll.trace` do before they run X through a network, written once."""

import functools

from ._checks import check_bool
from .batching import check_batching_options, iterate_batches
from .interventions import bind
from .layers import RecurrentLayer
from .network import sequence_options
from .preparation import prepare
from .runner import held_states


def prepare_inference(
    net, X, where, *, mini_batch_size, sequence_length=None, sequence_padding_direction=None, sequence_padding_value=None, freeze_padding=None, interventions=None, until=None
):
    """Check the options of `where` as `ll.predict` documents them, with its defaults (a sequence
    option not given is the network's own), prepare X, and bind the interventions to it; until: the
    run goes through net.layers[:until] only (`ll.activations`).

    Returns what `runner.run_batches` takes: sequences (X prepared), batches (sequences -> their
    mini-batches, in order), start_states (`runner.held_states`), plan (the interventions bound to X,
    or None) and freeze_padding (checked).
    """
    sequences = prepare(net, X, where)
    given = dict(sequence_length=sequence_length, sequence_padding_direction=sequence_padding_direction, sequence_padding_value=sequence_padding_value)
    o = sequence_options(net, freeze_padding=freeze_padding, **given)  # the network's own for those not given
    freeze_padding = check_bool(o["freeze_padding"], "freeze_padding", where)
    options = check_batching_options(mini_batch_size, o["sequence_length"], o["sequence_padding_direction"], "never", False, where)
    start = held_states([layer for layer in net.layers[:until] if isinstance(layer, RecurrentLayer)], len(sequences), where)
    batches = functools.partial(iterate_batches, targets=None, per_step=False, seed=None, epoch=0, padding_value=o["sequence_padding_value"], **options)
    plan = bind(net, interventions, sequences, where, batches=batches, start_states=start, freeze_padding=freeze_padding, until=until)
    return sequences, batches, start, plan, freeze_padding
