"""What does an intervention cost, next to the clean prediction on torch's fused kernel?

Run it from the repository root:

    .venv/bin/python benchmarks/interventions.py              # cuda if available, else cpu
    .venv/bin/python benchmarks/interventions.py --device cpu
    .venv/bin/python benchmarks/interventions.py --quick      # a fast run, fewer rounds

One batch of B=64 random sequences, T=200 steps, C=12 channels, an LSTM with H=128 hidden units,
float32 (the batch of benchmarks/trace_overhead.py). Every case is ll.predict(net, X,
mini_batch_size=64) on the NumPy array, with:

    baseline        no intervention: torch's fused kernel over every step
    f, all steps    ll.Intervention("lstm", "f", units=5, set=1.0): one unit of one gate set
                    over all steps, so the whole direction runs lstmlab's step loop (target <= 4x)
    f, 10 steps     the same over steps 100..109: the step loop there, the kernel before and after
    patch h, c      h and c of every unit at step 100 taken from another batch (source=X2): the
                    source runs first (kernel to step 100, the loop for that step), then X
    trace, f        ll.trace of the "f, all steps" run, for information

Each is reported as median time / median baseline time, the cases interleaved for several rounds
after warm-up rounds (the helpers of trace_overhead.py), with the p25-p75 spread, the machine, the
torch version and the thread count. The script always exits 0 except for wrong arguments (exit 2).
"""

import sys

import numpy as np
import torch
from trace_overhead import B, C, H, T, describe_device, measure, parse_args, pick_device, print_table

import lstmlab as ll

TARGETS = {"f, all steps": 4.0}


def main(argv=None):
    args = parse_args(argv, __doc__, quick="fewer rounds")
    device = pick_device(args.device)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X, X2 = (rng.standard_normal((B, T, C)).astype(np.float32) for _ in range(2))
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(H)]).to(device)
    every_step = [ll.Intervention("lstm", "f", units=5, set=1.0)]
    ten_steps = [ll.Intervention("lstm", "f", units=5, steps=slice(100, 110), set=1.0)]
    patch = [ll.Intervention("lstm", q, steps=100, source=X2) for q in ("h", "c")]
    predict = lambda interventions=None: ll.predict(net, X, mini_batch_size=B, interventions=interventions)  # noqa: E731
    cases = {
        "baseline": predict,
        "f, all steps": lambda: predict(every_step),
        "f, 10 steps": lambda: predict(ten_steps),
        "patch h, c": lambda: predict(patch),
        "trace, f": lambda: ll.trace(net, X, mini_batch_size=B, interventions=every_step),
    }
    labels = {
        "baseline": "ll.predict, clean (fused kernel)",
        "f, all steps": "f of 1 unit set, all 200 steps",
        "f, 10 steps": "f of 1 unit set, steps 100..109",
        "patch h, c": "h, c patched at step 100 from X2",
        "trace, f": "ll.trace, f of 1 unit set, all steps",
    }
    if device.type == "cuda":  # lstmlab predicts in exact float32 (TF32 off)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    warmup = 1 if args.quick else 3
    print(f"lstmlab interventions: B={B} sequences, T={T} steps, C={C} channels, H={H} hidden units, float32")
    print(f"torch {torch.__version__} | lstmlab {ll.__version__} | device {describe_device(device)} | "
          f"torch.get_num_threads() = {torch.get_num_threads()}")
    print(f"{args.repeats} interleaved rounds after {warmup} warm-up rounds; ratio = median / median of the baseline")
    times = measure(cases, device, args.repeats, warmup)
    print_table("Intervened predictions against the clean fused prediction", times, labels, TARGETS)

    recorded = cases["trace, f"]()
    clean, changed = predict(), predict(every_step)
    print(f"  checks: trace max_error {recorded.max_error:.1e}; f of unit 5 is 1 everywhere: "
          f"{bool(np.all(recorded['lstm'].f[..., 5] == 1))}; |clamped - clean| up to {np.abs(changed - clean).max():.2f}; "
          f"computed by: {recorded['lstm'].computed_by['forward']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
