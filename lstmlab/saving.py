"""Saving and loading networks, safely.

A network file is one NumPy .npz archive, read with allow_pickle=False: every tensor (weights,
states, normalization statistics) is a plain array, and the rest (the layers and their options,
class names, training history) is JSON text stored as bytes. Layers are remade from a fixed table
of lstmlab's own classes, so loading a file never runs code or unpickles objects.

`net.save(path)` writes a file with `save`. `ll.load_network(path)` (in lstmlab/network.py) reads
it with `read`, makes a Network of the layers it remade, and fills that with `restore`.

A model that is more than one network (an `ll.EncoderDecoder`) is saved the same way, as JSON and
plain arrays in one archive (`write_archive`), under a format of its own; the module that defines
it registers its loader in `LOADERS`, and `read` hands such a file to it.

A file is never half-written where a good one was: `write` writes a temporary file beside the
target and renames it into place (`os.replace`, atomic), so a save that dies half-way leaves the
previous file as it was.
"""

import json
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ._version import __version__
from .layers import REGISTRY

FORMAT, VERSION = "lstmlab network", 1
LAYERS = {row.cls.__name__: row.cls for row in REGISTRY}
CONFIG = "__config__"
STATE = "training_state"  # what a checkpoint adds: see lstmlab.checkpoints
ZIP_SIGNATURE = b"PK\x03\x04"  # the first bytes of every .npz file, a zip archive
LOADERS = {}  # {format: load(config, tensors, path) -> model}, for models of other kinds (lstmlab.seq2seq registers one)


def save(net, path, training_state=None):
    """Write an `ll.Network` to `path` (an .npz file): see the module docstring.

    training_state: None, or (config, arrays) of a checkpoint (see `lstmlab.checkpoints`), kept
    beside the network: config (JSON) under the config's "training_state", arrays under
    "training_state/NAME".
    """
    history = getattr(net, "training_history_", None)
    config = {
        "format": FORMAT,
        "version": VERSION,
        "lstmlab": __version__,
        "layers": [{"type": type(layer).__name__, "options": layer.config()} for layer in net.layers],
        "class_names": net.class_names,
        "label_kind": net.label_kind,
        "sequence_options": net.sequence_options,
        "training_history": None if history is None else history.to_dict(orient="list"),
    }
    tensors = {f"{layer.name}.{name}": t.detach().cpu().numpy() for layer in net.layers for name, t in layer.state_dict().items()}
    if training_state is not None:
        config[STATE], arrays = training_state
        tensors.update({f"{STATE}/{name}": array for name, array in arrays.items()})
    write_archive(path, config, tensors)


def write_archive(path, config, tensors):
    """Write config (JSON text) and tensors ({name: array}) as one .npz archive, the format of every lstmlab file."""
    text = json.dumps(config, default=_plain).encode("utf-8")
    write(path, lambda f: np.savez_compressed(f, **{CONFIG: np.frombuffer(text, dtype=np.uint8)}, **tensors))


def write(path, fill):
    """Write a file with `fill(f)` (f: a binary file open for writing) so that it appears whole or not at all.

    The bytes go to a temporary file in the target's folder, which replaces the target only once
    it is complete; if `fill` fails (or the process dies), the previous file at `path` is intact
    and the temporary file is removed (or, after a kill, left as a hidden .tmp file).
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it the file
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would have made it (mkstemp makes it private)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class NetworkFile:
    """What a network file holds.

    Attributes:
        layers: the layers, remade from their types and options (weights not yet filled in).
        tensors: {"layer name.attribute": tensor}: weights, states and statistics.
        class_names, label_kind: as `ll.trainnet` set them (None for regression).
        history: the training history as a DataFrame, or None.
        sequence_options: the sequence options it was trained with ({} in files older than them:
            the network then predicts with the defaults).
        training_state: a checkpoint's (config, {name: array}), or None (see `lstmlab.checkpoints`).
    """

    layers: list
    tensors: dict
    class_names: list
    label_kind: str
    history: pd.DataFrame
    sequence_options: dict
    training_state: tuple = None


def read(path):
    """Read and check a network file written by `save`; returns a `NetworkFile`, or, for a file of a
    format in `LOADERS`, the model its loader makes."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"load_network: there is no file {path}.")
    with open(path, "rb") as f:
        start = f.read(len(ZIP_SIGNATURE))
    if start != ZIP_SIGNATURE:
        if ZIP_SIGNATURE.startswith(start):  # empty, or cut within its first bytes
            raise _incomplete(path, f"{len(start)} bytes")
        raise ValueError(
            f"load_network: {path} is not an lstmlab network file: it is not an .npz (zip) archive, which is what "
            f"net.save writes. Give the path of a file saved with net.save(path)."
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            if CONFIG not in archive.files:
                raise ValueError(f"load_network: {path} is not an lstmlab network file: it has no {CONFIG} entry.")
            config = json.loads(archive[CONFIG].tobytes().decode("utf-8"))
            tensors = {key: torch.from_numpy(archive[key]) for key in archive.files if key != CONFIG and not key.startswith(f"{STATE}/")}
            state = {key.split("/", 1)[1]: archive[key] for key in archive.files if key.startswith(f"{STATE}/")}
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:  # the archive ends early or is damaged
        raise _incomplete(path, f"{Path(path).stat().st_size} bytes; zipfile: {error}") from None
    except (OSError, ValueError, UnicodeDecodeError) as error:  # an entry holds pickled objects, or no array
        if str(error).startswith("load_network"):
            raise
        raise ValueError(f"load_network: {path} is not an lstmlab network file ({error}).") from None
    if config.get("format") in LOADERS:
        return LOADERS[config["format"]](config, tensors, path)
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise ValueError(
            f"load_network: {path} holds format {config.get('format')!r} version {config.get('version')!r}; this "
            f"lstmlab reads {FORMAT!r} version {VERSION}."
        )
    history = None if config["training_history"] is None else pd.DataFrame(config["training_history"])
    layers = [_layer(entry, path) for entry in config["layers"]]
    training_state = (config[STATE], state) if STATE in config else None
    return NetworkFile(layers, tensors, config["class_names"], config["label_kind"], history, config.get("sequence_options", {}), training_state)


def _incomplete(path, why):
    """The error for a network file that ends early or is damaged."""
    return ValueError(
        f"load_network: {path} is not a complete lstmlab network file ({why}): it ends early or is damaged, as when "
        f"a save or a copy is cut short. Save the network again with net.save(path)."
    )


def restore(net, saved):
    """Fill `net`, an `ll.Network` of `saved.layers`, with the file's tensors, classes, sequence
    options and history; returns it."""
    parameters = [value for key, value in saved.tensors.items() if isinstance(_attribute(net, key), torch.nn.Parameter)]
    if parameters:
        net.to(parameters[0].dtype)  # the network's dtype, as saved
    for key, value in saved.tensors.items():
        layer_name, attribute = key.split(".", 1)
        layer = net[layer_name]
        current = getattr(layer, attribute)
        if isinstance(current, torch.nn.Parameter):
            current.data = value.to(current.dtype)
        else:
            setattr(layer, attribute, value)
    net.class_names = saved.class_names
    net.label_kind = saved.label_kind
    net.sequence_options.update(saved.sequence_options)
    if saved.history is not None:
        net.training_history_ = saved.history
    net.eval()
    return net


def _attribute(net, key):
    layer_name, attribute = key.split(".", 1)
    return getattr(net[layer_name], attribute)


def _layer(entry, path):
    if entry.get("type") not in LAYERS:
        raise ValueError(f"load_network: {path} names a layer type {entry.get('type')!r} that lstmlab does not have.")
    options = dict(entry["options"])
    if isinstance(options.get("input_size"), list):
        options["input_size"] = tuple(options["input_size"])
    return LAYERS[entry["type"]](**options)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _plain(value):
    """JSON for the NumPy scalars that configs and histories hold."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"save: cannot store {type(value).__name__} in a network file.")
