"""A projected LSTM against the LSTM it compresses, on Japanese Vowels: accuracy and learnables.

Run it from the repository root:

    .venv/bin/python benchmarks/projected_layer.py            # 3 seeds, 70 epochs: 30 trainings, about 4 minutes on 1 thread
    .venv/bin/python benchmarks/projected_layer.py --quick    # 1 seed, 5 epochs: a smoke test

The recipe of MATLAB's Japanese Vowels example (benchmarks/japanese_vowels.py): sequence input
(12) -> recurrent layer (100 hidden units, output "last") -> fully connected (9) -> softmax;
Adam, mini-batch 27, 70 epochs, gradient threshold 1; test predictions in mini-batches of 27.
The recurrent layer is an ll.lstm_layer(100), an ll.lstm_projected_layer(100, Po, Pi), or an
ll.lstm_layer(54) with about as many learnables as the (100, 25, 4) projected layer. Each
network is trained from the same seeds, once as the recipe has it (no input normalization) and
once with lstmlab's z-score input normalization. Every row is printed; none is chosen on the test
set.
"""

import argparse
import statistics
import time

import numpy as np
import torch

import lstmlab as ll
from japanese_vowels import RECIPE, network

MODELS = {  # label -> the recurrent layer
    "lstm_layer(100)": lambda: ll.lstm_layer(100, output_mode="last"),
    # projectors of 0.75 H and 0.25 C: the fractions of MATLAB's own projected-LSTM example (not in the seed pages)
    "lstm_projected_layer(100, 75, 3)": lambda: ll.lstm_projected_layer(100, 75, 3, output_mode="last"),
    "lstm_projected_layer(100, 25, 4)": lambda: ll.lstm_projected_layer(100, 25, 4, output_mode="last"),
    "lstm_projected_layer(100, 25, 8)": lambda: ll.lstm_projected_layer(100, 25, 8, output_mode="last"),
    # the other way to save weights: fewer hidden units, about as many learnables as (100, 25, 4)
    "lstm_layer(54)": lambda: ll.lstm_layer(54, output_mode="last"),
}


def run(make, normalization, seed, data, epochs):
    """Train one network from a seed; return (test accuracy, learnables of the recurrent layer, of the network, seconds)."""
    X_train, y_train, X_test, y_test = data
    torch.manual_seed(seed)
    net = network(normalization=normalization, recurrent=make())
    options = ll.training_options("adam", **{**RECIPE, "max_epochs": epochs}, seed=seed, execution_environment="cpu")
    start = time.perf_counter()
    net = ll.trainnet(X_train, y_train, net, "crossentropy", options)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(np.asarray(ll.classify(net, X_test, mini_batch_size=27)) == np.asarray(y_test)))
    recurrent = sum(p.numel() for p in net.layers[1].parameters())
    total = sum(p.numel() for p in net.parameters())
    return accuracy, recurrent, total, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 5 epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds, epochs = ([0], 5) if args.quick else ([0, 1, 2], RECIPE["max_epochs"])
    data = ll.datasets.japanese_vowels()
    print(f"Japanese Vowels: {len(data[0])} training and {len(data[2])} test utterances; {epochs} epochs, seeds {seeds}")
    print(f"torch {torch.__version__} | cpu | torch.get_num_threads() = {torch.get_num_threads()}")
    print(f"\n{'recurrent layer':34s} {'input':7s} {'layer learnables':>16s} {'network':>8s}   test accuracy per seed   median   s/run")
    for normalization in ("none", "zscore"):
        for label, make in MODELS.items():
            results = [run(make, normalization, seed, data, epochs) for seed in seeds]
            accuracies = [r[0] for r in results]
            per_seed = " ".join(f"{a:.4f}" for a in accuracies)
            seconds = statistics.mean(r[3] for r in results)
            print(f"{label:34s} {normalization:7s} {results[0][1]:16,d} {results[0][2]:8,d}   {per_seed:22s}   {statistics.median(accuracies):.4f}  {seconds:6.1f}", flush=True)


if __name__ == "__main__":
    main()
