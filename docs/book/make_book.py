"""Build the course and the API reference as a static website (`make book`): build/book/.

The site is made from what git holds, without running a lesson:

1. the sources are written into build/book-src/, laid out as in the repository (notebooks/, docs/) so
   that the lessons' links resolve: every lesson in the order of notebooks/00_index.ipynb
   with its stored outputs, the glossary (docs/GLOSSARY.md), the README's tour, and one API page per
   group of public names (API_GROUPS below), each name with its MATLAB name where there is one;
2. Sphinx (myst-nb reads the notebooks, autodoc the docstrings, sphinx-book-theme draws the pages)
   turns them into build/book/, failing on any warning.

The lessons store their figures as plotly's JSON only; here each becomes a `<div class="lstmlab-plotly">`
holding that JSON, which docs/book/static/plotly-figures.js draws with the one plotly.js the site
serves (_static/plotly.min.js, copied from the installed plotly). Apps need a kernel: their stored text
stays, followed by a "launch on Binder" button to the lesson (owner: --owner or $BOOK_OWNER).
Solutions (cells tagged "solution") are collapsed, or left out with --student.

Usage: python docs/book/make_book.py [--owner NAME] [--student] [--out build/book]
"""

import argparse
import html
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SRC = ROOT / "build" / "book-src"
PLOTLY = "application/vnd.plotly.v1+json"
APP_TEXT = "lstmlab app ("  # how an app's stored text output starts (lstmlab.widgets._app)
SOLUTION = "solution"
BINDER = "https://mybinder.org/v2/gh/{owner}/lstmlab/HEAD?urlpath=lab/tree/notebooks/{name}"

# The public names, grouped as a user looks for them: (page, title, modules whose names it takes).
# A name goes to the first group one of whose module prefixes its defining module starts with.
API_GROUPS = [
    ("layers", "Layers", ["lstmlab.layers"]),
    ("network", "Network", ["lstmlab.network", "lstmlab.analysis", "lstmlab.saving"]),
    ("data", "Data sets and sequences", ["lstmlab.datasets", "lstmlab.data", "lstmlab.batching", "lstmlab.tables",
                                         "lstmlab.splitting"]),
    ("training", "Training", ["lstmlab.options", "lstmlab.training", "lstmlab.solvers", "lstmlab.checkpoints"]),
    ("prediction", "Prediction and state", ["lstmlab.prediction", "lstmlab.decoding", "lstmlab.seq2seq"]),
    ("trace", "Trace: every gate, every step", ["lstmlab.trace"]),
    ("interventions", "Interventions and ablation", ["lstmlab.interventions", "lstmlab.ablation"]),
    ("attribution", "Attribution", ["lstmlab.attribution", "lstmlab.attribution_checks", "lstmlab.decomposition"]),
    ("text", "Text and language models", ["lstmlab.text"]),
    ("interop", "Interop: PyTorch and ONNX", ["lstmlab.interop", "lstmlab.onnx_export", "lstmlab.onnx_import"]),
    ("pictures", "Pictures (lstmlab.viz)", ["lstmlab.viz"]),
    ("apps", "Apps (lstmlab.widgets)", ["lstmlab.widgets"]),
]
# Where the names come from: (how a user writes the module, the module, names or None for "every
# public function and class defined in it").
API_SOURCES = [("ll", "lstmlab", "__all__"), ("ll.viz", "lstmlab.viz", "__all__"),
               ("ll.widgets", "lstmlab.widgets", "__all__"), ("ll.text", "lstmlab.text", None),
               ("ll.datasets", "lstmlab.datasets", None)]

# MATLAB's name for an lstmlab name, where MATLAB has one (the README's "From MATLAB to lstmlab").
MATLAB = {
    "sequence_input_layer": "sequenceInputLayer", "lstm_layer": "lstmLayer", "bilstm_layer": "bilstmLayer",
    "gru_layer": "gruLayer", "lstm_projected_layer": "lstmProjectedLayer", "fully_connected_layer": "fullyConnectedLayer",
    "softmax_layer": "softmaxLayer", "sigmoid_layer": "sigmoidLayer", "dropout_layer": "dropoutLayer",
    "relu_layer": "reluLayer", "flatten_layer": "flattenLayer", "convolution1d_layer": "convolution1dLayer",
    "convolution2d_layer": "convolution2dLayer", "max_pooling1d_layer": "maxPooling1dLayer",
    "average_pooling1d_layer": "averagePooling1dLayer", "global_max_pooling1d_layer": "globalMaxPooling1dLayer",
    "global_average_pooling1d_layer": "globalAveragePooling1dLayer",
    "batch_normalization_layer": "batchNormalizationLayer", "sequence_folding_layer": "sequenceFoldingLayer",
    "sequence_unfolding_layer": "sequenceUnfoldingLayer", "word_embedding_layer": "wordEmbeddingLayer",
    "Network": "dlnetwork", "load_network": "load", "analyze_network": "analyzeNetwork",
    "training_options": "trainingOptions", "trainnet": "trainnet", "predict": "predict",
    "minibatchpredict": "minibatchpredict", "scores2label": "scores2label", "classify": "classify",
    "predict_and_update_state": "predictAndUpdateState", "classify_and_update_state": "classifyAndUpdateState",
    "reset_state": "resetState", "activations": "activations", "pad_sequences": "padsequences",
    "export_onnx": "exportONNXNetwork", "import_onnx": "importNetworkFromONNX", "japanese_vowels": "japaneseVowelsTrainData",
    "confusion_chart": "confusionchart", "training_progress": "trainingOptions(Plots=\"training-progress\")",
    "split_validation": "trainingPartitions", "edit_distance": "editDistance", "designer": "deepNetworkDesigner",
    "load_checkpoint": "load (a CheckpointPath file)",
}


def lessons_in_order():
    """The lessons as 00_index.ipynb lists them (its links), the index first."""
    index = json.loads((ROOT / "notebooks" / "00_index.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(cell["source"]) for cell in index["cells"] if cell["cell_type"] == "markdown")
    names = list(dict.fromkeys(re.findall(r"\]\((\d\d_\w+\.ipynb)\)", text)))
    missing = sorted({p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")} - set(names) - {"00_index.ipynb"})
    if missing:
        raise SystemExit(f"make_book: notebooks/00_index.ipynb does not link {missing}; add them to its table.")
    return ["00_index.ipynb"] + names


def lesson(name, owner, student):
    """One lesson for the site: figures as plotly divs, apps with a Binder button, solutions collapsed."""
    nb = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).get("tags", [])
        if SOLUTION in tags:
            if student:
                continue
            if cell["cell_type"] == "code":
                cell["metadata"]["tags"] = tags + ["hide-cell"]
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY in data:
                figure = json.dumps(data.pop(PLOTLY)).replace("</", "<\\/")
                data.clear()
                data["text/html"] = f'<div class="lstmlab-plotly"><script type="application/json">{figure}</script></div>'
            text = "".join(data.get("text/plain", ""))
            if text.startswith(APP_TEXT):
                link = BINDER.format(owner=owner, name=name)
                data["text/html"] = (f'<pre class="lstmlab-app">{html.escape(text)}</pre><p><a class="lstmlab-binder" '
                                     f'href="{link}">launch this lesson on Binder</a> to use the app</p>')
        cells.append(cell)
    nb["cells"] = cells
    return json.dumps(nb, indent=1, ensure_ascii=False)


def readme_tour():
    """The README's section "A tour in 20 lines", as a page."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## A tour in 20 lines")
    end = readme.index("\n## ", start + 3)
    tour = readme[start:end].replace("## A tour in 20 lines", "# A tour in 20 lines", 1)
    return tour + "\nThe lessons go on from here: [the course](notebooks/00_index.ipynb).\n"


def public_names():
    """(user-facing name, module, attribute, object) for every public name of API_SOURCES."""
    found = []
    for shown, module_name, listing in API_SOURCES:
        module = importlib.import_module(module_name)
        if listing:
            names = list(getattr(module, listing))
        else:
            names = [n for n, obj in vars(module).items() if not n.startswith("_")
                     and (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__.startswith(module_name)]
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue  # ll.text, ll.datasets: their names are listed from their own modules
            found.append((f"{shown}.{name}", module_name, name, obj))
    return found


def group_of(obj):
    module = getattr(obj, "__module__", "")
    for page, _, prefixes in API_GROUPS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return page
    raise SystemExit(f"make_book: {obj!r} (module {module}) belongs to no API group; add its module to API_GROUPS "
                     "in docs/book/make_book.py.")


def api_pages():
    """{page: rst text} for the API reference, and its index page."""
    pages = {page: [] for page, _, _ in API_GROUPS}
    seen = set()
    for shown, module_name, name, obj in public_names():
        if (id(obj), name) in seen:
            continue  # one section for a name (ll.text.generate is ll.generate); an alias has its own
        seen.add((id(obj), name))
        pages[group_of(obj)].append((shown, module_name, name, obj))
    out = {}
    rows = []
    for page, title, _ in API_GROUPS:
        entries = pages[page]
        if not entries:
            continue
        lines = [title, "=" * len(title), ""]
        for shown, module_name, name, obj in entries:
            # A layer is called as a function (ll.lstm_layer(100)) but is a class under another name
            # (LSTMLayer): documented as a function, it shows its signature and docstring, not "alias of".
            kind = "autoclass" if inspect.isclass(obj) and obj.__name__ == name else "autofunction"
            lines += [f".. {kind}:: {module_name}.{name}"]
            if kind == "autoclass":
                lines += ["   :members:"]
            lines += [""]
            matlab = MATLAB.get(name)
            lines += [f"   ``{shown}``" + (f" · MATLAB: ``{matlab}``" if matlab else ""), ""]
        out[f"api/{page}.rst"] = "\n".join(lines)
        rows.append(f"   {page}")
    index = ["API reference", "=============", "",
             "Every public name of ``lstmlab`` (``ll``), ``ll.viz``, ``ll.widgets``, ``ll.text`` and "
             "``ll.datasets``, with its signature, its docstring and, where MATLAB has one, its MATLAB name.", "",
             ".. toctree::", "   :maxdepth: 1", ""] + rows + [""]
    out["api/index.rst"] = "\n".join(index)
    return out


def write_sources(owner, student):
    shutil.rmtree(SRC, ignore_errors=True)
    (SRC / "notebooks").mkdir(parents=True)
    (SRC / "docs").mkdir()
    (SRC / "_static").mkdir()
    import plotly

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", SRC / "_static" / "plotly.min.js")
    names = lessons_in_order()
    for name in names:
        (SRC / "notebooks" / name).write_text(lesson(name, owner, student), encoding="utf-8")
    (SRC / "tour.md").write_text(readme_tour(), encoding="utf-8")
    shutil.copy(ROOT / "docs" / "GLOSSARY.md", SRC / "docs" / "GLOSSARY.md")
    for path, text in api_pages().items():
        (SRC / path).parent.mkdir(exist_ok=True)
        (SRC / path).write_text(text, encoding="utf-8")
    lessons = "\n".join(f"notebooks/{Path(n).stem}" for n in names)
    edition = " (student edition: no solutions)" if student else ""
    (SRC / "index.md").write_text(f"""# lstmlab: the course and the API{edition}

lstmlab teaches how an LSTM works by letting you look inside one: every gate, cell state and hidden
state, recorded exactly. Read [the tour](tour.md), then the lessons in order; each lesson's apps run
on Binder. The [API reference](api/index.rst) lists every public name with its MATLAB name.

```{{toctree}}
:caption: Start
:maxdepth: 1
tour
docs/GLOSSARY
```

```{{toctree}}
:caption: Lessons
:maxdepth: 1
{lessons}
```

```{{toctree}}
:caption: Reference
:maxdepth: 2
api/index
```
""", encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the lessons and the API reference as a website.")
    parser.add_argument("--owner", default=os.environ.get("BOOK_OWNER") or "lstmlab",
                        help="the GitHub owner in the Binder links (default: $BOOK_OWNER or lstmlab)")
    parser.add_argument("--student", action="store_true", help="leave the solutions out")
    parser.add_argument("--out", default=str(ROOT / "build" / "book"), help="the site's folder (default build/book)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    write_sources(args.owner, args.student)
    shutil.rmtree(args.out, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-j", "2",
               "-c", str(HERE), "-d", str(ROOT / "build" / "book-doctrees"), str(SRC), args.out]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    result = subprocess.run(command, env=env)
    if result.returncode:
        raise SystemExit(f"make_book: sphinx failed (exit {result.returncode}); the warnings above say where.")
    for source_map in Path(args.out, "_static").rglob("*.map"):
        source_map.unlink()  # the theme's source maps (3 MB) serve only to debug its scripts
    size = sum(p.stat().st_size for p in Path(args.out).rglob("*") if p.is_file())
    print(f"wrote {args.out}: {size / 2**20:.1f} MiB in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
