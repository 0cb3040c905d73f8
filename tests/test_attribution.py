import numpy as np
import pytest
import torch
from captum.attr import InputXGradient, IntegratedGradients, LayerGradientXActivation, LayerIntegratedGradients, Saliency

import lstmlab as ll

LENGTHS = (4, 9, 6)


def network(kind="lstm", output_mode="last", channels=3, classes=4):
    recurrent = {"lstm": ll.lstm_layer, "bilstm": ll.bilstm_layer, "gru": ll.gru_layer}[kind]
    return ll.Network(
        [ll.sequence_input_layer(channels), recurrent(5, output_mode=output_mode), ll.fully_connected_layer(classes), ll.softmax_layer()]
    )


def data(rng, lengths=LENGTHS, channels=3):
    return [rng.normal(size=(T, channels)).astype(np.float32) for T in lengths]


class TorchTwin(torch.nn.Module):
    """The network's recurrent and fully connected layers as plain torch modules (to_torch), scores out."""

    def __init__(self, net, output_mode):
        super().__init__()
        self.rnn = ll.to_torch(net.layers[1])
        fc = net.layers[2]
        self.fc = torch.nn.Linear(fc.input_size, fc.output_size)
        with torch.no_grad():
            self.fc.weight.copy_(fc.weights)
            self.fc.bias.copy_(fc.bias)
        self.output_mode = output_mode

    def forward(self, x):
        y, _ = self.rnn(x)  # (B, T, D*H)
        return self.fc(y[:, -1] if self.output_mode == "last" else y)  # (B, K) or (B, T, K)


def captum(method, model, x, target, steps):
    x = torch.as_tensor(x)[None].requires_grad_()  # (1, T, C): one sequence, no padding
    if method == "gradient":
        a = Saliency(model).attribute(x, target=target, abs=False)
    elif method == "input-x-gradient":
        a = InputXGradient(model).attribute(x, target=target)
    else:
        a = IntegratedGradients(model).attribute(x, target=target, n_steps=steps)
    return a[0].detach().numpy()


@pytest.mark.parametrize("method", ["gradient", "input-x-gradient", "integrated-gradients"])
@pytest.mark.parametrize("kind", ["lstm", "bilstm", "gru"])
def test_equals_captum_on_a_torch_copy_for_sequences_of_different_lengths(kind, method, rng):
    net, X = network(kind), data(rng)
    att = ll.attribute(net, X, method=method, steps=16, freeze_padding=True)  # one padded mini-batch
    twin = TorchTwin(net, "last")
    scores = ll.activations(net, X, "fc", freeze_padding=True)  # (N, K)
    assert list(att.target) == list(scores.argmax(1))
    for n, x in enumerate(X):
        expected = captum(method, twin, x, int(att.target[n]), 16)
        assert att.values[n].shape == x.shape
        np.testing.assert_allclose(att.values[n], expected, atol=1e-5, rtol=0)
        np.testing.assert_allclose(att.by_step[n], expected.sum(1), atol=1e-5, rtol=0)
    np.testing.assert_allclose(att.score, scores[np.arange(len(X)), att.target], atol=1e-6)


@pytest.mark.parametrize("method", ["gradient", "integrated-gradients"])
def test_a_per_step_output_explains_the_step_asked_for(method, rng):
    net, X = network("lstm", "sequence"), data(rng)
    twin = TorchTwin(net, "sequence")
    att = ll.attribute(net, X, method=method, target=[(2, 1), (0, -1), (3, 3)], steps=16, freeze_padding=True)
    assert list(att.target) == [2, 0, 3] and list(att.step) == [1, 8, 3]
    for n, (x, k, t) in enumerate(zip(X, att.target, att.step)):
        expected = captum(method, twin, x, (int(t), int(k)), 16)
        np.testing.assert_allclose(att.values[n], expected, atol=1e-5, rtol=0)
    assert np.abs(att.values[0][2:]).max() == 0  # step 1's score cannot depend on later steps


def test_a_per_step_output_defaults_to_the_last_real_step_and_sums_all_steps_when_asked(rng):
    net, X = network("lstm", "sequence"), data(rng)
    last = ll.attribute(net, X, method="gradient", freeze_padding=True)
    assert list(last.step) == [T - 1 for T in LENGTHS]
    probabilities = ll.predict(net, X, freeze_padding=True)
    assert list(last.target) == [p[-1].argmax() for p in probabilities]
    every = ll.attribute(net, X, method="gradient", target=(1, "all steps"), freeze_padding=True)
    by_step = [ll.attribute(net, X, method="gradient", target=(1, t), freeze_padding=True).values[0] for t in range(LENGTHS[0])]
    np.testing.assert_allclose(every.values[0], sum(by_step), atol=1e-6)
    assert list(every.step) == [-1, -1, -1] and list(every.target) == [1, 1, 1]


def test_a_sequence_does_not_depend_on_its_mini_batch_when_padding_is_frozen(rng):
    net = network("bilstm")
    X = data(rng, (5, 30, 2))
    for direction in ("right", "left"):
        together = ll.attribute(net, X, freeze_padding=True, sequence_padding_direction=direction, steps=8)
        alone = ll.attribute(net, X[0], freeze_padding=True, steps=8)
        assert alone.values.shape == (5, 3)
        np.testing.assert_allclose(together.values[0], alone.values, atol=1e-6, rtol=0)


def test_padded_steps_get_no_attribution_and_values_take_the_structure_of_x(rng):
    net = network("lstm")
    X = data(rng)
    att = ll.attribute(net, X, method="input-x-gradient")
    assert [v.shape for v in att.values] == [x.shape for x in X] and [s.shape for s in att.by_step] == [(T,) for T in LENGTHS]
    array = np.stack([x[:4] for x in X])  # (3, 4, 3)
    att = ll.attribute(net, array, method="gradient")
    assert att.values.shape == (3, 4, 3) and att.by_step.shape == (3, 4)
    frame = att.to_frame()
    assert list(frame.columns) == ["sequence", "time", "channel", "value"] and len(frame) == 36
    np.testing.assert_allclose(frame.value.to_numpy(), att.values.reshape(-1))


def test_completeness_improves_as_steps_grow(rng):
    net, X = network("lstm"), data(rng)
    errors = [np.abs(ll.attribute(net, X, steps=steps).delta).max() for steps in (1, 2, 64)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-5
    att = ll.attribute(net, X, steps=64)
    F0 = ll.attribute(net, [np.zeros_like(x) for x in X], method="gradient", target=list(att.target)).score
    np.testing.assert_allclose([v.sum() for v in att.values], att.score - F0, atol=1e-5)


def test_it_explains_the_scores_predict_returns_with_the_same_options(rng):
    net, X = network("gru"), data(rng)
    kinds = {"probability": ll.predict, "score": lambda net, X, **o: ll.activations(net, X, "fc", **o)}
    intervention = ll.Intervention("gru", "h", units=[0, 1], set=0.0)
    for options in ({}, {"sequence_padding_direction": "left"}, {"mini_batch_size": 1}, {"interventions": [intervention]}):
        for output, predicted in kinds.items():
            scores = predicted(net, X, **options)
            att = ll.attribute(net, X, method="gradient", output=output, target=2, **options)
            np.testing.assert_allclose(att.score, scores[:, 2], atol=1e-6, err_msg=str(options))
            assert att.options == options
    ll.predict_and_update_state(net, X)  # held states: attribution starts from them, as predict does
    att = ll.attribute(net, X, method="integrated-gradients", output="probability", target=1, steps=4)
    np.testing.assert_allclose(att.score, ll.predict(net, X)[:, 1], atol=1e-6)
    assert not np.allclose(att.score, ll.predict(ll.reset_state(net), X)[:, 1], atol=1e-4)


def test_occlusion_gives_each_step_the_fall_of_the_score_when_it_is_replaced(rng):
    net, X = network("lstm"), data(rng)
    att = ll.attribute(net, X, method="occlusion", baseline=0.5)
    x = X[1].copy()
    x[3] = 0.5
    changed = ll.attribute(net, [x], method="gradient", target=[int(att.target[1])]).score[0]
    np.testing.assert_allclose(att.by_step[1][3], att.score[1] - changed, atol=1e-6)
    np.testing.assert_allclose(att.values[1][3], np.full(3, att.by_step[1][3] / 3), atol=1e-7)


def test_a_class_name_is_a_target(rng):
    net, X = network("lstm", classes=2), data(rng)
    net.class_names = ["cat", "dog"]
    assert list(ll.attribute(net, X, method="gradient", target="dog").target) == [1, 1, 1]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "saliency"}, "method='saliency'; choose one of 'gradient'"),
        ({"output": "logits"}, "output='logits'; choose one of 'score', 'probability'"),
        ({"target": 7}, r"target=7; expected None, a class name or an index from 0 to 3"),
        ({"target": "dog"}, "not a class of the network; the network has no class names"),
        ({"target": (1, 2)}, "names a step, but the network outputs one vector per sequence"),
        ({"target": [0, 1]}, "target has 2 entries but X has 3 sequences"),
        ({"method": "gradient", "baseline": 0.0}, "baseline applies to integrated-gradients and occlusion"),
        ({"baseline": np.zeros(5)}, "baseline must be None, a number, a \\(3,\\) array or data shaped as X"),
        ({"baseline": [np.zeros((4, 3))] * 3}, "give a baseline shaped as X"),
        ({"window": 2}, "unexpected option 'window'"),
        ({"sequence_length": 3}, "gradients do not cross chunks"),
        ({"steps": 0}, "steps"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message, rng):
    net, X = network("lstm"), data(rng)
    with pytest.raises((ValueError, TypeError), match=message):
        ll.attribute(net, X, **kwargs)


def test_probability_needs_a_softmax():
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(5, output_mode="last"), ll.fully_connected_layer(2)])
    with pytest.raises(ValueError, match="output='probability' needs a network that ends in a softmax"):
        ll.attribute(net, np.zeros((1, 4, 3), np.float32), output="probability", target=0)
    with pytest.raises(ValueError, match="ends in no softmax and has 2 responses"):
        ll.attribute(net, np.zeros((1, 4, 3), np.float32))


# --- the checks ------------------------------------------------------------------------------------


def test_completeness_check_reports_delta_falling_with_steps(rng):
    net, X = network("lstm"), data(rng)
    table = ll.completeness_check(net, X, steps=(1, 4, 32))
    assert list(table.columns) == ["steps", "largest |delta|", "mean |delta|"] and list(table.steps) == [1, 4, 32]
    assert table["largest |delta|"].is_monotonic_decreasing and table["largest |delta|"].iloc[-1] < 1e-5


def test_randomization_check_shuffles_a_copy_and_explains_the_same_targets(rng):
    net, X = network("bilstm"), data(rng)
    before = [p.detach().clone() for _, _, p in net.learnables()]
    check = ll.randomization_check(net, X, method="gradient", target=[0, 1, 2])
    assert all(torch.equal(a, p) for a, (_, _, p) in zip(before, net.learnables()))  # net itself unchanged
    assert list(check.randomized.target) == list(check.original.target) == [0, 1, 2]
    assert check.rank_correlation.shape == (3,) and np.all(np.abs(check.rank_correlation) <= 1)
    assert not np.allclose(check.original.values[1], check.randomized.values[1])
    same = ll.randomization_check(net, X, method="gradient", target=[0, 1, 2], seed=0)
    np.testing.assert_allclose(same.rank_correlation, check.rank_correlation)


def test_deletion_curve_removes_the_top_steps_first(rng):
    net, X = network("gru"), rng.normal(size=(4, 5, 3)).astype(np.float32)
    att = ll.attribute(net, X, method="occlusion")  # by_step: the fall of the score when the step alone goes
    curve = ll.deletion_curve(net, X, att, fractions=6, random_orders=3)
    ranked = curve[curve.order == "attribution"].score.to_numpy()
    random = curve[curve.order == "random"].score.to_numpy()
    assert list(curve.fraction[:6]) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1])
    np.testing.assert_allclose(ranked[0], att.score.mean(), atol=1e-6)
    np.testing.assert_allclose(ranked[1], (att.score - att.by_step.max(1)).mean(), atol=1e-6)  # one step: the largest fall
    assert ranked[1] <= random[1] and ranked[-1] == pytest.approx(random[-1])
    with pytest.raises(TypeError, match="attribution must be an ll.Attribution"):
        ll.deletion_curve(net, X, att.values)


def test_grad_cam_weights_a_layers_output_by_its_gradient_averaged_over_time(rng):
    net = ll.Network(
        [ll.sequence_input_layer(3), ll.lstm_layer(5), ll.gru_layer(4, output_mode="last"), ll.fully_connected_layer(3), ll.softmax_layer()]
    )
    X = data(rng)
    att = ll.attribute(net, X, method="grad-cam", target=1, freeze_padding=True)  # at "lstm", the last with an output per step
    gru, fc = ll.to_torch(net["gru"]), net["fc"]
    for n, x in enumerate(X):
        A = torch.as_tensor(ll.activations(net, x, "lstm")).requires_grad_()  # (T, 5), the sequence alone
        score = (gru(A[None])[0][0, -1] @ fc.weights.T + fc.bias)[1]
        (grad,) = torch.autograd.grad(score, A)  # (T, 5)
        cam = torch.relu((grad.mean(0) * A).sum(1))  # (T,)
        assert att.values[n].shape == (len(x), 1)
        np.testing.assert_allclose(att.by_step[n], cam.detach().numpy(), atol=1e-6)


def test_grad_cam_needs_a_layer_with_steps(rng):
    net, X = network("lstm"), data(rng)
    with pytest.raises(ValueError, match="grad-cam needs a layer with an output at every step"):
        ll.attribute(net, X, method="grad-cam")
    with pytest.raises(ValueError, match="layer='conv' is not a layer of the network; choose from"):
        ll.attribute(net, X, method="grad-cam", layer="conv")
    with pytest.raises(ValueError, match="grad-cam at layer 'lstm', whose output has no time axis"):
        ll.attribute(net, X, method="grad-cam", layer="lstm")


def test_contextual_decomposition_gives_each_steps_own_relevant_part(rng):
    net, X = network("bilstm"), data(rng)
    att = ll.attribute(net, X, method="contextual-decomposition", target=[0, 1, 2], freeze_padding=True)
    assert [v.shape for v in att.values] == [(T, 1) for T in LENGTHS] and list(att.target) == [0, 1, 2]
    for t in (0, 3):
        d = ll.decompose(net, X, [[t]] * 3, target=[0, 1, 2], freeze_padding=True)
        np.testing.assert_allclose([b[t] for b in att.by_step], d.relevant, rtol=1e-6)
    np.testing.assert_allclose(att.score, ll.activations(net, X, "fc", freeze_padding=True)[np.arange(3), [0, 1, 2]], atol=1e-5)
    with pytest.raises(ValueError, match="contextual-decomposition splits the score"):
        ll.attribute(net, X, method="contextual-decomposition", output="probability")
    with pytest.raises(ValueError, match="GRU"):
        ll.attribute(network("gru"), X, method="contextual-decomposition")


class TokenTwin(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.embedding, self.lstm = ll.to_torch(net.layers[1]), ll.to_torch(net.layers[2])
        fc = net.layers[3]
        self.head = torch.nn.Linear(fc.input_size, fc.output_size)
        with torch.no_grad():
            self.head.weight.copy_(fc.weights)
            self.head.bias.copy_(fc.bias)

    def forward(self, ids):
        return self.head(self.lstm(self.embedding(ids))[0][:, -1])


@pytest.mark.parametrize("method", ["input-x-gradient", "integrated-gradients"])
def test_a_token_network_is_attributed_by_its_word_vectors(method, rng):
    net = ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(4, 10), ll.lstm_layer(5, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    X = [rng.integers(1, 11, size=(T, 1)).astype(np.float32) for T in (3, 6)]
    att = ll.attribute(net, X, method=method, steps=16, freeze_padding=True)
    twin = TokenTwin(net)
    for n, x in enumerate(X):
        ids = torch.as_tensor(x[None, :, 0]).long()  # (1, T)
        if method == "integrated-gradients":
            a = LayerIntegratedGradients(twin, twin.embedding).attribute(ids, baselines=torch.zeros_like(ids), target=int(att.target[n]), n_steps=16)
        else:
            a = LayerGradientXActivation(twin, twin.embedding).attribute(ids, target=int(att.target[n]))
        assert att.values[n].shape == (len(x), 1)
        np.testing.assert_allclose(att.values[n][:, 0], a[0].sum(-1).detach().numpy(), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="reads token ids, so attribution works on their word vectors"):
        ll.attribute(net, X, baseline=0.0)


def test_integrated_gradients_in_pieces_gives_the_same_answer(rng):
    net, X = network("lstm"), data(rng)
    whole = ll.attribute(net, X, steps=8)
    pieces = ll.attribute(net, X, steps=8, internal_batch_size=6)  # two points of the path per forward pass
    for a, b in zip(whole.values, pieces.values):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_every_steps_own_predicted_class_summed(rng):
    net, X = network("gru", "sequence"), data(rng)
    att = ll.attribute(net, X, method="gradient", target=[(None, "all steps"), 1, (2, 0)], freeze_padding=True)
    assert list(att.target) == [-1, 1, 2] and list(att.step) == [-1, LENGTHS[1] - 1, 0]
    probabilities = ll.predict(net, X, freeze_padding=True)
    scores = ll.activations(net, X, "fc", freeze_padding=True)
    expected = scores[0][np.arange(LENGTHS[0]), probabilities[0].argmax(1)].sum()
    assert att.score[0] == pytest.approx(expected, abs=1e-5)
    assert att.weights[0].shape == (LENGTHS[0], 4) and att.weights[0].sum() == LENGTHS[0]


def test_net_must_be_a_network(rng):
    with pytest.raises(TypeError, match="attribute: net must be an ll.Network"):
        ll.attribute("net", data(rng), baseline=0.0)
