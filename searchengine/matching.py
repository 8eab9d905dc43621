"""Which posts a clause matches, and how well: exact strings and BM25F.

A clause (see :mod:`searchengine.query`) matches a post when the post
contains its exact string — found as a phrase of the character layer, so
segmentation can never hide it — or, for an unquoted clause, all of its
words in the word layer. It gets two BM25F scores over title and body (the
title weighted above the body): one for the exact string as one term, one
for its words; the ranking model (:mod:`searchengine.ranking_model`) weighs
the two layers against each other.

Sets of posts are sorted arrays of document numbers, with each value a
match carries (a score, a flag) in an array beside them: a query costs in
proportion to the posts it matches, not to the archive (an array the size
of the archive costs milliseconds at a million posts, and a search made
dozens of them). Unions and intersections of sorted arrays are merges and
binary searches, vectorised. Positions are "keys", ``docnum << 32 |
position`` in sorted arrays, so a phrase of n terms is n binary searches.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from searchengine import docsets
from searchengine.docsets import EMPTY, align, contains_sorted, intersect, union
from searchengine.normalize import normalize
from searchengine.query import Clause, Element
from searchengine.ranking_model import Ranking
from searchengine.store import IndexView, Postings
from searchengine.store.fields import BODY, BODY_CHARS, BODY_WORDS, TITLE, TITLE_CHARS, TITLE_WORDS
from searchengine.store.view import LONG_POSTINGS

__all__ = ["ClauseMatch", "match_clause", "match_any_word", "exact_docs"]

_SPACES = re.compile(r"\s+")
_TITLES = (TITLE_CHARS, TITLE_WORDS)
_STORED = {TITLE_CHARS: TITLE, BODY_CHARS: BODY}
#: A union of posting lists holding more postings than the archive has
#: documents over this is counted in an array over the archive (one pass)
#: instead of merged by sorting (a single character's hundreds of bigrams).
_DENSE_UNION = 8


@dataclass
class ClauseMatch:
    """What a clause matches: sorted document numbers, and per document its evidence.

    The two scores are the two layers' evidence, weighed against each other
    by the ranking model. ``title_starts`` and ``starts`` hold the keys
    (doc << 32 | position) where the exact string starts in the title's and
    the body's character layer: the ranking reads proximity, and whether a
    title begins with the term, from them.
    """

    docs: np.ndarray  # the live documents matched, sorted; the arrays below have one value each
    exact_scores: np.ndarray  # float: BM25F of the exact string (0 where absent)
    word_scores: np.ndarray  # float: BM25F of the words, summed (0 where they are not all there)
    exact: np.ndarray  # bool: it contains the exact string
    in_title: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # bool: ... in the title
    in_body: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # bool: ... in the body
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    title_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def at(self, docs: np.ndarray) -> np.ndarray:
        """Where each of ``docs`` (all matched by this clause) stands in :attr:`docs`.

        By an array over the documents when the matches are dense (a common
        word less a few, as 中国 -美国): a binary search of each of 400,000
        matches cost about 10 ms at a million posts.
        """
        if len(docs) == len(self.docs):
            return np.arange(len(docs))  # all of them
        return docsets.positions_in(self.docs, docs)[0]

    def start_keys(self, at: np.ndarray, title: bool = False) -> np.ndarray:
        """The sorted keys where the exact string starts in the body (or the title) of the matches ``at`` (sorted)."""
        begin, size = self._title_runs if title else self._body_runs
        return docsets.gather_runs(self.title_starts if title else self.starts, begin[at], size[at])

    @cached_property
    def begins_title(self) -> np.ndarray:
        """Per match: whether its title begins with the exact string (a headline names its subject first)."""
        return contains_sorted(self.title_starts[(self.title_starts & 0xFFFFFFFF) == 0] >> 32, self.docs)

    # Where each match's keys are, found once for a clause (kept clauses are
    # ranked again on every search of them; a pruned top k reads a few
    # thousand matches' keys in each of several batches).
    @cached_property
    def _body_runs(self) -> tuple[np.ndarray, np.ndarray]:
        return docsets.key_runs(self.starts, self.docs)

    @cached_property
    def _title_runs(self) -> tuple[np.ndarray, np.ndarray]:
        return docsets.key_runs(self.title_starts, self.docs)

    def of(self, doc: int) -> int | None:
        """Where document ``doc`` stands in :attr:`docs`, None when it is not matched."""
        where = int(np.searchsorted(self.docs, doc))
        return where if where < len(self.docs) and self.docs[where] == doc else None


@dataclass
class _Phrase:
    """Exact occurrences of a clause in one field."""

    docs: np.ndarray  # sorted document numbers
    counts: np.ndarray  # occurrences in each
    starts: np.ndarray  # sorted keys of the occurrences (empty if not asked for)
    examined: int = 0  # documents holding every element, whose occurrences were compared


def match_clause(view: IndexView, clause: Clause, ranking: Ranking, body_starts: bool) -> ClauseMatch:
    """Evaluate one clause over the whole index.

    The title's start keys are always found (titles are short); the body's
    only with ``body_starts`` (for proximity between clauses), because a
    common term's positions in every body cost more than all the rest.
    Neither for a prefix, which stands for many terms.

    A clause that reads long posting lists is kept for the view's next
    search, however few posts it matches: what it costs is the postings it
    reads. At a million posts 新闻联播, in every one, scored a million
    matches on every search of it; 马克龙 matches 3,848 posts but is read
    from 马克's and 克龙's lists, and 马克宏 matches none at the same cost
    (17 ms each, every search, where a kept clause costs nothing).
    """
    return view.kept(
        ("clause", clause, ranking.bm25f, body_starts),
        lambda: _match_clause(view, clause, ranking, body_starts),
        lambda found: _postings_read(view, clause) >= LONG_POSTINGS,
    )


def _fields(clause: Clause) -> list[tuple[str, str]]:
    """The (character layer, word layer) of each field the clause searches: the title, and the body unless title:."""
    return [(TITLE_CHARS, TITLE_WORDS)] if clause.title_only else [(TITLE_CHARS, TITLE_WORDS), (BODY_CHARS, BODY_WORDS)]


def _postings_read(view: IndexView, clause: Clause) -> int:
    """How many postings evaluating ``clause`` reads at most: its elements' and its words' document frequencies.

    At least as many as the posts it matches (each is in one of those lists).
    """
    return sum(
        sum(_frequency(view, chars, element) for element in clause.elements)
        + sum(view.doc_frequency(words, word) for word in clause.words)
        for chars, words in _fields(clause)
    )


def _match_clause(view: IndexView, clause: Clause, ranking: Ranking, body_starts: bool) -> ClauseMatch:
    fields = _fields(clause)
    whole = not clause.elements[0].prefix
    want = {TITLE_CHARS: whole, BODY_CHARS: whole and body_starts}
    phrases = {chars: _phrase(view, chars, clause.elements, want[chars]) for chars, _ in fields}
    if clause.verify:
        phrases = {name: _verified(view, clause, name, phrase) for name, phrase in phrases.items()}
    title_docs = _live(view, phrases[TITLE_CHARS].docs)
    body_docs = _live(view, phrases[BODY_CHARS].docs) if BODY_CHARS in phrases else EMPTY
    exact = union(title_docs, body_docs)
    exact_scores = _bm25f(view, exact, {f: (p.docs, p.counts) for f, p in phrases.items()}, ranking)
    docs, word_scores = exact, np.zeros(len(exact))
    if clause.words:
        word_docs, summed = _words(view, clause.words, [w for _, w in fields], ranking)
        docs = union(exact, word_docs)
        word_scores = sum((align(d, scores, docs) for d, scores in summed), np.zeros(len(docs)))
    body = phrases.get(BODY_CHARS)
    return ClauseMatch(
        docs,
        align(exact, exact_scores, docs),
        word_scores,
        contains_sorted(exact, docs),
        contains_sorted(title_docs, docs),
        contains_sorted(body_docs, docs),
        body.starts if body is not None else np.zeros(0, np.int64),
        phrases[TITLE_CHARS].starts,
    )


def exact_docs(view: IndexView, clause: Clause) -> np.ndarray:
    """The documents containing the clause's exact string, sorted (deleted ones included; for exclusions)."""
    found = []
    for name, _ in _fields(clause):
        phrase = _phrase(view, name, clause.elements, False)
        if clause.verify:
            phrase = _verified(view, clause, name, phrase)
        found.append(phrase.docs)
    return union(*found)


def _live(view: IndexView, docs: np.ndarray) -> np.ndarray:
    return docs[view.live[docs]]


# --- exact strings: phrases of the character layer ---------------------------


def _element(
    view: IndexView, fieldname: str, element: Element, with_positions: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted doc ids, term frequencies, sorted position keys) of one phrase element.

    A prefix (a single character, or a word being typed) is the union of
    up to hundreds of bigrams' lists, each looked up in every segment: the
    union is kept for the next search, whatever its length.
    """
    if not element.prefix:
        return _read_element(view, fieldname, element, with_positions)
    return view.kept(
        ("element", fieldname, element.terms, with_positions),
        lambda: _read_element(view, fieldname, element, with_positions),
        lambda found: True,
    )


def _read_element(
    view: IndexView, fieldname: str, element: Element, with_positions: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if element.prefix:
        found = view.prefix_postings(fieldname, element.terms[0], with_positions)
    else:
        found = [p for p in (view.postings(fieldname, t, with_positions) for t in element.terms) if len(p.ids)]
    if not found:
        return EMPTY, np.zeros(0, np.float32), EMPTY
    keys = EMPTY
    if with_positions:
        keys = np.concatenate(
            [(np.repeat(p.ids, p.counts.astype(np.int64)) << 32) | p.positions.astype(np.int64) for p in found]
        )
    if len(found) == 1:
        return found[0].ids, found[0].weights, keys
    ids, frequencies = _summed(view, found)
    return ids, frequencies, np.sort(keys) if with_positions else keys


def _summed(view: IndexView, found: list[Postings]) -> tuple[np.ndarray, np.ndarray]:
    """The documents of several posting lists, and each one's frequencies summed.

    Many long lists (a single character's bigrams) are counted in one array
    over the archive, which costs one pass; fewer postings are merged by
    sorting, which costs in proportion to them.
    """
    total = sum(len(p.ids) for p in found)
    if total > _DENSE_UNION * view.size:
        frequency = np.zeros(view.size, np.float32)
        for postings in found:
            frequency[postings.ids] += postings.weights
        ids = np.flatnonzero(frequency)
        return ids, frequency[ids]
    all_ids = np.concatenate([p.ids for p in found])
    ids, owner = np.unique(all_ids, return_inverse=True)
    # Frequencies are whole numbers: float64 sums are exact, as float32 ones are.
    frequencies = np.bincount(owner, weights=np.concatenate([p.weights for p in found]), minlength=len(ids))
    return ids, frequencies.astype(np.float32)


def _frequency(view: IndexView, fieldname: str, element: Element) -> int:
    """How many documents hold ``element`` at most (a prefix element counts as holding everything)."""
    if element.prefix:
        return view.size
    return sum(view.doc_frequency(fieldname, term) for term in element.terms)


def _phrase(view: IndexView, fieldname: str, elements: tuple[Element, ...], want_starts: bool) -> _Phrase:
    """Where the elements occur at consecutive positions in ``fieldname``.

    A phrase whose elements are together in many posts (新闻联播 is in
    every one) costs a pass over all their occurrences: it is kept for the
    view's next search.
    """
    if len(elements) == 1:
        ids, frequencies, keys = _element(view, fieldname, elements[0], want_starts)
        return _Phrase(ids, frequencies.astype(np.float64), keys)
    return view.kept(
        ("phrase", fieldname, elements),
        lambda: _read_phrase(view, fieldname, elements),
        lambda found: found.examined >= LONG_POSTINGS,
    )


def _read_phrase(view: IndexView, fieldname: str, elements: tuple[Element, ...]) -> _Phrase:
    # Only documents holding every element can hold the phrase. Elements are
    # read rarest first, each distinct one once, and reading stops as soon as
    # no document holds them all: a long query (hundreds of characters pasted
    # in) then costs a few posting lists, not hundreds of common ones.
    distinct = {(e.terms, e.prefix): e for e in elements}  # the same terms at other places read once
    fetched_by: dict[tuple[tuple[str, ...], bool], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    common: np.ndarray | None = None
    for key, element in sorted(distinct.items(), key=lambda item: _frequency(view, fieldname, item[1])):
        fetched_by[key] = _element(view, fieldname, element, True)
        common = fetched_by[key][0] if common is None else intersect(common, fetched_by[key][0])
        if not len(common):
            break
    starts = np.zeros(0, np.int64)
    if common is not None and len(common):
        fetched = [fetched_by[(element.terms, element.prefix)] for element in elements]
        for index, (element, (_, _, keys)) in enumerate(zip(elements, fetched, strict=True)):
            keys = keys[contains_sorted(common, keys >> 32)]
            starts = keys if index == 0 else starts[contains_sorted(keys, starts + element.at)]
            if not len(starts):
                break
    docs, counts = docsets.runs(starts >> 32)
    return _Phrase(docs, counts.astype(np.float64), starts, len(common) if common is not None else 0)


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
    return _Phrase(docs, phrase.counts[keep], docsets.keys_of(phrase.starts, docs))


# --- words of the word layer -------------------------------------------------


def _words(
    view: IndexView, words: tuple[str, ...], fields: list[str], ranking: Ranking
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Documents holding every word, and each word's documents and BM25F.

    A document holding the exact string but not every word still gets the
    scores of the words it holds, up to the word that left no document
    holding them all (reading stops there, that word left out).
    """
    which: np.ndarray | None = None
    summed = []
    for word in words:
        docs, scores = _word(view, word, fields, ranking)
        which = docs if which is None else intersect(which, docs)
        if not len(which):
            break
        summed.append((docs, scores))
    return (which if which is not None else EMPTY), summed


def match_any_word(view: IndexView, words: list[str], ranking: Ranking) -> ClauseMatch:
    """Documents holding any of ``words``, scored by the sum of their BM25F.

    For "more like this": a post's distinctive words, without the exact
    string machinery a user's query needs.
    """
    found = [_word(view, word, [TITLE_WORDS, BODY_WORDS], ranking) for word in words]
    docs = union(*(d for d, _ in found))
    total = sum((align(d, scores, docs) for d, scores in found), np.zeros(len(docs)))
    return ClauseMatch(docs, np.zeros(len(docs)), total, np.zeros(len(docs), bool))


def _word(view: IndexView, word: str, fields: list[str], ranking: Ranking) -> tuple[np.ndarray, np.ndarray]:
    """The live documents holding ``word`` in the word layer of ``fields``, and its BM25F in each.

    A common word's are kept for the view's next search: at a million posts
    中国 is in half of them, and aligning its lists and scoring them was a
    fifth of such a search.
    """
    return view.kept(
        ("word", word, tuple(fields), ranking.bm25f),
        lambda: _score_word(view, word, fields, ranking),
        lambda found: len(found[0]) >= LONG_POSTINGS,
    )


def _score_word(view: IndexView, word: str, fields: list[str], ranking: Ranking) -> tuple[np.ndarray, np.ndarray]:
    per_field = {}
    for fieldname in fields:
        postings = view.postings(fieldname, word)
        per_field[fieldname] = (postings.ids, postings.weights)
    holds = _live(view, union(*(ids for ids, _ in per_field.values())))
    return holds, _bm25f(view, holds, per_field, ranking)


# --- scoring -------------------------------------------------------------------


def _bm25f(
    view: IndexView, docs: np.ndarray, per_field: dict[str, tuple[np.ndarray, np.ndarray]], ranking: Ranking
) -> np.ndarray:
    """BM25F of one term (or one exact string) in each of ``docs``.

    Frequencies are length-normalised per field, weighted (title above
    body), summed, then saturated once — the BM25F of Robertson et al.
    ``docs`` (sorted) are the documents that have the term; their number is
    the df. Postings of other documents (deleted ones) are left out.
    """
    df = len(docs)
    if not df:
        return np.zeros(0)
    tfn = np.zeros(df)
    for fieldname, (ids, frequencies) in per_field.items():
        if not len(ids):
            continue
        where, ok = docsets.positions_in(docs, ids)
        ids, frequencies = ids[ok], frequencies[ok]
        title = fieldname in _TITLES
        b = ranking.title_b if title else ranking.body_b
        norm = 1.0 - b + b * view.lengths[fieldname][ids] / view.avg_length[fieldname]
        tfn[where[ok]] += (ranking.title_weight if title else 1.0) * frequencies / norm
    idf = math.log(1.0 + (view.doc_count - df + 0.5) / (df + 0.5))
    return idf * tfn * (ranking.k1 + 1.0) / (tfn + ranking.k1)
