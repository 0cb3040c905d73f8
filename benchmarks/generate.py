"""How much does `ll.generate` cost on top of a plain torch sampling loop?

Run it from the repository root:

    .venv/bin/python benchmarks/generate.py              # 500 characters, 7 rounds, on the CPU
    .venv/bin/python benchmarks/generate.py --quick      # 3 rounds
    .venv/bin/python benchmarks/generate.py --repeats 15 --length 200
    .venv/bin/python benchmarks/generate.py --cpu-time   # a shared machine: this process's CPU time

Both write `length` characters after the same prompt with the shipped character language model
(`ll.datasets.python_char_lm()`: word embedding -> LSTM of 256 units -> fully connected -> softmax),
the same weights, seed and sampling rule (`lstmlab.text.generation._sample`, p ** (1 / temperature)):

    torch      the network rebuilt from plain torch: its embedding table, `ll.to_torch(net["lstm"])`
               (a torch.nn.LSTM) and its fully connected weights, stepped one character at a time
               under torch.inference_mode(), the state kept in tensors
    generate   `ll.generate(net, vocabulary, prompt, length, seed=...)`, which calls an
               `ll.Stepper` once per character

One torch thread by default (--threads): one step of one sequence is too small to share, and on
a busy machine a second thread makes it slower. They run interleaved (torch, generate, torch, ...) after a warm-up, and the ratio of medians is
printed. Target: generate <= 1.5x. The script checks that both wrote the same text, and always
exits 0 (timings never fail CI) except for wrong arguments (exit 2).
"""

import argparse
import time

import numpy as np
import torch

import lstmlab as ll
from lstmlab.text.generation import _sample

PROMPT = "def "
TARGET = 1.5


def torch_generate(net, vocabulary, prompt, length, seed, temperature=1.0):
    """The sampling loop of `ll.generate` in plain torch: embedding, nn.LSTM, linear, softmax."""
    embedding = net["embedding"].weights.detach().T  # (V, E): row k is id k + 1
    lstm = ll.to_torch(net["lstm"]).eval()
    W, b = net["fc"].weights.detach(), net["fc"].bias.detach()  # (V, H), (V,)
    rng = np.random.default_rng(seed)
    with torch.inference_mode():
        ids = torch.as_tensor(vocabulary.encode(prompt)).long()  # (P,)
        h, state = lstm(embedding[ids - 1][None])  # (1, P, H)
        written = []
        for k in range(length):
            p = torch.softmax(h[0, -1] @ W.T + b, -1)  # (V,)
            code = _sample(p.numpy(), temperature, rng)
            written.append(code + 1)
            if k + 1 < length:
                h, state = lstm(embedding[code][None, None], state)  # (1, 1, H)
    return vocabulary.decode(written)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7, 3 with --quick)")
    parser.add_argument("--length", type=int, default=500, help="characters written per round (default 500)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one step is too small to share)")
    parser.add_argument("--cpu-time", action="store_true", help="time this process's CPU time, steadier than the wall clock on a shared machine")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else args.repeats
    net, vocabulary = ll.datasets.python_char_lm()
    cases = {
        "torch": lambda: torch_generate(net, vocabulary, PROMPT, args.length, seed=0),
        "generate": lambda: ll.generate(net, vocabulary, PROMPT, args.length, seed=0),
    }
    texts = {name: run() for name, run in cases.items()}  # warm-up
    times = {name: [] for name in cases}
    clock = time.process_time if args.cpu_time else time.perf_counter
    for _ in range(repeats):
        for name, run in cases.items():
            start = clock()
            run()
            times[name].append(clock() - start)
    base = np.median(times["torch"])
    ratio = np.median(times["generate"]) / base
    print(f"{args.length} characters, {repeats} rounds, torch threads {torch.get_num_threads()}, {'CPU time' if args.cpu_time else 'wall clock'}")
    print(f"  plain torch loop   {base * 1e3:8.1f} ms   {base / args.length * 1e6:6.0f} us per character")
    print(f"  ll.generate        {np.median(times['generate']) * 1e3:8.1f} ms   ratio {ratio:.2f}x "
          f"({'PASS' if ratio <= TARGET else 'over target'} <= {TARGET}x)")
    print(f"  same text: {texts['torch'] == texts['generate']}")


if __name__ == "__main__":
    main()
