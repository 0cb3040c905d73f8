"""The losses `ll.trainnet` knows, averaged over sequences (and over real time steps).

    crossentropy          -log p[true class], from a network ending in softmax_layer
    binary-crossentropy   -(t log p + (1 - t) log(1 - p)), from a network ending in sigmoid_layer
    mse                   mean of (y - t)^2 over every value
    mae                   mean of |y - t|
    huber                 mean of 0.5 (y - t)^2 where |y - t| <= 1, else |y - t| - 0.5
    a callable            loss(Y, T) -> a scalar tensor, given the real steps only:
                          Y (M, K) predictions and T (M, R) targets (M = sequences, or real steps)

The two cross-entropies are computed from the scores before the last layer, which is exact
where the probabilities underflow.
"""

import torch.nn.functional as F

from ._checks import check_choice
from .layers import SigmoidLayer, SoftmaxLayer

LOSSES = ("crossentropy", "binary-crossentropy", "mse", "mae", "huber")
NEEDS_LAST = {"crossentropy": (SoftmaxLayer, "ll.softmax_layer()"), "binary-crossentropy": (SigmoidLayer, "ll.sigmoid_layer()")}


def check_loss(loss, net, where="trainnet"):
    """The loss name (or callable), checked against the network's last layer."""
    loss = check_choice(loss, "loss", LOSSES, where, allow_callable=True)
    if loss in NEEDS_LAST and not isinstance(net.layers[-1], NEEDS_LAST[loss][0]):
        raise ValueError(f"{where}: loss {loss!r} needs probabilities; end the network with {NEEDS_LAST[loss][1]}.")
    return loss


def compute(loss, scores, targets, mask=None, weight=None):
    """The loss of one mini-batch.

    scores: for the cross-entropies, the input of the last (softmax or sigmoid) layer; otherwise
        the network output. (B, K), or (B, T, K) with mask (B, T) marking the real steps.
    targets: (B,) class codes or (B, R) values; (B, T) or (B, T, R) per step.
    weight: for "crossentropy", None or (K,) class weights w: the loss is then
        sum_n w[t_n] (-log p_n[t_n]) / sum_n w[t_n].
    """
    if mask is not None:  # per step: keep the real steps only
        scores, targets = scores[mask], targets[mask]  # (M, K), (M, ...)
    if callable(loss):
        return loss(scores, targets)
    if loss == "crossentropy":
        return F.cross_entropy(scores, targets, weight=weight)
    if loss == "binary-crossentropy":
        return F.binary_cross_entropy_with_logits(scores, targets)
    if loss == "mse":
        return F.mse_loss(scores, targets)
    if loss == "mae":
        return F.l1_loss(scores, targets)
    return F.huber_loss(scores, targets, delta=1.0)
