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
//
// ROWS_PER_THREAD comes from loop_kernel.py, as -DROWS_PER_THREAD=16.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#if __has_include(<ATen/native/CPUBlas.h>)
#include <ATen/native/CPUBlas.h>  // at::native::cpublas::brgemm: torch's, not part of its stable API
#endif
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <tuple>
#if defined(__linux__)
#include <sys/mman.h>
#endif

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

// An empty (T, B, n) tensor of like's dtype, for what the loop writes once per call (y, and a recording).
// From 32 MB on, glibc's malloc maps fresh memory for each call, which costs a page fault per page
// written: a third of the recording loop's time at B=256, T=200, H=128 with 4 KB pages. So there, on
// Linux, it asks the kernel for 2 MB pages (as torch does with THP_MEM_ALLOC_ENABLE=1, for this memory
// alone): 5 times faster to write the first time. Below, malloc reuses memory already mapped: at::empty.
at::Tensor empty_steps(int64_t T, int64_t B, int64_t n, const at::Tensor& like) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr size_t page = size_t(1) << 21, mapped = size_t(32) << 20;  // glibc's largest mmap threshold
  const size_t bytes = size_t(T * B * n) * like.element_size(), size = (bytes + page - 1) / page * page;
  if (bytes >= mapped) {
    if (void* memory = std::aligned_alloc(page, size)) {
      madvise(memory, size, MADV_HUGEPAGE);  // a hint: where the kernel declines, 4 KB pages as before
      return at::from_blob(memory, {T, B, n}, [](void* p) { std::free(p); }, like.options());
    }
  }
#endif
  return at::empty({T, B, n}, like.options());
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
  // Recording in float32, each step's h_{t-1} R^T is added by oneDNN's brgemm on Rc = R^T contiguous,
  // as torch's kernel computes it (twice as fast as addmm on a few rows). It rounds differently from
  // the Python loop's addmm, in the last bits: predictions keep addmm, a trace's `check` measures it.
  bool brgemm;
  at::Tensor Rc;         // (H, 4H) R^T contiguous, where brgemm
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
  at::addmm_out(z, L.b, w.x[t], L.Wt);                                     // z = x_t W^T + b
#ifdef CPUBLAS_BRGEMM_F32F32F32
  if (L.brgemm)
    at::native::cpublas::brgemm(n, 4 * H, H, H, 4 * H, 4 * H, true, h_prev.data_ptr<float>(), L.Rc.data_ptr<float>(),
                                z.data_ptr<float>(), false);              //   + h_{t-1} R^T
  else
#endif
    z.addmm_(h_prev, L.Rt);                                                //   + h_{t-1} R^T
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
#ifdef CPUBLAS_BRGEMM_F32F32F32
    if (L.brgemm) at::native::cpublas::brgemm_release(false);
#endif
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
  L.y = empty_steps(T, B, H, x);
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
  L.brgemm = L.gates.defined() && x.scalar_type() == at::kFloat;
  if (L.brgemm) L.Rc = L.Rt.contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstm_loop", [&] { steps<scalar_t>(L); });
  return {L.y, T > 0 ? L.y[T - 1].clone() : L.h0.clone(), L.c};
}

}  // namespace

TORCH_LIBRARY(lstmlab_loop_kernel, m) {
  m.def("lstm_loop", &lstm_loop);
  m.def("empty_steps", &empty_steps);
}
