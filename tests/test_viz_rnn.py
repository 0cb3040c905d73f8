"""viz.unrolled_graph: a recurrent network unrolled over time, with the gradient of BPTT."""

import numpy as np
import pytest

from lstmlab.viz import unrolled_graph
from lstmlab.viz.unrolled import CARRIED, GRADIENT


def arrows(fig, colour):
    """(from, to) points of the arrows of one colour, in the figure's data coordinates."""
    return [((a.ax, a.ay), (a.x, a.y)) for a in fig.layout.annotations if a.showarrow and a.arrowcolor == colour]


def test_the_graph_has_a_node_per_input_state_and_loss():
    fig = unrolled_graph(4)
    inputs, states, loss = fig.data
    assert list(inputs.text) == ["x<sub>1</sub>", "x<sub>2</sub>", "x<sub>3</sub>", "x<sub>4</sub>"]
    assert list(states.x) == [0, 1, 2, 3, 4] and list(states.text)[0] == "h<sub>0</sub>"
    assert list(loss.x) == [4] and list(loss.text) == ["L"]
    assert states.hovertext[3] == "h<sub>3</sub> = tanh(W x<sub>3</sub> + R h<sub>2</sub> + b)"
    assert fig.layout.title.text.startswith("A recurrent network unrolled over 4 steps")


def test_the_gradient_flows_back_from_the_loss_to_the_first_step():
    back = arrows(unrolled_graph(4), GRADIENT)
    assert len(back) == 4  # L -> h_4, then h_4 -> h_3 -> h_2 -> h_1
    assert back[0] == ((4.12, 2.0), (4.12, 1.0))
    assert [(start[0], end[0]) for start, end in back[1:]] == [(2, 1), (3, 2), (4, 3)]
    assert len(arrows(unrolled_graph(4), "#7f7f7f")) == 4 + 4 + 1  # x_t -> h_t, h_(t-1) -> h_t, h_4 -> L


def test_gradient_norms_set_the_arrow_widths_and_are_written_under_the_states():
    norms = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    fig = unrolled_graph(5, gradient=norms)
    widths = {start[0]: a.arrowwidth for a in fig.layout.annotations if a.showarrow and a.arrowcolor == GRADIENT
              for start in [(a.ax, a.ay)] if a.ay > 1.1 and a.ay < 1.9}  # between states: keyed by the step it leaves
    assert widths == {2: 1.0, 3: 2.5, 4: 4.0, 5: 5.5}  # the arrow into h_(k-1) is as wide as |dL/dh_(k-1)|, log scale
    loss_arrow = [a for a in fig.layout.annotations if a.showarrow and a.arrowcolor == GRADIENT and a.ay == 2.0]
    assert loss_arrow[0].arrowwidth == 7.0
    assert [a.text for a in fig.layout.annotations if a.text and "e" in a.text and a.text[0].isdigit()] == [
        "1.0e-04", "1.0e-03", "1.0e-02", "1.0e-01", "1.0e+00"]
    assert fig.data[1].hovertext[1].endswith("|dL/dh<sub>1</sub>| = 0.0001")


def test_chunks_cut_the_gradient_but_carry_the_state():
    fig = unrolled_graph(8, chunk=3)
    assert list(fig.data[2].x) == [3, 6, 8] and list(fig.data[2].text) == ["L<sub>1</sub>", "L<sub>2</sub>", "L<sub>3</sub>"]
    between = [(start[0], end[0]) for start, end in arrows(fig, GRADIENT) if start[1] == end[1]]
    assert sorted(between) == [(2, 1), (3, 2), (5, 4), (6, 5), (8, 7)]  # nothing from h_4 into h_3, nor from h_7 into h_6
    assert [(start[0], end[0]) for start, end in arrows(fig, CARRIED)] == [(3, 4), (6, 7)]
    assert sorted({shape.x0 for shape in fig.layout.shapes}) == [3.5, 6.5]
    assert fig.layout.title.text.startswith("Truncated BPTT, chunks of 3 steps")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"unrolled_graph: steps must be a positive integer; got 0"):
        unrolled_graph(0)
    with pytest.raises(ValueError, match=r"unrolled_graph: chunk must be a positive integer; got 2.5"):
        unrolled_graph(4, chunk=2.5)
    with pytest.raises(ValueError, match=r"gradient must hold one norm per step, 4 numbers for steps=4; got shape \(3,\)"):
        unrolled_graph(4, gradient=[1, 2, 3])
    with pytest.raises(ValueError, match=r"gradient must hold non-negative finite numbers"):
        unrolled_graph(2, gradient=[1.0, np.nan])
