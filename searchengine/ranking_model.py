"""The ranking model: BM25F parameters and the weights of the ranking's features.

A post's relevance score is a weighted sum of features (see
:mod:`searchengine.ranking` for how each is computed, and the README's
ranking section). The weights are data, not code: ``data/ranking.json``,
written by ``scripts/train_ranking.py``, which fits them to the development
set of judged queries (cross-validated) and records how well they did. A
user can pass another :class:`Ranking` to :class:`~searchengine.SearchEngine`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from searchengine.errors import SearchEngineError

__all__ = ["FEATURES", "Ranking", "MODEL_FILE"]

MODEL_FILE = Path(__file__).parent / "data" / "ranking.json"

#: The features of the score, in order, with what each measures.
FEATURES: dict[str, str] = {
    "exact": "BM25F of each query term's exact string (character layer), summed",
    "words": "BM25F of each term's words (word layer), summed",
    "proximity": "consecutive terms close together in one sentence of the body",
    "title": "share of the terms whose exact string is in the title",
    "title_cover": "share of the title's letters that the terms found in it cover",
    "title_whole": "the terms make up the whole title",
    "title_near": "consecutive terms close together in the title",
    "title_start": "share of the terms whose exact string begins the title",
    "briefs": "the post is a roundup of briefs (from its layout)",
}


@dataclass(frozen=True)
class Ranking:
    """BM25F parameters, feature weights, and the band within which recency breaks ties.

    The defaults are plain BM25F with the hand-set weights of the release
    before the model was fitted; "more like this" scores with them. Searches
    use the fitted model, :meth:`load`.
    """

    k1: float = 1.2
    title_b: float = 0.75
    #: Bodies get a low ``b``: a long article that names someone twice is
    #: more about them than a brief that names them once.
    body_b: float = 0.35
    #: Inside BM25F: a title occurrence counts as this many body occurrences.
    title_weight: float = 3.0
    weights: dict[str, float] = field(default_factory=lambda: {"exact": 2.0, "words": 1.0, "proximity": 1.0})
    #: Scores within this fraction of each other are a tie, broken by date (newest first).
    tie: float = 0.02

    def weight(self, feature: str) -> float:
        return self.weights.get(feature, 0.0)

    @property
    def bm25f(self) -> tuple[float, float, float, float]:
        """The parameters a term's BM25F depends on (and nothing else of the model): a key for kept scores."""
        return (self.k1, self.title_b, self.body_b, self.title_weight)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "ranking model") -> Ranking:
        """A model from :meth:`to_dict`'s data; unknown names or features are refused."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise SearchEngineError(f"{source}: unknown settings {sorted(unknown)}")
        weights = data.get("weights", {})
        strange = set(weights) - set(FEATURES)
        if strange:
            raise SearchEngineError(f"{source}: unknown features {sorted(strange)}; known: {', '.join(FEATURES)}")
        try:
            return cls(**{**data, "weights": {k: float(v) for k, v in weights.items()}})
        except (TypeError, ValueError) as exc:
            raise SearchEngineError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: Path | str = MODEL_FILE) -> Ranking:
        """The model stored at ``path`` (by default, the trained one shipped with the package)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SearchEngineError(f"ranking model {path}: cannot read: {exc}") from None
        return cls.from_dict(data.get("model", data), f"ranking model {path}")
