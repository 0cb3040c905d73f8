import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.batching import iterate_batches
from lstmlab.runner import held_states, keep_states, run_batches

from helpers import naming

C, H = 2, 3


def network():
    torch.manual_seed(0)
    return ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H), ll.fully_connected_layer(2)])


def batches(sequences, targets=None, per_step=False, mini_batch_size=2, sequence_length="longest"):
    return iterate_batches(
        sequences,
        targets,
        per_step,
        mini_batch_size=mini_batch_size,
        sequence_length=sequence_length,
        direction="right",
        shuffle="never",
        sort=False,
        seed=None,
        epoch=0,
        padding_value=0,
    )


def data(lengths=(6, 4, 5)):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(T, C)).astype(np.float32) for T in lengths]


def test_chunks_carry_the_state_so_they_equal_the_whole_mini_batch():
    net, X = network(), data()
    with ll.runner.evaluating(net):
        whole = [p.output for p in run_batches(net, batches(X))]
        chunks = list(run_batches(net, batches(X, sequence_length=2)))
    assert [(p.batch.chunk, p.x.shape) for p in chunks] == [(0, (2, 2, C)), (1, (2, 2, C)), (2, (2, 2, C)), (0, (1, 2, C)), (1, (1, 2, C)), (2, (1, 2, C))]
    torch.testing.assert_close(torch.cat([p.output for p in chunks[:3]], 1), whole[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(torch.cat([p.output for p in chunks[3:]], 1)[:, :5], whole[1], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(chunks[2].mask.numpy(), [[True, True], [False, False]])
    assert set(chunks[0].finals) == {"lstm"} and chunks[0].finals["lstm"][1].shape == (2, H)


def test_each_mini_batch_starts_from_its_sequences_held_states():
    net, X = network(), data()
    held = {"lstm": (torch.arange(3 * H, dtype=torch.float32).view(3, H) / 10, torch.zeros(3, H))}
    with ll.runner.evaluating(net):
        second = list(run_batches(net, batches(X), start_states=held))[1]  # sequence 2 alone
        alone = net.run(torch.as_tensor(X[2])[None], states={"lstm": (held["lstm"][0][2:], held["lstm"][1][2:])})[0]
    np.testing.assert_array_equal(second.batch.indices, [2])
    torch.testing.assert_close(second.output, alone, rtol=0, atol=0)


def test_targets_come_as_long_codes_or_in_the_network_dtype():
    net, X = network(), data()
    codes = list(run_batches(net, batches(X, np.array([1, 0, 1]))))
    responses = list(run_batches(net, batches(X, np.array([[0.5], [1.5], [2.5]]))))
    assert codes[0].y.dtype == torch.int64 and codes[0].y.tolist() == [1, 0]
    assert responses[1].y.dtype == torch.float32 and responses[1].y.tolist() == [[2.5]]
    assert list(run_batches(net, batches(X)))[0].y is None


def test_run_recurrent_is_told_the_mini_batch():
    net, X = network(), data()
    seen = []

    def run_recurrent(batch, layer, x, states, mask):
        seen.append((layer.name, batch.indices.tolist(), tuple(x.shape)))
        return layer.run(x, states, mask)

    with ll.runner.evaluating(net):
        list(run_batches(net, batches(X), run_recurrent=run_recurrent))
    assert seen == [("lstm", [0, 1], (2, 6, C)), ("lstm", [2], (1, 5, C))]


def test_held_states_and_keep_states_are_inverse():
    net = network()
    layer = net["lstm"]
    held = held_states([layer], 3, "predict")
    assert [tuple(s.shape) for s in held["lstm"]] == [(3, H), (3, H)]
    finals = {"lstm": {(0, 2): (torch.ones(2, H), 2 * torch.ones(2, H)), (1,): (3 * torch.ones(1, H), 4 * torch.ones(1, H))}}
    keep_states([layer], finals, 3)
    np.testing.assert_array_equal(layer.hidden_state[:, 0].numpy(), [1, 3, 1])
    np.testing.assert_array_equal(held_states([layer], 3, "predict")["lstm"][1][:, 0].numpy(), [2, 4, 2])
    with pytest.raises(ValueError, match=naming("predict: layer 'lstm' holds states for 3 sequences", "X has 2", "ll.reset_state(net)")):
        held_states([layer], 2, "predict")
