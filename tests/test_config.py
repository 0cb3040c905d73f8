"""config() round trips: every layer class remade from its config has the same config, and with
the same weights (its state_dict) computes the same output."""

import inspect

import numpy as np
import pytest
import torch

import lstmlab as ll
from lstmlab.layers import REGISTRY

from helpers import naming

CLASSES = tuple(row.cls for row in REGISTRY)

SEQUENCES = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(0))  # (B, T, C)
IMAGES = torch.randn(2, 3, 5, 5, 2, generator=torch.Generator().manual_seed(1))  # (B, T, H, W, C)
MADE = {  # a layer of each class with options that differ from the defaults, and what it reads
    "SequenceInputLayer": (lambda: ll.sequence_input_layer(4, normalization="zerocenter", mean=np.ones(4)), SEQUENCES),
    "LSTMLayer": (lambda: ll.lstm_layer(3, output_mode="last", input_weights_initializer="he", recurrent_weights_initializer="glorot",
                                        bias_initializer="narrow-normal", gate_activation_function="hard-sigmoid", cell_state=np.ones(3)), SEQUENCES),
    "BiLSTMLayer": (lambda: ll.bilstm_layer(3, bias_initializer="ones", input_weights_learn_rate_factor=[1, 2, 3, 4]), SEQUENCES),
    "ProjectedLSTMLayer": (lambda: ll.lstm_projected_layer(8, 2, 2, input_projector_initializer="glorot", output_projector_initializer="he",
                                                           input_projector_l2_factor=0.5), SEQUENCES),
    "GRULayer": (lambda: ll.gru_layer(3, reset_gate_mode="recurrent-bias-after-multiplication", bias_initializer="narrow-normal", direction="reverse"), SEQUENCES),
    "BiGRULayer": (lambda: ll.bigru_layer(3, input_weights_initializer="orthogonal"), SEQUENCES),
    "RNNLayer": (lambda: ll.rnn_layer(3, activation="relu", recurrent_weights_initializer="he"), SEQUENCES),
    "BiRNNLayer": (lambda: ll.birnn_layer(3, output_mode="final"), SEQUENCES),
    "FullyConnectedLayer": (lambda: ll.fully_connected_layer(2, weights_initializer="he", bias_initializer="narrow-normal"), SEQUENCES),
    "SoftmaxLayer": (ll.softmax_layer, SEQUENCES),
    "SigmoidLayer": (ll.sigmoid_layer, SEQUENCES),
    "ReluLayer": (ll.relu_layer, SEQUENCES),
    "DropoutLayer": (lambda: ll.dropout_layer(0.3), SEQUENCES),
    "Convolution1DLayer": (lambda: ll.convolution1d_layer(3, 2, padding="causal", weights_initializer="he", bias_initializer="ones"), SEQUENCES),
    "Convolution2DLayer": (lambda: ll.convolution2d_layer(3, 2, padding="same", weights_initializer="narrow-normal"), IMAGES),
    "MaxPooling1DLayer": (lambda: ll.max_pooling1d_layer(2, stride=2), SEQUENCES),
    "AveragePooling1DLayer": (lambda: ll.average_pooling1d_layer(3, padding="same"), SEQUENCES),
    "GlobalMaxPooling1DLayer": (ll.global_max_pooling1d_layer, SEQUENCES),
    "GlobalAveragePooling1DLayer": (ll.global_average_pooling1d_layer, SEQUENCES),
    "BatchNormalizationLayer": (lambda: ll.batch_normalization_layer(epsilon=1e-3), SEQUENCES),
    "SequenceFoldingLayer": (ll.sequence_folding_layer, IMAGES),
    "SequenceUnfoldingLayer": (ll.sequence_unfolding_layer, None),  # reads what a folding layer left: its config is checked
    "FlattenLayer": (ll.flatten_layer, IMAGES),
    "WordEmbeddingLayer": (lambda: ll.word_embedding_layer(3, 10, weights_initializer="he"), torch.tensor([[1.0, 2, 3], [4, 5, 0]])[..., None]),
}


def test_every_layer_class_has_a_case():
    assert sorted(MADE) == sorted(cls.__name__ for cls in CLASSES)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_a_layer_remade_from_its_config_has_its_config_and_computes_what_it_computes(cls):
    make, x = MADE[cls.__name__]
    torch.manual_seed(0)
    layer = make()
    assert type(layer) is cls
    if x is not None:
        layer.eval()(x)  # built: input_size and weights known
    config = layer.config()
    again = cls(**config)
    assert again.config() == config
    if x is not None:
        for name, value in layer.state_dict().items():  # as ll.load_network restores a layer: weights, states, statistics
            setattr(again, name, torch.nn.Parameter(value) if isinstance(getattr(again, name), torch.nn.Parameter) else value)
        torch.testing.assert_close(again.eval()(x), layer(x), atol=0, rtol=0)


@pytest.mark.parametrize("make", [
    lambda init: ll.lstm_layer(3, input_size=2, bias_initializer=init),
    lambda init: ll.lstm_projected_layer(8, 2, 2, input_projector_initializer=init),
    lambda init: ll.fully_connected_layer(2, weights_initializer=init),
    lambda init: ll.convolution1d_layer(3, 2, bias_initializer=init),
    lambda init: ll.word_embedding_layer(3, 10, weights_initializer=init),
], ids=["lstm", "projected", "fc", "conv1d", "embedding"])
def test_a_callable_initializer_is_refused_by_config_with_its_name_and_a_fix(make):
    layer = make(lambda shape: np.zeros(shape))
    with pytest.raises(ValueError, match=naming("_initializer is a callable", "named initializer")):
        layer.config()


SAVED_APART = {  # what a layer's state_dict holds: weights, initial states, statistics
    "input_weights", "recurrent_weights", "bias", "weights", "cell_state", "hidden_state", "input_projector", "output_projector",
    "mean", "standard_deviation", "min", "max", "offset", "scale", "trained_mean", "trained_variance",
}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_config_holds_every_option_of_the_constructor_but_what_is_saved_apart(cls):
    layer = MADE[cls.__name__][0]()
    parameters = inspect.signature(cls).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):  # **options: those of the class it extends
        parameters = {**inspect.signature(cls.__mro__[1]).parameters, **parameters}
    options = {name for name, p in parameters.items() if p.kind is not p.VAR_KEYWORD} - SAVED_APART
    if getattr(layer, "num_directions", 1) == 2:
        options.discard("direction")  # a bidirectional layer reads both ways: its constructor refuses direction="reverse"
    assert options <= set(layer.config()), options - set(layer.config())


def test_the_initializers_are_in_the_config_as_given():
    lstm, projected = MADE["LSTMLayer"][0](), MADE["ProjectedLSTMLayer"][0]()
    assert {k: v for k, v in lstm.config().items() if k.endswith("_initializer")} == {
        "input_weights_initializer": "he", "recurrent_weights_initializer": "glorot", "bias_initializer": "narrow-normal"}
    assert (projected.config()["input_projector_initializer"], projected.config()["output_projector_initializer"]) == ("glorot", "he")
