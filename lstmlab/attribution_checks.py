"""Should you trust an attribution? Three checks of what `ll.attribute` found.

- `completeness_check`: integrated gradients' values add up to F(x) - F(baseline); the error (delta)
  should shrink as the path gets more steps. A large delta means too few steps.
- `randomization_check` (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018): the
  attribution of a network whose weights carry no learning should look different. A rank
  correlation near 1 says the method shows the input, not what the network learned.
- `deletion_curve`: replace the steps the attribution ranks first by the baseline, a growing
  fraction of each sequence, and watch the explained score; it should fall faster than when
  random steps go.
"""

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ._checks import check_positive_int
from .attribution import Attribution, as_baselines, attribute
from .attribution_batches import explain
from .preparation import prepare

WHERE = "deletion_curve"


def completeness_check(net, X, *, steps=(2, 4, 8, 16, 32, 64), **options):
    """Integrated gradients' completeness error for each number of steps.

    Args:
        net, X: as for `ll.attribute`.
        steps: the numbers of points along the path to try.
        options: the other arguments of `ll.attribute` (target, output, baseline, the prediction
            options).

    Returns:
        A DataFrame with columns steps, largest |delta| and mean |delta| over the sequences (in
        the units of the score).
    """
    rows = []
    for n in steps:
        delta = np.abs(attribute(net, X, method="integrated-gradients", steps=n, **options).delta)
        rows.append({"steps": n, "largest |delta|": float(delta.max()), "mean |delta|": float(delta.mean())})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class RandomizationCheck:
    """The attribution of the trained network, of the same network with its weights shuffled, and
    how alike they rank each sequence's steps and channels.

    Attributes:
        original, randomized: the two `Attribution`s (the same class and step explained).
        rank_correlation: (N,) Spearman's correlation of |values| over each sequence's steps and
            channels. Near 1: the method ignores what the network learned; do not trust it.
    """

    original: Attribution
    randomized: Attribution
    rank_correlation: np.ndarray


def randomization_check(net, X, *, seed=0, **options):
    """Adebayo et al.'s model-randomization test: attribute with the trained network and with a copy
    whose every weight matrix and bias has its entries shuffled (the same numbers, no learned
    structure), explaining the same class at the same step.

    Args:
        net, X: as for `ll.attribute`.
        seed: the shuffle's seed.
        options: the other arguments of `ll.attribute` (method, target, output, baseline, steps,
            the prediction options).

    Returns:
        A `RandomizationCheck`. net itself is not changed.
    """
    original = attribute(net, X, **options)
    shuffled = copy.deepcopy(net)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, _, p in shuffled.learnables():
            order = torch.randperm(p.numel(), generator=generator).to(p.device)
            p.copy_(p.reshape(-1)[order].reshape(p.shape))
    options["target"] = _same_targets(original)
    randomized = attribute(shuffled, X, **options)
    correlation = np.array([_spearman(np.abs(a).ravel(), np.abs(b).ravel()) for a, b in zip(original.sequences, randomized.sequences)])
    return RandomizationCheck(original, randomized, correlation)


def deletion_curve(net, X, attribution, *, fractions=11, baseline=None, random_orders=5, seed=0):
    """The explained score as a growing fraction of each sequence's steps is replaced by the baseline,
    the steps with the largest attribution first, and in random orders for comparison.

    Args:
        net, X: the network and data that `attribution` explains.
        attribution: an `Attribution` of net on X: its by_step ranks the steps, its target, output
            and prediction options fix the score.
        fractions: the number of fractions from 0 to 1 (11: 0, 0.1, ..., 1); a sequence of T
            steps loses round(fraction * T) of them.
        baseline: what a removed step becomes, as in `ll.attribute` (None: zeros).
        random_orders: how many random orders to average.
        seed: the random orders' seed.

    Returns:
        A DataFrame with columns fraction, order ("attribution" or "random") and score: the mean
        over the sequences of the explained score (random: also over the orders).
    """
    if not isinstance(attribution, Attribution):
        raise TypeError(f"{WHERE}: attribution must be an ll.Attribution (from ll.attribute); got {type(attribution).__name__}.")
    fractions = np.linspace(0, 1, check_positive_int(fractions, "fractions", WHERE))
    sequences = prepare(net, X, WHERE)
    if [len(x) for x in sequences] != [len(v) for v in attribution.sequences]:
        raise ValueError(f"{WHERE}: attribution explains sequences of other lengths than X's; give the X it was computed on.")
    baselines = as_baselines(baseline, sequences, X)
    rng = np.random.default_rng(seed)
    orders = {"attribution": [[np.argsort(-v.sum(-1), kind="stable") for v in attribution.sequences]]}
    orders["random"] = [[rng.permutation(len(x)) for x in sequences] for _ in range(check_positive_int(random_orders, "random_orders", WHERE))]
    rows = []
    for name, each in orders.items():
        for fraction in fractions:
            scores = [_score(net, sequences, order, fraction, baselines, attribution) for order in each]
            rows.append({"fraction": fraction, "order": name, "score": float(np.mean(scores))})
    return pd.DataFrame(rows)


def _score(net, sequences, order, fraction, baselines, attribution):
    """The mean explained score with the first round(fraction * T) steps of each order replaced."""
    changed = []
    for x, steps, base in zip(sequences, order, baselines):
        x = x.copy()
        gone = steps[: int(round(fraction * len(x)))]
        x[gone] = base[gone]
        changed.append(x)
    _, _, score, _, _ = explain(
        net, changed, None, targets=None, output=attribution.output, baselines=baselines, weights=attribution.weights, **attribution.options
    )
    return score.mean()


def _same_targets(attribution):
    """The (class, step) each sequence's attribution explained, as a target list for `ll.attribute`."""
    classes = [None if k == -1 else int(k) for k in attribution.target]
    if attribution.step is None:
        return classes
    return [(k, "all steps" if t == -1 else int(t)) for k, t in zip(classes, attribution.step)]


def _spearman(a, b):
    """Spearman's rank correlation (ties share their mean rank)."""
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])
