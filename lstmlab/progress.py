"""Training progress: a progress bar, and in Jupyter a live figure, updated as training runs."""

import time

from tqdm.auto import tqdm


def in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


class Progress:
    """A tqdm bar (verbose=True) and, with plots="training-progress" in Jupyter, a live figure."""

    def __init__(self, options, total, rows):
        self.bar = tqdm(total=total, disable=not options.verbose, unit="it", desc="trainnet")
        self.frequency = options.verbose_frequency
        self.live = LiveFigure() if options.plots == "training-progress" and in_notebook() else None
        self.rows = rows  # the training history, which the run appends to

    def update(self, row):
        self.bar.update(1)
        if row["iteration"] % self.frequency == 0 or "validation_loss" in row:
            shown = {k: f"{v:.4g}" for k, v in row.items() if k not in ("epoch", "iteration", "seconds")}
            self.bar.set_postfix(epoch=row["epoch"], **shown)
        if self.live is not None:
            self.live.update(self.rows)

    def close(self):
        self.bar.close()
        if self.live is not None:
            self.live.update(self.rows, force=True)


class LiveFigure:
    """A plotly figure in the notebook output, redrawn at most twice a second."""

    def __init__(self):
        from IPython.display import display

        self.handle = display(display_id=True)
        self.last = 0.0

    def update(self, rows, force=False):
        if not force and time.perf_counter() - self.last < 0.5:
            return
        import pandas as pd

        from .viz import training_progress

        self.handle.update(training_progress(pd.DataFrame(rows)))
        self.last = time.perf_counter()
