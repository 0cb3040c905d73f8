"""lstmlab.viz: plotly figures of what the networks do (no widget needed).

Colours mean the same thing in every figure; every figure has a title, axis labels and hover
text with the exact values.
"""

from .training import training_progress

__all__ = ["training_progress"]
