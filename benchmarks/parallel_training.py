"""Does training with 2 CPU worker processes beat one process? (`execution_environment="parallel"`)

Run it from the repository root:

    nice -n 10 .venv/bin/python benchmarks/parallel_training.py            # a few minutes
    nice -n 10 .venv/bin/python benchmarks/parallel_training.py --quick    # about a minute

What it measures: one epoch of `ll.trainnet` on random sequences (default 512 sequences of 200
steps, 16 channels, an LSTM with 256 hidden units, output "last", 10 classes, mini-batch 128,
adam), in three set-ups that run interleaved, round after round:

    1 process, 2 threads     execution_environment="cpu", torch.set_num_threads(2)
    1 process, 1 thread      execution_environment="cpu", torch.set_num_threads(1)
    2 workers x 1 thread     execution_environment="parallel", workers=2 (each worker gets the
                             caller's threads / workers = 1 thread)

Two times per run: the wall time of the trainnet call (for the workers: starting them, each
importing torch and lstmlab, and sending the network back), and the time per iteration in
steady state (the median step of the history's `seconds` column, worker 0's clock, the first
iteration left out). The ratios print as time(1 process) / time(2 workers): above 1 means
the workers are faster. The script always exits 0: timings are printed for a reader.
"""

import argparse
import os
import time

import numpy as np
import torch

import lstmlab as ll
from trace_overhead import cpu_name


def data(N, T, C, classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, T, C)).astype(np.float32), rng.integers(0, classes, N)


def layers(C, H, classes):
    return [ll.sequence_input_layer(C), ll.lstm_layer(H, output_mode="last"), ll.fully_connected_layer(classes), ll.softmax_layer()]


def one_run(X, y, args, environment, threads):
    torch.set_num_threads(threads)
    options = ll.training_options(
        "adam", max_epochs=1, mini_batch_size=args.batch, verbose=False, seed=0, execution_environment=environment,
        workers=2 if environment == "parallel" else None,
    )
    start = time.perf_counter()
    net = ll.trainnet(X, y, layers(X.shape[2], args.hidden, args.classes), "crossentropy", options)
    wall = time.perf_counter() - start
    step = float(np.median(np.diff(net.training_history_.seconds.to_numpy())))
    return wall, step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=512)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="256 sequences of 100 steps, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.sequences, args.steps, args.rounds = 256, 100, 2
    X, y = data(args.sequences, args.steps, args.channels, args.classes)
    setups = [("1 process, 2 threads", "cpu", 2), ("1 process, 1 thread", "cpu", 1), ("2 workers x 1 thread", "parallel", 2)]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; torch {torch.__version__}")
    print(f"{args.sequences} sequences x {args.steps} steps x {args.channels} channels, LSTM {args.hidden}, mini-batch {args.batch}, "
          f"{args.sequences // args.batch} iterations per run, {args.rounds} rounds (interleaved)")
    times = {name: [] for name, _, _ in setups}
    for r in range(args.rounds):
        for name, environment, threads in setups[r % 3 :] + setups[: r % 3]:  # the order rotates each round
            times[name].append(one_run(X, y, args, environment, threads))
            wall, step = times[name][-1]
            print(f"  round {r + 1}: {name:22s} wall {wall:6.2f} s, per iteration {step:6.3f} s")
    median = {name: np.median(np.array(t), axis=0) for name, t in times.items()}
    print(f"\n{'set-up':24s}{'wall (s)':>10s}{'iteration (s)':>15s}")
    for name, (wall, step) in median.items():
        print(f"{name:24s}{wall:10.2f}{step:15.3f}")
    workers = median["2 workers x 1 thread"]
    for name in ("1 process, 2 threads", "1 process, 1 thread"):
        wall, step = median[name] / workers
        print(f"speed-up of 2 workers x 1 thread over {name}: per iteration {step:.2f}x, whole call {wall:.2f}x")
    print(f"load at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
