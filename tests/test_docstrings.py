"""Every public name has a docstring good enough to be its reference page (`make book` shows them).

The public names are those of the site's API reference (docs/book/make_book.py): ll.__all__, ll.viz,
ll.widgets, ll.text and ll.datasets. A function needs an "Args:" section (when it takes arguments)
and a "Returns:" or "Yields:" section; a class that takes arguments needs "Args:" or "Attributes:".
"""

import importlib.util
import inspect
import pathlib
import re

import pytest

BOOK = pathlib.Path(__file__).parents[1] / "docs" / "book" / "make_book.py"


def make_book():
    spec = importlib.util.spec_from_file_location("make_book", BOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_BOOK = make_book()


def has(doc, *sections):
    return any(re.search(rf"^{s}:\s*$", doc, re.M) for s in sections)


def missing_sections(obj):
    """What the docstring of `obj` lacks: [] when it is a reference."""
    doc = inspect.getdoc(obj) or ""
    if not doc:
        return ["a docstring"]
    try:
        parameters = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        parameters = {}
    if inspect.isclass(obj):
        return [] if not parameters or has(doc, "Args", "Attributes") else ["Args: or Attributes:"]
    lacks = []
    if parameters and not has(doc, "Args"):
        lacks.append("Args:")
    if not has(doc, "Returns", "Yields"):
        lacks.append("Returns:")
    return lacks


NAMES = {shown: obj for shown, _, _, obj in MAKE_BOOK.public_names()}


def test_the_rule_reads_sections():
    def documented(x):
        """One line.

        Args:
            x: a number.

        Returns:
            x, unchanged.
        """
        return x

    def bare(x):
        """One line, and Returns: in a sentence is no section."""
        return x

    assert missing_sections(documented) == []
    assert missing_sections(bare) == ["Args:", "Returns:"]
    assert missing_sections(lambda: None) == ["a docstring"]


@pytest.mark.parametrize("shown", sorted(NAMES))
def test_public_name_has_args_and_returns(shown):
    lacks = missing_sections(NAMES[shown])
    assert not lacks, f"{shown}'s docstring lacks {', '.join(lacks)} (Google style, as in lstmlab/options.py)"


@pytest.mark.parametrize("shown", sorted(NAMES))
def test_public_name_has_a_page_of_the_api_reference(shown):
    assert MAKE_BOOK.group_of(NAMES[shown])  # exits, naming API_GROUPS in docs/book/make_book.py, where none fits
