"""Text coloured by one unit's value at every character: the figure of Karpathy, Johnson and
Fei-Fei's "Visualizing and Understanding Recurrent Networks" (2015)."""

import numpy as np
import plotly.graph_objects as go

from ._style import STATE_SCALE, finish

NEWLINE = "\u21b5"  # ↵ marks the newline character, which has a value too


def colored_text(text, values, *, title="", name="value", max_lines=80, first_line=1):
    """Each character of `text` on a background coloured by its value, line by line as it reads.

    Blue below 0, white at 0, red above 0 (the colours of signed states in every lstmlab
    figure), the scale symmetric around 0; a newline shows as ↵ at the end of its line. Hovering
    a character shows it, its line and column, and its value.

    Args:
        text: the text, a non-empty string of at most max_lines lines.
        values: (T,) one number per character, e.g. `tr["lstm"].c[0, :, unit]`.
        title: the figure's title. Default: none.
        name: what the values are, for the colour bar and the hover. Default "value".
        max_lines: the most lines to draw (a figure stays readable). Default 80.
        first_line: the number the hover text gives the first line (for a piece of a longer
            text). Lines and columns count from 1, as editors do. Default 1.

    Returns:
        A plotly Figure with one heatmap: z is (lines, columns), NaN where a line has ended.
    """
    where = "colored_text"
    if not isinstance(text, str) or not text:
        raise ValueError(f"{where}: text must be a non-empty string; got {text!r:.40}.")
    values = np.asarray(values, dtype=np.float64).reshape(-1) if np.ndim(values) else np.zeros(0)
    if len(values) != len(text):
        raise ValueError(
            f"{where}: values has {len(values)} numbers but text has {len(text)} characters; give one value per "
            f"character (for a trace of the text as one sequence: tr[layer].c[0, :, unit])."
        )
    lines = text.split("\n")
    if text.endswith("\n"):
        lines = lines[:-1]  # the last newline ends the last line; no empty line after it
    if len(lines) > max_lines:
        raise ValueError(
            f"{where}: text has {len(lines)} lines; at most max_lines={max_lines} stay readable. Show a piece of it "
            f"(text[:n] with values[:n]), or raise max_lines."
        )
    width = max(len(line) for line in lines) + 1  # room for each line's newline
    z = np.full((len(lines), width), np.nan)  # (lines, columns)
    shown = np.full((len(lines), width), "", dtype=object)  # (lines, columns)
    position = 0
    for row, line in enumerate(lines):
        end = min(position + len(line) + 1, len(text))  # with its newline, if it has one
        z[row, : end - position] = values[position:end]
        shown[row, : end - position] = [NEWLINE if c == "\n" else c for c in text[position:end]]
        position = end
    limit = float(np.nanmax(np.abs(values))) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=np.arange(1, width + 1),  # columns from 1, as editors count them
            y=np.arange(first_line, first_line + len(lines)),  # lines from first_line
            text=shown,
            texttemplate="%{text}",
            textfont={"family": "monospace", "size": 13},
            colorscale=STATE_SCALE,
            zmin=-limit,
            zmax=limit,
            zmid=0.0,
            colorbar={"title": {"text": name}},
            hovertemplate=f"line %{{y}}, column %{{x}}: '%{{text}}'<br>{name} = %{{z:.3f}}<extra></extra>",
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    return finish(fig, title, height=80 + 18 * len(lines), width=min(1400, 160 + 9 * width), margin={"l": 10, "r": 10, "t": 50, "b": 10})
