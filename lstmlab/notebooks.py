"""The lessons as files: run a notebook and store it so that a re-run changes nothing, export it as
one self-contained HTML page, or write the student edition (`lstmlab execute`, `lstmlab export`,
`lstmlab student-edition`).

The notebooks in the repository are the instructor edition: a solution cell carries the cell tag
`solution` (its code and outputs collapsed until the reader expands them), and every quiz answer is
sealed (`lstmlab.widgets.seal`). The student edition is the same lessons without the solution cells.

Lessons store their figures as plotly's JSON only (the renderer "plotly_mimetype"): JupyterLab,
Binder and VS Code draw them with the plotly.js they already have, so a lesson weighs kilobytes
rather than the 5 MB of an inline plotly.js. `export` puts plotly.js back, once per page.

nbformat, nbclient, nbconvert and plotly come with `lstmlab[lab]`; they are imported where they
are used, so that the rest of the `lstmlab` command works without them.
"""

import copy
import html
from pathlib import Path

PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"


def execute(path, timeout=600):
    """Run every cell of the notebook at `path` in a fresh kernel and store the outputs in place.

    The stored file is normalized (see `normalize`), so running an unchanged lesson on the same
    machine writes the same bytes. Returns the path.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = _read(path, "execute")
    NotebookClient(nb, timeout=timeout, record_timing=False, resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(normalize(nb), path)
    return path


def normalize(nb):
    """Take out of a run notebook what changes from one run to the next.

    The cells that ran are numbered 1, 2, ... in order, and per-cell run metadata is dropped.
    Apps (ipywidgets) are stored as their text only: a widget's stored state holds random ids and
    comes back to life only in a running kernel, so a lesson's app cell shows what to run instead.
    """
    import nbformat

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if cell.execution_count is not None:
            count += 1
            cell.execution_count = count
        for output in cell.outputs:
            if "execution_count" in output:
                output.execution_count = count
            output.get("data", {}).pop(WIDGET, None)
    return nbformat.from_dict(nb)


def export(path, out=None):
    """Write the notebook at `path` as one HTML page: plotly.js embedded once and every figure
    drawn. Only the equations need the web (MathJax); everything else works offline. Apps need a
    running kernel, so the page shows what to run instead.

    Returns the path of the page (`out`, default: the notebook's path with .html).
    """
    import plotly.io as pio
    from nbconvert import HTMLExporter

    path = Path(path)
    out = path.with_suffix(".html") if out is None else Path(out)
    nb = _read(path, "export")
    shown = [output["data"] for cell in nb.cells for output in cell.get("outputs", []) if PLOTLY in output.get("data", {})]
    for k, data in enumerate(shown):
        data["text/html"] = pio.to_html(data[PLOTLY], include_plotlyjs=k == 0, full_html=False, config={"displaylogo": False})
    nb = normalize(nb)  # apps as their text
    # plotly.js is inline, so the page needs no require.js (which would hide window.Plotly from it);
    # only the equations need the web, for MathJax (offline they show as TeX).
    exporter = HTMLExporter(template_name="lab", require_js_url="data:application/javascript,")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": html.escape(path.stem)}})
    out.write_text(body, encoding="utf-8")
    return out


SOLUTION = "solution"  # the cell tag of a solution (the "Solution n" line and its code)


def student_edition(lessons, out):
    """Write every lesson of the folder `lessons` into the folder `out` without its solution cells
    (code and stored outputs: the cells tagged `solution`). Quiz answers are sealed in both editions.

    Returns the paths written, in order.
    """
    import nbformat

    lessons, out = Path(lessons), Path(out)
    paths = sorted(lessons.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"student-edition: {lessons} holds no .ipynb lessons; give the folder of the lessons (notebooks/).")
    if out.resolve() == lessons.resolve():
        raise ValueError(f"student-edition: the output folder {out} is the lessons' own folder; give another, e.g. build/student.")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = _read(path, "student-edition")
        nb.cells = [cell for cell in nb.cells if SOLUTION not in cell.metadata.get("tags", [])]
        nbformat.write(nb, out / path.name)
        written.append(out / path.name)
    return written


def _read(path, where):
    import nbformat

    if path.suffix != ".ipynb" or not path.is_file():
        raise ValueError(f"{where}: {path} is not a notebook file; give the path of an existing .ipynb file.")
    return nbformat.read(path, as_version=4)
