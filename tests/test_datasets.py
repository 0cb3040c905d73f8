import hashlib
import pickle

import numpy as np
import pandas as pd
import pytest

import lstmlab as ll
from lstmlab import datasets

from helpers import naming

SHA256 = {  # also listed in datasets/README.md; change both together
    "japanese_vowels.npz": "0b3454f2738124a795089de6c7f716dfc528407206f2e1998e57544f983767ec",
    "mauna_loa_co2_weekly.csv": "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f",
    "digits_8x8.npz": "b2dab7b501728c22e9119ad76740b2e17c77a231e42d1e592380d90886f1a05e",
    "python_source.npz": "0c3604e5d93ce11324d259b8366a7ef4f89a3332098099c72cd2b7d9b1dedce2",
    "python_char_lm.npz": "c7ea1eb89391bf31f7bb375547b9ce6c2fd8aca7399f615927ef010390b5d4bd",
}
TEXT_SHA256 = {  # the text of each split of python_source.npz, as datasets/python_source.py prints it
    "train": "da50e390322d9be7fd5054e5af4f35350d72ec40c9fe79c03ab2de9e1b818d37",
    "validation": "b048868e86b75007d2ff1c47b076e03db5854a6371cd27013b78b2d0832bf73b",
    "test": "3760f6d50a5104445573986ae0db0b9daae5a61625561814144f1e2059d8723d",
}


@pytest.fixture(scope="module")
def vowels():
    return datasets.japanese_vowels()


def same_data(a, b):
    return len(a) == len(b) and all(np.array_equal(x, z) for x, z in zip(a, b))


# --- Shipped files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHA256))
def test_shipped_file_checksum(name):
    assert hashlib.sha256((datasets.DATA_DIR / name).read_bytes()).hexdigest() == SHA256[name]


def test_shipped_files_are_small_and_listed_in_the_readme():
    readme = (datasets.DATA_DIR / "README.md").read_text()
    for name, digest in SHA256.items():
        assert f"`{name}`" in readme and digest in readme
    assert all((datasets.DATA_DIR / name).stat().st_size < 2_000_000 for name in SHA256)
    assert sum((datasets.DATA_DIR / name).stat().st_size for name in SHA256) < 3_500_000


# --- Japanese Vowels ---------------------------------------------------------------------------------


def test_japanese_vowels_counts_and_shapes(vowels):
    X_train, y_train, X_test, y_test = vowels
    assert (len(X_train), len(y_train), len(X_test), len(y_test)) == (270, 270, 370, 370)
    for X in (X_train, X_test):
        assert all(x.ndim == 2 and x.shape[1] == 12 and x.dtype == np.float32 for x in X)
    train_lengths = [len(x) for x in X_train]
    test_lengths = [len(x) for x in X_test]
    assert (min(train_lengths), max(train_lengths), sum(train_lengths)) == (7, 26, 4274)
    assert (min(test_lengths), max(test_lengths), sum(test_lengths)) == (7, 29, 5687)


def test_japanese_vowels_speakers(vowels):
    _, y_train, _, y_test = vowels
    assert isinstance(y_train, pd.Categorical) and isinstance(y_test, pd.Categorical)
    assert list(y_train.categories) == list(y_test.categories) == ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert y_train.value_counts().tolist() == [30] * 9
    assert y_test.value_counts().tolist() == [31, 35, 88, 44, 29, 24, 40, 50, 29]  # as UCI describes
    assert list(y_train[:2]) == ["1", "1"] and list(y_test[-2:]) == ["9", "9"]  # original speaker order


def test_japanese_vowels_time_runs_down_the_rows(vowels):
    X_train = vowels[0]
    # The first utterance of the source file: channel 1 starts 1.860936, 1.891651; channel 2 -0.207383
    assert X_train[0].shape == (20, 12)
    np.testing.assert_array_equal(X_train[0][0, :3], np.float32([1.860936, -0.207383, 0.261557]))
    np.testing.assert_array_equal(X_train[0][:2, 0], np.float32([1.860936, 1.891651]))


# --- Waveforms ----------------------------------------------------------------------------------------


def test_waveforms_defaults():
    X, y = datasets.waveforms()
    lengths = [len(x) for x in X]
    assert len(X) == len(y) == 1000
    assert all(x.shape[1] == 3 and x.dtype == np.float32 for x in X)
    assert (min(lengths), max(lengths)) == (50, 150)
    assert list(y.categories) == ["Sawtooth", "Sine", "Square", "Triangle"]
    assert y.value_counts().tolist() == [250, 250, 250, 250]


def test_waveforms_shapes_match_their_labels():
    X, y = datasets.waveforms(40, min_length=60, max_length=60, noise=0)
    for x, label in zip(X, y):
        assert np.abs(x).max() <= 2 + 1e-6  # amplitudes are at most 2
        if label == "Square":  # each channel only ever takes +amplitude or -amplitude
            assert all(len(np.unique(np.abs(x[:, c]))) == 1 for c in range(3))
        else:
            assert all(len(np.unique(np.abs(x[:, c]))) > 2 for c in range(3))


@pytest.mark.parametrize(
    "make, seed",
    [(lambda seed: datasets.waveforms(20, seed=seed), 3), (lambda seed: datasets.moving_digits(10, seed=seed), 7),
     (lambda seed: datasets.short_reviews(50, seed=seed)[:2], 1)],
    ids=["waveforms", "moving_digits", "short_reviews"],
)
def test_generated_data_are_reproducible(make, seed):
    (X1, y1), (X2, y2), (X3, _) = make(seed), make(seed), make(seed + 1)
    assert same_data(X1, X2) and list(y1) == list(y2)
    assert not same_data(X1, X3)


def test_waveforms_noise_is_added():
    clean, _ = datasets.waveforms(5, noise=0, seed=1)
    noisy, _ = datasets.waveforms(5, noise=0.5, seed=1)
    assert 0.3 < np.std(np.concatenate(noisy) - np.concatenate(clean)) < 0.7


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_sequences": 0}, r"waveforms: num_sequences must be a positive integer; got 0"),
        ({"num_sequences": 2.5}, r"num_sequences must be a positive integer; got 2.5"),
        ({"min_length": 0}, r"min_length must be a positive integer; got 0"),
        (
            {"min_length": 30, "max_length": 20},
            r"min_length=30 is larger than max_length=20; give min_length <= max_length",
        ),
        ({"noise": -1}, r"noise must be a finite non-negative number; got -1"),
        ({"noise": float("nan")}, r"noise must be a finite non-negative number; got nan"),
        ({"seed": -1}, r"seed must be a non-negative integer .*got -1\. Use for example seed=0"),
        ({"seed": "a"}, r"seed must be a non-negative integer .*got 'a'"),
        ({"seed": True}, r"seed must be a non-negative integer .*got True"),
    ],
)
def test_waveforms_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.waveforms(**kwargs)


# --- Waveform segments ---------------------------------------------------------------------------------


def runs(labels):
    """(value, length) of each run of equal labels."""
    labels = np.asarray(labels)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    return list(zip(labels[starts], np.diff(np.r_[starts, len(labels)])))


def test_waveform_segments_label_every_step():
    X, Y = datasets.waveform_segments(100)
    assert len(X) == len(Y) == 100
    for x, labels in zip(X, Y):
        assert x.shape == (len(labels), 3) and x.dtype == np.float32
        assert isinstance(labels, pd.Categorical)
        assert list(labels.categories) == ["Sawtooth", "Sine", "Square", "Triangle"]
        segments = runs(labels)  # neighbours differ, so each run is one segment
        assert 2 <= len(segments) <= 4
        assert all(20 <= length <= 60 for _, length in segments)
    counts = pd.Series(np.concatenate([np.asarray(labels) for labels in Y])).value_counts()
    assert sorted(counts.index) == ["Sawtooth", "Sine", "Square", "Triangle"]


def test_waveform_segments_fixed_layout():
    X, Y = datasets.waveform_segments(3, min_segments=3, max_segments=3, min_length=7, max_length=7, noise=0)
    assert [len(x) for x in X] == [21, 21, 21]
    assert all([length for _, length in runs(labels)] == [7, 7, 7] for labels in Y)


def test_waveform_segments_are_reproducible():
    X1, Y1 = datasets.waveform_segments(10, seed=5)
    X2, Y2 = datasets.waveform_segments(10, seed=5)
    X3, _ = datasets.waveform_segments(10, seed=6)
    assert same_data(X1, X2) and all(list(a) == list(b) for a, b in zip(Y1, Y2))
    assert not same_data(X1, X3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_sequences": -3}, r"waveform_segments: num_sequences must be a positive integer; got -3"),
        ({"min_segments": 0}, r"min_segments must be a positive integer; got 0"),
        ({"min_segments": 5, "max_segments": 2}, r"min_segments=5 is larger than max_segments=2"),
        ({"min_length": 70}, r"min_length=70 is larger than max_length=60"),
        ({"noise": "loud"}, r"noise must be a finite non-negative number; got 'loud'"),
        ({"seed": 1.5}, r"seed must be a non-negative integer"),
    ],
)
def test_waveform_segments_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.waveform_segments(**kwargs)


# --- CO2 ------------------------------------------------------------------------------------------------


def test_co2_weekly_series():
    y = datasets.co2()
    assert isinstance(y, pd.Series) and y.name == "co2" and y.dtype == np.float64
    assert isinstance(y.index, pd.DatetimeIndex) and y.index.freqstr == "W-SAT" and y.index.name == "date"
    assert len(y) == 2284
    assert (str(y.index[0].date()), str(y.index[-1].date())) == ("1958-03-29", "2001-12-29")
    assert (y.iloc[0], y.iloc[-1]) == (316.1, 371.5)
    assert not y.isna().any() and 313 <= y.min() and y.max() <= 374


def test_co2_missing_weeks_are_interpolated():
    raw = datasets.co2(interpolate=False)
    filled = datasets.co2()
    missing = raw.isna()
    assert missing.sum() == 59
    assert raw[~missing].equals(filled[~missing])
    week = np.flatnonzero(missing)[0]  # the first gap: a straight line between its neighbours
    before, after = week - 1, week + int(np.argmax(~missing.to_numpy()[week:]))
    expected = np.interp(week, [before, after], [raw.iloc[before], raw.iloc[after]])
    assert filled.iloc[week] == pytest.approx(expected)


def test_co2_bad_argument():
    with pytest.raises(TypeError, match=r"co2: interpolate must be True or False; got 'yes'"):
        datasets.co2(interpolate="yes")


# --- Moving digits ----------------------------------------------------------------------------------------


def test_digit_images():
    images, labels = datasets._digit_images()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_moving_digits_defaults():
    X, y = datasets.moving_digits()
    assert len(X) == len(y) == 500
    assert all(x.shape == (10, 16, 16, 1) and x.dtype == np.float32 for x in X)
    assert list(y.categories) == [str(d) for d in range(10)]
    assert y.value_counts().tolist() == [50] * 10
    assert min(x.min() for x in X) == 0 and max(x.max() for x in X) <= 1


def shown_digits(frame, images):
    """Indices of the images that fill an 8x8 window of `frame` (H, W), the rest being black."""
    size = frame.shape[0]
    found = set()
    for row in range(size - 7):
        for col in range(size - 7):
            window = frame[row:row + 8, col:col + 8] * 16  # (8, 8) back to 0..16
            if window.sum() == frame.sum() * 16:
                found |= set(np.flatnonzero((images == window).all(axis=(1, 2))).tolist())
    return found


def test_moving_digits_show_one_real_digit_moving():
    images, labels = datasets._digit_images()
    X, y = datasets.moving_digits(20, frames=6, size=12, seed=2)
    for video, label in zip(X, y):
        frame_sums = video.sum(axis=(1, 2, 3))
        np.testing.assert_allclose(frame_sums, frame_sums[0], rtol=1e-6)  # never clipped by an edge
        shown = shown_digits(video[0, :, :, 0], images)
        assert shown and all(labels[n] == int(label) for n in shown)  # a real digit of its class
        assert shown_digits(video[-1, :, :, 0], images) == shown
        assert not np.array_equal(video[0], video[1])  # and it moves


def test_moving_digits_bounce_inside_the_canvas():
    np.testing.assert_array_equal(datasets._bounce(np.array([3, 0]), np.array([2, -1]), 5, 4)[:, 0], [3, 3, 1, 1, 3])
    np.testing.assert_array_equal(datasets._bounce(np.array([3, 0]), np.array([2, -1]), 5, 4)[:, 1], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(datasets._bounce(np.array([0, 0]), np.array([1, 2]), 3, 0), np.zeros((3, 2)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_sequences": 0}, r"moving_digits: num_sequences must be a positive integer; got 0"),
        ({"frames": 0}, r"frames must be a positive integer; got 0"),
        ({"size": 7}, r"size must be at least 8, the digits' own size; got 7\. Use for example size=16"),
        ({"seed": None}, r"seed must be a non-negative integer .*got None"),
    ],
)
def test_moving_digits_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.moving_digits(**kwargs)


# --- Short reviews -------------------------------------------------------------------------------------


def _opinion(words):
    """The rule, read off the words: the last clause with an opinion decides, "not"/"never" flip it."""
    opinion = None
    for clause in " ".join(words).replace(" but ", " and ").split(" and "):
        *rest, adjective = clause.split()
        sign = {**dict.fromkeys(datasets.POSITIVE, 1), **dict.fromkeys(datasets.NEGATIVE, -1)}.get(adjective, 0)
        if sign:
            opinion = "positive" if sign * (-1 if {"not", "never"} & set(rest) else 1) > 0 else "negative"
    return opinion


def test_short_reviews_follow_their_rule():
    X, y, vocabulary = datasets.short_reviews(300, seed=3)
    assert len(X) == 300 and len(vocabulary) == 33 and list(vocabulary) == sorted(vocabulary)
    assert list(y.categories) == ["negative", "positive"] and list(y.value_counts()) == [150, 150]
    ids = np.concatenate(X)
    assert ids.dtype == np.int64 and ids.min() >= 1 and ids.max() <= len(vocabulary)
    assert 4 <= min(len(x) for x in X) and max(len(x) for x in X) <= 3 * 6 + 2  # 1 to 3 clauses of 4 to 6 words
    for x, label in zip(X, y):
        assert _opinion([vocabulary[k - 1] for k in x]) == label


def test_short_reviews_bad_arguments():
    with pytest.raises(ValueError, match=r"short_reviews: max_clauses must be a positive integer; got 0"):
        datasets.short_reviews(max_clauses=0)



def test_first_sign_labels_the_sign_of_the_first_step_and_nothing_else():
    X, y = datasets.first_sign(400, 30, noise=0.5, seed=2)
    assert X.shape == (400, 30, 1) and X.dtype == np.float32 and list(y.categories) == ["negative", "positive"]
    assert sorted(set(X[:, 0, 0].tolist())) == [-1.0, 1.0]
    assert list(y) == ["positive" if v > 0 else "negative" for v in X[:, 0, 0]]
    assert 150 < (y == "positive").sum() < 250                               # each sign with probability 1/2
    assert 0.45 < X[:, 1:].std() < 0.55 and abs(X[:, 1:].mean()) < 0.02   # the rest is noise of std 0.5
    assert np.array_equal(datasets.first_sign(5, 4, noise=0, seed=1)[0][:, 1:], np.zeros((5, 3, 1)))
    X1, y1 = datasets.first_sign(20, 6, seed=7)
    X2, y2 = datasets.first_sign(20, 6, seed=7)
    assert np.array_equal(X1, X2) and list(y1) == list(y2)
    assert not np.array_equal(X1, datasets.first_sign(20, 6, seed=8)[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_sequences": 0}, r"first_sign: num_sequences must be a positive integer; got 0"),
        ({"length": 2.5}, r"first_sign: length must be a positive integer; got 2.5"),
        ({"noise": -1}, r"first_sign: noise must be a finite non-negative number; got -1"),
        ({"seed": -1}, r"first_sign: seed must be a non-negative integer"),
    ],
)
def test_first_sign_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.first_sign(**kwargs)

# --- Python source --------------------------------------------------------------------------------------


def test_python_source_splits_are_the_recorded_texts():
    texts = dict(zip(datasets.TEXT_SPLITS, datasets.python_source()))
    for split, text in texts.items():
        assert isinstance(text, str) and hashlib.sha256(text.encode("ascii")).hexdigest() == TEXT_SHA256[split]
    assert [len(t) for t in texts.values()] == [3_240_252, 714_921, 406_310]
    assert all(set(text) == {"\n", *map(chr, range(32, 127))} for text in texts.values())  # newline and printable ASCII
    assert texts["test"].startswith("from _weakrefset import WeakSet\n")  # _py_abc.py, the first held-out file


def test_python_source_refuses_codes_beyond_ascii(data_dir):
    np.savez(data_dir / "python_source.npz", train=np.uint8([104, 200]), validation=np.uint8([104]), test=np.uint8([104]))
    with pytest.raises(ValueError, match=r"malformed: expected train as uint8 ASCII codes \(0..127\); got uint8 values up to 200"):
        datasets.python_source()


def test_python_char_lm_reads_python():
    net, vocabulary = datasets.python_char_lm()
    assert len(vocabulary) == 96 and net.class_names == list(vocabulary.characters)
    assert net["lstm"].num_hidden_units == 256 and net.output_size == 96
    history = net.training_history_
    assert {"loss", "bits_per_character", "validation_bits_per_character"} <= set(history.columns)
    test = datasets.python_source()[2][:3000]  # held-out code
    probabilities = ll.predict(net, vocabulary.encode(test[:-1]))  # (T, 96)
    codes = vocabulary.encode(test[1:]) - 1  # the next characters, as class codes
    assert ll.text.bits_per_character(probabilities, codes) < 2.1  # 1.92 with the shipped weights; uniform guessing: log2(96) = 6.6


def test_python_char_lm_refuses_a_network_not_of_characters(data_dir):
    net = ll.Network([ll.sequence_input_layer(1), ll.lstm_layer(2)])
    net.save(data_dir / "python_char_lm.npz")
    with pytest.raises(ValueError, match=naming("malformed:", "one-character class names", "got class names None")):
        datasets.python_char_lm()


# --- Missing and malformed files -----------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "DATA_DIR", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "load, name",
    [
        (datasets.japanese_vowels, "japanese_vowels.npz"),
        (datasets.co2, "mauna_loa_co2_weekly.csv"),
        (datasets.moving_digits, "digits_8x8.npz"),
        (datasets.python_source, "python_source.npz"),
        (datasets.python_char_lm, "python_char_lm.npz"),
    ],
)
def test_missing_file_is_named(data_dir, load, name):
    with pytest.raises(FileNotFoundError, match=rf"lstmlab data file .*{name} is missing; .*Reinstall lstmlab"):
        load()


def test_unreadable_npz_is_malformed(data_dir):
    (data_dir / "japanese_vowels.npz").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match=r"japanese_vowels\.npz is malformed: expected a NumPy \.npz archive"):
        datasets.japanese_vowels()


def test_npz_with_wrong_arrays_is_malformed(data_dir):
    np.savez(data_dir / "digits_8x8.npz", images=np.zeros((3, 8, 8)), extra=np.zeros(3))
    message = (
        r"digits_8x8\.npz is malformed: expected arrays images \(integer, 3-D\), labels \(integer, 1-D\); "
        r"got images \(float64, 3-D\), extra \(float64, 1-D\)\. Reinstall lstmlab"
    )
    with pytest.raises(ValueError, match=message):
        datasets.moving_digits()


def test_npz_with_python_objects_is_refused_not_unpickled(data_dir):
    np.savez(data_dir / "digits_8x8.npz", images=np.array([object()], dtype=object), labels=np.zeros(1, int))
    with pytest.raises(ValueError, match=r"digits_8x8\.npz is malformed: .*holds Python objects, which lstmlab never unpickles"):
        datasets.moving_digits()


def test_npy_instead_of_npz_is_malformed(data_dir):
    with open(data_dir / "digits_8x8.npz", "wb") as file:
        np.save(file, np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"digits_8x8\.npz is malformed: .*a single array, not an archive"):
        datasets.moving_digits()


def test_pickle_file_is_refused_not_unpickled(data_dir):
    (data_dir / "digits_8x8.npz").write_bytes(pickle.dumps({"images": 1}))
    with pytest.raises(ValueError, match=r"digits_8x8\.npz is malformed: expected a NumPy \.npz archive"):
        datasets.moving_digits()


def test_npz_with_inconsistent_lengths_is_malformed(data_dir):
    arrays = {}
    for split in ("train", "test"):
        arrays |= {f"{split}_values": np.zeros((10, 12), np.float32), f"{split}_lengths": np.array([4, 5], np.uint8),
                   f"{split}_labels": np.array([1, 2], np.uint8)}
    np.savez(data_dir / "japanese_vowels.npz", **arrays)
    message = r"japanese_vowels\.npz is malformed: .*got train_values \(10, 12\), 2 lengths adding up to 9, 2 labels"
    with pytest.raises(ValueError, match=message):
        datasets.japanese_vowels()


@pytest.mark.parametrize(
    "text, got",
    [
        ("when,ppm\n19580329,316.1\n", r"got columns \['when', 'ppm'\]"),
        ("date,co2\n19580329,316.1\n19580412,317.6\n", r"expected dates of consecutive Saturdays"),
        ("date,co2\n19580329,high\n", r"expected dates of consecutive Saturdays"),
        ("", r"got a file pandas cannot read"),
    ],
)
def test_malformed_csv(data_dir, text, got):
    (data_dir / "mauna_loa_co2_weekly.csv").write_text(text)
    with pytest.raises(ValueError, match=rf"mauna_loa_co2_weekly\.csv is malformed: .*{got}"):
        datasets.co2()
