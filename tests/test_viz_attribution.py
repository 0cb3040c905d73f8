"""lstmlab.viz's attribution figures: the numbers drawn, steps from 1, titles, units and hover text."""

import numpy as np
import pytest

import lstmlab as ll
from lstmlab import viz


@pytest.fixture
def explained(rng):
    net = ll.Network([ll.sequence_input_layer(3), ll.lstm_layer(5, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    net.class_names = ["no", "yes"]
    X = [rng.normal(size=(T, 3)).astype(np.float32) for T in (4, 6)]
    return net, X, ll.attribute(net, X, target="yes", steps=8)


def test_heatmap_puts_the_input_above_its_attribution(explained):
    net, X, att = explained
    fig = viz.attribution_heatmap(att, X, sequence=1, channel_names=["a", "b", "c"])
    source, heat = fig.data
    np.testing.assert_allclose(np.asarray(source.z), X[1].T)
    np.testing.assert_allclose(np.asarray(heat.z), att.values[1].T, rtol=1e-6)
    assert list(heat.x) == [1, 2, 3, 4, 5, 6] and list(heat.y) == ["a", "b", "c"]
    assert heat.zmin == -heat.zmax == -np.abs(att.values[1]).max() and "attribution %{z:+.4g} score" in heat.hovertemplate
    assert fig.layout.title.text == "integrated-gradients, sequence 1: class 'yes'"
    assert fig.layout.xaxis2.title.text == "time step"
    with pytest.raises(ValueError, match="sequence=2; the attribution has sequences 0 to 1"):
        viz.attribution_heatmap(att, X, sequence=2)


def test_bars_and_text_show_each_steps_sum(explained):
    _, _, att = explained
    bars = viz.attribution_bars(att, sequence=0).data[0]
    np.testing.assert_allclose(bars.y, att.by_step[0], rtol=1e-6)
    assert list(bars.x) == [1, 2, 3, 4]
    text = viz.attribution_text(att, ["not", "bad", "at", "all"], sequence=0)
    z = np.asarray(text.data[0].z, dtype=float)[0]
    np.testing.assert_allclose(z[[0, 4, 8, 11]], att.by_step[0], rtol=1e-6)  # each word's first letter
    assert z[3] == 0  # the space after "not"
    with pytest.raises(ValueError, match="text has 3 tokens but sequence 0 has 4 steps"):
        viz.attribution_text(att, ["a", "b", "c"])


def test_deletion_and_randomization_charts(explained):
    net, X, att = explained
    curve = ll.deletion_curve(net, X, att, fractions=3, random_orders=2)
    fig = viz.deletion_chart(curve)
    assert [t.name for t in fig.data] == ["top steps first", "random steps"] and list(fig.data[0].x) == [0, 50, 100]
    assert fig.layout.xaxis.title.text == "steps replaced (% of each sequence)"
    check = ll.randomization_check(net, X, method="gradient")
    fig = viz.randomization_chart(check, sequence=1)
    np.testing.assert_allclose(fig.data[0].y, check.original.by_step[1], rtol=1e-6)
    assert f"rank correlation {check.rank_correlation[1]:.2f}" in fig.layout.title.text
