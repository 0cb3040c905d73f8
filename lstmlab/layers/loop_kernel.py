"""The LSTM step loop in C++, for the steps that need no gradient: compiled once, on first use.

`LSTMLayer._loop` (lstm.py) is the truth: the equations in torch, one line each, one step after
the other. It runs whenever the gate or state activation is not torch's (a hard-sigmoid gate, a
softsign or relu state), and in Python each step costs about ten small torch calls on top of its
matrix product. For predictions, `ll.trace`'s forward pass and the stateful calls, where no
gradient is needed and no intervention acts, this module runs the very same steps in C++ (the
source is `SOURCE` below, in the same notation), close to the speed of torch's fused kernel.

The C++ is compiled with `torch.utils.cpp_extension.load_inline` the first time it is needed
(about 10 s on two cores) and kept by torch in its extensions folder (~/.cache/torch_extensions,
or $TORCH_EXTENSIONS_DIR), so that later processes only load it (a fraction of a second). To pay
the compile before a lesson rather than in it:

    python -c "from lstmlab.layers import loop_kernel; print(loop_kernel.prepare())"

Where it cannot be built (no C++ compiler, no ninja, a read-only cache) lstmlab warns once, with
the reason, and keeps the Python loop. LSTMLAB_NO_COMPILE=1 turns the compiled loop off (no
warning: you asked for it). The training steps always run the Python loop, since only it passes
gradients back. An intervention runs the Python loop over the steps it acts on (`pieces` in
recurrent.py), this loop before and after them.
"""

import hashlib
import os
import sys
import time
import warnings

import torch

GATE_CODES = {"sigmoid": 0, "hard-sigmoid": 1}  # the same numbers as the enum in SOURCE
STATE_CODES = {"tanh": 2, "softsign": 3, "relu": 4}

SOURCE = r"""
// One direction of an LSTM layer, all time steps, no gradient. Notation of lstmlab.reference:
//
//   z = x_t W^T + b + h_{t-1} R^T          (B, 4H) pre-activations, blocks i, f, g, o
//   i = sigma_g(z_i)   f = sigma_g(z_f)   g = sigma_s(z_g)   o = sigma_g(z_o)
//   c_t = f * c_{t-1} + i * g
//   h_t = o * sigma_s(c_t)
//
// A padded step (keep false, "frozen padding") carries h and c unchanged.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

namespace {

enum Activation : int64_t { SIGMOID = 0, HARD_SIGMOID = 1, TANH = 2, SOFTSIGN = 3, RELU = 4 };

// Every line calls the torch function that the Python loop calls, where it calls one (sigmoid,
// addcmul: vectorized by torch), so that a step rounds as the Python loop's step does; only
// x W^T, which the Python loop computes for all its steps in one product, may differ in the last
// bit. The cheap activations, as MATLAB defines them, are one hand-written loop each instead of
// two or three torch calls, with the same IEEE operations in the same order. tanh is computed as
// lstmlab.activations.tanh computes it, 2 sigmoid(2x) - 1 (torch's own tanh is 2 to 3 times
// slower on a CPU): torch's sigmoid of 2x, then 2s - 1 in a hand-written loop.
template <typename scalar_t>
scalar_t cheap(int64_t activation, scalar_t x) {
  if (activation == HARD_SIGMOID) return std::min(std::max(scalar_t(0.2) * x + scalar_t(0.5), scalar_t(0)), scalar_t(1));
  if (activation == SOFTSIGN) return x / (scalar_t(1) + std::abs(x));
  if (activation == TANH) return scalar_t(2) * x - scalar_t(1);  // x is sigmoid(2 z) here
  return std::max(x, scalar_t(0));  // relu
}

// sigma(x) in place on a (B, n) block with rows `stride` apart (a block of z), or from x into out.
template <typename scalar_t>
void activate(int64_t activation, const at::Tensor& x, at::Tensor out) {
  if (activation == SIGMOID) { at::sigmoid_out(out, x); return; }
  at::Tensor from_x = x;
  if (activation == TANH) {  // sigmoid(2x) into out; cheap() then makes it 2 sigmoid(2x) - 1
    if (!out.is_same(x)) out.copy_(x);
    out.mul_(2).sigmoid_();
    from_x = out;
  }
  const int64_t rows = from_x.size(0), n = from_x.size(1), from = from_x.stride(0), to = out.stride(0);
  const scalar_t* xs = from_x.data_ptr<scalar_t>();
  scalar_t* outs = out.data_ptr<scalar_t>();
  at::parallel_for(0, rows, std::max<int64_t>(1, 32768 / n), [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r)
      for (int64_t k = 0; k < n; ++k) outs[r * to + k] = cheap(activation, xs[r * from + k]);
  });
}

template <typename scalar_t>
void steps(const at::Tensor& x, const at::Tensor& W, const at::Tensor& b, const at::Tensor& R, const bool* keep,
           const at::Tensor& h0, at::Tensor& c, at::Tensor& y, int64_t gate, int64_t state) {
  const int64_t T = x.size(0), B = x.size(1), H = R.size(1);
  const at::Tensor Wt = W.t(), Rt = R.t();                 // (C, 4H), (H, 4H)
  at::Tensor z = at::empty({B, 4 * H}, x.options());      // (B, 4H) one step's pre-activations, then its gates
  const at::Tensor i = z.narrow(1, 0, H), f = z.narrow(1, H, H), g = z.narrow(1, 2 * H, H), o = z.narrow(1, 3 * H, H);
  at::Tensor ig = at::empty({B, H}, x.options());         // i * g
  at::Tensor c_t = at::empty({B, H}, x.options());        // (B, H) the new cell state
  at::Tensor s = at::empty({B, H}, x.options());          // (B, H) sigma_s(c_t)
  const scalar_t *os = o.data_ptr<scalar_t>(), *ss = s.data_ptr<scalar_t>(), *cts = c_t.data_ptr<scalar_t>();
  scalar_t* cs = c.data_ptr<scalar_t>();
  for (int64_t t = 0; t < T; ++t) {
    const at::Tensor h_prev = t == 0 ? h0 : y[t - 1];      // (B, H)
    at::addmm_out(z, b, x[t], Wt).addmm_(h_prev, Rt);     // z = x_t W^T + b + h_{t-1} R^T
    activate<scalar_t>(gate, i, i);                         // i = sigma_g(z_i), in place
    activate<scalar_t>(gate, f, f);                         // f = sigma_g(z_f)
    activate<scalar_t>(state, g, g);                        // g = sigma_s(z_g)
    activate<scalar_t>(gate, o, o);                         // o = sigma_g(z_o)
    at::addcmul_out(c_t, at::mul_out(ig, i, g), f, c);     // c_t = f * c_{t-1} + i * g
    activate<scalar_t>(state, c_t, s);                      // sigma_s(c_t)
    const scalar_t* hp = h_prev.data_ptr<scalar_t>();
    scalar_t* hs = y[t].data_ptr<scalar_t>();
    const bool* real = keep == nullptr ? nullptr : keep + t * B;  // (B,) false on padded steps
    at::parallel_for(0, B, std::max<int64_t>(1, 32768 / H), [&](int64_t first, int64_t last) {
      for (int64_t n = first; n < last; ++n) {
        if (real != nullptr && !real[n]) {                  // a padded step carries h and c
          std::copy(hp + n * H, hp + (n + 1) * H, hs + n * H);
          continue;
        }
        for (int64_t k = 0; k < H; ++k) {
          cs[n * H + k] = cts[n * H + k];
          hs[n * H + k] = os[n * 4 * H + k] * ss[n * H + k];  // h_t = o * sigma_s(c_t)
        }
      }
    });
  }
}

// x (T, B, C); W (4H, C); R (4H, H); b (4H,); h0, c0 (B, H); keep (T, B) bool or None.
// Returns y (T, B, H), the last h and the last c, each (B, H).
std::tuple<at::Tensor, at::Tensor, at::Tensor> lstm_loop(
    const at::Tensor& x, const at::Tensor& W, const at::Tensor& R, const at::Tensor& b,
    const at::Tensor& h0, const at::Tensor& c0, const std::optional<at::Tensor>& keep,
    int64_t gate, int64_t state) {
  const int64_t T = x.size(0), B = x.size(1), H = R.size(1);
  const at::Tensor h = h0.contiguous();
  at::Tensor c = c0.clone(at::MemoryFormat::Contiguous);   // updated in place, step by step
  at::Tensor y = at::empty({T, B, H}, x.options());
  const at::Tensor kept = keep.has_value() ? keep->contiguous() : at::Tensor();
  const bool* k = keep.has_value() ? kept.data_ptr<bool>() : nullptr;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstm_loop", [&] {
    steps<scalar_t>(x, W, b, R, k, h, c, y, gate, state);
  });
  return {y, T > 0 ? y[T - 1].clone() : h.clone(), c};
}

}  // namespace

TORCH_LIBRARY(lstmlab_loop_kernel, m) { m.def("lstm_loop", &lstm_loop); }
"""

FLAGS = ["-O3", "-fopenmp", "-ffp-contract=off"]  # -fopenmp: at::parallel_for splits big batches over torch's threads;
# -ffp-contract=off: a * x + b rounded twice, as torch computes it (no fused multiply-add)
NAME = "lstmlab_loop_" + hashlib.sha1(f"{SOURCE}{FLAGS}{torch.__version__}".encode()).hexdigest()[:10]
STALE_LOCK_SECONDS = 600  # a build's lock left by a process killed while compiling

_op = None  # the compiled lstm_loop, once loaded
_reason = None  # why there is none, once known: a short sentence
compile_seconds = None  # how long loading took in this process (a build, or only a load)


def reason():
    """Why the compiled loop is not used (None while it is, or before it was first needed)."""
    return _reason


def compiled():
    """The compiled lstm_loop op, built or loaded on the first call; None where it cannot be."""
    global _op, _reason, compile_seconds
    if _op is not None or _reason is not None:
        return _op
    if os.environ.get("LSTMLAB_NO_COMPILE", "") not in ("", "0"):
        _reason = "LSTMLAB_NO_COMPILE is set"
        return None
    start = time.perf_counter()
    try:
        _op = _build()
    except Exception as error:  # no compiler, no ninja, a read-only cache, a failed build: all the same to us
        _reason = _summary(error)
        warnings.warn(
            f"lstmlab: the compiled LSTM step loop is not available ({_reason}); predictions with non-default "
            f"activations use the Python step loop, which gives the same numbers more slowly. Set LSTMLAB_NO_COMPILE=1 "
            f"to skip the attempt.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    compile_seconds = time.perf_counter() - start
    return _op


def _build():
    from torch.utils import cpp_extension  # imported here: it is slow to import and rarely needed

    folder = cpp_extension._get_build_directory(NAME, verbose=False)
    lock = os.path.join(folder, "lock")
    if os.path.exists(lock) and time.time() - os.path.getmtime(lock) > STALE_LOCK_SECONDS:
        os.remove(lock)  # torch would wait for it forever
    path = os.environ.get("PATH", "")
    bin_folder = os.path.dirname(sys.executable)  # a virtual environment's ninja, when it is not activated
    os.environ["PATH"] = path + os.pathsep + bin_folder if path else bin_folder
    try:
        cpp_extension.load_inline(
            NAME,
            [SOURCE],
            extra_cflags=FLAGS,
            extra_ldflags=["-fopenmp"],
            is_python_module=False,
            no_implicit_headers=True,
            build_directory=folder,
        )
    finally:
        os.environ["PATH"] = path
    return torch.ops.lstmlab_loop_kernel.lstm_loop


def _summary(error):
    """One line from a build error: the compiler's first "error:" line where there is one."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line.lower()]
    line = errors[0] if errors else lines[0] if lines else ""
    line = line if len(line) <= 240 else line[:237] + "..."
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def applies(x, *tensors):
    """Whether the compiled loop may run steps on x with these states and weights: no gradient
    needed, on the CPU, float32 or float64. Builds the loop the first time the rest holds (None
    from `compiled` then says no)."""
    tensors = (x, *tensors)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False
    if any(t.device.type != "cpu" or t.dtype != x.dtype for t in tensors) or x.dtype not in (torch.float32, torch.float64):
        return False
    return compiled() is not None


def lstm_loop(x, states, W, R, b, keep, gate, state):
    """`LSTMLayer._loop` without edits, in C++: x (T, B, C), states (h, c) each (B, H), keep (T, B)
    or None. Returns y (T, B, H) and the last (h, c)."""
    h, c = states
    y, h, c = compiled()(x, W, R, b, h, c, keep, GATE_CODES[gate], STATE_CODES[state])
    return y, (h, c)


def prepare():
    """Build (or load) the compiled loop now; says how long it took, or why it is not available."""
    if compiled() is None:
        return f"lstmlab: the compiled LSTM step loop is not available: {reason()}"
    return f"lstmlab: the compiled LSTM step loop {NAME} is ready ({compile_seconds:.2f} s)"
