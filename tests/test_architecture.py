"""Imports point down the layers of docs/ARCHITECTURE.md, and no modules import each other; every
layer class has its row in lstmlab.layers.REGISTRY, and every row what its columns promise.

The layers are read from the ```layers block of docs/ARCHITECTURE.md (the one list of them).
Every import of an lstmlab module counts, also one inside a function.
"""

import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import lstmlab as ll
from lstmlab.layers import REGISTRY, Layer, RecurrentLayer
from lstmlab.onnx_export import EXPORTERS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lstmlab"
DOCUMENT = ROOT / "docs" / "ARCHITECTURE.md"


def read_layers(text):
    """[(layer name, [module names relative to lstmlab])], bottom layer first."""
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, f"{DOCUMENT} has no ```layers block"
    layers = []
    for line in block.group(1).splitlines():
        line = line.split("#")[0].strip()
        if ":" in line:
            name, modules = line.split(":", 1)
            layers.append((name.strip(), modules.split()))
    return layers[::-1]


def module_names():
    """{dotted module name: file} for every module of the package ("lstmlab.layers" for its __init__)."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports(module, source, is_package, known):
    """[(line, imported lstmlab module)] of one module's source, at any depth (inside functions too)."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # `from . import reference` imports the module lstmlab.reference; `from .x import y` imports lstmlab.x
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found += [(node.lineno, target) for target in targets if target == "lstmlab" or target.startswith("lstmlab.")]
    return found


def layer_of(module, layers):
    """The index of the layer that holds `module` (a subpackage's layer holds its modules), or None."""
    relative = module.split(".")[1:] or ["__init__"]
    for k in range(len(relative), 0, -1):
        name = ".".join(relative[:k])
        for index, (_, modules) in enumerate(layers):
            if name in modules:
                return index
    return None


def import_graph():
    known = module_names()
    return known, {module: imports(module, path.read_text(encoding="utf-8"), path.name == "__init__.py", known) for module, path in known.items()}


def test_every_module_has_a_layer():
    layers = read_layers(DOCUMENT.read_text(encoding="utf-8"))
    missing = sorted(module for module in module_names() if layer_of(module, layers) is None)
    assert not missing, f"modules in no layer of {DOCUMENT.name}: {', '.join(missing)}; add each to the ```layers block."


def test_imports_point_down_the_layers():
    layers = read_layers(DOCUMENT.read_text(encoding="utf-8"))
    known, graph = import_graph()
    upward = []
    for module, found in sorted(graph.items()):
        own = layer_of(module, layers)
        for line, target in found:
            other = layer_of(target, layers)
            if own is not None and other is not None and other > own:
                upward.append(
                    f"{known[module].relative_to(ROOT)}:{line} imports {target} (layer {layers[other][0]!r}), "
                    f"above its own layer {layers[own][0]!r}"
                )
    assert not upward, "imports must point down the layers of docs/ARCHITECTURE.md:\n" + "\n".join(upward)


def test_no_import_cycles():
    known, graph = import_graph()
    edges = {module: {target for _, target in found if target in known} for module, found in graph.items()}
    cycles = set()
    for start in sorted(edges):
        path = _path_back(start, edges)
        if path and frozenset(path) not in {frozenset(c) for c in cycles}:
            cycles.add(tuple(path))
    assert not cycles, "import cycles (imports inside functions included):\n" + "\n".join(" -> ".join([*c, c[0]]) for c in sorted(cycles))


def _path_back(start, edges):
    """The shortest import chain from `start` back to itself, or None (breadth first)."""
    previous, frontier = {}, [start]
    while frontier:
        following = []
        for module in frontier:
            for target in sorted(edges[module]):
                if target == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                if target not in previous:
                    previous[target] = module
                    following.append(target)
        frontier = following
    return None


def test_the_checks_see_an_upward_import_in_a_function_and_a_cycle():
    layers = [("foundation", ["reference"]), ("layers", ["layers"]), ("uses", ["trace"]), ("viz", ["viz"])]
    assert layer_of("lstmlab.layers.recurrent", layers) == 1 and layer_of("lstmlab.viz.gates", layers) == 3
    assert layer_of("lstmlab.network", layers) is None
    known = {"lstmlab", "lstmlab.layers", "lstmlab.layers.lstm", "lstmlab.reference", "lstmlab.viz"}
    source = "from .. import reference\nfrom . import lstm\n\ndef draw():\n    from ..viz import heatmap\n"
    found = imports("lstmlab.layers.recurrent", source, False, known)
    assert found == [(1, "lstmlab.reference"), (2, "lstmlab.layers.lstm"), (5, "lstmlab.viz")]
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _path_back("a", edges) == ["a", "b", "c"] and _path_back("d", edges) is None


# --- the layer registry ---------------------------------------------------------------------------


def defined_layer_classes():
    """Every public layer class that a module of lstmlab/layers/ defines, but the bases Layer and RecurrentLayer."""
    found = set()
    for path in (PACKAGE / "layers").glob("[!_]*.py"):
        module = importlib.import_module(f"lstmlab.layers.{path.stem}")
        found |= {
            cls for name, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Layer) and cls.__module__ == module.__name__ and not name.startswith("_")
        }
    return found - {Layer, RecurrentLayer}


def test_every_layer_class_has_one_row_and_every_factory_is_public():
    classes = [row.cls for row in REGISTRY]
    assert set(classes) == defined_layer_classes() and len(set(classes)) == len(classes)
    assert len({cls.__name__ for cls in classes}) == len(classes)  # a network file names the class
    public = {name for name in ll.__all__ if inspect.isclass(getattr(ll, name)) and issubclass(getattr(ll, name), Layer)}
    assert public == {row.factory for row in REGISTRY}
    assert all(getattr(ll, row.factory) is row.cls for row in REGISTRY)


def test_every_row_has_what_its_columns_promise():
    for row in REGISTRY:
        assert (row.cls in EXPORTERS) != bool(row.no_onnx), f"{row.factory}: an ONNX exporter, or no_onnx saying why none"
        made = row.cls(**row.example)  # what the designer's palette adds
        assert set(row.form) <= set(made.config()), f"{row.factory}: the designer's form shows options the layer does not have"
    assert set(EXPORTERS) <= {row.cls for row in REGISTRY}


def test_import_lstmlab_waits_for_captum_until_an_attribution():
    # captum brings matplotlib (~0.7 s), which nothing else needs: lstmlab.attribution_batches imports it when it runs
    code = "import sys, lstmlab; print(sorted({m.split('.')[0] for m in sys.modules} & {'captum', 'matplotlib'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
