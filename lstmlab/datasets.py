"""Data sets for the lessons, the tests and your own experiments: all offline, all small.

Real data are read from compact files in the repository's datasets/ folder (where each one comes
from, and its licence, is in datasets/README.md); the rest are generated from a seed, so the same
seed always gives the same data.

    function               task                           what comes back
    japanese_vowels()      sequence-to-label, real        270 + 370 utterances, (T, 12), T = 7..29, 9 speakers
    waveforms()            sequence-to-label, generated   (T, 3) sequences, 4 wave shapes
    waveform_segments()    sequence-to-sequence, gen.     (T, 3) sequences, a wave shape at every step
    co2()                  forecasting, real              weekly CO2 at Mauna Loa, 1958-2001, a pandas Series
    moving_digits()        image sequences, generated     (T, H, W, 1) videos of a real 8x8 digit, 10 classes
    short_reviews()        token sequences, generated     (T,) word ids of one-line reviews, 2 opinions
    first_sign()           sequence-to-label, generated   (N, T, 1) noise after a first value of +1 or -1, 2 signs
    python_source()        text, real                     Python's standard library source: train, validation, test
    python_char_lm()       a trained model                a character LSTM trained on python_source(), and its Vocabulary

Conventions (those of the whole library): a sequence is a float32 NumPy array with time first,
(T, C) for vectors and (T, H, W, C) for images; a data set is a list of them, of varying length;
labels are a pandas.Categorical whose categories (the class names) are sorted.

>>> X_train, y_train, X_test, y_test = japanese_vowels()
>>> len(X_train), X_train[0].shape, len(X_test)
(270, (20, 12), 370)
"""

import numbers
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ._checks import check_bool, check_nonnegative, check_positive_int
from .network import load_network
from .text import Vocabulary

# A checkout or an editable install reads datasets/ at the repository root. A wheel carries the
# same files inside the package, as lstmlab/_datasets/, which is looked for first: next to an
# installed package, "../datasets" would be site-packages/datasets, which belongs to someone else.
_PACKAGED_DIR = Path(__file__).resolve().parent / "_datasets"
_CHECKOUT_DIR = Path(__file__).resolve().parents[1] / "datasets"
DATA_DIR = _PACKAGED_DIR if _PACKAGED_DIR.is_dir() else _CHECKOUT_DIR

SPEAKERS = tuple(str(s) for s in range(1, 10))  # Japanese Vowels class names
WAVE_SHAPES = ("Sawtooth", "Sine", "Square", "Triangle")  # waveform class names, sorted
DIGITS = tuple(str(d) for d in range(10))  # moving_digits class names


# --- Reading the shipped files --------------------------------------------------------------------


def _data_file(name):
    """The path of one shipped data file; a clear FileNotFoundError when it is not there."""
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"lstmlab data file {path} is missing; lstmlab ships it in datasets/. Reinstall lstmlab "
            f"(pip install --force-reinstall lstmlab; in a git checkout: git checkout -- datasets/)."
        )
    return path


def _malformed(path, expected, got):
    return ValueError(
        f"lstmlab data file {path} is malformed: expected {expected}; got {got}. Reinstall lstmlab to "
        f"restore the shipped file (pip install --force-reinstall lstmlab; in a git checkout: "
        f"git checkout -- datasets/)."
    )


def _describe(arrays):
    return ", ".join(f"{key} ({a.dtype}, {a.ndim}-D)" for key, a in arrays.items()) or "no arrays"


def _load_npz(name, expected):
    """The arrays of a shipped .npz file, checked against `expected`: {key: (dtype kinds, ndim)}.

    Loaded with allow_pickle=False, so a file holding Python objects is refused, never executed.
    """
    path = _data_file(name)
    kind_names = {"f": "float", "iu": "integer"}
    wanted = ", ".join(f"{key} ({kind_names[kinds]}, {ndim}-D)" for key, (kinds, ndim) in expected.items())
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an archive of named arrays")
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        pickled = "pickle" in str(error)  # NumPy's reason for anything neither .npz nor .npy
        reason = "it is no NumPy file, or it holds Python objects, which lstmlab never unpickles" if pickled else error
        got = f"a file NumPy cannot read as one ({reason})"
        raise _malformed(path, f"a NumPy .npz archive with arrays {wanted}", got) from error
    for key, (kinds, ndim) in expected.items():
        if key not in arrays or arrays[key].dtype.kind not in kinds or arrays[key].ndim != ndim:
            raise _malformed(path, f"arrays {wanted}", _describe(arrays))
    return arrays


def _load_csv(name, columns):
    """The table of a shipped .csv file, checked to have exactly `columns`."""
    path = _data_file(name)
    try:
        table = pd.read_csv(path)
    except ValueError as error:  # pandas' parser and decoding errors are ValueErrors
        got = f"a file pandas cannot read ({error})"
        raise _malformed(path, f"a CSV table with columns {columns}", got) from error
    if list(table.columns) != columns:
        raise _malformed(path, f"a CSV table with columns {columns}", f"columns {list(table.columns)}")
    return table


# --- Argument checks for the generators ------------------------------------------------------------


def _rng(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            f"{where}: seed must be a non-negative integer (the same seed gives the same data); "
            f"got {seed!r}. Use for example seed=0."
        )
    return np.random.default_rng(int(seed))


def _check_range(low, high, low_name, high_name, where):
    low = check_positive_int(low, low_name, where)
    high = check_positive_int(high, high_name, where)
    if low > high:
        raise ValueError(
            f"{where}: {low_name}={low} is larger than {high_name}={high}; give {low_name} <= {high_name}."
        )
    return low, high


# --- Japanese Vowels (real, sequence-to-label) -------------------------------------------------------


def japanese_vowels():
    """The UCI Japanese Vowels speaker-recognition set: which of 9 men said "ae"?

    Each utterance is a sequence of 12 LPC cepstrum coefficients, one row per analysis frame
    (frames start 6.4 ms apart), 7 to 29 frames long. The split is the original one: 270 training utterances (30 per
    speaker, 7 to 26 frames) and 370 test utterances (24 to 88 per speaker, 7 to 29 frames), in the
    original order (grouped by speaker). Values are stored as float32, which keeps all 6 decimals
    of the source.

    Returns:
        X_train: list of 270 float32 arrays (T, 12).
        y_train: pandas.Categorical of 270 speaker labels, categories "1" .. "9".
        X_test: list of 370 float32 arrays (T, 12).
        y_test: pandas.Categorical of 370 speaker labels, categories "1" .. "9".

    >>> X_train, y_train, X_test, y_test = japanese_vowels()
    >>> list(y_train.categories) == ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    True
    >>> y_test.value_counts().tolist()
    [31, 35, 88, 44, 29, 24, 40, 50, 29]
    """
    name = "japanese_vowels.npz"
    expected = {}
    for split in ("train", "test"):
        expected |= {f"{split}_values": ("f", 2), f"{split}_lengths": ("iu", 1), f"{split}_labels": ("iu", 1)}
    arrays = _load_npz(name, expected)
    X_train, y_train = _vowel_split(arrays, "train", DATA_DIR / name)
    X_test, y_test = _vowel_split(arrays, "test", DATA_DIR / name)
    return X_train, y_train, X_test, y_test


def _vowel_split(arrays, split, path):
    values = arrays[f"{split}_values"]  # (sum of T, 12): every utterance, one after the other
    lengths = arrays[f"{split}_lengths"].astype(np.int64)  # (N,)
    labels = arrays[f"{split}_labels"].astype(np.int64)  # (N,) speakers 1..9
    fits = values.shape[1] == 12 and lengths.sum() == len(values) and len(labels) == len(lengths)
    if not fits or lengths.min(initial=1) < 1:
        raise _malformed(
            path,
            f"{split}_values with 12 columns and as many rows as the positive {split}_lengths add up to, "
            f"and one label per length",
            f"{split}_values {values.shape}, {len(lengths)} lengths adding up to {lengths.sum()}, "
            f"{len(labels)} labels",
        )
    if not np.isin(labels, np.arange(1, 10)).all():
        raise _malformed(path, f"{split}_labels between 1 and 9", f"values {sorted(set(labels.tolist()))}")
    X = np.split(values.astype(np.float32), np.cumsum(lengths)[:-1])  # N arrays (T, 12)
    y = pd.Categorical.from_codes(labels - 1, categories=SPEAKERS)
    return X, y


# --- Waveforms (generated, sequence-to-label and sequence-to-sequence) ---------------------------------


def _wave(shape, cycles):
    """A wave of period 1 and values in [-1, 1], at `cycles` (time counted in periods)."""
    position = cycles % 1.0  # where in the period, 0 <= position < 1
    if shape == "Sawtooth":
        return 2 * position - 1  # ramps up, then drops
    if shape == "Sine":
        return np.sin(2 * np.pi * cycles)
    if shape == "Square":
        return np.where(position < 0.5, 1.0, -1.0)
    return 1 - 4 * np.abs(position - 0.5)  # Triangle: from -1 up to 1 and back down


def _waveform(shape, length, noise, rng, channels=3):
    """(length, channels): one wave shape; each channel has its own frequency, amplitude and phase."""
    t = np.arange(length)[:, None]  # (T, 1) time steps
    frequency = rng.uniform(1 / 40, 1 / 10, size=channels)  # (C,) periods per step: 10 to 40 steps long
    amplitude = rng.uniform(0.5, 2.0, size=channels)  # (C,)
    phase = rng.uniform(0.0, 1.0, size=channels)  # (C,) in periods
    clean = amplitude * _wave(shape, frequency * t + phase)  # (T, C)
    return (clean + noise * rng.standard_normal((length, channels))).astype(np.float32)  # (T, C)


def waveforms(num_sequences=1000, *, min_length=50, max_length=150, noise=0.1, seed=0):
    """Generated 3-channel signals to classify by wave shape: Sawtooth, Sine, Square or Triangle.

    Every sequence has one shape; each of its channels gets its own random frequency (a period of
    10 to 40 steps), amplitude (0.5 to 2) and phase, plus Gaussian noise. Lengths are drawn
    uniformly from min_length..max_length. The four classes are as balanced as num_sequences
    allows, in random order. It re-creates the kind of data in the waveform example of MATLAB's
    lstmLayer page (the signals are new, not MATLAB's file).

    Args:
        num_sequences: how many sequences. Default 1000.
        min_length: the shortest possible sequence, in time steps. Default 50.
        max_length: the longest possible sequence. Default 150.
        noise: standard deviation of the added Gaussian noise; 0 gives clean waves. Default 0.1.
        seed: a non-negative integer; the same seed gives the same data. Default 0.

    Returns:
        X: list of float32 arrays (T, 3).
        y: pandas.Categorical of wave shapes, categories ["Sawtooth", "Sine", "Square", "Triangle"].

    >>> X, y = waveforms(8, seed=1)
    >>> len(X), X[0].shape[1], y.value_counts().tolist()
    (8, 3, [2, 2, 2, 2])
    """
    where = "waveforms"
    num_sequences = check_positive_int(num_sequences, "num_sequences", where)
    min_length, max_length = _check_range(min_length, max_length, "min_length", "max_length", where)
    noise = check_nonnegative(noise, "noise", where)
    rng = _rng(seed, where)
    codes = rng.permutation(np.arange(num_sequences) % len(WAVE_SHAPES))  # (N,) balanced classes
    lengths = rng.integers(min_length, max_length + 1, size=num_sequences)  # (N,)
    X = [_waveform(WAVE_SHAPES[code], length, noise, rng) for code, length in zip(codes, lengths)]
    return X, pd.Categorical.from_codes(codes, categories=WAVE_SHAPES)


def waveform_segments(num_sequences=500, *, min_segments=2, max_segments=4, min_length=20, max_length=60,
                      noise=0.1, seed=0):
    """Generated 3-channel signals that change wave shape along the way, labelled at every step.

    A sequence-to-sequence task: each sequence is min_segments..max_segments segments one after
    the other, each min_length..max_length steps long and made like one waveforms() sequence (its
    own frequencies, amplitudes and phases); two neighbouring segments never have the same shape.
    The target is the wave shape at every time step.

    Args:
        num_sequences: how many sequences. Default 500.
        min_segments: the fewest segments in a sequence. Default 2.
        max_segments: the most segments in a sequence. Default 4.
        min_length: the shortest segment, in time steps. Default 20.
        max_length: the longest segment. Default 60.
        noise: standard deviation of the added Gaussian noise. Default 0.1.
        seed: a non-negative integer; the same seed gives the same data. Default 0.

    Returns:
        X: list of float32 arrays (T, 3).
        Y: list of pandas.Categorical of length T, one wave shape per step, all with categories
            ["Sawtooth", "Sine", "Square", "Triangle"].

    >>> X, Y = waveform_segments(2, min_segments=3, max_segments=3, min_length=5, max_length=5)
    >>> X[0].shape, len(Y[0])
    ((15, 3), 15)
    """
    where = "waveform_segments"
    num_sequences = check_positive_int(num_sequences, "num_sequences", where)
    min_segments, max_segments = _check_range(min_segments, max_segments, "min_segments", "max_segments", where)
    min_length, max_length = _check_range(min_length, max_length, "min_length", "max_length", where)
    noise = check_nonnegative(noise, "noise", where)
    rng = _rng(seed, where)
    X, Y = [], []
    for _ in range(num_sequences):
        count = rng.integers(min_segments, max_segments + 1)
        codes = _segment_shapes(count, rng)  # (S,) never the same twice in a row
        lengths = rng.integers(min_length, max_length + 1, size=count)  # (S,)
        segments = [_waveform(WAVE_SHAPES[code], length, noise, rng) for code, length in zip(codes, lengths)]
        X.append(np.concatenate(segments))  # (T, 3)
        Y.append(pd.Categorical.from_codes(np.repeat(codes, lengths), categories=WAVE_SHAPES))  # (T,)
    return X, Y


def _segment_shapes(count, rng):
    """`count` wave-shape codes, each one different from the one before it."""
    codes = [rng.integers(len(WAVE_SHAPES))]
    for _ in range(count - 1):
        codes.append((codes[-1] + rng.integers(1, len(WAVE_SHAPES))) % len(WAVE_SHAPES))
    return np.array(codes)


# --- Mauna Loa CO2 (real, forecasting) --------------------------------------------------------------


def co2(*, interpolate=True):
    """Weekly mean atmospheric CO2 at Mauna Loa, Hawaii, in ppm, from March 1958 to December 2001.

    2284 weeks, each labelled by the Saturday that ends it (1958-03-29 to 2001-12-29). 59 of them
    have no measurement (most in 1958 and 1964); with interpolate=True
    they are filled by straight lines between the neighbouring measured weeks, so the series has
    no gaps. A rising trend with a yearly cycle: a classic first forecasting problem.

    Args:
        interpolate: fill the 59 missing weeks (True, the default) or leave them NaN (False).

    Returns:
        pandas.Series "co2" of float64, indexed by a weekly DatetimeIndex "date" (freq W-SAT).

    >>> y = co2()
    >>> len(y), str(y.index[0].date()), float(y.iloc[0]), int(co2(interpolate=False).isna().sum())
    (2284, '1958-03-29', 316.1, 59)
    """
    interpolate = check_bool(interpolate, "interpolate", "co2")
    name = "mauna_loa_co2_weekly.csv"
    table = _load_csv(name, ["date", "co2"])  # date as YYYYMMDD, co2 empty where not measured
    try:
        dates = pd.to_datetime(table["date"].astype(str), format="%Y%m%d")
        index = pd.DatetimeIndex(dates, freq="W-SAT", name="date")  # refuses a week out of step
        values = pd.to_numeric(table["co2"]).to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as error:
        expected = "dates of consecutive Saturdays as YYYYMMDD, and numbers or blanks for co2"
        raise _malformed(DATA_DIR / name, expected, str(error)) from error
    series = pd.Series(values, index=index, name="co2")
    return series.interpolate(method="time") if interpolate else series


# --- Moving digits (image sequences, generated from real digits) ---------------------------------------


def _digit_images():
    """The 1797 scikit-learn 8x8 digits: images (1797, 8, 8) uint8 in 0..16 and labels (1797,) 0..9."""
    name = "digits_8x8.npz"
    arrays = _load_npz(name, {"images": ("iu", 3), "labels": ("iu", 1)})
    images, labels = arrays["images"], arrays["labels"]
    if images.shape[1:] != (8, 8) or len(images) != len(labels) or not np.isin(labels, np.arange(10)).all():
        raise _malformed(
            DATA_DIR / name,
            "images (N, 8, 8) and N labels between 0 and 9",
            f"images {images.shape}, {len(labels)} labels with values {sorted(set(labels.tolist()))}",
        )
    return images, labels


def _bounce(start, velocity, frames, span):
    """(frames, 2) positions of a point moving at constant velocity in [0, span], reflected at the ends."""
    travelled = start + velocity * np.arange(frames)[:, None]  # (T, 2) as if there were no walls
    if span == 0:
        return np.zeros_like(travelled)  # the digit fills the canvas: nowhere to go
    folded = travelled % (2 * span)  # (T, 2) one there-and-back trip is 2 * span long
    return np.where(folded > span, 2 * span - folded, folded)


def moving_digits(num_sequences=500, *, frames=10, size=16, seed=0):
    """Short grey-scale videos of a handwritten digit sliding across a canvas: classify the digit.

    Each sequence takes a random one of scikit-learn's 1797 real 8x8 digits (pixel values 0..16
    scaled to 0..1), puts it at a random place on a black size x size canvas and moves it by 1 or
    2 pixels per frame along each axis, bouncing off the edges. The ten classes are as balanced as
    num_sequences allows, in random order.

    Args:
        num_sequences: how many videos. Default 500.
        frames: time steps per video. Default 10.
        size: canvas height and width in pixels, at least 8. Default 16.
        seed: a non-negative integer; the same seed gives the same data. Default 0.

    Returns:
        X: list of float32 arrays (frames, size, size, 1), values in [0, 1].
        y: pandas.Categorical of the digit shown, categories "0" .. "9".

    >>> X, y = moving_digits(3, frames=4, size=12)
    >>> len(X), X[0].shape, list(y.categories)[:3]
    (3, (4, 12, 12, 1), ['0', '1', '2'])
    """
    where = "moving_digits"
    num_sequences = check_positive_int(num_sequences, "num_sequences", where)
    frames = check_positive_int(frames, "frames", where)
    size = check_positive_int(size, "size", where)
    if size < 8:
        raise ValueError(
            f"{where}: size must be at least 8, the digits' own size; got {size}. Use for example size=16."
        )
    rng = _rng(seed, where)
    images, labels = _digit_images()  # (1797, 8, 8), (1797,)
    codes = rng.permutation(np.arange(num_sequences) % len(DIGITS))  # (N,) balanced classes
    X = []
    for code in codes:
        digit = images[rng.choice(np.flatnonzero(labels == code))] / np.float32(16)  # (8, 8) in [0, 1]
        start = rng.integers(0, size - 8 + 1, size=2)  # (2,) top-left corner: row, column
        velocity = rng.choice([-2, -1, 1, 2], size=2)  # (2,) pixels per frame
        video = np.zeros((frames, size, size, 1), dtype=np.float32)  # (T, H, W, 1)
        for t, (row, col) in enumerate(_bounce(start, velocity, frames, size - 8)):
            video[t, row:row + 8, col:col + 8, 0] = digit
        X.append(video)
    return X, pd.Categorical.from_codes(codes, categories=DIGITS)


# --- Short reviews (token sequences, generated) -----------------------------------------------------

NOUNS = ("acting", "cast", "ending", "film", "music", "plot", "script", "story")
POSITIVE = ("clever", "fun", "good", "great", "moving")
NEGATIVE = ("awful", "bad", "boring", "dull", "weak")
NEUTRAL = ("long", "loud", "new", "short", "simple")
VOCABULARY = tuple(sorted({"the", "was", "is", "not", "never", "really", "very", "quite", "and", "but", *NOUNS, *POSITIVE, *NEGATIVE, *NEUTRAL}))
SENTIMENTS = ("negative", "positive")


def short_reviews(num_sequences=1000, *, max_clauses=3, seed=0):
    """One-line film reviews as token ids: classify them as negative or positive.

    A review is one to max_clauses clauses joined by "and" or "but"; each clause is
    "the <noun> was|is [not|never] [really|very|quite] <adjective>", with a positive, negative or
    neutral adjective. The label is the opinion of the review's last clause that has one, with
    "not" and "never" turning it around: "the plot was not bad but the ending was dull" is
    negative. A bag of words cannot tell which adjective comes last or what "not" applies to;
    a recurrent network reads the order. The classes are balanced.

    Args:
        num_sequences: how many reviews. Default 1000.
        max_clauses: the most clauses in a review, at least 1. Default 3.
        seed: a non-negative integer; the same seed gives the same data. Default 0.

    Returns:
        X: list of int64 arrays (T,) of token ids from 1 to len(vocabulary) (0 is left for padding).
        y: pandas.Categorical, categories "negative", "positive".
        vocabulary: tuple of the words; id k is vocabulary[k - 1].

    >>> X, y, vocabulary = short_reviews(2, seed=1)
    >>> " ".join(vocabulary[k - 1] for k in X[0]), y[0]
    ('the ending was weak', 'negative')
    """
    where = "short_reviews"
    num_sequences = check_positive_int(num_sequences, "num_sequences", where)
    max_clauses = check_positive_int(max_clauses, "max_clauses", where)
    rng = _rng(seed, where)
    ids = {word: k + 1 for k, word in enumerate(VOCABULARY)}
    wanted = rng.permutation(np.arange(num_sequences) % 2)  # (N,) balanced labels, 1 = positive
    X = []
    for label in wanted:
        while True:
            words, opinion = _review(rng, max_clauses)
            if opinion == label:
                break
        X.append(np.array([ids[w] for w in words], dtype=np.int64))
    return X, pd.Categorical.from_codes(wanted, categories=SENTIMENTS), VOCABULARY


def _review(rng, max_clauses):
    """Words of one review and its opinion (0 negative, 1 positive), from its last clause with one."""
    words, opinion = [], None
    for k in range(rng.integers(1, max_clauses + 1)):
        if k:
            words.append(rng.choice(["and", "but"]))
        polarity = rng.choice([1, -1, 0], p=[0.4, 0.4, 0.2])  # positive, negative, neutral adjective
        adjective = rng.choice({1: POSITIVE, -1: NEGATIVE, 0: NEUTRAL}[polarity])
        negated = rng.random() < 0.4
        clause = ["the", rng.choice(NOUNS), rng.choice(["was", "is"])]
        clause += [rng.choice(["not", "never"])] if negated else []
        clause += [rng.choice(["really", "very", "quite"])] if rng.random() < 0.3 else []
        words += clause + [adjective]
        if polarity:
            opinion = int((polarity * (-1 if negated else 1)) > 0)
    return words, opinion



# --- The first sign (a long memory, for the plain RNN against the LSTM) ------------------------------

SIGNS = ("negative", "positive")


def first_sign(num_sequences=600, length=80, *, noise=0.5, seed=0):
    """Remember the first value of a sequence to its end: the class is its sign.

    The first value of each sequence is +1 or -1 (drawn at random, each with probability 1/2);
    the length - 1 values after it are Gaussian noise of standard deviation `noise`. Only the first
    step tells the classes apart, so a network that reads the last step must carry it through
    every step after: a test of how far back a recurrent network's gradient reaches (lessons 8, 9).

    Args:
        num_sequences: how many sequences. Default 600.
        length: the number of time steps T of each, at least 1. Default 80.
        noise: the standard deviation of the values after the first, finite and >= 0. Default 0.5.
        seed: a non-negative integer; the same seed gives the same data. Default 0.

    Returns:
        X: float32 array (N, T, 1), all sequences of the same length.
        y: pandas.Categorical, categories "negative", "positive": the sign of X[n, 0, 0].

    >>> X, y = first_sign(3, 5, seed=1)
    >>> X.shape, list(y), X[:, 0, 0].tolist()
    ((3, 5, 1), ['negative', 'positive', 'positive'], [-1.0, 1.0, 1.0])
    """
    where = "first_sign"
    num_sequences = check_positive_int(num_sequences, "num_sequences", where)
    length = check_positive_int(length, "length", where)
    noise = check_nonnegative(noise, "noise", where)
    rng = _rng(seed, where)
    sign = rng.choice([-1.0, 1.0], size=num_sequences)             # (N,)
    X = rng.normal(scale=noise, size=(num_sequences, length, 1))    # (N, T, 1)
    X[:, 0, 0] = sign
    return X.astype(np.float32), pd.Categorical.from_codes((sign > 0).astype(int), categories=SIGNS)

# --- Python source (real text, for character language models) ---------------------------------------

TEXT_SPLITS = ("train", "validation", "test")


def python_source():
    """Source code of Python's own standard library, as three strings: train, validation and test.

    The modules directly in CPython 3.11.7's Lib/ folder that are pure ASCII (158 files, no
    packages, no tests), each copied unchanged, split by file: of the files sorted by name, every
    tenth from the ninth on goes to validation, every tenth from the tenth on to the held-out test
    text, the rest to training. Every machine sees the same split; datasets/README.md has the recipe
    and the licence (PSF). A corpus with strings, comments, brackets and indentation for
    `ll.text.code_features` to find in a character model's cells.

    Returns:
        train: str of 3,240,252 characters (128 files).
        validation: str of 714,921 characters (15 files).
        test: str of 406,310 characters (15 files), for held-out numbers only.

    >>> train, validation, test = python_source()
    >>> len(train), len(validation), len(test)
    (3240252, 714921, 406310)
    >>> print(test[:25])
    from _weakrefset import W
    """
    name = "python_source.npz"
    arrays = _load_npz(name, {split: ("iu", 1) for split in TEXT_SPLITS})
    texts = []
    for split in TEXT_SPLITS:
        codes = arrays[split]  # (characters,) ASCII codes
        if codes.dtype != np.uint8 or (codes > 127).any():
            raise _malformed(DATA_DIR / name, f"{split} as uint8 ASCII codes (0..127)", f"{codes.dtype} values up to {codes.max(initial=0)}")
        texts.append(codes.tobytes().decode("ascii"))
    return tuple(texts)


def python_char_lm():
    """The character language model that lstmlab ships, trained on `python_source()`, and its vocabulary.

    sequence input (1) -> word embedding (32) -> LSTM "lstm" (256 units) -> fully connected (96)
    -> softmax: it reads Python source one character id at a time and gives, at every step, the
    probabilities of the 96 characters that could come next. benchmarks/train_python_char_lm.py
    trained it from scratch (the machine, the time and the bits per character it reached are in
    benchmarks/README.md); `net.training_history_` holds its training curve.

    Returns:
        net: the trained `ll.Network`; its class_names are the vocabulary's characters.
        vocabulary: the `ll.text.Vocabulary` of the 96 characters (newline and printable ASCII).

    >>> net, vocabulary = python_char_lm()
    >>> len(vocabulary), net.output_size, net["lstm"].num_hidden_units
    (96, 96, 256)
    """
    path = _data_file("python_char_lm.npz")
    net = load_network(path)
    if not net.class_names or not all(isinstance(c, str) and len(c) == 1 for c in net.class_names):
        raise _malformed(path, "a network trained on characters (one-character class names)", f"class names {net.class_names!r:.80}")
    return net, Vocabulary("".join(net.class_names))
