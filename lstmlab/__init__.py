"""lstmlab: see inside LSTM, BiLSTM, GRU and plain RNN networks.

    import lstmlab as ll
    net = ll.Network([ll.sequence_input_layer(12), ll.lstm_layer(100, output_mode="last"),
                      ll.fully_connected_layer(9), ll.softmax_layer()])
    tr = ll.trace(net, X)          # every gate, every step, every sequence
    tr["lstm"].f                   # the forget gate, (N, T, 100)
"""

from . import datasets, reference, text
from ._version import __version__  # noqa: F401  (ll.__version__)
from .ablation import ablate
from .analysis import Analysis, analyze_network
from .attribution import Attribution, attribute
from .attribution_checks import RandomizationCheck, completeness_check, deletion_curve, randomization_check
from .batching import Batch, batch_summary, sequence_batches, sort_by_length
from .data import pad_sequences
from .decomposition import Decomposition, decompose
from .interop import from_torch, to_torch
from .interventions import Intervention
from .layers import (
    average_pooling1d_layer,
    batch_normalization_layer,
    bigru_layer,
    bilstm_layer,
    birnn_layer,
    convolution1d_layer,
    convolution2d_layer,
    dropout_layer,
    flatten_layer,
    fully_connected_layer,
    global_average_pooling1d_layer,
    global_max_pooling1d_layer,
    gru_layer,
    lstm_layer,
    lstm_projected_layer,
    max_pooling1d_layer,
    relu_layer,
    rnn_layer,
    sequence_folding_layer,
    sequence_input_layer,
    sequence_unfolding_layer,
    sigmoid_layer,
    softmax_layer,
    word_embedding_layer,
)
from .checkpoints import load_checkpoint
from .network import Network, load_network
from .onnx_export import export_onnx
from .onnx_import import import_onnx
from .options import training_options
from .prediction import (
    Stepper,
    activations,
    classify,
    classify_and_update_state,
    minibatchpredict,
    predict,
    predict_and_update_state,
    reset_state,
    scores2label,
)
from .decoding import decode, edit_distance, sequence_log_probability
from .seq2seq import EncoderDecoder, EncoderDecoderTrace, trace_encoder_decoder, train_encoder_decoder
from .solvers import Solver
from .splitting import split_validation
from .tables import sequences_from_frame
from .text import find_cells, generate
from .trace import Trace, trace
from .training import trainnet

try:  # plotly comes with lstmlab[lab]; importing lstmlab.viz gives trainnet its live figure (plots="training-progress")
    from . import viz  # noqa: F401
except ImportError:
    pass

__all__ = [
    "Analysis",
    "Attribution",
    "Batch",
    "Decomposition",
    "EncoderDecoder",
    "EncoderDecoderTrace",
    "Intervention",
    "Network",
    "RandomizationCheck",
    "Solver",
    "Stepper",
    "Trace",
    "ablate",
    "analyze_network",
    "activations",
    "attribute",
    "average_pooling1d_layer",
    "batch_normalization_layer",
    "batch_summary",
    "bigru_layer",
    "bilstm_layer",
    "birnn_layer",
    "classify",
    "classify_and_update_state",
    "completeness_check",
    "convolution1d_layer",
    "convolution2d_layer",
    "datasets",
    "decode",
    "decompose",
    "deletion_curve",
    "dropout_layer",
    "edit_distance",
    "export_onnx",
    "find_cells",
    "flatten_layer",
    "from_torch",
    "fully_connected_layer",
    "generate",
    "global_average_pooling1d_layer",
    "global_max_pooling1d_layer",
    "gru_layer",
    "import_onnx",
    "load_checkpoint",
    "load_network",
    "lstm_layer",
    "lstm_projected_layer",
    "max_pooling1d_layer",
    "minibatchpredict",
    "pad_sequences",
    "randomization_check",
    "predict",
    "predict_and_update_state",
    "reference",
    "relu_layer",
    "reset_state",
    "rnn_layer",
    "scores2label",
    "sequence_batches",
    "sequence_log_probability",
    "sequences_from_frame",
    "sequence_folding_layer",
    "sequence_input_layer",
    "sequence_unfolding_layer",
    "sigmoid_layer",
    "softmax_layer",
    "sort_by_length",
    "split_validation",
    "text",
    "to_torch",
    "trace",
    "trace_encoder_decoder",
    "train_encoder_decoder",
    "training_options",
    "trainnet",
    "word_embedding_layer",
]
