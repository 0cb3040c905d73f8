"""Parameter updates the MATLAB way, honouring every parameter's learn-rate and L2 factors.

For a parameter theta with learn-rate factor lambda (per gate for the recurrent layers) and L2
factor kappa, at global learn rate alpha and L2 regularization l2:

    gradient   d = dLoss/dtheta + l2 * kappa * theta
    sgdm       v = momentum * v - alpha * lambda * d;             theta = theta + v
    adam       m = beta1 m + (1 - beta1) d;  s = beta2 s + (1 - beta2) d^2
               theta = theta - alpha * lambda * m_hat / (sqrt(s_hat) + epsilon)   (bias-corrected)
    rmsprop    s = beta2 s + (1 - beta2) d^2;  theta = theta - alpha * lambda * d / (sqrt(s) + epsilon)

A factor of 0 freezes that part of the parameter.

Gradient clipping acts on d before the update, when gradient_threshold is finite:
"l2norm" scales each parameter's d down to that L2 norm, "global-l2norm" scales all of them
together down to that norm over all parameters, and "absolute-value" clips each value.
"""

import math

import torch

from ._checks import check_choice, check_fraction, check_nonnegative
from .options import DEFAULT_LEARN_RATE


class Solver:
    """Updates a network's learnable parameters after `loss.backward()`.

    Args:
        net: an `ll.Network` (its parameters must exist: build it first), or a model made of
            networks with the same `layers` and `learnables()` (`ll.EncoderDecoder`).
        solver: "sgdm" | "adam" | "rmsprop".
        learn_rate: alpha; default 0.01 for sgdm, 0.001 otherwise (MATLAB's defaults).
        momentum: for sgdm (default 0.9).
        gradient_decay_factor: beta1 for adam (default 0.9).
        squared_gradient_decay_factor: beta2; default 0.999 for adam, 0.9 for rmsprop.
        epsilon: default 1e-8.
        l2_regularization: l2, default 1e-4.
        gradient_threshold, gradient_threshold_method: clipping (see the module docstring).
    """

    def __init__(
        self,
        net,
        solver="adam",
        *,
        learn_rate=None,
        momentum=0.9,
        gradient_decay_factor=0.9,
        squared_gradient_decay_factor=None,
        epsilon=1e-8,
        l2_regularization=1e-4,
        gradient_threshold=math.inf,
        gradient_threshold_method="l2norm",
    ):
        if not callable(getattr(net, "learnables", None)):  # an ll.Network, or an ll.EncoderDecoder (made of two)
            raise TypeError(f"Solver: net must be an ll.Network; got {type(net).__name__}. Wrap layers with ll.Network([...]).")
        for layer in net.layers:
            if getattr(layer, "input_size", None) == "auto":
                raise ValueError(
                    f"Solver: layer {layer.name!r} has no weights yet (input_size='auto'); start the network with "
                    f"ll.sequence_input_layer(C), or run data through it first."
                )
        self.solver = check_choice(solver, "solver", tuple(DEFAULT_LEARN_RATE), "Solver")
        self.learn_rate = DEFAULT_LEARN_RATE[self.solver] if learn_rate is None else check_nonnegative(learn_rate, "learn_rate", "Solver")
        self.momentum = check_fraction(momentum, "momentum", "Solver")
        self.beta1 = check_fraction(gradient_decay_factor, "gradient_decay_factor", "Solver")
        beta2 = (0.999 if self.solver == "adam" else 0.9) if squared_gradient_decay_factor is None else squared_gradient_decay_factor
        self.beta2 = check_fraction(beta2, "squared_gradient_decay_factor", "Solver")
        self.epsilon = check_nonnegative(epsilon, "epsilon", "Solver")
        self.l2 = check_nonnegative(l2_regularization, "l2_regularization", "Solver")
        self.threshold = float(gradient_threshold)
        self.threshold_method = check_choice(
            gradient_threshold_method, "gradient_threshold_method", ("l2norm", "global-l2norm", "absolute-value"), "Solver"
        )
        self.iteration = 0
        self.entries = []
        for layer, name, p in net.learnables():
            self.entries.append(
                {
                    "param": p,
                    "lr_factor": layer.learn_rate_factors().get(name, torch.tensor(1.0)).to(p),
                    "l2_factor": layer.l2_factors().get(name, torch.tensor(1.0)).to(p),
                    "m": torch.zeros_like(p),
                    "s": torch.zeros_like(p),
                }
            )

    @torch.no_grad()
    def step(self, learn_rate=None):
        """One update of every parameter that has a gradient; learn_rate overrides the global one.

        The moments m and s and the parameter are updated in place, one line per equation above.
        """
        self.iteration += 1
        k = self.iteration
        alpha = self.learn_rate if learn_rate is None else learn_rate
        entries = [e for e in self.entries if e["param"].grad is not None]
        gradients = self._clip([torch.addcmul(e["param"].grad, e["l2_factor"], e["param"], value=self.l2) for e in entries])
        for e, d in zip(entries, gradients):
            theta, m, s, rate = e["param"], e["m"], e["s"], alpha * e["lr_factor"]
            if self.solver == "sgdm":
                m.mul_(self.momentum).sub_(rate * d)  # v = momentum * v - alpha * lambda * d
                theta += m
            elif self.solver == "adam":
                m.mul_(self.beta1).add_(d, alpha=1 - self.beta1)  # m = beta1 m + (1 - beta1) d
                s.mul_(self.beta2).addcmul_(d, d, value=1 - self.beta2)  # s = beta2 s + (1 - beta2) d^2
                root = s.div(1 - self.beta2**k).sqrt_().add_(self.epsilon)  # sqrt(s_hat) + epsilon
                theta.addcdiv_(rate * m, root, value=-1 / (1 - self.beta1**k))  # theta -= alpha lambda m_hat / root
            else:
                s.mul_(self.beta2).addcmul_(d, d, value=1 - self.beta2)
                theta.addcdiv_(rate * d, s.sqrt().add_(self.epsilon), value=-1)

    def _clip(self, gradients):
        """The gradients clipped in place (see the module docstring).

        Not torch.nn.utils.clip_grad_norm_ / clip_grad_value_: they act on each parameter's .grad,
        where d also holds the L2 term, and clip_grad_norm_ scales by threshold / (norm + 1e-6),
        not MATLAB's threshold / norm (tests/test_solvers.py shows the difference).
        """
        if math.isinf(self.threshold):
            return gradients
        if self.threshold_method == "absolute-value":
            return [d.clamp_(-self.threshold, self.threshold) for d in gradients]
        if self.threshold_method == "global-l2norm":
            norm = torch.sqrt(sum((d**2).sum() for d in gradients)).item()  # one device sync per step
            return [d.mul_(self.threshold / norm) if norm > self.threshold else d for d in gradients]
        norms = torch.stack([d.norm() for d in gradients]).tolist()  # one device sync per step
        return [d.mul_(self.threshold / n) if n > self.threshold else d for d, n in zip(gradients, norms)]

    def zero_grad(self):
        for e in self.entries:
            e["param"].grad = None
