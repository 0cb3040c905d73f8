"""How much does lstmlab cost on top of a plain torch.nn.LSTM?

Run it from the repository root:

    .venv/bin/python benchmarks/trace_overhead.py              # cuda if available, else cpu
    .venv/bin/python benchmarks/trace_overhead.py --device cpu
    .venv/bin/python benchmarks/trace_overhead.py --quick      # a fast run, fewer rounds
    .venv/bin/python benchmarks/trace_overhead.py --repeats 30
    .venv/bin/python benchmarks/trace_overhead.py --device cpu --one-thread --cpu-time   # a shared machine

What it measures, on one batch of B=64 random sequences, T=200 steps, C=12 channels, an LSTM with
H=128 hidden units, float32:

    baseline   torch.nn.LSTM(batch_first=True) forward under torch.inference_mode(), the input
               already a tensor on the device (the same weights, from ll.to_torch)
    predict    ll.predict(net, X, mini_batch_size=64): X is the NumPy array, as a user passes it,
               so the time includes checking, copying to the device and back to NumPy
    trace      ll.trace(net, X, mini_batch_size=64): records i, f, g, o, c, h at every step (on a
               CPU lstmlab's compiled step loop records as it runs; elsewhere torch's kernel runs
               and the gates are recomputed from its h: the table says which)
    naive      for reference, the obvious way to record: a Python loop over time that computes
               one LSTMCell step at a time and keeps i, f, g, o, c, h of each step
    floor      the kernel's forward pass and then the one matrix product that gives every
               pre-activation, z = [x_t, h_{t-1}] [W R]^T + b: the least that the recomputing way
               of recording (run the kernel, then recompute the gates from its h and check them
               against it) must do, before any activation, scan or copy

Each is reported as a ratio to the baseline (median time / median baseline time). Targets:
predict <= 1.1x, trace <= 2x. A sweep then times predict and trace against the baseline at other
shapes (B 1-256, T 50-1000, H 32-512; `SHAPES`), and on a CPU the two ways a trace can run, each
forced (recorded by the compiled loop; torch's kernel and then the recomputing product), which is
how `LSTMLayer.fast_way` chooses between them (loop_kernel.ROWS_PER_THREAD sequences per thread, or
one thread in float32).
The trace target holds where the forward pass takes 10 ms or more; below, fixed costs dominate. A second table runs the same for non-default activations (e.g. a
hard-sigmoid gate), where lstmlab runs its step-by-step loop instead of the fused kernel:
targets predict <= 2x, trace <= 3x.

Shared machines are noisy, so: everything is warmed up first, then the cases run interleaved
(baseline, predict, trace, naive, baseline, ...) for several rounds, and medians are compared.
The thread count is torch's default (printed), or one with --one-thread; --cpu-time times this
process's CPU time instead of the wall clock, which other processes on a shared machine disturb
less (use it with one thread: waiting threads may spin). On CUDA every timing synchronizes the
device before starting and before stopping the clock, and TF32 is off for every case, since
lstmlab computes in exact float32.

The script always exits 0 (timings never fail CI) except for wrong arguments (exit 2).
"""

import argparse
import platform
import sys
import time

import numpy as np
import torch

import lstmlab as ll
from lstmlab.layers.recurrent import FUSED, RECORDING

B, T, C, H = 64, 200, 12, 128  # sequences, time steps, channels, hidden units
SHAPES = [(1, 200, 128), (8, 200, 128), (16, 200, 128), (32, 200, 128), (64, 200, 128), (256, 200, 128),  # (B, T, H): one
          (64, 50, 128), (64, 1000, 128), (64, 200, 32), (64, 200, 512), (8, 1000, 512)]  # dimension at a time, and a corner
QUICK_SHAPES = [(1, 200, 128), (64, 200, 128), (64, 200, 512)]
CLOCK = time.perf_counter  # main's --cpu-time: time.process_time
TARGETS = {"predict": 1.1, "trace": 2.0}
LOOP_TARGETS = {"predict": 2.0, "trace": 3.0}  # non-default activations: lstmlab's step loop
OTHER_ACTIVATIONS = [  # (label, lstm_layer options); the first one also runs with --quick
    ("gate hard-sigmoid", {"gate_activation_function": "hard-sigmoid"}),
    ("state softsign", {"state_activation_function": "softsign"}),
]


# --- command line --------------------------------------------------------------------------------


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def parse_args(argv=None, description=__doc__, quick="fewer rounds and one non-default activation", flags=()):
    """--device, --repeats and --quick, shared by the benchmarks that time against plain PyTorch;
    flags: more (option, help) pairs of a benchmark's own, each True when given."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available, else cpu")
    parser.add_argument("--repeats", type=positive_int, help="timed rounds per table (default 15, or 5 with --quick)")
    parser.add_argument("--quick", action="store_true", help=quick)
    for flag, text in flags:
        parser.add_argument(flag, action="store_true", help=text)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 5 if args.quick else 15
    return args


def pick_device(requested):
    """The torch.device to run on; exits with status 2 when cuda is asked for but missing."""
    if requested is None:
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        print(f"error: --device cuda was asked for, but torch {torch.__version__} sees no CUDA device; "
              "use --device cpu or run on a GPU machine.", file=sys.stderr)
        sys.exit(2)
    return torch.device(requested)


def describe_device(device):
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({cpu_name()})"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# --- what is timed -------------------------------------------------------------------------------


def make_network(device, hidden=H, **lstm_options):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(hidden, **lstm_options)])
    return net.to(device)


def make_baseline(net):
    """The forward pass of a torch.nn.LSTM holding the network's weights, as a function of x."""
    module = ll.to_torch(net["lstm"]).to(net["lstm"].input_weights.device).eval()

    def forward(x):
        with torch.inference_mode():
            return module(x)[0]

    return forward


def naive_recording(net):
    """The obvious recorder: an LSTMCell step in a Python loop, keeping every gate of every step."""
    layer = net["lstm"]
    W, R, b = layer.input_weights, layer.recurrent_weights, layer.bias

    def record(x):  # x (B, T, C) tensor
        with torch.inference_mode():
            h = x.new_zeros(x.shape[0], H)
            c = x.new_zeros(x.shape[0], H)
            steps = {q: [] for q in ("i", "f", "g", "o", "c", "h")}
            for t in range(x.shape[1]):
                z = x[:, t] @ W.T + h @ R.T + b  # (B, 4H)
                i, f, g, o = z.chunk(4, dim=1)
                i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
                c = f * c + i * g
                h = o * torch.tanh(c)
                for q, value in zip(steps, (i, f, g, o, c, h)):
                    steps[q].append(value)
            # (B, T, H) NumPy arrays, as ll.trace returns them
            return {q: torch.stack(values, dim=1).cpu().numpy() for q, values in steps.items()}

    return record


def recompute_floor(net):
    """The least a recording that checks itself against the kernel can do: the kernel's forward
    pass for h, then one matrix product for every pre-activation, z = [x_t, h_{t-1}] [W R]^T + b."""
    layer, forward = net["lstm"], make_baseline(net)
    WR = torch.cat([layer.input_weights, layer.recurrent_weights], dim=1).detach()  # (4H, C+H)
    b = layer.bias.detach()

    def run(x):  # x (B, T, C) tensor
        with torch.inference_mode():
            h = forward(x)  # (B, T, H)
            h_before = torch.cat([h.new_zeros(len(h), 1, H), h[:, :-1]], dim=1)  # h_{t-1}
            return torch.addmm(b, torch.cat([x, h_before], dim=2).view(-1, C + H), WR.T)  # (B*T, 4H)

    return run


# --- timing --------------------------------------------------------------------------------------


def time_once(fn, device):
    """Seconds for one call of fn(), with the GPU (if any) idle before and done after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = CLOCK()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return CLOCK() - start


def measure(cases, device, rounds, warmup):
    """Run every case once per round, interleaved, after `warmup` untimed rounds.

    cases: {name: function of no arguments}. Returns {name: [seconds, ...]}.
    The order rotates each round, so that no case always runs just after the same other one.
    """
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    times = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(time_once(cases[name], device))
    return times


# --- reporting -----------------------------------------------------------------------------------


def verdict(ratio, target):
    """PASS or over target, judged on the ratio as printed (two decimals)."""
    if target is None:
        return ""
    return f"<= {target:g}x  " + ("PASS" if round(ratio, 2) <= target else "over target")


def print_table(title, times, labels, targets):
    """One row per case: median, quartiles, ratio of medians to the baseline, target."""
    base = np.median(times["baseline"])
    print(f"\n{title}")
    print(f"  {'':38s} {'median':>9s} {'p25-p75 (ms)':>15s} {'ratio':>8s}   target")
    for name, label in labels.items():
        t = np.array(times[name]) * 1e3
        ratio = np.median(t) / (base * 1e3)
        quartiles = f"{np.percentile(t, 25):.1f}-{np.percentile(t, 75):.1f}"
        line = f"  {label:38s} {np.median(t):7.1f}ms {quartiles:>15s} {ratio:7.2f}x   {verdict(ratio, targets.get(name))}"
        print(line.rstrip())


def default_table(device, X, x, rounds, warmup):
    """The main table: baseline, predict, trace and the naive loop, then checks that they agree."""
    net = make_network(device)
    baseline, naive, floor = make_baseline(net), naive_recording(net), recompute_floor(net)
    cases = {
        "baseline": lambda: baseline(x),
        "predict": lambda: ll.predict(net, X, mini_batch_size=B),
        "trace": lambda: ll.trace(net, X, mini_batch_size=B),
        "naive": lambda: naive(x),
        "floor": lambda: floor(x),
    }
    times = measure(cases, device, rounds, warmup)
    labels = {
        "baseline": "nn.LSTM forward (baseline)",
        "predict": "ll.predict (untraced)",
        "trace": "ll.trace (i, f, g, o, c, h)",
        "naive": "naive recording loop (reference)",
        "floor": "nn.LSTM + the recomputing product",
    }
    print_table("Default activations (sigmoid, tanh)", times, labels, TARGETS)

    y_torch = baseline(x).cpu().numpy()
    tr = ll.trace(net, X, mini_batch_size=B)
    print(f"  ll.trace ran: {tr['lstm'].computed_by['forward']}")
    print(f"  checks: trace max_error {tr.max_error:.1e}; |trace h - nn.LSTM| {np.abs(tr['lstm'].h - y_torch).max():.1e}; "
          f"|predict - nn.LSTM| {np.abs(ll.predict(net, X, mini_batch_size=B) - y_torch).max():.1e}; "
          f"|naive h - nn.LSTM| {np.abs(naive(x)['h'] - y_torch).max():.1e}")


def activations_table(device, X, x, rounds, warmup, variants):
    """predict and trace for each (label, options) in variants, against the same baseline."""
    baseline = make_baseline(make_network(device))
    cases, labels, errors, targets = {"baseline": lambda: baseline(x)}, {"baseline": "nn.LSTM forward (baseline)"}, [], {}
    for label, options in variants:
        net = make_network(device, **options)
        cases[f"predict {label}"] = lambda net=net: ll.predict(net, X, mini_batch_size=B)
        cases[f"trace {label}"] = lambda net=net: ll.trace(net, X, mini_batch_size=B)
        labels[f"predict {label}"] = f"ll.predict, {label}"
        labels[f"trace {label}"] = f"ll.trace, {label}"
        targets |= {f"predict {label}": LOOP_TARGETS["predict"], f"trace {label}": LOOP_TARGETS["trace"]}
        errors.append(f"{label} {ll.trace(net, X, mini_batch_size=B).max_error:.1e}")
    times = measure(cases, device, rounds, warmup)
    print_table("Non-default activations (lstmlab's step loop)", times, labels, targets)
    print(f"  checks: trace max_error: {'; '.join(errors)}")


def forced(way, fn):
    """fn() with every LSTM layer recording `way` (RECORDING or FUSED) where a recording is wanted,
    whatever `LSTMLayer.fast_way` would choose."""
    from lstmlab.layers.lstm import LSTMLayer

    def run():
        chooses = LSTMLayer.fast_way
        LSTMLayer.fast_way = lambda self, x, states, record=False: way if record else chooses(self, x, states, record)
        try:
            return fn()
        finally:
            LSTMLayer.fast_way = chooses

    return run


def sweep_table(device, shapes, rounds, warmup):
    """predict and trace against the fused forward at each (B, T, H), with torch's activations; on a
    CPU also the two ways of tracing, each forced: recorded by the compiled loop, and torch's kernel
    then the recomputing product. The two columns show where `LSTMLayer.fast_way`'s choice pays."""
    cpu = device.type == "cpu"
    print("\nSweep: ratio = median / median of the nn.LSTM forward at the same shape (torch's activations)")
    head = f"  {'B':>4s} {'T':>5s} {'H':>4s} {'forward':>9s} {'predict':>8s} {'trace':>7s}"
    print(head + (f" {'recorded':>9s} {'recomputed':>11s}   trace ran" if cpu else "   trace ran"))
    rng = np.random.default_rng(0)
    for b, t, h in shapes:
        torch.manual_seed(0)
        net = make_network(device, hidden=h)
        X = rng.standard_normal((b, t, C)).astype(np.float32)
        x = torch.from_numpy(X).to(device)
        baseline = make_baseline(net)
        cases = {
            "baseline": lambda: baseline(x),
            "predict": lambda: ll.predict(net, X, mini_batch_size=b),
            "trace": lambda: ll.trace(net, X, mini_batch_size=b),
        }
        if cpu:
            cases["recorded"] = forced(RECORDING, cases["trace"])
            cases["recomputed"] = forced(FUSED, cases["trace"])
        times = {name: np.median(values) for name, values in measure(cases, device, rounds, warmup).items()}
        ratios = " ".join(f"{times[name] / times['baseline']:{width}.2f}x" for name, width in
                          (("predict", 7), ("trace", 6), ("recorded", 8), ("recomputed", 10)) if name in times)
        ran = ll.trace(net, X[: min(b, 64)], mini_batch_size=b)["lstm"].computed_by["forward"].split(",")[0]
        print(f"  {b:4d} {t:5d} {h:4d} {times['baseline'] * 1e3:7.1f}ms {ratios}   {ran}", flush=True)


def main(argv=None):
    global CLOCK
    args = parse_args(argv, flags=[("--one-thread", "torch.set_num_threads(1): B sequences are B rows per thread"),
                                   ("--cpu-time", "time this process's CPU time, steadier than the wall clock on a shared machine")])
    device = pick_device(args.device)
    if args.one_thread:
        torch.set_num_threads(1)
    if args.cpu_time:
        CLOCK = time.process_time
    torch.manual_seed(0)
    X = np.random.default_rng(0).standard_normal((B, T, C)).astype(np.float32)  # what a user has
    x = torch.from_numpy(X).to(device)  # what the baseline gets: already a tensor on the device
    warmup = 1 if args.quick else 3
    if device.type == "cuda":
        # lstmlab predicts and traces in exact float32 (TF32 off); the baseline and the naive
        # loop do the same arithmetic, so that only the overhead differs
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    print(f"lstmlab trace overhead: B={B} sequences, T={T} steps, C={C} channels, H={H} hidden units, float32")
    print(f"torch {torch.__version__} | lstmlab {ll.__version__} | device {describe_device(device)} | "
          f"torch.get_num_threads() = {torch.get_num_threads()}")
    rounds = "round" if warmup == 1 else "rounds"
    clock = "this process's CPU time" if args.cpu_time else "wall clock"
    print(f"{args.repeats} interleaved rounds after {warmup} warm-up {rounds}, {clock}; ratio = median / median of the baseline")

    default_table(device, X, x, args.repeats, warmup)
    sweep_table(device, QUICK_SHAPES if args.quick else SHAPES, max(3, args.repeats // 2), 1)
    variants = OTHER_ACTIVATIONS[:1] if args.quick else OTHER_ACTIVATIONS
    activations_table(device, X, x, args.repeats, warmup, variants)
    return 0


if __name__ == "__main__":
    sys.exit(main())
