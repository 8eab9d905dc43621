"""Which posts a clause matches, and how well: exact strings and BM25F.

A clause (see :mod:`searchengine.query`) matches a post when the post
contains its exact string — found as a phrase of the character layer, so
segmentation can never hide it — or, for an unquoted clause, all of its
words in the word layer. The score is BM25F over title and body (the title
weighted above the body): the exact string scores as one term, weighted
above the words, and each word adds its own BM25F.

Everything works on whole posting lists as numpy arrays: a "key" is
``docnum << 32 | position``, so a phrase of n terms is n sorted-array
intersections, not a walk over documents.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from searchengine.normalize import normalize
from searchengine.query import Clause, Element
from searchengine.schema import BODY_CHARS, BODY_WORDS, TITLE_CHARS, TITLE_WORDS
from searchengine.view import IndexView

__all__ = ["ClauseMatch", "match_clause", "exact_docs", "Ranking"]

K1 = 1.2
#: Length normalisation, per field. Bodies get a low ``b``: a long article
#: that names someone twice is more about them than a brief that names them
#: once, and news lengths vary tenfold.
TITLE_B = 0.75
BODY_B = 0.35
TITLE_WEIGHT = 3.0
EXACT_WEIGHT = 2.0

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Ranking:
    """BM25F parameters (see the README's ranking section)."""

    k1: float = K1
    title_b: float = TITLE_B
    body_b: float = BODY_B
    title_weight: float = TITLE_WEIGHT
    exact_weight: float = EXACT_WEIGHT


@dataclass
class ClauseMatch:
    """The posts a clause matches (sorted ``docs``), with aligned arrays.

    ``starts`` holds the keys (doc << 32 | position) where the exact string
    starts in the body's character layer: the ranking uses them for
    proximity between clauses.
    """

    docs: np.ndarray
    scores: np.ndarray
    exact: np.ndarray
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def empty(cls) -> "ClauseMatch":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, bool))


@dataclass
class _Phrase:
    """Exact occurrences of a clause in one field: per-document counts and starts."""

    docs: np.ndarray
    counts: np.ndarray
    starts: np.ndarray


def match_clause(view: IndexView, clause: Clause, ranking: Ranking = Ranking(), want_starts: bool = False) -> ClauseMatch:
    """Evaluate one clause over the whole index."""
    fields = [(TITLE_CHARS, TITLE_WORDS)] if clause.title_only else [(TITLE_CHARS, TITLE_WORDS), (BODY_CHARS, BODY_WORDS)]
    phrases = {chars: _phrase(view, chars, clause.elements, want_starts) for chars, _ in fields}
    if clause.verify:
        phrases = _verified(view, clause, phrases)
    exact_docs_ = _union([p.docs for p in phrases.values()])
    exact_score = _bm25f(view, exact_docs_, {f: (p.docs, p.counts) for f, p in phrases.items()}, ranking)
    docs, scores = exact_docs_, exact_score * ranking.exact_weight
    if clause.words:
        word_docs, word_scores = _words(view, clause.words, [w for _, w in fields], ranking)
        docs, scores = _merge_or(docs, scores, word_docs, word_scores)
    exact = np.isin(docs, exact_docs_, assume_unique=True)
    live = view.live[docs]
    starts = phrases[fields[-1][0]].starts
    return ClauseMatch(docs[live], scores[live], exact[live], starts)


def exact_docs(view: IndexView, clause: Clause) -> np.ndarray:
    """Live documents containing the clause's exact string (for exclusions)."""
    fields = [TITLE_CHARS] if clause.title_only else [TITLE_CHARS, BODY_CHARS]
    phrases = {f: _phrase(view, f, clause.elements, False) for f in fields}
    if clause.verify:
        phrases = _verified(view, clause, phrases)
    docs = _union([p.docs for p in phrases.values()])
    return docs[view.live[docs]]


# --- exact strings: phrases of the character layer ---------------------------


def _element_keys(view: IndexView, fieldname: str, element: Element, with_positions: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(doc ids, term frequencies, position keys) of one phrase element."""
    terms = view.expand_prefix(fieldname, element.term) if element.prefix else [element.term]
    ids_parts, tf_parts, key_parts = [], [], []
    for term in terms:
        postings = view.postings(fieldname, term, with_positions)
        if not len(postings.ids):
            continue
        ids_parts.append(postings.ids)
        tf_parts.append(postings.weights)
        if with_positions:
            docs = np.repeat(postings.ids, postings.counts.astype(np.int64))
            key_parts.append((docs << 32) | postings.positions.astype(np.int64))
    if not ids_parts:
        empty = np.zeros(0, np.int64)
        return empty, np.zeros(0, np.float32), empty
    if len(ids_parts) == 1:
        return ids_parts[0], tf_parts[0], key_parts[0] if key_parts else np.zeros(0, np.int64)
    ids = np.concatenate(ids_parts)
    tfs = np.concatenate(tf_parts)
    order = np.argsort(ids, kind="stable")
    unique_ids, first = np.unique(ids[order], return_index=True)
    summed = np.add.reduceat(tfs[order], first) if len(order) else tfs
    keys = np.sort(np.concatenate(key_parts)) if key_parts else np.zeros(0, np.int64)
    return unique_ids, summed, keys


def _phrase(view: IndexView, fieldname: str, elements: tuple[Element, ...], want_starts: bool) -> _Phrase:
    """Where the elements occur at consecutive positions in ``fieldname``."""
    if len(elements) == 1 and not want_starts:
        ids, tfs, _ = _element_keys(view, fieldname, elements[0], False)
        return _Phrase(ids, tfs.astype(np.float64), np.zeros(0, np.int64))
    fetched = [_element_keys(view, fieldname, e, True) for e in elements]
    # Narrow to documents holding every element before comparing positions.
    common = fetched[0][0]
    for ids in sorted((f[0] for f in fetched[1:]), key=len):
        common = np.intersect1d(common, ids, assume_unique=True)
    starts = np.zeros(0, np.int64)
    if len(common):
        for offset, (_, _, keys) in enumerate(fetched):
            keys = keys[np.isin(keys >> 32, common)]
            starts = keys if offset == 0 else starts[np.isin(starts + offset, keys)]
            if not len(starts):
                break
    docs, counts = np.unique(starts >> 32, return_counts=True)
    return _Phrase(docs, counts.astype(np.float64), starts)


def _verified(view: IndexView, clause: Clause, phrases: dict[str, _Phrase]) -> dict[str, _Phrase]:
    """Keep only documents whose stored text really contains the phrase.

    Tokens ignore punctuation and spaces, so "阿富汗，塔利班" also finds
    "阿富汗、塔利班"; for such phrases the candidates are read and checked.
    """
    stored_name = {TITLE_CHARS: "title", BODY_CHARS: "body"}
    result = {}
    for fieldname, phrase in phrases.items():
        keep = np.array(
            [clause.text in _SPACES.sub(" ", normalize(view.stored(int(d)).get(stored_name[fieldname]) or "")) for d in phrase.docs],
            dtype=bool,
        )
        starts = phrase.starts[np.isin(phrase.starts >> 32, phrase.docs[keep])] if len(phrase.starts) else phrase.starts
        result[fieldname] = _Phrase(phrase.docs[keep], phrase.counts[keep], starts)
    return result


# --- words of the word layer -------------------------------------------------


def _words(view: IndexView, words: tuple[str, ...], fields: list[str], ranking: Ranking) -> tuple[np.ndarray, np.ndarray]:
    """Documents holding every word, and the sum of the words' BM25F scores."""
    docs: np.ndarray | None = None
    total: np.ndarray | None = None
    for word in words:
        per_field = {}
        for fieldname in fields:
            postings = view.postings(fieldname, word)
            per_field[fieldname] = (postings.ids, postings.weights.astype(np.float64))
        word_docs = _union([ids for ids, _ in per_field.values()])
        scores = _bm25f(view, word_docs, per_field, ranking)
        if docs is None:
            docs, total = word_docs, scores
        else:
            keep_old = np.isin(docs, word_docs, assume_unique=True)
            keep_new = np.isin(word_docs, docs, assume_unique=True)
            docs, total = docs[keep_old], total[keep_old] + scores[keep_new]  # type: ignore[index]
        if not len(docs):
            break
    assert docs is not None and total is not None
    return docs, total


# --- scoring -------------------------------------------------------------------


def _bm25f(
    view: IndexView, docs: np.ndarray, per_field: dict[str, tuple[np.ndarray, np.ndarray]], ranking: Ranking
) -> np.ndarray:
    """BM25F of one term (or one exact string) for ``docs``.

    Frequencies are length-normalised per field, weighted (title above
    body), summed, then saturated once — the BM25F of Robertson et al.
    """
    if not len(docs):
        return np.zeros(0, np.float64)
    tfn = np.zeros(len(docs), np.float64)
    for fieldname, (ids, tfs) in per_field.items():
        if not len(ids):
            continue
        where = np.searchsorted(docs, ids)
        lengths = view.lengths[fieldname][ids]
        title = fieldname in (TITLE_CHARS, TITLE_WORDS)
        b = ranking.title_b if title else ranking.body_b
        norm = 1.0 - b + b * lengths / view.avg_length[fieldname]
        weight = ranking.title_weight if title else 1.0
        tfn[where] += weight * tfs / norm
    df = len(docs)
    idf = math.log(1.0 + (view.doc_count - df + 0.5) / (df + 0.5))
    return idf * tfn * (ranking.k1 + 1.0) / (tfn + ranking.k1)


def _union(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros(0, np.int64)
    if len(parts) == 1:
        return parts[0].astype(np.int64)
    return np.unique(np.concatenate(parts)).astype(np.int64)


def _merge_or(docs_a: np.ndarray, scores_a: np.ndarray, docs_b: np.ndarray, scores_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of two scored document sets, adding scores where both match."""
    docs = _union([docs_a, docs_b])
    scores = np.zeros(len(docs), np.float64)
    if len(docs_a):
        scores[np.searchsorted(docs, docs_a)] += scores_a
    if len(docs_b):
        scores[np.searchsorted(docs, docs_b)] += scores_b
    return docs, scores
