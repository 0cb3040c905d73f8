"""Sphinx configuration of the lstmlab site (built by docs/book/make_book.py: `make book`)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

project = "lstmlab"
author = "the lstmlab authors"
copyright = "MIT licence"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]

# The lessons are shown with the outputs git holds: never executed here.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# Docstrings: Google style (Args:, Returns:), signatures as written, members in source order.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
add_module_names = False
default_role = "code"  # `name` in a docstring is code, as in Markdown

html_theme = "sphinx_book_theme"
html_title = "lstmlab"
html_static_path = [str(ROOT / "build" / "book-src" / "_static"), "static"]
html_css_files = ["lstmlab-book.css"]
html_js_files = ["plotly-figures.js"]
html_copy_source = False
html_show_sourcelink = False
html_context = {"default_mode": "light"}  # a first visit has no stored mode: say which, or the theme complains
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "search_bar_text": "Search the course and the API…",
}


CODE = re.compile(r"(:[\w:]+:`[^`]+`)|``([^`]+)``|`([^`]+)`")  # a role's :role:`x`, ``x`` or `x`


def plain_text(line):
    """One docstring line as reStructuredText that shows what the plain text says."""
    def escape(text):
        return re.sub(r"(?<!\\)([|*])", r"\\\1", text)

    out, end = [], 0
    for m in CODE.finditer(line):
        out.append(escape(line[end:m.start()]))
        out.append(m.group(1) or f"``{m.group(2) or m.group(3)}``" + ("\\ " if line[m.end():m.end() + 1].isalnum() else ""))
        end = m.end()
    out.append(escape(line[end:]))
    return re.sub(r"^(\s*)\\\* ", r"\1* ", "".join(out))  # a "* " bullet stays a bullet


RESULTS = re.compile(r"^(\s*)(Returns|Yields|Columns):\s*$")
NAMED = re.compile(r"^([\w.,\[\]() ]+?): (.*)$")  # "X: list of arrays ..." names one of several results


def results_as_fields(lines):
    """A "Returns:", "Yields:" or "Columns:" section as a field: its wrapped lines joined, and a
    section that names several things (X: ..., Y: ...) as a list, one item per thing."""
    out, k = [], 0
    while k < len(lines):
        m = RESULTS.match(lines[k])
        if not m:
            out.append(lines[k])
            k += 1
            continue
        indent, k = len(m.group(1)), k + 1
        body = []
        while k < len(lines) and (not lines[k].strip() or len(lines[k]) - len(lines[k].lstrip()) > indent):
            body.append(lines[k])
            k += 1
        while body and not body[-1].strip():
            body.pop()
        base = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=indent + 4)
        items = []  # paragraphs or named things, wrapped lines joined
        for b in body:
            if not b.strip():
                items.append("")
            elif len(b) - len(b.lstrip()) > base and items and items[-1]:
                items[-1] += " " + b.strip()
            else:
                items.append(b.strip())
        named = [i for i in items if i]
        listed = len(named) > 1 and all(NAMED.match(i) for i in named)
        out.append(" " * indent + f":{m.group(2)}:")
        for item in items:
            out.append(" " * (indent + 4) + (f"* {item}" if listed and item else item))
        out.append("")
    lines[:] = out


def docstrings_as_written(app, what, name, obj, options, lines):
    """The docstrings are written to be read as plain text: `name` is code, |x| an absolute value,
    a * a multiplication. Doctest examples (from >>> to the next blank line) stay as they are."""
    results_as_fields(lines)
    example = False
    for k, line in enumerate(lines):
        example = line.lstrip().startswith(">>>") or (example and line.strip() != "")
        if not example:
            lines[k] = plain_text(line)


def setup(app):
    app.connect("autodoc-process-docstring", docstrings_as_written, priority=400)
    # plotly.js (one file in _static/, cached by the browser) only on the pages that hold a figure.
    def plotly_where_needed(app, pagename, templatename, context, doctree):
        if "lstmlab-plotly" in context.get("body", ""):
            app.add_js_file("plotly.min.js", priority=400)

    app.connect("html-page-context", plotly_where_needed)
