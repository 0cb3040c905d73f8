"""The LSTM, GRU, plain RNN and attention equations in plain NumPy (float64): the readable truth.

Every fast torch path in lstmlab is tested against these functions. They are written to be read:
one line per equation, in the notation used everywhere in lstmlab.

Symbols (H hidden units, C input channels):

=========  ==========  ===========================================================
symbol     shape       meaning
=========  ==========  ===========================================================
x          (C,)        input at time step t
h          (H,)        hidden state (the layer's output at step t)
c          (H,)        cell state (LSTM only): the memory the gates edit
i          (H,)        input gate: how much of the candidate enters the cell
f          (H,)        forget gate: how much of the old cell state is kept
g          (H,)        cell candidate: the new information on offer
o          (H,)        output gate: how much of the cell is shown as h
r, z, n    (H,)        GRU reset gate, update gate and candidate state
a          (H,)        plain RNN pre-activation: h = sigma(a)
W          (4H, C)     input weights, rows in gate order i, f, g, o (GRU: 3H, r, z, n; RNN: H)
R          (4H, H)     recurrent weights, same row order
b          (4H,)       bias, same row order (GRU with recurrent bias: 6H, input then recurrent)
Q_i, Q_o   (C, Pi),    projected LSTM: input projector and output projector; W is then
           (H, Po)     (4H, Pi) and R (4H, Po), multiplying Q_i^T x and Q_o^T h_prev
=========  ==========  ===========================================================

LSTM step, with gate activation sigma_g and state activation sigma_s::

    i = sigma_g(W_i x + R_i h_prev + b_i)
    f = sigma_g(W_f x + R_f h_prev + b_f)
    g = sigma_s(W_g x + R_g h_prev + b_g)
    o = sigma_g(W_o x + R_o h_prev + b_o)
    c = f * c_prev + i * g
    h = o * sigma_s(c)

>>> import numpy as np
>>> H, C = 3, 2
>>> W, R, b = np.ones((4 * H, C)), np.zeros((4 * H, H)), np.zeros(4 * H)
>>> step = lstm_step(np.array([0.5, -0.5]), np.zeros(H), np.zeros(H), W, R, b)
>>> step.i.shape, round(float(step.f[0]), 3)
((3,), 0.5)
"""

from typing import NamedTuple

import numpy as np

# --- activation functions, as MATLAB's lstmLayer reference page defines them ----------------------


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def hard_sigmoid(x):
    """0 below -2.5, 1 above 2.5, a straight line 0.2 x + 0.5 in between."""
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def softsign(x):
    return x / (1.0 + np.abs(x))


def relu(x):
    return np.maximum(x, 0.0)


GATE_ACTIVATIONS = {"sigmoid": sigmoid, "hard-sigmoid": hard_sigmoid}
STATE_ACTIVATIONS = {"tanh": np.tanh, "softsign": softsign, "relu": relu}


# --- one time step --------------------------------------------------------------------------------


class LSTMStep(NamedTuple):
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray


def lstm_step(x, h_prev, c_prev, W, R, b, gate="sigmoid", state="tanh"):
    """One LSTM time step. Returns every quantity the step computed as an `LSTMStep`."""
    sigma_g, sigma_s = GATE_ACTIVATIONS[gate], STATE_ACTIVATIONS[state]
    W_i, W_f, W_g, W_o = np.split(W, 4)
    R_i, R_f, R_g, R_o = np.split(R, 4)
    b_i, b_f, b_g, b_o = np.split(b, 4)
    i = sigma_g(W_i @ x + R_i @ h_prev + b_i)
    f = sigma_g(W_f @ x + R_f @ h_prev + b_f)
    g = sigma_s(W_g @ x + R_g @ h_prev + b_g)
    o = sigma_g(W_o @ x + R_o @ h_prev + b_o)
    c = f * c_prev + i * g
    h = o * sigma_s(c)
    return LSTMStep(i, f, g, o, c, h)


def lstm_projected_step(x, h_prev, c_prev, Q_i, W, Q_o, R, b, gate="sigmoid", state="tanh"):
    """One step of a projected LSTM (MATLAB's lstmProjectedLayer): the LSTM step on projected inputs.

    The input projector Q_i (C, Pi) and the output projector Q_o (H, Po) shrink x and h_prev
    before the weights W (4H, Pi) and R (4H, Po) multiply them. h stays (H,): it is the output.
    """
    x_proj = Q_i.T @ x  # (Pi,) the projected input
    h_proj = Q_o.T @ h_prev  # (Po,) the projected hidden state: what the recurrence reads
    return lstm_step(x_proj, h_proj, c_prev, W, R, b, gate, state)


class GRUStep(NamedTuple):
    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    h: np.ndarray


def gru_step(x, h_prev, W, R, b, gate="sigmoid", state="tanh", reset_gate_mode="after-multiplication"):
    """One GRU time step. Returns the reset gate r, update gate z, candidate n and new h.

    reset_gate_mode says where the reset gate acts on the recurrent term of the candidate:
    "after-multiplication" r * (R_n h_prev), "before-multiplication" R_n (r * h_prev), or
    "recurrent-bias-after-multiplication" r * (R_n h_prev + b_Rn), where b holds 6H values: the
    input bias (r, z, n) then the recurrent bias (r, z, n). The last mode is torch.nn.GRU's.
    """
    sigma_g, sigma_s = GATE_ACTIVATIONS[gate], STATE_ACTIVATIONS[state]
    W_r, W_z, W_n = np.split(W, 3)
    R_r, R_z, R_n = np.split(R, 3)
    if reset_gate_mode == "recurrent-bias-after-multiplication":
        b_W, b_R = np.split(b, 2)  # input bias, recurrent bias
    else:
        b_W, b_R = b, np.zeros_like(b)
    b_Wr, b_Wz, b_Wn = np.split(b_W, 3)
    b_Rr, b_Rz, b_Rn = np.split(b_R, 3)
    r = sigma_g(W_r @ x + b_Wr + R_r @ h_prev + b_Rr)
    z = sigma_g(W_z @ x + b_Wz + R_z @ h_prev + b_Rz)
    if reset_gate_mode == "before-multiplication":
        n = sigma_s(W_n @ x + b_Wn + R_n @ (r * h_prev))
    else:
        n = sigma_s(W_n @ x + b_Wn + r * (R_n @ h_prev + b_Rn))
    h = (1 - z) * n + z * h_prev
    return GRUStep(r, z, n, h)


class RNNStep(NamedTuple):
    a: np.ndarray
    h: np.ndarray


def rnn_step(x, h_prev, W, R, b, activation="tanh"):
    """One plain (Elman) RNN time step, torch.nn.RNN's with b = b_ih + b_hh: the pre-activation a and h."""
    a = W @ x + R @ h_prev + b
    return RNNStep(a, STATE_ACTIVATIONS[activation](a))


# --- whole sequences ------------------------------------------------------------------------------


def lstm_sequence(X, W, R, b, h0=None, c0=None, gate="sigmoid", state="tanh"):
    """Run `lstm_step` over a (T, C) sequence. Returns an `LSTMStep` of (T, H) arrays."""
    H = R.shape[1]
    h = np.zeros(H) if h0 is None else h0
    c = np.zeros(H) if c0 is None else c0
    steps = []
    for x in X:
        step = lstm_step(x, h, c, W, R, b, gate, state)
        h, c = step.h, step.c
        steps.append(step)
    return LSTMStep(*(np.stack(q) for q in zip(*steps)))


def lstm_projected_sequence(X, Q_i, W, Q_o, R, b, h0=None, c0=None, gate="sigmoid", state="tanh"):
    """Run `lstm_projected_step` over a (T, C) sequence. Returns an `LSTMStep` of (T, H) arrays."""
    H = Q_o.shape[0]
    h = np.zeros(H) if h0 is None else h0
    c = np.zeros(H) if c0 is None else c0
    steps = []
    for x in X:
        step = lstm_projected_step(x, h, c, Q_i, W, Q_o, R, b, gate, state)
        h, c = step.h, step.c
        steps.append(step)
    return LSTMStep(*(np.stack(q) for q in zip(*steps)))


def gru_sequence(X, W, R, b, h0=None, gate="sigmoid", state="tanh", reset_gate_mode="after-multiplication"):
    """Run `gru_step` over a (T, C) sequence. Returns a `GRUStep` of (T, H) arrays."""
    h = np.zeros(R.shape[1]) if h0 is None else h0
    steps = []
    for x in X:
        step = gru_step(x, h, W, R, b, gate, state, reset_gate_mode)
        h = step.h
        steps.append(step)
    return GRUStep(*(np.stack(q) for q in zip(*steps)))


def rnn_sequence(X, W, R, b, h0=None, activation="tanh"):
    """Run `rnn_step` over a (T, C) sequence. Returns an `RNNStep` of (T, H) arrays."""
    h = np.zeros(R.shape[1]) if h0 is None else h0
    steps = []
    for x in X:
        step = rnn_step(x, h, W, R, b, activation)
        h = step.h
        steps.append(step)
    return RNNStep(*(np.stack(q) for q in zip(*steps)))


# --- attention (the encoder–decoder's, Luong et al. 2015, global attention) -----------------------


class AttentionStep(NamedTuple):
    e: np.ndarray
    alpha: np.ndarray
    a: np.ndarray
    h_tilde: np.ndarray


def attention_step(h, H_bar, W_c, score="dot", W_a=None, v_a=None, alpha=None):
    """One decoder step of global attention over the real source steps (Luong et al. 2015, eqs. 5, 7, 8).

    h (H,) is the decoder's hidden state at output step t; H_bar (S, H) the encoder's hidden states
    at the S real source steps (padding left out); W_c (H, 2H); W_a (H, H) for "general" and
    (H, 2H) for "additive", with v_a (H,). Returns the scores e (S,), the weights alpha (S,), the
    context vector a (H,) (the paper's c_t) and the attentional hidden state h_tilde (H,), which
    the decoder's fully connected layer reads in place of h. alpha (S,), if given, replaces the
    weights the scores give (an intervention on them, used as given): a and h_tilde read it.
    """
    forced = alpha
    if score == "dot":
        e = H_bar @ h  # (S,) e_s = h . hbar_s
    elif score == "general":
        e = H_bar @ W_a.T @ h  # (S,) e_s = h . (W_a hbar_s)
    else:  # "additive": Luong's concat, Bahdanau's score function
        e = np.array([v_a @ np.tanh(W_a @ np.r_[h, h_bar]) for h_bar in H_bar])  # (S,) v_a . tanh(W_a [h; hbar_s])
    alpha = np.exp(e - e.max()) / np.exp(e - e.max()).sum()  # (S,) softmax over the real steps
    if forced is not None:
        alpha = np.asarray(forced, dtype=float)  # (S,) the weights an intervention set
    a = alpha @ H_bar  # (H,) the context vector
    h_tilde = np.tanh(W_c @ np.r_[a, h])  # (H,) tanh(W_c [a; h])
    return AttentionStep(e, alpha, a, h_tilde)
