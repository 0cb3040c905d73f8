"""Integrated gradients in lstmlab against Captum on the same network written in plain PyTorch.

Run it from the repository root:

    .venv/bin/python benchmarks/attribution.py             # 5 rounds: about a minute on 2 idle CPU cores
    .venv/bin/python benchmarks/attribution.py --quick     # 3 rounds: a smoke test

The Japanese Vowels network of lesson 04 (sequence input 12 -> LSTM 100, output "last" -> fully
connected 9 -> softmax), trained for 3 epochs, explains its 370 test utterances: integrated
gradients at 64 steps of each utterance's predicted class score, in mini-batches of 128.

- ll.attribute(net, X_test, steps=64): X_test as a list of (T_n, 12) arrays, as a user passes it;
  checking, padding, the forward pass that picks each target, Captum's IntegratedGradients on the
  padded mini-batch, completeness deltas, the values cut to each utterance's real steps.
- Captum on plain PyTorch: the same mini-batches (ll.sequence_batches, padded on the right as
  lstmlab pads them) through torch.nn.LSTM (ll.to_torch, same weights) and torch.nn.Linear, the
  predicted class from one forward pass, then IntegratedGradients(n_steps=64,
  return_convergence_delta=True) with zero baselines.

Both run in this process, interleaved, round after round; the ratio of the medians is printed
with the spread of the per-round ratios. Target: at most 1.2x. The attributions are compared too.
"""

import argparse
import statistics
import time

import numpy as np
import torch
from captum.attr import IntegratedGradients

import lstmlab as ll

TARGET = 1.2


class PlainModel(torch.nn.Module):
    """The network's LSTM and fully connected layer as torch modules: scores of the last (padded) step."""

    def __init__(self, net):
        super().__init__()
        self.lstm = ll.to_torch(net["lstm"])
        self.fc = torch.nn.Linear(100, 9)
        with torch.no_grad():
            self.fc.weight.copy_(net["fc"].weights)
            self.fc.bias.copy_(net["fc"].bias)

    def forward(self, x):
        y, _ = self.lstm(x)  # (B, T, 100)
        return self.fc(y[:, -1])  # (B, 9)


def trained_network():
    X_train, y_train, X_test, _ = ll.datasets.japanese_vowels()
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(12), ll.lstm_layer(100, output_mode="last"), ll.fully_connected_layer(9), ll.softmax_layer()])
    options = ll.training_options("adam", max_epochs=3, mini_batch_size=27, gradient_threshold=1.0, verbose=False, seed=0)
    return ll.trainnet(X_train, y_train, net, "crossentropy", options), X_test


def captum_on_torch(model, X):
    values = [None] * len(X)
    ig = IntegratedGradients(model)
    for b in ll.sequence_batches(X, mini_batch_size=128):
        x = torch.as_tensor(b.x)  # (B, T, 12)
        with torch.no_grad():
            target = model(x).argmax(1)  # (B,)
        a, _ = ig.attribute(x, target=target, n_steps=64, return_convergence_delta=True)
        for row, n in enumerate(b.indices):
            values[n] = a[row][b.mask[row]].numpy()
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    net, X = trained_network()
    model = PlainModel(net).eval()
    runs = {"ll.attribute": lambda: ll.attribute(net, X, steps=64).values, "Captum on torch": lambda: captum_on_torch(model, X)}
    results = {name: run() for name, run in runs.items()}  # warm up, and the answers to compare
    difference = max(np.abs(a - b).max() for a, b in zip(*results.values()))
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    ratio = statistics.median(times["ll.attribute"]) / statistics.median(times["Captum on torch"])
    per_round = sorted(a / b for a, b in zip(*times.values()))
    print(f"Integrated gradients, 64 steps, {len(X)} Japanese Vowels test utterances, median of {rounds} interleaved rounds, {torch.get_num_threads()} torch threads")
    for name, t in times.items():
        print(f"   {name:16s} {statistics.median(t) * 1e3:8.1f} ms")
    verdict = "PASS" if round(ratio, 2) <= TARGET else "over target"
    print(f"   ll.attribute / Captum on torch: {ratio:.2f}x   target <= {TARGET}x  {verdict}   (per round: {per_round[0]:.2f}-{per_round[-1]:.2f}x)")
    print(f"   largest difference between the two attributions: {difference:.1e}")


if __name__ == "__main__":
    main()
