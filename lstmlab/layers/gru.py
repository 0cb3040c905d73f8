"""GRU layer.

At every time step t (notation of `lstmlab.reference`):

    r = sigma_g(W_r x_t + R_r h_{t-1} + b_r)     reset gate
    z = sigma_g(W_z x_t + R_z h_{t-1} + b_z)     update gate
    n = sigma_s(W_n x_t + b_n + r * (R_n h_{t-1}))   candidate state ("after-multiplication")
    h_t = (1 - z) * n + z * h_{t-1}

The reset gate mode says where r acts in the candidate: "after-multiplication" (default, above),
"before-multiplication" R_n (r * h_{t-1}), or "recurrent-bias-after-multiplication"
r * (R_n h_{t-1} + b_Rn), with a bias of 6H values: input bias (r, z, n), then recurrent bias.
The last is torch.nn.GRU's own form. Both "after" modes run torch's fused kernel with the default
activations.
"""

import torch

from .._checks import check_choice
from ..initializers import BIAS_INITIALIZERS
from .edits import ALL, NO_EDIT
from .recurrent import RecurrentLayer

RESET_GATE_MODES = ("after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication")


class GRULayer(RecurrentLayer):
    """Gated recurrent unit layer.

    Args:
        num_hidden_units: H, the size of the hidden state.
        reset_gate_mode: "after-multiplication" (default) | "before-multiplication" |
            "recurrent-bias-after-multiplication" (see the module docstring).
        hidden_state: initial hidden state (H,); zeros if None.
        input_weights: W, (3H, C), rows in gate order r, z, n. recurrent_weights: R, (3H, H).
        bias: b, (3H,), or (6H,) with "recurrent-bias-after-multiplication".
        bias_initializer: "zeros" (default) | "narrow-normal" | "ones" | a callable.
        Factors are a scalar or 3 values (r, z, n). The other options (output_mode, direction, ...)
            are `LSTMLayer`'s.

    >>> import torch, lstmlab as ll
    >>> ll.gru_layer(4, input_size=2, output_mode="last")(torch.zeros(3, 7, 2)).shape
    torch.Size([3, 4])
    """

    kind = "gru"
    gate_names = ("r", "z", "n")
    state_names = ("hidden",)
    quantities = ("r", "z", "n", "h")
    bias_initializers = BIAS_INITIALIZERS
    torch_module = torch.nn.GRU
    kernel = staticmethod(torch.gru)

    def __init__(
        self,
        num_hidden_units,
        *,
        output_mode="sequence",
        direction="forward",
        reset_gate_mode="after-multiplication",
        has_state_inputs=False,
        has_state_outputs=False,
        state_activation_function="tanh",
        gate_activation_function="sigmoid",
        input_weights_initializer="glorot",
        recurrent_weights_initializer="orthogonal",
        bias_initializer="zeros",
        hidden_state=None,
        input_weights=None,
        recurrent_weights=None,
        bias=None,
        input_weights_learn_rate_factor=1,
        recurrent_weights_learn_rate_factor=1,
        bias_learn_rate_factor=1,
        input_weights_l2_factor=1,
        recurrent_weights_l2_factor=1,
        bias_l2_factor=0,
        input_size="auto",
        name="",
    ):
        reset_gate_mode = check_choice(reset_gate_mode, "reset_gate_mode", RESET_GATE_MODES, "gru_layer")
        super().__init__(
            num_hidden_units,
            bias_blocks=2 if reset_gate_mode == "recurrent-bias-after-multiplication" else 1,
            input_size=input_size,
            output_mode=output_mode,
            direction=direction,
            has_state_inputs=has_state_inputs,
            has_state_outputs=has_state_outputs,
            state_activation_function=state_activation_function,
            gate_activation_function=gate_activation_function,
            input_weights_initializer=input_weights_initializer,
            recurrent_weights_initializer=recurrent_weights_initializer,
            bias_initializer=bias_initializer,
            input_weights=input_weights,
            recurrent_weights=recurrent_weights,
            bias=bias,
            initial_states={"hidden": hidden_state},
            learn_rate_factors={
                "input_weights": input_weights_learn_rate_factor,
                "recurrent_weights": recurrent_weights_learn_rate_factor,
                "bias": bias_learn_rate_factor,
            },
            l2_factors={
                "input_weights": input_weights_l2_factor,
                "recurrent_weights": recurrent_weights_l2_factor,
                "bias": bias_l2_factor,
            },
            name=name,
        )
        self.reset_gate_mode = reset_gate_mode

    def config(self):
        return {**super().config(), "reset_gate_mode": self.reset_gate_mode}

    @property
    def uses_fused_kernel(self):
        return super().uses_fused_kernel and self.reset_gate_mode != "before-multiplication"

    def _equations_text(self):
        return f"{super()._equations_text()} with reset_gate_mode={self.reset_gate_mode!r}"

    def equations(self, Wx, Rh, h_prev, R_n, edit=NO_EDIT, t=ALL):
        """The GRU equations, for one step t (B, H) or all steps at once (B, T, H), t = ALL.

        Wx = (W_r x + b_Wr, W_z x + b_Wz, W_n x + b_Wn): the input parts;
        Rh = (R_r h + b_Rr, R_z h + b_Rz, R_n h + b_Rn): the recurrent parts, from h_prev.
        edit(quantity, t, value) returns a value as the interventions leave it (`NO_EDIT`: as is).
        """
        r = edit("r", t, self.gate(Wx[0] + Rh[0]))
        z = edit("z", t, self.gate(Wx[1] + Rh[1]))
        if self.reset_gate_mode == "before-multiplication":
            n = edit("n", t, self.state(Wx[2] + (r * h_prev) @ R_n.T))
        else:
            n = edit("n", t, self.state(Wx[2] + r * Rh[2]))
        h = edit("h", t, (1 - z) * n + z * h_prev)
        return r, z, n, h

    def _parts(self, x, h_prev, W, R, b):
        b_W, b_R = self.split_bias(b)
        Wx = (x @ W.T + b_W).chunk(3, dim=-1)  # input parts of r, z, n: each (..., H)
        Rh = (h_prev @ R.T + b_R).chunk(3, dim=-1)  # recurrent parts of r, z, n: each (..., H)
        return Wx, Rh, R.chunk(3)[2]

    def _loop(self, x, states, W, R, b, real=None, edit=NO_EDIT):
        """One direction, one step at a time. x (T, B, C); states (h,), (B, H).

        real (T, B), if given, is True on real steps: on the others (padding) the state is carried unchanged.
        edit: the interventions, as in `equations`.
        """
        (h,) = states
        hs = []
        for t, x_t in enumerate(x):
            Wx, Rh, R_n = self._parts(x_t, h, W, R, b)  # x_t (B, C), h (B, H)
            *_, h_t = self.equations(Wx, Rh, h, R_n, edit, t)
            h = h_t if real is None else torch.where(real[t, :, None], h_t, h)
            hs.append(h)
        return torch.stack(hs), (h,)  # (T, B, H)

    def _explain(self, xh, states, units, W, R, b, real=None, edit=NO_EDIT):
        """All steps at once from h_{t-1}: no recurrence is left to solve for a GRU.

        xh (B, T, C+H) holds [x_t, h_{t-1}] for every step; edit: the interventions, every step at once.
        """
        C = xh.shape[2] - self.num_hidden_units
        x, h_prev = xh[..., :C], xh[..., C:]
        Wx, Rh, R_n = self._parts(x, h_prev, W, R, b)  # each part (B, T, H)
        r, z, n, h = self.equations(Wx, Rh, h_prev, R_n, edit)
        return {"r": r[..., units], "z": z[..., units], "n": n[..., units], "h": h[..., units]}


class BiGRULayer(GRULayer):
    """Bidirectional GRU: one GRU reads the sequence forward, a second one reads it backward.

    Takes the options of `GRULayer` (Args below: how they differ); as `BiLSTMLayer` (see there what
    output_mode="last" and has_state_outputs give), parameters stack the two directions, forward
    first, and the output at step t concatenates [h_forward_t, h_backward_t], 2H channels. As
    torch.nn.GRU(bidirectional=True). MATLAB has no such layer.

    Args:
        num_hidden_units: H, the size of each direction's hidden state.
        output_mode: as `BiLSTMLayer`'s: "sequence" (default), (B, T, 2H); "last" or "final", (B, 2H).
        direction: "forward" only (the default), as `BiLSTMLayer`'s.
        has_state_inputs: if True the layer is called as layer(x, h0) with h0 (B, 2H), forward
            then backward.
        has_state_outputs: if True the layer also returns its final h, (B, 2H): forward after x_T,
            backward after x_1.
        hidden_state: initial hidden state, (2H,), forward then backward; zeros if None.
        input_weights: W, (6H, C): the forward direction's 3H rows in gate order r, z, n, then the
            backward direction's; initialized if None.
        recurrent_weights: R, (6H, H), same row order.
        bias: b, (6H,), same order; with reset_gate_mode="recurrent-bias-after-multiplication",
            (12H,): each direction's input bias, then its recurrent bias.
        *_learn_rate_factor, *_l2_factor: a scalar or 3 values (r, z, n), for both directions.
        reset_gate_mode, state_activation_function, gate_activation_function: as `GRULayer`'s.
        *_initializer, input_size, name: as `GRULayer`'s.

    >>> import torch, lstmlab as ll
    >>> layer = ll.bigru_layer(4, input_size=2)
    >>> layer(torch.zeros(3, 7, 2)).shape
    torch.Size([3, 7, 8])
    >>> layer.input_weights.shape, layer.bias.shape
    (torch.Size([24, 2]), torch.Size([24]))
    """

    kind = "bigru"
    num_directions = 2
