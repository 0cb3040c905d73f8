import numpy as np
import pytest
import torch

import lstmlab as ll

C, H = 2, 3


def only_unit_1_speaks(rng, recurrent=None):
    """A float64 classifier whose units do not talk to each other (R = 0) and whose head reads unit 1 only.

    Hard-sigmoid gates: clean and silenced runs both take the step loop, so that a unit the output
    never reads changes the loss by exactly 0.
    """
    lstm = recurrent or ll.lstm_layer(H, output_mode="last", gate_activation_function="hard-sigmoid")
    net = ll.Network([ll.sequence_input_layer(C), lstm, ll.fully_connected_layer(2), ll.softmax_layer()]).double()
    with torch.no_grad():
        lstm.input_weights.copy_(torch.as_tensor(rng.normal(size=tuple(lstm.input_weights.shape))))
        lstm.recurrent_weights.zero_()
        net["fc"].weights.copy_(torch.tensor([[0.0, 4.0, 0.0] * lstm.num_directions, [0.0, -4.0, 0.0] * lstm.num_directions]))
    net.class_names, net.label_kind = ["no", "yes"], "str"
    return net


def test_only_the_unit_the_output_reads_matters(rng):
    net = only_unit_1_speaks(rng)
    X = rng.normal(size=(12, 6, C))
    Y = ll.classify(net, X)  # the network is right on every sequence
    frame = ll.ablate(net, X, Y)
    assert list(frame.columns) == ["layer", "direction", "unit", "loss", "loss_change", "accuracy", "accuracy_change",
                                   "accuracy_change[no]", "accuracy_change[yes]"]
    assert frame["unit"].tolist()[0] == 1 and frame["loss_change"][0] > 0.1
    assert frame.set_index("unit").loc[[0, 2], "loss_change"].tolist() == [0.0, 0.0]
    assert frame.attrs["clean"]["accuracy"] == 1.0 and frame.attrs["clean"]["per_class"] == {"no": 1.0, "yes": 1.0}
    assert frame.attrs["mode"] == "zero"
    p = ll.predict(net, X, interventions=[ll.Intervention("lstm", "h", units=[1], set=0.0)])
    codes = (np.asarray(Y) == "yes").astype(int)
    assert frame["loss"][0] == pytest.approx(-np.mean(np.log(p[np.arange(12), codes])), abs=1e-12)
    assert frame["accuracy"][0] == np.mean(p.argmax(1) == codes)


def test_mean_ablation_sets_each_unit_to_its_mean_over_the_real_steps(rng):
    net = only_unit_1_speaks(rng)
    X = [rng.normal(size=(T, C)) for T in (3, 7, 5, 6)]
    Y = ["no", "yes", "yes", "no"]
    frame = ll.ablate(net, X, Y, mode="mean", units=[1])
    tr = ll.trace(net, X)["lstm"]
    mean = tr.h[..., 1][tr.mask].mean()
    p = ll.predict(net, X, interventions=[ll.Intervention("lstm", "h", units=1, set=mean)])
    codes = np.array([0, 1, 1, 0])
    assert len(frame) == 1 and frame.attrs["mode"] == "mean"
    assert frame["loss"][0] == pytest.approx(-np.mean(np.log(p[np.arange(4), codes])), abs=1e-12)


def test_groups_and_both_directions(rng):
    net = only_unit_1_speaks(rng, ll.bilstm_layer(H, output_mode="last", gate_activation_function="hard-sigmoid"))
    X = rng.normal(size=(8, 5, C))
    frame = ll.ablate(net, X, ll.classify(net, X), units={"speaker": [1], "others": [0, 2]})
    assert sorted(zip(frame["direction"], frame["unit"])) == [("backward", "others"), ("backward", "speaker"), ("forward", "others"), ("forward", "speaker")]
    others = frame[frame["unit"] == "others"]
    assert others["loss_change"].tolist() == [0.0, 0.0] and (frame[frame["unit"] == "speaker"]["loss_change"] != 0).all()


def test_regression_measures_the_loss_only(rng):
    net = ll.Network([ll.sequence_input_layer(C), ll.gru_layer(H, output_mode="last"), ll.fully_connected_layer(1)])
    X, Y = rng.normal(size=(6, 4, C)), rng.normal(size=(6, 1))
    frame = ll.ablate(net, X, Y, units=[0, 2])
    assert list(frame.columns) == ["layer", "direction", "unit", "loss", "loss_change"] and len(frame) == 2
    assert frame.attrs["clean"]["loss"] == pytest.approx(np.mean((ll.predict(net, X) - Y) ** 2), rel=1e-5)


def test_bad_choices(rng):
    net = only_unit_1_speaks(rng)
    X, Y = rng.normal(size=(2, 4, C)), ["no", "yes"]
    with pytest.raises(ValueError, match=r"ablate: mode must be one of 'zero', 'mean'; got 'half'"):
        ll.ablate(net, X, Y, mode="half")
    with pytest.raises(ValueError, match=r"ablate: layer must be one of 'lstm'; got 'fc'"):
        ll.ablate(net, X, Y, layer="fc")
    with pytest.raises(ValueError, match=r"ablate: units must be integers in 0..2 \(the hidden units of layer 'lstm'\)"):
        ll.ablate(net, X, Y, units=[3])
    with pytest.raises(ValueError, match=r"ablate: units\['a'\] must be integers in 0..2"):
        ll.ablate(net, X, Y, units={"a": [0, 7]})
    with pytest.raises(TypeError, match=r"ablate: net must be an ll.Network; got list"):
        ll.ablate([], X, Y)
