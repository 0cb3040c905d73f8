"""The LSTM step loop in C++, for the steps that need no gradient: compiled once, on first use.

`LSTMLayer._loop` (lstm.py) is the truth: the equations in torch, one line each, one step after
the other. It runs whenever the gate or state activation is not torch's (a hard-sigmoid gate, a
softsign or relu state), and in Python each step costs about ten small torch calls on top of its
matrix product. For predictions, `ll.trace`'s forward pass and the stateful calls, where no
gradient is needed and no intervention acts, this module runs the very same steps in C++ (the
source is `SOURCE` below, in the same notation), close to the speed of torch's fused kernel.

The loop can also keep each step's gates and cell state as it computes them, so that recording
costs hardly more than running: `ll.trace` records with it on a CPU (`LSTMLayer.records`), and
`LSTMLayer.check` recomputes one step in ten in torch to check the recording. Each of torch's
threads runs its own share of the sequences through all the steps, which beats torch's kernel plus
the recomputing product once every thread has ROWS_PER_THREAD sequences or more; with fewer, a
layer with torch's activations is traced the other way (`lstmlab/trace.py` has both).

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

ROWS_PER_THREAD = 16  # the fewest sequences a thread runs on its own (see `steps` in SOURCE)
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
// A padded step (keep false, "frozen padding") carries h and c unchanged. The sequences of a batch
// are independent, so each of torch's threads runs its share of them through all the steps, with
// no waiting between steps. For ll.trace the loop also keeps every step's gates and c.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

namespace {

enum Activation : int64_t { SIGMOID = 0, HARD_SIGMOID = 1, TANH = 2, SOFTSIGN = 3, RELU = 4 };

// Every line calls the torch function that the Python loop calls, where it calls one (sigmoid,
// addcmul: vectorized by torch), so that a step rounds as the Python loop's step does, up to the
// last bit of a product. The cheap activations, as MATLAB defines them, are one hand-written loop
// each instead of two or three torch calls, with the same IEEE operations in the same order. tanh
// is computed as lstmlab.activations.tanh computes it, 2 sigmoid(2x) - 1 (torch's own tanh is 2 to
// 3 times slower on a CPU): torch's sigmoid of 2x, then 2s - 1 in a hand-written loop.
template <typename scalar_t>
scalar_t cheap(int64_t activation, scalar_t x) {
  if (activation == HARD_SIGMOID) return std::min(std::max(scalar_t(0.2) * x + scalar_t(0.5), scalar_t(0)), scalar_t(1));
  if (activation == SOFTSIGN) return x / (scalar_t(1) + std::abs(x));
  if (activation == TANH) return scalar_t(2) * x - scalar_t(1);  // x is sigmoid(2 z) here
  return std::max(x, scalar_t(0));  // relu
}

// out = cheap(x), element by element, on (rows, n) blocks with rows x.stride(0) and out.stride(0) apart.
template <typename scalar_t>
void apply_cheap(int64_t activation, const at::Tensor& x, const at::Tensor& out) {
  const int64_t rows = x.size(0), n = x.size(1), from = x.stride(0), to = out.stride(0);
  const scalar_t* xs = x.data_ptr<scalar_t>();
  scalar_t* outs = out.data_ptr<scalar_t>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < n; ++k) outs[r * to + k] = cheap(activation, xs[r * from + k]);
}

// sigma(x) in place on a (rows, n) block with rows `stride` apart (a block of z), or from x into out.
template <typename scalar_t>
void activate(int64_t activation, const at::Tensor& x, at::Tensor out) {
  if (activation == SIGMOID) { at::sigmoid_out(out, x); return; }
  at::Tensor from_x = x;
  if (activation == TANH) {  // sigmoid(2x) into out; cheap() then makes it 2 sigmoid(2x) - 1
    if (!out.is_same(x)) out.copy_(x);
    out.mul_(2).sigmoid_();
    from_x = out;
  }
  apply_cheap<scalar_t>(activation, from_x, out);
}

struct Loop {
  at::Tensor x;          // (T, B, C)
  at::Tensor Wt, Rt, b;  // (C, 4H), (H, 4H), (4H,): W^T, R^T, b; the g rows doubled where `doubled`
  at::Tensor h0;         // (B, H)
  at::Tensor c;          // (B, H) the cell state, updated in place
  at::Tensor y;          // (T, B, H) every h
  at::Tensor gates;      // (T, B, 4H) every step's i, f, g, o, kept for the caller; or undefined
  at::Tensor cells;      // (T, B, H) every c, kept for the caller; or undefined
  const bool* keep;      // (T, B) false on padded steps; or nullptr
  int64_t gate, state;
  // Sigmoid gates and a tanh state: tanh(z_g) = 2 sigmoid(2 z_g) - 1, and 2 z_g comes exactly out
  // of the product when the g rows of W, R and b are doubled (a power of two rounds nothing), so
  // one sigmoid call covers all four blocks of z.
  bool doubled;
};

// The rows of the batch that one thread runs: views made once, for all its steps.
struct Rows {
  int64_t first, n;
  at::Tensor x, h0, c, y;     // (T, n, C), (n, H), (n, H), (T, n, H)
  at::Tensor ig, c_t, s;      // (n, H) each: i * g, the new cell state, sigma_s(c_t)
};

// Step t of one thread's rows; z (n, 4H) receives their pre-activations, then their gates.
template <typename scalar_t>
void step(const Loop& L, Rows& w, at::Tensor z, int64_t t) {
  const int64_t B = L.x.size(1), H = L.Rt.size(0), n = w.n;
  const at::Tensor h_prev = t == 0 ? w.h0 : w.y[t - 1];                   // (n, H)
  at::addmm_out(z, L.b, w.x[t], L.Wt).addmm_(h_prev, L.Rt);               // z = x_t W^T + b + h_{t-1} R^T
  scalar_t* zs = z.data_ptr<scalar_t>();
  scalar_t* cs = w.c.data_ptr<scalar_t>();                                // c_{t-1}, then c_t
  scalar_t *cts = w.c_t.data_ptr<scalar_t>(), *ss = w.s.data_ptr<scalar_t>();
  if (L.doubled) {
    z.sigmoid_();                                                          // i, f, o, and sigmoid(2 z_g)
    for (int64_t r = 0; r < n; ++r) {
      scalar_t* zr = zs + r * 4 * H;
      for (int64_t k = 0; k < H; ++k) {
        const scalar_t g = cheap(TANH, zr[2 * H + k]);                     // g = 2 sigmoid(2 z_g) - 1
        zr[2 * H + k] = g;
        const scalar_t ig = zr[k] * g;
        cts[r * H + k] = ig + zr[H + k] * cs[r * H + k];                   // c_t = f * c_{t-1} + i * g
        ss[r * H + k] = cts[r * H + k] * scalar_t(2);
      }
    }
    w.s.sigmoid_();                                                        // sigmoid(2 c_t)
    apply_cheap<scalar_t>(TANH, w.s, w.s);                                 // tanh(c_t) = 2 sigmoid(2 c_t) - 1
  } else {
    const at::Tensor i = z.narrow(1, 0, H), f = z.narrow(1, H, H), g = z.narrow(1, 2 * H, H), o = z.narrow(1, 3 * H, H);
    activate<scalar_t>(L.gate, i, i);                                      // i = sigma_g(z_i), in place
    activate<scalar_t>(L.gate, f, f);                                      // f = sigma_g(z_f)
    activate<scalar_t>(L.state, g, g);                                     // g = sigma_s(z_g)
    activate<scalar_t>(L.gate, o, o);                                      // o = sigma_g(z_o)
    at::addcmul_out(w.c_t, at::mul_out(w.ig, i, g), f, w.c);              // c_t = f * c_{t-1} + i * g
    activate<scalar_t>(L.state, w.c_t, w.s);                               // sigma_s(c_t)
  }
  const scalar_t* hp = h_prev.data_ptr<scalar_t>();
  scalar_t* hs = w.y[t].data_ptr<scalar_t>();
  scalar_t* kept = L.cells.defined() ? L.cells.data_ptr<scalar_t>() + (t * B + w.first) * H : nullptr;
  const bool* real = L.keep == nullptr ? nullptr : L.keep + t * B + w.first;  // false on padded steps
  for (int64_t r = 0; r < n; ++r) {
    if (real == nullptr || real[r]) {
      for (int64_t k = 0; k < H; ++k) {
        cs[r * H + k] = cts[r * H + k];
        hs[r * H + k] = zs[r * 4 * H + 3 * H + k] * ss[r * H + k];         // h_t = o * sigma_s(c_t)
      }
    } else {                                                               // a padded step carries h and c
      std::copy(hp + r * H, hp + (r + 1) * H, hs + r * H);
    }
    if (kept != nullptr) std::copy(cs + r * H, cs + (r + 1) * H, kept + r * H);
  }
}

template <typename scalar_t>
void steps(const Loop& L) {
  const int64_t T = L.x.size(0), B = L.x.size(1), H = L.Rt.size(0);
  // Sequences per thread: at least ROWS_PER_THREAD, since a product of fewer rows (one row most of
  // all) may be computed by another kernel of the BLAS and round differently from the Python
  // loop's product, and since fewer rows leave a thread too little to do between steps.
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), B / ROWS_PER_THREAD));
  const at::ThreadLocalState state;  // grad and inference mode, for torch's other threads
  at::parallel_for(0, B, (B + threads - 1) / threads, [&](int64_t first, int64_t last) {
    at::ThreadLocalStateGuard guard(state);
    const int64_t n = last - first;
    const auto options = L.x.options();
    Rows w{first, n, L.x.narrow(1, first, n), L.h0.narrow(0, first, n), L.c.narrow(0, first, n), L.y.narrow(1, first, n),
           at::empty({n, H}, options), at::empty({n, H}, options), at::empty({n, H}, options)};
    const at::Tensor gates = L.gates.defined() ? L.gates.narrow(1, first, n) : at::Tensor();  // (T, n, 4H)
    at::Tensor scratch = at::empty({n, 4 * H}, options);
    for (int64_t t = 0; t < T; ++t) step<scalar_t>(L, w, gates.defined() ? gates[t] : scratch, t);
  });
}

// x (T, B, C); W (4H, C); R (4H, H); b (4H,); h0, c0 (B, H); keep (T, B) bool or None; gates
// (T, B, 4H) and cells (T, B, H), contiguous, to be filled with every step's i, f, g, o and c, or
// None. Returns y (T, B, H), the last h and the last c, each (B, H).
std::tuple<at::Tensor, at::Tensor, at::Tensor> lstm_loop(
    const at::Tensor& x, const at::Tensor& W, const at::Tensor& R, const at::Tensor& b,
    const at::Tensor& h0, const at::Tensor& c0, const std::optional<at::Tensor>& keep,
    int64_t gate, int64_t state, const std::optional<at::Tensor>& gates, const std::optional<at::Tensor>& cells) {
  const int64_t T = x.size(0), B = x.size(1), H = R.size(1);
  Loop L;
  L.doubled = gate == SIGMOID && state == TANH;
  at::Tensor W2 = W, R2 = R, b2 = b;
  if (L.doubled) {
    W2 = W.clone(); R2 = R.clone(); b2 = b.clone();
    for (at::Tensor* p : {&W2, &R2, &b2}) p->narrow(0, 2 * H, H).mul_(2);
  }
  L.x = x; L.Wt = W2.t(); L.Rt = R2.t(); L.b = b2;
  L.h0 = h0.contiguous();
  L.c = c0.clone(at::MemoryFormat::Contiguous);
  L.y = at::empty({T, B, H}, x.options());
  L.gates = gates.has_value() ? *gates : at::Tensor();
  L.cells = cells.has_value() ? *cells : at::Tensor();
  TORCH_CHECK(!L.gates.defined() || (L.gates.is_contiguous() && L.gates.sizes() == at::IntArrayRef({T, B, 4 * H}) &&
                                     L.gates.scalar_type() == x.scalar_type()),
              "lstm_loop: gates must be a contiguous (T, B, 4H) tensor of x's dtype");
  TORCH_CHECK(!L.cells.defined() || (L.cells.is_contiguous() && L.cells.sizes() == at::IntArrayRef({T, B, H}) &&
                                     L.cells.scalar_type() == x.scalar_type()),
              "lstm_loop: cells must be a contiguous (T, B, H) tensor of x's dtype");
  const at::Tensor kept = keep.has_value() ? keep->contiguous() : at::Tensor();
  L.keep = keep.has_value() ? kept.data_ptr<bool>() : nullptr;
  L.gate = gate; L.state = state;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstm_loop", [&] { steps<scalar_t>(L); });
  return {L.y, T > 0 ? L.y[T - 1].clone() : L.h0.clone(), L.c};
}

}  // namespace

TORCH_LIBRARY(lstmlab_loop_kernel, m) { m.def("lstm_loop", &lstm_loop); }
""".replace("ROWS_PER_THREAD", str(ROWS_PER_THREAD))

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
            f"activations use the Python step loop, and ll.trace recomputes every gate after the forward pass, which "
            f"gives the same numbers more slowly. Set LSTMLAB_NO_COMPILE=1 to skip the attempt.",
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


def lstm_loop(x, states, W, R, b, keep, gate, state, kept=None):
    """`LSTMLayer._loop` without edits, in C++: x (T, B, C), states (h, c) each (B, H), keep (T, B)
    or None; kept, if given, (gates, cells): contiguous (T, B, 4H) and (T, B, H) tensors that
    receive every step's i, f, g, o and c as they were computed. Returns y (T, B, H) and the last (h, c)."""
    h, c = states
    gates, cells = kept or (None, None)
    y, h, c = compiled()(x, W, R, b, h, c, keep, GATE_CODES[gate], STATE_CODES[state], gates, cells)
    return y, (h, c)


def prepare():
    """Build (or load) the compiled loop now; says how long it took, or why it is not available."""
    if compiled() is None:
        return f"lstmlab: the compiled LSTM step loop is not available: {reason()}"
    return f"lstmlab: the compiled LSTM step loop {NAME} is ready ({compile_seconds:.2f} s)"
