"""The linear recurrence c_t = a_t * c_{t-1} + u_t, solved over a whole sequence at once.

An LSTM's cell state obeys exactly this recurrence once its gates are known
(a = f, u = i * g), so `ll.trace` can recover c from gates computed for all time steps together.

On a CPU a loop over time with one fused multiply-add per step is fastest (measured at B=64,
T=200, H=128: 3 ms against 9 ms for the scan). On a GPU every step is a kernel launch, so there
the log-depth Hillis-Steele scan runs in ceil(log2 T) vectorised steps instead.
"""

import torch


def linear_recurrence(a, u, c0):
    """Solve c_t = a_t * c_{t-1} + u_t for all t.

    Args:
        a: (B, T, H) multipliers (the forget gates).
        u: (B, T, H) additions (input gate times candidate); may be overwritten with the result.
        c0: (B, H) the state before the first step.

    Returns:
        (B, T, H) tensor of c_1 ... c_T.
    """
    if a.is_cuda:
        return parallel_scan(a, u, c0)
    return sequential_scan(a, u, c0)


def sequential_scan(a, u, c0):
    """One step at a time, in place: u becomes c."""
    c_prev = c0
    for t in range(u.shape[1]):
        c_prev = u[:, t].addcmul_(a[:, t], c_prev)  # c_t = u_t + a_t * c_{t-1}
    return u


def parallel_scan(a, u, c0):
    """Hillis-Steele: after the step with offset s, each u_t holds the sum over the last 2s steps."""
    u = torch.cat([u[:, :1] + a[:, :1] * c0[:, None], u[:, 1:]], dim=1)  # fold c0 into the first step
    s = 1
    while s < u.shape[1]:
        u = torch.cat([u[:, :s], u[:, s:] + a[:, s:] * u[:, :-s]], dim=1)
        a = torch.cat([a[:, :s], a[:, s:] * a[:, :-s]], dim=1)
        s *= 2
    return u
