"""The lessons as files: stored light and normalized, re-run to the same bytes, exported to one page."""

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from lstmlab import notebooks
from lstmlab.cli import main

LESSONS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PLOTLY_JS = "plotly.js v"  # the banner at the top of plotly.min.js

SMALL = [
    "import plotly.graph_objects as go\nimport plotly.io as pio\npio.renderers.default = 'plotly_mimetype'",
    "go.Figure(go.Scatter(x=[0, 1, 2], y=[3, 1, 2]), layout={'title': 'first'}).show()",
    "from lstmlab import widgets\nwidgets.cell_playground()",
    "print('no figure here')",
]


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in SMALL]), path)
    return path


def test_the_lessons_weigh_under_3_mb_and_carry_no_plotly_js():
    assert sum(p.stat().st_size for p in LESSONS) < 3 * 2**20
    for path in LESSONS:
        text = path.read_text()
        assert PLOTLY_JS not in text, f"{path.name} stores plotly.js: set pio.renderers.default = 'plotly_mimetype'"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_lesson_is_stored_normalized(path):
    """Stored with `lstmlab execute` (make notebooks): a re-run of an unchanged lesson changes nothing."""
    nb = nbformat.read(path, as_version=4)
    assert nbformat.writes(notebooks.normalize(nb)) == nbformat.writes(nb)


def test_normalize_numbers_cells_and_keeps_apps_as_text():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", execution_count=7), nbformat.v4.new_code_cell("")])  # one never ran
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-11-30T10:00:00"}
    app = {notebooks.WIDGET: {"model_id": "0123456789abcdef0123456789abcdef"}, "text/plain": "lstmlab app (...): unit"}
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", app)]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    once = notebooks.normalize(nb)
    assert once.cells[0].execution_count == 1 and once.cells[1].execution_count is None
    assert "execution" not in once.cells[0].metadata and "widgets" not in once.metadata
    assert once.cells[0].outputs[0].data == {"text/plain": "lstmlab app (...): unit"}
    assert notebooks.normalize(once) == once


def test_execute_twice_writes_the_same_bytes(small):
    notebooks.execute(small)
    first = small.read_bytes()
    notebooks.execute(small)
    assert small.read_bytes() == first
    nb = nbformat.read(small, as_version=4)
    figure = nb.cells[1].outputs[0]
    assert notebooks.PLOTLY in figure.data and "text/html" not in figure.data
    assert list(nb.cells[2].outputs[0].data) == ["text/plain"]
    assert nb.cells[2].outputs[0].data["text/plain"].startswith("lstmlab app (run this cell in JupyterLab to use it): input, amplitude")
    assert "widgets" not in nb.metadata
    assert [c.execution_count for c in nb.cells] == [1, 2, 3, 4]


def test_export_embeds_plotly_js_once_and_draws_the_apps(small, tmp_path, capsys):
    notebooks.execute(small)
    out = tmp_path / "page.html"
    assert main(["export", str(small), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    page = out.read_text()
    assert page.count(PLOTLY_JS) == 1
    fetched = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert [u for u in fetched if not u.startswith(("data:", "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"))] == []
    divs = re.findall(r'<div[^>]*class="plotly-graph-div"', page)
    assert len(divs) == 1
    assert "no figure here" in page and json.dumps("first") in page and "lstmlab app (run this cell" in page


def test_export_and_execute_refuse_what_is_not_a_notebook(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path / "missing.ipynb")])
    assert "is not a notebook file; give the path of an existing .ipynb file" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"execute: .*notes.txt is not a notebook file"):
        notebooks.execute(tmp_path / "notes.txt")


def _quiz_calls(nb):
    for cell in nb.cells:
        if cell.cell_type == "code" and "quiz(" in cell.source:
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "quiz":
                    yield node


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_a_student_reading_a_lesson_sees_no_answer(path):
    """Solutions are tagged `solution`, their code and outputs collapsed; quiz answers are sealed."""
    nb = nbformat.read(path, as_version=4)
    for k, cell in enumerate(nb.cells):
        tagged = notebooks.SOLUTION in cell.metadata.get("tags", [])
        if cell.cell_type == "markdown" and cell.source.startswith("Solution"):
            assert tagged, f"{path.name} cell {k}: a 'Solution' heading without the tag 'solution'"
            assert notebooks.SOLUTION in nb.cells[k + 1].metadata.get("tags", []), f"{path.name} cell {k + 1}: the solution's code is not tagged"
        if cell.cell_type == "code" and cell.metadata.get("jupyter", {}).get("source_hidden"):
            assert tagged, f"{path.name} cell {k}: a collapsed cell (a solution?) without the tag 'solution'"
        if tagged and cell.cell_type == "code":
            hidden = cell.metadata.get("jupyter", {})
            assert hidden.get("source_hidden") and hidden.get("outputs_hidden"), f"{path.name} cell {k}: a solution whose code or outputs show"
    for call in _quiz_calls(nb):
        assert len(call.args) == 3 and ast.literal_eval(call.args[2]).startswith("sealed:"), f"{path.name}: a quiz whose answer can be read"


def test_the_student_edition_is_the_lessons_without_their_solutions(tmp_path, capsys):
    out = tmp_path / "student"
    assert main(["student-edition", str(out)]) == 0
    assert f"wrote {len(LESSONS)} lessons without their solutions into {out}" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in LESSONS]
    dropped = 0
    for path in LESSONS:
        teacher, student = nbformat.read(path, as_version=4), nbformat.read(out / path.name, as_version=4)
        kept = [c for c in teacher.cells if notebooks.SOLUTION not in c.metadata.get("tags", [])]
        assert student.cells == kept
        assert not any(c.cell_type == "markdown" and c.source.startswith("Solution") for c in student.cells)
        dropped += len(teacher.cells) - len(kept)
    assert dropped >= 2 * 30  # every lesson but the index has solutions: a heading and its code each
    with pytest.raises(ValueError, match=r"student-edition: .* is the lessons' own folder"):
        notebooks.student_edition(out, out)
    with pytest.raises(ValueError, match=r"student-edition: .*empty holds no .ipynb lessons"):
        notebooks.student_edition(tmp_path / "empty", out)


def test_the_index_lists_every_lesson_in_file_order_under_its_own_title():
    """The index's table, its course plan and the files agree: file order is course order."""
    index = nbformat.read(LESSONS[0], as_version=4).cells[0].source
    rows = re.findall(r"^\| \[(\d+) · ([^\]]+)\]\((\S+\.ipynb)\)", index, flags=re.M)
    assert [name for _, _, name in rows] == [p.name for p in LESSONS[1:]], "the index and notebooks/ list different lessons"
    for number, title, name in rows:
        assert name.startswith(f"{int(number):02d}_"), f"the index numbers {name} as lesson {number}"
        heading = nbformat.read(LESSONS[0].parent / name, as_version=4).cells[0].source.splitlines()[0]
        assert heading.startswith(f"# {number} · {title}"), f"{name} opens with {heading!r}, the index calls it {number} · {title}"
    weeks = re.findall(r"^\| (?:\d+|\(after the course\)) \| ([\d, ]+) \|", index, flags=re.M)
    planned = [int(n) for week in weeks for n in week.split(",")]
    assert planned == list(range(1, len(rows) + 1)), f"the course plan reads the lessons as {planned}"
