"""pytest set-up shared by tests/ and the notebooks (run with nbval)."""

import torch

torch.set_num_threads(1)  # small tensors: one thread is faster here, and runs are repeatable


def pytest_collectstart(collector):
    """Notebooks: compare text outputs. Plotly's JSON (and the HTML copy that embeds it) and stderr
    vary between runs and versions; the numbers that matter are printed as rounded text."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("application/vnd.plotly.v1+json", "text/html", "stderr")


def pytest_terminal_summary(terminalreporter):
    """Print how long the notebooks took, all together."""
    reports = [r for reports in terminalreporter.stats.values() for r in reports if getattr(r, "when", None) == "call"]
    seconds = sum(r.duration for r in reports if ".ipynb" in r.nodeid)
    if seconds:
        terminalreporter.write_line(f"notebooks: {seconds:.1f} s to run every lesson")
