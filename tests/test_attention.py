"""Attention (Luong et al. 2015) against its NumPy reference lines, its mask, and its parameters."""

import numpy as np
import pytest
import torch

from lstmlab import reference
from lstmlab.attention import Attention


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_attention_equals_the_numpy_reference_lines(score):
    torch.manual_seed(0)
    attend = Attention(score, 5).double()
    rng = np.random.default_rng(1)
    h, memory = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 4, 5))  # (B, T, H), (B, S, H)
    lengths = [4, 2]  # the second source has two padded steps
    mask = np.arange(4)[None, :] < np.array(lengths)[:, None]
    with torch.no_grad():
        h_tilde, alpha = attend(torch.as_tensor(h), torch.as_tensor(memory), torch.as_tensor(mask))
    weights = {name: p.detach().numpy() for name, p in attend.named_parameters()}
    for b, S in enumerate(lengths):
        for t in range(3):
            step = reference.attention_step(h[b, t], memory[b, :S], weights["W_c"], score, weights.get("W_a"), weights.get("v_a"))
            np.testing.assert_allclose(alpha[b, t, :S].numpy(), step.alpha, rtol=0, atol=1e-10)
            np.testing.assert_allclose(h_tilde[b, t].numpy(), step.h_tilde, rtol=0, atol=1e-10)
            assert abs(step.alpha.sum() - 1) < 1e-12
    assert torch.all(alpha[1, :, 2:] == 0)  # padding gets exactly nothing


def test_the_parameters_of_each_score():
    shapes = {score: {n: tuple(p.shape) for n, p in Attention(score, 6).named_parameters()} for score in ("dot", "general", "additive")}
    assert shapes == {
        "dot": {"W_c": (6, 12)},
        "general": {"W_c": (6, 12), "W_a": (6, 6)},
        "additive": {"W_c": (6, 12), "W_a": (6, 12), "v_a": (6,)},
    }


def test_an_unknown_score_is_refused():
    with pytest.raises(ValueError, match=r"attention.*'dot', 'general', 'additive'.*'bahdanau'"):
        Attention("bahdanau", 4)


# --- interventions on the weights ----------------------------------------------------------------

import lstmlab as ll  # noqa: E402
from lstmlab.seq2seq import bind_attention, teacher_forced_outputs  # noqa: E402

SOURCES = [np.array([3, 1, 4, 1, 5, 9]), np.array([2, 6]), np.array([5, 3, 5, 8])]  # lengths 6, 2, 4
TARGETS = [np.array([2, 7, 1]), np.array([8, 2, 8, 1, 8]), np.array([4])]  # 4, 6 and 2 output steps


def look(t, s):
    """Output step t looks at source step s only: every weight of step t to 0, then s's to 1."""
    return [ll.Intervention("attention", "weights", steps=t, set=0.0), ll.Intervention("attention", "weights", steps=t, units=s, set=1.0)]


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_forcing_one_output_step_onto_one_source_step_equals_the_reference_with_those_weights(score):
    torch.manual_seed(0)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=5, embedding_dimension=3, attention=score).double()
    t, s = 1, 3  # source 1 has only 2 steps: step 3 is padding there, which stays 0
    tr = ll.trace_encoder_decoder(model, SOURCES, TARGETS, interventions=look(t, s))
    clean = ll.trace_encoder_decoder(model, SOURCES, TARGETS)
    assert tr.max_error < 1e-10 and len(tr.interventions) == 2  # the LSTMs' self-check holds
    for name in ("encoder", "decoder"):  # no input feeding: the LSTMs compute what they computed
        assert np.array_equal(tr[name].h, clean[name].h) and np.array_equal(tr[name].c, clean[name].c)
    assert tr.attention[0, t].tolist() == [0, 0, 0, 1, 0, 0] and tr.attention[2, t].tolist() == [0, 0, 0, 1, 0, 0]
    assert np.all(tr.attention[1, t] == 0)  # source step 3 is past source 1's end: the weight stays 0
    assert np.all(tr.attention[2, 2:] == 0)  # output step 2 is past pair 2's output: left alone
    others = np.arange(tr.attention.shape[1]) != t
    assert np.array_equal(tr.attention[:, others], clean.attention[:, others])  # every other step as without it
    log_p, alpha = teacher_forced_outputs(model, SOURCES, TARGETS, plan=bind_attention(model, look(t, s), SOURCES, "test", targets=TARGETS))
    clean_log_p, _ = teacher_forced_outputs(model, SOURCES, TARGETS)
    weights = {name: p.detach().numpy() for name, p in model.attend.named_parameters()}
    W_y, b_y = model.decoder["fc"].weights.detach().numpy(), model.decoder["fc"].bias.detach().numpy()
    for n, x in enumerate(SOURCES):
        forced = np.eye(6)[s][: len(x)]  # one-hot at s over the real steps (all 0 when s is past the end)
        step = reference.attention_step(tr["decoder"].h[n, t], tr["encoder"].h[n, : len(x)], weights["W_c"], score, weights.get("W_a"), weights.get("v_a"), alpha=forced)
        scores = W_y @ step.h_tilde + b_y  # the fully connected layer reads h_tilde with the forced context
        np.testing.assert_allclose(alpha[n][t], forced, rtol=0, atol=0)
        np.testing.assert_allclose(log_p[n][t], scores - np.log(np.exp(scores).sum()), rtol=0, atol=1e-10)
        np.testing.assert_array_equal(np.delete(log_p[n], t, 0), np.delete(clean_log_p[n], t, 0))


def test_a_free_running_decode_follows_the_forced_weights():
    torch.manual_seed(4)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=6, embedding_dimension=3, attention="dot").double()
    model.decoder["fc"].bias.data[-1] = -5.0  # <end> unlikely: every answer runs to max_length
    model.attend.W_c.data *= 4  # the context weighs more than an untrained model gives it
    t, s = 2, 1
    clean = ll.decode(model, SOURCES, max_length=5)
    forced = ll.decode(model, SOURCES, max_length=5, interventions=look(t, s))
    assert all(len(y) == 5 for y in clean + forced)
    assert all(a[:t].tolist() == b[:t].tolist() for a, b in zip(clean, forced))  # the steps before t are unchanged
    moved = ll.sequence_log_probability(model, SOURCES, forced, interventions=look(t, s)) - ll.sequence_log_probability(model, SOURCES, forced)
    assert np.all(np.abs(moved) > 1e-4)  # the forced step changes what the model expects
    tr = ll.trace_encoder_decoder(model, SOURCES, forced, interventions=look(t, s))  # what the decoder computed while writing
    weights = model.attend.W_c.detach().numpy()
    W_y, b_y = model.decoder["fc"].weights.detach().numpy(), model.decoder["fc"].bias.detach().numpy()
    for n, (x, y) in enumerate(zip(SOURCES, forced)):
        alpha = tr.attention[n, t, : len(x)]
        assert alpha.tolist() == np.eye(len(x))[s].tolist()
        step = reference.attention_step(tr["decoder"].h[n, t], tr["encoder"].h[n, : len(x)], weights, "dot", alpha=alpha)
        assert int(np.argmax(W_y @ step.h_tilde + b_y)) + 1 == y[t]  # the token written at step t reads the forced context
    best = ll.decode(model, SOURCES, max_length=5, beam_width=3, k_best=3, interventions=look(t, s))
    for x, answers in zip(SOURCES, best):  # the beam's log-probabilities are the intervened model's
        Y = [y for y, _ in answers]  # open at max_length: log p of their 5 tokens, no <end>
        log_p, _ = teacher_forced_outputs(model, [x] * len(Y), Y, plan=bind_attention(model, look(t, s), [x] * len(Y), "test", targets=Y))
        expected = [p[np.arange(len(y)), y - 1].sum() for p, y in zip(log_p, Y)]
        np.testing.assert_allclose([p for _, p in answers], expected, rtol=0, atol=1e-10)


def test_an_empty_list_gives_the_clean_results_bit_for_bit():
    torch.manual_seed(5)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=6, embedding_dimension=3, attention="general")
    for interventions in ([], None):
        assert [y.tolist() for y in ll.decode(model, SOURCES, max_length=6, beam_width=2, interventions=interventions)] == [
            y.tolist() for y in ll.decode(model, SOURCES, max_length=6, beam_width=2)]
        assert np.array_equal(ll.trace_encoder_decoder(model, SOURCES, TARGETS, interventions=interventions).attention,
                              ll.trace_encoder_decoder(model, SOURCES, TARGETS).attention)
        assert np.array_equal(ll.sequence_log_probability(model, SOURCES, TARGETS, interventions=interventions),
                              ll.sequence_log_probability(model, SOURCES, TARGETS))


def test_scale_fn_masks_and_sources_act_on_the_weights():
    torch.manual_seed(6)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=6, embedding_dimension=3, attention="additive")
    clean = ll.trace_encoder_decoder(model, SOURCES, TARGETS).attention
    drop_first = [ll.Intervention("attention", "weights", units=0, scale=0.0),  # source step 0 ablated, the rest renormalized
                  ll.Intervention("attention", "weights", fn=lambda w: w / w.sum(-1, keepdim=True))]
    tr = ll.trace_encoder_decoder(model, SOURCES, TARGETS, interventions=drop_first).attention
    for n, (x, y) in enumerate(zip(SOURCES, TARGETS)):
        rows = tr[n, : len(y) + 1]
        np.testing.assert_allclose(rows.sum(1), 1, rtol=0, atol=1e-6)
        assert np.all(rows[:, 0] == 0) and np.all(tr[n, :, len(x):] == 0)
        np.testing.assert_allclose(rows[:, 1:], clean[n, : len(y) + 1, 1:] / clean[n, : len(y) + 1, 1:].sum(1, keepdims=True), rtol=1e-5)
    mask = np.zeros((3, 6), dtype=bool)
    mask[1, 4] = True  # pair 1, output step 4 only
    tr = ll.trace_encoder_decoder(model, SOURCES, TARGETS, interventions=[ll.Intervention("attention", "weights", steps=mask, add=1.0)]).attention
    changed = np.argwhere(tr != clean)
    assert changed[:, :2].tolist() == [[1, 4], [1, 4]] and np.allclose(tr[1, 4, :2], clean[1, 4, :2] + 1)
    other = [np.array([9, 9, 9, 9, 9, 9]), np.array([1, 1]), np.array([7, 2, 7, 2])]  # as long as SOURCES, one each
    patched = ll.trace_encoder_decoder(model, SOURCES, TARGETS, interventions=[ll.Intervention("attention", "weights", source=other)]).attention
    assert np.array_equal(patched, ll.trace_encoder_decoder(model, other, TARGETS).attention)  # the other sources' weights
    log_p = ll.sequence_log_probability(model, SOURCES, TARGETS, interventions=[ll.Intervention("attention", "weights", source=SOURCES)])
    np.testing.assert_allclose(log_p, ll.sequence_log_probability(model, SOURCES, TARGETS), rtol=0, atol=1e-6)  # patched with itself


def test_interventions_that_do_not_fit_are_refused_with_the_fix():
    torch.manual_seed(7)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=5, embedding_dimension=3, attention="dot")
    weights = ll.Intervention("attention", "weights", set=0.5)
    cases = [
        (lambda: ll.decode(ll.EncoderDecoder(9, 8, num_hidden_units=5), SOURCES, interventions=[weights]),
         r"decode: interventions\[0\] acts on the attention, but this model has none \(it was made with attention=None\); make it with ll.EncoderDecoder\(\.\.\., attention='dot'"),
        (lambda: ll.trace_encoder_decoder(model, SOURCES, TARGETS, interventions=[weights, ll.Intervention("attention", "weights", steps=6, set=0.0)]),
         r"trace_encoder_decoder: interventions\[1\]: steps must be integers in 0..5 \(the output steps; the longest output here has 6, its tokens and <end>\).*got \(6,\)"),
        (lambda: ll.decode(model, SOURCES, max_length=4, interventions=[ll.Intervention("attention", "weights", steps=[1, 4], set=0.0)]),
         r"decode: interventions\[0\]: steps must be integers in 0..3 \(the output steps decode writes, at most max_length=4\)"),
        (lambda: ll.sequence_log_probability(model, SOURCES, TARGETS, interventions=[ll.Intervention("attention", "weights", units=6, set=0.0)]),
         r"sequence_log_probability: interventions\[0\]: units must be integers in 0..5 \(the source steps; the longest source of X has 6\).*got \(6,\)"),
        (lambda: ll.decode(model, SOURCES, interventions=[ll.Intervention("decoder", "f", set=1.0)]),
         r"decode: interventions\[0\] names layer 'decoder'; on an encoder–decoder, interventions act on the attention: ll.Intervention\('attention', 'weights'.*ll.trace\(model.decoder"),
        (lambda: ll.decode(model, SOURCES, interventions=[ll.Intervention("attention", "h", set=1.0)]),
         r"decode: interventions\[0\] changes quantity 'h', but the attention computes 'weights'.*use quantity 'weights'"),
        (lambda: ll.Intervention("attention", "alpha", set=1.0),
         r"Intervention: quantity must be one of .* or 'weights' \(an encoder–decoder's attention\); got 'alpha'"),
        (lambda: ll.decode(model, SOURCES, interventions=[ll.Intervention("attention", "weights", source=SOURCES)]),
         r"decode: interventions\[0\]: source= takes the weights the model gives other sources at the same output steps, so the output must be given: .*decode\(\.\.\., targets=Y\)"),
        (lambda: ll.trace_encoder_decoder(model, SOURCES, TARGETS, interventions=[ll.Intervention("attention", "weights", source=SOURCES[::-1])]),
         r"trace_encoder_decoder: interventions\[0\]: source holds 3 sources of lengths \[4, 2, 6\], but X holds 3 of lengths \[6, 2, 4\]; give one source per source of X, each as long as its partner"),
        (lambda: ll.decode(model, SOURCES, interventions=[ll.Intervention("attention", "weights", units=[0, 1], set=[1.0, 0.0, 0.0])]),
         r"decode: interventions\[0\]: set has 3 values but units chooses 2 source steps; give one number, or one per source step"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(TypeError, match=r"decode: interventions must be a list of ll.Intervention; got Intervention"):
        ll.decode(model, SOURCES, interventions=weights)


def test_the_readme_example_runs():
    import pathlib
    import re

    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"To make output step 2 look at source step 4 only:\n\n```python\n(.*?)```", readme, re.S).group(1)
    torch.manual_seed(8)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=5, embedding_dimension=3, attention="dot")
    model.decoder["fc"].bias.data[-1] = -5.0  # long answers: step 2 is written
    names = {"ll": ll, "model": model, "X": [SOURCES[0], np.array([2, 6, 5, 3, 5, 8])]}  # both longer than 4
    exec(compile(block, "README attention interventions", "exec"), names)
    assert np.all(names["tr"].attention[:, 2] == np.eye(6)[4])
