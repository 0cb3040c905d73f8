"""lstmlab.viz: plotly figures of what the networks do (no widget needed).

Colours mean the same thing in every figure: gates and probabilities from 0 (white) to 1 (dark
blue), signed states from blue (negative) to red (positive). Every figure has a title, axis
labels and hover text with the exact values. Functions share one glossary of parameters:
`layer=`, `gate=`, `sequence=`, `unit=`/`units=`, `step=`, `direction=`.
"""

from ..progress import draw_live_figures_with
from .attention import attention_map
from .attribution import attribution_bars, attribution_heatmap, attribution_text, deletion_chart, randomization_chart
from .gates import gate_health, gate_heatmap, gate_heatmaps, state_lines
from .inspector import step_inspector
from .interventions import ablation_chart, compare_runs, prediction_change
from .sequences import frames, normalization_histograms, padding_chart, sequence_lengths
from .states import bilstm_flow, hidden_state_pca
from .text import colored_text
from .training import confusion_chart, training_progress
from .unrolled import unrolled_graph

draw_live_figures_with(training_progress)  # the live figure of ll.training_options(plots="training-progress")

__all__ = [
    "ablation_chart",
    "attention_map",
    "attribution_bars",
    "attribution_heatmap",
    "attribution_text",
    "bilstm_flow",
    "colored_text",
    "compare_runs",
    "confusion_chart",
    "deletion_chart",
    "frames",
    "gate_health",
    "gate_heatmap",
    "gate_heatmaps",
    "hidden_state_pca",
    "normalization_histograms",
    "padding_chart",
    "prediction_change",
    "randomization_chart",
    "sequence_lengths",
    "state_lines",
    "step_inspector",
    "training_progress",
    "unrolled_graph",
]
