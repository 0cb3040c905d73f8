"""LSTM and BiLSTM layers.

At every time step t the layer reads x_t and its previous hidden state h_{t-1}, computes four
gates and updates its cell state c (notation of `lstmlab.reference`):

    i = sigma_g(W_i x_t + R_i h_{t-1} + b_i)     input gate
    f = sigma_g(W_f x_t + R_f h_{t-1} + b_f)     forget gate
    g = sigma_s(W_g x_t + R_g h_{t-1} + b_g)     cell candidate
    o = sigma_g(W_o x_t + R_o h_{t-1} + b_o)     output gate
    c_t = f * c_{t-1} + i * g
    h_t = o * sigma_s(c_t)

`LSTMLayer.cell` below holds these lines in torch, once: the step loop `_loop` calls it one time
step at a time, and `_explain` (how `ll.trace` recomputes, and `check`) for every step at once.
With the default activations (sigmoid, tanh) the layer runs torch's fused kernel instead, on the
very same parameters, which is much faster and gives the same numbers. An intervention
(`ll.Intervention`) changes a quantity through `edit` as soon as it is computed
(`lstmlab.layers.edits`); the loop then runs the steps it touches. Where no gradient is needed and
nothing is edited, the same lines in C++ (`lstmlab.layers.loop_kernel`, `_compiled`) can run the
steps. Which way each step runs is chosen in one place, `RecurrentLayer.route`.
"""

import math

import torch

from ..initializers import BIAS_INITIALIZERS
from ..scan import linear_recurrence
from . import loop_kernel
from .edits import ALL, NO_EDIT
from .recurrent import COMPILED, FUSED, RECORDING, RecurrentLayer

CHECKED_EVERY = 10  # `LSTMLayer.check`: one step in ten, where the compiled loop recorded


class LSTMLayer(RecurrentLayer):
    """Long short-term memory layer.

    Args:
        num_hidden_units: H, the size of the hidden and cell states.
        output_mode: "sequence" (default) outputs h_t for every step, (B, T, H);
            "last" outputs the last step only, (B, H) (with direction="reverse": the final state);
            "final" outputs the final hidden state, (B, D*H), each direction's state after the last
            step it reads (torch's h_n, ONNX's Y_h): "last" of a one-way layer, and for a
            bidirectional one [h_forward after x_T, h_backward after x_1].
        direction: "forward" (default) reads x_1 to x_T; "reverse" reads x_T back to x_1, as ONNX's
            direction="reverse" and a BiLSTM's backward half do (MATLAB and torch have no such
            option): h_t then sums up x_t..x_T, and output_mode="last" gives the final state, after
            x_1 (ONNX's Y_h). On a padded mini-batch each sequence is read from its last real step
            with frozen padding (a mask), as it is alone; without one, from the padding's end.
        has_state_inputs: if True the layer is called as layer(x, h0, c0) with states (B, H).
        has_state_outputs: if True the layer also returns its final h and c, each (B, H).
        state_activation_function: sigma_s, "tanh" (default) | "softsign" | "relu".
        gate_activation_function: sigma_g, "sigmoid" (default) | "hard-sigmoid".
        input_weights_initializer: "glorot" (default) | "he" | "orthogonal" | "narrow-normal" |
            "zeros" | "ones" | a callable taking the shape and returning an array.
        recurrent_weights_initializer: as above, default "orthogonal".
        bias_initializer: "unit-forget-gate" (default: forget gate 1, others 0) | "narrow-normal" |
            "ones" | "zeros" | a callable.
        cell_state, hidden_state: initial states, (H,); zeros if None. `reset_state` returns here.
        input_weights: W, (4H, C), rows in gate order i, f, g, o; initialized if None.
        recurrent_weights: R, (4H, H), same row order.
        bias: b, (4H,), same order (one bias, where torch.nn.LSTM has two).
        *_learn_rate_factor: multiplies the global learn rate; a scalar or 4 values (i, f, g, o).
        *_l2_factor: multiplies the global L2 regularization; a scalar or 4 values.
        input_size: C, or "auto" to take it from the first input.
        name: the layer's name in a network ("" gets one assigned).

    >>> import torch, lstmlab as ll
    >>> layer = ll.lstm_layer(8, input_size=3)
    >>> layer(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 5, 8])
    >>> layer.input_weights.shape, layer.recurrent_weights.shape, layer.bias.shape
    (torch.Size([32, 3]), torch.Size([32, 8]), torch.Size([32]))
    """

    kind = "lstm"
    gate_names = ("i", "f", "g", "o")
    state_names = ("hidden", "cell")
    quantities = ("i", "f", "g", "o", "c", "h")
    torch_module = torch.nn.LSTM
    kernel = staticmethod(torch.lstm)
    bias_initializers = ("unit-forget-gate", *BIAS_INITIALIZERS)

    def __init__(
        self,
        num_hidden_units,
        *,
        output_mode="sequence",
        direction="forward",
        has_state_inputs=False,
        has_state_outputs=False,
        state_activation_function="tanh",
        gate_activation_function="sigmoid",
        input_weights_initializer="glorot",
        recurrent_weights_initializer="orthogonal",
        bias_initializer="unit-forget-gate",
        cell_state=None,
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
        super().__init__(
            num_hidden_units,
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
            initial_states={"hidden": hidden_state, "cell": cell_state},
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

    def cell(self, z, c_prev, edit=NO_EDIT, t=ALL, real=None, in_place=False):
        """The LSTM cell, the one place where its lines are: i, f, g, o, c and h from the
        pre-activations z = (z_i, z_f, z_g, z_o) and the cell state before them.

        One step t: each z (B, H), c_prev = c_{t-1} (B, H). Every step at once, t = ALL (as `ll.trace`
        recomputes): each z (B, T, U), c_prev the state before the first step (B, U); c_t then
        follows from the linear recurrence c_t = f * c_{t-1} + i * g, solved in one pass
        (`lstmlab.scan`), or step by step where an edit changes c; real (B, T), if given, is True
        on real steps: c is carried over the others (a = 1, u = 0 there). edit(quantity, t, value)
        returns a value as the interventions leave it (`NO_EDIT`: as is). in_place: the gates are
        written into z (no gradient needed).
        """
        out = z if in_place else (None,) * 4
        i = edit("i", t, self.gate(z[0], out=out[0]))
        f = edit("f", t, self.gate(z[1], out=out[1]))
        g = edit("g", t, self.state(z[2], out=out[2]))
        o = edit("o", t, self.gate(z[3], out=out[3]))
        if t is not ALL:
            c = edit("c", t, torch.addcmul(i * g, f, c_prev))  # c_t = f * c_{t-1} + i * g
        else:
            a, u = f, i * g
            if real is not None:  # frozen padding: c is carried over padded steps
                padded = ~real[..., None]
                a, u = f.masked_fill(padded, 1.0), u.masked_fill_(padded, 0.0)
            if "c" in edit.quantities:
                c = u  # c_t = edit(f * c_{t-1} + i * g), one step after the other, in place
                for step in range(c.shape[1]):
                    c[:, step] = edit("c", step, u[:, step].addcmul_(a[:, step], c_prev if step == 0 else c[:, step - 1]))
            else:
                c = linear_recurrence(a, u, c_prev)  # c_t = f * c_{t-1} + i * g
        s = self.state(c, out=torch.empty_like(c) if in_place else None)  # sigma_s(c_t)
        h = edit("h", t, s.mul_(o) if in_place else o * s)  # h_t = o * sigma_s(c_t)
        return i, f, g, o, c, h

    def fast_way(self, x, states, record=False):
        """As `RecurrentLayer.fast_way`, with the compiled loop (`loop_kernel`) where it may run
        (`loop_kernel.fits`: no gradient, a CPU, float32 or float64) and builds. It runs the
        activations torch has no kernel for, and records (when a recording is wanted) where that
        pays, as benchmarks/trace_overhead.py measures: always with those activations, and with
        torch's from loop_kernel.ROWS_PER_THREAD sequences per thread on, or on one thread in
        float32 from loop_kernel.ONE_THREAD_FROM sequences on (its recording product is then
        oneDNN's, as torch's kernel's; elsewhere, with fewer sequences, torch's kernel and then the
        recomputing product are faster, or as fast).
        """
        threads = torch.get_num_threads()
        one_thread = threads == 1 and x.dtype == torch.float32 and len(x) >= loop_kernel.ONE_THREAD_FROM
        pays = len(x) >= loop_kernel.ROWS_PER_THREAD * threads or one_thread
        if self.uses_fused_kernel and not (record and pays):
            return FUSED  # nothing to build
        if not (loop_kernel.fits(x, *self.start_states(len(x), states), *self.parameters()) and loop_kernel.build() is not None):
            return super().fast_way(x, states)
        return RECORDING if record else COMPILED

    def _compiled(self, x, states, W, R, b, real=None, recording=None):
        """`_loop` without edits in C++ (`loop_kernel`), for the steps that need no gradient.
        recording: a list that receives {"gates": (T, B, 4H) i, f, g, o, "c": (T, B, H), "h": (T, B, H)},
        every step as computed; or None."""
        T, B, _ = x.shape
        H = self.num_hidden_units
        buffers = None if recording is None else (loop_kernel.empty_steps(T, B, 4 * H, x), loop_kernel.empty_steps(T, B, H, x))
        y, states = loop_kernel.lstm_loop(x, states, W, R, b, real, self.gate_activation_function, self.state_activation_function, buffers)
        if recording is not None:
            recording.append({"gates": buffers[0], "c": buffers[1], "h": y})
        return y, states

    def _loop(self, x, states, W, R, b, real=None, edit=NO_EDIT):
        """One direction, one step at a time (`cell`). x (T, B, C); states (h, c), each (B, H).

        real (T, B), if given, is True on real steps: on the others (padding) the state is carried
        unchanged. edit(quantity, t, value) returns a value as the interventions leave it.
        """
        h, c = states
        hs = []
        for t in range(len(x)):
            z = torch.addmm(b, x[t], W.T).addmm_(h, R.T)  # (B, 4H) pre-activations: x_t W^T + b + h_{t-1} R^T
            *_, c_t, h_t = self.cell(z.chunk(4, dim=-1), c, edit, t)
            if real is not None:  # frozen padding: a padded step carries the state unchanged
                c_t, h_t = torch.where(real[t, :, None], c_t, c), torch.where(real[t, :, None], h_t, h)
            h, c = h_t, c_t
            hs.append(h)
        return torch.stack(hs), (h, c)  # (T, B, H)

    def _explain(self, xh, states, units, W, R, b, real=None, edit=NO_EDIT):
        """All steps of one direction at once, given h_{t-1}: one matrix product, then `cell`.

        xh (B, T, C+H) holds [x_t, h_{t-1}] for every step; real (B, T), if given, is True on real
        steps (the state skipped the others). Only the rows of the chosen units are computed, and no
        gradient is needed, so the gates are computed in place. edit: as in `_loop`, applied to every
        step at once (with all units chosen).
        """
        B, T, _ = xh.shape
        H = self.num_hidden_units
        C = xh.shape[2] - H
        W, R, b = W.view(4, H, C)[:, units], R.view(4, H, H)[:, units], b.view(4, H, 1)[:, units]  # gate, unit, ...
        WR = torch.cat([W, R], dim=2)  # (4, U, C+H)
        xh = xh.view(1, B * T, C + H)
        z = torch.baddbmm(b.transpose(1, 2), xh.expand(4, -1, -1), WR.transpose(1, 2))  # (4, B*T, U)
        quantities = self.cell(z.view(4, B, T, -1), states[1][:, units], edit, ALL, real, in_place=True)  # each (B, T, U)
        return dict(zip(self.quantities, quantities))

    def _unpack(self, recorded):
        """The quantities the compiled loop recorded as it ran one direction (see `_compiled`), each (B, T, H)."""
        i, f, g, o = recorded["gates"].transpose(0, 1).unflatten(-1, (4, -1)).unbind(-2)
        return {"i": i, "f": f, "g": g, "o": o, "c": recorded["c"].transpose(0, 1), "h": recorded["h"].transpose(0, 1)}

    def check(self, x, states, recording, mask=None):
        """How far what the compiled loop recorded is from `cell` recomputed (by `_explain`) from the
        recorded states, at every CHECKED_EVERY-th step and the last one, for every sequence and unit.

        x (B, T, C) and mask (B, T) as `run` had them; states: the start states; recording: what
        `run` recorded, per direction (see `_compiled`). Returns the largest difference (inf if any
        is not finite).
        """
        B, T, C = x.shape
        H = self.num_hidden_units
        t = torch.tensor(sorted({*range(0, T, CHECKED_EVERY), T - 1}), device=x.device)  # (K,) in each direction's own time
        first = (t == 0)[:, None, None]  # where the start state comes in
        errors = []
        for d, k in enumerate(recording):
            xd = x.transpose(0, 1).flip(0) if self.reads_backward(d) else x.transpose(0, 1)  # (T, B, C), the direction's own time
            h0, c0 = self._direction_states(states, d)
            h_prev = torch.where(first, h0, k["h"][(t - 1).clamp(min=0)])  # (K, B, H)
            c_prev = torch.where(first, c0, k["c"][(t - 1).clamp(min=0)])
            xh = torch.cat([xd[t], h_prev], -1).view(-1, 1, C + H)  # each checked step a sequence of its own
            again = self._explain(xh, (h_prev.view(-1, H), c_prev.view(-1, H)), ALL, *self.direction_parameters(d))
            again = {q: v.view(len(t), B, H) for q, v in again.items()}
            if mask is not None:  # a padded step carries the state (the gates were computed, and not used)
                real = (mask.T.flip(0) if self.reads_backward(d) else mask.T)[t][..., None]  # (K, B, 1)
                again["c"], again["h"] = torch.where(real, again["c"], c_prev), torch.where(real, again["h"], h_prev)
            gates = k["gates"][t].unflatten(-1, (4, H))  # (K, B, 4, H)
            recorded = {"i": gates[:, :, 0], "f": gates[:, :, 1], "g": gates[:, :, 2], "o": gates[:, :, 3], "c": k["c"][t], "h": k["h"][t]}
            errors += [(recorded[q] - v).abs().max().item() for q, v in again.items()]
        return max(errors) if all(map(math.isfinite, errors)) else math.inf


class BiLSTMLayer(LSTMLayer):
    """Bidirectional LSTM: one LSTM reads the sequence forward, a second one reads it backward.

    Takes the options of `LSTMLayer` (Args below: how they differ): parameters and states stack the
    two directions, forward first, and learn-rate and L2 factors given per gate apply to both.

    The output at step t concatenates [h_forward_t, h_backward_t], 2H channels. With
    output_mode="last" the layer returns that concatenation at the last step T (as MATLAB does):
    the forward half has read the whole sequence, but the backward half has read only x_T, since
    the backward LSTM starts there. To summarise the whole sequence in both directions use
    output_mode="final" (or has_state_outputs=True): the final hidden state holds the backward
    state after it has read back to x_1. With frozen padding (a mask) the backward LSTM starts at
    each sequence's last real step, as if the sequence were alone; without one (MATLAB's way) it
    reads the padding at the end first. As MATLAB's bilstmLayer and
    torch.nn.LSTM(bidirectional=True).

    Args:
        num_hidden_units: H, the size of each direction's hidden and cell states.
        output_mode: "sequence" (default), (B, T, 2H); "last", (B, 2H), step T; "final",
            (B, 2H), [h_forward after x_T, h_backward after x_1] (see above).
        direction: "forward" only (the default): the layer reads both ways; for one way from the
            end, `LSTMLayer` with direction="reverse".
        has_state_inputs: if True the layer is called as layer(x, h0, c0), each (B, 2H): the
            forward direction's H values, then the backward one's.
        has_state_outputs: if True the layer also returns its final h and c, each (B, 2H): forward
            after x_T, backward after x_1.
        cell_state, hidden_state: initial states, (2H,), forward then backward; zeros if None.
        input_weights: W, (8H, C): the forward direction's 4H rows in gate order i, f, g, o, then
            the backward direction's; initialized if None.
        recurrent_weights: R, (8H, H), same row order.
        bias: b, (8H,), same order.
        *_learn_rate_factor, *_l2_factor: a scalar or 4 values (i, f, g, o), for both directions.
        state_activation_function, gate_activation_function, *_initializer, input_size, name: as
            `LSTMLayer`'s.

    >>> import torch, lstmlab as ll
    >>> layer = ll.bilstm_layer(8, input_size=3)
    >>> layer(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 5, 16])
    >>> layer.input_weights.shape, layer.recurrent_weights.shape, layer.hidden_state.shape
    (torch.Size([64, 3]), torch.Size([64, 8]), torch.Size([16]))
    >>> ll.bilstm_layer(8, input_size=3, output_mode="final")(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 16])
    """

    kind = "bilstm"
    num_directions = 2
