"""Which posts a clause matches, and how well: exact strings and BM25F.

A clause (see :mod:`searchengine.query`) matches a post when the post
contains its exact string — found as a phrase of the character layer, so
segmentation can never hide it — or, for an unquoted clause, all of its
words in the word layer. It gets two BM25F scores over title and body (the
title weighted above the body): one for the exact string as one term, one
for its words; the ranking model (:mod:`searchengine.ranking_model`) weighs
the two layers against each other.

Sets of posts are dense arrays over all document numbers (a boolean "which",
a float "score"): an archive of 75,000 posts makes each array a few hundred
kilobytes, and unions, intersections and sums are single vectorised
operations with no sorting. Positions are "keys", ``docnum << 32 |
position`` in sorted arrays, so a phrase of n terms is n binary searches.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from searchengine.normalize import normalize
from searchengine.query import Clause, Element
from searchengine.ranking_model import Ranking
from searchengine.store import IndexView
from searchengine.store.fields import BODY, BODY_CHARS, BODY_WORDS, TITLE, TITLE_CHARS, TITLE_WORDS

__all__ = ["ClauseMatch", "match_clause", "match_any_word", "exact_mask", "contains_sorted"]

_SPACES = re.compile(r"\s+")
_TITLES = (TITLE_CHARS, TITLE_WORDS)
_STORED = {TITLE_CHARS: TITLE, BODY_CHARS: BODY}


@dataclass
class ClauseMatch:
    """What a clause matches, as dense per-document arrays.

    The two scores are the two layers' evidence, weighed against each other
    by the ranking model. ``title_starts`` and ``starts`` hold the keys
    (doc << 32 | position) where the exact string starts in the title's and
    the body's character layer: the ranking reads proximity, and whether a
    title begins with the term, from them.
    """

    which: np.ndarray  # bool: the document matches
    exact_scores: np.ndarray  # float: BM25F of the exact string (0 where absent)
    word_scores: np.ndarray  # float: BM25F of the words, summed (0 where they are not all there)
    exact: np.ndarray  # bool: it contains the exact string
    in_title: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # bool: ... in the title
    in_body: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # bool: ... in the body
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    title_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass
class _Phrase:
    """Exact occurrences of a clause in one field."""

    docs: np.ndarray  # sorted document numbers
    counts: np.ndarray  # occurrences in each
    starts: np.ndarray  # sorted keys of the occurrences (empty if not asked for)


def contains_sorted(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """For each needle, whether the sorted ``haystack`` holds it (binary search)."""
    if not len(haystack):
        return np.zeros(len(needles), bool)
    where = np.searchsorted(haystack, needles)
    where[where == len(haystack)] = 0
    return haystack[where] == needles


def match_clause(view: IndexView, clause: Clause, ranking: Ranking, body_starts: bool) -> ClauseMatch:
    """Evaluate one clause over the whole index.

    The title's start keys are always found (titles are short); the body's
    only with ``body_starts`` (for proximity between clauses), because a
    common term's positions in every body cost more than all the rest.
    Neither for a prefix, which stands for many terms.
    """
    fields = (
        [(TITLE_CHARS, TITLE_WORDS)] if clause.title_only else [(TITLE_CHARS, TITLE_WORDS), (BODY_CHARS, BODY_WORDS)]
    )
    whole = not clause.elements[0].prefix
    want = {TITLE_CHARS: whole, BODY_CHARS: whole and body_starts}
    phrases = {chars: _phrase(view, chars, clause.elements, want[chars]) for chars, _ in fields}
    if clause.verify:
        phrases = {name: _verified(view, clause, name, phrase) for name, phrase in phrases.items()}
    exact = np.zeros(view.size, bool)
    for phrase in phrases.values():
        exact[phrase.docs] = True
    exact &= view.live
    in_title, in_body = np.zeros(view.size, bool), np.zeros(view.size, bool)
    in_title[phrases[TITLE_CHARS].docs] = True
    if BODY_CHARS in phrases:
        in_body[phrases[BODY_CHARS].docs] = True
    in_title &= view.live
    in_body &= view.live
    exact_scores = _bm25f(view, exact, {f: (p.docs, p.counts) for f, p in phrases.items()}, ranking)
    which = exact.copy()
    word_scores = np.zeros(view.size)
    if clause.words:
        word_which, word_scores = _words(view, clause.words, [w for _, w in fields], ranking)
        which |= word_which
    word_scores[~which] = 0.0
    body = phrases.get(BODY_CHARS)
    return ClauseMatch(
        which,
        exact_scores,
        word_scores,
        exact,
        in_title,
        in_body,
        body.starts if body is not None else np.zeros(0, np.int64),
        phrases[TITLE_CHARS].starts,
    )


def exact_mask(view: IndexView, clause: Clause) -> np.ndarray:
    """Documents containing the clause's exact string (for exclusions)."""
    fields = [TITLE_CHARS] if clause.title_only else [TITLE_CHARS, BODY_CHARS]
    found = np.zeros(view.size, bool)
    for name in fields:
        phrase = _phrase(view, name, clause.elements, False)
        if clause.verify:
            phrase = _verified(view, clause, name, phrase)
        found[phrase.docs] = True
    return found


# --- exact strings: phrases of the character layer ---------------------------


def _element(
    view: IndexView, fieldname: str, element: Element, with_positions: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted doc ids, term frequencies, sorted position keys) of one phrase element."""
    terms = view.expand_prefix(fieldname, element.terms[0]) if element.prefix else list(element.terms)
    found = [p for p in (view.postings(fieldname, t, with_positions) for t in terms) if len(p.ids)]
    if not found:
        empty = np.zeros(0, np.int64)
        return empty, np.zeros(0, np.float32), empty
    keys = np.zeros(0, np.int64)
    if with_positions:
        keys = np.concatenate(
            [(np.repeat(p.ids, p.counts.astype(np.int64)) << 32) | p.positions.astype(np.int64) for p in found]
        )
    if len(found) == 1:
        return found[0].ids, found[0].weights, keys
    frequency = np.zeros(view.size, np.float32)
    for postings in found:
        frequency[postings.ids] += postings.weights
    ids = np.flatnonzero(frequency)
    return ids, frequency[ids], np.sort(keys) if with_positions else keys


def _frequency(view: IndexView, fieldname: str, element: Element) -> int:
    """How many documents hold ``element`` at most (a prefix element counts as holding everything)."""
    if element.prefix:
        return view.size
    return sum(view.doc_frequency(fieldname, term) for term in element.terms)


def _phrase(view: IndexView, fieldname: str, elements: tuple[Element, ...], want_starts: bool) -> _Phrase:
    """Where the elements occur at consecutive positions in ``fieldname``."""
    if len(elements) == 1 and not want_starts:
        ids, frequencies, _ = _element(view, fieldname, elements[0], False)
        return _Phrase(ids, frequencies.astype(np.float64), np.zeros(0, np.int64))
    # Only documents holding every element can hold the phrase. Elements are
    # read rarest first, each distinct one once, and reading stops as soon as
    # no document holds them all: a long query (hundreds of characters pasted
    # in) then costs a few posting lists, not hundreds of common ones.
    distinct = {(e.terms, e.prefix): e for e in elements}  # the same terms at other places read once
    fetched_by: dict[tuple[tuple[str, ...], bool], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    common = np.ones(view.size, bool)
    for key, element in sorted(distinct.items(), key=lambda item: _frequency(view, fieldname, item[1])):
        fetched_by[key] = _element(view, fieldname, element, True)
        holds = np.zeros(view.size, bool)
        holds[fetched_by[key][0]] = True
        common &= holds
        if not common.any():
            break
    starts = np.zeros(0, np.int64)
    if common.any():
        fetched = [fetched_by[(element.terms, element.prefix)] for element in elements]
        for index, (element, (_, _, keys)) in enumerate(zip(elements, fetched, strict=True)):
            keys = keys[common[keys >> 32]]
            starts = keys if index == 0 else starts[contains_sorted(keys, starts + element.at)]
            if not len(starts):
                break
    docs, counts = np.unique(starts >> 32, return_counts=True)
    return _Phrase(docs, counts.astype(np.float64), starts)


def _verified(view: IndexView, clause: Clause, fieldname: str, phrase: _Phrase) -> _Phrase:
    """Keep only documents whose stored text really contains the phrase.

    Tokens ignore punctuation and spaces, so "阿富汗，塔利班" also finds
    "阿富汗、塔利班"; for such phrases the candidates are read and checked.
    """
    stored = _STORED[fieldname]
    keep = np.array(
        [clause.text in _SPACES.sub(" ", normalize(view.stored(int(d)).get(stored) or "")) for d in phrase.docs],
        dtype=bool,
    )
    docs = phrase.docs[keep]
    starts = phrase.starts[contains_sorted(docs, phrase.starts >> 32)] if len(phrase.starts) else phrase.starts
    return _Phrase(docs, phrase.counts[keep], starts)


# --- words of the word layer -------------------------------------------------


def _words(
    view: IndexView, words: tuple[str, ...], fields: list[str], ranking: Ranking
) -> tuple[np.ndarray, np.ndarray]:
    """Documents holding every word, and the sum of the words' BM25F scores."""
    which = view.live.copy()
    total = np.zeros(view.size)
    for word in words:
        holds, scores = _word(view, word, fields, ranking)
        which &= holds
        if not which.any():
            break
        total += scores
    return which, total


def match_any_word(view: IndexView, words: list[str], ranking: Ranking) -> ClauseMatch:
    """Documents holding any of ``words``, scored by the sum of their BM25F.

    For "more like this": a post's distinctive words, without the exact
    string machinery a user's query needs.
    """
    which = np.zeros(view.size, bool)
    total = np.zeros(view.size)
    for word in words:
        holds, scores = _word(view, word, [TITLE_WORDS, BODY_WORDS], ranking)
        which |= holds
        total += scores
    which &= view.live
    return ClauseMatch(which, np.zeros(view.size), total, np.zeros(view.size, bool))


def _word(view: IndexView, word: str, fields: list[str], ranking: Ranking) -> tuple[np.ndarray, np.ndarray]:
    """Which documents hold ``word`` in the word layer of ``fields``, and its BM25F."""
    per_field = {}
    holds = np.zeros(view.size, bool)
    for fieldname in fields:
        postings = view.postings(fieldname, word)
        per_field[fieldname] = (postings.ids, postings.weights)
        holds[postings.ids] = True
    return holds, _bm25f(view, holds & view.live, per_field, ranking)


# --- scoring -------------------------------------------------------------------


def _bm25f(
    view: IndexView, which: np.ndarray, per_field: dict[str, tuple[np.ndarray, np.ndarray]], ranking: Ranking
) -> np.ndarray:
    """BM25F of one term (or one exact string): a dense array of scores.

    Frequencies are length-normalised per field, weighted (title above
    body), summed, then saturated once — the BM25F of Robertson et al.
    ``which`` are the documents that have the term; its size is the df.
    """
    df = int(which.sum())
    scores = np.zeros(view.size)
    if not df:
        return scores
    tfn = np.zeros(view.size)
    for fieldname, (ids, frequencies) in per_field.items():
        if not len(ids):
            continue
        title = fieldname in _TITLES
        b = ranking.title_b if title else ranking.body_b
        norm = 1.0 - b + b * view.lengths[fieldname][ids] / view.avg_length[fieldname]
        tfn[ids] += (ranking.title_weight if title else 1.0) * frequencies / norm
    idf = math.log(1.0 + (view.doc_count - df + 0.5) / (df + 0.5))
    scored = np.flatnonzero(which)
    found = tfn[scored]
    scores[scored] = idf * found * (ranking.k1 + 1.0) / (found + ranking.k1)
    return scores
