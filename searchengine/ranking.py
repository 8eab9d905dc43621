"""From a parsed query to the ordered list of matching posts.

Ranking, in order of precedence:

1. **Exactness** — how many of the query's terms a post contains as exact
   strings. A post containing 莫斯科模式 ranks above one that only has
   莫斯科 and 模式 scattered, whatever their BM25 scores.
2. **Relevance** — the sum of the clauses' BM25F scores (title above body,
   the exact string above its words) plus a bonus when the terms stand
   close together (adjacent terms get the whole bonus).
3. **Recency** — among scores within 2% of each other, newer posts first.

``sort="date"`` orders the same matches by date alone, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from searchengine.matching import ClauseMatch, Ranking, exact_docs, match_clause
from searchengine.query import Filters, Group, ParsedQuery
from searchengine.schema import NO_DATE
from searchengine.view import IndexView

__all__ = ["RankedPage", "rank", "PROXIMITY_WEIGHT"]

PROXIMITY_WEIGHT = 1.0
_PROXIMITY_SCALE = 8.0  # characters: a gap this long halves the bonus
_NEAR_EQUAL = np.log(1.02)


@dataclass
class RankedPage:
    """One page of results, plus what the whole result set needs for facets."""

    total: int
    docs: np.ndarray  # this page's document numbers, best first
    scores: np.ndarray
    matched: np.ndarray  # every matching document (sorted), for facets


def rank(
    view: IndexView,
    parsed: ParsedQuery,
    sort: str = "relevance",
    offset: int = 0,
    limit: int = 10,
    ranking: Ranking = Ranking(),
) -> RankedPage:
    """Evaluate ``parsed`` over ``view`` and return the requested page."""
    docs, scores, tiers = _evaluate(view, parsed, ranking)
    if parsed.excluded and len(docs):
        keep = np.ones(len(docs), bool)
        for clause in parsed.excluded:
            keep &= ~np.isin(docs, exact_docs(view, clause))
        docs, scores, tiers = docs[keep], scores[keep], tiers[keep]
    if not parsed.filters.is_empty() and len(docs):
        keep = _filter_mask(view, docs, parsed.filters)
        docs, scores, tiers = docs[keep], scores[keep], tiers[keep]
    order = _order(view, docs, scores, tiers, sort)
    page = order[offset : offset + limit]
    return RankedPage(len(docs), docs[page], scores[page], docs)


def _evaluate(view: IndexView, parsed: ParsedQuery, ranking: Ranking) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matching documents (sorted), their scores and their exactness tiers."""
    if not parsed.groups:
        if parsed.filters.is_empty():
            empty = np.zeros(0, np.int64)
            return empty, np.zeros(0), np.zeros(0, np.int32)
        docs = np.flatnonzero(view.live).astype(np.int64)
        return docs, np.zeros(len(docs)), np.zeros(len(docs), np.int32)
    want_starts = len(parsed.groups) > 1
    matches = [_match_group(view, group, ranking, want_starts) for group in parsed.groups]
    docs = matches[0].docs
    for match in matches[1:]:
        docs = np.intersect1d(docs, match.docs, assume_unique=True)
    scores = np.zeros(len(docs))
    tiers = np.zeros(len(docs), np.int32)
    for match in matches:
        where = np.searchsorted(match.docs, docs)
        scores += match.scores[where]
        tiers += match.exact[where]
    if want_starts and len(docs):
        scores += _proximity(docs, [m.starts for m in matches])
    return docs, scores, tiers


def _match_group(view: IndexView, group: Group, ranking: Ranking, want_starts: bool) -> ClauseMatch:
    """OR of a group's clauses: union of documents, scores added."""
    found = [match_clause(view, clause, ranking, want_starts) for clause in group.clauses]
    if len(found) == 1:
        return found[0]
    docs = np.unique(np.concatenate([m.docs for m in found]))
    scores = np.zeros(len(docs))
    exact = np.zeros(len(docs), bool)
    for match in found:
        where = np.searchsorted(docs, match.docs)
        scores[where] += match.scores
        exact[where] |= match.exact
    starts = np.unique(np.concatenate([m.starts for m in found]))
    return ClauseMatch(docs, scores, exact, starts)


def _proximity(docs: np.ndarray, starts: list[np.ndarray]) -> np.ndarray:
    """Bonus per document for consecutive query terms found close together.

    For each pair of consecutive groups: the smallest distance, in the
    body's character positions, between an occurrence of one and an
    occurrence of the other in the same post.
    """
    bonus = np.zeros(len(docs))
    for left, right in zip(starts, starts[1:]):
        if not len(left) or not len(right):
            continue
        nearest = np.full(len(left), np.inf)
        index = np.searchsorted(right, left)
        for candidate in (index, index - 1):
            valid = (candidate >= 0) & (candidate < len(right))
            other = right[candidate[valid]]
            here = left[valid]
            distance = np.abs(other - here).astype(np.float64)
            distance[(other >> 32) != (here >> 32)] = np.inf
            nearest[valid] = np.minimum(nearest[valid], distance)
        gaps = np.full(len(docs), np.inf)
        left_docs = left >> 32
        where = np.searchsorted(docs, left_docs)
        ok = where < len(docs)
        ok[ok] = docs[where[ok]] == left_docs[ok]
        np.minimum.at(gaps, where[ok], nearest[ok])
        found = np.isfinite(gaps)
        bonus[found] += PROXIMITY_WEIGHT / (1.0 + gaps[found] / _PROXIMITY_SCALE)
    return bonus


def _filter_mask(view: IndexView, docs: np.ndarray, filters: Filters) -> np.ndarray:
    keep = np.ones(len(docs), bool)
    for vocabulary, wanted, unwanted in (
        (view.categories, filters.categories, filters.not_categories),
        (view.authors, filters.authors, filters.not_authors),
        (view.tags, filters.tags, filters.not_tags),
    ):
        for name in wanted:
            keep &= np.isin(docs, vocabulary.docs_with(name))
        for name in unwanted:
            keep &= ~np.isin(docs, vocabulary.docs_with(name))
    dates = view.date[docs]
    if filters.after is not None:
        keep &= dates >= filters.after
    if filters.before is not None:
        keep &= (dates < filters.before) & (dates != NO_DATE)
    return keep


def _order(view: IndexView, docs: np.ndarray, scores: np.ndarray, tiers: np.ndarray, sort: str) -> np.ndarray:
    """Indexes into ``docs``, best first."""
    dates = view.date[docs].astype(np.float64)  # NO_DATE sorts last
    if sort == "date":
        return np.lexsort((-scores, -dates))
    buckets = np.floor(np.log(np.maximum(scores, 1e-9)) / _NEAR_EQUAL)
    return np.lexsort((-dates, -buckets, -tiers))
