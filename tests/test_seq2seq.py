"""The encoder–decoder: shapes, the state hand-over, teacher forcing against free running, attention, errors, learning."""

import itertools
import json

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.batching import iterate_batches
from lstmlab import reference
from lstmlab.seq2seq import _pairs, teacher_forced, teacher_forced_outputs

from helpers import naming

X = [np.array([3, 1, 4]), np.array([1, 5]), np.array([9, 2, 6, 5, 3])]  # ids 1..9
Y = [np.array([7, 7]), np.array([1, 2, 3, 4]), np.array([5])]  # ids 1..8


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks train fastest on one thread (and far faster than on two busy ones)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def model():
    return ll.EncoderDecoder(9, 8, num_hidden_units=6, embedding_dimension=3)


def test_the_two_networks_and_the_extra_token(model):
    assert [layer.name for layer in model.encoder.layers] == ["source", "source_embedding", "encoder"]
    assert [layer.name for layer in model.decoder.layers] == ["previous", "target_embedding", "decoder", "fc", "softmax"]
    assert model.start == model.end == 9
    assert model.decoder["target_embedding"].num_words == 9 and model.decoder.output_size == 9  # 8 words and <start> / <end>
    assert model.decoder.class_names == list(range(1, 10))
    assert len(model.learnables()) == len(model.encoder.learnables()) + len(model.decoder.learnables()) == 4 + 6
    assert repr(model).startswith("EncoderDecoder: 9 source words -> 8 target words (<start> and <end> are 9), 597 learnables\nencoder\n")


def test_teacher_forcing_shifts_the_target_by_one(model):
    inputs, targets = model.teacher_forcing([np.array([5, 7]), np.array([], dtype=int)])
    assert [x.tolist() for x in inputs] == [[9, 5, 7], [9]]
    assert [y.tolist() for y in targets] == [[5, 7, 9], [9]]


def _batch(model, sources, targets):
    """The sources as (S_n, 1) arrays and one mini-batch of all the pairs, as training makes it."""
    pairs, coded = _pairs(model, sources, targets, "test")
    batches = iterate_batches(pairs.inputs, coded.values, True, mini_batch_size=len(sources), sequence_length="longest",
                              direction="right", shuffle="never", sort=False, seed=None, epoch=0, padding_value=0)
    return pairs.sources, next(batches)


def test_a_teacher_forced_pass_has_a_score_per_decoder_step(model):
    step = teacher_forced(model, *_batch(model, X, Y), stop=-1)
    assert step.output.shape == (3, 5, 9)  # (B, T + 1, V + 1): the longest target has 4 tokens, then <end>
    assert step.output_mask.sum(1).tolist() == [3, 5, 2]
    assert step.y[0, :3].tolist() == [6, 6, 8]  # 7, 7, <end> as class codes (id - 1)
    assert [s.shape for s in step.finals["encoder"]] == [(3, 6), (3, 6)]


def test_the_decoder_starts_from_the_encoders_final_state_after_the_last_real_token(model):
    alone = [teacher_forced(model, *_batch(model, [x], [y]), stop=-1).output[0] for x, y in zip(X, Y)]
    together = teacher_forced(model, *_batch(model, X, Y), stop=-1).output
    for n, scores in enumerate(alone):  # padding a source to the longest of its mini-batch changes nothing
        torch.testing.assert_close(together[n, : len(scores)], scores, atol=1e-6, rtol=0)
    other = teacher_forced(model, *_batch(model, [np.array([8])], [Y[0]]), stop=-1).output[0]
    assert not torch.allclose(other, alone[0])  # the source reaches the decoder only through the state


def test_teacher_forcing_on_the_decoders_own_output_is_free_running(model):
    free = ll.decode(model, X, max_length=6)
    assert all(len(y) <= 6 and set(y.tolist()) <= set(range(1, 9)) for y in free)
    assert [y.tolist() for y in ll.decode(model, X, targets=free)] == [y.tolist() for y in free]
    forced = ll.decode(model, X, targets=Y)  # fed other tokens, the guesses after the first step follow them
    assert [len(y) for y in forced] == [len(y) for y in Y]
    assert all(f[0] == g[0] for f, g in zip(forced, free) if len(g))  # the first step reads <start> either way


def test_decode_takes_one_source_and_answers_for_it_alone(model):
    both = ll.decode(model, [X[0]], max_length=4)
    one = ll.decode(model, X[0], max_length=4)
    assert isinstance(one, np.ndarray) and one.tolist() == both[0].tolist()
    assert ll.decode(model, X[0], targets=Y[0]).shape == (2,)


def test_the_trace_is_what_the_decoder_computed_from_the_encoders_state(model):
    written = ll.decode(model, X, max_length=6)
    tr = ll.trace_encoder_decoder(model, X, written)
    encoder, decoder = tr["encoder"], tr["decoder"]
    assert list(tr) == ["encoder", "decoder"] and tr.max_error < 1e-5
    assert encoder.h.shape == (3, 5, 6) and decoder.h.shape == (3, max(len(y) for y in written) + 1, 6)
    assert decoder.lengths.tolist() == [len(y) + 1 for y in written]
    last = encoder.lengths - 1
    c_S = encoder.c[np.arange(3), last]  # each source's final cell state
    np.testing.assert_allclose(decoder.c[:, 0], decoder.f[:, 0] * c_S + decoder.i[:, 0] * decoder.g[:, 0], atol=1e-6)
    h = ll.trace_encoder_decoder(model, X[1], written[1])["decoder"].h  # one source alone
    np.testing.assert_allclose(h[0, : len(written[1]) + 1], decoder.h[1, : len(written[1]) + 1], atol=1e-6)
    assert model.decoder["decoder"].hidden_state.shape == (6,)  # the held states are gone again


def test_a_tiny_model_learns_to_reverse_and_double():
    sources = [np.array(s) for n in (1, 2, 3) for s in itertools.product([1, 2, 3], repeat=n)]  # all 39 of them
    targets = [np.repeat(s[::-1], 2) for s in sources]  # [1, 2] -> [2, 2, 1, 1]: twice as long, reversed
    torch.manual_seed(0)
    model = ll.EncoderDecoder(3, 3, num_hidden_units=16, embedding_dimension=4)
    options = ll.training_options(max_epochs=150, mini_batch_size=39, initial_learn_rate=0.05, metrics="accuracy", verbose=False, seed=0)
    model = ll.train_encoder_decoder(sources, targets, model, options)
    history = model.training_history_
    assert len(history) == 150 and history.loss.iloc[-1] < 0.05 * history.loss.iloc[0]
    assert history.accuracy.iloc[-1] == 1.0 and not model.training
    assert [y.tolist() for y in ll.decode(model, sources)] == [y.tolist() for y in targets]


def test_validation_data_and_the_solver_take_the_model(model):
    options = ll.training_options(max_epochs=2, mini_batch_size=2, validation_data=(X, Y), validation_frequency=2, verbose=False)
    history = ll.train_encoder_decoder(X, Y, model, options).training_history_
    assert len(history) == 4 and history.validation_loss.notna().sum() == 2
    before = model.encoder["encoder"].input_weights.detach().clone()
    solver = ll.Solver(model, learn_rate=0.1)
    step = teacher_forced(model, *_batch(model, X, Y), stop=-1)
    torch.nn.functional.cross_entropy(step.output[step.output_mask], step.y[step.output_mask]).backward()
    solver.step()
    assert not torch.equal(model.encoder["encoder"].input_weights, before)  # the gradient reached the encoder


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: ll.decode(m, [np.array([0, 2])]), ValueError, r"decode: X\[0\] holds the id 0 at step 0; ids run from 1 to source_words=9\. .*0 is padding"),
        (lambda m: ll.decode(m, X, targets=[Y[0], Y[1], np.array([2, 12])]), ValueError, r"Y\[2\] holds the id 12 at step 1; .*target_words=8.*larger target_words"),
        (lambda m: ll.decode(m, X, targets=Y[:2]), ValueError, r"decode: Y has 2 targets but X has 3 sources; give one target per source"),
        (lambda m: ll.decode(m, [np.array([1.0, 2.0])]), TypeError, r"X\[0\] must be a 1-D array of integer token ids; got float64 .*astype\(int\)"),
        (lambda m: ll.decode(m, [np.array([], dtype=int)]), ValueError, r"X\[0\] is empty; every source needs at least one token"),
        (lambda m: ll.decode(m, np.ones((2, 3), dtype=int)), TypeError, r"X must be a list of 1-D arrays .*give list\(X\)"),
        (lambda m: ll.decode(m, [], max_length=3), ValueError, r"decode: X is empty"),
        (lambda m: ll.decode(m, X, max_length=0), ValueError, r"decode: max_length must be a positive integer; got 0"),
        (lambda m: ll.decode(m.decoder, X), TypeError, r"decode: model must be an ll.EncoderDecoder; got Network"),
        (lambda m: ll.train_encoder_decoder(X[0], Y[0], m), TypeError, r"train_encoder_decoder: X must be a list .*give \[X\], a data set of one"),
        (lambda m: ll.train_encoder_decoder(X, Y, m, {"max_epochs": 1}), TypeError, r"options must come from ll.training_options"),
        (
            lambda m: ll.train_encoder_decoder(X, Y, m, ll.training_options(sequence_length=2)),
            ValueError,
            r"sequence_length must be 'longest' for an encoder–decoder.*got 2",
        ),
        (
            lambda m: ll.train_encoder_decoder(X, Y, m, ll.training_options(checkpoint_path="checkpoints")),
            ValueError,
            r"train_encoder_decoder: checkpoint_path is for ll.trainnet; an encoder–decoder writes no checkpoints",
        ),
        (
            lambda m: ll.train_encoder_decoder(X, Y, m, ll.training_options(validation_data=(X, Y[:1]), verbose=False)),
            ValueError,
            r"train_encoder_decoder \(validation_data\): Y has 1 targets but X has 3 sources",
        ),
        (lambda m: ll.trace_encoder_decoder(m, X, [Y[0], Y[1], [1.5]]), TypeError, r"trace_encoder_decoder: Y\[2\] must be a 1-D array"),
        (lambda m: ll.EncoderDecoder(0, 5), ValueError, r"EncoderDecoder: source_words must be a positive integer; got 0"),
        (lambda m: ll.EncoderDecoder(3, 5, attention="luong"), ValueError, r"EncoderDecoder: attention must be one of .*'dot', 'general', 'additive'.*'luong'"),
        (lambda m: ll.EncoderDecoder(3, 5, attention=True), TypeError, r"EncoderDecoder: attention must be None, 'dot', 'general' or 'additive'; got bool"),
    ],
)
def test_bad_input_is_refused_with_a_fix(model, call, error, message):
    with pytest.raises(error, match=message):
        call(model)


def test_output_network_best_validation_loss_takes_the_weights_of_the_best_validation():
    Y_val = [np.array([7, 1]), np.array([1, 2, 8]), np.array([5, 5])]  # other targets: the validation loss turns up
    o = dict(mini_batch_size=3, initial_learn_rate=0.05, validation_data=(X, Y_val), validation_frequency=1, verbose=False, seed=0)

    def trained(**options):
        torch.manual_seed(0)
        return ll.train_encoder_decoder(X, Y, ll.EncoderDecoder(9, 8, num_hidden_units=6, embedding_dimension=3), ll.training_options(**o, **options))

    best = trained(max_epochs=30, output_network="best-validation-loss")
    history = best.training_history_
    k = int(history.iteration[history.validation_loss.idxmin()])
    assert 1 < k < 30 and history.validation_loss.iloc[-1] > history.validation_loss.min()
    at_k = trained(max_epochs=k)  # one iteration an epoch: the run stopped at iteration k
    for (name, a), (_, b) in zip(best.state_dict().items(), at_k.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("attention", [None, "dot", "general", "additive"])
def test_a_saved_model_loads_with_identical_decodes(attention, tmp_path):
    model = ll.EncoderDecoder(9, 8, num_hidden_units=6, embedding_dimension=3, attention=attention)
    options = ll.training_options(max_epochs=3, mini_batch_size=3, verbose=False, seed=0)
    model = ll.train_encoder_decoder(X, Y, model, options)
    model.save(tmp_path / "model.npz")
    loaded = ll.load_network(tmp_path / "model.npz")
    expected = {"source_words": 9, "target_words": 8, "num_hidden_units": 6, "embedding_dimension": 3, "attention": attention}
    assert isinstance(loaded, ll.EncoderDecoder) and loaded.options() == model.options() == expected
    assert list(loaded.state_dict()) == list(model.state_dict())  # the attention's weights too
    assert sum(key.startswith("attend.") for key in loaded.state_dict()) == {None: 0, "dot": 1, "general": 2, "additive": 3}[attention]
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [y.tolist() for y in ll.decode(loaded, X, max_length=6)] == [y.tolist() for y in ll.decode(model, X, max_length=6)]
    assert loaded.training_history_.equals(model.training_history_) and len(model.training_history_) == 3
    assert loaded.decoder.class_names == list(range(1, 10)) and not loaded.training
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:  # plain arrays only: loading runs no code
        assert "__config__" in archive.files


def test_a_file_of_version_1_without_attention_still_loads(model, tmp_path):
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        entries = dict(archive)
    config = json.loads(entries.pop("__config__").tobytes().decode())
    assert config["version"] == 2 and config["options"]["attention"] is None
    config["version"] = 1
    del config["options"]["attention"]  # as version 1 wrote it
    np.savez(tmp_path / "old.npz", __config__=np.frombuffer(json.dumps(config).encode(), dtype=np.uint8), **entries)
    loaded = ll.load_network(tmp_path / "old.npz")
    assert loaded.options() == model.options() and loaded.attend is None
    config["version"] = 3
    np.savez(tmp_path / "new.npz", __config__=np.frombuffer(json.dumps(config).encode(), dtype=np.uint8), **entries)
    with pytest.raises(ValueError, match=naming("new.npz", "version 3", "versions 1 to 2")):
        ll.load_network(tmp_path / "new.npz")


def test_a_damaged_model_file_is_refused(model, tmp_path):
    other = ll.EncoderDecoder(9, 8, num_hidden_units=5, embedding_dimension=3)
    other.save(tmp_path / "other.npz")
    with np.load(tmp_path / "other.npz", allow_pickle=False) as archive:
        entries = dict(archive)
    config = entries.pop("__config__").tobytes().decode().replace('"num_hidden_units": 5', '"num_hidden_units": 6')
    np.savez(tmp_path / "bad.npz", __config__=np.frombuffer(config.encode(), dtype=np.uint8), **entries)
    with pytest.raises(ValueError, match=naming("load_network:", "bad.npz", "'num_hidden_units': 6")):
        ll.load_network(tmp_path / "bad.npz")


# --- attention -----------------------------------------------------------------------------------

SOURCES = [np.array([3, 1, 4, 1, 5, 9]), np.array([2, 6]), np.array([5, 3, 5, 8])]  # lengths 6, 2, 4
TARGETS = [np.array([2, 7, 1]), np.array([8, 2, 8, 1, 8]), np.array([4])]


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_the_decoders_scores_with_attention_equal_the_numpy_reference_lines(score):
    torch.manual_seed(0)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=5, embedding_dimension=3, attention=score).double()
    log_p, alpha = teacher_forced_outputs(model, SOURCES, TARGETS)
    tr = ll.trace_encoder_decoder(model, SOURCES, TARGETS)  # the LSTMs' states, themselves tested against reference.lstm_step
    weights = {name: p.detach().numpy() for name, p in model.attend.named_parameters()}
    W_y, b_y = model.decoder["fc"].weights.detach().numpy(), model.decoder["fc"].bias.detach().numpy()
    for n, (x, y) in enumerate(zip(SOURCES, TARGETS)):
        H_bar = tr["encoder"].h[n, : len(x)]  # (S, H) the encoder's states at the real steps
        for t in range(len(y) + 1):
            step = reference.attention_step(tr["decoder"].h[n, t], H_bar, weights["W_c"], score, weights.get("W_a"), weights.get("v_a"))
            scores = W_y @ step.h_tilde + b_y  # (V + 1,) the fully connected layer reads h_tilde
            np.testing.assert_allclose(alpha[n][t], step.alpha, rtol=0, atol=1e-10)
            np.testing.assert_allclose(log_p[n][t], scores - np.log(np.exp(scores).sum()), rtol=0, atol=1e-10)
            np.testing.assert_allclose(tr.attention[n, t, : len(x)], step.alpha, rtol=0, atol=1e-10)


def test_the_traced_weights_are_a_distribution_over_the_real_source_steps():
    torch.manual_seed(1)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=5, embedding_dimension=3, attention="general")
    tr = ll.trace_encoder_decoder(model, SOURCES, TARGETS)
    assert tr.attention.shape == (3, 6, 6) and tr.attention.dtype == np.float64  # (N, T_out, T_in): 5 words + <end>, 6 digits
    assert "attention weights for 3 pairs, 6 output steps x 6 source steps" in repr(tr)
    for n, (x, y) in enumerate(zip(SOURCES, TARGETS)):
        rows = tr.attention[n, : len(y) + 1]
        np.testing.assert_allclose(rows[:, : len(x)].sum(1), 1, rtol=0, atol=1e-6)
        assert np.all(rows[:, : len(x)] > 0)
        assert np.all(tr.attention[n, :, len(x) :] == 0) and np.all(tr.attention[n, len(y) + 1 :] == 0)  # padding: exactly 0
    assert ll.trace_encoder_decoder(ll.EncoderDecoder(9, 8, num_hidden_units=5), SOURCES, TARGETS).attention is None


@pytest.mark.parametrize("score", ["dot", "additive"])
def test_with_attention_a_sources_output_does_not_depend_on_its_mini_batch(score):
    torch.manual_seed(2)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=5, embedding_dimension=3, attention=score)
    together, weights = teacher_forced_outputs(model, SOURCES, TARGETS)  # padded to 6 source steps, 6 decoder steps
    for n in range(3):
        alone, alone_weights = teacher_forced_outputs(model, [SOURCES[n]], [TARGETS[n]])
        np.testing.assert_allclose(together[n], alone[0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(weights[n], alone_weights[0], rtol=0, atol=1e-6)
    free = ll.decode(model, SOURCES, max_length=7)
    assert [ll.decode(model, x, max_length=7).tolist() for x in SOURCES] == [y.tolist() for y in free]


def test_attention_learns_and_its_weights_are_trained():
    sources = [np.array(s) for n in (1, 2, 3) for s in itertools.product([1, 2, 3], repeat=n)]  # all 39 of them
    targets = [s[::-1] for s in sources]  # reversed
    torch.manual_seed(0)
    model = ll.EncoderDecoder(3, 3, num_hidden_units=12, embedding_dimension=4, attention="dot")
    before = model.attend.W_c.detach().clone()
    assert len(model.learnables()) == 4 + 6 + 1 and model.learnables()[-1][0] is model.attend
    options = ll.training_options(max_epochs=100, mini_batch_size=39, initial_learn_rate=0.05, verbose=False, seed=0)
    model = ll.train_encoder_decoder(sources, targets, model, options)
    assert not torch.equal(model.attend.W_c, before)
    assert [y.tolist() for y in ll.decode(model, sources)] == [y.tolist() for y in targets]
    assert "attention 'dot' (Luong et al. 2015) between the decoder and fc: W_c (12, 24)" in repr(model)
