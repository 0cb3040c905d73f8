"""What does batching cost, next to training? And how much padding does each choice add?

Run it from the repository root:

    .venv/bin/python benchmarks/batching.py            # about 15 s
    .venv/bin/python benchmarks/batching.py --quick    # about 4 s

What it measures, on the Japanese Vowels training set (270 utterances, 12 channels, lengths 7-26)
with MATLAB's Japanese Vowels recipe (mini-batch 27, an LSTM with 100 hidden units, output "last"):

    batching   one epoch of ll.sequence_batches (shuffled every epoch): checking the data,
               forming, padding and converting each mini-batch to a torch tensor
    training   one epoch of training on those mini-batches: forward, cross-entropy, backward,
               gradient clipping at norm 1, an Adam step (batching included)

The two run interleaved for several rounds; the ratio of their medians is printed, with the
target: batching < 5% of an epoch. A second table counts, for each batching option, how many
padded and discarded time steps one epoch holds (from ll.batch_summary).

The script always exits 0: timings are printed for a reader and never fail CI.
"""

import argparse
import time

import numpy as np
import torch

import lstmlab as ll


def one_epoch_of_batching(X, y, epoch):
    for b in ll.sequence_batches(X, y, mini_batch_size=27, shuffle="every-epoch", seed=0, epoch=epoch):
        torch.as_tensor(b.x), torch.as_tensor(b.y)


def trainer(X, y):
    torch.manual_seed(0)
    net = ll.Network([ll.sequence_input_layer(12), ll.lstm_layer(100, output_mode="last"), ll.fully_connected_layer(9), ll.softmax_layer()])
    solver = ll.Solver(net, "adam")

    def one_epoch_of_training(epoch):
        for b in ll.sequence_batches(X, y, mini_batch_size=27, shuffle="every-epoch", seed=0, epoch=epoch):
            scores = net(torch.as_tensor(b.x))
            loss = torch.nn.functional.nll_loss(scores.log(), torch.as_tensor(b.y))
            solver.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            solver.step()

    return one_epoch_of_training


def measure(X, y, rounds):
    train = trainer(X, y)
    times = {"batching": [], "training": []}
    one_epoch_of_batching(X, y, 0), train(0)  # warm up
    for epoch in range(1, rounds + 1):
        for name, run in (("batching", lambda: one_epoch_of_batching(X, y, epoch)), ("training", lambda: train(epoch))):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def padding_table(X):
    print("\nPadding and truncation in one epoch (mini-batch 27; the data hold", sum(len(x) for x in X), "real steps)")
    print(f"  {'options':52s} {'padded':>8s} {'discarded':>10s}")
    choices = [
        ("longest, right (MATLAB's default)", {}),
        ("longest, sorted by length", {"sort_by_length": True}),
        ("shortest", {"sequence_length": "shortest"}),
        ("shortest, sorted by length", {"sequence_length": "shortest", "sort_by_length": True}),
        ("split into chunks of 10", {"sequence_length": 10}),
    ]
    for label, options in choices:
        summary = ll.batch_summary(X, mini_batch_size=27, **options)
        print(f"  {label:52s} {summary.padded_steps.sum():8d} {summary.discarded_steps.sum():10d}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 25")
    args = parser.parse_args()
    X, y, _, _ = ll.datasets.japanese_vowels()
    codes = y.codes.astype(np.int64)
    rounds = 5 if args.quick else 25
    print(f"lstmlab batching cost: Japanese Vowels training set, {len(X)} sequences, mini-batch 27")
    print(f"torch {torch.__version__} | torch.get_num_threads() = {torch.get_num_threads()} | {rounds} interleaved rounds")
    t = measure(X, codes, rounds)
    ratio = t["batching"] / t["training"]
    print(f"\n  one epoch of batching    {t['batching'] * 1e3:7.2f} ms")
    print(f"  one epoch of training    {t['training'] * 1e3:7.2f} ms")
    print(f"  batching / training      {ratio:7.1%}   target < 5%  {'PASS' if ratio < 0.05 else 'over target'}")
    padding_table(X)


if __name__ == "__main__":
    main()
