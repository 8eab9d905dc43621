"""Whoosh segments written and read a whole posting list at a time.

Whoosh's own writer handles one posting at a time in pure Python (an
analyzer token, a pool entry, a sorted run, a block append): for our two
token layers over 75,000 posts that is most of the build time, and whoosh's
matchers likewise score one posting at a time at query time. This module
keeps whoosh's on-disk format — segments, TOC, term table, stored fields,
columns, block layout — and changes only how postings move in and out:

* :class:`SegmentBuilder` inverts documents in memory and writes each term's
  posting list in one call;
* a block keeps its positions as one packed array (:class:`PackedValues`)
  instead of a pickled list per posting;
* :func:`read_postings` returns a term's whole posting list as numpy arrays.

What whoosh itself does with these segments (open them, merge them, read
term tables, stored fields and columns) keeps working: the codec is a
subclass of whoosh's W3 codec and the blocks are what its matcher expects.
Whoosh's own queries are not used: its Positions format cannot decode our
packed positions.
Part of the storage boundary (:mod:`searchengine.store`), the only code that
touches whoosh; whoosh is pinned. :class:`PackedValues` is pickled into every
postings block under its module path, which makes that path part of the
on-disk format: ``tests/test_store.py`` pins it.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import struct
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
from whoosh.codec.whoosh3 import (
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3FieldWriter,
    W3PerDocWriter,
    W3PostingsWriter,
    W3TermInfo,
)
from whoosh.fields import Schema
from whoosh.filedb.filestore import Storage
from whoosh.reading import SegmentReader
from whoosh.system import _INT_SIZE, pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.util.numlists import delta_encode

from searchengine.store.inversion import CodedLayer, Scratch, TermCodes, TokenLayer
from searchengine.store.term_table import CompactTermTable

__all__ = [
    "PackedValues",
    "SearchCodec",
    "SegmentBuilder",
    "Postings",
    "read_postings",
    "read_prefix",
    "column_array",
    "column_values",
]

_PICKLE = pickle.HIGHEST_PROTOCOL
_MIN_COMPRESS = 96
#: Postings from which a block's deltas are taken by numpy.
_NUMPY_DELTAS = 32
_UINT = "I"
assert array(_UINT).itemsize == 4


class PackedValues:
    """The values of one block: every posting's positions in one array.

    Whoosh's matcher reads ``values[i]`` for posting ``i``, which this class
    answers by slicing; our readers take :attr:`positions` and
    :attr:`counts` whole.
    """

    __slots__ = ("positions", "counts", "_starts")

    def __init__(self, positions: array, counts: array) -> None:
        self.positions = positions
        self.counts = counts
        self._starts: list[int] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedValues, (self.positions, self.counts))

    def __len__(self) -> int:
        return len(self.counts)

    def __getitem__(self, i: int) -> bytes:
        if self._starts is None:
            starts, total = [], 0
            for count in self.counts:
                starts.append(total)
                total += count
            self._starts = starts
        start = self._starts[i]
        return self.positions[start : start + self.counts[i]].tobytes()

    @classmethod
    def from_values(cls, values: Sequence[bytes]) -> PackedValues:
        positions = array(_UINT)
        positions.frombytes(b"".join(values))
        return cls(positions, array(_UINT, [len(v) // 4 for v in values]))


def _minify_weights(weights: array) -> Any:
    """Block weights as whoosh's reader accepts them, as small as possible.

    Our weights are term frequencies: whole numbers, stored as ``uint32``
    (whoosh would store a float each). One shared value is stored once.
    """
    if weights.typecode != _UINT:
        if not all(float(w).is_integer() for w in weights):
            return weights
        weights = array(_UINT, (int(w) for w in weights))
    first = weights[0]
    if weights.count(first) == len(weights):
        return None if first == 1 else float(first)
    return weights


class CompactTermInfo(W3TermInfo):
    """W3 term info whose inlined postings pickle compactly.

    whoosh pickles a term's inlined postings with protocol 2, which spends
    some 30 bytes on every ``bytes`` value; most terms of the character layer
    occur in one or a few posts, so this is most of the term table. The
    reader (``W3TermInfo.from_bytes``) unpickles any protocol.
    """

    _inlined: Any  # whoosh's own attribute

    def to_bytes(self) -> bytes:
        if not self.is_inlined():
            return super().to_bytes()
        inlined, self._inlined = self._inlined, ()
        head = super().to_bytes()[: self._struct.size]
        self._inlined = inlined
        return head + pickle.dumps(inlined, _PICKLE)


def _encode_block(
    ids: array, weights: array, values: PackedValues | None, level: int, lengths: tuple[int, int] | None, last: bool
) -> bytes:
    """One W3 postings block: signed length, info pickle, data pickle.

    What whoosh's reader expects, with smaller parts: ids as a delta
    ``uint32`` array, weights as integers, positions packed, and deflate only
    where it pays off (whoosh meant to skip small blocks too, but its check
    is overwritten).
    """
    data = pickle.dumps((_deltas(ids), _minify_weights(weights), values), _PICKLE)
    compression = level if len(data) > _MIN_COMPRESS else 0
    if compression:
        data = zlib.compress(data, compression)
    low, high = lengths if lengths is not None else (None, 0)
    info = pickle.dumps(
        (len(ids), ids[-1], float(max(weights)), compression, _length_byte(low), _length_byte(high)), _PICKLE
    )
    size = len(info) + len(data)
    return pack_int(-size if last else size) + info + data


def _deltas(ids: Sequence[int]) -> array:
    """whoosh's ``delta_encode`` of a block's ids (the first, then each one's gap from the one before) as ``uint32``.

    numpy for long blocks, where whoosh's generator spent a step per posting.
    """
    if len(ids) < _NUMPY_DELTAS:
        return array(_UINT, delta_encode(ids))
    values = np.asarray(ids, dtype=np.uint32)
    deltas = array(_UINT)
    deltas.frombytes(np.diff(values, prepend=np.uint32(0)).tobytes())
    return deltas


class BulkPostingsWriter(W3PostingsWriter):
    """W3 postings writer for whoosh's own per-posting path (segment merges).

    Blocks are encoded like the bulk writer's (:func:`_encode_block`), and
    whoosh's broken inlining of short posting lists is fixed.
    """

    _terminfo: Any  # whoosh's own attribute

    def _pack_values(self) -> PackedValues | None:
        values = self._values
        if not values or self._format.fixed_value_size() == 0:
            return None
        return PackedValues.from_values(values)

    def _write_block(self, last: bool = False) -> None:
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        lengths = (self._minlength, self._maxlength) if self._minlength is not None else None
        self._postfile.write(
            _encode_block(self._ids, self._weights, self._pack_values(), self._compression, lengths, last)
        )
        self._blockcount += 1
        self._new_block()

    def finish_postings(self) -> W3TermInfo:
        terminfo = self._terminfo
        if not self.written() and len(self) < self._inlinelimit:
            # whoosh calls set_inline(), which W3TermInfo lacks.
            terminfo.add_block(self)
            terminfo.set_inlined(self._ids, self._weights, _inline_values(self._values, len(self._ids)))
        else:
            if self._ids:
                self._write_block(last=True)
            terminfo.set_extent(self._startoffset, self._postfile.tell() - self._startoffset)
        self._terminfo = None
        return terminfo


def _inline_values(values: Sequence[bytes], count: int) -> list[bytes]:
    # whoosh's inlined-postings matcher answers "" (a str) when a term has no
    # values, which its own merge then rejects: store b"" for each posting.
    return [values[i] for i in range(len(values))] if values else [b""] * count


def _length_range(lengths: array, ids: array) -> tuple[int, int]:
    """Shortest and longest field length among ``ids`` (numpy only pays off for many)."""
    if len(ids) <= 32:
        found = [lengths[i] for i in ids]
        return min(found), max(found)
    selected = np.frombuffer(lengths, dtype=np.uint32)[np.frombuffer(ids, dtype=np.uint32)]
    return int(selected.min()), int(selected.max())


@functools.cache
def _length_byte(length: int | None) -> int:
    """whoosh's one-byte approximation of a field length (a bisection: cached, as a segment asks millions of times)."""
    return 0 if length is None else length_to_byte(length)


class SearchFieldWriter(W3FieldWriter):
    """W3 field writer that also writes a whole posting list per call.

    :meth:`add_term` produces exactly what whoosh's postings writer and
    ``W3TermInfo`` would (the term table row and its blocks) without the
    per-posting bookkeeping, which dominated the time to write a segment.
    """

    def __init__(self, codec: Any, storage: Any, segment: Any) -> None:  # whoosh's, with our term table
        self._codec = codec
        self._storage = storage
        self._segment = segment
        self._fieldname = self._fieldid = self._btext = self._fieldobj = self._format = None
        self._tindex = CompactTermTable(self._create_file(W3Codec.TERMS_EXT))
        self._fieldmap: dict[str, int] = {}
        self._tindex.extras["fieldmap"] = self._fieldmap
        self._postfile = self._create_file(W3Codec.POSTS_EXT)
        self._posted: int | None = None  # where the postings file ends, once asked (see _postfile_end)
        self._postwriter: Any = None
        self._infield = False
        self.is_closed = False

    def _postfile_end(self) -> int:
        """Where the postings file ends: asked of the file once, then counted (``tell`` was a few % of a write)."""
        if self._posted is None:
            self._posted = self._postfile.tell()
        return self._posted

    def start_term(self, btext: bytes) -> None:
        self._posted = None  # whoosh's per-posting path writes postings of its own
        super().start_term(btext)
        self._postwriter._terminfo = CompactTermInfo()

    def add_term(
        self,
        text: str,
        ids: array,
        counts: array,
        positions: array | None,
        lengths: array | None,
    ) -> None:
        """Write one term: sorted ``ids``, ``counts[i]`` its frequency in
        ``ids[i]`` (and how many of ``positions`` are that document's)."""
        codec = self._codec
        total = len(ids)
        low = high = None
        if lengths is not None:
            low, high = _length_range(lengths, ids)
        if total < codec._inlinelimit:
            if positions is not None:
                values = PackedValues(positions, counts)
                inline = [values[i] for i in range(total)]
            else:
                inline = [b""] * total
            tail = pickle.dumps((tuple(ids), tuple(counts), inline), _PICKLE)
            inlined = 1
        else:
            start = self._postfile_end()
            chunks = [WHOOSH3_HEADER_MAGIC]
            limit, offset = codec._blocklimit, 0
            for first in range(0, total, limit):
                block_ids, block_counts = ids[first : first + limit], counts[first : first + limit]
                values = None
                if positions is not None:
                    size = sum(block_counts)
                    values = PackedValues(positions[offset : offset + size], block_counts)
                    offset += size
                block_lengths = _length_range(lengths, block_ids) if lengths is not None else None
                last = first + limit >= total
                chunks.append(_encode_block(block_ids, block_counts, values, codec._compression, block_lengths, last))
            raw = b"".join(chunks)
            self._postfile.write(raw)
            self._posted = start + len(raw)
            tail = pack_long(start) + pack_int(len(raw))
            inlined = 0
        head = W3TermInfo._struct.pack(
            inlined,
            float(sum(counts)),
            total,
            _length_byte(low),
            _length_byte(high),
            float(max(counts)),
            ids[0],
            ids[-1],
        )
        self._tindex.add(pack_ushort(self._fieldid) + text.encode("utf-8"), head + tail)


def _decode_blocks(raw: bytes, with_positions: bool) -> Postings:
    """A term's whole posting list from the raw bytes of its W3 blocks."""
    assert raw[:4] == WHOOSH3_HEADER_MAGIC
    parts = []
    pos, end = 4, len(raw)
    view = memoryview(raw)
    while pos < end:
        blocklength = abs(int.from_bytes(raw[pos : pos + _INT_SIZE], "big", signed=True))
        pos += _INT_SIZE
        block = view[pos : pos + blocklength]
        info, info_size = _load_with_size(block)
        count, compression = info[0], info[3]
        payload = bytes(block[info_size:])
        if compression:
            payload = zlib.decompress(payload)
        ids, weights, values = pickle.loads(payload)
        part = Postings(np.cumsum(np.asarray(ids, dtype=np.int64)), _weights_array(weights, count))
        if with_positions:
            if values is None:
                part.counts = np.zeros(count, np.uint32)
            else:
                if not isinstance(values, PackedValues):
                    values = PackedValues.from_values(values)
                part.counts = np.frombuffer(values.counts, dtype=np.uint32)
                part.positions = np.frombuffer(values.positions, dtype=np.uint32)
        parts.append(part)
        pos += blocklength
    return Postings.concat(parts)


def _load_with_size(buffer: memoryview) -> tuple[Any, int]:
    stream = io.BytesIO(buffer)
    value = pickle.load(stream)
    return value, stream.tell()


def _weights_array(weights: Any, count: int) -> np.ndarray:
    if weights is None:
        return np.ones(count, dtype=np.float32)
    if isinstance(weights, float):
        return np.full(count, weights, dtype=np.float32)
    return np.asarray(weights, dtype=np.float32)


class SearchCodec(W3Codec):
    """Whoosh's W3 codec writing whole posting lists (see :func:`read_postings` for reads)."""

    def __init__(self, blocklimit: int = 256, compression: int = 3, inlinelimit: int = 4) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> BulkPostingsWriter:
        return BulkPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )

    def field_writer(self, storage: Any, segment: Any) -> SearchFieldWriter:
        return SearchFieldWriter(self, storage, segment)


@dataclass
class Postings:
    """One term's posting list in one segment, as arrays.

    ``ids`` are document numbers (ascending); ``weights`` the term
    frequencies; ``counts[i]`` of the ``positions`` belong to document
    ``ids[i]``. Positions are only read when asked for: otherwise
    ``counts`` and ``positions`` are empty.
    """

    ids: np.ndarray
    weights: np.ndarray
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))

    @classmethod
    def empty(cls) -> Postings:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, np.float32))

    @classmethod
    def concat(cls, parts: Sequence[Postings]) -> Postings:
        """One posting list of ``parts``, in their order."""
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        fields = ("ids", "weights", "counts", "positions")
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in fields))


#: A record of whoosh's term table: key length, value length; the key and the value follow.
_TERM_RECORD = struct.Struct("!ii")
#: A slot of whoosh's hashed term table: the key's hash, the position of its record.
_SLOT = struct.Struct("!Iq")


def read_postings(
    reader: SegmentReader, fieldname: str, text: str, with_positions: bool = False
) -> Postings:
    """The whole posting list of ``text`` in ``fieldname`` of one segment.

    Reads the term's bytes with positionless reads of the memory-mapped
    postings file: unlike whoosh's matchers, which seek a shared file
    object, this is safe from several threads at once (the web server's).
    Deleted documents are included: callers mask them out with one array
    operation instead of whoosh's per-posting filter.
    """
    info = _term_info(reader, fieldname, text)
    return Postings.empty() if info is None else _postings_of(reader, info, with_positions)


def doc_frequency(reader: SegmentReader, fieldname: str, text: str) -> int:
    """How many documents of one segment hold ``text`` in ``fieldname`` (deleted ones included)."""
    info = _term_info(reader, fieldname, text)
    return 0 if info is None else int(info.doc_frequency())


def _term_info(reader: SegmentReader, fieldname: str, text: str) -> W3TermInfo | None:
    """A term's info in one segment, None when the segment lacks it.

    Probes the segment's hashed term table in the mapped file as whoosh's
    ``HashReader`` does (its hash of the key, then slots from the one the
    hash names, wrapping round, until an empty one), without its layers of
    generators, a file read per slot and an exception for a missing term:
    14–22 µs a lookup there, paid for every term of a query in every
    segment (some 200 lookups a query at a million posts).
    """
    found = _field_table(reader, fieldname)
    if found is None:
        return None
    table, data, prefix = found
    key = prefix + text.encode("utf-8")
    keyhash = table.hashfn(key)
    start, slots = table.tables[keyhash & 255]
    for step in range(slots):
        slothash, position = _SLOT.unpack_from(data, start + ((keyhash >> 8) + step) % slots * _SLOT.size)
        if not position:
            return None
        if slothash == keyhash:
            key_length, value_length = _TERM_RECORD.unpack_from(data, position)
            begin = position + _TERM_RECORD.size
            if key_length == len(key) and data[begin : begin + key_length] == key:
                return W3TermInfo.from_bytes(bytes(data[begin + key_length : begin + key_length + value_length]))
    return None


def read_prefix(reader: SegmentReader, fieldname: str, prefix: str, with_positions: bool = False) -> Iterator[Postings]:
    """The posting list of every term of ``fieldname`` starting with ``prefix``, in one segment.

    One ordered walk of the segment's term table: a single character's
    hundreds of bigrams, looked up one by one, cost a hashed lookup each in
    every segment, more than decoding their postings.
    """
    start = reader._text_to_bytes(fieldname, prefix)
    for (name, term), info in reader._terms.items_from(fieldname, start):
        if name != fieldname or not term.startswith(start):
            return
        yield _postings_of(reader, info, with_positions)


def field_terms(reader: SegmentReader, fieldname: str) -> Iterator[bytes]:
    """Every term of ``fieldname`` in one segment, as UTF-8, in order.

    One loop over the records of the segment's term table, which lie in
    key order in the mapped file (a key is the field's number, then the
    term). whoosh's own walk (``lexicon``) spends several microseconds a
    term on nested generators, a read per record and a schema check, and
    a walk of many segments a heap step more: the sound table of a million
    posts, 4.8 million terms in 26 segments, took 19 s to list.
    """
    found = _field_table(reader, fieldname)
    if found is None:
        return
    table, mapped, prefix = found
    data = memoryview(mapped)  # slices without copies
    pos, end = table.closest_key_pos(prefix), table.endofdata
    while pos is not None and pos < end:
        key_length, value_length = _TERM_RECORD.unpack_from(data, pos)
        key = data[pos + _TERM_RECORD.size : pos + _TERM_RECORD.size + key_length]
        if key[: len(prefix)] != prefix:
            return
        yield bytes(key[len(prefix) :])
        pos += _TERM_RECORD.size + key_length + value_length


def _field_table(reader: SegmentReader, fieldname: str) -> tuple[Any, Any, bytes] | None:
    """One segment's term table, its bytes (as mapped), and the prefix of ``fieldname``'s keys; None without the field.

    A key of whoosh's term table is the field's number (two bytes), then
    the term in UTF-8.
    """
    terms = reader._terms
    number = terms._fieldmap.get(fieldname)
    if number is None:
        return None
    table = terms._tindex
    return table, table.dbfile._buf, pack_ushort(number)


def _postings_of(reader: SegmentReader, info: W3TermInfo, with_positions: bool) -> Postings:
    """The posting list a term's info points to (its blocks, or the postings inlined in it)."""
    if not info.is_inlined():
        offset, length = info.extent()
        # W3TermInfo.from_bytes leaves the extent length as a 1-tuple.
        length = length[0] if isinstance(length, tuple) else length
        return _decode_blocks(reader._terms._postfile.get(offset, length), with_positions)
    ids, weights, values = info.inlined_postings()
    result = Postings(np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32))
    if with_positions:
        packed = PackedValues.from_values(values)
        result.counts = np.frombuffer(packed.counts, dtype=np.uint32)
        result.positions = np.frombuffer(packed.positions, dtype=np.uint32)
    return result


_Layer = TypeVar("_Layer", bound=TokenLayer)
#: A layer of terms without positions (keywords).
_keyword_layer = functools.partial(TokenLayer, positional=False)


class SegmentBuilder:
    """Builds one whoosh segment from documents added in memory.

    ``add`` takes each document's stored values, column values and, per
    indexed field, its tokens; ``finish`` writes the segment files and
    returns the whoosh Segment object for a writer to commit. Stored values
    and columns go to disk as they come; postings are held in memory until
    they reach ``memory`` bytes (0: no limit), then spilled as sorted runs
    (see :mod:`~searchengine.store.inversion`), so a segment can hold any
    number of documents.
    """

    def __init__(self, storage: Storage, indexname: str, schema: Schema, codec: SearchCodec, memory: int = 0) -> None:
        self.storage = storage
        self.schema = schema
        self.codec = codec
        self.memory = memory
        self.segment = codec.new_segment(storage, indexname)
        self._perdoc = W3PerDocWriter(codec, storage, self.segment)
        self._layers: dict[str, TokenLayer] = {}
        self._scratch: Scratch | None = None
        self.doc_count = 0
        self.spills = 0

    def add(
        self,
        stored: Mapping[str, Any],
        positional: Mapping[str, list[tuple[str, int]] | TermCodes],
        keywords: Mapping[str, Iterable[str]],
        columns: Mapping[str, Any],
    ) -> int:
        """Add one document; return its segment-local number.

        ``positional`` maps a field to its tokens, ``(term, position)`` pairs
        in position order, or :class:`~searchengine.store.inversion.TermCodes`
        (a field's tokens always come the one way or always the other).
        ``keywords`` maps a field to terms indexed without positions.
        """
        docnum = self.doc_count
        perdoc = self._perdoc
        perdoc.start_doc(docnum)
        schema = self.schema
        for name, tokens in positional.items():
            if isinstance(tokens, TermCodes):
                self._layer(name, CodedLayer).add_codes(docnum, tokens)
            else:
                self._layer(name, TokenLayer).add(docnum, tokens)
            perdoc.add_field(name, schema[name], stored.get(name), len(tokens))
        for name, terms in keywords.items():
            self._layer(name, _keyword_layer).add_terms(docnum, terms)
        for name, value in stored.items():
            if name not in positional:
                perdoc.add_field(name, schema[name], value, 0)
        for name, value in columns.items():
            perdoc.add_column_value(name, schema[name].column_type, value)
        perdoc.finish_doc()
        self.doc_count += 1
        if self.memory and sum(layer.held_bytes() for layer in self._layers.values()) > self.memory:
            self._spill()
        return docnum

    def _layer(self, name: str, kind: Callable[[], _Layer]) -> _Layer:
        """The layer of field ``name``, made by ``kind`` when the first document arrives (every later one is alike)."""
        layer = self._layers.get(name)
        if layer is None:
            layer = self._layers[name] = kind()
        return cast(_Layer, layer)

    def _spill(self) -> None:
        """Move every layer's postings to the scratch file, as sorted runs."""
        if self._scratch is None:
            folder = getattr(self.storage, "folder", None)
            if folder is None:  # a storage without files (whoosh's RamStorage): no spilling
                self.memory = 0
                return
            self._scratch = Scratch(os.path.join(folder, self.segment.make_filename(".runs")))
        for layer in self._layers.values():
            layer.spill(self._scratch)
        self.spills += 1

    def abandon(self) -> None:
        """Close the scratch files of a segment that will never be finished (a failed build)."""
        scratch = self._perdoc._cols._temp
        if not scratch.is_closed:
            scratch.close()
        if self._scratch is not None:
            self._scratch.close()

    def finish(self) -> Any:
        """Write postings, per-document data and the compound file."""
        self._perdoc.close()
        if self._scratch is not None:
            # The merge reads a megabyte of each spilled run at a time, so what
            # is still held goes too rather than stay whole through the write,
            # however large a share of the memory it is. (At a million posts
            # the tree's memory while writing did not measurably drop: the
            # workers' heaps keep what the run had used.)
            self._spill()
        fieldwriter = self.codec.field_writer(self.storage, self.segment)
        try:
            for name in sorted(self._layers):
                layer = self._layers.pop(name)
                fieldwriter.start_field(name, self.schema[name])
                lengths = layer.lengths_array(self.doc_count) if layer.positional else None
                for term, ids, counts, positions in layer.postings(self._scratch):
                    fieldwriter.add_term(term, ids, counts, positions, lengths)
                fieldwriter.finish_field()
        finally:
            if self._scratch is not None:
                self._scratch.close()
        fieldwriter.close()
        segment = self.segment
        segment.set_doc_count(self.doc_count)
        if segment.should_assemble():
            segment.create_compound_file(self.storage)
            segment.compound = True
        return segment


def stored_fields(reader: SegmentReader, docnum: int) -> dict[str, Any]:
    """One document's stored values, from its segment's stored column.

    whoosh's ``stored_fields`` also copies the dict, keeping only the
    fields its schema still has (for fields removed from a schema, which
    ours never are): a third of the 35 µs a read took at a million posts,
    where a results page reads some 110 documents (each hit and its
    story's reprints).
    """
    return reader._perdoc.stored_fields(docnum)


def column_values(reader: SegmentReader, fieldname: str) -> list[bytes]:
    """Every document's value of one segment's variable-width bytes column, read in one slice.

    whoosh's reader looks each value up by document (two array reads and a
    file read each): reading the recorded states of a million posts that
    way was a quarter of an update with nothing to do.
    """
    column = reader.column_reader(fieldname, translate=False)
    lengths, offsets = column._lengths, column._offsets
    if not len(lengths):
        return []
    blob = column._dbfile.get(column._basepos, offsets[-1] + lengths[-1])
    return [blob[start : start + length] for start, length in zip(offsets, lengths, strict=True)]


def column_array(reader: SegmentReader, fieldname: str, dtype: np.dtype, default: bytes) -> np.ndarray:
    """A fixed-width column of one segment as a numpy record array.

    Reads the column's bytes in one slice instead of unpacking a struct per
    document; documents past the written part of the column (whoosh does not
    write trailing defaults) get ``default``.
    """
    count_all = reader.doc_count_all()
    column = reader.column_reader(fieldname, translate=False)
    written = getattr(column, "_count", 0)
    raw = column._dbfile.get(column._basepos, written * column._fixedlen) if written else b""
    found = np.frombuffer(raw, dtype=dtype)
    if written >= count_all:
        return found[:count_all]
    padding = np.frombuffer(default * (count_all - written), dtype=dtype)
    return np.concatenate([found, padding])
