"""A segment's tokens turned into posting lists, in memory that does not grow with the segment.

Tokens arrive document by document; a segment's posting lists are written
term by term, in term order. :class:`TokenLayer` keeps one field's tokens
as flat arrays. When the segment's share of memory is full, every layer
sorts what it holds into a *run* (its terms in order, each with its
postings) and appends it to the segment's :class:`Scratch` file; writing
the segment merges the runs a few thousand terms at a time. Documents are
numbered in arrival order, so a term's postings in a later run all follow
its postings in an earlier one: merging runs is concatenating each term's
postings, and the segment is byte for byte the one a single run makes.

Spilling is what lets one worker write one large segment however many posts
it gets: a million-post archive in a few segments instead of dozens, which
is what a query pays for (each segment is a lookup and a decode per term).

Terms of up to three characters can also arrive as integers
(:class:`TermCodes`, one 64-bit code per token, held by a
:class:`CodedLayer`): the character layer's bigrams, made by numpy for a
whole post at once. Numbering tokens through a dict was, at a million posts,
about a microsecond a token (a few cache misses in a dict of a million
terms); codes sort as their terms do, so a run is sorted by one stable
argsort of its codes, and numbered on the way.
"""

from __future__ import annotations

import heapq
import os
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from operator import itemgetter
from typing import NamedTuple, Protocol

import numpy as np

__all__ = ["CODE_BITS", "CodedLayer", "Scratch", "TermCodes", "TermPostings", "TokenLayer", "code_term", "term_code"]

_UINT = "I"
assert array(_UINT).itemsize == 4
#: Tokens keyed per numpy call while a run is sorted (bounds the temporary index array).
_KEY_CHUNK = 1 << 20
#: Terms whose sizes are read back from a run at a time during a merge.
_TERMS_PER_STEP = 4096
#: What a merge holds of all its runs at once: each run's step of decoded
#: postings and the read buffers of its sections. A fixed bound per run
#: (1 MB of postings and 256 KB a section) came to about 250 MB a worker
#: when a million-post build merged 60 runs.
_MERGE_BYTES = 1 << 25
#: Bytes of postings read back from a run at a time, at most and at least (a larger term is read alone).
_STEP_BYTES = 1 << 20
_MIN_STEP_BYTES = 1 << 16
#: Bytes read from a scratch file at a time, per section of a run, at most and at least.
_READ_SIZE = 1 << 18
_MIN_READ_SIZE = 1 << 13
#: What one distinct term costs while a layer holds it: the string, its dict
#: entry and its number (measured: 140-180 bytes for the words and character
#: pairs of news posts).
_BYTES_PER_TERM = 160
#: Extra bytes per token while a layer sorts its run: the 64-bit sort key and
#: the reordered copies of its arrays.
_SORT_BYTES_PER_TOKEN = 16

#: One term's postings: the term, its documents (ascending), its count in
#: each, and, for a positional layer, the positions, document by document.
TermPostings = tuple[str, array, array, "array | None"]


class _Stream(Protocol):
    def read(self, size: int) -> bytes | memoryview: ...


class _BytesStream:
    """A run section still in memory, read forward."""

    def __init__(self, values: np.ndarray) -> None:
        self._view = np.ascontiguousarray(values).data.cast("B")
        self._offset = 0

    def read(self, size: int) -> memoryview:
        start, self._offset = self._offset, self._offset + size
        return self._view[start : self._offset]


class _FileStream:
    """A run section in the scratch file, read forward through a small buffer."""

    def __init__(self, fd: int, start: int, length: int, read_size: int) -> None:
        self._fd, self._next, self._end = fd, start, start + length
        self._read_size = read_size
        self._buffer = b""
        self._offset = 0

    def read(self, size: int) -> bytes | memoryview:
        if self._offset + size > len(self._buffer):
            rest = self._buffer[self._offset :]
            wanted = min(max(size - len(rest), self._read_size), self._end - self._next)
            self._buffer = rest + os.pread(self._fd, wanted, self._next)
            self._next += wanted
            self._offset = 0
        start, self._offset = self._offset, self._offset + size
        return memoryview(self._buffer)[start : self._offset]


class Scratch:
    """The scratch file a segment's spilled runs go to; removed by :meth:`close`.

    It lives beside the segment's files and is named like them, so a build
    killed mid-way leaves nothing the next build's cleaning misses.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._size = 0

    def append(self, values: np.ndarray) -> tuple[int, int]:
        """Write ``values``' bytes at the end; return where they are (offset, length)."""
        data = np.ascontiguousarray(values).data.cast("B")
        start = self._size
        written = 0
        while written < len(data):
            written += os.pwrite(self._fd, data[written:], start + written)
        self._size += len(data)
        return start, len(data)

    def stream(self, where: tuple[int, int], read_size: int = _READ_SIZE) -> _FileStream:
        return _FileStream(self._fd, *where, read_size)

    def close(self) -> None:
        """Close and remove the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


_SECTIONS = ("term_sizes", "term_bytes", "run_counts", "docs", "counts", "token_counts", "positions")


class _SortedTokens(NamedTuple):
    """A layer's held tokens sorted for a run: its distinct terms' UTF-8 (sizes and bytes, in
    term order), then, for each token in sorted order, where it arrived and its term's rank."""

    terms: int
    term_sizes: np.ndarray
    term_bytes: np.ndarray
    order: np.ndarray
    ranks: np.ndarray


@dataclass
class _Run:
    """One sorted run of a layer: per section, its values (in memory) or where they are (spilled)."""

    terms: int
    positional: bool
    arrays: dict[str, np.ndarray] | None = None
    extents: dict[str, tuple[int, int]] | None = None

    def spill(self, scratch: Scratch) -> None:
        assert self.arrays is not None
        self.extents = {name: scratch.append(values) for name, values in self.arrays.items()}
        self.arrays = None

    def postings(self, scratch: Scratch | None, share: int = _MERGE_BYTES) -> Iterator[TermPostings]:
        """Each term's postings, in term order, read a step at a time within ``share`` bytes.

        The merge holds a step of every run at once, so a step is bounded in
        bytes, not terms: the first few thousand terms of a run (digits,
        run starts) can be a tenth of its postings: at a million posts, about
        0.4 GB a worker across its runs. Half the share goes to the step,
        half to the sections' read buffers. A term larger than a step is
        read alone, as writing it needs it whole anyway.
        """
        step_bytes = min(max(share // 2, _MIN_STEP_BYTES), _STEP_BYTES)
        read_size = min(max(share // (2 * len(_SECTIONS)), _MIN_READ_SIZE), _READ_SIZE)
        streams: dict[str, _Stream]
        if self.arrays is not None:
            streams = {name: _BytesStream(values) for name, values in self.arrays.items()}
        else:
            assert self.extents is not None and scratch is not None
            streams = {name: scratch.stream(where, read_size) for name, where in self.extents.items()}
        left = self.terms
        while left:
            step = min(left, _TERMS_PER_STEP)
            left -= step
            sizes = _read_uints(streams["term_sizes"], step)
            blob = bytes(streams["term_bytes"].read(sum(sizes)))
            run_counts = _read_uints(streams["run_counts"], step)
            token_counts = _read_uints(streams["token_counts"], step) if self.positional else None
            ends = _cumulative_bytes(run_counts, token_counts)
            text = at = term = 0
            while term < step:
                base = ends[term - 1] if term else 0
                last = max(bisect_right(ends, base + step_bytes, lo=term), term + 1)
                runs = sum(run_counts[term:last])
                docs, counts = _read_uints(streams["docs"], runs), _read_uints(streams["counts"], runs)
                positions = None
                if token_counts is not None:
                    positions = _read_uints(streams["positions"], sum(token_counts[term:last]))
                first = token = end = 0
                for i in range(term, last):
                    text, at = at, at + sizes[i]
                    stop = first + run_counts[i]
                    if token_counts is not None:
                        token, end = end, end + token_counts[i]
                    term_positions = None if positions is None else positions[token:end]
                    yield blob[text:at].decode("utf-8"), docs[first:stop], counts[first:stop], term_positions
                    first = stop
                term = last


def _cumulative_bytes(run_counts: array, token_counts: array | None) -> array:
    """What the postings of a step's terms take (documents and counts, and positions), summed from its first.

    An array, not a list: a merge keeps one per run, and 4,096 Python ints are 150 KB.
    """
    if token_counts is None:
        return array("q", accumulate(8 * runs for runs in run_counts))
    return array("q", accumulate(8 * runs + 4 * tokens for runs, tokens in zip(run_counts, token_counts, strict=True)))


def _read_uints(stream: _Stream, count: int) -> array:
    values = array(_UINT)
    values.frombytes(stream.read(4 * count))
    return values


#: Bits of a code per character: every Unicode code point fits.
CODE_BITS = 21
_CODE_MASK = (1 << CODE_BITS) - 1
#: Characters a code holds.
_CODE_CHARS = 3
#: Extra bytes per token of a coded layer while its run is sorted: the
#: argsort's order, the sorted copy of the codes, the ranks and the
#: reordered copies of documents and positions.
_CODE_SORT_BYTES_PER_TOKEN = 24


def term_code(term: str) -> int:
    """A term of one to three characters as an integer: each character's code
    point in :data:`CODE_BITS` bits, the first highest, a missing one 0.

    Codes sort as their terms do (a term before its extensions: ``中`` before
    ``中国``), as no term holds U+0000.
    """
    if not 0 < len(term) <= _CODE_CHARS or "\0" in term:
        raise ValueError(f"a term code holds 1 to {_CODE_CHARS} characters other than U+0000, not {term!r}")
    code = 0
    for i in range(_CODE_CHARS):
        code = (code << CODE_BITS) | (ord(term[i]) if i < len(term) else 0)
    return code


def code_term(code: int) -> str:
    """The term of :func:`term_code`."""
    points = [(code >> (CODE_BITS * (_CODE_CHARS - 1 - i))) & _CODE_MASK for i in range(_CODE_CHARS)]
    return "".join(chr(point) for point in points if point)


@dataclass
class TermCodes:
    """One document's tokens of a layer as codes (:func:`term_code`) and positions.

    The tokens of each term stand in position order; the order between
    terms is free. Iterating gives ``(term, position)`` pairs, as a token
    list does.
    """

    codes: np.ndarray  # uint64
    positions: np.ndarray  # uint32

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return zip(map(code_term, self.codes.tolist()), self.positions.tolist(), strict=True)


class TokenLayer:
    """One field's postings while a segment is built: every token, in arrival order.

    A term gets a number when first seen; each document appends its tokens'
    term numbers (and, for a positional layer, positions) to flat arrays:
    per term, a list of growing arrays took about 440 bytes and a branch per
    token, and most of a segment's terms occur once. :meth:`spill` sorts
    what the layer holds into a run on disk; :meth:`postings` merges the
    runs. A keyword layer (``positional=False``) takes each document's terms
    without positions and counts each once.
    """

    def __init__(self, positional: bool = True) -> None:
        self.positional = positional
        self.numbers: dict[str, int] = {}
        self.terms = array(_UINT)
        self.positions = array(_UINT)
        self.docs = array(_UINT)  # the documents with tokens held now, in order
        self.lengths = array(_UINT)  # tokens per document, for the whole segment (0: none)
        self._runs: list[_Run] = []

    def add(self, docnum: int, tokens: list[tuple[str, int]]) -> None:
        """Append one document's ``(term, position)`` tokens, in position order (a positional layer)."""
        number = self.numbers.setdefault
        numbers = self.numbers
        if self._start(docnum, len(tokens)):
            self.terms.extend([number(term, len(numbers)) for term, _ in tokens])
            self.positions.extend([position for _, position in tokens])

    def add_terms(self, docnum: int, terms: Iterable[str]) -> None:
        """Append one document's keyword terms, each once (a keyword layer)."""
        number = self.numbers.setdefault
        numbers = self.numbers
        unique = dict.fromkeys(terms)
        if self._start(docnum, len(unique)):
            self.terms.extend([number(term, len(numbers)) for term in unique])

    def _start(self, docnum: int, tokens: int) -> bool:
        """Record that ``docnum`` has ``tokens`` tokens here; whether it has any."""
        lengths = self.lengths
        lengths.extend([0] * (docnum + 1 - len(lengths)))
        lengths[docnum] = tokens
        if tokens:
            self.docs.append(docnum)
        return tokens > 0

    def held_bytes(self) -> int:
        """About what the layer holds now, and what sorting it would add."""
        tokens = len(self.terms)
        return (
            (4 + _SORT_BYTES_PER_TOKEN) * tokens
            + 4 * (len(self.positions) + len(self.docs))
            + _BYTES_PER_TERM * len(self.numbers)
        )

    def spill(self, scratch: Scratch) -> None:
        """Sort what the layer holds into a run in ``scratch``, and let it go."""
        if self._holds():
            run = self._sorted_run()
            run.spill(scratch)
            self._runs.append(run)

    def postings(self, scratch: Scratch | None, merge_bytes: int = _MERGE_BYTES) -> Iterator[TermPostings]:
        """Every term's postings in term order, across the spilled runs and what is held; the layer is empty after.

        A merge of several runs holds about ``merge_bytes`` of them at once,
        however many there are.
        """
        runs = self._runs
        if self._holds():
            runs.append(self._sorted_run())
        self._runs = []
        if len(runs) == 1:
            yield from runs[0].postings(scratch)
            return
        share = merge_bytes // max(len(runs), 1)
        pending: list | None = None
        steps = (run.postings(scratch, share) for run in runs)
        for term, docs, counts, positions in heapq.merge(*steps, key=itemgetter(0)):
            if pending is not None and pending[0] == term:  # the same term in a later run: later documents
                pending[1] += docs
                pending[2] += counts
                if positions is not None:
                    pending[3] += positions
                continue
            if pending is not None:
                yield pending[0], pending[1], pending[2], pending[3]
            pending = [term, docs, counts, positions]
        if pending is not None:
            yield pending[0], pending[1], pending[2], pending[3]

    def lengths_array(self, doc_count: int) -> array:
        """Tokens per document of the whole segment, as the writer takes them."""
        return self.lengths + array(_UINT, bytes(4 * (doc_count - len(self.lengths))))

    def _holds(self) -> bool:
        return bool(self.numbers)

    def _sorted_tokens(self) -> _SortedTokens:
        """The held tokens in term order (then arrival); the layer forgets its terms.

        The sort is done in place on one key per token (its term's rank,
        then its own index: all distinct), which bounds a run's memory.
        """
        names = sorted(self.numbers)
        rank = np.empty(len(names), dtype=np.uint64)
        rank[np.fromiter((self.numbers[name] for name in names), dtype=np.int64, count=len(names))] = np.arange(
            len(names), dtype=np.uint64
        )
        self.numbers = {}
        numbers = np.frombuffer(self.terms, dtype=np.uint32)
        self.terms = array(_UINT)
        count = len(numbers)
        keys = np.empty(count, dtype=np.uint64)
        for first in range(0, count, _KEY_CHUNK):
            last = min(first + _KEY_CHUNK, count)
            keys[first:last] = rank[numbers[first:last]] << np.uint64(32)
            keys[first:last] |= np.arange(first, last, dtype=np.uint64)
        del numbers, rank
        keys.sort()
        order = keys.astype(np.uint32)  # the low half: where each token was
        keys >>= np.uint64(32)
        ranks = keys.astype(np.uint32)
        del keys
        encoded = [name.encode("utf-8") for name in names]
        sizes = np.fromiter(map(len, encoded), dtype=np.uint32, count=len(encoded))
        return _SortedTokens(len(names), sizes, np.frombuffer(b"".join(encoded), dtype=np.uint8), order, ranks)

    def _sorted_run(self) -> _Run:
        """What the layer holds, sorted by term, then by arrival; the flat arrays are emptied.

        Memory bounds a run, so each flat array is dropped as soon as its
        sorted copy exists.
        """
        terms, term_sizes, term_bytes, order, ranks = self._sorted_tokens()
        count = len(order)
        held_docs = np.frombuffer(self.docs, dtype=np.uint32)
        lengths = np.frombuffer(self.lengths, dtype=np.uint32)
        docs = np.repeat(held_docs, lengths[held_docs])[order]
        self.docs = array(_UINT)
        arrays: dict[str, np.ndarray] = {}
        if self.positional:
            arrays["positions"] = np.frombuffer(self.positions, dtype=np.uint32)[order]
            self.positions = array(_UINT)
        del order, held_docs
        # A run of postings: one term's tokens in one document.
        new_run = np.ones(count, dtype=bool)
        new_run[1:] = (ranks[1:] != ranks[:-1]) | (docs[1:] != docs[:-1])
        starts = np.flatnonzero(new_run)
        del new_run
        term_runs = np.searchsorted(ranks[starts], np.arange(terms + 1))
        del ranks
        arrays["docs"] = docs[starts]
        del docs
        arrays["counts"] = np.diff(starts, append=count).astype(np.uint32)
        arrays["run_counts"] = np.diff(term_runs).astype(np.uint32)
        if self.positional:
            arrays["token_counts"] = np.diff(np.append(starts, count)[term_runs]).astype(np.uint32)
        del starts, term_runs
        arrays["term_sizes"], arrays["term_bytes"] = term_sizes, term_bytes
        return _Run(terms, self.positional, {name: arrays[name] for name in _SECTIONS if name in arrays})


class CodedLayer(TokenLayer):
    """A positional layer whose tokens arrive as :class:`TermCodes` (terms of up to three characters).

    A document's codes and positions are appended to flat arrays as they
    come, in one call each; terms are numbered when a run is sorted.
    """

    def __init__(self) -> None:
        super().__init__(positional=True)
        self.codes = array("Q")
        assert self.codes.itemsize == 8

    def add(self, docnum: int, tokens: list[tuple[str, int]]) -> None:
        raise TypeError("a coded layer takes its tokens as TermCodes (add_codes)")

    def add_codes(self, docnum: int, tokens: TermCodes) -> None:
        """Append one document's tokens (what :meth:`TokenLayer.add` is for the other layers)."""
        if self._start(docnum, len(tokens)):
            self.codes.frombytes(np.ascontiguousarray(tokens.codes, dtype=np.uint64).tobytes())
            self.positions.frombytes(np.ascontiguousarray(tokens.positions, dtype=np.uint32).tobytes())

    def held_bytes(self) -> int:
        tokens = len(self.codes)
        return (8 + _CODE_SORT_BYTES_PER_TOKEN) * tokens + 4 * (len(self.positions) + len(self.docs))

    def _holds(self) -> bool:
        return bool(self.codes)

    def _sorted_tokens(self) -> _SortedTokens:
        """Codes sort as their terms do, so one stable argsort of the codes orders the tokens,
        and the terms' UTF-8 comes from the distinct codes without a string each."""
        codes = np.frombuffer(self.codes, dtype=np.uint64)
        self.codes = array("Q")
        order = np.argsort(codes, kind="stable").astype(np.uint32)
        ordered = codes[order]
        del codes
        new_term = np.empty(len(ordered), dtype=bool)
        new_term[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new_term[1:])
        ranks = (np.cumsum(new_term, dtype=np.uint32) - np.uint32(1)).astype(np.uint32)
        distinct = ordered[new_term]
        del ordered, new_term
        shifts = np.array([CODE_BITS * (_CODE_CHARS - 1 - i) for i in range(_CODE_CHARS)], dtype=np.uint64)
        points = ((distinct[:, None] >> shifts) & np.uint64(_CODE_MASK)).astype("<u4")
        widths = (points > 0).astype(np.uint32) + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
        text = points.tobytes().decode("utf-32-le").replace("\0", "")  # a missing character is 0
        term_bytes = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        return _SortedTokens(len(distinct), widths.sum(axis=1, dtype=np.uint32), term_bytes, order, ranks)
