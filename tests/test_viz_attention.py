"""viz.attention_map: the weights of one pair, tokens as tick labels, only the real steps."""

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.viz import attention_map

SOURCES = [np.array([3, 1, 4, 1]), np.array([2, 6])]
TARGETS = [np.array([5, 7]), np.array([1, 2, 3])]


@pytest.fixture
def recorded():
    torch.manual_seed(0)
    model = ll.EncoderDecoder(9, 8, num_hidden_units=4, embedding_dimension=2, attention="general")
    return ll.trace_encoder_decoder(model, SOURCES, TARGETS)


def test_attention_map_draws_the_real_weights_of_one_pair(recorded):
    fig = attention_map(recorded, sequence=1, source_labels=["two", "six"], output_labels=["a", "b", "c"])
    heat = fig.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z), recorded.attention[1, :4, :2])  # 3 words and <end>, 2 source steps
    assert list(heat.x) == ["1: two", "2: six"] and list(heat.y) == ["1: a", "2: b", "3: c", "4: <end>"]
    assert (heat.zmin, heat.zmax) == (0.0, 1.0) and "weight %{z:.3f}" in heat.hovertemplate
    assert fig.layout.title.text == "Attention of pair 1: which source step each output step read (4 outputs, 2 source steps)"
    assert fig.layout.xaxis.title.text == "source step" and fig.layout.yaxis.title.text == "output step"
    assert fig.layout.yaxis.autorange == "reversed"


def test_attention_map_numbers_steps_without_labels(recorded):
    fig = attention_map(recorded, title="mine")
    assert list(fig.data[0].x) == ["1: 1", "2: 2", "3: 3", "4: 4"] and list(fig.data[0].y) == ["1: 1", "2: 2", "3: <end>"]
    assert fig.layout.title.text == "mine"


def test_attention_map_refuses_what_it_cannot_draw(recorded):
    with pytest.raises(ValueError, match=r"attention_map: source_labels has 3 entries but the pair has 4 source steps"):
        attention_map(recorded, source_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"attention_map: sequence must be an integer from 0 to 1; got 2"):
        attention_map(recorded, sequence=2)
    plain = ll.trace_encoder_decoder(ll.EncoderDecoder(9, 8, num_hidden_units=4), SOURCES, TARGETS)
    with pytest.raises(ValueError, match=r"attention_map: the trace holds no attention weights"):
        attention_map(plain)
