"""Helpers shared by the tests."""

import re

import torch

from lstmlab.layers.recurrent import LOOP

GATES = ["sigmoid", "hard-sigmoid"]
STATES = ["tanh", "softsign", "relu"]


def numpy_params(layer, d=0):
    """W, R, b of one direction of a (float64) layer, as NumPy arrays."""
    return [p.detach().numpy() for p in layer.direction_parameters(d)]


def shaken(layer, rng, scale=0.5):
    """Give a layer random parameters (the initializers leave some all-zero)."""
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.as_tensor(rng.normal(scale=scale, size=tuple(p.shape))))
    return layer


def step_loop(layer, x, states, real=None):
    """Every step of every direction in the Python loop (`route`'s LOOP), whatever `route` would
    choose: x (T, B, C) -> y (T, B, D*H) and the final states; real (T, B) True on real steps."""
    return layer._each_direction(x, states, [[(0, len(x), LOOP)]] * layer.num_directions, real)


def naming(*parts):
    """A `match` regex for a message that names each of `parts` (an argument or a node, the value it got), in order."""
    return ".*".join(map(re.escape, parts))
