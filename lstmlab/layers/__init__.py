"""lstmlab layers, and REGISTRY: the one list of them that the rest of lstmlab reads.

Each row of REGISTRY is one layer:

    factory     its factory name, the MATLAB layer name in snake_case (ll.lstm_layer); the designer's palette
    cls         its class; a network file names it (ll.load_network finds the class by that name)
    form        the options the designer's form shows besides the name; () for none
    example     values for the options the factory requires, when the designer's palette adds one
    over_time   it reads across time steps, so it needs sequences (ll.analyze_network says where it gets none)
    no_onnx     why ll.export_onnx cannot write it; None: lstmlab.onnx_export.EXPORTERS holds its exporter

A new layer gets its row here; tests/test_architecture.py checks that every layer class has one,
and that every row has what each column promises.
"""

from dataclasses import dataclass, field

from .base import Layer
from .basic import DropoutLayer, FullyConnectedLayer, ReluLayer, SequenceInputLayer, SigmoidLayer, SoftmaxLayer
from .batchnorm import BatchNormalizationLayer
from .convolution import Convolution1DLayer, Convolution2DLayer
from .embedding import WordEmbeddingLayer
from .frames import FlattenLayer, SequenceFoldingLayer, SequenceUnfoldingLayer
from .gru import BiGRULayer, GRULayer
from .lstm import BiLSTMLayer, LSTMLayer
from .pooling import AveragePooling1DLayer, GlobalAveragePooling1DLayer, GlobalMaxPooling1DLayer, MaxPooling1DLayer
from .projected import ProjectedLSTMLayer
from .recurrent import RecurrentLayer
from .rnn import BiRNNLayer, RNNLayer


@dataclass(frozen=True)
class Registered:
    """One layer of REGISTRY (see the module docstring)."""

    factory: str
    cls: type
    form: tuple = ()
    example: dict = field(default_factory=dict)
    over_time: bool = False
    no_onnx: str = None


HIDDEN = {"num_hidden_units": 100}
IMAGES = "works on image sequences, which lstmlab does not export"
REGISTRY = (
    Registered("sequence_input_layer", SequenceInputLayer, ("input_size", "normalization", "min_length"), {"input_size": 12}),
    Registered("lstm_layer", LSTMLayer, ("num_hidden_units", "output_mode", "state_activation_function", "gate_activation_function"), HIDDEN),
    Registered("bilstm_layer", BiLSTMLayer, ("num_hidden_units", "output_mode", "state_activation_function", "gate_activation_function"), HIDDEN),
    Registered(
        "lstm_projected_layer", ProjectedLSTMLayer, ("num_hidden_units", "output_projector_size", "input_projector_size", "output_mode"),
        {"num_hidden_units": 100, "output_projector_size": 25, "input_projector_size": 4},
    ),
    Registered("gru_layer", GRULayer, ("num_hidden_units", "output_mode", "reset_gate_mode"), HIDDEN),
    Registered("bigru_layer", BiGRULayer, ("num_hidden_units", "output_mode", "reset_gate_mode"), HIDDEN),
    Registered("rnn_layer", RNNLayer, ("num_hidden_units", "output_mode", "activation"), HIDDEN),
    Registered("birnn_layer", BiRNNLayer, ("num_hidden_units", "output_mode", "activation"), HIDDEN),
    Registered("fully_connected_layer", FullyConnectedLayer, ("output_size",), {"output_size": 10}),
    Registered("softmax_layer", SoftmaxLayer),
    Registered("sigmoid_layer", SigmoidLayer),
    Registered("relu_layer", ReluLayer),
    Registered("dropout_layer", DropoutLayer, ("p",)),
    Registered(
        "convolution1d_layer", Convolution1DLayer, ("filter_size", "num_filters", "stride", "dilation_factor", "padding"),
        {"filter_size": 3, "num_filters": 32}, over_time=True,
    ),
    Registered(
        "convolution2d_layer", Convolution2DLayer, ("filter_size", "num_filters", "stride", "dilation_factor", "padding"),
        {"filter_size": 3, "num_filters": 32}, no_onnx=IMAGES,
    ),
    Registered("max_pooling1d_layer", MaxPooling1DLayer, ("pool_size", "stride", "padding"), {"pool_size": 2}, over_time=True),
    Registered("average_pooling1d_layer", AveragePooling1DLayer, ("pool_size", "stride", "padding", "padding_value"), {"pool_size": 2}, over_time=True),
    Registered("global_max_pooling1d_layer", GlobalMaxPooling1DLayer, over_time=True),
    Registered("global_average_pooling1d_layer", GlobalAveragePooling1DLayer, over_time=True),
    Registered("batch_normalization_layer", BatchNormalizationLayer, ("epsilon",)),
    Registered("sequence_folding_layer", SequenceFoldingLayer, no_onnx=IMAGES),
    Registered("sequence_unfolding_layer", SequenceUnfoldingLayer, no_onnx=IMAGES),
    Registered("flatten_layer", FlattenLayer),
    Registered("word_embedding_layer", WordEmbeddingLayer, ("dimension", "num_words", "first_id"), {"dimension": 100, "num_words": 1000}),
)
BY_CLASS = {row.cls: row for row in REGISTRY}
globals().update({row.factory: row.cls for row in REGISTRY})  # the factories: lstm_layer = LSTMLayer, ...

__all__ = ["Layer", "RecurrentLayer", "REGISTRY", "BY_CLASS", *(row.cls.__name__ for row in REGISTRY), *(row.factory for row in REGISTRY)]
