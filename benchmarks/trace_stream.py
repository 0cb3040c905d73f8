"""How fast is a corpus-scale trace, and does its memory stay flat in the length of the text?

Run it from the repository root:

    .venv/bin/python benchmarks/trace_stream.py              # 1e5 (3 rounds) and 1e6 (1 round) characters
    .venv/bin/python benchmarks/trace_stream.py --quick      # 1e5 characters, 3 rounds
    .venv/bin/python benchmarks/trace_stream.py --sizes 10000000 --rounds 1 --dtype float16   # 31 GB of files

What it measures, on the shipped language model (`ll.datasets.python_char_lm()`: embedding, an
LSTM of 256 units, a fully connected layer of 96) reading the training text of
`ll.datasets.python_source()` as one long sequence (repeated when a size asks for more):

    predict   ll.predict(net, [ids], sequence_length=4096): the fused forward pass, in the same chunks
              of 4096 steps as the trace (whole, a sequence of 1e6 steps stops torch's CPU kernel:
              "RuntimeError: could not create a primitive"), the (T, 96) probabilities in NumPy
    trace     ll.trace(net, [ids], out=folder): i, f, g, o, c, h of every unit, float32, streamed to
              disk in chunks of 4096 steps (the files take 6.1 KB per character: 6.1 GB for 1e6,
              which the process never holds in memory at once; --dtype float16 halves them)

Each case runs in a fresh Python process (so that its peak memory is its own), the two cases
interleaved (predict, trace, predict, trace, ...), and the time covers the call alone: not the
import, the model's loading or the encoding of the text. Reported per size: characters per second
(median and the range over rounds), trace time / predict time (of the medians), and the growth of
the peak resident memory during the call (`resource.getrusage` ru_maxrss after minus before).
Target: trace at most 3x predict, and memory flat in the length of the text.

The script always exits 0 (timings never fail CI).
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

TARGET = 3.0
CHUNK = 4096  # time steps per chunk, for both cases


def one_run(case, size, folder, dtype):
    """Run one case in this process and print {seconds, peak_growth_mb} as JSON."""
    import torch

    import lstmlab as ll

    net, vocabulary = ll.datasets.python_char_lm()
    train = ll.datasets.python_source()[0]
    text = (train * (size // len(train) + 1))[:size]
    ids = [vocabulary.encode(text)]  # one sequence of (T,) token ids
    ll.predict(net, [ids[0][:100]])  # warm up torch
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    start = time.perf_counter()
    if case == "predict":
        ll.predict(net, ids, sequence_length=CHUNK)
    else:
        tr = ll.trace(net, ids, out=os.path.join(folder, "trace"), chunk_length=CHUNK, dtype=dtype)
        assert tr.max_error < 1e-4, tr.max_error
    seconds = time.perf_counter() - start
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps({"seconds": seconds, "peak_growth_mb": growth, "threads": torch.get_num_threads()}))


def measure(case, size, dtype):
    folder = tempfile.mkdtemp(prefix="trace_stream_")
    try:
        result = subprocess.run([sys.executable, __file__, "--one", case, str(size), folder, dtype], capture_output=True, text=True, check=True)
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="characters to trace (default 100000 1000000)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per size (default: 3 for 1e5 and less, 1 above)")
    parser.add_argument("--quick", action="store_true", help="1e5 characters, 3 rounds")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="precision of the recording (float16 halves the files)")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run(args.one[0], int(args.one[1]), args.one[2], args.one[3])
        return
    sizes = [100_000] if args.quick else args.sizes or [100_000, 1_000_000]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; recording in {args.dtype}")
    print(f"{'characters':>11} {'case':>8} {'chars/s median':>15} {'range':>21} {'peak growth MB':>15}")
    for size in sizes:
        rounds = 3 if args.quick else args.rounds or (3 if size <= 100_000 else 1)
        runs = {"predict": [], "trace": []}
        for _ in range(rounds):
            for case in runs:
                runs[case].append(measure(case, size, args.dtype))
        for case, results in runs.items():
            rates = [size / r["seconds"] for r in results]
            peak = max(r["peak_growth_mb"] for r in results)
            print(f"{size:>11,} {case:>8} {np.median(rates):>15,.0f} {min(rates):>10,.0f}..{max(rates):<10,.0f} {peak:>15.0f}")
        ratio = np.median([r["seconds"] for r in runs["trace"]]) / np.median([r["seconds"] for r in runs["predict"]])
        print(f"{'':>11} trace / predict = {ratio:.2f}x ({'PASS' if ratio <= TARGET else 'over target'} {TARGET:g}x); torch threads {results[0]['threads']}")


if __name__ == "__main__":
    main()
