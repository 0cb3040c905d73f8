"""Features of Python source, one number per character: what a reader knows at each character
(inside a string or a comment, how deep in brackets, the indent), for `ll.find_cells`."""

import io
import tokenize

import numpy as np
import pandas as pd

from .vocabulary import check_text

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
    text = check_text(text, "text", "code_features")
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
    bracket_depth = np.maximum(np.cumsum(depth_change[:T]), 0)  # (T,) a stray ")" never goes below 0
    columns = (in_string, in_comment, bracket_depth, indents[line_of], np.arange(T) - starts[line_of])  # (T,) each, as CODE_FEATURES names them
    return pd.DataFrame(dict(zip(CODE_FEATURES, columns)))


def _tokens(text, starts):
    """(kind, string, begin, end) of every token of `text`, as character offsets; an unfinished
    string at the end of the text runs to its end (reported as a STRING)."""
    offset = lambda row, col: min(int(starts[min(row, len(starts)) - 1]) + col, len(text))  # noqa: E731 (rows count from 1)
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
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
