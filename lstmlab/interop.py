"""Moving weights between lstmlab layers and torch.nn.LSTM / torch.nn.GRU / torch.nn.RNN.

    layer = ll.from_torch(torch.nn.LSTM(12, 100, batch_first=True))   # torch -> lstmlab
    module = layer.to_torch()                                          # lstmlab -> torch

torch keeps the same row order as lstmlab (LSTM: i, f, g, o; GRU: r, z, n) but two biases,
b_ih and b_hh. An LSTM and a plain RNN only ever use their sum, so lstmlab stores b = b_ih + b_hh
and exports b_ih = b, b_hh = 0. A GRU uses b_hh inside the reset gate's product, so it becomes a GRU layer
with reset_gate_mode="recurrent-bias-after-multiplication" and a 6H bias [b_ih; b_hh].

The export is the layer's own method, `RecurrentLayer.to_torch` (lstmlab/layers/recurrent.py).
"""

import torch

from .layers import BiLSTMLayer, DropoutLayer, GRULayer, LSTMLayer, RecurrentLayer, RNNLayer

RECURRENT = (torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN)


def from_torch(module, *, output_mode="sequence", **options):
    """lstmlab layers with a torch.nn.LSTM's, torch.nn.GRU's or torch.nn.RNN's weights.

    Returns one layer, or a list with a dropout_layer between recurrent layers when the module
    has num_layers > 1. output_mode and any other layer options (has_state_outputs=True, say)
    apply to the last recurrent layer.
    """
    if not isinstance(module, RECURRENT):
        raise TypeError(f"from_torch: expected a torch.nn.LSTM, torch.nn.GRU or torch.nn.RNN; got {type(module).__name__}.")
    if getattr(module, "proj_size", 0):
        raise ValueError(
            f"from_torch: an LSTM with proj_size={module.proj_size} outputs its projected state W_hr h, which no lstmlab layer "
            f"outputs: ll.lstm_projected_layer, like MATLAB's lstmProjectedLayer, projects h only where the recurrent weights "
            f"read it and outputs h itself. Use proj_size=0, or build an ll.lstm_projected_layer with output_projector=W_hr.T "
            f"(tests/test_projected.py shows the correspondence)."
        )
    one_bias = not isinstance(module, torch.nn.GRU)  # LSTM, RNN: b = b_ih + b_hh
    suffixes = ["", "_reverse"] if module.bidirectional else [""]
    layers = []
    for k in range(module.num_layers):
        W, R, b = [], [], []
        for suffix in suffixes:
            name = f"l{k}{suffix}"
            W.append(getattr(module, f"weight_ih_{name}"))
            R.append(getattr(module, f"weight_hh_{name}"))
            if module.bias:
                b_ih, b_hh = getattr(module, f"bias_ih_{name}"), getattr(module, f"bias_hh_{name}")
                b.append(b_ih + b_hh if one_bias else torch.cat([b_ih, b_hh]))
            else:
                b.append(torch.zeros(W[-1].shape[0] * (1 if one_bias else 2)))
        layer_options = {
            "input_weights": torch.cat(W).detach(),
            "recurrent_weights": torch.cat(R).detach(),
            "bias": torch.cat(b).detach().to(W[0]),
        }
        if k == module.num_layers - 1:
            layer_options.update(output_mode=output_mode, **options)
        if isinstance(module, torch.nn.LSTM):
            layer = (BiLSTMLayer if module.bidirectional else LSTMLayer)(module.hidden_size, **layer_options)
        elif module.bidirectional:
            family = type(module).__name__
            raise ValueError(f"from_torch: bidirectional {family}s have no lstmlab layer yet; use bidirectional=False.")
        elif isinstance(module, torch.nn.GRU):
            layer = GRULayer(module.hidden_size, reset_gate_mode="recurrent-bias-after-multiplication", **layer_options)
        else:
            layer = RNNLayer(module.hidden_size, activation=module.nonlinearity, **layer_options)
        if k > 0 and module.dropout > 0:
            layers.append(DropoutLayer(module.dropout))
        layers.append(_same_numbers(layer, layer_options))
    return layers[0] if len(layers) == 1 else layers


def _same_numbers(layer, given):
    """The layer moved to the given weights' device and dtype, holding exactly their values."""
    W = given["input_weights"]
    layer = layer.to(device=W.device, dtype=W.dtype)
    with torch.no_grad():
        for name in ("input_weights", "recurrent_weights", "bias"):
            getattr(layer, name).copy_(given[name])
    return layer


def to_torch(layer):
    """A torch.nn.LSTM / GRU / RNN (batch_first=True) with the layer's weights: `layer.to_torch()`."""
    if not isinstance(layer, RecurrentLayer):
        raise TypeError(f"to_torch: layer must be an LSTM, BiLSTM, GRU or RNN layer; got {type(layer).__name__}.")
    return layer.to_torch()
