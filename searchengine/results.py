"""What the library returns: plain dataclasses, never whoosh objects.

``to_dict()`` on each gives the JSON that ``searchengine search --json`` and
the web API print; the field names are stable and documented in the README.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Highlighted",
    "PostInfo",
    "Hit",
    "Explanation",
    "ClauseExplanation",
    "FacetCount",
    "TimelineBucket",
    "Hint",
    "HINT_TEXTS",
    "Expansion",
    "Suggestion",
    "SearchResult",
    "Post",
    "IndexStats",
]

#: Every hint the library gives, by code: its English text, with ``{param}``
#: slots. Front ends word them in their own language by code.
HINT_TEXTS = {
    "or_without_term": "OR needs a term on each side; it was ignored",
    "only_exclusions": "a query of only exclusions matches nothing; add a term to search for",
    "nothing_searchable": "the query has no searchable words",
    "shortened": "the query was shortened to its first {limit} characters",
    "unbalanced_quote": "an unbalanced quote was ignored",
    "not_a_date": "{field}:{value} is not a date (use 2021, 2021-10 or 2021-10-21); it was ignored",
    "not_a_value": "{field}:{value} is not a valid value for {field}; it was ignored",
    "no_match": "no post matches; try fewer words, other spellings, or no quotes or filters",
}


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


@dataclass(frozen=True)
class ClauseExplanation:
    """How one query term (or one other form of it) matched a hit.

    ``exact``: the hit holds the exact string, in ``fields`` ("title",
    "body"); ``words``: it holds the term's words (scattered or not).
    ``variant_of`` is the term as typed, for another form searched too.
    """

    text: str
    variant_of: str | None
    exact: bool
    fields: list[str]
    words: bool


@dataclass(frozen=True)
class Explanation:
    """Why a hit ranks where it does (``search(..., explain=True)``).

    Hits are ordered by ``exact_terms`` (of ``terms``) first, then by
    ``score``, the sum of ``parts``: each feature's value (``features``)
    times its weight in the ranking model. ``order`` says how ties go.
    """

    score: float
    exact_terms: int
    terms: int
    parts: dict[str, float]
    features: dict[str, float]
    clauses: list[ClauseExplanation]
    order: str

    def lines(self) -> list[str]:
        """The explanation as three short lines of text (what ``searchengine search --explain`` prints)."""
        parts = " ".join(f"{'-' if v < 0 else '+'} {name} {abs(v):.2f}" for name, v in self.parts.items())
        terms = " · ".join(_clause_line(clause) for clause in self.clauses)
        exact = f"{self.exact_terms} of {self.terms} terms exact"
        return [
            f"score {self.score:.2f} = {parts.removeprefix('+ ') or '0'}  ({exact})",
            terms,
            f"order: {self.order}",
        ]


def _clause_line(clause: ClauseExplanation) -> str:
    name = f"{clause.text} (for {clause.variant_of})" if clause.variant_of else clause.text
    if clause.exact:
        return f"{name}: exact in {' and '.join(clause.fields)}"
    return f"{name}: {'its words only' if clause.words else 'not here'}"


@dataclass(frozen=True)
class Hit(PostInfo):
    """One search result (``explain`` is set when asked for)."""

    score: float
    title_highlight: Highlighted
    snippet: Highlighted
    explain: Explanation | None = None
    #: The post's picture for a list of results (see :func:`searchengine.pictures.thumbnail`):
    #: an http(s) URL or a site-relative path, or None.
    thumbnail: str | None = None
    #: With collapsing: the first of the other matching posts of the hit's
    #: story (its reprints, see :mod:`searchengine.reprints`), best first ...
    similar: list[PostInfo] = field(default_factory=list)
    #: ... and how many there are in all.
    similar_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("title_highlight", "snippet"):
            data[key]["spans"] = [list(span) for span in data[key]["spans"]]
        if data["explain"] is None:
            del data["explain"]
        return data


@dataclass(frozen=True)
class Hint:
    """Advice about a query: a code from :data:`HINT_TEXTS` and the values for its slots."""

    code: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The hint in English."""
        return HINT_TEXTS[self.code].format(**self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "params": dict(self.params)}


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True)
class TimelineBucket:
    """One bar of a result's timeline: a year (``2021``) or a month (``2021-10``) and its matches."""

    period: str
    count: int


@dataclass(frozen=True)
class Expansion:
    """A term that was searched in other forms too, and the forms that found posts."""

    term: str  # as searched (normalized)
    forms: list[str]
    source: str  # "regional": OpenCC's Taiwan/Hong Kong phrase tables; "alias": an alias table

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Suggestion:
    """A completion: a post's title, and the post it opens."""

    title: str
    path: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    """A page of results for a query, with facets over all matches.

    ``corrected`` is the query searched instead of the one typed (which found
    nothing), ``did_you_mean`` a query offered but not searched, and
    ``expansions`` the other forms each term was searched in.
    """

    query: str
    total: int
    page: int
    limit: int
    sort: str
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)
    hints: list[Hint] = field(default_factory=list)
    corrected: str | None = None
    did_you_mean: str | None = None
    expansions: list[Expansion] = field(default_factory=list)
    #: The facet values the results are narrowed to, whether typed in the
    #: query (``category:国际``) or passed as arguments; normalized as filters
    #: compare them.
    filters: dict[str, list[str]] = field(default_factory=dict)
    #: How many matches fall in each year, or month when they span under three
    #: years, oldest first (see :mod:`searchengine.timeline`).
    timeline: list[TimelineBucket] = field(default_factory=list)
    #: Matches not listed on their own but under another post of their story
    #: (collapsing, see :meth:`searchengine.engine.SearchEngine.search`); ``total`` leaves them out.
    collapsed: int = 0

    @property
    def pages(self) -> int:
        return -(-self.total // self.limit) if self.total else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "collapsed": self.collapsed,
            "page": self.page,
            "pages": self.pages,
            "limit": self.limit,
            "sort": self.sort,
            "took_ms": round(self.took_ms, 2),
            "hints": [hint.to_dict() for hint in self.hints],
            "corrected": self.corrected,
            "did_you_mean": self.did_you_mean,
            "expansions": [expansion.to_dict() for expansion in self.expansions],
            "filters": {name: list(values) for name, values in self.filters.items()},
            "facets": {name: [asdict(c) for c in counts] for name, counts in self.facets.items()},
            "timeline": [asdict(bucket) for bucket in self.timeline],
            "hits": [hit.to_dict() for hit in self.hits],
        }


@dataclass(frozen=True)
class Post(PostInfo):
    """One indexed post, whole. ``html`` is the body as written: sanitize before display.

    ``images`` are its pictures, front matter's first, then the body's: only
    those that are image addresses (:func:`searchengine.pictures.image_address`).
    """

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
