"""What an index holds for each post, and how a Document becomes those fields.

Per post the index keeps:

* the two token layers (see :mod:`searchengine.analysis`) of the title and
  of the body: ``title_w``/``body_w`` (words) and ``title_c``/``body_c``
  (characters), with positions and no character offsets — snippets are cut
  from the stored text at query time, so offsets would only cost space;
* exact-match keyword fields ``path``, ``category``, ``tag`` and
  ``author``, used for filters and facets;
* stored values for display: title, body text, body HTML, metadata;
* three columns: ``docinfo`` (the date in seconds since the epoch, for
  sorting, date filters and the year facet, and the exact token count of
  each layer, for BM25), read whole into arrays when an index is opened;
  ``state`` (path, content hash, mtime and size, so that an update can
  tell unchanged posts without reading them); and ``sketch``, the MinHash
  of the body that tells reprints (see :mod:`searchengine.reprints`), read
  when an index is opened to group posts into stories.

The schema holds whoosh classes only: the table of contents pickles it, and
a class of ours in it would tie every index on disk to that class's name.
The analysis settings travel beside it as JSON (see
:mod:`searchengine.store.index`). Every field's name is defined once, in
:mod:`searchengine.store.fields`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from whoosh import analysis, columns, fields

from searchengine.analysis import Analyzer, char_codes
from searchengine.normalize import normalize
from searchengine.reprints import NO_SIGNATURE, SIGNATURE_BYTES, signature
from searchengine.store.fields import (
    AUTHOR,
    BODY,
    BODY_CHARS,
    BODY_WORDS,
    CATEGORY,
    DOCINFO,
    HASH,
    HTML,
    IMAGES,
    KEYWORD_FIELDS,
    LAYERS,
    PATH,
    PUBLISHED,
    SKETCH,
    SOURCE,
    STATE,
    TAG,
    TITLE,
    TITLE_CHARS,
    TITLE_WORDS,
)
from searchengine.store.inversion import TermCodes
from searchengine.structure import brief_items, letter_count

if TYPE_CHECKING:
    from searchengine.documents import Document

__all__ = [
    "NO_DATE",
    "DOCINFO_FIELDS",
    "LENGTH_FIELDS",
    "DOCINFO_STRUCT",
    "DOCINFO_DEFAULT",
    "build_schema",
    "schema_signature",
    "DocumentFields",
    "document_fields",
    "PostState",
    "post_info",
]

#: The date of a post without a date.
NO_DATE = -(2**63)

#: ``docinfo`` column layout: date, the length of each layer (in tokens),
#: then what the ranking reads of the post's layout (see
#: :mod:`searchengine.structure`): the title's letters and the number of
#: brief items in the body.
LENGTH_FIELDS = (TITLE_WORDS, TITLE_CHARS, BODY_WORDS, BODY_CHARS)
DOCINFO_FIELDS = ("date", *LENGTH_FIELDS, "title_letters", "brief_items")
DOCINFO_STRUCT = "!qIIIIHH"
DOCINFO_DEFAULT = (NO_DATE, 0, 0, 0, 0, 0, 0)


def _layer() -> fields.TEXT:
    """A token layer: positions, never stored.

    Our tokens are written by :class:`~searchengine.store.segments.SegmentBuilder`,
    so the analyzer here is never run; it is whoosh's own, so that the pickled
    schema names no class of ours.
    """
    return fields.TEXT(analyzer=analysis.SpaceSeparatedTokenizer(), phrase=True, stored=False)


def build_schema() -> fields.Schema:
    """The whoosh schema of every index this version writes."""
    return fields.Schema(
        **{
            PATH: fields.ID(stored=True, unique=True),
            TITLE: fields.STORED(),
            BODY: fields.STORED(),
            HTML: fields.STORED(),
            **{name: fields.ID(stored=True) for name in KEYWORD_FIELDS},
            PUBLISHED: fields.STORED(),
            IMAGES: fields.STORED(),
            SOURCE: fields.STORED(),
            HASH: fields.STORED(),
            DOCINFO: fields.COLUMN(columns.StructColumn(DOCINFO_STRUCT, DOCINFO_DEFAULT)),
            STATE: fields.COLUMN(columns.VarBytesColumn()),
            SKETCH: fields.COLUMN(columns.FixedBytesColumn(SIGNATURE_BYTES, NO_SIGNATURE)),
            **{name: _layer() for name in LAYERS},
        }
    )


def schema_signature(schema: fields.Schema) -> list[tuple[str, ...]]:
    """Names and kinds of a schema's fields, to tell whether code can read an index.

    (whoosh compares columns by identity, so schemas cannot be compared
    with ``==``.)
    """

    def kind(obj: object) -> str:
        return type(obj).__qualname__ if obj is not None else "-"

    def layout(column: object) -> str:
        """A fixed-width column's layout: its struct, or its width."""
        return str(getattr(column, "_spec", None) or getattr(column, "_fixedlen", ""))

    return [
        (name, kind(field), kind(field.format), kind(field.column_type), layout(field.column_type))
        for name, field in schema.items()
    ]


class PostState(NamedTuple):
    """What an update compares to tell whether a post changed on disk.

    A named tuple, not a frozen dataclass: an update of an unchanged archive
    makes one per post, and a tuple is made several times faster.
    """

    path: str
    content_hash: str
    mtime_ns: int
    size: int

    def encode(self) -> bytes:
        return f"{self.path}\t{self.content_hash}\t{self.mtime_ns}\t{self.size}".encode()

    @classmethod
    def decode(cls, raw: bytes) -> PostState:
        path, content_hash, mtime_ns, size = raw.decode("utf-8").rsplit("\t", 3)
        return cls(path, content_hash, int(mtime_ns), int(size))

    @classmethod
    def of_file(cls, path: str, stat: os.stat_result, content_hash: str = "") -> PostState:
        return cls(path, content_hash, stat.st_mtime_ns, stat.st_size)

    @staticmethod
    def path_of(raw: bytes) -> str:
        """The path an encoded state records, without decoding the rest."""
        return raw.rsplit(b"\t", 3)[0].decode("utf-8")

    @staticmethod
    def records_stat(raw: bytes, stat: os.stat_result) -> bool:
        """Whether an encoded state records ``stat``'s modification time and size (its last two fields).

        Compared without decoding: an update of an unchanged archive asks
        this of every post, and decoding a million states took 8 s of it.
        """
        return raw.endswith(f"\t{stat.st_mtime_ns}\t{stat.st_size}".encode())


@dataclass
class DocumentFields:
    """One post as :class:`searchengine.segments.SegmentBuilder` takes it."""

    stored: dict[str, Any]
    positional: dict[str, Any]
    keywords: dict[str, Any]
    columns: dict[str, Any]


def document_fields(doc: Document, analyzer: Analyzer, state: PostState) -> DocumentFields:
    """Analyse a post into its stored values, token layers, keywords and columns."""
    title, body = normalize(doc.title), normalize(doc.body)
    layers: dict[str, list[tuple[str, int]] | TermCodes] = {
        TITLE_WORDS: analyzer.word_tokens(title),
        TITLE_CHARS: char_codes(title),
        BODY_WORDS: analyzer.word_tokens(body),
        BODY_CHARS: char_codes(body),
    }
    date = int(doc.date.timestamp()) if doc.date else NO_DATE
    return DocumentFields(
        stored={
            PATH: doc.id,
            TITLE: doc.title,
            BODY: doc.body,
            HTML: doc.html,
            CATEGORY: list(doc.categories),
            TAG: list(doc.tags),
            AUTHOR: doc.author,
            PUBLISHED: doc.date.isoformat() if doc.date else None,
            IMAGES: list(doc.images),
            SOURCE: doc.source,
            HASH: doc.content_hash,
        },
        positional=layers,
        keywords={
            PATH: [doc.id],
            CATEGORY: doc.categories,
            TAG: doc.tags,
            AUTHOR: [doc.author] if doc.author else [],
        },
        columns={
            DOCINFO: (
                date,
                *(len(layers[name]) for name in LENGTH_FIELDS),
                letter_count(title),
                brief_items(body),
            ),
            STATE: state.encode(),
            SKETCH: signature(body),
        },
    )


def post_info(stored: dict[str, Any]) -> dict[str, Any]:
    """What every view of a post shows (:class:`~searchengine.results.PostInfo`'s
    fields) from a document's stored values."""
    return {
        "path": stored[PATH],
        "title": stored[TITLE],
        "date": stored.get(PUBLISHED),
        "categories": list(stored.get(CATEGORY) or []),
        "tags": list(stored.get(TAG) or []),
        "author": stored.get(AUTHOR) or "",
    }
