"""From a parsed query to the ordered list of matching posts.

Ranking, in order of precedence:

1. **Exactness** — how many of the query's terms a post contains as exact
   strings. A post containing 莫斯科模式 ranks above one that only has
   莫斯科 and 模式 scattered, whatever their BM25 scores. A term searched in
   several forms (软件 and 軟體, see :mod:`searchengine.forgiving`) counts
   the form as typed, unless another form is far more common in the index
   (紐西蘭 typed, 新西兰 written): the reader's own form first, unless the
   archive plainly calls it something else.
2. **Relevance** — the sum of the clauses' BM25F scores (title above body,
   the exact string above its words) plus a bonus when the terms stand
   close together (adjacent terms get the whole bonus).
3. **Recency** — among scores within 2% of each other, newer posts first.

``sort="date"`` orders the same matches by date alone, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from searchengine.facets import Facet, facet
from searchengine.matching import ClauseMatch, Ranking, exact_mask, match_clause
from searchengine.query import Clause, Filters, Group, ParsedQuery
from searchengine.store import IndexView
from searchengine.store.schema import NO_DATE

__all__ = ["RankedPage", "rank", "page_of", "PROXIMITY_WEIGHT"]

PROXIMITY_WEIGHT = 1.0
_PROXIMITY_SCALE = 8.0  # characters: a gap this long halves the bonus
_NEAR_EQUAL = np.log(1.02)
#: Another form of a term ranks as the term itself when it is in this many
#: times more posts than the form typed.
DOMINANT = 10


@dataclass
class RankedPage:
    """One page of results, plus what the whole result set needs for facets."""

    total: int
    docs: np.ndarray  # this page's document numbers, best first
    scores: np.ndarray
    matched: np.ndarray  # every matching document (sorted), for facets
    #: For each clause's text: how many posts hold it exactly (before filters).
    found: dict[str, int] = field(default_factory=dict)


def rank(
    view: IndexView,
    parsed: ParsedQuery,
    sort: str = "relevance",
    offset: int = 0,
    limit: int = 10,
    ranking: Ranking = Ranking(),
) -> RankedPage:
    """Evaluate ``parsed`` over ``view`` and return the requested page."""
    found: dict[str, int] = {}
    which, scores, tiers = _evaluate(view, parsed, ranking, found)
    for clause in parsed.excluded:
        which &= ~exact_mask(view, clause)
    if not parsed.filters.is_empty():
        which &= _filter_mask(view, parsed.filters)
    page = page_of(view, which, scores, tiers, sort, offset, limit)
    page.found = found
    return page


def page_of(
    view: IndexView, which: np.ndarray, scores: np.ndarray, tiers: np.ndarray, sort: str, offset: int, limit: int
) -> RankedPage:
    """The requested page of the documents in ``which``, in rank order."""
    docs = np.flatnonzero(which)
    order = _order(view, docs, scores[docs], tiers[docs], sort, offset + limit)
    page = order[offset : offset + limit]
    return RankedPage(len(docs), docs[page], scores[docs[page]], docs)


def _evaluate(
    view: IndexView, parsed: ParsedQuery, ranking: Ranking, found: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense arrays: which documents match, their scores and exactness tiers (``found`` is filled in)."""
    if not parsed.groups:
        which = view.live.copy() if not parsed.filters.is_empty() else np.zeros(view.size, bool)
        return which, np.zeros(view.size), np.zeros(view.size, np.int32)
    want_starts = len(parsed.groups) > 1
    matches = [_match_group(view, group, ranking, want_starts, found) for group in parsed.groups]
    which = matches[0].which.copy()
    scores = np.zeros(view.size)
    tiers = np.zeros(view.size, np.int32)
    for match in matches:
        which &= match.which
        scores += match.scores
        tiers += match.exact
    if want_starts:
        docs = np.flatnonzero(which)
        scores[docs] += _proximity(docs, [m.starts for m in matches])
    return which, scores, tiers


def _match_group(
    view: IndexView, group: Group, ranking: Ranking, want_starts: bool, found: dict[str, int]
) -> ClauseMatch:
    """OR of a group's clauses: union of documents, scores added; exact as :func:`_counted` says."""
    matches = [match_clause(view, clause, ranking, want_starts) for clause in group.clauses]
    for clause, match in zip(group.clauses, matches, strict=True):
        found[clause.text] = max(found.get(clause.text, 0), int(match.exact.sum()))
    if len(matches) == 1:
        return matches[0]
    merged = ClauseMatch(np.zeros(view.size, bool), np.zeros(view.size), np.zeros(view.size, bool))
    counted = _counted(group, found)
    for clause, match in zip(group.clauses, matches, strict=True):
        merged.which |= match.which
        merged.scores += match.scores
        if clause.text in counted:
            merged.exact |= match.exact
    merged.starts = np.unique(np.concatenate([m.starts for m in matches]))
    return merged


def _counted(group: Group, found: dict[str, int]) -> set[str]:
    """The clauses whose exact matches count as exact for the group.

    Of a term and its other forms, one counts: the term as typed, unless
    another form is in more than :data:`DOMINANT` times as many posts. A
    term typed in traditional characters is likely in Taiwan's or Hong
    Kong's words (資料, meaning 数据), so there the most common form counts.
    """
    families: dict[str, list[Clause]] = {}
    for clause in group.clauses:
        families.setdefault(clause.family, []).append(clause)
    counted = set()
    for typed, clauses in families.items():
        common = max(clauses, key=lambda clause: found.get(clause.text, 0))
        factor = 1 if any(c.traditional for c in clauses if c.text == typed) else DOMINANT
        counted.add(common.text if found.get(common.text, 0) > factor * found.get(typed, 0) else typed)
    return counted


def _proximity(docs: np.ndarray, starts: list[np.ndarray]) -> np.ndarray:
    """Bonus per document for consecutive query terms found close together.

    For each pair of consecutive groups: the smallest distance, in the
    body's character positions, between an occurrence of one and an
    occurrence of the other in the same post.
    """
    bonus = np.zeros(len(docs))
    for left, right in zip(starts, starts[1:], strict=False):
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


def _filter_mask(view: IndexView, filters: Filters) -> np.ndarray:
    keep = view.live.copy()
    for name, values in filters.include.items():
        for value in values:
            keep &= _facet(name).mask(view, value)
    for name, values in filters.exclude.items():
        for value in values:
            keep &= ~_facet(name).mask(view, value)
    if filters.after is not None:
        keep &= view.date >= filters.after
    if filters.before is not None:
        keep &= (view.date < filters.before) & (view.date != NO_DATE)
    return keep


def _facet(name: str) -> Facet:
    found = facet(name)
    assert found is not None, f"filters hold facet names only, not {name!r}"
    return found


def _order(
    view: IndexView, docs: np.ndarray, scores: np.ndarray, tiers: np.ndarray, sort: str, needed: int
) -> np.ndarray:
    """Indexes into ``docs`` of the ``needed`` best, best first.

    Only the candidates that can make the cut are fully sorted: a partition
    on the main key first, then a lexicographic sort of the few left.
    """
    dates = view.date[docs].astype(np.float64)  # NO_DATE sorts last
    keys: tuple[np.ndarray, ...]
    if sort == "date":
        main, keys = dates, (-scores, -dates)
    else:
        buckets = np.floor(np.log(np.maximum(scores, 1e-9)) / _NEAR_EQUAL)
        main = tiers * 1e6 + buckets
        keys = (-dates, -buckets, -tiers)
    candidates = np.arange(len(docs))
    if needed < len(docs):
        threshold = -np.partition(-main, needed - 1)[needed - 1]
        candidates = np.flatnonzero(main >= threshold)
    order = np.lexsort(tuple(key[candidates] for key in keys))
    return candidates[order]
