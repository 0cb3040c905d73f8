"""Text and character language models, one job per module (every name is here too, `ll.text.generate`):
`vocabulary` (characters as ids, next-character data, bits per character), `generation` (writing
text), `code_features` (what a reader of Python knows at each character) and `cells` (which cells of
a traced text follow a feature, which spans share a pattern)."""

from .cells import find_cells, match_spans
from .code_features import CODE_FEATURES, code_features
from .generation import generate
from .vocabulary import Vocabulary, bits_per_character, next_character_data

__all__ = ["CODE_FEATURES", "Vocabulary", "bits_per_character", "code_features", "find_cells", "generate", "match_spans", "next_character_data"]
