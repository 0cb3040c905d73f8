"""lstmlab layers. Each factory name (lstm_layer, ...) is the MATLAB layer name in snake_case."""

from .base import Layer
from .basic import DropoutLayer, FullyConnectedLayer, SequenceInputLayer, SigmoidLayer, SoftmaxLayer
from .gru import GRULayer
from .lstm import BiLSTMLayer, LSTMLayer
from .recurrent import RecurrentLayer

sequence_input_layer = SequenceInputLayer
lstm_layer = LSTMLayer
bilstm_layer = BiLSTMLayer
gru_layer = GRULayer
fully_connected_layer = FullyConnectedLayer
softmax_layer = SoftmaxLayer
sigmoid_layer = SigmoidLayer
dropout_layer = DropoutLayer

__all__ = [
    "Layer",
    "RecurrentLayer",
    "SequenceInputLayer",
    "LSTMLayer",
    "BiLSTMLayer",
    "GRULayer",
    "FullyConnectedLayer",
    "SoftmaxLayer",
    "SigmoidLayer",
    "DropoutLayer",
    "sequence_input_layer",
    "lstm_layer",
    "bilstm_layer",
    "gru_layer",
    "fully_connected_layer",
    "softmax_layer",
    "sigmoid_layer",
    "dropout_layer",
]
