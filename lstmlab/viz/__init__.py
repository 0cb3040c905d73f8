"""lstmlab.viz: plotly figures of what the networks do (no widget needed).

Colours mean the same thing in every figure (gates and probabilities 0..1 in blue, signed states
in red and blue); every figure has a title, axis labels and hover text with the exact values.
"""

from .figures import confusion_chart, gate_heatmap
from .training import training_progress

__all__ = ["confusion_chart", "gate_heatmap", "training_progress"]
