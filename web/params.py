"""Search parameters as they travel in URLs: parsed from the query string, and back.

The page and the API take the same parameters (``q``, ``page``, ``sort``,
one per facet of :data:`searchengine.facets.FACETS` — ``category``,
``author``, ``tag``, ``year`` —, ``date`` (a period or range, ``2021-10`` or
``2020..2021-06``, as a timeline bar links; the date-range form sends
``from`` and ``to``, which become one), ``correct=0`` to search the query
exactly as typed, ``collapse=0`` to list every reprint of a story on its
own; the API also ``limit`` and ``explain=1``). Parsing only turns
text into Python values; the library decides what is valid and raises
:class:`~searchengine.errors.ParameterError` (a 400) with a message naming
the parameter. Building URLs back keeps every parameter but the ones
changed, and leaves defaults out so links stay short. Links carry at most
the query's first :data:`~searchengine.query.MAX_QUERY_CHARS` characters
(all the library reads), so a page's size does not grow with a huge URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from searchengine.errors import ParameterError
from searchengine.facets import FACETS
from searchengine.query import MAX_QUERY_CHARS, without_filter
from searchengine.settings import boolean

__all__ = ["SearchParams", "whole_number", "yes_or_no"]

_WHOLE = re.compile(r"[+-]?\d+")
_MAX_DIGITS = 9


def whole_number(args: Mapping[str, str], name: str, default: int | None) -> int | None:
    """The integer in ``args[name]``; ``default`` when absent or empty.

    Raises :class:`ParameterError` for anything else, so ``page=abc`` is a
    400 that says which parameter is wrong, not a 500.
    """
    raw = args.get(name)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not _WHOLE.fullmatch(text):
        raise ParameterError(f"{name} must be a whole number, not {raw[:40]!r}")
    if len(text.lstrip("+-")) > _MAX_DIGITS:
        raise ParameterError(f"{name} is too large: {text[:40]}")
    return int(text)


def yes_or_no(args: Mapping[str, str], name: str, default: bool) -> bool:
    """The yes/no in ``args[name]`` (1, true, yes, on or 0, false, no, off); ``default`` when absent or empty.

    Raises :class:`ParameterError` for anything else.
    """
    raw = args.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return boolean(raw)
    except ValueError:
        raise ParameterError(f"{name} must be 1 or 0, not {raw[:40]!r}") from None


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = (args.get(name) or "").strip()
    return value or None


@dataclass(frozen=True)
class SearchParams:
    """One search request: the query, the page and the facet filters."""

    q: str = ""
    page: int = 1
    sort: str = "relevance"
    limit: int = 10
    #: ``{facet name: value}`` of the active filters, in the facet table's order.
    filters: dict[str, str] = field(default_factory=dict)
    #: False: search the query exactly as typed (``correct=0``), never a correction of it.
    correct: bool = True
    #: Each hit's score in parts (``explain=1``; the API shows it, the page does not).
    explain: bool = False
    #: The period or range of dates searched (``2021-10``, ``2020..2021-06``), if any.
    date: str | None = None
    #: False: list every post, reprints of one story too (``collapse=0``).
    collapse: bool = True

    @classmethod
    def from_args(cls, args: Mapping[str, str], limit: int, *, allow_limit: bool = False) -> SearchParams:
        """Read the parameters of a request; ``limit`` only when ``allow_limit`` (the API)."""
        return cls(
            q=args.get("q") or "",
            page=whole_number(args, "page", 1),  # type: ignore[arg-type]
            sort=(args.get("sort") or "relevance").strip(),
            limit=whole_number(args, "limit", limit) if allow_limit else limit,  # type: ignore[arg-type]
            filters={f.name: value for f in FACETS if (value := _text(args, f.name)) is not None},
            correct=yes_or_no(args, "correct", True),
            explain=yes_or_no(args, "explain", False),
            date=_date(args),
            collapse=yes_or_no(args, "collapse", True),
        )

    @property
    def link_q(self) -> str:
        """The query as links carry it: what the library reads of it."""
        return self.q[:MAX_QUERY_CHARS]

    @property
    def wants_results(self) -> bool:
        """True when there is something to search for: query text or a filter."""
        return bool(self.q.strip() or self.filters or self.date)

    def search_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`SearchEngine.search`."""
        return {
            "query": self.q,
            "limit": self.limit,
            "page": self.page,
            "sort": self.sort,
            "correct": self.correct,
            "explain": self.explain,
            "date": self.date,
            "collapse": self.collapse,
            **self.filters,
        }

    def url_args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for a link to this search with ``changes``.

        ``changes`` name ``q``, ``sort``, ``page``, ``correct``, ``date``,
        ``collapse`` or a facet; ``None`` removes a filter. Any change other than ``page`` starts
        again at page 1; a new ``q`` is corrected again (unless ``correct``
        says otherwise). Defaults (page 1, relevance, corrected, collapsed) are left out.
        """
        correct = changes.pop("correct", True if "q" in changes else self.correct)
        q = changes.pop("q", self.link_q)
        sort = changes.pop("sort", self.sort)
        page = changes.pop("page", 1)
        date = changes.pop("date", self.date)
        collapse = changes.pop("collapse", self.collapse)
        filters = {**self.filters, **changes}
        args: dict[str, Any] = {"q": q} if q else {}
        args.update((f.name, filters[f.name]) for f in FACETS if filters.get(f.name) is not None)
        if date:
            args["date"] = date
        if sort != "relevance":
            args["sort"] = sort
        if not correct:
            args["correct"] = 0
        if not collapse:
            args["collapse"] = 0
        if page != 1:
            args["page"] = page
        return args

    def without(self, *names: str) -> dict[str, Any]:
        """Query-string arguments for this search without the ``names`` filters,
        whether chosen on the page or typed in the query (``category:国际``)."""
        q = self.link_q
        for name in names:
            q = without_filter(q, name)
        changed = {"q": q} if q.split() != self.link_q.split() else {}
        return self.url_args(**changed, **{name: None for name in names})

    def without_filters(self) -> dict[str, Any]:
        """Query-string arguments for this search with no filter at all (dates included)."""
        return self.without(*(f.name for f in FACETS), "date")


def _date(args: Mapping[str, str]) -> str | None:
    """``date``; or the range the date-range form's ``from`` and ``to`` make (either may be empty)."""
    low, high = _text(args, "from"), _text(args, "to")
    if low is None and high is None:
        return _text(args, "date")
    if low == high:
        return low
    return f"{low or ''}..{high or ''}"
