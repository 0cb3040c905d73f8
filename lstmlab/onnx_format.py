"""What lstmlab's recurrent layers are in ONNX's terms, for `onnx_export` and `onnx_import`.

The conversion is mostly about gate order. lstmlab stores the rows of W, R and b in MATLAB's order,
LSTM i, f, g, o and GRU r, z, n; ONNX's LSTM operator orders them i, o, f, c (c is our g) and its
GRU z, r, h (h is our candidate n). ONNX also keeps an input bias Wb and a recurrent bias Rb where
an lstmlab LSTM (and RNN: one block of rows, no gates) keeps their sum b; a GRU's reset gate mode
becomes ONNX's linear_before_reset:

    lstmlab reset_gate_mode                 ONNX GRU
    "after-multiplication"                  linear_before_reset=1, Rb = 0
    "recurrent-bias-after-multiplication"   linear_before_reset=1, Rb = the recurrent bias
    "before-multiplication"                 linear_before_reset=0, Rb = 0

ONNX's recurrent operators read time first, (T, N, C), and output (T, D, N, H).
`onnx` (and `onnxruntime`, to run a file) are optional: `pip install lstmlab[onnx]`.
"""

import numpy as np

OPSET = 17  # ONNX's LSTM and GRU last changed in opset 14; onnxruntime runs 17 everywhere
IR_VERSION = 8  # the IR version that goes with opset 17, readable by older runtimes too

# The gate row blocks in ONNX's order, named as lstmlab names them (g is ONNX's c, n its h);
# lstmlab's own order is the layers' gate_names.
ONNX_GATES = {"lstm": ("i", "o", "f", "g"), "gru": ("z", "r", "n"), "rnn": ("a",)}

# lstmlab's activation name -> (ONNX activation, its alpha, its beta). MATLAB's hard-sigmoid,
# max(0, min(1, 0.2 x + 0.5)), is ONNX's HardSigmoid with alpha 0.2, beta 0.5.
ACTIVATIONS = {
    "sigmoid": ("Sigmoid", None, None),
    "hard-sigmoid": ("HardSigmoid", 0.2, 0.5),
    "tanh": ("Tanh", None, None),
    "softsign": ("Softsign", None, None),
    "relu": ("Relu", None, None),
}


def require_onnx(where):
    """The `onnx` package, or an error that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{where}: needs the onnx package, which is not installed; pip install lstmlab[onnx].") from None
    return onnx


def reorder_gates(matrix, source, target):
    """Reorder the gate row blocks of a (k*H, ...) array from gate order `source` to `target`."""
    blocks = np.split(np.asarray(matrix), len(source))
    return np.concatenate([blocks[source.index(gate)] for gate in target])
