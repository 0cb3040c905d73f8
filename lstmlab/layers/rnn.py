"""Plain (Elman) recurrent layer: no gates, no cell, only a hidden state.

At every time step t (notation of `lstmlab.reference`):

    a_t = W x_t + R h_{t-1} + b     pre-activation
    h_t = sigma(a_t)                sigma: "tanh" (default) or "relu"

MATLAB has no such layer. This one follows torch.nn.RNN with one bias: torch's two biases only
ever appear as their sum, so b = b_ih + b_hh (`ll.from_torch` adds them; `to_torch` exports
b_ih = b, b_hh = 0). Both activations run torch's fused kernel (torch.rnn_tanh, torch.rnn_relu);
an intervention runs the step loop, `_loop`, these two lines in torch. It is the recurrence that
LSTM and GRU gates were invented to tame: lesson 8 shows why.
"""

import functools

import torch

from .._checks import check_choice
from ..initializers import BIAS_INITIALIZERS
from .edits import ALL, NO_EDIT
from .recurrent import RecurrentLayer

ACTIVATIONS = ("tanh", "relu")  # torch.nn.RNN's nonlinearity
KERNELS = {"tanh": torch.rnn_tanh, "relu": torch.rnn_relu}


class RNNLayer(RecurrentLayer):
    """Plain recurrent layer, h_t = sigma(W x_t + R h_{t-1} + b), as torch.nn.RNN.

    Args:
        num_hidden_units: H, the size of the hidden state.
        activation: sigma, "tanh" (default) | "relu" (torch.nn.RNN's nonlinearity).
        output_mode: "sequence" (default) outputs h_t for every step, (B, T, H);
            "last" outputs the last step only, (B, H) (with direction="reverse": the final state);
            "final" the final hidden state (see `LSTMLayer`).
        direction: "forward" (default) | "reverse": read the sequence from its end, as
            `LSTMLayer`'s direction.
        has_state_inputs: if True the layer is called as layer(x, h0) with h0 (B, H).
        has_state_outputs: if True the layer also returns its final h, (B, H).
        input_weights_initializer: "glorot" (default) | "he" | "orthogonal" | "narrow-normal" |
            "zeros" | "ones" | a callable taking the shape and returning an array.
        recurrent_weights_initializer: as above, default "orthogonal".
        bias_initializer: "zeros" (default) | "narrow-normal" | "ones" | a callable.
        hidden_state: initial hidden state (H,); zeros if None. `reset_state` returns here.
        input_weights: W, (H, C). recurrent_weights: R, (H, H). bias: b, (H,): one bias, b_ih + b_hh.
        *_learn_rate_factor, *_l2_factor: as `LSTMLayer`'s, a scalar each (one block of rows).
        input_size: C, or "auto" to take it from the first input.
        name: the layer's name in a network ("" gets one assigned).

    `ll.trace` records a (the pre-activation) and h.

    >>> import torch, lstmlab as ll
    >>> ll.rnn_layer(4, input_size=2, output_mode="last")(torch.zeros(3, 7, 2)).shape
    torch.Size([3, 4])
    """

    kind = "rnn"
    gate_names = ("a",)  # one block of rows: W, R and b make the pre-activation a
    state_names = ("hidden",)
    quantities = ("a", "h")
    bias_initializers = BIAS_INITIALIZERS

    def __init__(
        self,
        num_hidden_units,
        *,
        activation="tanh",
        output_mode="sequence",
        direction="forward",
        has_state_inputs=False,
        has_state_outputs=False,
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
        activation = check_choice(activation, "activation", ACTIVATIONS, "rnn_layer")  # fewer than an LSTM's state activations
        super().__init__(
            num_hidden_units,
            input_size=input_size,
            output_mode=output_mode,
            direction=direction,
            has_state_inputs=has_state_inputs,
            has_state_outputs=has_state_outputs,
            state_activation_function=activation,
            gate_activation_function="sigmoid",  # no gate: unused
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

    @property
    def activation(self):
        return self.state_activation_function

    @property
    def torch_module(self):
        """torch.nn.RNN with this layer's nonlinearity, for `to_torch`."""
        return functools.partial(torch.nn.RNN, nonlinearity=self.activation)

    @property
    def kernel(self):
        """torch.rnn_tanh or torch.rnn_relu, for `_fused`."""
        return KERNELS[self.activation]

    @property
    def uses_fused_kernel(self):
        return True  # torch.rnn_tanh and torch.rnn_relu compute both activations

    def _layout_hint(self, columns=""):
        return " (rows: forward then backward, num_hidden_units each)" if self.num_directions == 2 else " (rows: num_hidden_units)"

    def _equations_text(self):
        return f"activation {self.activation!r}"

    def config(self):
        options = super().config()
        del options["state_activation_function"], options["gate_activation_function"]
        return {**options, "activation": self.activation}

    def describe(self):
        size = "auto" if self.input_size == "auto" else self.input_size
        parts = [self._units_text(), f"input size {size}", f"output_mode={self.output_mode!r}"]
        parts += [*([f"direction={self.direction!r}"] if self.direction == "reverse" else []), f"activation {self.activation}", "fused kernel"]
        if self.has_state_inputs or self.has_state_outputs:
            parts.append(f"state inputs={self.has_state_inputs}, outputs={self.has_state_outputs}")
        return ", ".join(parts)

    def equations(self, x, h_prev, W, R, b, edit=NO_EDIT, t=ALL):
        """The RNN equations, for one step t (x (B, C), h_prev (B, H)) or all steps at once
        ((B, T, C), (B, T, H)), t = ALL. edit(quantity, t, value) returns a value as the
        interventions leave it (`NO_EDIT`: as is)."""
        a = edit("a", t, x @ W.T + h_prev @ R.T + b)  # (..., H)
        h = edit("h", t, self.state(a))
        return a, h

    def _loop(self, x, states, W, R, b, real=None, edit=NO_EDIT):
        """One step at a time. x (T, B, C); states (h,), (B, H).

        real (T, B), if given, is True on real steps: on the others (padding) the state is carried unchanged.
        edit: the interventions, as in `equations`.
        """
        (h,) = states
        hs = []
        for t, x_t in enumerate(x):
            _, h_t = self.equations(x_t, h, W, R, b, edit, t)  # (B, H)
            h = h_t if real is None else torch.where(real[t, :, None], h_t, h)
            hs.append(h)
        return torch.stack(hs), (h,)  # (T, B, H)

    def _explain(self, xh, states, units, W, R, b, real=None, edit=NO_EDIT):
        """All steps at once from h_{t-1}: xh (B, T, C+H) holds [x_t, h_{t-1}] for every step."""
        C = xh.shape[2] - self.num_hidden_units
        a, h = self.equations(xh[..., :C], xh[..., C:], W, R, b, edit)  # each (B, T, H)
        return {"a": a[..., units], "h": h[..., units]}


class BiRNNLayer(RNNLayer):
    """Bidirectional plain recurrent layer: one reads the sequence forward, a second one backward.

    Takes the options of `RNNLayer` (Args below: how they differ); as `BiLSTMLayer` (see there what
    output_mode="last" and has_state_outputs give), parameters stack the two directions, forward
    first, and the output at step t concatenates [h_forward_t, h_backward_t], 2H channels. As
    torch.nn.RNN(bidirectional=True); MATLAB has no such layer.

    Args:
        num_hidden_units: H, the size of each direction's hidden state.
        output_mode: as `BiLSTMLayer`'s: "sequence" (default), (B, T, 2H); "last" or "final", (B, 2H).
        direction: "forward" only (the default), as `BiLSTMLayer`'s.
        has_state_inputs: if True the layer is called as layer(x, h0) with h0 (B, 2H), forward
            then backward.
        has_state_outputs: if True the layer also returns its final h, (B, 2H): forward after x_T,
            backward after x_1.
        hidden_state: initial hidden state, (2H,), forward then backward; zeros if None.
        input_weights: W, (2H, C): the forward direction's H rows, then the backward direction's;
            initialized if None.
        recurrent_weights: R, (2H, H), same row order.
        bias: b, (2H,), same order: one bias per direction, b_ih + b_hh.
        *_learn_rate_factor, *_l2_factor: a scalar each, for both directions.
        activation, *_initializer, input_size, name: as `RNNLayer`'s.

    >>> import torch, lstmlab as ll
    >>> layer = ll.birnn_layer(4, input_size=2, output_mode="last")
    >>> layer(torch.zeros(3, 7, 2)).shape
    torch.Size([3, 8])
    >>> layer.input_weights.shape, layer.recurrent_weights.shape
    (torch.Size([8, 2]), torch.Size([8, 4]))
    """

    kind = "birnn"
    num_directions = 2
