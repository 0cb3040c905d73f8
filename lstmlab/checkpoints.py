"""Checkpoints: training that stops (or dies) and goes on as if it never had (MATLAB's CheckpointPath).

With `training_options(checkpoint_path=DIR)`, `ll.trainnet` writes a checkpoint every
checkpoint_frequency epochs or iterations, DIR/checkpoint_epoch{E}_iteration{I}.npz after
iteration I in epoch E (both counted in this run, from 1). A checkpoint is a network file
(`ll.load_network` reads it: the weights after iteration I) that also keeps, as plain arrays and
JSON, what the run needs to go on:

    epoch, batches    the epoch in progress (from 0) and how many of its mini-batches are done
    iteration         iterations done, and the solver's step count and moments (m, s)
    seed              the shuffle seed (drawn and kept when shuffle="every-epoch" had none)
    random state      torch's generator (dropout masks), and the GPU's when training on one
    validation        the lowest validation loss, the patience left, and with
                      output_network="best-validation-loss" the weights of that validation
    history           this run's rows of training_history_ so far

`ll.trainnet(X, Y, ll.load_checkpoint(file), loss, options)` continues from the checkpoint: with
the same data and options it ends with the weights and history of a run that never stopped
(the seconds column aside). Each checkpoint is written whole or not at all (`saving.write`).
"""

from dataclasses import dataclass

import torch

from . import saving
from .network import Network

MOMENTS = ("m", "s")


@dataclass
class TrainingState:
    """Where a training run stood when its checkpoint was written (see the module docstring)."""

    epoch: int
    batches: int
    iteration: int
    seed: int
    best: float
    patience_left: float
    seconds: float
    solver: str
    solver_iteration: int
    history: list
    moments: list  # [(m, s)] per learnable parameter, in `net.learnables()` order
    random: torch.Tensor
    cuda_random: torch.Tensor = None
    best_weights: dict = None  # the network's state_dict at the best validation, or None


def write(run, folder):
    """Write a checkpoint of `run` (a `training.Run`) into `folder`; returns its path."""
    net, solver = run.net, run.solver
    config = {
        "epoch": run.epoch,
        "batches": run.batches,
        "iteration": run.iteration,
        "seed": run.seed,
        "best": run.best,
        "patience_left": run.patience_left,
        "seconds": run.seconds(),
        "solver": solver.solver,
        "solver_iteration": solver.iteration,
        "history": run.history,
    }
    arrays = {"random": torch.get_rng_state().numpy()}
    device = net.layers[0].like.device
    if device.type == "cuda":
        arrays["cuda_random"] = torch.cuda.get_rng_state(device).numpy()
    for k, entry in enumerate(solver.entries):
        arrays.update({f"solver.{moment}.{k}": entry[moment].detach().cpu().numpy() for moment in MOMENTS})
    for key, value in (run.best_weights or {}).items():
        arrays[f"best.{key}"] = value.cpu().numpy()
    net.class_names, net.label_kind = run.targets.class_names, run.targets.label_kind  # a checkpoint classifies
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint_epoch{run.history[-1]['epoch']}_iteration{run.iteration}.npz"  # as the history counts
    saving.save(net, path, training_state=(config, arrays))
    return path


def load_checkpoint(path):
    """Read a checkpoint written during training (`training_options(checkpoint_path=...)`).

    Args:
        path: a checkpoint_epoch{E}_iteration{I}.npz file.

    Returns:
        The network as it was after iteration I, with `training_state_` (a `TrainingState`;
        `pd.DataFrame(net.training_state_.history)` is this run's history so far). Give it to
        `ll.trainnet` with the same data, loss and options to continue the run; it also predicts
        and classifies as it is. Its `training_history_` is what the network had before this
        run (none for a new network), as `net.save` would have written it: trainnet puts this
        run's rows after it, as for any network trained again.
    """
    saved = saving.read(path)
    if saved.training_state is None:
        raise ValueError(
            f"load_checkpoint: {path} is a network file without a training state (written by net.save, not during "
            f"training); read it with ll.load_network, or give a checkpoint_epoch..._iteration....npz file."
        )
    net = saving.restore(Network(saved.layers), saved)
    config, arrays = saved.training_state
    moments = []
    while f"solver.m.{len(moments)}" in arrays:
        moments.append(tuple(torch.from_numpy(arrays[f"solver.{moment}.{len(moments)}"]) for moment in MOMENTS))
    best = {key[len("best.") :]: torch.from_numpy(value) for key, value in arrays.items() if key.startswith("best.")}
    cuda = arrays.get("cuda_random")
    net.training_state_ = TrainingState(
        **{name: config[name] for name in ("epoch", "batches", "iteration", "seed", "best", "patience_left", "seconds", "solver", "solver_iteration", "history")},
        moments=moments,
        random=torch.from_numpy(arrays["random"]),
        cuda_random=None if cuda is None else torch.from_numpy(cuda),
        best_weights=best or None,
    )
    return net


def resume(run, state):
    """Put a `training.Run` where the checkpoint's run stood; the next iteration is the one after it."""
    if state.solver != run.solver.solver:
        raise ValueError(
            f"trainnet: the checkpoint was trained with solver {state.solver!r} but the options say "
            f"{run.solver.solver!r}; its moments belong to its solver. Give training_options({state.solver!r}, ...)."
        )
    if len(state.moments) != len(run.solver.entries):
        raise ValueError(f"trainnet: the checkpoint holds solver moments for {len(state.moments)} parameters; the network has {len(run.solver.entries)}.")
    for entry, moments in zip(run.solver.entries, state.moments):
        for moment, value in zip(MOMENTS, moments):
            entry[moment].copy_(value)
    run.solver.iteration = state.solver_iteration
    run.epoch, run.batches, run.iteration, run.seed = state.epoch, state.batches, state.iteration, state.seed
    run.best, run.patience_left, run.elapsed = state.best, state.patience_left, state.seconds
    run.history[:] = [dict(row) for row in state.history]
    device = run.net.layers[0].like.device
    if state.best_weights is not None:
        run.best_weights = {key: value.to(device) for key, value in state.best_weights.items()}
    torch.set_rng_state(state.random)
    if state.cuda_random is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state.cuda_random, device)

