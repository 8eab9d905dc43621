"""A read-only snapshot of one index generation, laid out for fast queries.

Made by :meth:`searchengine.store.index.IndexFolder.open_view`. Opening a
view reads, once, everything a query needs per document into numpy arrays:
which documents are live, each one's date and year, the token count of each
layer (for BM25), the author, categories and tags (for filters and
facets), and the story each belongs to (reprints grouped, see
:mod:`searchengine.reprints`). Postings come from
:func:`searchengine.store.segments.read_postings` as arrays with global
document numbers. A search then works on whole arrays instead of one
document at a time, which is what keeps it fast on common words that match
half the archive.

Decoding a posting list costs in proportion to its length, and the longest
ones (中国, 发展, a single character's hundreds of bigrams) are the ones
searched again and again. A view keeps those decoded
(:meth:`IndexView.kept`), up to a budget that grows with the posts
(:func:`kept_capacity`), least recently used out first, for as long as the
generation is searched.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from functools import cached_property, lru_cache, partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np

from searchengine.analysis import AnalysisSettings
from searchengine.docsets import contains_sorted, union
from searchengine.normalize import keyword_key
from searchengine.reprints import NO_SIGNATURE, SIGNATURE_BYTES, stories
from searchengine.store.fields import DOCINFO, KEYWORD_FIELDS, PATH, SKETCH, STATE
from searchengine.store.schema import (
    DOCINFO_DEFAULT,
    DOCINFO_FIELDS,
    DOCINFO_STRUCT,
    LENGTH_FIELDS,
    NO_DATE,
    PostState,
    post_info,
)
from searchengine.store.segments import (
    Postings,
    column_array,
    doc_frequency,
    field_terms,
    read_postings,
    read_prefix,
    stored_fields,
)
from searchengine.versioned_cache import VersionedCache

__all__ = ["IndexView", "Vocabulary", "KEPT_BYTES", "KEPT_PER_POST", "LONG_POSTINGS", "kept_capacity"]

#: Bytes of decoded posting lists a view keeps at least (:meth:`IndexView.kept`).
KEPT_BYTES = 128 * 2**20
#: ... or this many bytes per post, if more: about 1.5 GB at a million posts.
#: What a view keeps grows with the posts, not with the index's bytes: a
#: common word's list over a million posts is some 10 MB and its matched
#: clause some 20 MB, whatever the texts' length or compression. The
#: benchmark's mix there evicted what it kept from 665 MB (an eighth of the
#: real million-post index, 5.3 GB) before it came back to it: 中 and 国 then
#: cost their 2-4 s first search every time (p50 78 ms); with 1.07 GB, p50
#: was 43-46 ms, and with this, 35 ms.
KEPT_PER_POST = 1_600
#: Posting lists of at least this many documents are kept once decoded;
#: shorter ones cost less to decode again than the room they would take.
LONG_POSTINGS = 4_096
#: Document frequencies a view remembers: a lookup reads every segment's
#: hashed term table, and a correction asks for hundreds (one per pair of
#: characters it tries).
FREQUENCIES_KEPT = 2**17
#: Posts whose descriptions (:meth:`IndexView.info`) a view remembers: a
#: hit names up to ten other posts of its story, and reading each one's
#: whole stored document (body and HTML, to decompress) was a tenth of a
#: search at a million posts. About 300 bytes each.
INFOS_KEPT = 2**15
T = TypeVar("T")

_DOCINFO_DTYPE = np.dtype(
    [("date", ">i8")] + [(name, ">u4") for name in LENGTH_FIELDS] + [(name, ">u2") for name in DOCINFO_FIELDS[-2:]]
)
assert _DOCINFO_DTYPE.itemsize == struct.calcsize(DOCINFO_STRUCT)
_SKETCH_DTYPE = np.dtype((np.uint8, (SIGNATURE_BYTES,)))  # a row of bytes per document


@dataclass
class Vocabulary:
    """The values of a keyword field (authors, categories, tags) per document.

    Values that differ only in spelling — 繁/简 (社会, 社會), full width or
    case — are one value, as a filter already treats them: a post tagged
    with both counts once, and the value is shown as its most common
    spelling. Stored both ways round, as compressed rows: document ``d``'s
    values are ``value[starts[d]:starts[d + 1]]``, and value ``v``'s
    documents ``docs_of[value_starts[v]:value_starts[v + 1]]`` (sorted). A
    facet count over a search's matches is then one ``bincount`` of their
    values, and a filter one binary search, both in proportion to the
    matches, not to the archive. Posts usually share a few sets of values (a
    news program's posts are all in the same two categories): then
    ``value_set`` numbers each post's set, and a count tallies sets, then
    adds each set's tally to its values (the category facet of a common
    word's 400,000 matches at a million posts: 26.7 ms by rows, 5.9 ms by
    sets). Otherwise (tags, say) most posts still have one value:
    ``single`` holds it, -1 for none and -2 for several, so that a count
    only walks the rows of posts with several.
    """

    names: list[str]
    starts: np.ndarray
    value: np.ndarray
    value_starts: np.ndarray
    docs_of: np.ndarray
    by_normalized: dict[str, int]
    value_set: _ValueSets | None = field(init=False)
    single: np.ndarray | None = field(init=False)  # only without value sets

    def __post_init__(self) -> None:
        self.value_set = _ValueSets.of(self.starts, self.value, len(self.names))
        self.single = None
        if self.value_set is None:
            sizes = np.diff(self.starts)
            self.single = np.where(sizes == 0, -1, -2).astype(np.int32)
            one = np.flatnonzero(sizes == 1)
            self.single[one] = self.value[self.starts[one]]

    @classmethod
    def build(cls, view: IndexView, fieldname: str) -> Vocabulary:
        spellings: dict[str, list[tuple[int, str]]] = {}
        postings: dict[str, np.ndarray] = {}
        for name in view.reader.field_terms(fieldname):
            ids = view.postings(fieldname, name).ids
            postings[name] = ids
            spellings.setdefault(keyword_key(name), []).append((len(ids), name))
        names = [max(found, key=lambda pair: pair[0])[1] for found in spellings.values()]
        by_normalized = {key: index for index, key in enumerate(spellings)}
        pairs = [
            union(*(postings[name] for _, name in found)).astype(np.int64) * len(names) + index
            for index, found in enumerate(spellings.values())
        ]
        count = max(len(names), 1)
        value_starts = np.zeros(len(names) + 1, np.int64)
        value_starts[1:] = np.cumsum([len(p) for p in pairs])
        docs_of = np.concatenate(pairs) // count if pairs else np.zeros(0, np.int64)
        keys = np.sort(np.concatenate(pairs)) if pairs else np.zeros(0, np.int64)
        starts = np.searchsorted(keys // count, np.arange(view.size + 1))
        return cls(names, starts, (keys % count).astype(np.int32), value_starts, docs_of, by_normalized)

    def holds(self, normalized_name: str, docs: np.ndarray) -> np.ndarray:
        """For each of the sorted ``docs``: whether it has the value.

        ``normalized_name`` is compared as :func:`~searchengine.normalize.keyword_key` gives it.
        """
        wanted = self.by_normalized.get(normalized_name)
        if wanted is None:
            return np.zeros(len(docs), bool)
        return contains_sorted(self.docs_of[self.value_starts[wanted] : self.value_starts[wanted + 1]], docs)

    def counts(self, docs: np.ndarray) -> np.ndarray:
        """How many of ``docs`` (distinct document numbers) have each value."""
        if not self.names:  # (an archive without tags, say)
            return np.zeros(0, np.int64)
        if self.value_set is not None:
            return self.value_set.counts(docs, len(self.names))
        assert self.single is not None  # (made when there are no value sets)
        values = self.single[docs]
        found = np.bincount(values[values >= 0], minlength=len(self.names))
        several = docs[values == -2]
        if not len(several):
            return found
        rows = _runs(self.starts[several], self.starts[several + 1])
        return found + np.bincount(self.value[rows], minlength=len(self.names))


@dataclass
class _ValueSets:
    """The distinct sets of values of the posts, as compressed rows, and each post's set."""

    of_doc: np.ndarray  # per document: its set's number (-1 for a post without values)
    starts: np.ndarray
    values: np.ndarray

    #: Sets are worth numbering when this many posts share each, on average.
    SHARED_BY = 4

    @classmethod
    def of(
        cls, starts: np.ndarray, value: np.ndarray, names: int, weights: np.ndarray | None = None
    ) -> _ValueSets | None:
        """The sets of the rows ``starts``/``value``; None when few posts share one (tags, say).

        Rows are grouped by a sum of a 64-bit weight per value (random unless
        given; sets are sorted rows; the sum wraps around), then every row
        is compared with its group's first: should two sets ever share a
        sum, there are no sets, and counts read rows as before.
        """
        sizes = np.diff(starts)
        filled = np.flatnonzero(sizes)
        if not len(filled):
            return None
        if weights is None:
            weights = np.random.default_rng(0).integers(0, 2**63, size=max(names, 1), dtype=np.uint64)
        sums = np.add.reduceat(weights[value], starts[filled])
        _, first, number = np.unique(sums, return_index=True, return_inverse=True)
        if len(first) * cls.SHARED_BY > len(filled):
            return None
        leaders = filled[first]
        same_size = sizes[filled] == sizes[leaders[number]]
        # The rows of the posts with values, end to end, are ``value`` itself.
        if not same_size.all() or not np.array_equal(
            value, value[_runs(starts[leaders[number]], starts[leaders[number] + 1])]
        ):
            return None
        of_doc = np.full(len(sizes), -1, np.int32)
        of_doc[filled] = number
        set_starts = np.zeros(len(leaders) + 1, np.int64)
        set_starts[1:] = np.cumsum(sizes[leaders])
        return cls(of_doc, set_starts, value[_runs(starts[leaders], starts[leaders + 1])])

    def counts(self, docs: np.ndarray, names: int) -> np.ndarray:
        """How many of ``docs`` (distinct document numbers) have each value."""
        tally = np.bincount(self.of_doc[docs] + 1, minlength=len(self.starts))[1:]  # (-1, no value, counts nowhere)
        found = np.flatnonzero(tally)
        sizes = self.starts[found + 1] - self.starts[found]
        counts = np.bincount(
            self.values[_runs(self.starts[found], self.starts[found + 1])],
            weights=np.repeat(tally[found], sizes),
            minlength=names,
        )
        return counts.astype(np.int64)


def _runs(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """The positions ``first[i]..last[i]`` of every row ``i``, end to end."""
    sizes = last - first
    return np.repeat(first - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))


def kept_capacity(posts: int) -> int:
    """Bytes of decoded posting lists a view of an index of ``posts`` posts keeps."""
    return max(KEPT_BYTES, posts * KEPT_PER_POST)


class IndexView:
    """One generation of an index, opened for searching."""

    def __init__(
        self,
        reader: Any,
        generation: int,
        settings: AnalysisSettings,
        timezone: str,
        latest_generation: Callable[[], int],
    ) -> None:
        self.reader = reader
        self.generation = generation
        #: The analysis settings the index was built with: queries must use them.
        self.settings = settings
        self._latest_generation = latest_generation
        self.size = reader.doc_count_all()
        self._kept = VersionedCache[Hashable, Any](kept_capacity(self.size), lambda key, value: _nbytes(value))
        # An index without documents has an EmptyReader, which has no leaves.
        self.leaves: list[tuple[Any, int]] = list(reader.leaf_readers()) if self.size else []
        self._offsets = [offset for _, offset in self.leaves]
        #: How many documents hold ``term`` in ``fieldname`` (deleted ones included).
        # (A function of the segments, not a method: the view holds no cycle, so it is freed as soon as it is replaced.)
        self.doc_frequency: Callable[[str, str], int] = lru_cache(maxsize=FREQUENCIES_KEPT)(
            partial(_doc_frequency, tuple(leaf for leaf, _ in self.leaves))
        )
        self._info: Callable[[int], tuple[tuple[str, Any], ...]] = lru_cache(maxsize=INFOS_KEPT)(
            partial(_info, self.leaves, self._offsets)
        )
        self.live = np.ones(self.size, dtype=bool)
        for leaf, offset in self.leaves:
            deleted = list(leaf.deleted_docs_set)
            self.live[np.asarray(deleted, dtype=np.int64) + offset] = False
        self.doc_count = int(self.live.sum())
        info = self._docinfo()
        self.date = info["date"].astype(np.int64)
        self.year = _years(self.date, ZoneInfo(timezone))
        self.lengths = {name: info[name].astype(np.float32) for name in LENGTH_FIELDS}
        #: Letters of each title, and brief items of each body (see :mod:`searchengine.structure`).
        self.title_letters = info["title_letters"].astype(np.float32)
        self.brief_items = info["brief_items"].astype(np.int32)
        live_count = max(self.doc_count, 1)
        self.avg_length = {
            name: max(float(lengths[self.live].sum()) / live_count, 1.0) for name, lengths in self.lengths.items()
        }
        #: Each keyword field's values per document, for filters and facets.
        self.keywords = {name: Vocabulary.build(self, name) for name in KEYWORD_FIELDS}
        #: Each document's story: the lowest document number of the live
        #: reprints it is grouped with, its own when it has none.
        self.story = stories(self._sketches(), self.live)

    def is_current(self) -> bool:
        """False once a build has committed a newer generation (one folder listing)."""
        return self._latest_generation() == self.generation

    def _docinfo(self) -> np.ndarray:
        default = np.array([DOCINFO_DEFAULT], dtype=_DOCINFO_DTYPE).tobytes()
        parts = [column_array(leaf, DOCINFO, _DOCINFO_DTYPE, default) for leaf, _ in self.leaves]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=_DOCINFO_DTYPE)

    def _sketches(self) -> np.ndarray:
        parts = [column_array(leaf, SKETCH, _SKETCH_DTYPE, NO_SIGNATURE) for leaf, _ in self.leaves]
        return np.concatenate(parts) if parts else np.zeros((0, SIGNATURE_BYTES), dtype=np.uint8)

    def postings(self, fieldname: str, term: str, positions: bool = False) -> Postings:
        """A term's postings over all segments, with global document numbers (read-only arrays)."""
        return self.kept(
            ("postings", fieldname, term, positions),
            lambda: self._read_postings(fieldname, term, positions),
            lambda found: len(found.ids) >= LONG_POSTINGS,
        )

    def prefix_postings(self, fieldname: str, prefix: str, positions: bool = False) -> list[Postings]:
        """The posting lists of every term of ``fieldname`` starting with ``prefix``, with global document numbers.

        One list per term and segment, read in one ordered walk of each
        segment's term table (see :func:`read_prefix`).
        """
        return self._from_segments(lambda leaf: read_prefix(leaf, fieldname, prefix, positions))

    def _read_postings(self, fieldname: str, term: str, positions: bool) -> Postings:
        return Postings.concat(self._from_segments(lambda leaf: [read_postings(leaf, fieldname, term, positions)]))

    def _from_segments(self, read: Callable[[Any], Iterable[Postings]]) -> list[Postings]:
        """The non-empty posting lists ``read(segment)`` gives, segment by segment, with global document numbers."""
        found = []
        for leaf, offset in self.leaves:
            for postings in read(leaf):
                if len(postings.ids):
                    postings.ids = postings.ids + offset
                    found.append(postings)
        return found

    def kept(self, key: Hashable, compute: Callable[[], T], worth: Callable[[T], bool]) -> T:
        """``compute()``, kept for the next call with ``key`` when ``worth`` says it is worth keeping.

        What is kept is shared by every search of this view (and its
        threads): its arrays are made read-only, so that no caller can
        change another's.
        """
        found: T | None = self._kept.get(self.generation, key)
        if found is None:
            found = compute()
            if worth(found):
                _freeze(found)
                self._kept.put(self.generation, key, found)
        return found

    def terms(self, fieldname: str) -> list[str]:
        """Every term of ``fieldname``, in order (for vocabularies over the index, such as sounds).

        Each segment's terms are listed on their own and gathered in a set:
        a merged walk takes a heap step for every term of every segment.
        (Sorted UTF-8 is sorted by code point: the order whoosh gives.)
        """
        found: set[bytes] = set()
        for leaf, _ in self.leaves:
            found.update(field_terms(leaf, fieldname))
        return [term.decode("utf-8") for term in sorted(found)]

    def stored(self, docnum: int) -> dict[str, Any]:
        """A document's stored values (see :func:`~searchengine.store.segments.stored_fields`)."""
        if not 0 <= docnum < self.size:
            raise IndexError(f"document {docnum} is not in this index of {self.size}")
        return _stored(self.leaves, self._offsets, docnum)

    def info(self, docnum: int) -> dict[str, Any]:
        """What every view of a post shows (:func:`~searchengine.store.schema.post_info`); see :data:`INFOS_KEPT`."""
        if not 0 <= docnum < self.size:
            raise IndexError(f"document {docnum} is not in this index of {self.size}")
        return {name: list(value) if isinstance(value, tuple) else value for name, value in self._info(docnum)}

    @cached_property
    def paths(self) -> list[str]:
        """Every document's path, by document number (read once, on first use)."""
        column = self.reader.column_reader(STATE) if self.size else []
        return [PostState.path_of(raw) if raw else "" for raw in column]

    def docnum_of(self, path: str) -> int | None:
        """The live document indexed under ``path``, if any."""
        found = self.postings(PATH, path).ids
        live = found[self.live[found]]
        return int(live[-1]) if len(live) else None

    def close(self) -> None:
        """Close the segment files (a view replaced by a newer generation)."""
        self.reader.close()


def _arrays(value: Any) -> list[np.ndarray]:
    """The numpy arrays a kept value holds: itself, or those of a tuple's parts or a dataclass's fields."""
    if isinstance(value, np.ndarray):
        return [value]
    if is_dataclass(value):
        parts = [getattr(value, field.name) for field in fields(value)]
    elif isinstance(value, tuple):
        parts = list(value)
    else:
        return []
    return [array for part in parts for array in _arrays(part)]


def _stored(leaves: list[tuple[Any, int]], offsets: list[int], docnum: int) -> dict[str, Any]:
    leaf, offset = leaves[bisect_right(offsets, docnum) - 1]
    return stored_fields(leaf, docnum - offset)


def _info(leaves: list[tuple[Any, int]], offsets: list[int], docnum: int) -> tuple[tuple[str, Any], ...]:
    """:func:`post_info`, its lists as tuples: what is remembered is shared, and each caller gets lists of its own."""
    info = post_info(_stored(leaves, offsets, docnum))
    return tuple((name, tuple(value) if isinstance(value, list) else value) for name, value in info.items())


def _doc_frequency(segments: tuple[Any, ...], fieldname: str, term: str) -> int:
    return sum(doc_frequency(segment, fieldname, term) for segment in segments)


def _nbytes(value: Any) -> int:
    return sum(array.nbytes for array in _arrays(value))


def _freeze(value: Any) -> None:
    for array in _arrays(value):
        array.flags.writeable = False


def _years(dates: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """The calendar year of each date in ``zone`` (0 for posts without a date).

    A year starts at midnight on 1 January, local time; the zone's UTC offset
    on that day (DST included) decides which instant that is.
    """
    years = np.zeros(len(dates), dtype=np.int32)
    dated = dates != NO_DATE
    if not dated.any():
        return years
    utc_years = dates[dated].astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    offsets = np.zeros(len(utc_years), dtype=np.int64)
    for year in np.unique(utc_years):
        # 1 January of Y and of Y+1 fall in the same season: one offset serves
        # both year boundaries a UTC year Y can straddle.
        # (Clamped to the years datetime knows: a post dated 0001-01-01 with
        # a positive offset lies in UTC year 0, and must not break the view.)
        offset = datetime(min(max(int(year), 1), 9999), 1, 1, tzinfo=zone).utcoffset()
        offsets[utc_years == year] = int(offset.total_seconds()) if offset else 0
    local = dates[dated] + offsets
    years[dated] = local.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    return years
