"""The encoder–decoder: shapes, the state hand-over, teacher forcing against free running, errors, learning."""

import itertools

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.batching import iterate_batches
from lstmlab.seq2seq import _pairs, teacher_forced

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
            lambda m: ll.train_encoder_decoder(X, Y, m, ll.training_options(validation_data=(X, Y[:1]), verbose=False)),
            ValueError,
            r"train_encoder_decoder \(validation_data\): Y has 1 targets but X has 3 sources",
        ),
        (lambda m: ll.trace_encoder_decoder(m, X, [Y[0], Y[1], [1.5]]), TypeError, r"trace_encoder_decoder: Y\[2\] must be a 1-D array"),
        (lambda m: ll.EncoderDecoder(0, 5), ValueError, r"EncoderDecoder: source_words must be a positive integer; got 0"),
    ],
)
def test_bad_input_is_refused_with_a_fix(model, call, error, message):
    with pytest.raises(error, match=message):
        call(model)


def test_a_saved_model_loads_with_identical_decodes(model, tmp_path):
    options = ll.training_options(max_epochs=3, mini_batch_size=3, verbose=False, seed=0)
    model = ll.train_encoder_decoder(X, Y, model, options)
    model.save(tmp_path / "model.npz")
    loaded = ll.load_network(tmp_path / "model.npz")
    assert isinstance(loaded, ll.EncoderDecoder) and loaded.options() == {"source_words": 9, "target_words": 8, "num_hidden_units": 6, "embedding_dimension": 3}
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [y.tolist() for y in ll.decode(loaded, X, max_length=6)] == [y.tolist() for y in ll.decode(model, X, max_length=6)]
    assert loaded.training_history_.equals(model.training_history_) and len(model.training_history_) == 3
    assert loaded.decoder.class_names == list(range(1, 10)) and not loaded.training
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:  # plain arrays only: loading runs no code
        assert "__config__" in archive.files


def test_a_damaged_model_file_is_refused(model, tmp_path):
    other = ll.EncoderDecoder(9, 8, num_hidden_units=5, embedding_dimension=3)
    other.save(tmp_path / "other.npz")
    with np.load(tmp_path / "other.npz", allow_pickle=False) as archive:
        entries = dict(archive)
    config = entries.pop("__config__").tobytes().decode().replace('"num_hidden_units": 5', '"num_hidden_units": 6')
    np.savez(tmp_path / "bad.npz", __config__=np.frombuffer(config.encode(), dtype=np.uint8), **entries)
    with pytest.raises(ValueError, match=r"load_network: .*bad.npz does not hold the weights of an EncoderDecoder with options .*'num_hidden_units': 6"):
        ll.load_network(tmp_path / "bad.npz")
