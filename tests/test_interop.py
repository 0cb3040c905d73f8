import numpy as np
import pytest
import torch

import lstmlab as ll

from helpers import naming


@pytest.mark.parametrize(
    "module",
    [
        torch.nn.LSTM(3, 4),
        torch.nn.LSTM(3, 4, bidirectional=True),
        torch.nn.GRU(3, 4),
        torch.nn.GRU(3, 4, bidirectional=True),
        torch.nn.RNN(3, 4),
        torch.nn.RNN(3, 4, nonlinearity="relu"),
        torch.nn.RNN(3, 4, nonlinearity="relu", bidirectional=True),
    ],
    ids=["lstm", "bilstm", "gru", "bigru", "rnn", "rnn-relu", "birnn-relu"],
)
def test_round_trip_through_torch(module):
    layer = ll.from_torch(module)
    assert layer.num_directions == 1 + module.bidirectional
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
    with pytest.raises(ValueError, match=naming("gate 'hard-sigmoid'", "only sigmoid gates")):
        ll.lstm_layer(2, input_size=1, gate_activation_function="hard-sigmoid").to_torch()
    with pytest.raises(ValueError, match=r"reset_gate_mode='before-multiplication'"):
        ll.gru_layer(2, input_size=1, reset_gate_mode="before-multiplication").to_torch()
    with pytest.raises(ValueError, match=r"has no weights yet \(input_size='auto'\)"):
        ll.lstm_layer(2).to_torch()
    with pytest.raises(ValueError, match=r"proj_size=2"):
        ll.from_torch(torch.nn.LSTM(3, 4, proj_size=2))


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


# --- whole models -----------------------------------------------------------------------------------

V, D, H, K = 20, 5, 6, 3


class TextClassifier(torch.nn.Module):
    """The most common torch LSTM model: token ids -> embedding -> LSTM -> the last step -> scores."""

    def __init__(self, recurrent=torch.nn.LSTM, batch_first=True, last="y", padding_idx=None, **options):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, D, padding_idx=padding_idx)
        self.lstm = recurrent(D, H, batch_first=batch_first, **options)
        self.fc = torch.nn.Linear(H, K)
        self.batch_first, self.last, self.has_cell = batch_first, last, recurrent is torch.nn.LSTM

    def forward(self, ids):
        y, states = self.lstm(self.embedding(ids))
        if self.last == "h_n":
            h_n = states[0] if self.has_cell else states  # LSTM: (h_n, c_n)
            return self.fc(h_n[-1])
        return self.fc(y[:, -1] if self.batch_first else y[-1])


def torch_ids(rng, N=4, T=7):
    ids = rng.integers(0, V, size=(N, T))
    ids[0, 2] = 0  # torch's first word
    return ids


@pytest.mark.parametrize(
    "options",
    [{}, {"batch_first": False}, {"last": "h_n"}, {"last": "h_n", "num_layers": 2}, {"recurrent": torch.nn.GRU}, {"recurrent": torch.nn.RNN, "last": "h_n"}],
    ids=["y[:, -1]", "time-major y[-1]", "h_n[-1]", "two layers h_n[-1]", "gru", "rnn h_n[-1]"],
)
def test_a_torch_text_classifier_comes_in_with_its_ids(options, rng):
    torch.manual_seed(0)
    model = TextClassifier(**options).eval()
    net = ll.from_torch(model)
    embedding = net["embedding"]
    assert embedding.first_id == 0 and embedding.num_words == V
    recurrent = [layer for layer in net.layers if isinstance(layer, ll.layers.RecurrentLayer)]
    assert [layer.output_mode for layer in recurrent] == ["sequence"] * (len(recurrent) - 1) + ["last"]
    ids = torch_ids(rng)
    expected = model(torch.as_tensor(ids if model.batch_first else ids.T)).detach().numpy()  # (N, K)
    np.testing.assert_allclose(ll.predict(net, list(ids)), expected, atol=1e-5, rtol=0)
    assert ll.trace(net, list(ids))[recurrent[-1].name].h.shape == (4, 7, H)


def test_padding_idx_0_is_lstmlabs_padding(rng):
    torch.manual_seed(0)
    model = TextClassifier(padding_idx=0).eval()
    net = ll.from_torch(model)
    assert net["embedding"].first_id == 1 and net["embedding"].num_words == V - 1
    ids = torch_ids(rng)
    expected = model(torch.as_tensor(ids)).detach().numpy()
    np.testing.assert_allclose(ll.predict(net, ids[..., None].astype(float)), expected, atol=1e-5, rtol=0)  # an (N, T, 1) array may hold padding
    with pytest.raises(ValueError, match=r"X\[0\] has token id 0 at time step 2, but layer 'embedding' counts words from 1"):
        ll.predict(net, list(ids))


class ConvolutionalTagger(torch.nn.Module):
    """Conv1d reads (N, C, T): the model transposes around it; a two-layer GRU; scores at every step."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(3, 8, 3, padding=1)
        self.pool = torch.nn.MaxPool1d(2)
        self.gru = torch.nn.GRU(8, H, num_layers=2, dropout=0.5, batch_first=True)
        self.head = torch.nn.Sequential(torch.nn.Linear(H, K), torch.nn.Softmax(dim=-1))

    def forward(self, x):
        x = torch.relu(self.pool(self.conv(x.transpose(1, 2)))).transpose(1, 2)
        y, _ = self.gru(x)
        return self.head(y)


def test_convolution_pooling_and_a_stacked_gru_come_in(rng):
    torch.manual_seed(0)
    model = ConvolutionalTagger().eval()
    net = ll.from_torch(model)
    assert [layer.name for layer in net.layers] == ["sequenceinput", "conv", "pool", "relu", "gru_1", "dropout", "gru_2", "head_0", "head_1"]
    x = rng.normal(size=(2, 10, 3)).astype(np.float32)
    expected = model(torch.as_tensor(x)).detach().numpy()  # (N, 5, K)
    np.testing.assert_allclose(ll.predict(net, x), expected, atol=1e-5, rtol=0)


def test_a_sequential_of_float64_modules_keeps_every_number(rng):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(4, 2), torch.nn.Softmax(dim=2)).double().eval()
    net = ll.from_torch(model)
    assert [type(layer).__name__ for layer in net.layers] == ["SequenceInputLayer", "FullyConnectedLayer", "ReluLayer", "DropoutLayer", "FullyConnectedLayer", "SoftmaxLayer"]
    assert net.layers[1].name == "fc_1" and net.layers[3].p == 0.1
    x = rng.normal(size=(2, 5, 3))
    np.testing.assert_allclose(ll.predict(net, x), model(torch.as_tensor(x)).detach().numpy(), atol=1e-12, rtol=0)


class Residual(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)

    def forward(self, x):
        return x + self.fc(x)


class Bidirectional(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 4, bidirectional=True, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[1][0][-1]


def test_what_cannot_be_followed_is_refused_by_name():
    with pytest.raises(ValueError, match=naming("from_torch: module '2' (Linear)", "(y, states)", "y, _ = self.lstm(x)")):
        ll.from_torch(torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.LSTM(3, 4), torch.nn.Linear(4, 2)))
    with pytest.raises(ValueError, match=r"from_torch: module '1' \(LayerNorm\) in Sequential: lstmlab has no layer for it"):
        ll.from_torch(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3)))
    with pytest.raises(ValueError, match=naming("from_torch: add (add) in Residual", "reads x besides")):
        ll.from_torch(Residual())
    with pytest.raises(ValueError, match=naming("from_torch: getitem_", "in Bidirectional", "h_n[-1]", "backward direction")):
        ll.from_torch(Bidirectional())
    with pytest.raises(ValueError, match=naming("from_torch: module '0' (Conv1d)", "reads (N, C, T) but gets (N, T, C)")):
        ll.from_torch(torch.nn.Sequential(torch.nn.Conv1d(3, 4, 2)))
    with pytest.raises(ValueError, match=naming("from_torch: module '1' (Embedding)", "first step")):
        ll.from_torch(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Embedding(3, 2)))
    with pytest.raises(TypeError, match=naming("from_torch: output_mode", "one recurrent module", "Sequential")):
        ll.from_torch(torch.nn.Sequential(torch.nn.Linear(3, 3)), output_mode="last")
    with pytest.raises(TypeError, match=r"from_torch: module must be a torch.nn.Module .*; got str"):
        ll.from_torch("lstm")
    with pytest.raises(TypeError, match=naming("to_torch: layer must be", "got FullyConnectedLayer")):
        ll.to_torch(ll.fully_connected_layer(2))


class Pooled(torch.nn.Module):
    """Average pooling that leaves its own padding out of each mean (count_include_pad=False), no conv padding."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(3, 4, 3, padding="valid")
        self.pool = torch.nn.AvgPool1d(2, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.pool(self.conv(x.transpose(1, 2))).permute(0, 2, 1)


def test_average_pooling_keeps_torchs_count_of_padding(rng):
    torch.manual_seed(0)
    model = Pooled().eval()
    net = ll.from_torch(model)
    assert net["pool"].padding_value == "mean" and net.layers[0].min_length == 3
    x = rng.normal(size=(2, 9, 3)).astype(np.float32)
    np.testing.assert_allclose(ll.predict(net, x), model(torch.as_tensor(x)).detach().numpy(), atol=1e-6, rtol=0)
