"""pytest set-up shared by tests/ and the notebooks (run with nbval)."""

import torch

torch.set_num_threads(1)  # small tensors: one thread is faster here, and runs are repeatable


def pytest_collectstart(collector):
    """Notebooks: compare text outputs; plotly's JSON and stderr vary between runs and versions."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("application/vnd.plotly.v1+json", "stderr")
