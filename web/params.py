"""Search parameters as they travel in URLs: parsed from the query string, and back.

The page and the API take the same parameters (``q``, ``page``, ``sort``,
``category``, ``author``, ``year``; the API also ``limit``). Parsing only
turns text into Python values; the library decides what is valid and raises
:class:`~searchengine.errors.ParameterError` (a 400) with a message naming
the parameter. Building URLs back keeps every parameter but the ones
changed, and leaves defaults out so links stay short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from searchengine.errors import ParameterError

__all__ = ["FILTERS", "SearchParams", "whole_number", "simpler_queries"]

FILTERS = ("category", "author", "year")
_WHOLE = re.compile(r"[+-]?\d+")
_MAX_DIGITS = 9
_QUOTES = "\"“”＂「」『』"


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


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = (args.get(name) or "").strip()
    return value or None


@dataclass(frozen=True)
class SearchParams:
    """One search request: the query, the page and the filters."""

    q: str = ""
    page: int = 1
    sort: str = "relevance"
    limit: int = 10
    category: str | None = None
    author: str | None = None
    year: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str], limit: int, *, allow_limit: bool = False) -> "SearchParams":
        """Read the parameters of a request; ``limit`` only when ``allow_limit`` (the API)."""
        return cls(
            q=args.get("q") or "",
            page=whole_number(args, "page", 1),  # type: ignore[arg-type]
            sort=(args.get("sort") or "relevance").strip(),
            limit=whole_number(args, "limit", limit) if allow_limit else limit,  # type: ignore[arg-type]
            category=_text(args, "category"),
            author=_text(args, "author"),
            year=whole_number(args, "year", None),
        )

    @property
    def filters(self) -> list[tuple[str, str]]:
        """The active filters as ``(name, value)``, in a fixed order."""
        return [(name, str(getattr(self, name))) for name in FILTERS if getattr(self, name) is not None]

    @property
    def wants_results(self) -> bool:
        """True when there is something to search for: query text or a filter."""
        return bool(self.q.strip() or self.filters)

    def search_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`SearchEngine.search`."""
        return {
            "query": self.q,
            "limit": self.limit,
            "page": self.page,
            "sort": self.sort,
            "category": self.category,
            "author": self.author,
            "year": self.year,
        }

    def url_args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for a link to this search with ``changes``.

        Any change other than ``page`` starts again at page 1; ``None``
        removes a parameter. Defaults (page 1, relevance) are left out.
        """
        if "page" not in changes:
            changes["page"] = 1
        changed = replace(self, **changes)
        args: dict[str, Any] = {}
        if changed.q:
            args["q"] = changed.q
        for name in FILTERS:
            if getattr(changed, name) is not None:
                args[name] = getattr(changed, name)
        if changed.sort != "relevance":
            args["sort"] = changed.sort
        if changed.page != 1:
            args["page"] = changed.page
        return args


def simpler_queries(query: str, limit: int = 3) -> list[str]:
    """Broader queries to offer when ``query`` found nothing.

    Without its quotes, and each of its words alone, as links the user can
    follow; the library decides what they match.
    """
    found: list[str] = []
    unquoted = " ".join(query.translate({ord(c): " " for c in _QUOTES}).split())
    if unquoted and unquoted != query.strip():
        found.append(unquoted)
    words = [w for w in unquoted.split() if w.upper() not in ("OR", "|") and len(w.lstrip("-－")) > 0]
    if len(words) > 1:
        found.extend(w for w in words[:limit] if w not in found)
    return found[: limit + 1]
