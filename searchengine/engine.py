"""``SearchEngine``: the library's face, used by the CLI, the web app and users.

One object per index, safe to share between threads: it opens the index
once, and when a build commits a new generation it switches to it on the
next call — a long-running server never needs a restart.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timezone as dt_timezone
from pathlib import Path

import numpy as np

from searchengine import snippets
from searchengine.analysis import Analyzer, analyzer_for
from searchengine.dates import load_zone
from searchengine.documents import DEFAULT_TIMEZONE
from searchengine.errors import IndexMissingError, ParameterError
from searchengine.indexer import check_compatible, open_index
from searchengine.matching import Ranking, match_any_word
from searchengine.normalize import normalize
from searchengine.query import Group, ParsedQuery, make_clause, parse_query, year_span
from searchengine.ranking import page_of, rank
from searchengine.results import FacetCount, Highlighted, Hit, IndexStats, Post, PostInfo, SearchResult
from searchengine.schema import NO_DATE, settings_of
from searchengine.view import IndexView

__all__ = ["SearchEngine", "MAX_LIMIT", "SORTS"]

MAX_LIMIT = 100
SORTS = ("relevance", "date")
_FACET_SIZE = 30
_MLT_TERMS = 12
_OPEN_ATTEMPTS = 5


class _Snapshot:
    """A view of one generation plus the analyzer its settings call for."""

    def __init__(self, view: IndexView, analyzer: Analyzer) -> None:
        self.view = view
        self.analyzer = analyzer


class SearchEngine:
    """Search an index built by :func:`searchengine.indexer.build_index`.

    Parameters
    ----------
    index_dir:
        The folder holding the index.
    timezone:
        Zone for ``date:``/``after:``/``before:`` and the year facet.
    """

    def __init__(self, index_dir: Path | str, *, timezone: str = DEFAULT_TIMEZONE, ranking: Ranking = Ranking()) -> None:
        self.index_dir = Path(index_dir)
        load_zone(timezone)  # an unknown zone is a ParameterError now, not at the first query
        self.timezone = timezone
        self.ranking = ranking
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._current()  # fail now, with a clear message, if there is no usable index

    # --- the index, kept current -------------------------------------------

    def _current(self) -> _Snapshot:
        # A build that commits deletes the previous generation's files; one
        # can vanish between reading the table of contents and opening it.
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                return self._open_current()
            except FileNotFoundError:
                if attempt == _OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")

    def _open_current(self) -> _Snapshot:
        snapshot = self._snapshot
        # Listing the folder tells whether a build committed; reading the
        # table of contents (which unpickles the schema) is only needed then.
        if snapshot is not None and snapshot.view.ix.latest_generation() == snapshot.view.generation:
            return snapshot
        ix = open_index(self.index_dir)
        if ix is None:
            raise IndexMissingError(
                f"no index at {self.index_dir}: build one with "
                f"`searchengine index POSTS_DIR --index {self.index_dir}`"
            )
        generation = ix.latest_generation()
        with self._lock:
            if self._snapshot is None or self._snapshot.view.generation != generation:
                settings = check_compatible(ix, self.index_dir)
                analyzer = analyzer_for(settings)
                analyzer.warm_up()
                self._snapshot = _Snapshot(IndexView(ix, self.timezone), analyzer)
            return self._snapshot

    # --- searching ------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        page: int = 1,
        sort: str = "relevance",
        category: str | None = None,
        author: str | None = None,
        tag: str | None = None,
        year: int | None = None,
    ) -> SearchResult:
        """Search; the filters add to any written in the query itself.

        Never raises for the query text (bad syntax becomes plain text or a
        hint); raises :class:`ParameterError` for an invalid parameter.
        """
        started = time.perf_counter()
        _check_page(limit, page, sort)
        snapshot = self._current()
        parsed = parse_query(query if isinstance(query, str) else "", snapshot.analyzer, self.timezone)
        _add_filters(parsed, category, author, tag, year, self.timezone)
        ranked = rank(snapshot.view, parsed, sort, (page - 1) * limit, limit, self.ranking)
        needles = parsed.needles()
        hits = [self._hit(snapshot.view, int(d), float(s), needles) for d, s in zip(ranked.docs, ranked.scores)]
        result = SearchResult(
            query=query,
            total=ranked.total,
            page=page,
            limit=limit,
            sort=sort,
            took_ms=0.0,
            hits=hits,
            facets=_facets(snapshot.view, ranked.matched),
            hints=parsed.hints,
        )
        if not result.total and not result.hints and query.strip():
            result.hints.append("no post matches; try fewer words, other spellings, or no quotes or filters")
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def needles(self, query: str) -> list[snippets.Needle]:
        """What to mark for ``query`` in any text: the patterns snippets use.

        For highlighting outside snippets (the web app marks a whole post);
        analysed with the index's own settings.
        """
        parsed = parse_query(query if isinstance(query, str) else "", self._current().analyzer, self.timezone)
        return parsed.needles()

    def all_paths(self, query: str, *, sort: str = "relevance") -> list[str]:
        """The path of every post matching ``query``, best first (no snippets).

        For exports and for checking search quality against the text itself
        (``scripts/evaluate.py``), where pages of ten would be slow.
        """
        _check_page(1, 1, sort)
        snapshot = self._current()
        parsed = parse_query(query if isinstance(query, str) else "", snapshot.analyzer, self.timezone)
        ranked = rank(snapshot.view, parsed, sort, 0, max(snapshot.view.size, 1), self.ranking)
        paths = snapshot.view.paths
        return [paths[d] for d in ranked.docs]

    def _hit(self, view: IndexView, docnum: int, score: float, needles: list[snippets.Needle]) -> Hit:
        stored = view.stored(docnum)
        return Hit(
            **PostInfo.fields_of(stored),
            score=round(score, 4),
            title_highlight=_highlighted(snippets.highlight(stored["title"], needles)),
            snippet=_highlighted(snippets.make_snippet(stored.get("body") or "", needles)),
        )

    # --- single posts -------------------------------------------------------

    def get(self, path: str) -> Post | None:
        """The post indexed under ``path`` (as in ``Hit.path``), or None."""
        view = self._current().view
        docnum = view.docnum_of(path) if isinstance(path, str) else None
        if docnum is None:
            return None
        stored = view.stored(docnum)
        return Post(
            **PostInfo.fields_of(stored),
            images=list(stored.get("images") or []),
            body=stored.get("body") or "",
            html=stored.get("html") or "",
            source=stored.get("source") or "",
            content_hash=stored.get("hash") or "",
        )

    def more_like_this(self, path: str, limit: int = 5) -> list[Hit]:
        """Posts sharing the most distinctive words of the post at ``path``."""
        _check_page(limit, 1, "relevance")
        snapshot = self._current()
        view = snapshot.view
        docnum = view.docnum_of(path) if isinstance(path, str) else None
        if docnum is None:
            return []
        stored = view.stored(docnum)
        words = _key_words(view, snapshot.analyzer, f"{stored['title']}\n{stored.get('body') or ''}")
        match = match_any_word(view, words, self.ranking)
        match.which[docnum] = False
        ranked = page_of(view, match.which, match.scores, match.exact.astype(np.int32), "relevance", 0, limit)
        needles = parse_query(" ".join(words), snapshot.analyzer, self.timezone).needles()
        return [self._hit(view, int(d), float(s), needles) for d, s in zip(ranked.docs, ranked.scores)]

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Titles containing ``prefix``, for completion as the user types."""
        _check_page(limit, 1, "relevance")
        snapshot = self._current()
        clause = make_clause(prefix if isinstance(prefix, str) else "", True, snapshot.analyzer, title_only=True)
        if clause is None:
            return []
        parsed = ParsedQuery(text=prefix, groups=[Group((clause,))])
        ranked = rank(snapshot.view, parsed, "relevance", 0, limit * 3, self.ranking)
        titles = [snapshot.view.stored(int(d))["title"] for d in ranked.docs]
        return list(dict.fromkeys(titles))[:limit]

    def stats(self) -> IndexStats:
        snapshot = self._current()
        view = snapshot.view
        dated = view.date[view.live & (view.date != NO_DATE)]
        size = sum(f.stat().st_size for f in self.index_dir.iterdir() if f.is_file())
        return IndexStats(
            index_dir=str(self.index_dir),
            documents=view.doc_count,
            segments=len(view.leaves),
            generation=view.generation,
            size_bytes=size,
            categories=len(view.categories.names),
            authors=len(view.authors.names),
            tags=len(view.tags.names),
            first_date=_iso(int(dated.min())) if len(dated) else None,
            last_date=_iso(int(dated.max())) if len(dated) else None,
            analysis=settings_of(view.ix.schema).describe(),
        )


def _check_page(limit: int, page: int, sort: str) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ParameterError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ParameterError(f"page must be a whole number from 1, not {page!r}")
    if sort not in SORTS:
        raise ParameterError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")


def _add_filters(
    parsed: ParsedQuery, category: str | None, author: str | None, tag: str | None, year: int | None, timezone: str
) -> None:
    for values, value in ((parsed.filters.categories, category), (parsed.filters.authors, author), (parsed.filters.tags, tag)):
        if value:
            values.append(normalize(str(value)).strip())
    if year is not None:
        span = year_span(year, timezone)
        if span is None:
            raise ParameterError(f"year must be a year such as 2021, not {year!r}")
        parsed.filters.narrow_dates(*span)


def _highlighted(found: snippets.Snippet) -> Highlighted:
    return Highlighted(text=found.text, html=found.html, spans=[tuple(span) for span in found.spans])


def _facets(view: IndexView, matched: np.ndarray) -> dict[str, list[FacetCount]]:
    """Counts by category, author and year over every matching post."""
    selected = np.zeros(view.size, dtype=bool)
    selected[matched] = True
    facets = {}
    for name, vocabulary in (("category", view.categories), ("author", view.authors)):
        counts = vocabulary.counts(selected)
        top = np.argsort(-counts, kind="stable")[:_FACET_SIZE]
        facets[name] = [FacetCount(vocabulary.names[i], int(counts[i])) for i in top if counts[i]]
    year_values, year_counts = np.unique(view.year[matched], return_counts=True)
    facets["year"] = sorted(
        (FacetCount(str(int(y)), int(c)) for y, c in zip(year_values, year_counts) if y),
        key=lambda f: f.value,
        reverse=True,
    )
    return facets


def _key_words(view: IndexView, analyzer: Analyzer, text: str) -> list[str]:
    """The post's most distinctive words (tf × idf over bodies)."""
    counts = Counter(w for w in analyzer.segment(normalize(text)) if len(w) > 1 and not w.isdigit())
    reader = view.reader
    total = max(view.doc_count, 1)
    scored = []
    for word, tf in counts.items():
        df = reader.doc_frequency("body_w", word)
        if df <= 1:
            continue
        scored.append((tf * np.log(total / df), word))
    scored.sort(reverse=True)
    return [word for _, word in scored[:_MLT_TERMS]]


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=dt_timezone.utc).isoformat()
