"""lstmlab layers. Each factory name (lstm_layer, ...) is the MATLAB layer name in snake_case."""

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

sequence_input_layer = SequenceInputLayer
lstm_layer = LSTMLayer
bilstm_layer = BiLSTMLayer
lstm_projected_layer = ProjectedLSTMLayer
gru_layer = GRULayer
bigru_layer = BiGRULayer
rnn_layer = RNNLayer
birnn_layer = BiRNNLayer
fully_connected_layer = FullyConnectedLayer
softmax_layer = SoftmaxLayer
sigmoid_layer = SigmoidLayer
relu_layer = ReluLayer
dropout_layer = DropoutLayer
convolution1d_layer = Convolution1DLayer
convolution2d_layer = Convolution2DLayer
max_pooling1d_layer = MaxPooling1DLayer
average_pooling1d_layer = AveragePooling1DLayer
global_max_pooling1d_layer = GlobalMaxPooling1DLayer
global_average_pooling1d_layer = GlobalAveragePooling1DLayer
batch_normalization_layer = BatchNormalizationLayer
sequence_folding_layer = SequenceFoldingLayer
sequence_unfolding_layer = SequenceUnfoldingLayer
flatten_layer = FlattenLayer
word_embedding_layer = WordEmbeddingLayer

CLASSES = (
    SequenceInputLayer,
    LSTMLayer,
    BiLSTMLayer,
    ProjectedLSTMLayer,
    GRULayer,
    BiGRULayer,
    RNNLayer,
    BiRNNLayer,
    FullyConnectedLayer,
    SoftmaxLayer,
    SigmoidLayer,
    ReluLayer,
    DropoutLayer,
    Convolution1DLayer,
    Convolution2DLayer,
    MaxPooling1DLayer,
    AveragePooling1DLayer,
    GlobalMaxPooling1DLayer,
    GlobalAveragePooling1DLayer,
    BatchNormalizationLayer,
    SequenceFoldingLayer,
    SequenceUnfoldingLayer,
    FlattenLayer,
    WordEmbeddingLayer,
)
FACTORIES = (
    "sequence_input_layer",
    "lstm_layer",
    "bilstm_layer",
    "lstm_projected_layer",
    "gru_layer",
    "bigru_layer",
    "rnn_layer",
    "birnn_layer",
    "fully_connected_layer",
    "softmax_layer",
    "sigmoid_layer",
    "relu_layer",
    "dropout_layer",
    "convolution1d_layer",
    "convolution2d_layer",
    "max_pooling1d_layer",
    "average_pooling1d_layer",
    "global_max_pooling1d_layer",
    "global_average_pooling1d_layer",
    "batch_normalization_layer",
    "sequence_folding_layer",
    "sequence_unfolding_layer",
    "flatten_layer",
    "word_embedding_layer",
)

__all__ = ["Layer", "RecurrentLayer", "CLASSES", *(cls.__name__ for cls in CLASSES), *FACTORIES]
