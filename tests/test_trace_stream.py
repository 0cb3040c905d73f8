"""ll.trace(..., out=folder): the recording streamed to disk chunk by chunk, read back memory-mapped."""

import json

import numpy as np
import pytest

import lstmlab as ll

from helpers import shaken

C = 3


def two_layer_net(rng, recurrent):
    return shaken(ll.Network([ll.sequence_input_layer(C), recurrent, ll.lstm_layer(6, name="top")]).double(), rng)


@pytest.mark.parametrize("recurrent", [ll.lstm_layer(6), ll.gru_layer(6)], ids=["lstm", "gru"])
def test_streamed_trace_equals_the_trace_held_in_memory(recurrent, rng, tmp_path):
    # chunks of 7 steps: the state crosses chunk boundaries 6 times in the longest sequence. The
    # chunked run computes the same equations from the same states, but torch's kernels sum in
    # another order for another T, so the two agree to float64 rounding, not bit for bit.
    net = two_layer_net(rng, recurrent)
    X = [rng.normal(size=(T, C)) for T in (30, 17, 44)]
    whole = ll.trace(net, X, mini_batch_size=2, units=[5, 0, 2], steps=slice(3, 40))
    streamed = ll.trace(net, X, mini_batch_size=2, units=[5, 0, 2], steps=slice(3, 40), out=tmp_path / "tr", chunk_length=7)
    for name in whole:
        kept, got = whole[name], streamed[name]
        assert got.quantities == kept.quantities
        np.testing.assert_array_equal(got.steps, kept.steps)
        np.testing.assert_array_equal(got.units, [5, 0, 2])
        np.testing.assert_array_equal(got.mask, kept.mask)
        for q in kept.quantities:
            assert isinstance(getattr(got, q), np.memmap)
            np.testing.assert_allclose(getattr(got, q), getattr(kept, q), atol=1e-14, rtol=0, err_msg=f"{name}.{q}")  # NaN where NaN
        assert got.max_error < 1e-13
        assert got.computed_by == kept.computed_by
    top = ll.predict(net, X, mini_batch_size=2)[1]  # (17, 6), the top layer's h of sequence 1
    np.testing.assert_allclose(streamed["top"].h[1, : 17 - 3][:, [0, 1, 2]], top[3:17][:, [5, 0, 2]], atol=1e-14)


def test_float32_stream_of_one_long_sequence_and_its_files(rng, tmp_path):
    net = ll.Network([ll.sequence_input_layer(C), ll.lstm_layer(8)])
    x = rng.normal(size=(1000, C)).astype(np.float32)
    whole = ll.trace(net, x)
    streamed = ll.trace(net, x, out=tmp_path / "tr", chunk_length=64)
    for q in "ifgoch":
        np.testing.assert_allclose(getattr(streamed["lstm"], q), getattr(whole["lstm"], q), atol=2e-6, rtol=0)
    assert streamed.max_error < 1e-5
    manifest = json.loads((tmp_path / "tr" / "manifest.json").read_text())
    assert manifest["dtype"] == "float32" and manifest["layers"]["lstm"]["quantities"] == list("ifgoch")
    c = np.load(tmp_path / "tr" / "lstm.forward.c.npy", mmap_mode="r")  # numpy reads each file directly
    assert c.shape == (1, 1000, 8)
    np.testing.assert_array_equal(np.load(tmp_path / "tr" / manifest["layers"]["lstm"]["steps"]), np.arange(1000))
    np.testing.assert_array_equal(c, streamed["lstm"].c)


def test_quantities_and_dtype_choose_what_is_recorded(rng, tmp_path):
    net = two_layer_net(rng, ll.gru_layer(4))
    X = rng.normal(size=(2, 9, C))
    full = ll.trace(net, X)
    small = ll.trace(net, X, quantities=["h"], dtype="float16")
    assert small["gru"].quantities == ("h",) and small["top"].quantities == ("h",)
    assert small["gru"].h.dtype == np.float16
    np.testing.assert_array_equal(small["gru"].h, full["gru"].h.astype(np.float16))
    assert small.max_error == full.max_error  # checked on every quantity computed, whatever is kept
    with pytest.raises(AttributeError):
        small["gru"].z
    streamed = ll.trace(net, X, layers="top", quantities=("c", "i"), dtype=np.float32, out=tmp_path / "tr", chunk_length=4)
    assert streamed["top"].quantities == ("i", "c") and streamed["top"].c.dtype == np.float32
    assert sorted(p.name for p in (tmp_path / "tr").iterdir()) == ["manifest.json", "top.forward.c.npy", "top.forward.i.npy", "top.steps.npy"]


def test_bad_streaming_options_are_clear_errors(rng, tmp_path):
    net = two_layer_net(rng, ll.gru_layer(4))
    X = rng.normal(size=(2, 9, C))
    (tmp_path / "old").mkdir()
    with pytest.raises(ValueError, match=r"out='.*old' already exists, and a trace is never written over another.*shutil.rmtree"):
        ll.trace(net, X, out=tmp_path / "old")
    with pytest.raises(ValueError, match=r"quantities has 'c', which the gru layer 'gru' does not compute; choose from r, z, n, h"):
        ll.trace(net, X, quantities=["c", "h"])
    with pytest.raises(ValueError, match=r"quantities must be a quantity name or a non-empty list"):
        ll.trace(net, X, quantities=[])
    with pytest.raises(ValueError, match=r"dtype must be 'float16' or 'float32' \(or None for the network's own\); got 'int8'"):
        ll.trace(net, X, dtype="int8")
    with pytest.raises(ValueError, match=r"chunk_length must be a positive integer; got 0"):
        ll.trace(net, X, out=tmp_path / "new", chunk_length=0)
    with pytest.raises(TypeError, match=r"out must be a folder path .*; got int"):
        ll.trace(net, X, out=3)
    with pytest.raises(ValueError, match=r"mini_batch_size must be a positive integer; got 0"):  # checked before the folder is made
        ll.trace(net, X, out=tmp_path / "new", mini_batch_size=0)
    with pytest.raises(ValueError, match=r"units must be integers in 0..3 .*; got 7"):
        ll.trace(net, X, out=tmp_path / "new", units=7)
    bi = ll.Network([ll.sequence_input_layer(C), ll.bilstm_layer(3)])
    with pytest.raises(ValueError, match=r"the bidirectional layer 'bilstm' reads each sequence backwards"):
        ll.trace(bi, X, out=tmp_path / "bi")
    assert not (tmp_path / "new").exists() and not (tmp_path / "bi").exists()
