"""Build datasets/python_source.npz, a slice of CPython 3.11.7's standard library source (run once, by hand).

    python datasets/python_source.py /root/.pyenv/versions/3.11.7/lib/python3.11 datasets

The slice: every module directly in Lib/ (no packages, no tests), sorted by file name, that is
pure ASCII, read as bytes and never changed; _sysconfigdata_*.py is left out (the build settings of
one machine, written when Python was built, not source anyone wrote). File k of that sorted list (counting from 0) goes to
the validation split when k % 10 == 8, to the held-out test split when k % 10 == 9, and to the
training split otherwise; each split is its files one after the other, in sorted order. Re-running
it on the same Python gives a byte-identical file (NumPy's .npz writes no dates).
"""

import hashlib
import sys
from pathlib import Path

import numpy as np

SPLITS = ("train", "validation", "test")


def split_of(k):
    """The split of file k of the sorted list: 1 in 10 files to validation, 1 in 10 to test."""
    return {8: "validation", 9: "test"}.get(k % 10, "train")


def python_source(lib, out):
    modules = [path for path in sorted(Path(lib).glob("*.py")) if not path.name.startswith("_sysconfigdata_")]
    files = [path for path in modules if path.read_bytes().isascii()]
    chosen = {split: [] for split in SPLITS}
    for k, path in enumerate(files):
        chosen[split_of(k)].append(path)
    arrays = {}
    for split, paths in chosen.items():
        text = b"".join(path.read_bytes() for path in paths)
        arrays[split] = np.frombuffer(text, dtype=np.uint8)  # (characters,) ASCII codes
        print(f"{split}: {len(paths)} files, {len(text)} characters, sha256 {hashlib.sha256(text).hexdigest()}")
        print("  " + " ".join(path.name for path in paths))
    np.savez_compressed(Path(out) / "python_source.npz", **arrays)


if __name__ == "__main__":
    python_source(sys.argv[1], sys.argv[2])
