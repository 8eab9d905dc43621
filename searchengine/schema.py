"""What an index holds for each post, and how a Document becomes those fields.

Per post the index keeps:

* the two token layers (see :mod:`searchengine.analysis`) of the title and
  of the body: ``title_w``/``body_w`` (words) and ``title_c``/``body_c``
  (characters), with positions and no character offsets — snippets are cut
  from the stored text at query time, so offsets would only cost space;
* exact-match keyword fields ``path``, ``category``, ``tag`` and
  ``author``, used for filters and facets;
* stored values for display: title, body text, body HTML, metadata;
* two columns: ``docinfo`` (the date in seconds since the epoch, for
  sorting, date filters and the year facet, and the exact token count of
  each layer, for BM25), read whole into arrays when an index is opened;
  and ``state`` (path, content hash, mtime and size, so that an update can
  tell unchanged posts without reading them).

The analysis settings live inside the schema (on the layer analyzers), so an
index always carries the settings its queries must use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from whoosh import columns, fields

from searchengine.analysis import AnalysisSettings, Analyzer, CharTokenizer, WordTokenizer, char_tokens
from searchengine.normalize import normalize
from searchengine.segments import PackedPositions

if TYPE_CHECKING:
    from searchengine.documents import Document

__all__ = [
    "TITLE_WORDS",
    "TITLE_CHARS",
    "BODY_WORDS",
    "BODY_CHARS",
    "NO_DATE",
    "DOCINFO_FIELDS",
    "build_schema",
    "settings_of",
    "schema_signature",
    "DocumentFields",
    "document_fields",
    "PostState",
]

TITLE_WORDS, TITLE_CHARS, BODY_WORDS, BODY_CHARS = "title_w", "title_c", "body_w", "body_c"

#: The date of a post without a date.
NO_DATE = -(2**63)

#: ``docinfo`` column layout: date, then the length of each layer.
DOCINFO_FIELDS = ("date", TITLE_WORDS, TITLE_CHARS, BODY_WORDS, BODY_CHARS)
DOCINFO_STRUCT = "!qIIII"
DOCINFO_DEFAULT = (NO_DATE, 0, 0, 0, 0)


class LayerField(fields.TEXT):
    """A token layer: positions in our packed format, never stored."""

    def __init__(self, tokenizer: CharTokenizer | WordTokenizer) -> None:
        super().__init__(analyzer=tokenizer, phrase=True, stored=False)
        self.format = PackedPositions(field_boost=1.0)


def build_schema(settings: AnalysisSettings) -> fields.Schema:
    """The whoosh schema of an index analysed with ``settings``."""
    words, chars = WordTokenizer(settings), CharTokenizer(settings)
    return fields.Schema(
        path=fields.ID(stored=True, unique=True),
        title=fields.STORED(),
        body=fields.STORED(),
        html=fields.STORED(),
        category=fields.ID(stored=True),
        tag=fields.ID(stored=True),
        author=fields.ID(stored=True),
        published=fields.STORED(),
        images=fields.STORED(),
        source=fields.STORED(),
        hash=fields.STORED(),
        docinfo=fields.COLUMN(columns.StructColumn(DOCINFO_STRUCT, DOCINFO_DEFAULT)),
        state=fields.COLUMN(columns.VarBytesColumn()),
        **{
            TITLE_WORDS: LayerField(words),
            TITLE_CHARS: LayerField(chars),
            BODY_WORDS: LayerField(words),
            BODY_CHARS: LayerField(chars),
        },
    )


def schema_signature(schema: fields.Schema) -> list[tuple[str, ...]]:
    """Names and kinds of a schema's fields, to tell whether code can read an index.

    (whoosh compares columns by identity, so schemas cannot be compared
    with ``==``.)
    """
    def kind(obj: object) -> str:
        return type(obj).__qualname__ if obj is not None else "-"

    return [
        (name, kind(field), kind(field.format), kind(field.column_type), str(getattr(field.column_type, "_spec", "")))
        for name, field in schema.items()
    ]


def settings_of(schema: fields.Schema) -> AnalysisSettings:
    """The analysis settings recorded in an index's schema."""
    return schema[BODY_WORDS].analyzer.settings


@dataclass(frozen=True)
class PostState:
    """What an update compares to tell whether a post changed on disk."""

    path: str
    content_hash: str
    mtime_ns: int
    size: int

    def encode(self) -> bytes:
        return f"{self.path}\t{self.content_hash}\t{self.mtime_ns}\t{self.size}".encode("utf-8")

    @classmethod
    def decode(cls, raw: bytes) -> "PostState":
        path, content_hash, mtime_ns, size = raw.decode("utf-8").rsplit("\t", 3)
        return cls(path, content_hash, int(mtime_ns), int(size))

    @classmethod
    def of_file(cls, path: str, stat: os.stat_result, content_hash: str = "") -> "PostState":
        return cls(path, content_hash, stat.st_mtime_ns, stat.st_size)


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
    layers = {
        TITLE_WORDS: analyzer.word_tokens(title),
        TITLE_CHARS: char_tokens(title),
        BODY_WORDS: analyzer.word_tokens(body),
        BODY_CHARS: char_tokens(body),
    }
    date = int(doc.date.timestamp()) if doc.date else NO_DATE
    return DocumentFields(
        stored={
            "path": doc.id,
            "title": doc.title,
            "body": doc.body,
            "html": doc.html,
            "category": list(doc.categories),
            "tag": list(doc.tags),
            "author": doc.author,
            "published": doc.date.isoformat() if doc.date else None,
            "images": list(doc.images),
            "source": doc.source,
            "hash": doc.content_hash,
        },
        positional=layers,
        keywords={
            "path": [doc.id],
            "category": doc.categories,
            "tag": doc.tags,
            "author": [doc.author] if doc.author else [],
        },
        columns={
            "docinfo": (date, *(len(layers[name]) for name in DOCINFO_FIELDS[1:])),
            "state": state.encode(),
        },
    )
