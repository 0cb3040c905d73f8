"""pytest set-up shared by tests/ and the notebooks (run with nbval)."""

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # small tensors: one thread is faster here, and runs are repeatable

KERNEL_MEMORY_LIMIT_MB = 1000  # a free Binder session is guaranteed 1 GB; a lesson's kernel stays below it
PEAKS = pytest.StashKey[dict]()  # notebook name -> the peak resident memory of its kernel, in MB


def pytest_configure(config):
    config.stash[PEAKS] = {}


def pytest_collectstart(collector):
    """Notebooks: compare text outputs. Plotly's JSON (and the HTML copy that embeds it) and stderr
    vary between runs and versions; the numbers that matter are printed as rounded text."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("application/vnd.plotly.v1+json", "text/html", "stderr")


def peak_resident_mb(pid):
    """The most memory a process has held resident so far (Linux's VmHWM), in MB; None elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return None if kib is None else kib * 1024 / 1e6


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a notebook's last cell: how much memory did the lesson need? (read before nbval stops its kernel)"""
    notebook = item.parent
    kernel = getattr(notebook, "kernel", None)
    last = kernel is not None and (nextitem is None or nextitem.parent is not notebook)
    peak = peak_resident_mb(kernel.km.provisioner.pid) if last else None
    yield
    if peak is None:
        return
    item.config.stash[PEAKS][Path(str(notebook.fspath)).name] = peak
    if peak > KERNEL_MEMORY_LIMIT_MB:
        raise AssertionError(
            f"{Path(str(notebook.fspath)).name}: its kernel held {peak:,.0f} MB at its peak; a lesson must stay under "
            f"{KERNEL_MEMORY_LIMIT_MB:,} MB, the memory a free Binder session is guaranteed. Free large traces "
            "(del tr) or trace fewer sequences."
        )


def pytest_terminal_summary(terminalreporter, config):
    """Print how long each notebook took and the most memory its kernel held."""
    reports = [r for reports in terminalreporter.stats.values() for r in reports if getattr(r, "when", None) == "call"]
    seconds = {}
    for r in reports:
        name = Path(r.nodeid.split("::")[0]).name
        if name.endswith(".ipynb"):
            seconds[name] = seconds.get(name, 0.0) + r.duration
    if not seconds:
        return
    peaks = config.stash[PEAKS]
    terminalreporter.write_line(f"notebooks: {sum(seconds.values()):.1f} s to run every lesson")
    for name, s in sorted(seconds.items()):
        memory = f", kernel peak {peaks[name]:,.0f} MB" if name in peaks else ""
        terminalreporter.write_line(f"  {name}: {s:.1f} s{memory}")
