import numpy as np
import pytest
import torch

import lstmlab as ll


@pytest.mark.parametrize(
    "module",
    [torch.nn.LSTM(3, 4), torch.nn.LSTM(3, 4, bidirectional=True), torch.nn.GRU(3, 4), torch.nn.RNN(3, 4), torch.nn.RNN(3, 4, nonlinearity="relu")],
    ids=["lstm", "bilstm", "gru", "rnn", "rnn-relu"],
)
def test_round_trip_through_torch(module):
    layer = ll.from_torch(module)
    back = layer.to_torch()
    x = torch.randn(2, 5, 3)
    module.batch_first = True
    torch.testing.assert_close(back(x)[0], module(x)[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(layer(x), module(x)[0], atol=1e-6, rtol=0)


def test_lstm_bias_is_the_sum_of_torchs_two_biases():
    module = torch.nn.LSTM(2, 3)
    layer = ll.from_torch(module)
    torch.testing.assert_close(layer.bias.detach(), (module.bias_ih_l0 + module.bias_hh_l0).detach())
    assert isinstance(layer, ll.layers.LSTMLayer) and layer.input_size == 2


def test_stacked_modules_become_a_list_with_dropout():
    layers = ll.from_torch(torch.nn.LSTM(3, 4, num_layers=2, dropout=0.25, batch_first=True), output_mode="last")
    assert [type(layer).__name__ for layer in layers] == ["LSTMLayer", "DropoutLayer", "LSTMLayer"]
    assert layers[0].output_mode == "sequence" and layers[2].output_mode == "last"
    assert layers[1].p == 0.25
    net = ll.Network([ll.sequence_input_layer(3), *layers])
    assert ll.predict(net, np.zeros((1, 2, 3))).shape == (1, 4)


def test_layers_torch_cannot_express_are_refused():
    with pytest.raises(ValueError, match=r"uses gate 'hard-sigmoid' and state 'tanh' activations; torch's modules compute only sigmoid gates"):
        ll.lstm_layer(2, input_size=1, gate_activation_function="hard-sigmoid").to_torch()
    with pytest.raises(ValueError, match=r"reset_gate_mode='before-multiplication'"):
        ll.gru_layer(2, input_size=1, reset_gate_mode="before-multiplication").to_torch()
    with pytest.raises(ValueError, match=r"has no weights yet \(input_size='auto'\)"):
        ll.lstm_layer(2).to_torch()
    with pytest.raises(ValueError, match=r"proj_size=2"):
        ll.from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(ValueError, match="from_torch: bidirectional RNNs have no lstmlab layer yet; use bidirectional=False"):
        ll.from_torch(torch.nn.RNN(3, 4, bidirectional=True))


def test_from_torch_keeps_float64_exactly():
    module = torch.nn.LSTM(3, 4, batch_first=True, dtype=torch.float64)
    layer = ll.from_torch(module)
    assert layer.input_weights.dtype == torch.float64
    torch.testing.assert_close(layer.recurrent_weights.detach(), module.weight_hh_l0.detach(), rtol=0, atol=0)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(x), module(x)[0], rtol=0, atol=1e-12)


def test_to_torch_refuses_initial_states_it_cannot_hold():
    with pytest.raises(ValueError, match=r"has a non-zero initial hidden state, which a torch module cannot store"):
        ll.lstm_layer(2, input_size=1, hidden_state=[0.5, -0.5]).to_torch()
