#!/usr/bin/env python3
"""Ranking quality against judged queries: nDCG@10 and P@10 on a development set.

    python scripts/relevance.py --index DIR [--devset DIR] [--per-query] [--limit N]

The development set (``../shared/devsets``, see its README) holds queries
(``tag_queries.tsv``: ``id<TAB>query``) and TREC qrels (``tag_qrels.txt``:
``id 0 post_id grade``), where a post id is the post's path without its
extension. Each query is searched as a user would type it, through
:meth:`SearchEngine.search`; its top ten are judged against the qrels.

The editors' keywords are mostly one word each. Queries of two words, as
readers type them (港珠澳大桥 通车), are made from the same judgments:
:func:`keyword_pairs` joins two keywords that the editors gave one item,
and the relevant posts are those tagged with both. They exercise what one
word cannot: proximity, and terms spread between title and body.

Only the queries with a judged post in the index count (on the 2019 slice,
those with a relevant 2019 post), and the ideal ranking is made of the
judged posts the index holds. Editors tag unevenly, so one query's figure is
noisy and the mean over hundreds is what to compare; ``--per-query`` prints
every query's figures so that a change's effect can be traced to queries.

scripts/evaluate.py runs this too (``--devset``), and scripts/train_ranking.py
uses its loading and metrics.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from searchengine import SearchEngine

REPO = Path(__file__).resolve().parents[1]
CUTOFF = 10


def default_devset() -> Path:
    """``devsets`` in the shared folder (``$SEARCHENGINE_SHARED``, else ``../shared``)."""
    return Path(os.environ.get("SEARCHENGINE_SHARED", REPO.parent / "shared")) / "devsets"


@dataclass(frozen=True)
class Judged:
    """One development query and the grades of its judged posts (by post id)."""

    id: str
    text: str
    grades: dict[str, int]


def load_devset(folder: Path) -> list[Judged]:
    """The queries of ``folder``'s tag_queries.tsv with their qrels from tag_qrels.txt, in file order."""
    grades: dict[str, dict[str, int]] = {}
    with open(folder / "tag_qrels.txt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4:
                raise SystemExit(f"{folder / 'tag_qrels.txt'}:{number}: expected 'id 0 post_id grade', got {line!r}")
            grades.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    judged = []
    with open(folder / "tag_queries.tsv", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                query_id, text = line.rstrip("\n").split("\t", 1)
                judged.append(Judged(query_id, text, grades.get(query_id, {})))
    return judged


def keyword_pairs(devset: list[Judged]) -> list[Judged]:
    """Two-keyword queries: every pair of queries that judge one post relevant, relevant where both do."""
    pairs = []
    for first, second in itertools.combinations(devset, 2):
        both = {
            post: min(grade, second.grades[post])
            for post, grade in first.grades.items()
            if grade > 0 and second.grades.get(post, 0) > 0
        }
        if both:
            pairs.append(Judged(f"{first.id}+{second.id}", f"{first.text} {second.text}", both))
    return pairs


def post_id(path: str) -> str:
    """A post's path as the qrels name it: without its extension."""
    stem, dot, extension = path.rpartition(".")
    return stem if dot and "/" not in extension else path


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain, with the exponential gain of graded judgments."""
    return sum((2.0**gain - 1.0) / math.log2(rank + 2) for rank, gain in enumerate(gains))


def ideal_dcg(grades: dict[str, int], cutoff: int = CUTOFF) -> float:
    """The DCG of the best possible ranking: the judged posts, best first."""
    return dcg(sorted((g for g in grades.values() if g > 0), reverse=True)[:cutoff])


def ndcg(ranked: Sequence[str], grades: dict[str, int], cutoff: int = CUTOFF) -> float:
    """nDCG@cutoff of ``ranked`` post ids; 0 when nothing relevant is judged."""
    ideal = ideal_dcg(grades, cutoff)
    return dcg(grades.get(post, 0) for post in ranked[:cutoff]) / ideal if ideal else 0.0


def precision(ranked: Sequence[str], grades: dict[str, int], cutoff: int = CUTOFF) -> float:
    """Share of the first ``cutoff`` places held by a relevant post (empty places count as misses)."""
    return sum(1 for post in ranked[:cutoff] if grades.get(post, 0) > 0) / cutoff


@dataclass
class Figures:
    """One query's figures."""

    judged: Judged
    ndcg: float
    precision: float
    top: list[str]


def in_index(engine: SearchEngine, devset: list[Judged]) -> list[Judged]:
    """The queries with a relevant post in the index, with the judgments of posts it holds."""
    present = {post_id(path) for path in engine.paths()}
    kept = []
    for judged in devset:
        grades = {post: grade for post, grade in judged.grades.items() if post in present}
        if any(grade > 0 for grade in grades.values()):
            kept.append(Judged(judged.id, judged.text, grades))
    return kept


def evaluate(engine: SearchEngine, devset: list[Judged]) -> list[Figures]:
    """Search every query whose judged posts are in the index; judge each top ten."""
    figures = []
    for judged in in_index(engine, devset):
        # uncollapsed: the judgments are of posts, and reprints are judged each on its own
        top = [post_id(hit.path) for hit in engine.search(judged.text, limit=CUTOFF, collapse=False).hits]
        figures.append(Figures(judged, ndcg(top, judged.grades), precision(top, judged.grades), top))
    return figures


def report(figures: list[Figures], per_query: bool, name: str = "devset") -> tuple[float, float]:
    """Print the mean figures (and each query's, when asked); return (nDCG@10, P@10)."""
    if per_query:
        for f in figures:
            hits = "".join("+" if f.judged.grades.get(post, 0) > 0 else "." for post in f.top)
            print(
                f"{f.judged.id}\t{f.ndcg:.3f}\t{f.precision:.1f}\t{len(f.judged.grades)}\t{hits:<10}\t{f.judged.text}",
            )
    count = len(figures) or 1
    mean_ndcg = sum(f.ndcg for f in figures) / count
    mean_precision = sum(f.precision for f in figures) / count
    print(
        f"{name}: {len(figures)} queries with judged posts in the index  "
        f"nDCG@10 {mean_ndcg:.4f}  P@10 {mean_precision:.4f}"
    )
    return mean_ndcg, mean_precision


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--devset", type=Path, default=None, help="folder of tag_queries.tsv and tag_qrels.txt")
    parser.add_argument("--per-query", action="store_true", help="print each query: id, nDCG@10, P@10, judged, hits")
    args = parser.parse_args()
    devset = load_devset(args.devset or default_devset())
    engine = SearchEngine(args.index)
    report(evaluate(engine, devset), args.per_query)
    report(evaluate(engine, keyword_pairs(devset)), args.per_query, "keyword pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
