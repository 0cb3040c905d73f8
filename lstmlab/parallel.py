"""Data-parallel training on torch.distributed: `training_options(execution_environment="parallel")`
(CPU worker processes, gloo) and `"multi-gpu"` (one process per GPU, NCCL).

Every worker holds the whole network and runs the same training loop (`lstmlab.training.Run`);
a `Team` tells it which part of each mini-batch is its own and joins the workers where they must
agree. One iteration, for N workers:

    global mini-batch (mini_batch_size sequences, the same shuffled order in every worker: the
        order comes from the shared seed)
    -> padded as the single process pads it (the longest sequence of the whole mini-batch,
       chunks included), then split by rows: worker r takes the r-th of N contiguous pieces,
       of B // N sequences, the first B % N workers one more
    -> each worker: forward on its piece, loss as a mean over its rows (sequences, or real time
       steps for sequence-to-sequence) times its rows
    -> one all_reduce (sum) of the gradients, the rows and the losses, then divided by all rows
       of the mini-batch: the gradient of the mean over the whole mini-batch, what one process
       computes on the same mini-batch, up to float rounding
    -> each worker: the same solver step, so the weights stay equal without being sent around

Validation, the history and early stopping are decided by worker 0 and broadcast, so that every
worker stops at the same iteration. The workers are started here with
`torch.multiprocessing` (spawn), or joined from the environment that `torchrun` sets up.
`lstmlab.training` hands in the function that trains (`fit`), so that this module needs nothing
from the training code.
"""

import dataclasses
import datetime
import io
import os
import pickle
import queue as queues
import sys
import tempfile
import time
import traceback

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .batching import Batch
from .options import PARALLEL_ENVIRONMENTS
from .progress import Progress

ENVIRONMENTS = PARALLEL_ENVIRONMENTS  # the execution environments trained here (lstmlab.training asks)
WHERE = "trainnet"  # the function that the errors of this module name
REASON = "LSTMLAB_WORKER_REASON"  # set in the workers started here: the file in which a worker says why it stopped early
TIMEOUT = datetime.timedelta(minutes=10)  # a collective that waits longer than this fails instead of hanging


def default_workers(environment):
    """"parallel": min(4, CPU cores) processes; "multi-gpu": one per visible GPU."""
    if environment == "multi-gpu":
        return torch.cuda.device_count()
    return min(4, os.cpu_count() or 1)


def pieces(B, N):
    """The rows of each of N workers in a mini-batch of B: N contiguous slices, the first B % N one longer.

    >>> pieces(5, 2)
    [slice(0, 3, None), slice(3, 5, None)]
    """
    sizes = [B // N + (r < B % N) for r in range(N)]
    starts = np.cumsum([0] + sizes)
    return [slice(int(starts[r]), int(starts[r + 1])) for r in range(N)]


class Solo:
    """The team of one process: every method leaves things as they are (the plain `ll.trainnet`)."""

    device = None

    def piece(self, batches):
        return batches

    def share(self, value, scores, mask):
        return value

    def reduce(self, value, net):
        return value.item()

    def gather(self, scores, y, mask):
        return scores, y, mask

    def from_leader(self, fn, *args):
        return fn(*args)

    def progress(self, options, total, rows):
        return Progress(options, total=total, rows=rows)


SOLO = Solo()


class Team(Solo):
    """One worker of N in a torch.distributed process group (see the module docstring).

    Args:
        device: this worker's device (the CPU for gloo, its GPU for NCCL).
        relay: a queue to the process that started the workers (worker 0 sends its progress
            rows there), or None under torchrun (worker 0 shows the progress itself).
    """

    def __init__(self, device, relay=None):
        self.rank, self.size, self.device, self.relay = dist.get_rank(), dist.get_world_size(), device, relay

    def piece(self, batches):
        """This worker's rows of every mini-batch (each padded as the whole mini-batch is)."""
        for b in batches:
            rows = pieces(len(b.indices), self.size)[self.rank]
            yield Batch(b.x[rows], None if b.y is None else b.y[rows], b.mask[rows], b.indices[rows], b.chunk)

    def share(self, value, scores, mask):
        """This worker's mean loss times its rows; `reduce` divides the sum over the workers by all rows.

        So the mini-batch's mean loss is each worker's mean weighted by its share of the rows, and
        the row counts travel in the same collective as the gradients.
        """
        self.rows = float(len(scores) if mask is None else mask.sum())
        if self.rows == 0:  # no sequence (the last mini-batch is short) or no real step in this chunk
            return scores.sum() * 0.0
        return value * self.rows

    def reduce(self, value, net):
        """Sum every parameter's gradient, the rows and the loss over the workers in one all_reduce,
        and divide by all rows; returns the mini-batch's loss."""
        params = [p for _, _, p in net.learnables()]
        dtype = params[0].dtype
        flat = torch.cat(
            [torch.zeros(p.numel(), device=p.device, dtype=p.dtype) if p.grad is None else p.grad.reshape(-1) for p in params]
            + [torch.tensor([float(p.grad is not None) for p in params] + [self.rows], device=self.device, dtype=dtype)]
            + [value.detach().reshape(1).to(dtype)]
        )
        dist.all_reduce(flat)
        *used, rows, loss = flat[-len(params) - 2 :].tolist()
        rows = max(rows, 1.0)  # no row in any worker: every loss and gradient is 0 (see share)
        gradients = flat[: -len(params) - 2].div_(rows)
        start = 0
        for p, had in zip(params, used):
            p.grad = gradients[start : start + p.numel()].view_as(p) if had else None  # None where no worker had one
            start += p.numel()
        return loss / rows

    def gather(self, scores, y, mask):
        """The outputs and targets of the whole mini-batch (real steps only), for the metrics."""
        if mask is not None:
            scores, y = scores[mask], y[mask]
        everyone = [None] * self.size
        dist.all_gather_object(everyone, (scores.cpu(), y.cpu()))
        return torch.cat([s for s, _ in everyone]).to(scores.device), torch.cat([t for _, t in everyone]).to(y.device), None

    def from_leader(self, fn, *args):
        """fn(*args) computed by worker 0 (validation) and sent to the others."""
        box = [fn(*args) if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0, device=self.device if self.device.type == "cuda" else None)
        return box[0]

    def progress(self, options, total, rows):
        if self.rank == 0 and self.relay is not None:
            return _Relay(self.relay, total)
        if self.rank == 0:
            return Progress(options, total=total, rows=rows)
        return Progress(dataclasses.replace(options, verbose=False, plots="none"), total=total, rows=rows)


class _Relay:
    """Worker 0's progress: each history row goes to the process that shows it."""

    def __init__(self, relay, total):
        self.relay = relay
        relay.put(("start", total))

    def update(self, row):
        self.relay.put(("row", dict(row)))

    def close(self):
        pass


# --- starting the workers ----------------------------------------------------------------------


def joined():
    """Whether this process is one of a group that torchrun (or the caller) has set up."""
    return dist.is_available() and (dist.is_initialized() or ("RANK" in os.environ and "WORLD_SIZE" in os.environ))


def train(fit, net, loss, options, targets, sequences, validation):
    """Train `net` data-parallel with `fit(net, loss, options, targets, sequences, validation, team)`.

    Under torchrun (or in a process group already set up) this process is one worker: it trains
    and returns its history; its net holds the trained weights, the same in every worker.
    Otherwise the workers are started here, on this machine, and the trained weights and the
    history come back into `net`. Returns the history rows.
    """
    environment = options.execution_environment
    if joined():
        team = _join(options)
        options = with_seed(options, team)
        _seed(options, team.rank)
        return fit(net, loss, options, targets, sequences, validation, team)
    if environment == "multi-gpu" and not torch.cuda.is_available():
        raise ValueError(
            f"{WHERE}: execution_environment='multi-gpu' trains one process per GPU, but torch sees no CUDA GPU "
            f"(torch.cuda.is_available() is False); use execution_environment='parallel' to train with CPU worker processes."
        )
    workers = default_workers(environment) if options.workers is None else options.workers
    if environment == "multi-gpu" and workers > torch.cuda.device_count():
        raise ValueError(f"{WHERE}: workers={workers} but torch sees {torch.cuda.device_count()} GPUs; give at most that many.")
    if workers > len(sequences):
        raise ValueError(
            f"{WHERE}: workers={workers} is more than make sense for {len(sequences)} training sequences (each worker "
            f"takes a part of every mini-batch); give workers <= {len(sequences)}."
        )
    _check_picklable(loss, "loss")
    single = options.metrics is None or isinstance(options.metrics, str) or callable(options.metrics)
    for k, metric in enumerate([options.metrics] if single else list(options.metrics)):  # as training._metrics reads them
        _check_picklable(metric, "metrics" if single else f"metrics[{k}]")
    _refuse_in_worker()
    options = with_seed(options)
    return _spawn(fit, net, (loss, options, targets, sequences, validation), workers)


def _refuse_in_worker():
    """A worker started here that is asked to start workers is running the main script again.

    Python starts each worker by running the main script anew (multiprocessing's spawn imports it
    as "__mp_main__"), so a script that calls trainnet at top level, without the main guard, calls
    it again in every worker. Say so, in the worker's file for the parent (`_watch`) and here.
    """
    reason = os.environ.get(REASON)
    if reason is None:
        return
    main = sys.modules.get("__mp_main__", sys.modules.get("__main__"))  # runpy names the script's module so while it runs
    script = getattr(main, "__file__", "the main script")
    message = (
        f"Python starts each worker by running {script} again from the top (multiprocessing's spawn), and its top-level "
        f"code called trainnet again instead of leaving the training to the worker. Put the code that trains under "
        f'if __name__ == "__main__": (as the README\'s parallel example does).'
    )
    with open(reason, "w") as f:
        f.write(message)
    raise RuntimeError(f"{WHERE}: {message}")


def _join(options):
    """The Team of this process in the group that torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR, ...)."""
    if options.execution_environment == "multi-gpu" and not torch.cuda.is_available():
        raise ValueError(f"{WHERE}: execution_environment='multi-gpu' under torchrun, but torch sees no CUDA GPU; use 'parallel'.")
    device = _connect(options)
    if options.workers is not None and options.workers != dist.get_world_size():
        raise ValueError(
            f"{WHERE}: workers={options.workers}, but the process group has {dist.get_world_size()} processes (torchrun's "
            f"--nproc-per-node times --nnodes); leave workers=None under torchrun."
        )
    return Team(device)


def _connect(options, **group):
    """Join the process group (NCCL between GPUs, gloo between CPU processes); returns this worker's device.

    group: init_process_group's init_method, rank and world_size for the workers started here;
    without them, the group that torchrun's environment describes (or the one already set up).
    """
    gpu = options.execution_environment == "multi-gpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if gpu else "gloo", timeout=TIMEOUT, **group)
    if not gpu:
        return torch.device("cpu")
    local = group["rank"] if group else int(os.environ.get("LOCAL_RANK", dist.get_rank() % torch.cuda.device_count()))
    device = torch.device("cuda", local)
    torch.cuda.set_device(device)
    return device


def with_seed(options, team=SOLO):
    """The options with a seed: without one, the workers would shuffle each in its own order.

    A seed is drawn here, or by worker 0 of a team and sent to the others.
    """
    if options.seed is not None:
        return options
    return dataclasses.replace(options, seed=team.from_leader(lambda: int(np.random.default_rng().integers(2**31))))


def _seed(options, rank):
    """Each worker draws its own dropout masks, from seed + rank (`with_seed` made sure of a seed)."""
    torch.manual_seed(options.seed + rank)


def _check_picklable(thing, name):
    """The workers receive the loss and metrics by pickle; a function typed into a notebook cannot travel."""
    if thing is None or isinstance(thing, str):
        return
    fix = "define it in a .py file next to the notebook and import it, or train with execution_environment='cpu'"
    main = sys.modules.get("__main__")
    if getattr(thing, "__module__", None) == "__main__" and not hasattr(main, "__file__"):
        raise ValueError(
            f"{WHERE}: {name} is {getattr(thing, '__name__', thing)!r}, defined in this notebook or console; worker "
            f"processes cannot import it from there. To train in parallel, {fix}."
        )
    try:
        pickle.dumps(thing)
    except Exception as error:
        raise ValueError(
            f"{WHERE}: {name} ({getattr(thing, '__name__', type(thing).__name__)}) cannot be sent to the worker processes "
            f"({type(error).__name__}: {error}); a lambda or a nested function cannot be pickled. To train in parallel, {fix}."
        ) from None


def _spawn(fit, net, data, workers):
    """Train in `workers` new processes; `net` becomes the trained network. Returns the history rows."""
    trained, history = _start(fit, net, data, workers)
    _adopt(net, trained)
    return history


def _start(fit, net, data, workers):
    """Start `workers` processes, show worker 0's progress here, and take the trained network back."""
    context = mp.get_context("spawn")
    relay = context.Queue()
    threads = max(1, torch.get_num_threads() // workers)
    net = _to_bytes(net)  # a copy for each worker: torch would share a tensor's memory between processes
    with tempfile.TemporaryDirectory() as folder:
        store, reason = f"file://{os.path.join(folder, 'store')}", os.path.join(folder, "reason")
        os.environ[REASON] = reason  # the workers inherit the environment when they start (`_refuse_in_worker`)
        try:
            started = mp.start_processes(_worker, args=(fit, net, data, workers, store, threads, relay), nprocs=workers, join=False, start_method="spawn")
        finally:
            del os.environ[REASON]
        try:
            trained, history = _watch(started.processes, relay, data[1], reason)
        finally:
            for process in started.processes:
                if process.is_alive():
                    process.terminate()
            for process in started.processes:
                process.join(10)
                if process.is_alive():
                    process.kill()
    return trained, history


def _watch(processes, relay, options, reason):
    """Show worker 0's progress rows as they come; raise a worker's error here; returns (net, history).

    reason: the file in which a worker that stops before it can send its error says why.
    """
    progress, rows, result = None, [], None
    try:
        while True:
            try:
                kind, *message = relay.get(timeout=0.1)
            except queues.Empty:
                codes = [p.exitcode for p in processes]
                failed = [r for r, c in enumerate(codes) if c not in (None, 0)]
                if failed:
                    stopped = f"{WHERE}: worker {failed[0]} of {len(processes)} stopped (exit code {codes[failed[0]]})"
                    if os.path.exists(reason):
                        with open(reason) as f:
                            raise RuntimeError(f"{stopped}: {f.read()}")
                    raise RuntimeError(f"{stopped} without saying why.")
                if result is not None and (all(c == 0 for c in codes) or time.monotonic() > finished + 60):
                    return result  # the workers still running (leaving the group) are stopped by the caller
                continue
            if kind == "start":
                progress = Progress(options, total=message[0], rows=rows)
            elif kind == "row":
                rows.append(message[0])
                progress.update(message[0])
            elif kind == "error":
                rank, error, text = message
                _raise(error, text, rank, len(processes))
            elif kind == "done":
                result, finished = (_from_bytes(message[0]), message[1]), time.monotonic()
                rows[:] = message[1]  # the last row may have gained its final validation
    finally:
        if progress is not None:
            progress.close()


class WorkerTraceback(Exception):
    """The traceback of an error in a worker process, as text (the cause of the error raised here)."""


def _raise(error, text, rank, workers):
    cause = WorkerTraceback(f"in worker {rank} of {workers}:\n{text}")
    if error is None:
        raise RuntimeError(f"{WHERE}: worker {rank} of {workers} failed; its traceback is above.") from cause
    raise error from cause


def _worker(rank, fit, net, data, workers, store, threads, relay):
    """One worker process: join the group, train, and (worker 0) send the network back."""
    try:
        torch.set_num_threads(threads)
        loss, options, targets, sequences, validation = data
        device = _connect(options, init_method=store, rank=rank, world_size=workers)
        _seed(options, rank)
        net = _from_bytes(net)
        history = fit(net, loss, options, targets, sequences, validation, Team(device, relay if rank == 0 else None))
        if rank == 0:
            relay.put(("done", _to_bytes(net.cpu()), history))
        dist.destroy_process_group()
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the caller
        text = traceback.format_exc()
        try:
            pickle.dumps(error)
        except Exception:
            error = None
        relay.put(("error", rank, error, text))
        relay.close()
        relay.join_thread()  # sent before the process ends
        sys.exit(1)


def _to_bytes(net):
    buffer = io.BytesIO()
    torch.save(net, buffer)
    return buffer.getvalue()


def _from_bytes(data):
    return torch.load(io.BytesIO(data), weights_only=False)  # our own network, from our own process


def _adopt(net, trained):
    """Make `net` the trained network: the same objects (layers, parameters), the trained values."""
    for target, source in zip(net.modules(), trained.modules()):
        for key, value in vars(source).items():
            if key == "_parameters":
                for name, p in value.items():
                    if p is not None and target._parameters.get(name) is not None:
                        with torch.no_grad():
                            target._parameters[name].copy_(p)
                    else:
                        target._parameters[name] = p
            elif key != "_modules":
                target.__dict__[key] = value
