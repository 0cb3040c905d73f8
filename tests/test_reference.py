import numpy as np

from lstmlab import reference as ref


def test_activations_follow_the_seed_definitions():
    x = np.array([-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0])
    np.testing.assert_allclose(ref.hard_sigmoid(x), [0, 0, 0.3, 0.5, 0.7, 1, 1])
    np.testing.assert_allclose(ref.softsign(np.array([-1.0, 0.0, 3.0])), [-0.5, 0, 0.75])
    np.testing.assert_allclose(ref.sigmoid(np.array([0.0, np.log(3.0)])), [0.5, 0.75])
    np.testing.assert_allclose(ref.relu(np.array([-2.0, 2.0])), [0, 2])


def test_lstm_step_by_hand():
    # one unit, one channel: W = [1, 2, 3, 4], R = 0, b = 0, x = 0.5, c_prev = 1
    W = np.array([[1.0], [2.0], [3.0], [4.0]])
    s = ref.lstm_step(np.array([0.5]), np.zeros(1), np.ones(1), W, np.zeros((4, 1)), np.zeros(4))
    i, f, g, o = ref.sigmoid(0.5), ref.sigmoid(1.0), np.tanh(1.5), ref.sigmoid(2.0)
    c = f * 1.0 + i * g
    np.testing.assert_allclose([s.i[0], s.f[0], s.g[0], s.o[0], s.c[0], s.h[0]], [i, f, g, o, c, o * np.tanh(c)], rtol=1e-15)


def test_gru_step_by_hand_in_every_reset_gate_mode():
    W = np.array([[1.0], [2.0], [3.0]])
    R = np.array([[0.5], [0.25], [2.0]])
    x, h = np.array([0.5]), np.array([0.8])
    b = np.array([0.1, 0.2, 0.3])
    r, z = ref.sigmoid(0.5 + 0.4 + 0.1), ref.sigmoid(1.0 + 0.2 + 0.2)
    n_after = np.tanh(1.5 + 0.3 + r * 1.6)
    n_before = np.tanh(1.5 + 0.3 + 2.0 * (r * 0.8))
    after = ref.gru_step(x, h, W, R, b)
    before = ref.gru_step(x, h, W, R, b, reset_gate_mode="before-multiplication")
    np.testing.assert_allclose(after.n, [n_after])
    np.testing.assert_allclose(before.n, [n_before])
    np.testing.assert_allclose(after.h, (1 - z) * n_after + z * 0.8)
    # with a zero recurrent bias the recurrent-bias mode is the after mode
    same = ref.gru_step(x, h, W, R, np.concatenate([b, np.zeros(3)]), reset_gate_mode="recurrent-bias-after-multiplication")
    np.testing.assert_allclose(same.h, after.h, rtol=1e-15)
    # a recurrent bias on n sits inside the reset gate's product
    moved = ref.gru_step(x, h, W, R, np.array([0.1, 0.2, 0.0, 0, 0, 0.3]), reset_gate_mode="recurrent-bias-after-multiplication")
    np.testing.assert_allclose(moved.n, np.tanh(1.5 + r * (1.6 + 0.3)))


def test_sequence_chains_the_steps(rng):
    C, H, T = 2, 3, 5
    W, R, b = rng.normal(size=(4 * H, C)), rng.normal(size=(4 * H, H)), rng.normal(size=4 * H)
    X, h0, c0 = rng.normal(size=(T, C)), rng.normal(size=H), rng.normal(size=H)
    seq = ref.lstm_sequence(X, W, R, b, h0, c0)
    assert seq.h.shape == (T, H)
    step = ref.lstm_step(X[2], seq.h[1], seq.c[1], W, R, b)
    np.testing.assert_allclose(step.h, seq.h[2], rtol=1e-15)

