"""Where `ll.trace` keeps what it records: in memory, or in .npy files on disk (`trace(out=...)`).

Both stores take `add(name, indices, reached, directions)` for each recorded layer of each
mini-batch (chunk) as it runs; `finish` gives {layer name: [per direction: {q: (N, S, U)}]}.
"""

import json
import pathlib

import numpy as np


class MemoryStore:
    """Keeps each mini-batch's recording in memory and assembles (N, S, U) arrays at the end."""

    def __init__(self, names, N, step_index):
        self.parts = {name: [] for name in names}  # per layer: (indices, reached, [per direction: {q: (B, S_reached, U)}])
        self.N, self.step_index = N, step_index

    def add(self, name, indices, reached, directions):
        self.parts[name].append((indices, reached, directions))

    def finish(self, lengths, errors, computed_by):
        """{layer name: [per direction: {q: (N, S, U)}]}; the arguments are for `DiskStore`'s manifest."""
        return {name: _assemble(parts, self.N, len(self.step_index[name])) for name, parts in self.parts.items()}


class DiskStore:
    """Writes each chunk's recording into .npy files as it comes; reads them back memory-mapped. Each
    chunk maps a file, writes and unmaps it, so that the pages written leave the process's memory."""

    def __init__(self, folder, layers, quantities, N, step_index, unit_index, dtype):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True)
        self.files = {}  # (layer name, d, q) -> (path, header offset, shape)
        self.manifest = {"format": "lstmlab trace", "version": 1, "dtype": np.dtype(dtype).name, "layers": {}}
        for layer in layers:
            S, U = len(step_index[layer.name]), len(unit_index[layer.name])
            for d, direction in enumerate(layer.directions):
                for q in quantities[layer.name]:
                    path = self.folder / f"{layer.name}.{direction}.{q}.npy"
                    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(N, S, U))
                    self.files[layer.name, d, q] = (path, array.offset, array.shape)
                    del array  # unmapped; each chunk maps it again
            steps = f"{layer.name}.steps.npy"  # (S,), as long as the text: a file, not JSON
            np.save(self.folder / steps, step_index[layer.name])
            entry = {"kind": layer.kind, "directions": list(layer.directions), "quantities": list(quantities[layer.name]), "steps": steps}
            self.manifest["layers"][layer.name] = {**entry, "units": unit_index[layer.name].tolist()}
        self.reached = {name: np.zeros((N, len(step_index[name])), bool) for name in self.manifest["layers"]}  # (N, S)
        self.dtype = np.dtype(dtype)

    def add(self, name, indices, reached, directions):
        where = np.ix_(indices, np.flatnonzero(reached))
        for d, arrays in enumerate(directions):
            for q, values in arrays.items():
                self._map(name, d, q)[where] = values
        self.reached[name][where] = True

    def finish(self, lengths, errors, computed_by):
        """Fill the steps no mini-batch reached with NaN, write manifest.json, and map the files to read."""
        for name, d, q in self.files:
            if not self.reached[name].all():  # steps a mini-batch did not reach hold NaN, as in memory
                self._map(name, d, q)[~self.reached[name]] = np.nan
        for name, entry in self.manifest["layers"].items():
            entry.update(lengths=lengths[name].tolist(), max_error=errors[name], computed_by=computed_by[name])
        (self.folder / "manifest.json").write_text(json.dumps(self.manifest, indent=1))
        return {  # read-only, memory-mapped
            name: [{q: np.load(self.folder / f"{name}.{direction}.{q}.npy", mmap_mode="r") for q in entry["quantities"]} for direction in entry["directions"]]
            for name, entry in self.manifest["layers"].items()
        }

    def _map(self, name, d, q):
        path, offset, shape = self.files[name, d, q]
        return np.memmap(path, dtype=self.dtype, mode="r+", offset=offset, shape=shape)


def _assemble(parts, N, S):
    """Per-direction {q: (N, S, U)} arrays from per-batch parts; NaN where a batch did not reach."""
    indices, reached, directions = parts[0]
    if len(parts) == 1 and reached.all() and np.array_equal(indices, np.arange(N)):
        return directions  # one mini-batch that reached every chosen step: no copy at all
    assembled = []
    for d, first in enumerate(directions):
        arrays = {q: np.full((N, S, v.shape[2]), np.nan, dtype=v.dtype) for q, v in first.items()}
        for indices, reached, directions in parts:
            for q, v in directions[d].items():
                arrays[q][np.ix_(indices, np.flatnonzero(reached))] = v
        assembled.append(arrays)
    return assembled
