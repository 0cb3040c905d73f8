"""What the LSTM, GRU and RNN layers (one-way or bidirectional) share: options, parameters, states and directions.

The equations of each layer live in `lstm.py` and `gru.py`. This module handles the rest:
checking options, creating parameters (MATLAB layout: rows grouped by gate, forward direction
first), the initial states that `reset_state` returns to, running each direction, and choosing,
in one place (`RecurrentLayer.route`), how each span of steps runs: torch's fused kernel, the
readable step loop in Python, or an LSTM's compiled loop.

Directions: a one-way layer reads the sequence forward, or, with direction="reverse", from its end
(ONNX's direction="reverse"; MATLAB and torch have no such layer); a bidirectional layer does both.
A direction that reads from the end ("backward") runs exactly as a bidirectional layer's backward
half: the same equations on each sequence's steps in reverse order.
"""

import contextlib
import warnings

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .._checks import as_tensor, check_bool, check_choice, check_factor, check_positive_int
from ..activations import GATE_ACTIVATIONS, STATE_ACTIVATIONS
from ..initializers import WEIGHT_INITIALIZERS, initialize
from .base import Layer, check_dtype, check_input, segments
from .edits import ALL, NO_EDIT

FUSED, LOOP, COMPILED, RECORDING = "fused kernel", "Python loop", "compiled loop", "compiled loop recording"  # the ways of `route`


class RecurrentLayer(Layer):
    """Base of the recurrent layers. Subclasses define the class attributes and the equations."""

    gate_names = ()  # row blocks of W, R and b, in order
    state_names = ()  # "hidden", then "cell" for an LSTM
    quantities = ()  # what ll.trace records, per direction
    bias_initializers = ()
    num_directions = 1
    torch_module = None  # the torch.nn module with the same equations, for to_torch
    kernel = None  # torch's fused function of those equations (torch.lstm, torch.gru, ...), for `_fused`

    def __init__(
        self,
        num_hidden_units,
        *,
        bias_blocks=1,
        direction="forward",
        input_size,
        output_mode,
        has_state_inputs,
        has_state_outputs,
        state_activation_function,
        gate_activation_function,
        input_weights_initializer,
        recurrent_weights_initializer,
        bias_initializer,
        input_weights,
        recurrent_weights,
        bias,
        initial_states,
        learn_rate_factors,
        l2_factors,
        name,
    ):
        super().__init__(name)
        where = f"{self.kind}_layer"
        self.bias_blocks = bias_blocks  # 2 when the bias holds an input and a recurrent part (GRU)
        self.num_hidden_units = H = check_positive_int(num_hidden_units, "num_hidden_units", where)
        self.output_mode = check_choice(output_mode, "output_mode", ("sequence", "last", "final"), where)
        self.direction = check_choice(direction, "direction", ("forward", "reverse"), where)
        if self.direction == "reverse" and self.num_directions == 2:
            raise ValueError(
                f"{where}: direction='reverse' makes a one-way layer read the sequence from its end; a {self.kind} layer "
                f"reads both ways already. Drop direction, or use the one-way layer with direction='reverse'."
            )
        self.has_state_inputs = check_bool(has_state_inputs, "has_state_inputs", where)
        self.has_state_outputs = check_bool(has_state_outputs, "has_state_outputs", where)
        self.state_activation_function = check_choice(
            state_activation_function, "state_activation_function", tuple(STATE_ACTIVATIONS), where
        )
        self.gate_activation_function = check_choice(
            gate_activation_function, "gate_activation_function", tuple(GATE_ACTIVATIONS), where
        )
        self.gate = GATE_ACTIVATIONS[self.gate_activation_function]
        self.state = STATE_ACTIVATIONS[self.state_activation_function]
        self.initializers = {
            "input_weights": check_choice(
                input_weights_initializer, "input_weights_initializer", WEIGHT_INITIALIZERS, where, allow_callable=True
            ),
            "recurrent_weights": check_choice(
                recurrent_weights_initializer, "recurrent_weights_initializer", WEIGHT_INITIALIZERS, where, allow_callable=True
            ),
            "bias": check_choice(bias_initializer, "bias_initializer", self.bias_initializers, where, allow_callable=True),
        }
        k = len(self.gate_names)
        self.learn_rate_factor = {
            p: check_factor(v, f"{p}_learn_rate_factor", k, self.gate_names, where) for p, v in learn_rate_factors.items()
        }
        self.l2_factor = {p: check_factor(v, f"{p}_l2_factor", k, self.gate_names, where) for p, v in l2_factors.items()}

        rows = self.num_directions * k * H
        if input_size != "auto":
            input_size = check_positive_int(input_size, "input_size", where)
        if input_weights is not None:
            shape = np.shape(input_weights)
            columns = input_size
            if input_size == "auto":
                columns = shape[1] if len(shape) == 2 and shape[0] == rows else "C"
            hint = self._layout_hint("C")
            if len(shape) == 2 and shape[::-1][0] == rows and shape[0] != rows:
                hint += "; the array looks transposed: lstmlab stores W as (rows, input channels)"
            input_weights = as_tensor(input_weights, "input_weights", (rows, columns), where, hint)
            input_size = check_positive_int(columns, "input_size (the columns of input_weights)", where)
        self._given = {
            "input_weights": input_weights,
            "recurrent_weights": recurrent_weights
            if recurrent_weights is None
            else as_tensor(recurrent_weights, "recurrent_weights", (rows, H), where, self._layout_hint("H")),
            "bias": bias if bias is None else as_tensor(bias, "bias", (rows * self.bias_blocks,), where, self._layout_hint()),
        }
        self.input_size = "auto"
        self.input_weights = self.recurrent_weights = self.bias = None

        for state_name, value in initial_states.items():
            if value is not None and self.has_state_inputs:
                raise ValueError(
                    f"{where}: {state_name}_state must be None when has_state_inputs=True, because the "
                    f"state then comes in as an input; drop {state_name}_state or set has_state_inputs=False."
                )
            start = torch.zeros(self.num_directions * H) if value is None else as_tensor(
                value, f"{state_name}_state", (self.num_directions * H,), where
            )
            self.register_buffer(f"initial_{state_name}_state", start)
            self.register_buffer(f"{state_name}_state", start.clone())
        if input_size != "auto":
            self.build(input_size)

    # --- parameters --------------------------------------------------------------------------------

    def _layout_hint(self, columns=""):
        gates = ", ".join(self.gate_names)
        directions = " forward then backward," if self.num_directions == 2 else ""
        blocks = " (input bias then recurrent bias)" if self.bias_blocks == 2 and not columns else ""
        return f" (rows:{directions} {len(self.gate_names)} blocks of num_hidden_units in gate order {gates}{blocks})"

    def build(self, input_size):
        if isinstance(input_size, tuple):
            raise ValueError(
                f"{self.name or self.kind}: needs vector sequences (T, C) but gets image sequences with time steps "
                f"of shape {input_size}; turn each frame into a vector first (convolution and flatten layers)."
            )
        if self.input_weights is not None:
            if input_size != self.input_size:
                raise ValueError(
                    f"{self.name or self.kind}: the input has {input_size} channels but the layer was built "
                    f"for input_size={self.input_size}; give data with {self.input_size} channels."
                )
            return self.output_size
        self.input_size = input_size
        for name, shape in self.parameter_shapes(input_size).items():
            value = self._given.pop(name)
            if value is None:
                value = initialize(self.initializers[name], shape, f"{name}_initializer", f"{self.kind}_layer", self.num_hidden_units)
            setattr(self, name, self.make_parameter(value))
        return self.output_size

    def parameter_shapes(self, input_size):
        """{parameter: shape}, in the order `build` makes them, for input_size channels."""
        rows = self.num_directions * len(self.gate_names) * self.num_hidden_units
        return {"input_weights": (rows, input_size), "recurrent_weights": (rows, self.num_hidden_units), "bias": (rows * self.bias_blocks,)}

    @property
    def output_size(self):
        return self.num_directions * self.num_hidden_units

    def returns_sequence(self, input_is_sequence):
        return self.output_mode == "sequence"

    def direction_parameters(self, d):
        """W (kH, C), R (kH, H) and b of direction d (0 forward, 1 backward), as views."""
        D = self.num_directions
        return self.input_weights.chunk(D)[d], self.recurrent_weights.chunk(D)[d], self.bias.chunk(D)[d]

    def _per_row(self, factors, name):
        """Expand one value per gate to a tensor that broadcasts against parameter `name`."""
        per_row = factors.repeat_interleave(self.num_hidden_units).repeat(self.num_directions)  # (D*k*H,)
        return per_row.repeat(self.bias_blocks) if name == "bias" else per_row[:, None]

    def learn_rate_factors(self):
        return {name: self._per_row(f, name) for name, f in self.learn_rate_factor.items()}

    def l2_factors(self):
        return {name: self._per_row(f, name) for name, f in self.l2_factor.items()}

    @property
    def directions(self):
        """The name of each direction, in the order of the parameters' blocks: ("forward",),
        ("backward",) for a one-way layer with direction="reverse", or ("forward", "backward")."""
        if self.num_directions == 2:
            return ("forward", "backward")
        return ("backward",) if self.direction == "reverse" else ("forward",)

    def reads_backward(self, d):
        """Whether direction d (the index of its parameter block) reads the sequence from its end."""
        return self.directions[d] == "backward"

    # --- states --------------------------------------------------------------------------------------

    @property
    def uses_fused_kernel(self):
        """True when torch's fused kernel (cuDNN on a GPU) computes exactly this layer's equations."""
        return self.gate_activation_function == "sigmoid" and self.state_activation_function == "tanh"

    def reset_state(self):
        """Return every state to its initial value: the one given when the layer was made, else zeros."""
        for state_name in self.state_names:
            getattr(self, f"{state_name}_state").data = getattr(self, f"initial_{state_name}_state").clone()

    def start_states(self, batch_size, states=None):
        """The states a forward pass starts from: given state inputs, else the layer's own states."""
        size = self.output_size
        if not states:
            own = [getattr(self, f"{s}_state") for s in self.state_names]
            return tuple(s.expand(batch_size, size) if s.ndim == 1 else s for s in own)
        if len(states) != len(self.state_names):
            names = ", ".join(f"{s} state" for s in self.state_names)
            raise ValueError(f"{self.name or self.kind}: expected {len(self.state_names)} state inputs ({names}); got {len(states)}.")
        for state_name, s in zip(self.state_names, states):
            if not torch.is_tensor(s) or s.dtype != self.like.dtype:
                raise TypeError(
                    f"{self.name or self.kind}: the {state_name} state input must be a {self.like.dtype} tensor; "
                    f"got {getattr(s, 'dtype', type(s).__name__)}."
                )
            if tuple(s.shape) != (batch_size, size):
                raise ValueError(
                    f"{self.name or self.kind}: the {state_name} state input must have shape "
                    f"(batch, {size}) = ({batch_size}, {size}); got {tuple(s.shape)}."
                )
        return tuple(states)

    def _direction_states(self, states, d):
        H = self.num_hidden_units
        return tuple(s[:, d * H : (d + 1) * H] for s in states)

    # --- forward ----------------------------------------------------------------------------------

    def forward(self, x, *state_inputs, mask=None, states=None, finals=None, run=None):
        """x (B, T, C) -> (B, T, D*H), or (B, D*H) with output_mode="last" or "final".

        With has_state_outputs=True also returns the final states, each (B, D*H). A mask (B, T),
        True on real steps, freezes the state over padded steps (see `run`).

        A network (`Network.run`) calls its layers so, and forward hooks see what it hands on:
        states, the states to start from instead of the layer's own (as from `start_states`);
        finals, a dict that receives the final states under the layer's name (the output is then
        the tensor alone); run(layer, x, start, mask) -> (y, final), what computes the layer
        instead of its `run` (`ll.trace`, interventions).
        """
        if state_inputs and not self.has_state_inputs:
            raise ValueError(f"{self.name or self.kind}: got state inputs but has_state_inputs=False.")
        if run is None:
            y, final = self.run(x, states or state_inputs, mask)
        else:
            y, final = run(self, x, self.start_states(x.shape[0], states), mask)
        out = self.output(y, final, mask)
        if finals is not None:
            finals[self.name] = final
            return out
        return (out, *final) if self.has_state_outputs else out

    def output(self, y, final, mask=None):
        """What the layer hands on, from the full output sequence y (B, T, D*H) and the final states.

        output_mode="last" takes the last step; with frozen padding (a mask), each sequence's last
        real step, so that padding on either side changes nothing. output_mode="final" takes the final
        hidden state: each direction's state after the last step it reads (torch's h_n, ONNX's Y_h);
        the same as "last" but for a direction that reads backward, whose final state is its output at
        the first (real) step. A one-way layer with direction="reverse" hands on its final state with
        "last" too: what it has read last is x_1.
        """
        if self.output_mode == "sequence":
            return y
        if self.output_mode == "final" or self.direction == "reverse":
            return final[0]  # (B, D*H): forward after its last real step, backward after its first
        if mask is None:
            return y[:, -1]  # (B, D*H)
        start, length = segments(mask.transpose(0, 1))
        last = (start + length - 1).clamp(min=0)  # a sequence of pure padding: any step holds its state
        return y[torch.arange(len(y), device=y.device), last]  # (B, D*H)

    def run(self, x, states=None, mask=None, edits=None, recording=None, ways=None):
        """The full output sequence (B, T, D*H) and the final states, whatever the output mode.

        mask: None (MATLAB's behaviour: padded steps are computed like any other), or (B, T),
        True on real steps: the state is then carried unchanged over padded steps ("frozen
        padding"), so that outputs no longer depend on how much padding there is, or where.
        edits: None, or one `Edit` per direction (`lstmlab.layers.edits`): the interventions that
        change what the layer computes. How each span of steps runs is `route`'s choice.
        recording: None, or a list that receives, per direction, every quantity of every step as
        computed, in the direction's own time, where `route` chooses RECORDING (an LSTM's compiled
        loop; see `LSTMLayer._compiled`); it stays empty where `route` chooses another way.
        ways: what `route` chose for these arguments, where the caller asked it already (`ll.trace`
        reports it); None: asked here.
        """
        who = self.name or self.kind
        check_input(x, who)
        self.build(x.shape[-1])
        check_dtype(x, self.input_weights, who)
        states = self.start_states(x.shape[0], states)
        if mask is not None and (mask.shape != x.shape[:2] or mask.dtype != torch.bool):
            raise ValueError(f"{who}: mask must be a bool tensor of shape (batch, time) = {tuple(x.shape[:2])}; got {mask.dtype} {tuple(mask.shape)}.")
        real = None if mask is None or bool(mask.all()) else mask.transpose(0, 1)  # (T, B) True on real steps
        ways = ways or self.route(x, states, edits, recording is not None)
        x = x.transpose(0, 1)  # (T, B, C): time first inside the layer
        with warnings.catch_warnings() if x.is_cuda else contextlib.nullcontext():  # a CPU step skips the filters' save and restore
            if x.is_cuda:  # cuDNN copies our weights into its own buffer on each call and says so
                warnings.filterwarnings("ignore", message="RNN module weights are not part")
            if self.direction == "forward" and all(spans == [(0, len(x), FUSED)] for spans in ways):  # all directions in one call
                y, final = self._fused(x, states) if real is None else self._fused_frozen(x, states, real)
            else:
                y, final = self._each_direction(x, states, ways, real, edits, recording)
        return y.transpose(0, 1), final

    def route(self, x, states=None, edits=None, record=False):
        """How `run` computes each direction of x (B, T, C) from these start states: the one place
        that chooses. Returns, per direction, [(start, stop, way)]: spans of the direction's own time
        and the way each span runs, one of

            FUSED      "fused kernel": torch's kernel of the layer's equations (cuDNN on a GPU)
            LOOP       "Python loop": the readable step loop in torch, which passes gradients back
                       and lets interventions act
            COMPILED   "compiled loop": an LSTM's step loop in C++ (`loop_kernel`), no gradient
            RECORDING  "compiled loop recording": the same, keeping every quantity of every step

        edits: one `Edit` per direction or None: the steps they act on (`Edit.span`) run LOOP, the
        steps before and after them the fast way. record: whether a recording is wanted (`ll.trace`
        without interventions); `fast_way` says whether it pays. states: as `run` takes them.
        """
        T = x.shape[1]
        fast = self.fast_way(x, states, record and edits is None)
        ways = []
        for edit in edits or (NO_EDIT,) * self.num_directions:
            span = edit.span(T)
            if span is None or fast == LOOP:
                ways.append([(0, T, fast)])
            else:
                first, stop = span
                ways.append([(a, b, way) for a, b, way in ((0, first, fast), (first, stop, LOOP), (stop, T, fast)) if a < b])
        return ways

    def fast_way(self, x, states, record=False):
        """How the steps that no intervention touches run (see `route`; states as `run` takes them):
        torch's fused kernel where it computes this layer's equations, else the Python loop. An LSTM
        layer adds its compiled loop."""
        return FUSED if self.uses_fused_kernel else LOOP

    def _each_direction(self, x, states, ways, real=None, edits=None, recording=None):
        """Run each direction on its own, a backward one reading time reversed, span by span of its
        way (`route`), each span starting from the states where the one before it ended.

        x (T, B, C); ways: from `route`; real (T, B) True on real steps, or None; edits: one `Edit`
        per direction (None: no intervention); recording: as in `run`.
        """
        outputs, finals = [], []
        for d, (edit, spans) in enumerate(zip(edits or (NO_EDIT,) * self.num_directions, ways)):
            backward = self.reads_backward(d)
            xd, real_d = (x.flip(0), None if real is None else real.flip(0)) if backward else (x, real)
            state, ys = self._direction_states(states, d), []
            parameters = self.direction_parameters(d)
            for start, stop, way in spans:
                x_span, real_span = xd[start:stop], None if real_d is None else real_d[start:stop]
                if way == LOOP:
                    y, state = self._loop(x_span, state, *parameters, real=real_span, edit=edit.from_step(start))
                elif way == FUSED:
                    y, state = self._fused(x_span, state, direction=d) if real_span is None else self._fused_frozen(x_span, state, real_span, direction=d)
                else:
                    y, state = self._compiled(x_span, state, *parameters, real=real_span, recording=recording if way == RECORDING else None)
                ys.append(y)
            y = ys[0] if len(ys) == 1 else torch.cat(ys)  # (T, B, H)
            outputs.append(y.flip(0) if backward else y)
            finals.append(state)
        y = outputs[0] if len(outputs) == 1 else torch.cat(outputs, -1)
        return y, tuple(s[0] if len(s) == 1 else torch.cat(s, -1) for s in zip(*finals))

    def _fused(self, x, states, lengths=None, direction=None):
        """torch's fused kernel on our parameters: its gate rows are ours, b_ih = b_W and b_hh = b_R
        (`split_bias`: zero for an LSTM, whose one bias torch's kernel takes as b_ih).

        With lengths, each sequence's real steps come first and the kernel runs packed. direction:
        None runs every direction (torch's bidirectional kernel reads the second one from the end);
        0 or 1 runs that one alone, on x already in its own time order.
        """
        directions = tuple(range(self.num_directions)) if direction is None else (direction,)
        D, H, B = len(directions), self.num_hidden_units, x.shape[1]
        hx = tuple((s[None] if D == 1 else s.reshape(B, D, H).transpose(0, 1)).contiguous() for s in states)  # each (D, B, H)
        hx = hx if len(hx) > 1 else hx[0]  # an LSTM's (h0, c0); one tensor for the others
        kept = lengths is None and self.kernel is torch.lstm and x.dtype == torch.float32 and x.device.type == "cpu" and not torch.is_grad_enabled()
        weights = self._kernel_weights(directions, kept)
        if lengths is None:
            y, *final = self.kernel(x, hx, weights, True, 1, 0.0, self.training, D == 2, False)  # y (T, B, D*H)
        else:
            y, *final = packed(self.kernel, x, lengths, hx, weights, self.training, D == 2)
        return y, tuple(s[0] if D == 1 else s.transpose(0, 1).reshape(B, D * H) for s in final)  # each (B, D*H)

    def _kernel_weights(self, directions, kept):
        """W, R, b_W, b_R of each direction, as torch's kernel takes them. kept (`_fused` asks where
        oneDNN runs: CPU, float32, no gradient): made contiguous once and kept while the parameters are
        unchanged. An orthogonal R is a QR's Q transposed, which oneDNN reorders on every call: one step
        2.5x slower. Elsewhere the layout changes torch's summation order, so they are taken as they are."""
        key = kept and [directions, *((p.data_ptr(), p._version) for p in (self.input_weights, self.recurrent_weights, self.bias))]  # an update in place bumps _version
        if key and getattr(self, "_kept_weights", (None,))[0] == key:
            return self._kept_weights[1]
        weights = []
        for d in directions:
            W, R, b = self.direction_parameters(d)
            weights += [W, R, *self.split_bias(b)]
        if key:
            weights = [w.contiguous() for w in weights]
            self._kept_weights = (key, weights)
        return weights

    def _fused_frozen(self, x, states, real, direction=None):
        """The fused kernel with frozen padding: each sequence's real steps are moved to the start,
        the kernel runs on packed sequences (as torch.nn.LSTM does for a PackedSequence), and the
        outputs are moved back, with the carried state on the padded steps. direction: as in `_fused`."""
        start, length = segments(real)  # (B,), (B,)
        T, H = len(x), self.num_hidden_units
        t = torch.arange(T, device=x.device)[:, None]  # (T, 1)
        aligned = x.gather(0, ((t + start) % T)[..., None].expand_as(x))  # (T, B, C): real steps first
        y, final = self._fused(aligned, states, lengths=length.clamp(min=1), direction=direction)  # y (T, B, D*H)
        y = y.gather(0, ((t - start) % T)[..., None].expand_as(y))  # (T, B, D*H): back to input time
        empty = (length == 0)[:, None]  # all padding: the state never moves
        final = tuple(torch.where(empty, s, f) for s, f in zip(states, final))
        before, after = (t < start)[..., None], (t >= start + length)[..., None]  # (T, B, 1)
        outputs = []
        for d in range(self.num_directions if direction is None else 1):
            cols = slice(d * H, (d + 1) * H)
            state_before, state_after = (states[0], final[0]) if d == 0 else (final[0], states[0])  # backward runs from the end
            y_d = torch.where(before, state_before[:, cols], y[..., cols])  # (T, B, H)
            outputs.append(torch.where(after, state_after[:, cols], y_d))
        return torch.cat(outputs, -1), final

    def explain(self, x, y, states, units, mask=None, edits=None, recording=None):
        """Recompute every recorded quantity from the layer's input and its known hidden states.

        Args:
            x: (B, T, C) the input the layer saw.
            y: (B, T, D*H) the full output sequence from `run`.
            states: the start states, as from `start_states`.
            units: the hidden units to record: a (U,) long tensor, or slice(None) for all.
            mask: (B, T), True on real steps, when the state was frozen over padding (see `run`):
                no gate acts on a padded step there, so gates are NaN and c, h the carried state.
            edits: the `Edit`s that `run` applied, one per direction, or None: each quantity is
                edited as the step loop edited it, so that the recording shows what was computed.
            recording: None, or what `run` recorded (see its `recording`): then nothing is
                recomputed, the quantities are taken as they were computed (`LSTMLayer.check`
                checks them).

        Returns:
            One dict per direction: quantity name -> (B, T, U) tensor, indexed by input time.
        """
        (B, T, C), H = x.shape, self.num_hidden_units
        if mask is not None and bool(mask.all()):
            mask = None  # nothing padded: nothing frozen
        recorded = []
        for d, edit in enumerate(edits or (NO_EDIT,) * self.num_directions):
            backward = self.reads_backward(d)
            real = None if mask is None else (mask.flip(1) if backward else mask)  # (B, T) in the direction's own time
            padded = None if real is None else ~real[..., None]
            if recording:  # as the loop computed them, h and c carried over padded steps
                q = {name: v[..., units] for name, v in self._unpack(recording[d]).items()}
            else:
                start = self._direction_states(states, d)
                h = y[..., d * H : (d + 1) * H]  # (B, T, H)
                xd, hd = (x.flip(1), h.flip(1)) if backward else (x, h)
                xh = x.new_empty(B, T, C + H)  # (B, T, C+H): [x_t, h_{t-1}] for every t, in one buffer
                xh[..., :C] = xd  # (B, T, C)
                xh[:, 0, C:] = start[0]  # (B, H): h before the first step
                xh[:, 1:, C:] = hd[:, :-1]  # (B, T-1, H)
                if edit.actions:  # an intervention acts on units of its own: compute them all, then choose
                    q = {name: v[..., units] for name, v in self._explain(xh, start, ALL, *self.direction_parameters(d), real=real, edit=edit).items()}
                else:
                    q = self._explain(xh, start, units, *self.direction_parameters(d), real=real)
                if padded is not None:
                    q["h"] = torch.where(padded, hd[..., units], q["h"])  # the carried state
            if padded is not None:
                for name in q:
                    if name not in ("c", "h"):
                        q[name].masked_fill_(padded, float("nan"))
            recorded.append({k: v.flip(1) for k, v in q.items()} if backward else q)
        return recorded

    def _units_text(self):
        """The size part of `describe`."""
        return f"{self.num_hidden_units} hidden units"

    def config(self):
        options = {
            "num_hidden_units": self.num_hidden_units,
            "output_mode": self.output_mode,
            "has_state_inputs": self.has_state_inputs,
            "has_state_outputs": self.has_state_outputs,
            **({"direction": self.direction} if self.num_directions == 1 else {}),
            "state_activation_function": self.state_activation_function,
            "gate_activation_function": self.gate_activation_function,
            "input_size": self.input_size,
            **self.initializer_options(),
            "name": self.name,
        }
        for parameter, factor in self.learn_rate_factor.items():
            options[f"{parameter}_learn_rate_factor"] = factor.tolist()
        for parameter, factor in self.l2_factor.items():
            options[f"{parameter}_l2_factor"] = factor.tolist()
        return options

    def describe(self):
        size = "auto" if self.input_size == "auto" else self.input_size
        parts = [
            self._units_text(),
            f"input size {size}",
            f"output_mode={self.output_mode!r}",
            *([f"direction={self.direction!r}"] if self.direction == "reverse" else []),
            f"gate {self.gate_activation_function}, state {self.state_activation_function}",
            "fused kernel" if self.uses_fused_kernel else "step loop",
        ]
        if self.has_state_inputs or self.has_state_outputs:
            parts.append(f"state inputs={self.has_state_inputs}, outputs={self.has_state_outputs}")
        return ", ".join(parts)

    def to_torch(self):
        """This layer as a torch.nn.LSTM / torch.nn.GRU (batch_first=True) with the same weights.

        The module computes what the layer computes from zero initial states, for every time step:
        a torch module has no output mode (take y[:, -1] for "last") and no stored initial states
        (pass them when you call it), so a layer with non-zero initial states is refused. The way
        back is `ll.from_torch` (`lstmlab.interop`).
        """
        who = self.name or self.kind
        if self.direction == "reverse":
            raise ValueError(
                f"to_torch: layer {who!r} has direction='reverse', which torch's modules do not have (a torch module reads "
                f"forward, or both ways with bidirectional=True); run the module on the sequence flipped in time, "
                f"x.flip(1), to compute what this layer computes."
            )
        if not self.uses_fused_kernel:
            raise ValueError(
                f"to_torch: layer {who!r} uses {self._equations_text()}; torch's modules compute only sigmoid gates, tanh "
                f"states (and, for a GRU, a reset gate after the multiplication)."
            )
        for state_name in self.state_names:
            if getattr(self, f"initial_{state_name}_state").any():
                raise ValueError(
                    f"to_torch: layer {who!r} has a non-zero initial {state_name} state, which a torch module cannot store; "
                    f"export a layer without it and pass the state when you call the module."
                )
        if self.input_weights is None:
            raise ValueError(f"to_torch: layer {who!r} has no weights yet (input_size='auto'); run data through it or give input_size.")
        D = self.num_directions
        module = self.torch_module(self.input_size, self.num_hidden_units, batch_first=True, bidirectional=D == 2)
        module = module.to(device=self.input_weights.device, dtype=self.input_weights.dtype)
        with torch.no_grad():
            for d, suffix in enumerate(["", "_reverse"][:D]):
                W, R, b = self.direction_parameters(d)
                for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W, R, *self.split_bias(b))):
                    getattr(module, f"{name}_l0{suffix}").copy_(value)
        return module

    def split_bias(self, b):
        """The input bias b_W and the recurrent bias b_R of one direction's bias b, each (kH,).

        b_R is zero unless the layer has a recurrent bias of its own (a GRU with
        reset_gate_mode="recurrent-bias-after-multiplication").
        """
        if self.bias_blocks == 2:
            return b.chunk(2)
        return b, torch.zeros_like(b)

    def _equations_text(self):
        """What chooses the equations, for messages: "gate 'sigmoid' and state 'tanh' activations"."""
        return f"gate {self.gate_activation_function!r} and state {self.state_activation_function!r} activations"


def packed(kernel, x, lengths, hx, weights, training, bidirectional):
    """torch.lstm / torch.gru on sequences whose real steps come first, each `lengths` long.

    As torch.nn.LSTM does for a PackedSequence: x (T, B, C) is packed, run, and padded back
    (zeros after each sequence's end); the final states are those at each sequence's last step.
    """
    p = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
    order, back = p.sorted_indices, p.unsorted_indices
    hx = tuple(h[:, order] for h in hx) if isinstance(hx, tuple) else hx[:, order]
    y, *final = kernel(p.data, p.batch_sizes, hx, weights, True, 1, 0.0, training, bidirectional)
    y = pad_packed_sequence(PackedSequence(y, p.batch_sizes, order, back), total_length=len(x))[0]
    return (y, *(s[:, back] for s in final))
