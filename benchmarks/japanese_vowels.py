"""MATLAB's Japanese Vowels result, reproduced: accuracy over seeds, and trainnet's speed.

Run it from the repository root:

    .venv/bin/python benchmarks/japanese_vowels.py            # about 2 minutes on 2 CPU cores
    .venv/bin/python benchmarks/japanese_vowels.py --quick    # 1 seed, fewer epochs: a smoke test

1. The recipe of the Japanese Vowels example on MATLAB's sequenceInputLayer reference page:
   sequence input (12) -> LSTM (100 hidden units, output "last") -> fully connected (9) ->
   softmax; Adam, mini-batch 27, 70 epochs, gradient threshold 1, all other options at their
   defaults; test predictions in mini-batches of 27. MATLAB reports a test accuracy of 0.9514.
   Printed: the test accuracy of 5 seeds, their median, and the time.
2. trainnet against a hand-written PyTorch loop doing the same work (the same mini-batches,
   torch.nn.LSTM + Linear, cross-entropy, per-parameter gradient clipping at norm 1, Adam with
   L2 1e-4 on the weights), interleaved epoch by epoch in this process. Target: at most 1.1x (the ratio of the medians;
   the spread of the per-round ratios is printed too).
3. lstmlab's own options on top of the recipe (z-score input normalization, left padding, frozen
   padding, a BiLSTM), each over the same 5 seeds. Nothing is chosen on the test set: every
   variant is reported, none is picked.

On a CUDA machine it runs on the GPU (execution_environment "auto"); --device cpu forces the CPU.
"""

import argparse
import statistics
import time

import numpy as np
import torch

import lstmlab as ll
from lstmlab.training import choose_device

RECIPE = {"max_epochs": 70, "mini_batch_size": 27, "gradient_threshold": 1.0, "verbose": False}
MATLAB_ACCURACY = 0.9514


def network(hidden=100, bidirectional=False, normalization="none", recurrent=None):
    """The recipe's network; `recurrent` replaces its LSTM layer (benchmarks/projected_layer.py)."""
    recurrent = recurrent or (ll.bilstm_layer if bidirectional else ll.lstm_layer)(hidden, output_mode="last")
    return ll.Network([ll.sequence_input_layer(12, normalization=normalization), recurrent, ll.fully_connected_layer(9), ll.softmax_layer()])


def accuracy(seed, data, device, epochs, variant=None):
    """Train the recipe (with a variant's changes) from a seed; return test accuracy and seconds."""
    variant = variant or {}
    X_train, y_train, X_test, y_test = data
    torch.manual_seed(seed)
    net = network(bidirectional=variant.get("bidirectional", False), normalization=variant.get("normalization", "none"))
    padding = {k: variant[k] for k in ("sequence_padding_direction", "freeze_padding") if k in variant}
    options = ll.training_options("adam", **{**RECIPE, "max_epochs": epochs}, seed=seed, execution_environment=device, **padding)
    start = time.perf_counter()
    net = ll.trainnet(X_train, y_train, net, "crossentropy", options)
    seconds = time.perf_counter() - start
    predicted = ll.classify(net, X_test, mini_batch_size=27, **padding)
    return float(np.mean(np.asarray(predicted) == np.asarray(y_test))), seconds


def recipe_table(data, device, seeds, epochs):
    print(f"\n1. MATLAB's recipe, {epochs} epochs, {len(seeds)} seeds (MATLAB: {MATLAB_ACCURACY})")
    results = [accuracy(seed, data, device, epochs) for seed in seeds]
    for seed, (acc, seconds) in zip(seeds, results):
        print(f"   seed {seed}: test accuracy {acc:.4f}   training {seconds:5.1f} s")
    median = statistics.median(acc for acc, _ in results)
    verdict = "PASS" if median >= MATLAB_ACCURACY else "below MATLAB's"
    print(f"   median test accuracy {median:.4f}  (MATLAB {MATLAB_ACCURACY})  {verdict}")
    return median


def hand_written_loop(data, device):
    """One epoch of the same work in plain PyTorch, with the same mini-batches."""
    X_train, y_train, _, _ = data
    codes = np.asarray(y_train.codes, dtype=np.int64)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(12, 100, batch_first=True).to(device)
    fc = torch.nn.Linear(100, 9).to(device)
    weights = [lstm.weight_ih_l0, lstm.weight_hh_l0, fc.weight]
    biases = [lstm.bias_ih_l0, lstm.bias_hh_l0, fc.bias]
    optimizer = torch.optim.Adam([{"params": weights, "weight_decay": 1e-4}, {"params": biases, "weight_decay": 0.0}], lr=0.001)

    def epoch(k):
        for b in ll.sequence_batches(X_train, codes, mini_batch_size=27, shuffle="once", seed=0, epoch=k):
            x, y = torch.as_tensor(b.x, device=device), torch.as_tensor(b.y, device=device)
            scores = fc(lstm(x)[0][:, -1])
            loss = torch.nn.functional.cross_entropy(scores, y)
            optimizer.zero_grad()
            loss.backward()
            for p in weights + biases:
                torch.nn.utils.clip_grad_norm_(p, 1.0)
            optimizer.step()

    return epoch


def speed_table(data, device, rounds):
    X_train, y_train, _, _ = data
    torch.manual_seed(0)
    net = network()
    one_epoch = ll.training_options("adam", **{**RECIPE, "max_epochs": 1}, seed=0, execution_environment=device)
    torch_device = choose_device(device)  # execution_environment "gpu" is torch's "cuda"
    manual = hand_written_loop(data, torch_device)
    times = {"trainnet": [], "PyTorch loop": []}
    runs = {"trainnet": lambda k: ll.trainnet(X_train, y_train, net, "crossentropy", one_epoch), "PyTorch loop": manual}
    for name in runs:
        runs[name](0)  # warm up
    for k in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run(k)
            if torch_device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    ratio = statistics.median(times["trainnet"]) / statistics.median(times["PyTorch loop"])
    per_round = sorted(a / b for a, b in zip(times["trainnet"], times["PyTorch loop"]))
    print(f"\n2. One epoch (10 iterations of 27 sequences), median of {rounds} interleaved rounds, {torch.get_num_threads()} torch threads")
    for name, t in times.items():
        print(f"   {name:14s} {statistics.median(t) * 1e3:7.1f} ms")
    print(f"   trainnet / PyTorch loop: {ratio:.2f}x   target <= 1.1x  {'PASS' if round(ratio, 2) <= 1.1 else 'over target'}"
          f"   (per round: {per_round[0]:.2f}-{per_round[-1]:.2f}x)")


def variants_table(data, device, seeds, epochs):
    variants = {
        "z-score input normalization": {"normalization": "zscore"},
        "left padding": {"sequence_padding_direction": "left"},
        "frozen padding": {"freeze_padding": True},
        "BiLSTM (100 units each way)": {"bidirectional": True},
    }
    print(f"\n3. lstmlab's options on top of the recipe, {len(seeds)} seeds each (every variant shown; none chosen on the test set)")
    for label, variant in variants.items():
        accs = [accuracy(seed, data, device, epochs, variant)[0] for seed in seeds]
        print(f"   {label:30s} median {statistics.median(accs):.4f}   (min {min(accs):.4f}, max {max(accs):.4f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 10 epochs, 5 timing rounds")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto")
    args = parser.parse_args()
    device = "cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu"
    environment = "gpu" if device == "cuda" else "cpu"
    data = ll.datasets.japanese_vowels()
    seeds, epochs, rounds = ([0], 10, 5) if args.quick else ([0, 1, 2, 3, 4], 70, 15)
    print(f"Japanese Vowels: {len(data[0])} training and {len(data[2])} test utterances")
    print(f"torch {torch.__version__} | device {device} | torch.get_num_threads() = {torch.get_num_threads()}")
    recipe_table(data, environment, seeds, epochs)
    speed_table(data, environment, rounds)
    variants_table(data, environment, seeds, epochs)


if __name__ == "__main__":
    main()
