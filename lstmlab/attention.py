"""Attention for the encoder–decoder: Luong, Pham and Manning's (2015) global attention.

At output step t the decoder LSTM has computed its hidden state h_t (from the previous token and
its previous state, as without attention). Attention then scores every encoder hidden state
hbar_1 ... hbar_S against h_t, turns the scores into weights over the real source steps, and
mixes the encoder states into a context vector, which joins h_t before the classifier. The
equations are those of Luong et al. (2015, "Effective approaches to attention-based neural machine
translation", section 3.1), numbered as there; `lstmlab.reference.attention_step` holds them in
NumPy, and the tests check this module against it (float64, 1e-10):

    (8)  score(h_t, hbar_s) = h_t . hbar_s                         "dot"
                            = h_t . (W_a hbar_s)                   "general"
                            = v_a . tanh(W_a [h_t; hbar_s])        "additive" (the paper's "concat")
    (7)  alpha_t(s) = exp(score(h_t, hbar_s)) / sum_s' exp(score(h_t, hbar_s'))   over real steps only
         a_t        = sum_s alpha_t(s) hbar_s                      the context vector (the paper's c_t;
                                                                   c is the cell state in lstmlab)
    (5)  htilde_t   = tanh(W_c [a_t; h_t])                         the attentional hidden state
    (6)  p(y_t | y_<t, x) = softmax(W_s htilde_t + b_s)            the decoder's own fc and softmax

The "additive" score is Bahdanau, Cho and Bengio's (2015) score function, v_a . tanh(W h + U hbar),
with W_a = [W U]; as in Luong's model it reads the decoder's current h_t, not Bahdanau's previous
state, and the context joins the output (Luong), not the decoder's next input (Bahdanau). Luong's
"input feeding" (h~_{t-1} joining the next input) is left out, so the decoder LSTM computes exactly
what it computes without attention, and its trace is the usual one.

Padded source steps get the score -inf, so their weight is exactly 0 and a source's output does not
depend on the other sources of its mini-batch.

Interventions (`ll.Intervention("attention", "weights", steps=output steps, units=source steps,
...)`, bound in `lstmlab.seq2seq`) change alpha_t after equation (7) and before the context vector
reads it; the changed weights are used as given (not renormalized), and padding is set back to 0.
"""

import torch

from ._checks import check_choice
from .initializers import initialize

SCORES = ("dot", "general", "additive")


class Attention(torch.nn.Module):
    """Global attention over the encoder's hidden states (see the module docstring for the equations).

    Args:
        score: "dot", "general" or "additive".
        num_hidden_units: H, the size of the encoder's and the decoder's hidden states.

    Parameters (learnable): W_c (H, 2H) always; W_a (H, H) for "general"; W_a (H, 2H) and v_a (H,)
    for "additive". All are drawn with the Glorot initializer, v_a as a (1, H) matrix.

    >>> attend = Attention("dot", 4)
    >>> h_tilde, alpha = attend(torch.ones(2, 3, 4), torch.ones(2, 5, 4), torch.ones(2, 5, dtype=torch.bool))
    >>> tuple(h_tilde.shape), tuple(alpha.shape), alpha[0, 0].double().round(decimals=3).tolist()
    ((2, 3, 4), (2, 3, 5), [0.2, 0.2, 0.2, 0.2, 0.2])
    """

    name = "attention"

    def __init__(self, score, num_hidden_units):
        super().__init__()
        self.score = check_choice(score, "attention", SCORES, "EncoderDecoder")
        H = num_hidden_units
        where = "EncoderDecoder"
        self.W_c = torch.nn.Parameter(initialize("glorot", (H, 2 * H), "W_c", where))
        if self.score == "general":
            self.W_a = torch.nn.Parameter(initialize("glorot", (H, H), "W_a", where))
        elif self.score == "additive":
            self.W_a = torch.nn.Parameter(initialize("glorot", (H, 2 * H), "W_a", where))
            self.v_a = torch.nn.Parameter(initialize("glorot", (1, H), "v_a", where)[0])

    def scores(self, h, memory):
        """Equation (8): score(h_t, hbar_s) for every output step t and source step s, (B, T, S).

        h (B, T, H) the decoder's hidden states; memory (B, S, H) the encoder's.
        """
        if self.score == "dot":
            return h @ memory.transpose(1, 2)  # (B, T, S): h_t . hbar_s
        if self.score == "general":
            return h @ (memory @ self.W_a.T).transpose(1, 2)  # (B, T, S): h_t . (W_a hbar_s)
        H = h.shape[-1]
        W_h, W_hbar = self.W_a[:, :H], self.W_a[:, H:]  # W_a [h; hbar] = W_h h + W_hbar hbar
        mixed = torch.tanh((h @ W_h.T)[:, :, None, :] + (memory @ W_hbar.T)[:, None, :, :])  # (B, T, S, H)
        return mixed @ self.v_a  # (B, T, S): v_a . tanh(W_a [h_t; hbar_s])

    def forward(self, h, memory, memory_mask, edit=None):
        """The attentional hidden states htilde (B, T, H) and the weights alpha (B, T, S).

        memory_mask (B, S) is True on the real source steps; the others get exactly zero weight.
        edit: None, or a function of the weights (B, T, S) returning new ones (B, T, S), applied
        before the context vector reads them (interventions, `ll.Intervention("attention",
        "weights", ...)`); the padded source steps are set back to exactly 0 after it.
        """
        e = self.scores(h, memory).masked_fill(~memory_mask[:, None, :], float("-inf"))  # (B, T, S)
        alpha = torch.softmax(e, dim=-1)  # (B, T, S) equation (7): each row sums to 1 over the real steps
        if edit is not None:
            alpha = edit(alpha).masked_fill(~memory_mask[:, None, :], 0.0)  # used as the interventions leave it; padding stays 0
        a = alpha @ memory  # (B, T, H) the context vectors
        h_tilde = torch.tanh(torch.cat([a, h], dim=-1) @ self.W_c.T)  # (B, T, H) equation (5)
        return h_tilde, alpha

    def learn_rate_factors(self):
        """No learn-rate factors: every parameter learns at the solver's rate (`ll.Solver` asks)."""
        return {}

    def l2_factors(self):
        """No L2 factors: every parameter has the solver's L2 regularization (`ll.Solver` asks)."""
        return {}

    def extra_repr(self):
        return f"score={self.score!r}"
