import numpy as np
import pytest

from lstmlab.viz import colored_text

from helpers import naming


def test_colored_text_lays_characters_out_line_by_line():
    text = "ab\ncde\n"
    values = np.array([0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7])
    fig = colored_text(text, values, title="unit 3", name="c")
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (2, 4)  # two lines; the longest has 3 characters and its newline
    np.testing.assert_array_equal(z[0, :3], [0.1, -0.2, 0.3])
    np.testing.assert_array_equal(z[1], [0.4, -0.5, 0.6, 0.7])
    assert np.isnan(z[0, 3])  # the first line has ended
    assert [list(row) for row in heat.text] == [["a", "b", "\u21b5", ""], ["c", "d", "e", "\u21b5"]]
    assert (heat.zmin, heat.zmax, heat.zmid) == (-0.7, 0.7, 0.0)
    assert fig.layout.title.text == "unit 3" and heat.colorbar.title.text == "c"
    assert "c = %{z:.3f}" in heat.hovertemplate and fig.layout.yaxis.autorange == "reversed"
    assert heat.y[0] == 1 and heat.x[0] == 1, "lines and columns count from 1, as editors do"
    assert list(colored_text("x\ny", [1.0, 0.0, -1.0], first_line=40).data[0].y) == [40, 41]  # a piece from line 40


def test_colored_text_without_a_final_newline():
    fig = colored_text("x\ny", [1.0, 0.0, -1.0])
    assert np.asarray(fig.data[0].z, dtype=float).shape == (2, 2)
    assert [list(row) for row in fig.data[0].text] == [["x", "\u21b5"], ["y", ""]]


def test_colored_text_bad_input():
    with pytest.raises(ValueError, match=naming("colored_text: values has 2 numbers", "text has 3 characters")):
        colored_text("abc", [1, 2])
    with pytest.raises(ValueError, match=r"colored_text: text has 3 lines; at most max_lines=2 stay readable"):
        colored_text("a\nb\nc\n", np.zeros(6), max_lines=2)
    with pytest.raises(ValueError, match=r"colored_text: text must be a non-empty string"):
        colored_text("", [])
