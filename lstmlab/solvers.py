"""Parameter updates the MATLAB way, honouring every parameter's learn-rate and L2 factors.

For a parameter theta with learn-rate factor lambda (per gate for the recurrent layers) and L2
factor kappa, at global learn rate alpha and L2 regularization l2:

    gradient   d = dLoss/dtheta + l2 * kappa * theta
    sgdm       v = momentum * v - alpha * lambda * d;             theta = theta + v
    adam       m = beta1 m + (1 - beta1) d;  s = beta2 s + (1 - beta2) d^2
               theta = theta - alpha * lambda * m_hat / (sqrt(s_hat) + epsilon)   (bias-corrected)
    rmsprop    s = beta2 s + (1 - beta2) d^2;  theta = theta - alpha * lambda * d / (sqrt(s) + epsilon)

A factor of 0 freezes that part of the parameter.
"""

import torch

from ._checks import check_choice, check_fraction, check_nonnegative
from .network import Network

DEFAULT_LEARN_RATE = {"sgdm": 0.01, "adam": 0.001, "rmsprop": 0.001}


class Solver:
    """Updates a network's learnable parameters after `loss.backward()`.

    Args:
        net: an `ll.Network` (its parameters must exist: build it first).
        solver: "sgdm" | "adam" | "rmsprop".
        learn_rate: alpha; default 0.01 for sgdm, 0.001 otherwise (MATLAB's defaults).
        momentum: for sgdm (default 0.9).
        gradient_decay_factor: beta1 for adam (default 0.9).
        squared_gradient_decay_factor: beta2; default 0.999 for adam, 0.9 for rmsprop.
        epsilon: default 1e-8.
        l2_regularization: l2, default 1e-4.
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
    ):
        if not isinstance(net, Network):
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
    def step(self):
        self.iteration += 1
        k = self.iteration
        for e in self.entries:
            theta = e["param"]
            if theta.grad is None:
                continue
            d = theta.grad + self.l2 * e["l2_factor"] * theta
            rate = self.learn_rate * e["lr_factor"]
            if self.solver == "sgdm":
                e["m"] = self.momentum * e["m"] - rate * d
                theta += e["m"]
            elif self.solver == "adam":
                e["m"] = self.beta1 * e["m"] + (1 - self.beta1) * d
                e["s"] = self.beta2 * e["s"] + (1 - self.beta2) * d**2
                m_hat, s_hat = e["m"] / (1 - self.beta1**k), e["s"] / (1 - self.beta2**k)
                theta -= rate * m_hat / (s_hat.sqrt() + self.epsilon)
            else:
                e["s"] = self.beta2 * e["s"] + (1 - self.beta2) * d**2
                theta -= rate * d / (e["s"].sqrt() + self.epsilon)

    def zero_grad(self):
        for e in self.entries:
            e["param"].grad = None
