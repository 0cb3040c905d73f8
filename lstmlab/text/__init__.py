"""Text and character language models, one job per module:

- `vocabulary`: characters to ids and back (`Vocabulary`), next-character training data
  (`next_character_data`) and the metric `bits_per_character`;
- `generation`: writing text with a trained model (`generate`);
- `code_features`: what a reader of Python source knows at each character (`code_features`);
- `cells`: the analysis of a traced text, which cells follow a feature (`find_cells`) and which
  spans share a selected span's pattern (`match_spans`).

Every name is here too: `ll.text.Vocabulary`, `ll.text.match_spans`, ...
"""

from .cells import find_cells, match_spans
from .code_features import CODE_FEATURES, code_features
from .generation import generate
from .vocabulary import Vocabulary, bits_per_character, next_character_data

__all__ = ["CODE_FEATURES", "Vocabulary", "bits_per_character", "code_features", "find_cells", "generate", "match_spans", "next_character_data"]
