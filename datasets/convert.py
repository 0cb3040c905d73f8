"""Build lstmlab's data files in datasets/ from files bundled in PyPI wheels (run once, by hand).

    pip download --no-deps -d /tmp/wheels sktime==1.2.0 statsmodels==0.15.0 scikit-learn==1.9.1
    python datasets/convert.py /tmp/wheels datasets
"""

import gzip
import sys
import zipfile
from pathlib import Path

import numpy as np


def wheel_member(wheels, prefix, member):
    (wheel,) = Path(wheels).glob(prefix + "-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return z.read(member)


def parse_ts(text):
    """A .ts file (sktime/UEA format) -> list of (T, C) float64 arrays and list of labels."""
    X, y = [], []
    in_data = False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower() == "@data":
            in_data = True
            continue
        if not in_data:
            continue
        *channels, label = line.split(":")
        rows = [np.array(c.split(","), dtype=float) for c in channels]
        assert len({len(r) for r in rows}) == 1, "ragged channels"
        X.append(np.stack(rows, axis=1))  # (T, C)
        y.append(label)
    return X, y


def japanese_vowels(wheels, out):
    arrays = {}
    for split in ("train", "test"):
        member = f"sktime/datasets/data/JapaneseVowels/JapaneseVowels_{split.upper()}.ts"
        X, y = parse_ts(wheel_member(wheels, "sktime", member).decode())
        values = np.concatenate(X).astype(np.float32)
        # float32 keeps the 6 printed decimals exactly
        assert np.array_equal(np.round(values.astype(np.float64), 6), np.round(np.concatenate(X), 6))
        arrays[f"{split}_values"] = values
        arrays[f"{split}_lengths"] = np.array([len(x) for x in X], dtype=np.uint8)
        arrays[f"{split}_labels"] = np.array([int(label) for label in y], dtype=np.uint8)
    np.savez_compressed(out / "japanese_vowels.npz", **arrays)


def co2(wheels, out):
    data = wheel_member(wheels, "statsmodels", "statsmodels/datasets/co2/co2.csv")
    (out / "mauna_loa_co2_weekly.csv").write_bytes(data)  # shipped unchanged


def digits(wheels, out):
    raw = gzip.decompress(wheel_member(wheels, "scikit_learn", "sklearn/datasets/data/digits.csv.gz"))
    table = np.loadtxt(raw.decode().splitlines(), delimiter=",")  # (1797, 65): 64 pixels, then the class
    images = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)
    labels = table[:, 64].astype(np.uint8)
    assert np.array_equal(images, table[:, :64].reshape(-1, 8, 8)) and images.max() == 16
    np.savez_compressed(out / "digits_8x8.npz", images=images, labels=labels)


if __name__ == "__main__":
    wheels, out = sys.argv[1], Path(sys.argv[2])
    japanese_vowels(wheels, out)
    co2(wheels, out)
    digits(wheels, out)
