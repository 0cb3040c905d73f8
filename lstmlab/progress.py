"""Training progress: a progress bar, and in Jupyter a live figure, updated as training runs.

Training imports no plotting package, so the live figure is drawn by a function handed in from
above: `lstmlab.viz`, when imported, calls `draw_live_figures_with(viz.training_progress)`.
"""

import time
import warnings

import pandas as pd
from tqdm.auto import tqdm

_draw = None  # draw(history DataFrame) -> figure, for plots="training-progress"; see draw_live_figures_with


def draw_live_figures_with(draw):
    """Draw the live figure of `training_options(plots="training-progress")` with `draw(history) -> figure`.

    `lstmlab.viz` calls this with its `training_progress` when it is imported.
    """
    global _draw
    _draw = draw


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
        self.live = None
        if options.plots == "training-progress" and in_notebook():
            if _draw is None:
                warnings.warn(
                    "trainnet: plots='training-progress' draws its live figure with plotly, which is not installed; "
                    "pip install 'lstmlab[lab]' (or plotly) to see it.",
                    stacklevel=4,
                )
            else:
                self.live = LiveFigure(_draw)
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
    """A figure of the training history in the notebook output, redrawn at most twice a second."""

    def __init__(self, draw):
        from IPython.display import display

        self.draw = draw  # history DataFrame -> figure
        self.handle = display(display_id=True)
        self.last = 0.0

    def update(self, rows, force=False):
        if not force and time.perf_counter() - self.last < 0.5:
            return
        self.handle.update(self.draw(pd.DataFrame(rows)))
        self.last = time.perf_counter()
