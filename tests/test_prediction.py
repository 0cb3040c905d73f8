import numpy as np
import pandas as pd
import pytest
import torch

import lstmlab as ll

C, H = 2, 5


def sequence_net():
    torch.manual_seed(0)
    return ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H), ll.gru_layer(3), ll.fully_connected_layer(2)])


def data(lengths=(7, 3, 12, 5), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(T, C)).astype("float32") for T in lengths]


def test_chunks_carry_the_state_so_real_steps_match_whole_sequences():
    net, X = sequence_net(), data()
    alone = [ll.predict(net, [x])[0] for x in X]
    for out in (ll.predict(net, X, sequence_length=4), ll.minibatchpredict(net, X, mini_batch_size=2, sequence_length=5)):
        for a, b in zip(out, alone):
            np.testing.assert_allclose(a, b, atol=1e-6)


def test_outputs_are_cut_to_real_steps_whatever_the_padding():
    net, X = sequence_net(), data()
    left = ll.predict(net, X, sequence_padding_direction="left")
    assert [len(y) for y in left] == [len(x) for x in X]
    frozen = ll.predict(net, X, sequence_padding_direction="left", freeze_padding=True)
    np.testing.assert_allclose(frozen[1], ll.predict(net, [X[1]])[0], atol=1e-6)
    shortest = ll.predict(net, X, sequence_length="shortest")
    assert {len(y) for y in shortest} == {3}


def test_stateful_prediction_in_pieces_equals_the_whole():
    net = sequence_net()
    X = data(lengths=(12, 12, 12))
    whole = ll.predict(net, X)
    pieces = [ll.predict_and_update_state(net, [x[a:b] for x in X]) for a, b in ((0, 5), (5, 6), (6, 12))]
    for n in range(3):
        np.testing.assert_allclose(np.concatenate([p[n] for p in pieces]), whole[n], atol=1e-6)
    assert net.state["lstm"]["hidden"].shape == (3, H)
    with pytest.raises(ValueError, match=r"layer 'lstm' holds states for 3 sequences \(from predict_and_update_state\) but X has 1; give 3 sequences, or call ll.reset_state\(net\) first"):
        ll.predict(net, X[:1])
    ll.reset_state(net)
    np.testing.assert_allclose(ll.predict(net, X)[0], whole[0], atol=1e-6)


def test_a_stepper_gives_what_predict_and_update_state_gives_and_keeps_the_states_itself():
    net, x = sequence_net(), data(lengths=(12,))[0]
    pieces = ((0, 5), (5, 6), (6, 7), (7, 12))
    expected = [ll.predict_and_update_state(net, x[a:b]) for a, b in pieces]
    held = net.state
    ll.reset_state(net).train()  # a step runs in evaluation mode and restores the flags
    step = ll.Stepper(net)
    calls = []
    net["lstm"].register_forward_hook(lambda *_: calls.append("lstm"))
    for (a, b), y in zip(pieces, expected):
        assert np.array_equal(step(x[a:b]), y)  # bit for bit
    for name, states in step.states.items():
        for state_name, s in zip(net[name].state_names, states):
            assert np.array_equal(s.numpy(), held[name][state_name])
    assert calls == ["lstm"] * 4 and not net.holds_state  # hooks fire; the network's own states stay
    assert all(module.training for module in net.modules())
    ll.predict_and_update_state(net, x[:5])
    assert np.array_equal(ll.Stepper(net)(x[5:6]), expected[1])  # starts from the held states


def test_a_stepper_checks_every_call():
    step = ll.Stepper(sequence_net())
    x = data(lengths=(3,))[0]
    step(x)  # checked whole; later steps of its shape and type are checked for NaN alone
    x[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"Stepper: X has NaN or Inf at time step 1"):
        step(x)
    with pytest.raises(ValueError, match=r"Stepper: X has 3 channels; the network expects 2"):
        step(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"Stepper: X must be one sequence, a \(T, C\) array; got a data set of 2"):
        step(np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match=r"Stepper: X must be one sequence, a \(T, C\) array; got a data set of 1"):
        step([np.ones((3, 2))])
    with pytest.raises(TypeError, match=r"Stepper: net must be an ll.Network; got list"):
        ll.Stepper([])


def test_stateful_classification_of_labels():
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    X = data(lengths=(6, 6))
    net = ll.trainnet(X, pd.Categorical(["a", "b"]), net, "crossentropy", ll.training_options(max_epochs=1, verbose=False))
    whole, scores = ll.classify(net, X), ll.predict(net, X)
    ll.classify_and_update_state(net, [x[:4] for x in X])
    pieces = ll.classify_and_update_state(net, [x[4:] for x in X])
    assert list(pieces) == list(whole) and isinstance(pieces, pd.Categorical)
    ll.reset_state(net)
    ll.predict_and_update_state(net, [x[:4] for x in X])
    np.testing.assert_allclose(ll.predict_and_update_state(net, [x[4:] for x in X]), scores, atol=1e-6)


def test_activations_of_a_named_layer():
    net, X = sequence_net(), data()
    lstm = ll.activations(net, X, "lstm")
    assert [a.shape for a in lstm] == [(len(x), H) for x in X]
    tr = ll.trace(net, X)
    np.testing.assert_allclose(lstm[2], tr["lstm"].h[2, : len(X[2])], atol=1e-6)
    with pytest.raises(ValueError, match=r"the network has no layer 'conv'; choose from sequenceinput, lstm, gru, fc"):
        ll.activations(net, X, "conv")


def test_scores2label():
    labels = ll.scores2label(np.array([[0.1, 0.9], [0.8, 0.2]]), ["cat", "dog"])
    assert labels.tolist() == ["dog", "cat"]
    assert [y.tolist() for y in ll.scores2label([np.array([[1.0, 0.0]])], ["a", "b"])] == [["a"]]
    with pytest.raises(ValueError, match="the scores have 2 columns but there are 3 class names"):
        ll.scores2label(np.zeros((1, 2)), ["a", "b", "c"])


def test_classify_needs_a_classifier():
    with pytest.raises(ValueError, match="the network has no class names; train it with ll.trainnet and loss 'crossentropy'"):
        ll.classify(sequence_net(), data())


def test_stateful_pieces_of_unequal_sequences_with_frozen_padding():
    net = sequence_net()
    X = data(lengths=(9, 4))
    whole = ll.predict(net, X, freeze_padding=True)
    first = ll.predict_and_update_state(net, [x[:3] for x in X], freeze_padding=True)
    rest = ll.predict_and_update_state(net, [x[3:] for x in X], freeze_padding=True)
    for n in range(2):
        np.testing.assert_allclose(np.concatenate([first[n], rest[n]]), whole[n], atol=1e-6)


def test_freeze_padding_must_be_a_bool():
    with pytest.raises(TypeError, match=r"freeze_padding must be True or False; got 'yes'"):
        ll.predict(sequence_net(), data(), freeze_padding="yes")


def label_net():
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    return ll.trainnet(data(), pd.Categorical(["a", "b", "a", "b"]), net, "crossentropy", ll.training_options(max_epochs=1, verbose=False))


@pytest.mark.parametrize("as_tensor", [False, True], ids=["numpy", "torch"])
def test_one_sequence_answers_for_itself_alone(as_tensor):
    x = data()[2]
    one = torch.as_tensor(x) if as_tensor else x
    net = sequence_net()
    np.testing.assert_array_equal(ll.predict(net, one), ll.predict(net, [x])[0])
    assert ll.predict(net, one).shape == (12, 2)
    np.testing.assert_array_equal(ll.predict(net, one, sequence_length=5), ll.predict(net, [x], sequence_length=5)[0])
    np.testing.assert_array_equal(ll.activations(net, one, "lstm"), ll.activations(net, [x], "lstm")[0])
    net = label_net()
    scores = ll.predict(net, one)
    assert scores.shape == (2,)
    np.testing.assert_array_equal(scores, ll.predict(net, [x])[0])
    assert ll.classify(net, one) == ll.classify(net, [x])[0] == ll.scores2label(scores, ["a", "b"])


def test_one_sequence_carries_its_own_state():
    net, x = sequence_net(), data()[0]
    first = ll.predict_and_update_state(net, x[:3])
    rest = ll.predict_and_update_state(net, x[3:])
    assert first.shape == (3, 2) and net.state["lstm"]["hidden"].shape == (1, H)
    ll.reset_state(net)
    np.testing.assert_array_equal(np.concatenate([first, rest]), np.concatenate(ll.predict_and_update_state(net, [x[:3]]) + ll.predict_and_update_state(net, [x[3:]])))
    net = label_net()
    label = ll.classify_and_update_state(net, x)
    ll.reset_state(net)
    assert label == ll.classify_and_update_state(net, [x])[0]


def test_rows_of_one_channel_sequences_read_as_one_sequence_get_a_hint():
    net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(2)])
    with pytest.raises(ValueError, match=r"predict: X has 7 channels; the network expects 1 \(input_size=1\). If the rows of X are sequences of one channel, give X\[..., None\], an \(N, T, 1\) array"):
        ll.predict(net, np.zeros((4, 7)))
    with pytest.raises(ValueError, match=r"predict: X has 1 time steps, fewer than the 2 the network needs"):
        ll.predict(ll.Network([ll.sequence_input_layer(3, min_length=2), ll.lstm_layer(2)]), np.zeros((1, 3)))


@pytest.fixture(scope="module")
def vowels():
    """A Japanese Vowels classifier trained with left padding, one trained with frozen padding, and test sequences."""
    X, y, X_test, _ = ll.datasets.japanese_vowels()
    nets = {}
    for name, options in {"left": {"sequence_padding_direction": "left"}, "frozen": {"freeze_padding": True}}.items():
        torch.manual_seed(0)
        layers = [ll.sequence_input_layer(12, normalization="zscore"), ll.lstm_layer(20, output_mode="last"), ll.fully_connected_layer(9), ll.softmax_layer()]
        epochs = 5 if name == "left" else 1
        nets[name] = ll.trainnet(X, y, layers, "crossentropy", ll.training_options(max_epochs=epochs, mini_batch_size=27, verbose=False, seed=0, **options))
    return nets, X_test[:200]


def agreement(a, b):
    return float(np.mean(np.asarray(a) == np.asarray(b)))


def test_a_network_predicts_with_the_padding_it_was_trained_with(vowels):
    nets, X = vowels
    net = nets["left"]
    assert net.sequence_options == {"sequence_length": "longest", "sequence_padding_direction": "left", "sequence_padding_value": 0, "freeze_padding": False}
    np.testing.assert_array_equal(ll.predict(net, X), ll.predict(net, X, sequence_padding_direction="left"))
    alone = [ll.classify(net, x) for x in X]
    right = ll.classify(net, X, sequence_padding_direction="right")  # an explicit option wins
    assert agreement(ll.classify(net, X), alone) > 0.8  # 0.88 here: the padding before a shorter sequence changes little
    assert agreement(right, alone) < 0.5  # 0.22 here: the last output read after the padding


def test_a_network_trained_with_frozen_padding_classifies_as_one_sequence_at_a_time(vowels):
    nets, X = vowels
    net = nets["frozen"]
    assert net.sequence_options["freeze_padding"] is True
    alone = np.stack([ll.predict(net, x) for x in X])
    np.testing.assert_allclose(ll.predict(net, X), alone, atol=1e-5)
    assert agreement(ll.classify(net, X), ll.classify(net, X, mini_batch_size=1)) == 1.0
    assert agreement(ll.classify(net, X, freeze_padding=False), ll.scores2label(alone, net.class_names)) < 0.5  # an explicit option wins
    lengths = [len(x) for x in X]
    short, long = int(np.argmin(lengths)), int(np.argmax(lengths))
    tr = ll.trace(net, [X[short], X[long]])  # frozen too: no gate acts on the padding after the short sequence
    assert np.isnan(tr["lstm"].i[0, lengths[short] :]).all() and not np.isnan(tr["lstm"].i[1]).any()


def test_an_untrained_network_predicts_with_matlabs_defaults():
    net = sequence_net()
    assert net.sequence_options == {"sequence_length": "longest", "sequence_padding_direction": "right", "sequence_padding_value": 0, "freeze_padding": False}
    X = data()
    np.testing.assert_array_equal(ll.predict(net, X)[1], ll.predict(net, X, sequence_padding_direction="right", freeze_padding=False)[1])
    assert "Trained with" not in repr(net)


def test_a_network_trained_in_chunks_predicts_whole_sequences():
    net, x = sequence_net(), data()[2][:1]
    net.sequence_options["sequence_length"] = 4  # as ll.trainnet leaves it after training with sequence_length=4
    states = {}
    for name, options in {"default": {}, "longest": {"sequence_length": "longest"}, "chunks": {"sequence_length": 4}}.items():
        ll.reset_state(net)
        ll.predict_and_update_state(net, x, **options)
        states[name] = net.state["lstm"]["hidden"]
    np.testing.assert_array_equal(states["default"], states["longest"])
    assert not np.allclose(states["chunks"], states["longest"])  # padded to 4 steps, the state ran through 3 of padding


def test_one_step_calls_take_the_kernel_weights_contiguous_with_the_same_result():
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(32), ll.fully_connected_layer(4), ll.softmax_layer()])
    layer = net["lstm"]
    assert not layer.recurrent_weights.is_contiguous(), "an orthogonal R is the transpose of a QR decomposition's Q"
    x = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
    def steps():  # one call per step, from the initial states, which are restored afterwards
        outputs = np.stack([ll.predict_and_update_state(net, x[t : t + 1])[0] for t in range(len(x))])
        ll.reset_state(net)
        return outputs

    W, R, b = layer.direction_parameters(0)
    with torch.inference_mode():  # what the layer relies on: torch's CPU kernel gives the same bits from either layout
        x_1, hx = torch.as_tensor(x[:1, None]), (torch.zeros(1, 1, 32), torch.zeros(1, 1, 32))
        as_stored, contiguous = (torch.lstm(x_1, hx, [W, r, b, torch.zeros_like(b)], True, 1, 0.0, False, False, False)[0] for r in (R, R.contiguous()))
        assert torch.equal(as_stored, contiguous)
    transposed = steps()
    with torch.no_grad():
        layer.recurrent_weights.data = layer.recurrent_weights.data.contiguous()
    np.testing.assert_array_equal(steps(), transposed)
    np.testing.assert_allclose(transposed, ll.predict(net, x[None])[0], atol=1e-6)
    with torch.no_grad():
        layer.recurrent_weights.mul_(0.5)  # an update in place: the kept copy follows
    halved = steps()
    np.testing.assert_allclose(halved, ll.predict(net, x[None])[0], atol=1e-6)
    assert not np.allclose(halved, transposed)


def test_every_prediction_takes_predicts_options_and_defaults():
    net, X = sequence_net(), data()
    np.testing.assert_array_equal(ll.activations(net, X, "fc")[1], ll.predict(net, X)[1])
    for call in (lambda: ll.activations(net, X, "lstm", mini_batch=2), lambda: ll.predict_and_update_state(net, X, mini_batch=2)):
        with pytest.raises(TypeError, match="unexpected keyword argument 'mini_batch'"):
            call()
