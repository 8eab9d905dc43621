"""What the library returns: plain dataclasses, never whoosh objects.

``to_dict()`` on each gives the JSON that ``searchengine search --json`` and
the web API print; the field names are stable and documented in the README.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Highlighted", "PostInfo", "Hit", "FacetCount", "SearchResult", "Post", "IndexStats"]


@dataclass(frozen=True)
class Highlighted:
    """Text with its matches: as HTML (escaped, matches in ``<mark>``) and as spans."""

    text: str
    html: str
    spans: list[tuple[int, int]]


@dataclass(frozen=True)
class PostInfo:
    """What every view of a post carries: where it is and what it is."""

    path: str
    title: str
    date: str | None  # ISO 8601, with the offset the post was written with
    categories: list[str]
    tags: list[str]
    author: str

    @staticmethod
    def fields_of(stored: dict[str, Any]) -> dict[str, Any]:
        """These fields from an index's stored values."""
        return {
            "path": stored["path"],
            "title": stored["title"],
            "date": stored.get("published"),
            "categories": list(stored.get("category") or []),
            "tags": list(stored.get("tag") or []),
            "author": stored.get("author") or "",
        }


@dataclass(frozen=True)
class Hit(PostInfo):
    """One search result."""

    score: float
    title_highlight: Highlighted
    snippet: Highlighted

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("title_highlight", "snippet"):
            data[key]["spans"] = [list(span) for span in data[key]["spans"]]
        return data


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass
class SearchResult:
    """A page of results for a query, with facets over all matches."""

    query: str
    total: int
    page: int
    limit: int
    sort: str
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return -(-self.total // self.limit) if self.total else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "limit": self.limit,
            "sort": self.sort,
            "took_ms": round(self.took_ms, 2),
            "hints": list(self.hints),
            "facets": {name: [asdict(c) for c in counts] for name, counts in self.facets.items()},
            "hits": [hit.to_dict() for hit in self.hits],
        }


@dataclass(frozen=True)
class Post(PostInfo):
    """One indexed post, whole. ``html`` is the body as written: sanitize before display."""

    images: list[str]
    body: str
    html: str
    source: str
    content_hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IndexStats:
    """What an index holds."""

    index_dir: str
    documents: int
    segments: int
    generation: int
    size_bytes: int
    categories: int
    authors: int
    tags: int
    first_date: str | None
    last_date: str | None
    analysis: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
