import os
import json

import numpy as np
import pandas as pd
import pytest
import torch

import lstmlab as ll

from helpers import naming


def trained(tmp_path):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(T, 3)).astype("float32") for T in rng.integers(4, 12, size=30)]
    y = pd.Categorical(np.where([x[:, 0].sum() > 0 for x in X], "up", "down"))
    torch.manual_seed(0)
    net = ll.Network([
        ll.sequence_input_layer(3, normalization="zscore", min_length=2),
        ll.bilstm_layer(4, input_weights_learn_rate_factor=[1, 2, 3, 4], cell_state=np.arange(8.0) / 10),
        ll.gru_layer(3, reset_gate_mode="recurrent-bias-after-multiplication", output_mode="last"),
        ll.dropout_layer(0.25),
        ll.fully_connected_layer(2, bias_l2_factor=0.5),
        ll.softmax_layer(),
    ])
    net = ll.trainnet(X, y, net, "crossentropy", ll.training_options(max_epochs=2, mini_batch_size=10, verbose=False))
    return net, X


def test_a_trained_network_round_trips_exactly(tmp_path):
    net, X = trained(tmp_path)
    ll.predict_and_update_state(net, X)  # states of 30 sequences
    path = tmp_path / "net.npz"
    net.save(path)
    back = ll.load_network(path)
    np.testing.assert_array_equal(ll.predict(back, X), ll.predict(net, X))
    for (name, a), (_, b) in zip(net.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), name
    assert back.class_names == ["down", "up"] and isinstance(ll.classify(back, X), pd.Categorical)
    assert back["bilstm"].learn_rate_factor["input_weights"].tolist() == [1, 2, 3, 4]
    assert back["fc"].l2_factor["bias"] == 0.5 and back["sequenceinput"].min_length == 2
    assert back["gru"].reset_gate_mode == "recurrent-bias-after-multiplication"
    assert back.state["bilstm"]["cell"].shape == (30, 8)
    pd.testing.assert_frame_equal(back.training_history_, net.training_history_)
    back.reset_state()
    np.testing.assert_array_equal(back["bilstm"].cell_state.numpy(), np.float32(np.arange(8.0) / 10))


def test_the_sequence_options_and_held_states_travel_in_the_file(tmp_path):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(T, 2)).astype("float32") for T in (3, 9, 5, 12)]
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3, output_mode="last"), ll.fully_connected_layer(2), ll.softmax_layer()])
    options = dict(sequence_length=4, sequence_padding_direction="left", sequence_padding_value=-1.5, freeze_padding=True)
    net = ll.trainnet(X, ["a", "b", "a", "b"], net, "crossentropy", ll.training_options(max_epochs=1, verbose=False, **options))
    assert net.sequence_options == options
    ll.classify_and_update_state(net, X)
    net.save(tmp_path / "net.npz")
    back = ll.load_network(tmp_path / "net.npz")
    assert back.sequence_options == options
    np.testing.assert_array_equal(ll.predict(back, X), ll.predict(net, X))  # from the held states, with the options
    assert back.holds_state and "Holds states left by predict_and_update_state" in repr(back)
    trained_with = "Trained with sequence_length=4, sequence_padding_direction='left', sequence_padding_value=-1.5, freeze_padding=True"
    assert trained_with in repr(back)
    ll.reset_state(back)
    assert not back.holds_state and "Holds states" not in repr(back) and trained_with in repr(back)


def test_a_file_older_than_the_sequence_options_predicts_with_the_defaults(tmp_path):
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)])
    net.sequence_options["sequence_padding_direction"] = "left"
    net.save(tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz") as archive:
        entries = dict(archive)
    config = json.loads(entries["__config__"].tobytes())
    del config["sequence_options"]
    entries["__config__"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    np.savez(tmp_path / "old.npz", **entries)
    assert ll.load_network(tmp_path / "old.npz").sequence_options["sequence_padding_direction"] == "right"
    assert ll.load_network(tmp_path / "net.npz").sequence_options["sequence_padding_direction"] == "left"


def test_float64_networks_stay_float64(tmp_path):
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)]).double()
    net.save(tmp_path / "n.npz")
    back = ll.load_network(tmp_path / "n.npz")
    assert back["lstm"].input_weights.dtype == torch.float64
    x = np.random.default_rng(0).normal(size=(1, 4, 2))
    np.testing.assert_array_equal(ll.predict(back, x), ll.predict(net, x))


def test_what_cannot_be_saved_or_loaded(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"there is no file .*nothing.npz"):
        ll.load_network(tmp_path / "nothing.npz")
    with pytest.raises(ValueError, match=r"normalizes with a callable, which a file cannot hold safely"):
        ll.Network([ll.sequence_input_layer(2, normalization=lambda x: x)]).save(tmp_path / "x.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match=r"text.npz is not an lstmlab network file"):
        ll.load_network(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match=r"other.npz is not an lstmlab network file: it has no __config__ entry"):
        ll.load_network(tmp_path / "other.npz")
    np.savez(tmp_path / "evil.npz", __config__=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="is not an lstmlab network file"):
        ll.load_network(tmp_path / "evil.npz")


def test_a_file_cut_short_or_not_a_zip_says_so(tmp_path):
    net = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)])
    net.save(tmp_path / "whole.npz")
    data = (tmp_path / "whole.npz").read_bytes()
    for name, part in [("half", data[: len(data) // 2]), ("end", data[:-1]), ("start", data[:2]), ("empty", b"")]:
        (tmp_path / f"{name}.npz").write_bytes(part)
        size = r"\d+ bytes; zipfile: File is not a zip file" if len(part) > 4 else f"{len(part)} bytes"
        with pytest.raises(ValueError, match=rf"load_network: .*{name}.npz is not a complete lstmlab network file \({size}\): it ends early or is damaged, as when a save or a copy is cut short. Save the network again with net.save\(path\)"):
            ll.load_network(tmp_path / f"{name}.npz")
    damaged = bytearray(data)
    damaged[100:140] = bytes(40)  # inside the first entry: its checksum no longer matches
    (tmp_path / "damaged.npz").write_bytes(damaged)
    with pytest.raises(ValueError, match=naming("damaged.npz is not a complete lstmlab network file", "zipfile:")):
        ll.load_network(tmp_path / "damaged.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    (tmp_path / "text.npz").write_text("hello")
    for name in ("text.npz", "array.npy"):
        with pytest.raises(ValueError, match=rf"{name} is not an lstmlab network file: it is not an .npz \(zip\) archive, which is what net.save writes. Give the path of a file saved with net.save\(path\)"):
            ll.load_network(tmp_path / name)


def test_a_save_that_dies_half_way_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    old = ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(3)])
    old.save(path)
    before = path.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # as a plain open() makes it

    def dies_half_way(f, **arrays):
        f.write(b"PK\x03\x04" + bytes(1000))  # the start of a zip archive, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(5)]).save(path)
    assert path.read_bytes() == before
    assert ll.load_network(path)["lstm"].num_hidden_units == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]  # no temporary file left behind
    monkeypatch.undo()
    ll.Network([ll.sequence_input_layer(2), ll.lstm_layer(5)]).save(path)  # a save that completes replaces it
    assert ll.load_network(path)["lstm"].num_hidden_units == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
