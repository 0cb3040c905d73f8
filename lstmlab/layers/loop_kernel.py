"""The LSTM step loop in C++, for the steps that need no gradient: compiled once, on first use.

`LSTMLayer.cell` (lstm.py) is the truth: the equations in torch, one line each, which the Python
loop `_loop` runs one step after the other. In Python each step costs about ten small torch calls on
top of its matrix product. For predictions, `ll.trace`'s forward pass and the stateful calls, where
no gradient is needed and no intervention acts, this module runs the very same steps in C++ (the
source is loop_kernel.cpp beside this file, in the same notation), close to the speed of torch's
fused kernel. `RecurrentLayer.route` chooses where it runs: `fits` says whether it may (a pure
check), `build` builds or loads it.

The loop can also keep each step's gates and cell state as it computes them, so that recording
costs hardly more than running: `ll.trace` records with it on a CPU where that pays
(`LSTMLayer.fast_way`), and `LSTMLayer.check` recomputes one step in ten in torch to check the
recording. Recording in float32, the loop adds each step's h_{t-1} R^T with oneDNN's brgemm, as
torch's kernel does (twice as fast as addmm on a few rows), which rounds differently from the Python
loop in the last bits (the check measures it); predictions keep the Python loop's products, bit for
bit. The recording and y are written into 2 MB pages where they are big (`empty_steps`). Each of torch's threads runs its own
share of the sequences through all the steps, at least ROWS_PER_THREAD of them. A recording beats
torch's kernel plus the recomputing product on one thread in float32 from ONE_THREAD_FROM sequences
on, and elsewhere once every thread has ROWS_PER_THREAD; with fewer, a layer with torch's activations
is traced the other way (`lstmlab/trace.py` has both).

The C++ is compiled with torch's `torch.utils.cpp_extension.load`, in a child process, the first
time it is needed (about 10 s on two cores), into $TORCH_EXTENSIONS_DIR (default
~/.cache/torch_extensions)/NAME, so that later processes only load the library (a fraction of a
second). To pay the compile before a lesson rather than in it:

    python -c "from lstmlab.layers import loop_kernel; print(loop_kernel.prepare())"

Where it cannot be built (no C++ compiler, no ninja, a read-only cache) lstmlab warns once, with
the reason, and keeps the Python loop. LSTMLAB_NO_COMPILE=1 turns the compiled loop off (no
warning: you asked for it). The training steps always run the Python loop, since only it passes
gradients back. An intervention runs the Python loop over the steps it acts on, this loop before
and after them (`route`).
"""

import hashlib
import os
import subprocess
import sys
import time
import warnings

import torch

# The fewest sequences a thread runs on its own (see `steps` in SOURCE), and so where `route` records with the loop with
# torch's activations on several threads, or in float64 (before the float32 recording took torch's kernel's products, one
# thread, T=200: the loop's recording beat torch's kernel + the recomputing product from 8 to 12 sequences at H=128, and at
# 16 for H from 32 to 512: benchmarks/trace_overhead.py, sweep).
ROWS_PER_THREAD = 16
# On one thread in float32 (the recording's product then brgemm's), where `route` records with torch's activations: from
# 2 sequences on it beats torch's kernel + the recomputing product (B=2 to 256, T=200 to 1000, H=32 to 512); with 1 the two
# tie (2.7x against 3.0x at T=200, H=128; 1.65x against 1.70x at T=2000, H=256), and the kernel's h is predict's own.
ONE_THREAD_FROM = 2
GATE_CODES = {"sigmoid": 0, "hard-sigmoid": 1}  # the same numbers as the enum in SOURCE
STATE_CODES = {"tanh": 2, "softsign": 3, "relu": 4}

SOURCE = os.path.join(os.path.dirname(__file__), "loop_kernel.cpp")  # shipped as package data

FLAGS = ["-O3", "-fopenmp", "-ffp-contract=off", f"-DROWS_PER_THREAD={ROWS_PER_THREAD}"]  # -fopenmp: at::parallel_for
# splits big batches over torch's threads; -ffp-contract=off: a * x + b rounded twice, as torch computes it (no fused multiply-add)
with open(SOURCE, "rb") as source:
    NAME = "lstmlab_loop_" + hashlib.sha1(source.read() + f"{FLAGS}{torch.__version__}{sys.version_info[:2]}".encode()).hexdigest()[:10]
STALE_LOCK_SECONDS = 600  # a build's lock left by a process killed while compiling

_op = None  # the compiled lstm_loop, once loaded
_reason = None  # why there is none, once known: a short sentence
compile_seconds = None  # how long loading took in this process (a build, or only a load)


def reason():
    """Why the compiled loop is not used (None while it is, or before it was first needed)."""
    return _reason


def build():
    """The compiled lstm_loop op, built or loaded on the first call; None where it cannot be
    (warned once, with the reason)."""
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


BUILD = """
import sys
from torch.utils import cpp_extension
name, source, folder, *flags = sys.argv[1:]
cpp_extension.load(name, [source], extra_cflags=flags, extra_ldflags=["-fopenmp"], is_python_module=False, build_directory=folder)
"""


def _build():
    """Load the library from torch's extensions folder, after building it there in a child process
    where it is missing: torch's public `cpp_extension.load`, with the virtual environment's bin
    folder on the child's PATH (its ninja, when the environment is not activated)."""
    root = os.environ.get("TORCH_EXTENSIONS_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "torch_extensions")
    folder = os.path.join(root, NAME)
    library, lock = os.path.join(folder, f"{NAME}.so"), os.path.join(folder, "lock")
    if os.path.exists(lock) and time.time() - os.path.getmtime(lock) > STALE_LOCK_SECONDS:
        os.remove(lock)  # torch would wait for it forever
    if not os.path.exists(library) or os.path.exists(lock):
        os.makedirs(folder, exist_ok=True)
        path = os.environ.get("PATH", "")
        env = {**os.environ, "PATH": os.pathsep.join(filter(None, (path, os.path.dirname(sys.executable))))}
        done = subprocess.run([sys.executable, "-c", BUILD, NAME, SOURCE, folder, *FLAGS], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(done.stderr or done.stdout)
    torch.ops.load_library(library)
    return torch.ops.lstmlab_loop_kernel.lstm_loop


def _summary(error):
    """One line from a build error: the compiler's first "error:" line where there is one."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line.lower()]
    line = errors[0] if errors else lines[0] if lines else ""
    line = line if len(line) <= 240 else line[:237] + "..."
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def fits(x, *tensors):
    """Whether the compiled loop may run steps on x with these states and weights: no gradient
    needed, on the CPU, float32 or float64. A pure check: whether it builds is `build`'s answer."""
    tensors = (x, *tensors)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False
    return all(t.device.type == "cpu" and t.dtype == x.dtype for t in tensors) and x.dtype in (torch.float32, torch.float64)


def lstm_loop(x, states, W, R, b, real, gate, state, recording=None):
    """`LSTMLayer._loop` without edits, in C++: x (T, B, C), states (h, c) each (B, H), real (T, B)
    True on real steps, or None; recording, if given, (gates, cells): contiguous (T, B, 4H) and
    (T, B, H) tensors that receive every step's i, f, g, o and c as they were computed. Returns
    y (T, B, H) and the last (h, c)."""
    h, c = states
    gates, cells = recording or (None, None)
    y, h, c = build()(x, W, R, b, h, c, real, GATE_CODES[gate], STATE_CODES[state], gates, cells)
    return y, (h, c)


def empty_steps(T, B, n, like):
    """An empty (T, B, n) tensor of like's dtype for the loop's recording, in 2 MB pages where the
    system allows (see `empty_steps` in loop_kernel.cpp: fresh memory is written page by page)."""
    build()
    return torch.ops.lstmlab_loop_kernel.empty_steps(T, B, n, like)


def prepare():
    """Build (or load) the compiled loop now; says how long it took, or why it is not available."""
    if build() is None:
        return f"lstmlab: the compiled LSTM step loop is not available: {reason()}"
    return f"lstmlab: the compiled LSTM step loop {NAME} is ready ({compile_seconds:.2f} s)"
