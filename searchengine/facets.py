"""Facets: what a search can be narrowed by and counted over, each defined once.

A facet's name is everything at once: the query syntax (``tag:一带一路``,
``-category:体育``), the keyword argument of :meth:`SearchEngine.search`,
the URL parameter of the page and the API, the CLI option (``--tag``) and
the key of ``SearchResult.facets``. The engine, the ranking, the web page and
the CLI iterate over :data:`FACETS`, so adding a facet is adding a row here
(plus, for a new stored field, its name in :mod:`searchengine.store.schema`).

Two kinds: a :class:`KeywordFacet` reads a keyword field of the index (a
post has any number of values, compared in normalized form, so 國際 finds
国际, and 國際 and 国际 are one value, counted once); the :class:`YearFacet` reads the year of each post's date in the
engine's time zone. Filtering and counting use the same per-document arrays,
so a count shown next to a value is exactly what choosing it gives. Both
work on a search's matched documents only, never on the whole archive.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from searchengine.normalize import keyword_key
from searchengine.results import FacetCount
from searchengine.store.fields import AUTHOR, CATEGORY, TAG

if TYPE_CHECKING:
    from searchengine.store import IndexView

__all__ = ["Facet", "KeywordFacet", "YearFacet", "FACETS", "facet", "FACET_SIZE"]

#: The most values a result lists per facet, most frequent first.
FACET_SIZE = 30


@dataclass(frozen=True)
class Facet(ABC):
    """One facet: its name and its label on the page (see the module docstring)."""

    name: str
    label: str

    @abstractmethod
    def value_of(self, raw: object) -> str | None:
        """The filter value for ``raw`` as given by a user, or None when it is not one."""

    @abstractmethod
    def holds(self, view: IndexView, value: str, docs: np.ndarray) -> np.ndarray:
        """For each of the sorted ``docs``: whether it has ``value`` (a result of :meth:`value_of`)."""

    @abstractmethod
    def counts(self, view: IndexView, matched: np.ndarray) -> list[FacetCount]:
        """How many of the ``matched`` documents (sorted numbers) have each value."""


@dataclass(frozen=True)
class KeywordFacet(Facet):
    """A keyword field of the index; values compared in normalized form."""

    field: str

    def value_of(self, raw: object) -> str | None:
        value = keyword_key(str(raw)) if raw is not None else ""
        return value or None

    def holds(self, view: IndexView, value: str, docs: np.ndarray) -> np.ndarray:
        return view.keywords[self.field].holds(value, docs)

    def counts(self, view: IndexView, matched: np.ndarray) -> list[FacetCount]:
        vocabulary = view.keywords[self.field]
        counts = vocabulary.counts(matched)
        top = np.argsort(-counts, kind="stable")[:FACET_SIZE]
        return [FacetCount(vocabulary.names[i], int(counts[i])) for i in top if counts[i]]


@dataclass(frozen=True)
class YearFacet(Facet):
    """The calendar year of the post's date, in the engine's zone; newest year first."""

    def value_of(self, raw: object) -> str | None:
        text = str(raw).strip() if raw is not None and not isinstance(raw, bool) else ""
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 9998:
            return None
        return str(int(text))

    def holds(self, view: IndexView, value: str, docs: np.ndarray) -> np.ndarray:
        return np.asarray(view.year[docs] == int(value))

    def counts(self, view: IndexView, matched: np.ndarray) -> list[FacetCount]:
        counts = np.bincount(view.year[matched])  # (years run 1..9998; 0 is "no date")
        return [FacetCount(str(int(y)), int(counts[y])) for y in np.flatnonzero(counts)[::-1] if y]


FACETS: tuple[Facet, ...] = (
    KeywordFacet("category", "分类", CATEGORY),
    KeywordFacet("author", "作者", AUTHOR),
    KeywordFacet("tag", "标签", TAG),
    YearFacet("year", "年份"),
)

_BY_NAME = {f.name: f for f in FACETS}


def facet(name: str) -> Facet | None:
    """The facet called ``name``, if there is one."""
    return _BY_NAME.get(name)
