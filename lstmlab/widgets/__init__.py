"""lstmlab.widgets: interactive apps (ipywidgets) built on the figures of `lstmlab.viz`.

Each app returns a widget with `.controls` (name -> control) and `.figure` (the plotly figure it
keeps up to date); moving a control redraws in place, without re-running a cell. `quiz` asks the
reader a question at the end of a lesson and answers; its answer is `seal`ed, unreadable in the
notebook until the reader checks a choice.
"""

from .attention import attention_explorer
from .attribution import attribution_explorer
from .cells import cell_explorer
from .data import normalization_explorer, padding_explorer
from .designer import designer
from .explorers import bilstm_explorer, explore
from .interventions import intervention_explorer
from .playground import cell_playground
from .quiz import quiz, seal, unseal

__all__ = ["attention_explorer", "attribution_explorer", "bilstm_explorer", "cell_explorer", "cell_playground", "designer", "explore", "intervention_explorer", "normalization_explorer", "padding_explorer", "quiz", "seal", "unseal"]
