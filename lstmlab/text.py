"""Text as data for character language models: a vocabulary, training streams, and a metric.

A character model reads a text one character at a time, as token ids, and at every step scores
the character that comes next:

    text  "def f" --Vocabulary.encode--> ids (T,) --word_embedding_layer--> vectors --lstm_layer-->
    ... --fully_connected_layer(V), softmax_layer--> (T, V) probabilities of the next character

Ids count from 1 to len(vocabulary) (0 is padding, as `ll.word_embedding_layer` reads it); id k is
the k-th character in sorted order, so a network trained on `next_character_data` has the same
characters, in the same order, as its `class_names`.

>>> vocabulary = Vocabulary("hello world")
>>> len(vocabulary), vocabulary.encode("hello")
(8, array([4, 3, 5, 5, 6]))
>>> vocabulary.decode([8, 6, 7, 5, 2])
'world'
"""

import io
import math
import tokenize

import numpy as np
import pandas as pd

from ._checks import check_nonnegative, check_positive_int
from .prediction import predict_and_update_state, reset_state


def _check_text(text, name, where):
    if not isinstance(text, str):
        raise TypeError(f"{where}: {name} must be a string; got {type(text).__name__}.")
    if not text:
        raise ValueError(f"{where}: {name} is empty; give at least one character.")
    return text


class Vocabulary:
    """The characters of a text, numbered: id k (1..V) is the k-th distinct character in sorted order.

    A character that the vocabulary does not hold is an error in `encode` (a model has no id for
    it, and a silent stand-in would score a character it never saw): build the vocabulary from all
    the text the model will read, or remove the character first.

    Args:
        text: a non-empty string; its distinct characters make the vocabulary.

    Attributes:
        characters: tuple of the V characters, sorted; id k is characters[k - 1].

    >>> vocabulary = Vocabulary("abba")
    >>> vocabulary
    Vocabulary(2 characters: 'ab')
    >>> vocabulary.encode("ab").tolist(), vocabulary.decode([2, 2, 1])
    ([1, 2], 'bba')
    """

    def __init__(self, text):
        text = _check_text(text, "text", "Vocabulary")
        self.characters = tuple(sorted(set(text)))
        self._ids = {character: k + 1 for k, character in enumerate(self.characters)}

    def __len__(self):
        return len(self.characters)

    def __repr__(self):
        shown = "".join(self.characters)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"Vocabulary({len(self)} characters: {shown!r})"

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.characters == other.characters

    def encode(self, text):
        """The ids of the characters of `text`: a (T,) int64 array.

        Raises:
            ValueError: for a character the vocabulary does not hold, naming it and where it is.
        """
        text = _check_text(text, "text", "Vocabulary.encode")
        try:
            return np.fromiter((self._ids[character] for character in text), dtype=np.int64, count=len(text))  # (T,)
        except KeyError as error:
            character = error.args[0]
            position = text.index(character)
            raise ValueError(
                f"Vocabulary.encode: text[{position}] is {character!r}, a character outside the vocabulary of "
                f"{len(self)} characters; build the Vocabulary from text that holds it, or remove it "
                f"(text.replace({character!r}, ''))."
            ) from None

    def decode(self, ids):
        """The text of a sequence of ids (1..V): a string.

        Raises:
            ValueError: for an id that is not a whole number from 1 to len(vocabulary).
        """
        ids = np.asarray(ids).reshape(-1)  # (T,); a (T, 1) column of token ids reads the same
        bad = (ids != np.round(ids)) | (ids < 1) | (ids > len(self)) if ids.dtype.kind in "iuf" else np.ones(len(ids), bool)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"Vocabulary.decode: ids[{position}] is {ids[position].item()!r}; ids must be whole numbers from 1 to "
                f"{len(self)} (the vocabulary's size). Decode only ids that Vocabulary.encode made."
            )
        return "".join(self.characters[k - 1] for k in ids.astype(np.int64).tolist())


def next_character_data(text, vocabulary, *, num_streams=1):
    """Inputs and next-character targets for `ll.trainnet`, from one long text cut into streams.

    The text is cut into num_streams equally long pieces (the few characters left over at the
    end are dropped), read side by side: with `training_options(mini_batch_size=num_streams,
    sequence_length=L)` each iteration trains on the next L characters of every stream, starting
    from the state where the previous L ended (truncated back-propagation through time). Stream b
    holds characters b*S .. (b+1)*S - 1 of the text (S = (len(text) - 1) // num_streams), and its
    target at each step is the character after it.

    Args:
        text: the text, a string of characters the vocabulary holds.
        vocabulary: an `ll.text.Vocabulary`.
        num_streams: how many pieces to read side by side. Default 1: the whole text as one.

    Returns:
        X: list of num_streams int64 arrays (S,): token ids.
        Y: list of num_streams pandas.Categorical (S,): the next character at every step, with
            the vocabulary's characters as categories (so every network trained on them has
            class_names == list(vocabulary.characters)).

    >>> X, Y = next_character_data("abcabcab", Vocabulary("abc"), num_streams=2)
    >>> [x.tolist() for x in X], [list(y) for y in Y]
    ([[1, 2, 3], [1, 2, 3]], [['b', 'c', 'a'], ['b', 'c', 'a']])
    """
    where = "next_character_data"
    if not isinstance(vocabulary, Vocabulary):
        raise TypeError(f"{where}: vocabulary must be an ll.text.Vocabulary; got {type(vocabulary).__name__}.")
    if isinstance(num_streams, bool) or not isinstance(num_streams, int) or num_streams < 1:
        raise ValueError(f"{where}: num_streams must be a positive integer; got {num_streams!r}.")
    ids = vocabulary.encode(_check_text(text, "text", where))  # (L,)
    length = (len(ids) - 1) // num_streams  # S: steps per stream; the last input needs a next character
    if length < 1:
        raise ValueError(
            f"{where}: text has {len(ids)} characters, too few for num_streams={num_streams} streams of at least one "
            f"step with a next character; give a text of at least {num_streams + 1} characters or fewer streams."
        )
    used = num_streams * length
    inputs = ids[:used].reshape(num_streams, length)  # (B, S)
    following = ids[1:used + 1].reshape(num_streams, length)  # (B, S) the character after each input
    categories = list(vocabulary.characters)
    X = list(inputs)
    Y = [pd.Categorical.from_codes(codes - 1, categories=categories) for codes in following]
    return X, Y


def bits_per_character(probabilities, targets):
    """The mean number of bits a model needs per character: -mean(log2 p(next character)).

    A metric for `ll.training_options(metrics=...)`: bits are nats / ln 2, so this is the
    cross-entropy loss divided by ln 2. A model that guessed uniformly among V characters would
    need log2(V) bits; on the held-out Python of `ll.datasets.python_source()` gzip -9 needs 1.9,
    xz -9 1.7.

    Args:
        probabilities: (M, V) probabilities of the next character, one row per step.
        targets: (M,) class codes (0..V-1) of the characters that came.

    >>> bits_per_character(np.array([[0.5, 0.5], [0.25, 0.75]]), np.array([0, 0]))
    1.5
    """
    chosen = probabilities[np.arange(len(targets)), targets]  # (M,)
    return float(-np.mean(np.log(np.maximum(chosen, 1e-12))) / math.log(2))


# --- Writing text with a trained model ---------------------------------------------------------------


def generate(net, vocabulary, prompt, length, *, temperature=1.0, seed=None, interventions=None):
    """Write `length` characters after `prompt`, one at a time, with a character language model.

    The network reads the prompt once (`ll.predict_and_update_state`), then each new character
    but the last costs one step: sample it from the probabilities of the last step, feed it in, and
    so on, the state carried throughout (P + length - 1 steps for a prompt of P characters). The network starts from its initial state and is left there
    (`ll.reset_state`) when the text is written.

    Temperature reshapes the probabilities before sampling, p ** (1 / temperature), normalized:
    1 samples the model's own distribution, below 1 is more cautious (0 always takes the most
    likely character), above 1 more adventurous.

    Args:
        net: a trained `ll.Network` reading token ids (sequence_input_layer(1), then
            word_embedding_layer) and ending in a softmax over the vocabulary's characters.
        vocabulary: the `ll.text.Vocabulary` the network was trained with.
        prompt: a non-empty string of characters the vocabulary holds.
        length: how many characters to write (a positive integer).
        temperature: a finite number >= 0. Default 1.
        seed: an integer for reproducible sampling, or None. Default None.
        interventions: a list of `ll.Intervention`, applied while the prompt is read and at every
            written character (see `lstmlab.interventions`). Each character is its own call, so
            `steps` count the prompt's characters and then 0 for each new one: leave steps out to
            act throughout. Default None: the network as trained.

    Returns:
        The written text, without the prompt: a string of `length` characters.
    """
    where = "generate"
    if not isinstance(vocabulary, Vocabulary):
        raise TypeError(f"{where}: vocabulary must be an ll.text.Vocabulary; got {type(vocabulary).__name__}.")
    if net.output_size != len(vocabulary):
        raise ValueError(
            f"{where}: the network scores {net.output_size} characters but the vocabulary has {len(vocabulary)}; give "
            f"the vocabulary the network was trained with (ll.datasets.python_char_lm() returns both)."
        )
    ids = vocabulary.encode(_check_text(prompt, "prompt", where))  # (P,)
    length = check_positive_int(length, "length", where)
    temperature = check_nonnegative(temperature, "temperature", where)
    rng = np.random.default_rng(seed)
    written = []
    reset_state(net)
    try:
        scores = predict_and_update_state(net, ids, interventions=interventions)[-1]  # (V,) after the prompt
        for k in range(length):
            code = _sample(scores, temperature, rng)  # 0..V-1, the class code of the next character
            written.append(code + 1)
            if k + 1 < length:  # the last character is written, not read: nothing needs the step after it
                scores = predict_and_update_state(net, np.array([code + 1]), interventions=interventions)[-1]  # (V,) one step on
    finally:
        reset_state(net)
    return vocabulary.decode(written)


def _sample(probabilities, temperature, rng):
    """A class code drawn from probabilities (V,) sharpened or flattened by the temperature."""
    if temperature == 0:
        return int(np.argmax(probabilities))
    logits = np.log(np.maximum(probabilities.astype(np.float64), 1e-30)) / temperature  # (V,)
    weights = np.exp(logits - logits.max())  # (V,)
    return int(rng.choice(len(weights), p=weights / weights.sum()))


# --- Features of source code, one number per character ------------------------------------------------

CODE_FEATURES = ("in_string", "in_comment", "bracket_depth", "indent", "line_position")
_OPENING, _CLOSING = "([{", ")]}"


def code_features(text):
    """What a reader of Python source knows at every character: a DataFrame, one row per character.

    Strings, comments and brackets come from Python's own `tokenize`, so a quote inside a comment
    or a bracket inside a string is no surprise. Read the text from the start of a file (or of a
    line outside any string): tokenize cannot know that a fragment began inside a string. A text
    that ends inside a string or a bracket (a cut-off fragment) is fine: its last string runs to
    the end.

    Columns:
        in_string: 1 on every character of a string literal, its prefix and quotes included; else 0.
        in_comment: 1 from a comment's "#" to the end of its line (the newline excluded); else 0.
        bracket_depth: how many brackets ( [ { are open at the character; an opening bracket
            counts itself, a closing one still counts the bracket it closes.
        indent: the number of spaces (and tabs) that start the character's line.
        line_position: the character's column, 0 at the start of each line (the newline ends
            its line).

    Args:
        text: Python source, a non-empty string.

    Raises:
        ValueError: for text that tokenize cannot read (an indentation that matches no outer
            level, a stray character such as "$" outside strings and comments).

    >>> features = code_features("x = f('a(')  # b\\n")
    >>> "".join(str(v) for v in features.in_string), "".join(str(v) for v in features.bracket_depth)
    ('00000011110000000', '00000111111000000')
    """
    text = _check_text(text, "text", "code_features")
    T = len(text)
    lines = text.split("\n")  # the last one has no newline (it is "" when the text ends with one)
    lengths = np.array([len(line) + 1 for line in lines])  # (lines,) with each line's newline
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # (lines,) offset of each line's first character
    line_of = np.repeat(np.arange(len(lines)), lengths)[:T]  # (T,) the line of each character
    in_string, in_comment = np.zeros(T, np.int64), np.zeros(T, np.int64)  # (T,) each
    depth_change = np.zeros(T + 1, np.int64)  # (T + 1,) +1 at an opening bracket, -1 after a closing one
    for kind, string, begin, end in _tokens(text, starts):
        if kind in ("STRING", "FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END"):
            in_string[begin:end] = 1
        elif kind == "COMMENT":
            in_comment[begin:end] = 1
        elif kind == "OP" and string in _OPENING:
            depth_change[begin] += 1
        elif kind == "OP" and string in _CLOSING:
            depth_change[end] -= 1
    indents = np.array([len(line) - len(line.lstrip(" \t")) for line in lines])  # (lines,)
    return pd.DataFrame(
        {
            "in_string": in_string,
            "in_comment": in_comment,
            "bracket_depth": np.maximum(np.cumsum(depth_change[:T]), 0),  # a stray ")" never goes below 0
            "indent": indents[line_of],
            "line_position": np.arange(T) - starts[line_of],
        }
    )


def _tokens(text, starts):
    """(kind, string, begin, end) of every token of `text`, as character offsets; an unfinished
    string at the end of the text runs to its end (reported as a STRING)."""
    offset = lambda row, col: min(int(starts[min(row, len(starts)) - 1]) + col, len(text))  # noqa: E731 (rows count from 1)
    readline = io.StringIO(text).readline
    try:
        for token in tokenize.generate_tokens(readline):
            yield tokenize.tok_name[token.type], token.string, offset(*token.start), offset(*token.end)
    except tokenize.TokenError as error:
        message, (row, col) = error.args
        if "string" in message:  # EOF in a multi-line string: it runs from where it began to the end
            yield "STRING", "", offset(row, col), len(text)
        # "EOF in multi-line statement": brackets left open at the end; every token has been read
    except (IndentationError, SyntaxError) as error:
        raise ValueError(
            f"code_features: text is not Python source that tokenize can read ({error.msg}, line {error.lineno}); "
            f"give whole lines of Python, from the start of a file or of a line outside any string."
        ) from None


# --- Which cell tracks which feature --------------------------------------------------------------------


def find_cells(tr, features):
    """Rank every recorded unit of every quantity by how closely it follows each feature.

    The correlation (Pearson's r) between a unit's value and a feature, over every real time step
    the trace recorded: the cells of the 2015 paper by Karpathy, Johnson and Fei-Fei ("Visualizing
    and Understanding Recurrent Networks") that switch on inside strings or count indentation
    have |r| near 1 with in_string or indent. A unit or a feature that never changes has r = 0.

    Args:
        tr: an `ll.Trace`, for example `ll.trace(net, [vocabulary.encode(text)])`.
        features: a DataFrame (or a dict of name -> (M,) array) with one row per recorded real
            step: the steps of sequence 0, then those of sequence 1, and so on, as
            `ll.text.code_features(text)` gives them for one text traced as one sequence.

    Returns:
        DataFrame with columns layer, direction, quantity, unit, feature, correlation: one row
        per layer, direction, quantity, unit and feature, strongest |correlation| first.

    Raises:
        ValueError: when features has a different number of rows than the trace has recorded
            steps, or a column that is not numeric.
    """
    where = "find_cells"
    if not hasattr(tr, "layers") or not hasattr(tr, "to_frame"):
        raise TypeError(f"{where}: tr must be an ll.Trace (from ll.trace(net, X)); got {type(tr).__name__}.")
    table = _feature_table(features, where)
    rows = []
    for layer in tr.layers.values():
        steps = int(np.sum(layer.mask))
        if steps != len(table):
            raise ValueError(
                f"{where}: features has {len(table)} rows but the trace of layer {layer.name!r} recorded {steps} real "
                f"time steps; give one row per recorded step (compute the features on the text that was traced, "
                f"and trace all of its steps)."
            )
        for direction, recorded in layer.directions.items():
            for quantity, values in recorded.arrays.items():
                r = _correlations(values[layer.mask], table.to_numpy(np.float64))  # (U, F)
                rows.append(
                    pd.DataFrame(
                        {
                            "layer": layer.name,
                            "direction": direction,
                            "quantity": quantity,
                            "unit": np.repeat(layer.units, r.shape[1]),
                            "feature": np.tile(table.columns.to_numpy(), r.shape[0]),
                            "correlation": r.reshape(-1),
                        }
                    )
                )
    found = pd.concat(rows, ignore_index=True)
    order = np.argsort(-found["correlation"].abs().to_numpy(), kind="stable")
    return found.iloc[order].reset_index(drop=True)


def _feature_table(features, where):
    table = pd.DataFrame(features) if isinstance(features, dict) else features
    if not isinstance(table, pd.DataFrame) or table.shape[1] == 0:
        raise TypeError(
            f"{where}: features must be a DataFrame or a dict of name -> (M,) array, with at least one feature; got "
            f"{type(features).__name__}. Use ll.text.code_features(text) for source code."
        )
    numeric = [name for name in table.columns if table[name].dtype.kind in "biuf"]
    if len(numeric) != table.shape[1]:
        bad = next(name for name in table.columns if name not in numeric)
        raise ValueError(f"{where}: feature {bad!r} is not numeric (dtype {table[bad].dtype}); give one number per character.")
    return table


def _correlations(values, features):
    """Pearson's r of every column of values (M, U) with every column of features (M, F): (U, F)."""
    x = values.astype(np.float64) - values.mean(axis=0)  # (M, U)
    y = features - features.mean(axis=0)  # (M, F)
    x_norm, y_norm = np.linalg.norm(x, axis=0), np.linalg.norm(y, axis=0)  # (U,), (F,)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (x.T @ y) / np.outer(x_norm, y_norm)  # (U, F)
    return np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0)


# --- Which spans share a selected span's pattern (LSTMVis) ----------------------------------------


def match_spans(tr, text, start, end, threshold, *, layer=None, quantity="h", direction="forward", min_units=None):
    """Find every span of the text whose units are on as they are over a selected span, ranked.

    The matching of LSTMVis (Strobelt, Gehrmann, Pfister and Rush, "LSTMVis: A Tool for Visual
    Analysis of Hidden State Dynamics in Recurrent Neural Networks", 2018). A unit is *on* at a
    step when its value is above the threshold. The units on at every step of the selection
    text[start:end] form the pattern P. A step matches when at least min_units units of P are on;
    every maximal run of matching steps is a match, and A, the units on at every step of it, is
    compared with the pattern by the Jaccard score |P and A| / |P or A|: 1 when exactly the
    pattern's units stay on over it, less when some pattern units go off or other units stay on
    too. The selection itself is among the matches (the run that holds it).

    Args:
        tr: an `ll.Trace` of the text as one sequence, every step recorded:
            `ll.trace(net, [vocabulary.encode(text)])` (with `out=` for a long text).
        text: the traced text, one character per recorded step.
        start, end: the selection, text[start:end], 0 <= start < end <= len(text).
        threshold: a unit is on where its value is above this number (h and the gates of an LSTM
            lie in (-1, 1) and (0, 1); 0.5 is a usual start).
        layer: the recorded layer to read (default: the trace's only layer).
        quantity: the recorded quantity to read: "h" (default), "c" or a gate.
        direction: "forward" (default) or "backward" for a bidirectional layer.
        min_units: how many of the pattern's units must be on for a step to match (default: all
            of them; fewer finds partial matches as well, with lower scores).

    Returns:
        DataFrame with columns start, end, score, text (one row per match, text[start:end]),
        best score first, then the length closest to the selection's, then the earliest; its
        `.attrs["units"]` lists the pattern's units.

    Raises:
        ValueError: for a span outside the text, a threshold that is not a finite number, a
            threshold that no unit stays above over the span, or a trace that does not hold the text.

    >>> import numpy as np, lstmlab as ll
    >>> import lstmlab as ll
    >>> text = "ab ab ab"
    >>> vocabulary = ll.text.Vocabulary(text)
    >>> net = ll.Network([ll.sequence_input_layer(1), ll.word_embedding_layer(4, len(vocabulary)), ll.lstm_layer(6)])
    >>> tr = ll.trace(net, [vocabulary.encode(text)])
    >>> ll.text.match_spans(tr, text, 0, 2, threshold=-1.0)  # below -1 no unit goes: all on, all along
       start  end  score      text
    0      0    8    1.0  ab ab ab
    """
    where = "match_spans"
    values, units = _one_text_values(tr, text, layer, quantity, direction, where)  # (T, U), (U,)
    T = len(values)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end)) or not 0 <= start < end <= T:
        raise ValueError(f"{where}: start and end must select a span of the text, 0 <= start < end <= {T} (its length); got start={start!r}, end={end!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not math.isfinite(threshold):
        raise ValueError(f"{where}: threshold must be a finite number, such as 0.5; got {threshold!r}.")
    on = values > threshold  # (T, U)
    pattern = np.flatnonzero(on[start:end].all(axis=0))  # (P,) positions among the recorded units
    if len(pattern) == 0:
        lowest = np.asarray(values[start:end]).min(axis=0)  # (U,) each unit's least value over the span
        raise ValueError(
            f"{where}: no unit stays above threshold={threshold!r} over text[{start}:{end}] ({text[start:end]!r}); the "
            f"highest least value there is {lowest.max():.3g} (unit {units[lowest.argmax()]}). Lower the threshold or select a shorter span."
        )
    needed = len(pattern) if min_units is None else min_units
    if isinstance(needed, bool) or not isinstance(needed, (int, np.integer)) or not 1 <= needed <= len(pattern):
        raise ValueError(f"{where}: min_units must be a whole number from 1 to {len(pattern)} (the pattern's units); got {min_units!r}.")
    matching = on[:, pattern].sum(axis=1) >= needed  # (T,)
    edges = np.diff(np.concatenate([[0], matching.astype(np.int8), [0]]))  # (T + 1,)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # (M,) each, the maximal runs
    ons = np.logical_and.reduceat(np.vstack([on, np.zeros((1, on.shape[1]), bool)]), np.ravel([starts, ends], "F"))[::2]  # (M, U) on throughout each run
    in_pattern = np.zeros(on.shape[1], bool)
    in_pattern[pattern] = True
    scores = (ons & in_pattern).sum(axis=1) / (ons | in_pattern).sum(axis=1)  # (M,) Jaccard
    order = np.lexsort((starts, np.abs((ends - starts) - (end - start)), -scores))
    found = pd.DataFrame(
        {"start": starts[order], "end": ends[order], "score": scores[order], "text": [text[a:b] for a, b in zip(starts[order], ends[order])]}
    )
    found.attrs["units"] = units[pattern].tolist()
    return found


def _one_text_values(tr, text, layer, quantity, direction, where):
    """The (T, U) values of one quantity over the one traced text, checked against it, and the (U,) units."""
    if not hasattr(tr, "layers") or not hasattr(tr, "to_frame"):
        raise TypeError(f"{where}: tr must be an ll.Trace (from ll.trace(net, [vocabulary.encode(text)])); got {type(tr).__name__}.")
    text = _check_text(text, "text", where)
    if layer is None and len(tr.layers) > 1:
        raise ValueError(f"{where}: the trace recorded {len(tr.layers)} layers; choose one with layer=, from {', '.join(tr.layers)}.")
    recorded = tr[layer or next(iter(tr.layers))]
    if recorded.mask.shape[0] != 1 or int(recorded.mask.sum()) != len(text) or not np.array_equal(recorded.steps, np.arange(len(text))):
        raise ValueError(
            f"{where}: the trace of layer {recorded.name!r} holds {recorded.mask.shape[0]} sequence(s) and {int(recorded.mask.sum())} "
            f"recorded real steps, but text has {len(text)} characters; trace the text as one sequence with every step "
            f"(ll.trace(net, [vocabulary.encode(text)]))."
        )
    if direction not in recorded.directions:
        raise ValueError(f"{where}: direction must be one of {', '.join(map(repr, recorded.directions))} for layer {recorded.name!r}; got {direction!r}.")
    arrays = recorded.directions[direction].arrays
    if quantity not in arrays:
        raise ValueError(f"{where}: quantity must be one of {', '.join(map(repr, arrays))} (what the trace recorded of layer {recorded.name!r}); got {quantity!r}.")
    return arrays[quantity][0], recorded.units  # (T, U), (U,)
