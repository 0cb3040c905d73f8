"""The Binder set-up (binder/) stays in step with the versions we test."""

import pathlib
import re

ROOT = pathlib.Path(__file__).parents[1]


def pins(path):
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s#]+)", line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_binder_pins_are_the_tested_versions():
    binder, tested = pins("binder/requirements.txt"), pins("constraints.txt")
    for package in ("torch", "numpy", "pandas", "tqdm", "jupyterlab", "ipywidgets", "plotly", "ninja", "captum", "matplotlib"):
        assert package in binder, f"binder/requirements.txt does not pin {package}"
        assert binder[package] == tested[package], f"{package}: binder {binder[package]}, constraints.txt {tested[package]}"


def test_binder_gets_a_cpu_torch_and_installs_lstmlab_itself():
    requirements = (ROOT / "binder/requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert (ROOT / "binder/runtime.txt").read_text().strip() == "python-3.11"
    post_build = (ROOT / "binder/postBuild").read_text()
    assert "set -euo pipefail" in post_build and "pip install --no-deps ." in post_build
    assert "loop_kernel.prepare()" in post_build.split("pip install --no-deps .")[1]  # the step loop built into the image


def test_binder_installs_every_dependency_of_lstmlab():
    # postBuild installs lstmlab with --no-deps: what pyproject.toml's dependencies name must be in binder/requirements.txt
    pyproject = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M).group(1)
    needed = {re.match(r"\s*\"([A-Za-z0-9_.\-]+)", line).group(1).lower() for line in block.splitlines() if line.strip().startswith('"')}
    assert needed and needed <= set(pins("binder/requirements.txt")), f"missing on Binder: {sorted(needed - set(pins('binder/requirements.txt')))}"
