"""From a parsed query to the ordered list of matching posts.

Ranking, in order of precedence:

1. **Exactness** — how many of the query's terms a post contains as exact
   strings. A post containing 莫斯科模式 ranks above one that only has
   莫斯科 and 模式 scattered, whatever its other scores. A term searched in
   several forms (软件 and 軟體, see :mod:`searchengine.forgiving`) counts
   the form as typed, unless another form is far more common in the index
   (紐西蘭 typed, 新西兰 written): the reader's own form first, unless the
   archive plainly calls it something else.
2. **Relevance** — a weighted sum of features (the weights are the ranking
   model, :mod:`searchengine.ranking_model`, fitted to judged queries):
   the BM25F of the terms' exact strings and of their words; proximity of
   consecutive terms within a sentence of the body (positions jump at each
   sentence end, see :data:`searchengine.analysis.SENTENCE_GAP`); how much
   of the title the terms are, whether it begins with them, and how close
   together they stand there; and a prior against roundups of briefs, read
   from the post's layout (:mod:`searchengine.structure`).
3. **Recency** — among scores within ``Ranking.tie`` of the best score,
   newer posts first.

Features are computed over arrays of the matching documents, never one post
at a time in Python. ``sort="date"`` orders the same matches by date alone,
newest first. :func:`rank` can explain each hit's score (``explain=True``).

With ``collapse``, :func:`rank` lists each story once (reprints grouped, see
:mod:`searchengine.reprints`), as its first match in that order, with the
story's other matches beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from searchengine.analysis import SENTENCE_GAP
from searchengine.docsets import EMPTY, contains_sorted, distinct, intersect, positions_in, union
from searchengine.facets import Facet, facet
from searchengine.matching import ClauseMatch, exact_docs, match_clause
from searchengine.query import Clause, Filters, Group, ParsedQuery
from searchengine.ranking_model import FEATURES, Ranking
from searchengine.results import ClauseExplanation, Explanation
from searchengine.store import IndexView
from searchengine.store.schema import NO_DATE
from searchengine.store.view import LONG_POSTINGS
from searchengine.structure import letter_count

__all__ = ["RankedPage", "Scored", "rank", "score", "page_of", "order"]

#: Characters: two terms this far apart in a sentence get half the proximity bonus.
PROXIMITY_SCALE = 8.0
#: Brief items from which a post counts wholly as a roundup (one item is no roundup).
ROUNDUP_ITEMS = 5
#: Another form of a term ranks as the term itself when it is in this many
#: times more posts than the form typed.
DOMINANT = 10
_COLUMN = {name: index for index, name in enumerate(FEATURES)}
#: Matches scored in the first batch of a pruned top k (at least); batches double.
_FIRST_BATCH = 256
#: The n-th largest of at least this many values, when n is at most a
#: :data:`_SAMPLE_SHARE`-th of them, is looked for among those above a
#: cutoff read from about :data:`_SAMPLE` of them (see :func:`_nth_largest`).
_SAMPLED_SELECT = 65_536
_SAMPLE_SHARE = 16
_SAMPLE = 8192
_SAMPLE_SLACK = 16


@dataclass
class RankedPage:
    """One page of results, plus what the whole result set needs for facets."""

    total: int  # results as listed: matching posts, or their stories when collapsed
    docs: np.ndarray  # this page's document numbers, best first
    scores: np.ndarray
    matched: np.ndarray  # every matching document (sorted), for facets
    #: For each clause's text: how many posts hold it exactly (before filters).
    found: dict[str, int] = field(default_factory=dict)
    #: With ``explain``: each hit's score in parts, in page order.
    explanations: list[Explanation] = field(default_factory=list)
    #: With ``collapse``: each hit's story's other matches (document numbers, best first), in page order.
    similar: list[np.ndarray] = field(default_factory=list)
    #: With ``collapse``: matches listed under another of their story instead of on their own.
    collapsed: int = 0


@dataclass
class _GroupMatch:
    """A group's clauses merged (OR), with each clause's own match kept for explaining."""

    merged: ClauseMatch
    letters: np.ndarray  # per matched document: letters of the group's exact string in the title
    clauses: list[tuple[Clause, ClauseMatch]]


@dataclass
class Scored:
    """Every match of a query, with what its features are computed from: what ranking, explaining and training read.

    Features are computed for the rows asked for (:meth:`features_of`): a
    page needs the exact scores of only the matches that can reach it (see
    :class:`_Ordering`). :attr:`features` computes them for every match
    (training reads them all).
    """

    docs: np.ndarray  # matching document numbers, sorted
    tiers: np.ndarray  # per match: how many terms it holds exactly
    dates: np.ndarray  # per match: seconds since the epoch (NO_DATE sorts last)
    groups: list[_GroupMatch] = field(default_factory=list)
    at: list[np.ndarray] = field(default_factory=list)  # per group: where each match stands in its merged match
    view: IndexView | None = None

    @cached_property
    def features(self) -> np.ndarray:
        """Per match: one row of FEATURES."""
        return self.features_of(np.arange(len(self.docs)))

    def features_of(self, rows: np.ndarray) -> np.ndarray:
        """The feature rows of the matches at ``rows`` (indexes into :attr:`docs`, in any order).

        Computed a feature at a time, into an array that keeps each feature's
        values together (a transposed view is returned).
        """
        columns = np.zeros((len(FEATURES), len(rows)))
        if self.groups and len(rows):
            assert self.view is not None
            ascending = np.argsort(rows, kind="stable")  # features are computed over sorted documents
            ordered = rows[ascending]
            computed = np.zeros_like(columns)
            _fill(self.view, self.docs[ordered], self.groups, [where[ordered] for where in self.at], computed)
            columns[:, ascending] = computed
        return columns.T

    def scores(self, ranking: Ranking, rows: np.ndarray | None = None) -> np.ndarray:
        """The scores of the matches at ``rows`` (all by default)."""
        return weighted(self.features if rows is None else self.features_of(rows), ranking)

    def bounds(self, ranking: Ranking) -> tuple[np.ndarray, np.ndarray]:
        """Per match: a score no higher, and one no lower, than its exact score (see :func:`_bounds`).

        A query of one group (a word, with its other forms: the commonest
        query) has bounds that depend on the group alone, so they are
        computed for every post the group matches, kept with its clauses,
        and read by its matches: a common word's 400,000 matches at a
        million posts cost some 40 ms of bounds on every search of it.
        """
        if len(self.groups) != 1 or self.view is None:
            return _bounds(self.view, self.docs, self.groups, self.at, ranking)
        view, group, at = self.view, self.groups[0], self.at[0]
        every = group.merged.docs
        clauses = tuple(clause for clause, _ in group.clauses)
        low, high = view.kept(
            ("bounds", clauses, ranking.bm25f, tuple(sorted(ranking.weights.items()))),
            lambda: _bounds(view, every, [group], [np.arange(len(every))], ranking),
            lambda found: len(found[0]) >= LONG_POSTINGS,
        )
        return (low, high) if len(at) == len(every) else (low[at], high[at])


def _bounds(
    view: IndexView | None, docs: np.ndarray, groups: list[_GroupMatch], at: list[np.ndarray], ranking: Ranking
) -> tuple[np.ndarray, np.ndarray]:
    """Per match of ``docs``: a score no higher, and one no lower, than its exact score.

    Proximity in the body, which costs a pass over every occurrence of
    two terms, is left at the least and the most it can be given which
    bodies hold the terms; the rest is computed (see :func:`_fill`), so a
    query of one group has exact bounds. A small margin keeps float
    rounding on the safe side.
    """
    columns = np.zeros((len(FEATURES), len(docs)))
    highest: dict[str, np.ndarray] = {}
    if groups and len(docs):
        assert view is not None
        _fill(view, docs, groups, at, columns, highest)
    low = weighted(columns.T, ranking)
    high = low.copy()
    for name, most in highest.items():
        weight = ranking.weight(name)
        if weight > 0:
            high += weight * most
        else:
            low += weight * most
    margin = 1e-9 * (1.0 + np.abs(high) + np.abs(low))
    return low - margin, high + margin


def weighted(features: np.ndarray, ranking: Ranking) -> np.ndarray:
    """Each row's score: its features weighted by the model, summed in one fixed order.

    Row by row the same whatever rows are computed together (a matrix
    product may group its sums differently for different shapes), so a
    score computed for a page equals the one computed for every match.
    """
    total = np.zeros(len(features))
    for column, weight in zip(features.T, _weights(ranking), strict=True):
        if weight:
            total += weight * column
    return total


def _weights(ranking: Ranking) -> np.ndarray:
    return np.array([ranking.weight(name) for name in FEATURES])


def rank(
    view: IndexView,
    parsed: ParsedQuery,
    sort: str,
    offset: int,
    limit: int,
    ranking: Ranking,
    explain: bool = False,
    collapse: bool = False,
    prune: bool = True,
) -> RankedPage:
    """Evaluate ``parsed`` over ``view`` and return the requested page (of stories with ``collapse``).

    ``prune=False`` scores every match (the same page, at more cost: what
    the tests compare pruning against).
    """
    found: dict[str, int] = {}
    scored = score(view, parsed, ranking, found)
    if prune:
        ordering = _Ordering.pruned(scored, ranking, sort)
    else:
        ordering = _Ordering.of(scored.dates, scored.scores(ranking), scored.tiers, sort, ranking.tie)
    if collapse:
        stories = view.story[scored.docs]
        total = _count_stories(scored.docs, stories)
        picked = _story_leaders(ordering, stories, offset + limit)[offset : offset + limit]
    else:
        picked = ordering.top(offset + limit)[offset : offset + limit]
        total = len(scored.docs)
    page = RankedPage(total, scored.docs[picked], ordering.exact(picked), scored.docs, found)
    if collapse:
        page.collapsed = len(scored.docs) - page.total
        page.similar = [scored.docs[others] for others in _story_others(ordering, stories, picked)]
    if explain:
        rows = scored.features_of(picked)
        page.explanations = [
            _explain(scored, int(i), row, float(value), ranking, sort)
            for i, row, value in zip(picked, rows, page.scores, strict=True)
        ]
    return page


def _story_leaders(ordering: _Ordering, stories: np.ndarray, needed: int) -> np.ndarray:
    """Indexes of the first match of each of the first ``needed`` stories, in order.

    The best match of a story is its first in the order, so the prefix of
    the order down to the ``needed``-th story's best match holds them all
    (see :meth:`_Ordering.top`).
    """
    ranked = ordering.top(needed, stories)
    _, first = np.unique(stories[ranked], return_index=True)
    return ranked[np.sort(first)][:needed]


def _count_stories(docs: np.ndarray, stories: np.ndarray) -> int:
    """How many stories the sorted ``docs`` (whose stories are ``stories``) belong to.

    Most posts are a story of their own (its story is itself): those are
    counted at once, and only the few others' stories are sorted. Where
    most matches are reprints (a post's copies in several feeds), the
    distinct stories are counted in one pass instead.
    """
    own = stories == docs
    owners = int(np.count_nonzero(own))
    if 2 * owners < len(docs):
        return len(distinct(stories))
    others = distinct(stories[~own])
    return owners + int(np.count_nonzero(~contains_sorted(docs[own], others)))


def _story_others(ordering: _Ordering, stories: np.ndarray, leaders: np.ndarray) -> list[np.ndarray]:
    """For each of ``leaders`` (indexes of matches), the other matches of its story, best first."""
    wanted = np.zeros(int(stories.max(initial=0)) + 1, dtype=bool)
    wanted[stories[leaders]] = True
    members = np.flatnonzero(wanted[stories])
    others = ordering.sorted(members[~np.isin(members, leaders)])
    return [others[stories[others] == stories[leader]] for leader in leaders]


def page_of(
    view: IndexView, docs: np.ndarray, scores: np.ndarray, tiers: np.ndarray, limit: int, tie: float
) -> RankedPage:
    """The first page of the sorted ``docs`` by relevance, each scored by ``scores`` (for "more like this")."""
    picked = order(view.date[docs], scores, tiers, "relevance", limit, tie)[:limit]
    return RankedPage(len(docs), docs[picked], scores[picked], docs)


def score(view: IndexView, parsed: ParsedQuery, ranking: Ranking, found: dict[str, int]) -> Scored:
    """Match ``parsed`` (filters and exclusions applied) and compute each match's features (``found`` is filled in)."""
    proximity = len(parsed.groups) > 1
    groups = [_match_group(view, group, ranking, found, proximity) for group in parsed.groups]
    if groups:
        docs = groups[0].merged.docs
        for group in groups[1:]:
            docs = intersect(docs, group.merged.docs)
    else:
        docs = np.flatnonzero(view.live) if not parsed.filters.is_empty() else EMPTY
    for clause in parsed.excluded:
        docs = docs[~contains_sorted(exact_docs(view, clause), docs)]
    if not parsed.filters.is_empty():
        docs = docs[_filtered(view, parsed.filters, docs)]
    tiers = np.zeros(len(docs), np.int32)
    at = [g.merged.at(docs) for g in groups]
    if groups:
        tiers = sum((g.merged.exact[i].astype(np.int32) for g, i in zip(groups, at, strict=True)), tiers)
    return Scored(docs, tiers, view.date[docs], groups, at, view)


def _fill(
    view: IndexView,
    docs: np.ndarray,
    groups: list[_GroupMatch],
    at: list[np.ndarray],
    column: np.ndarray,
    highest: dict[str, np.ndarray] | None = None,
) -> None:
    """Compute each feature of :data:`FEATURES` for the matches ``docs`` (``at[g]``: where they stand in group g's).

    ``column[_COLUMN[name]]`` receives one feature for every match. With
    ``highest``, proximity in the body, which reads every occurrence of the
    terms, is not computed: ``highest`` receives the most it can be
    instead. What reads the titles alone is computed either way: titles
    are short, and left at its most, a feature of the title let every
    match with the terms in its title reach the cut. At a million posts,
    61,000 of 中's matches were scored exactly for a page of ten stories
    (whether a title begins with it), and 33,000 of 习近平 会见's (how near
    the two are in the title).
    """
    pairs = list(zip(groups, at, strict=True))
    column[_COLUMN["exact"]] = sum(g.merged.exact_scores[i] for g, i in pairs)
    column[_COLUMN["words"]] = sum(g.merged.word_scores[i] for g, i in pairs)
    in_title = sum(g.merged.in_title[i].astype(np.float64) for g, i in pairs)
    column[_COLUMN["title"]] = in_title / len(groups)
    covered = sum(g.letters[i] for g, i in pairs)
    letters = np.maximum(view.title_letters[docs], 1.0)
    column[_COLUMN["title_cover"]] = np.minimum(covered / letters, 1.0)
    column[_COLUMN["title_whole"]] = (in_title == len(groups)) & (covered >= letters)
    column[_COLUMN["briefs"]] = np.clip((view.brief_items[docs] - 1) / (ROUNDUP_ITEMS - 1), 0.0, 1.0)
    column[_COLUMN["title_start"]] = sum(g.merged.begins_title[i].astype(np.float64) for g, i in pairs) / len(groups)
    if len(groups) > 1:
        column[_COLUMN["title_near"]] = _proximity(docs, [g.merged.start_keys(i, title=True) for g, i in pairs])
    if highest is not None:
        # Two terms are near only where both are.
        held = [g.merged.in_body[i] for g, i in pairs]
        highest["proximity"] = sum((a & b).astype(np.float64) for a, b in zip(held, held[1:], strict=False))
    elif len(groups) > 1:
        column[_COLUMN["proximity"]] = _proximity(docs, [g.merged.start_keys(i) for g, i in pairs])


def _match_group(
    view: IndexView, group: Group, ranking: Ranking, found: dict[str, int], body_starts: bool
) -> _GroupMatch:
    """OR of a group's clauses: union of documents, scores added; exact as :func:`_counted` says."""
    matches = [match_clause(view, clause, ranking, body_starts) for clause in group.clauses]
    pairs = list(zip(group.clauses, matches, strict=True))
    for clause, match in pairs:
        found[clause.text] = max(found.get(clause.text, 0), int(match.exact.sum()))
    if len(matches) == 1:
        return _GroupMatch(matches[0], _title_letters(*pairs[0]), pairs)
    docs = union(*(m.docs for m in matches))
    size = len(docs)
    flags = (np.zeros(size, bool) for _ in range(3))
    merged = ClauseMatch(docs, np.zeros(size), np.zeros(size), *flags)
    counted = _counted(group, found)
    letters = np.zeros(size)
    for clause, match in pairs:
        at = merged.at(match.docs)
        merged.exact_scores[at] += match.exact_scores
        merged.word_scores[at] += match.word_scores
        merged.in_title[at] |= match.in_title
        merged.in_body[at] |= match.in_body
        if clause.text in counted:
            merged.exact[at] |= match.exact
        letters[at] = np.maximum(letters[at], _title_letters(clause, match))
    merged.starts = union(*(m.starts for m in matches))
    merged.title_starts = union(*(m.title_starts for m in matches))
    return _GroupMatch(merged, letters, pairs)


def _title_letters(clause: Clause, match: ClauseMatch) -> np.ndarray:
    """Per document the clause matches: the letters of its exact string when the title holds it, else 0."""
    return np.where(match.in_title, float(letter_count(clause.text)), 0.0)


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
    """Per document, for each pair of consecutive terms: 1 / (1 + gap / PROXIMITY_SCALE), summed.

    The gap is the smallest distance, in character positions, between an
    occurrence of one and an occurrence of the other in the same post. Terms
    in different sentences are at least :data:`SENTENCE_GAP` apart, and get
    nothing. ``starts`` holds, per term, the sorted keys where it starts in
    ``docs`` (in those only).
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
            distance[((other >> 32) != (here >> 32)) | (distance >= SENTENCE_GAP)] = np.inf
            nearest[valid] = np.minimum(nearest[valid], distance)
        gaps = np.full(len(docs), np.inf)
        where, ok = positions_in(docs, left >> 32)
        np.minimum.at(gaps, where[ok], nearest[ok])
        found = np.isfinite(gaps)
        bonus[found] += 1.0 / (1.0 + gaps[found] / PROXIMITY_SCALE)
    return bonus


def _filtered(view: IndexView, filters: Filters, docs: np.ndarray) -> np.ndarray:
    """For each of the sorted ``docs``: whether it passes ``filters``."""
    keep = np.ones(len(docs), bool)
    for name, values in filters.include.items():
        for value in values:
            keep &= _facet(name).holds(view, value, docs)
    for name, values in filters.exclude.items():
        for value in values:
            keep &= ~_facet(name).holds(view, value, docs)
    dates = view.date[docs]
    if filters.after is not None:
        keep &= dates >= filters.after
    if filters.before is not None:
        keep &= (dates < filters.before) & (dates != NO_DATE)
    return keep


def _facet(name: str) -> Facet:
    found = facet(name)
    assert found is not None, f"filters hold facet names only, not {name!r}"
    return found


def order(dates: np.ndarray, scores: np.ndarray, tiers: np.ndarray, sort: str, needed: int, tie: float) -> np.ndarray:
    """Indexes of the ``needed`` best matches, best first (and any tied with the last; see :class:`_Ordering`)."""
    return _Ordering.of(dates, scores, tiers, sort, tie).top(needed)


def _nth_best(values: np.ndarray, n: int, stories: np.ndarray | None = None) -> float:
    """The ``n``-th largest of ``values``; with ``stories`` (one per value), the largest
    value that ``n`` distinct stories reach (minus infinity when there are fewer).

    A story's best value is among the largest few values, so those are
    looked at first: four per story wanted, four times as many while they
    hold too few stories.
    """
    if stories is None:
        return _nth_largest(values, n)
    wanted = 4 * n
    while True:
        candidates = np.flatnonzero(values >= _nth_largest(values, wanted))
        ordered = candidates[np.argsort(-values[candidates], kind="stable")]
        _, first = np.unique(stories[ordered], return_index=True)
        if len(first) >= n:
            return float(values[ordered[np.partition(first, n - 1)[n - 1]]])
        if len(candidates) == len(values):
            return -np.inf
        wanted *= 4


def _nth_largest(values: np.ndarray, n: int) -> float:
    """The ``n``-th largest of ``values`` (minus infinity when there are fewer).

    Of many values, only those at or above a cutoff read from a sample are
    partitioned: the cutoff is the sample's value with about twice the
    share of larger ones that the ``n`` largest are of all, so those above
    it are almost always enough, and when not, every value is used. A
    common word's 800,000 matches took 17 ms to partition, the sample and
    the few above its cutoff under 1 ms.
    """
    size = len(values)
    if size < n:
        return -np.inf
    if size >= _SAMPLED_SELECT and n * _SAMPLE_SHARE < size:
        sample = values[:: size // _SAMPLE]
        above = min(len(sample), 2 * (n * len(sample) // size) + _SAMPLE_SLACK)
        candidates = values[values >= np.partition(sample, len(sample) - above)[len(sample) - above]]
        if len(candidates) >= n:
            values = candidates
    return float(np.partition(values, len(values) - n)[len(values) - n])


class _Ordering:
    """The order of a query's matches, computed on demand for the part a page needs.

    By relevance: tiers first, then scores in bands of ``tie`` times the
    best score, newest first within a band, then score. By date: newest
    first, then score.

    Exact scores are computed only for the matches that can reach the part
    asked for (top-k pruning): every match's score is at least ``low`` and
    at most ``high`` (:meth:`Scored.bounds`), and a match whose ``high``
    cannot reach the ``needed``-th best ``low`` is never scored. By date,
    only the matches as new as the ``needed``-th newest are. The order is
    the one that scoring every match would give.
    """

    def __init__(
        self,
        dates: np.ndarray,
        tiers: np.ndarray,
        sort: str,
        bounds: tuple[np.ndarray, np.ndarray],
        scorer: Callable[[np.ndarray], np.ndarray] | None = None,
        tie: float = 0.0,
    ) -> None:
        self.dates = dates.astype(np.float64)  # NO_DATE sorts last
        self.tiers = tiers
        self.sort = sort
        self.low, self.high = bounds
        self.scorer = scorer
        self.scores = self.low.copy()  # exact where known
        self.known = np.full(len(tiers), scorer is None)
        self.band = 0.0
        if sort != "date" and tie > 0 and len(tiers):
            # Bands are relative to the best score, which only every score tells.
            self.band = tie * float(np.abs(self.exact(np.arange(len(tiers)))).max())

    @classmethod
    def of(cls, dates: np.ndarray, scores: np.ndarray, tiers: np.ndarray, sort: str, tie: float) -> _Ordering:
        """The order of matches whose scores are all known."""
        return cls(dates, tiers, sort, (scores, scores), tie=tie)

    @classmethod
    def pruned(cls, scored: Scored, ranking: Ranking, sort: str) -> _Ordering:
        """The order of ``scored``'s matches, each scored only if it can reach the part asked for."""
        if sort == "date":
            bounds = (np.zeros(len(scored.docs)), np.zeros(len(scored.docs)))  # a date order needs none
        else:
            bounds = scored.bounds(ranking)
        return cls(scored.dates, scored.tiers, sort, bounds, lambda rows: scored.scores(ranking, rows), ranking.tie)

    def exact(self, rows: np.ndarray) -> np.ndarray:
        """The exact scores of the matches at ``rows``, computed for those not yet known."""
        missing = rows[~self.known[rows]]
        if len(missing):
            assert self.scorer is not None
            self.scores[missing] = self.scorer(missing)
            self.known[missing] = True
        return self.scores[rows]

    def _bands(self, scores: np.ndarray) -> np.ndarray:
        return np.floor(scores / self.band) if self.band > 0 else scores

    def _main(self, rows: np.ndarray | None, scores: np.ndarray) -> np.ndarray:
        """The first key of the order, for matches ``rows`` (None: every match) scored ``scores``."""
        if self.sort == "date":
            return self.dates if rows is None else self.dates[rows]
        return (self.tiers if rows is None else self.tiers[rows]) * 1e9 + self._bands(scores)

    def top(self, needed: int, stories: np.ndarray | None = None) -> np.ndarray:
        """Indexes of the ``needed`` first matches in order, and any tied with the last on the main key.

        With ``stories`` (each match's story), of the matches down to the
        best of the ``needed``-th story, and any tied with it: a page of
        stories needs no more, however many matches each story has (a
        post's copies in several feeds).

        Only the matches that can make the cut are scored (MaxScore-like):
        the ``needed``-th best low bound is a first threshold; the matches
        whose high bound reaches it are scored in batches, best bound first,
        and each batch raises the threshold to the ``needed``-th best exact
        key so far, until no match left can reach it. The matches at or
        above the cut are then sorted. Any ``needed`` gives a prefix of one
        and the same order. Each batch is the best bounds picked by a
        partition, not a sort: loose bounds leave most of a common pair's
        150,000 matches in reach, and sorting them all took 30 ms.
        """
        if needed >= len(self.tiers):
            return self.sorted(np.arange(len(self.tiers)))
        threshold = _nth_best(self._main(None, self.low), needed, stories)
        highest = self._main(None, self.high)
        reach = np.flatnonzero(highest >= threshold)
        bound = highest[reach]
        scored, batch = reach, max(4 * needed, _FIRST_BATCH)
        while batch < len(reach):
            best = np.argpartition(-bound, batch - 1)
            scored = reach[best[:batch]]
            threshold = max(threshold, self._cut(scored, needed, stories)[1])
            if bound[best[batch:]].max() < threshold:  # no match left can reach the cut
                break
            scored, batch = reach, 2 * batch
        main, cut = self._cut(scored, needed, stories)
        return self.sorted(np.sort(scored[main >= cut]))  # ties as if all were scored

    def _cut(self, rows: np.ndarray, needed: int, stories: np.ndarray | None) -> tuple[np.ndarray, float]:
        """The main keys of the matches ``rows``, and the ``needed``-th best of them (of ``needed`` stories,
        with ``stories``)."""
        main = self._main(rows, self.exact(rows))
        return main, _nth_best(main, needed, None if stories is None else stories[rows])

    def sorted(self, indexes: np.ndarray) -> np.ndarray:
        """``indexes`` (of matches) in order."""
        scores, dates = self.exact(indexes), self.dates[indexes]
        if self.sort == "date":
            keys: tuple[np.ndarray, ...] = (-scores, -dates)
        else:
            keys = (-scores, -dates, -self._bands(scores), -self.tiers[indexes])
        return indexes[np.lexsort(keys)]


def _explain(scored: Scored, at: int, row: np.ndarray, total: float, ranking: Ranking, sort: str) -> Explanation:
    """The parts of match ``at``'s score (its features ``row``), and which clause matched where."""
    doc = int(scored.docs[at])
    clauses = []
    for group in scored.groups:
        for clause, match in group.clauses:
            i = match.of(doc)
            found = i is not None
            where = [name for name, flags in (("title", match.in_title), ("body", match.in_body)) if found and flags[i]]
            clauses.append(
                ClauseExplanation(
                    text=clause.text,
                    variant_of=clause.variant_of or None,
                    exact=found and bool(match.exact[i]),
                    fields=where,
                    words=found and bool(match.word_scores[i] > 0),
                )
            )
    parts = {
        name: round(float(row[i]) * ranking.weight(name), 4)
        for i, name in enumerate(FEATURES)
        if row[i] and ranking.weight(name)
    }
    values = {name: round(float(row[i]), 4) for i, name in enumerate(FEATURES) if row[i]}
    return Explanation(
        score=round(total, 4),
        exact_terms=int(scored.tiers[at]),
        terms=len(scored.groups),
        parts=parts,
        features=values,
        clauses=clauses,
        order="date, newest first" if sort == "date" else _relevance_order(ranking.tie),
    )


def _relevance_order(tie: float) -> str:
    ties = f"scores within {tie:.1%} of the best" if tie else "equal scores"
    return f"exact terms, then score; newer first among {ties}"
