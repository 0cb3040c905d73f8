"""Decoding an encoder–decoder: greedy, beam search, and the log-probability of a given answer.

Decoding writes the answer one token at a time, each step reading the token written before
(<start> first), until <end>. Greedy decoding keeps the most probable token at every step. Beam
search (as in Sutskever, Vinyals and Le 2014) keeps the k most probable partial answers
("hypotheses") instead: at every step each of the k is extended by every token, and the k most
probable of the extensions live on; a hypothesis that writes <end> is finished. With k = 1 that
is greedy decoding, step for step.

Hypotheses of different lengths are ranked by log p(y | x) / lp(y), with Wu et al.'s (2016)
length penalty lp(y) = ((5 + |y|) / 6) ** alpha, |y| the tokens written, <end> included; alpha = 0
(the default) ranks by the log-probability itself, which favours short answers (every token
multiplies p by a number below 1).

Beam search prunes on the partial answers' log-probabilities, so it can drop the prefix of the
greedy answer on the way and end with an answer that is less probable than greedy's. `decode`
keeps the greedy answer among the candidates, so that a wider beam never returns an answer that
ranks below greedy's.
"""

import numpy as np
import torch

from ._checks import check_nonnegative, check_positive_int
from .data import pad
from .seq2seq import _check_model, _targets_for, _token_sequences, bind_attention, checked_pairs, encode, run_decoder, teacher_forced_outputs


def decode(model, X, *, targets=None, beam_width=1, length_penalty=0.0, k_best=None, max_length=100, mini_batch_size=128, interventions=None):
    """The output for each source: greedy (beam_width=1) or by beam search.

    Args:
        model: an `ll.EncoderDecoder`.
        X: the sources, a list of 1-D integer arrays of ids, or one such array.
        targets: None: free running, each step reads the decoder's own previous output, until it
            writes <end> or max_length tokens. Or the true targets, one per source: teacher forcing,
            as in training, each step reads the true previous token, and the answer holds the
            (greedy) guess at each of the target's steps.
        beam_width: k, the hypotheses kept at every step (default 1: greedy decoding).
        length_penalty: alpha >= 0 of the ranking log p / ((5 + |y|) / 6) ** alpha (default 0:
            rank by log p). Larger values favour longer answers.
        k_best: None (default): one answer per source. An int: for each source the k_best
            highest-ranked distinct answers, best first, as (tokens, log-probability) pairs: at
            most k_best, fewer where the search finished fewer (k_best <= beam_width, or
            beam_width + 1 for a beam wider than 1: its hypotheses and the greedy answer).
        max_length: the most tokens written for one source when free running (default 100);
            a hypothesis that reaches it without <end> counts as finished there.
        mini_batch_size: sources per forward pass (default 128); a beam runs k times as many rows.
        interventions: None, or a list of `ll.Intervention("attention", "weights", ...)`: steps
            are output steps (0..max_length - 1 running free, 0..len(y) with targets), units source
            steps; every step of the search reads the weights as they leave them (see
            `lstmlab.interventions`). An empty list gives the clean answers, bit for bit.

    Returns:
        A list of 1-D integer arrays of target ids, without <end>; for one source, one array.
        With k_best: a list (one per source) of lists of (ids, log p(ids, <end> | source)); for
        one source, its list.

    >>> from lstmlab.seq2seq import EncoderDecoder
    >>> model = EncoderDecoder(10, 30, num_hidden_units=8)
    >>> len(decode(model, np.array([3, 1, 4]), max_length=5)) <= 5
    True
    """
    where = "decode"
    _check_model(model, where)
    max_length = check_positive_int(max_length, "max_length", where)
    beam_width = check_positive_int(beam_width, "beam_width", where)
    alpha = check_nonnegative(length_penalty, "length_penalty", where)
    mini_batch_size = check_positive_int(mini_batch_size, "mini_batch_size", where)
    if k_best is not None:
        k_best = check_positive_int(k_best, "k_best", where)
        if k_best > beam_width + (beam_width > 1):
            raise ValueError(
                f"{where}: k_best={k_best} asks for more answers than a beam of beam_width={beam_width} keeps; give "
                f"k_best <= {beam_width + (beam_width > 1)}, or a wider beam_width."
            )
    one = isinstance(X, np.ndarray) and X.ndim == 1
    sources = _token_sequences(X, "X", "source_words", model.source_words, where, one=True)
    if targets is not None:
        if beam_width != 1 or k_best is not None:
            raise ValueError(f"{where}: targets (teacher forcing) read the true tokens, so there is nothing to search; drop beam_width and k_best.")
        Y = _targets_for(model, targets, sources, where, one=one)
        plan = bind_attention(model, interventions, sources, where, targets=Y, mini_batch_size=mini_batch_size)
        log_p, _ = teacher_forced_outputs(model, sources, Y, mini_batch_size, plan)
        written = [p[:-1].argmax(-1) + 1 for p in log_p]  # the guesses of y_1 ... y_T (class k is the id k + 1)
        return written[0] if one else written
    plan = bind_attention(model, interventions, sources, where, max_length=max_length)
    answers = []
    for start in range(0, len(sources), mini_batch_size):
        part = sources[start : start + mini_batch_size]
        rows = np.arange(start, start + len(part))  # the rows of X, for the interventions
        found = _search(model, part, 1, max_length, alpha, plan, rows)  # greedy
        if beam_width > 1:
            found = [a + b for a, b in zip(found, _search(model, part, beam_width, max_length, alpha, plan, rows))]
        for candidates in found:
            answers.append(_ranked(candidates, alpha)[: k_best or 1])
    if k_best is None:
        answers = [a[0][0] for a in answers]
    return answers[0] if one else answers


def sequence_log_probability(model, X, Y, *, mini_batch_size=128, interventions=None):
    """log p(y_1 ... y_T, <end> | x) for each pair under the model, float64: the sum over the
    decoder's steps of the log-probability of the true token, reading the true previous ones.

    Args:
        model: an `ll.EncoderDecoder`.
        X: the sources, a list of 1-D integer arrays of ids, or one such array.
        Y: one target per source (for one source, one array).
        mini_batch_size: sources per forward pass (default 128).
        interventions: None, or a list of `ll.Intervention("attention", "weights", ...)` (output
            steps 0..len(y), source steps), as in `trace_encoder_decoder`.

    Returns:
        An (N,) float64 array; for one source, a float.
    """
    where = "sequence_log_probability"
    sources, targets, plan, one = checked_pairs(model, X, Y, interventions, mini_batch_size, where)
    log_p, _ = teacher_forced_outputs(model, sources, targets, mini_batch_size, plan)
    _, outputs = model.teacher_forcing(targets)  # y_1 ... y_T, <end>
    total = np.array([p[np.arange(len(y)), y - 1].sum() for p, y in zip(log_p, outputs)])
    return float(total[0]) if one else total


def _ranked(candidates, alpha):
    """Distinct (ids, log p) candidates, best first by log p / ((5 + |y|) / 6) ** alpha (|y| with <end>)."""
    best = {}
    for ids, log_p in candidates:
        key = tuple(ids.tolist())
        best[key] = max(best.get(key, -np.inf), log_p)
    rank = sorted(best.items(), key=lambda item: -item[1] / ((5 + len(item[0]) + 1) / 6) ** alpha)
    return [(np.array(ids, dtype=np.int64), float(log_p)) for ids, log_p in rank]


@torch.no_grad()
def _search(model, sources, k, max_length, alpha, plan=None, rows=None):
    """Beam search with k hypotheses for each source (k = 1: greedy): for each source, the
    hypotheses that finished, [(ids without <end>, log p)], and those still open at max_length.
    plan: an `AttentionPlan` (interventions on the weights) or None; rows: the sources' rows of X.

    A source stops when k of its hypotheses have finished, or, ranking by log p alone (alpha = 0),
    when its best finished log p is at least the best open one's (an open one can only lose
    probability).
    """
    N, V = len(sources), model.end  # V: the classes, the target ids and <end>
    like = model.decoder.layers[0].like
    source, source_mask = pad([x[:, None] for x in sources], "longest", "right", 0)
    source_mask = torch.as_tensor(source_mask, device=like.device)  # (N, S)
    memory, finals = encode(model, torch.as_tensor(source).to(like), source_mask)  # (N, S, H)
    memory, memory_mask = memory.repeat_interleave(k, 0), source_mask.repeat_interleave(k, 0)  # (N k, S, H), (N k, S)
    h, c = (s.repeat_interleave(k, 0) for s in finals["encoder"])  # each (N k, H): every hypothesis starts there
    score = torch.full((N, k), -torch.inf, dtype=torch.float64)  # log p of each open hypothesis
    score[:, 0] = 0.0  # one hypothesis to start with: nothing written yet
    written = np.zeros((N, k, 0), dtype=np.int64)  # (N, k, t) the ids of each open hypothesis
    token = torch.full((N * k,), float(model.start))  # (N k,) what each hypothesis reads next
    finished = [[] for _ in range(N)]
    real = torch.ones((N * k, 1), dtype=torch.bool, device=like.device)  # one real step
    for step in range(max_length):
        x = token.to(like)[:, None, None]  # (N k, 1, 1)
        edit = None if plan is None else plan.edit(np.repeat(rows, k), max_length, like, step=step)  # each hypothesis its source's
        output, states, _, _ = run_decoder(model, x, real, {"decoder": (h, c)}, memory, memory_mask, stop=-1, edit=edit)
        log_p = torch.log_softmax(output[:, 0].double().cpu(), dim=-1).view(N, k, V)  # (N, k, V)
        extended = (score[:, :, None] + log_p).view(N, k * V)  # (N, k V): every hypothesis with every token
        score, index = extended.topk(k, dim=1)  # (N, k): the k most probable extensions
        beam, ids = (index // V).numpy(), (index % V).numpy() + 1  # which hypothesis, and the id it wrote
        written = np.concatenate([written[np.arange(N)[:, None], beam], ids[:, :, None]], axis=2)
        ended = (ids == model.end) & torch.isfinite(score).numpy()
        for n, j in zip(*np.nonzero(ended)):
            finished[n].append((written[n, j, :-1], float(score[n, j])))
        score[torch.as_tensor(ended)] = -torch.inf  # a finished hypothesis is extended no more
        for n in range(N):
            best_open = float(score[n].max())
            if finished[n] and (len(finished[n]) >= k or (alpha == 0 and max(p for _, p in finished[n]) >= best_open)):
                score[n] = -torch.inf  # this source is done
        if not torch.isfinite(score).any():
            break
        pick = torch.as_tensor((np.arange(N)[:, None] * k + beam).reshape(-1), device=like.device)  # (N k,)
        h, c = (s[pick] for s in states["decoder"])  # each hypothesis carries its parent's state on
        token = torch.as_tensor(ids.reshape(-1), dtype=torch.float64)
    else:
        for n, j in zip(*np.nonzero(torch.isfinite(score).numpy())):  # open at max_length
            finished[n].append((written[n, j], float(score[n, j])))
    return finished


def edit_distance(a, b):
    """The fewest insertions, deletions and substitutions of tokens that turn a into b (Levenshtein).

    It aligns the two sequences before counting, so an answer that drops one word costs 1, where a
    position-by-position comparison would count every word after the gap as wrong.

    Args:
        a, b: two sequences of tokens (lists or 1-D arrays of ids, or strings).

    Returns:
        The distance, an int: 0 when a equals b, at most max(len(a), len(b)).

    >>> edit_distance([1, 2, 3, 4], [1, 3, 4]), edit_distance([1, 2], [2, 1]), edit_distance([], [5, 5])
    (1, 2, 2)
    """
    a, b = list(np.asarray(a).tolist()), list(np.asarray(b).tolist())
    previous = list(range(len(b) + 1))  # the distances from a[:0] to every b[:j]
    for i, token in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (token != other)))  # delete, insert, substitute
        previous = current
    return previous[-1]
