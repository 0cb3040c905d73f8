"""Gate and state activation functions in torch, as the seed documents define them.

The NumPy twins that students read are in `lstmlab.reference`; tests hold the two together.
"""

import torch


def hard_sigmoid(x):
    """0 below -2.5, 1 above 2.5, 0.2 x + 0.5 in between (not torch's x/6 + 1/2)."""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def softsign(x):
    return x / (1.0 + x.abs())


GATE_ACTIVATIONS = {"sigmoid": torch.sigmoid, "hard-sigmoid": hard_sigmoid}
STATE_ACTIVATIONS = {"tanh": torch.tanh, "softsign": softsign, "relu": torch.relu}
