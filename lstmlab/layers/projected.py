"""The projected LSTM layer: an LSTM that stores fewer weights (MATLAB's lstmProjectedLayer).

Two learnable projectors shrink what the weight matrices multiply (notation of
`lstmlab.reference`; Q_i and Q_o are MATLAB's InputProjector and OutputProjector):

    x~_t     = Q_i^T x_t           (Pi,)  the input, projected: Q_i is (C, Pi)
    h~_{t-1} = Q_o^T h_{t-1}       (Po,)  the hidden state, projected: Q_o is (H, Po)
    i = sigma_g(W_i x~_t + R_i h~_{t-1} + b_i)    W is (4H, Pi), R is (4H, Po)
    ... f, g, o likewise, then c_t = f * c_{t-1} + i * g and h_t = o * sigma_s(c_t), as in an LSTM.

The layer outputs h_t, of size H, like an LSTM with H hidden units, so the layers after it keep
their sizes: only the weights are compressed. (torch.nn.LSTM(proj_size=Po) differs here: it
outputs, and carries, the projected state Q_o^T h_t, and it has no input projector.)

Since Q_i^T and Q_o^T are linear maps, W Q_i^T x = (W Q_i^T) x and R Q_o^T h = (R Q_o^T) h: the
layer is an ordinary LSTM whose weights are the products W Q_i^T (4H, C) and R Q_o^T (4H, H).
`direction_parameters` returns those products, and everything else, the step loop, torch's fused
kernel, `ll.trace` and the interventions, is `LSTMLayer`'s, unchanged. Gradients reach W, R and
both projectors through the products. (torch's kernel with proj_size cannot run this layer: it
would output Q_o^T h, not h.) For the same reason `to_torch` gives a plain torch.nn.LSTM holding
the products: the same outputs, without the compression.

Fewer learnables than the LSTM with the same H and C only when Po < 4H/5 and Pi < 4HC/(4H + C):

    LSTM:      4H*C + 4H*H + 4H
    projected: C*Pi + 4H*Pi + H*Po + 4H*Po + 4H     (Q_i, W, Q_o, R, b)
"""

import warnings

import numpy as np
import torch

from .._checks import as_tensor, check_choice, check_factor, check_positive_int
from ..initializers import WEIGHT_INITIALIZERS
from .lstm import LSTMLayer


class ProjectedLSTMLayer(LSTMLayer):
    """LSTM layer with learnable input and output projectors (MATLAB's lstmProjectedLayer).

    Args:
        num_hidden_units: H, the size of the hidden and cell states, and of the output.
        output_projector_size: Po, the size of the projected hidden state h~ = Q_o^T h that the
            recurrent weights multiply: R is (4H, Po). Fewer learnables when Po < 4H/5.
        input_projector_size: Pi, the size of the projected input x~ = Q_i^T x that the input
            weights multiply: W is (4H, Pi). Fewer learnables when Pi < 4HC/(4H + C).
        input_projector: Q_i, (C, Pi) (MATLAB's InputProjector); initialized if None.
        output_projector: Q_o, (H, Po) (MATLAB's OutputProjector); initialized if None.
        input_projector_initializer, output_projector_initializer: "orthogonal" (default) |
            "glorot" | "he" | "narrow-normal" | "zeros" | "ones" | a callable taking the shape.
        input_projector_learn_rate_factor, output_projector_learn_rate_factor: a scalar (a
            projector has no gate blocks), default 1.
        input_projector_l2_factor, output_projector_l2_factor: a scalar, default 1.
        input_weights: W, (4H, Pi). recurrent_weights: R, (4H, Po). bias: b, (4H,).
        hidden_state, cell_state: initial states, (H,) each (the unprojected h).
        The other options are `LSTMLayer`'s and mean the same.

    >>> import torch, lstmlab as ll
    >>> layer = ll.lstm_projected_layer(100, 25, 4, input_size=12)
    >>> layer(torch.zeros(2, 5, 12)).shape
    torch.Size([2, 5, 100])
    >>> layer.input_projector.shape, layer.input_weights.shape, layer.output_projector.shape, layer.recurrent_weights.shape
    (torch.Size([12, 4]), torch.Size([400, 4]), torch.Size([100, 25]), torch.Size([400, 25]))
    """

    kind = "lstm_projected"

    def __init__(
        self,
        num_hidden_units,
        output_projector_size,
        input_projector_size,
        *,
        input_projector_initializer="orthogonal",
        output_projector_initializer="orthogonal",
        input_projector=None,
        output_projector=None,
        input_projector_learn_rate_factor=1,
        output_projector_learn_rate_factor=1,
        input_projector_l2_factor=1,
        output_projector_l2_factor=1,
        input_weights=None,
        recurrent_weights=None,
        input_size="auto",
        **options,
    ):
        where = "lstm_projected_layer"
        self.output_projector_size = _check_size(output_projector_size, "output_projector_size", "hidden state h", 25, where)
        self.input_projector_size = _check_size(input_projector_size, "input_projector_size", "input x", 4, where)
        # RecurrentLayer checks W and R against (4H, C) and (4H, H): the projected shapes are checked here
        super().__init__(num_hidden_units, input_size="auto", **options)
        H, Pi, Po = self.num_hidden_units, self.input_projector_size, self.output_projector_size
        for name, value in (("input_projector", input_projector_initializer), ("output_projector", output_projector_initializer)):
            self.initializers[name] = check_choice(value, f"{name}_initializer", WEIGHT_INITIALIZERS, where, allow_callable=True)
        self.projector_learn_rate_factor = {
            "input_projector": _scalar_factor(input_projector_learn_rate_factor, "input_projector_learn_rate_factor", where),
            "output_projector": _scalar_factor(output_projector_learn_rate_factor, "output_projector_learn_rate_factor", where),
        }
        self.projector_l2_factor = {
            "input_projector": _scalar_factor(input_projector_l2_factor, "input_projector_l2_factor", where),
            "output_projector": _scalar_factor(output_projector_l2_factor, "output_projector_l2_factor", where),
        }
        if input_size != "auto":
            input_size = check_positive_int(input_size, "input_size", where)
        if input_projector is not None:
            shape = np.shape(input_projector)
            columns = shape[0] if input_size == "auto" and len(shape) == 2 else input_size
            input_projector = as_tensor(input_projector, "input_projector", (columns, Pi), where, " (input channels C, input_projector_size)")
            input_size = columns
        given = {
            "input_projector": input_projector,
            "input_weights": input_weights,
            "output_projector": output_projector,
            "recurrent_weights": recurrent_weights,
        }
        shapes = self.parameter_shapes(input_size)  # the three checked here do not depend on the input size
        hints = {
            "input_weights": f" (4*num_hidden_units, input_projector_size){self._layout_hint()}",
            "output_projector": " (num_hidden_units, output_projector_size)",
            "recurrent_weights": f" (4*num_hidden_units, output_projector_size){self._layout_hint()}",
        }
        for name, hint in hints.items():
            if given[name] is not None:
                given[name] = as_tensor(given[name], name, shapes[name], where, hint)
        self._given.update(given)
        if input_size != "auto":
            self.build(input_size)

    def build(self, input_size):
        H, Pi, Po, C = self.num_hidden_units, self.input_projector_size, self.output_projector_size, input_size
        if not isinstance(C, tuple) and self.input_weights is None and (Po >= 4 * H / 5 or Pi >= 4 * H * C / (4 * H + C)):
            # a projector and the weights it feeds (Q_o, R: H Po + 4H Po; Q_i, W: C Pi + 4H Pi) against the weights
            # of an lstm_layer(H) they replace (R: 4H H; W: 4H C)
            limits = {"output": (Po, 4 * H / 5), "input": (Pi, 4 * H * C / (4 * H + C))}
            saving_nothing = [f"{side}_projector_size={P}" for side, (P, limit) in limits.items() if P >= limit]
            warnings.warn(
                f"{self.name or self.kind}: {' and '.join(saving_nothing)} with num_hidden_units={H} and {C} input channels: "
                f"a projector of that size and the weights it feeds hold no fewer learnables than the "
                f"lstm_layer({H}) weights they replace; choose output_projector_size < {4 * H / 5:.3g} and input_projector_size < {4 * H * C / (4 * H + C):.3g}.",
                stacklevel=3,
            )
        return super().build(input_size)

    def parameter_shapes(self, input_size):
        H, Pi, Po = self.num_hidden_units, self.input_projector_size, self.output_projector_size
        return {
            "input_projector": (input_size, Pi),  # Q_i
            "input_weights": (4 * H, Pi),  # W
            "output_projector": (H, Po),  # Q_o
            "recurrent_weights": (4 * H, Po),  # R
            "bias": (4 * H,),  # b
        }

    def direction_parameters(self, d):
        """The weights of the LSTM this layer is: W Q_i^T (4H, C), R Q_o^T (4H, H) and b (4H,)."""
        W = self.input_weights @ self.input_projector.T  # (4H, Pi) @ (Pi, C) -> (4H, C)
        R = self.recurrent_weights @ self.output_projector.T  # (4H, Po) @ (Po, H) -> (4H, H)
        return W, R, self.bias

    def projected_state(self, h):
        """h~ = Q_o^T h, the projected hidden state that R multiplies at the next step: (..., H) -> (..., Po).

        h is a NumPy array (a trace's `h`, with every unit recorded) or a tensor; the result is of the same kind.
        """
        Q_o = self.output_projector.detach()
        if torch.is_tensor(h):
            return h @ Q_o.to(h)
        h = np.asarray(h)
        if h.shape[-1] != self.num_hidden_units:
            raise ValueError(
                f"{self.name or self.kind}: projected_state needs h with all {self.num_hidden_units} hidden units on its last "
                f"axis; got shape {h.shape}. Record every unit (ll.trace without units=)."
            )
        return h @ Q_o.cpu().numpy().astype(h.dtype, copy=False)

    def learn_rate_factors(self):
        return {**super().learn_rate_factors(), **self.projector_learn_rate_factor}

    def l2_factors(self):
        return {**super().l2_factors(), **self.projector_l2_factor}

    def config(self):
        options = super().config()
        options["output_projector_size"] = self.output_projector_size
        options["input_projector_size"] = self.input_projector_size
        for p in self.projector_learn_rate_factor:
            options[f"{p}_learn_rate_factor"] = float(self.projector_learn_rate_factor[p])
            options[f"{p}_l2_factor"] = float(self.projector_l2_factor[p])
        return options

    def _units_text(self):
        return f"{super()._units_text()}, projectors: input {self.input_projector_size}, output {self.output_projector_size}"


def _scalar_factor(value, name, where):
    """A projector's learn-rate or L2 factor: one non-negative number, as a 0-d float64 tensor."""
    if np.ndim(value) != 0 or isinstance(value, (str, bool)):
        raise ValueError(f"{where}: {name} must be one non-negative number (a projector has no gate blocks); got {value!r}. Give e.g. {name}=1.")
    return check_factor(value, name, 1, ("all",), where)[0]


def _check_size(value, name, what, example, where):
    """A projector size: a positive integer, the length of the projected vector."""
    return check_positive_int(value, name, where, meaning=f", the size the {what} is projected to",
                              fix=f" Give an int such as {name}={example} (smaller than the vector it projects, to save learnables).")
