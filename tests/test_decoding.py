"""Decoding: greedy equals beam search of width 1, a wider beam never ranks below greedy, the k best."""

import itertools

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.seq2seq import teacher_forced_outputs


@pytest.fixture(scope="module")
def half_trained():
    """A model trained a little on reversing 1-4 digits: sure of some answers, unsure of others."""
    rng = np.random.default_rng(0)
    sources = [rng.integers(1, 6, size=rng.integers(1, 5)) for _ in range(120)]
    torch.manual_seed(0)
    model = ll.EncoderDecoder(5, 5, num_hidden_units=8, embedding_dimension=4, attention="dot")
    options = ll.training_options(max_epochs=6, mini_batch_size=20, initial_learn_rate=0.02, verbose=False, seed=0)
    model = ll.train_encoder_decoder(sources, [s[::-1] for s in sources], model, options)
    return model, [rng.integers(1, 6, size=rng.integers(1, 7)) for _ in range(60)]


def greedy_by_hand(model, x, max_length):
    """Greedy decoding from teacher forcing alone: the most probable next token given the prefix."""
    written = []
    for _ in range(max_length):
        log_p, _ = teacher_forced_outputs(model, [x], [np.array(written, dtype=np.int64)])
        token = int(log_p[0][-1].argmax()) + 1  # the last step guesses what follows the prefix
        if token == model.end:
            break
        written.append(token)
    return written


@pytest.mark.parametrize("attention", [None, "additive"])
def test_beam_width_one_is_greedy_decoding(half_trained, attention):
    model, sources = half_trained
    if attention is None:
        torch.manual_seed(3)
        model = ll.EncoderDecoder(5, 5, num_hidden_units=8, embedding_dimension=4)
    sources = sources[:12]
    decoded = ll.decode(model, sources, beam_width=1, max_length=8)
    assert [y.tolist() for y in decoded] == [greedy_by_hand(model, x, 8) for x in sources]
    assert [y.tolist() for y in ll.decode(model, sources, max_length=8, length_penalty=2.0)] == [y.tolist() for y in decoded]


def test_a_wider_beam_never_returns_a_less_probable_answer_than_greedy(half_trained):
    model, sources = half_trained
    greedy = ll.decode(model, sources, max_length=12)
    assert all(len(y) < 12 for y in greedy)  # every answer ended: its log p counts <end>
    greedy_log_p = ll.sequence_log_probability(model, sources, greedy)
    gains = []
    for width in (2, 3, 5):
        beam = ll.decode(model, sources, beam_width=width, max_length=12)
        beam_log_p = ll.sequence_log_probability(model, sources, beam)
        assert np.all(beam_log_p >= greedy_log_p - 1e-9), width
        gains.append(np.sum(beam_log_p > greedy_log_p + 1e-6))
    assert gains[-1] >= 3  # the beam finds more probable answers than greedy for some sources


def test_the_k_best_come_ranked_with_their_log_probabilities(half_trained):
    model, sources = half_trained
    best = ll.decode(model, sources[:10], beam_width=4, k_best=4, max_length=12)
    single = ll.decode(model, sources[:10], beam_width=4, max_length=12)
    for x, answers, first in zip(sources, best, single):
        assert 1 <= len(answers) <= 4 and answers[0][0].tolist() == first.tolist()
        log_p = [p for _, p in answers]
        assert log_p == sorted(log_p, reverse=True) and len({tuple(y.tolist()) for y, _ in answers}) == len(answers)
        np.testing.assert_allclose(log_p, ll.sequence_log_probability(model, [x] * len(answers), [y for y, _ in answers]), rtol=0, atol=1e-5)
    assert sum(len(a) for a in best) > 10  # more than one answer for some sources
    one = ll.decode(model, sources[0], beam_width=2, k_best=2, max_length=12)
    assert isinstance(one, list) and one[0][0].tolist() == best[0][0][0].tolist()


def test_a_length_penalty_ranks_longer_answers_higher(half_trained):
    model, sources = half_trained
    plain = ll.decode(model, sources, beam_width=5, max_length=12)
    penalized = ll.decode(model, sources, beam_width=5, max_length=12, length_penalty=3.0)
    assert sum(len(y) for y in penalized) >= sum(len(y) for y in plain)
    assert ll.sequence_log_probability(model, sources, plain).sum() >= ll.sequence_log_probability(model, sources, penalized).sum() - 1e-9


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"beam_width": 0}, ValueError, r"decode: beam_width must be a positive integer; got 0"),
        ({"length_penalty": -1}, ValueError, r"decode: length_penalty must be .*got -1"),
        ({"beam_width": 2, "k_best": 4}, ValueError, r"decode: k_best=4 asks for more answers than a beam of beam_width=2 keeps; give k_best <= 3"),
        ({"beam_width": 2, "targets": [np.array([1])]}, ValueError, r"decode: targets \(teacher forcing\) read the true tokens, so there is nothing to search"),
    ],
)
def test_bad_options_are_refused(half_trained, options, error, message):
    model, sources = half_trained
    with pytest.raises(error, match=message):
        ll.decode(model, sources[:1], **options)


def test_log_probability_of_one_pair_and_of_a_table():
    sources = [np.array(s) for s in itertools.product([1, 2], repeat=2)]
    torch.manual_seed(0)
    model = ll.EncoderDecoder(2, 2, num_hidden_units=4, embedding_dimension=2)
    log_p = ll.sequence_log_probability(model, sources, sources)
    assert log_p.shape == (4,) and np.all(log_p < 0)
    assert ll.sequence_log_probability(model, sources[1], sources[1]) == pytest.approx(log_p[1], abs=1e-6)


def test_edit_distance_aligns_before_it_counts():
    assert ll.edit_distance([1, 2, 3, 4], [1, 2, 3, 4]) == 0
    assert ll.edit_distance([1, 2, 3, 4], [1, 3, 4]) == 1  # one dropped token, not three wrong positions
    assert ll.edit_distance([1, 3, 4], [1, 2, 3, 4]) == 1 and ll.edit_distance(np.array([7]), np.array([], dtype=int)) == 1
    assert ll.edit_distance([1, 2, 3], [3, 2, 1]) == 2 and ll.edit_distance("kitten", "sitting") == 3
