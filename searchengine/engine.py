"""``SearchEngine``: the library's face, used by the CLI, the web app and users.

One object per index, safe to share between threads: it opens the index
once, and when a build commits a new generation it switches to it on the
next call — a long-running server never needs a restart.
"""

from __future__ import annotations

import ctypes
import functools
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from searchengine import forgiving, snippets, variants
from searchengine.aliases import AliasTable, bundled_aliases, load_aliases
from searchengine.analysis import Analyzer, analyzer_for
from searchengine.dates import load_zone
from searchengine.documents import DEFAULT_TIMEZONE
from searchengine.errors import ParameterError, SearchEngineError
from searchengine.facets import FACETS, facet
from searchengine.matching import match_any_word
from searchengine.normalize import normalize
from searchengine.pictures import image_address, thumbnail
from searchengine.query import Group, ParsedQuery, date_range, make_clause, parse_query
from searchengine.ranking import RankedPage, Scored, page_of, rank, score
from searchengine.ranking_model import Ranking
from searchengine.result_cache import CACHED_RESULTS, ResultCache
from searchengine.results import Highlighted, Hint, Hit, IndexStats, Post, PostInfo, SearchResult, Suggestion
from searchengine.sounds import SoundIndex, pinyin_prefix
from searchengine.store import IndexFolder, IndexView
from searchengine.store.fields import (
    AUTHOR,
    BODY,
    BODY_WORDS,
    CATEGORY,
    HASH,
    HTML,
    IMAGES,
    SOURCE,
    TAG,
    TITLE,
    TITLE_WORDS,
)
from searchengine.store.schema import NO_DATE, post_info
from searchengine.timeline import timeline

__all__ = ["SearchEngine", "MAX_LIMIT", "SORTS"]

MAX_LIMIT = 100
SORTS = ("relevance", "date")
_MLT_TERMS = 12
#: Other posts of a story a hit names (``Hit.similar``); ``Hit.similar_count`` counts them all.
SIMILAR_SHOWN = 10
_OPEN_ATTEMPTS = 5
#: Held while an analyzer loads jieba: every engine and thread of a process shares its analyzer.
_ANALYZER_LOADING = threading.Lock()


class _Snapshot:
    """A view of one generation plus the analyzer its settings call for.

    When a build commits, the engine switches to a new snapshot, but searches
    in other threads may still be using the old one, or only its view
    (``get`` keeps just the view). So a replaced view is not closed at the
    switch but when the last of them lets go of it: the view's finalizer
    closes its files and hands the freed memory back to the system. A view
    holds no reference cycle, so that happens as soon as its last search ends,
    not at some later garbage collection.
    """

    def __init__(self, view: IndexView, analyzer: Analyzer) -> None:
        self.view = view
        self._analyzer = analyzer
        self._analyzer_loaded = False
        self._sounds: SoundIndex | None = None
        self._sounds_lock = threading.Lock()
        # What IndexView.close() does, without holding the view (which would keep it alive).
        weakref.finalize(view, _release, view.reader)

    @property
    def analyzer(self) -> Analyzer:
        """The index's analyzer, its jieba loaded by the first query (``stats`` never waits the seconds it takes).

        Loaded under a lock: an analyzer serves every snapshot and thread of the process.
        """
        if not self._analyzer_loaded:
            with _ANALYZER_LOADING:
                self._analyzer.warm_up()
            self._analyzer_loaded = True
        return self._analyzer

    def sounds(self) -> SoundIndex:
        """The generation's words by sound, made at the first query that needs them.

        Listing the words costs about a second on a large index, so only a
        query that needs a correction pays it, once per generation.
        """
        with self._sounds_lock:
            if self._sounds is None:
                view = self.view
                words = dict.fromkeys(view.terms(TITLE_WORDS))
                words.update(dict.fromkeys(view.terms(BODY_WORDS)))
                self._sounds = SoundIndex(
                    words, lambda word: view.doc_frequency(BODY_WORDS, word) + view.doc_frequency(TITLE_WORDS, word)
                )
            return self._sounds


@dataclass
class _Outcome:
    """A query evaluated: what was searched, and what the reader is told about it."""

    parsed: ParsedQuery
    ranked: RankedPage
    expanded: list[tuple[str, str, str]]
    corrected: str | None = None
    did_you_mean: str | None = None


def _release(reader: Any) -> None:
    """Close a view's files and return its memory, once nothing uses the view any more.

    A view is tens of megabytes (whoosh copies segment files into memory),
    made by whichever thread first noticed its generation; glibc keeps what
    it frees in that thread's heap unless asked to trim. (``searchengine
    serve`` also has large blocks mapped apart: see ``web/server.py``.)
    """
    if not getattr(reader, "is_closed", False):  # (unless someone closed the view already)
        reader.close()
    if _TRIM_HEAP is not None:
        _TRIM_HEAP(0)


def _heap_trimmer() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (returns the free memory of every arena to the system); None elsewhere."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # no C library by that name, or no such function
        return None
    return trim


_TRIM_HEAP = _heap_trimmer()


class SearchEngine:
    """Search an index built by :func:`searchengine.indexer.build_index`.

    Parameters
    ----------
    index_dir:
        The folder holding the index.
    timezone:
        Zone for ``date:``/``after:``/``before:`` and the year facet.
    aliases:
        A user alias table (see :mod:`searchengine.aliases`), added to the
        bundled one. It is read again whenever it changes: no rebuild.
    ranking:
        The ranking model (see :mod:`searchengine.ranking_model`); by
        default the trained one shipped in ``data/ranking.json``.
    cached_results:
        How many recent results to keep (see :mod:`searchengine.result_cache`);
        0 searches afresh every time, as latency benchmarks must.
    """

    def __init__(
        self,
        index_dir: Path | str,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        ranking: Ranking | None = None,
        aliases: Path | str | None = None,
        cached_results: int = CACHED_RESULTS,
    ) -> None:
        self.index_dir = Path(index_dir)
        self._folder = IndexFolder(self.index_dir)
        load_zone(timezone)  # an unknown zone is a ParameterError now, not at the first query
        self.timezone = timezone
        self.ranking = ranking if ranking is not None else _shipped_ranking()
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._alias_file = Path(aliases) if aliases else None
        self._alias_table: tuple[tuple[int, int] | None, AliasTable] = (None, bundled_aliases())
        self._aliases()  # a user table that cannot be read fails now, naming the file
        self._results = ResultCache(cached_results)
        self._current()  # fail now, with a clear message, if there is no usable index

    def _aliases(self) -> AliasTable:
        """The bundled alias table with the user's added, read again when the user's file changes.

        Should an edit break the file after the engine started, the last good
        table stays in use: a search never fails for it.
        """
        if self._alias_file is None:
            return self._alias_table[1]
        try:
            stat = self._alias_file.stat()
        except OSError as exc:
            if self._alias_table[0] is None:
                raise ParameterError(f"aliases {self._alias_file}: cannot read: {exc.strerror}") from None
            return self._alias_table[1]
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._alias_table[0]:
            try:
                self._alias_table = (stamp, bundled_aliases().merged(load_aliases(self._alias_file)))
            except SearchEngineError:
                if self._alias_table[0] is None:
                    raise
        return self._alias_table[1]

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
        if snapshot is not None and snapshot.view.is_current():
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or not snapshot.view.is_current():
                view = self._folder.open_view(self.timezone)
                snapshot = self._snapshot = _Snapshot(view, analyzer_for(view.settings))
            return snapshot

    def warm_up(self) -> None:
        """Make now what the first queries would otherwise wait for: jieba's
        dictionary, OpenCC's regional tables (about 50 MB) and the current
        generation's sound table (seconds on a large index), used by forgiving search (see
        :mod:`searchengine.forgiving`). For servers, so that a worker's memory
        is all there before its first request; a later generation makes its
        own sound table at its first correction."""
        variants.load_tables()
        snapshot = self._current()
        snapshot.analyzer  # noqa: B018 - loads jieba
        snapshot.sounds()

    def version(self) -> tuple[int, tuple[int, int] | None]:
        """What every answer depends on besides its arguments: the index generation and the user alias table's version.

        Cheap (a folder listing, and a ``stat`` when there is a user alias
        table), so that a caller keeping whole answers, such as the web app's
        page cache, can ask before each one and see a new build at once.
        """
        generation = self._current().view.generation
        self._aliases()  # (reads the user's table again if it changed)
        return generation, self._alias_table[0]

    # --- searching ------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        page: int = 1,
        sort: str = "relevance",
        correct: bool = True,
        explain: bool = False,
        collapse: bool = True,
        **filters: str | int | None,
    ) -> SearchResult:
        """Search; ``filters`` (one value per facet, such as ``category="国际"``,
        ``tag="一带一路"`` or ``year=2021``; see :data:`searchengine.facets.FACETS`)
        and ``date`` (a period or range, as ``date:`` in a query:
        ``date="2021-10"``, ``date="2020..2021-06"``) add to any written in
        the query itself.

        ``result.timeline`` counts every match by year or month (see
        :mod:`searchengine.timeline`).

        A query that finds nothing as typed but reads as pinyin or holds a
        same-sound slip is searched as corrected (``result.corrected``) unless
        ``correct`` is False; see :mod:`searchengine.forgiving`.

        With ``explain``, each hit carries its score in parts
        (:class:`~searchengine.results.Explanation`).

        With ``collapse`` (the default), each story — a post and its reprints,
        see :mod:`searchengine.reprints` — is listed once, as its best match
        in the requested order; the hit's ``similar`` names the story's other
        matches and ``result.collapsed`` counts them. ``total`` and the pages
        count stories then; facets and the timeline count every match.

        Never raises for the query text (bad syntax becomes plain text or a
        hint); raises :class:`ParameterError` for an invalid parameter.
        """
        started = time.perf_counter()
        _check_page(limit, page, sort)
        snapshot = self._current()
        key = self._result_key(query, limit, page, sort, correct, explain, collapse, filters)
        generation = snapshot.view.generation
        cached = self._results.get(generation, key) if key is not None else None
        if cached is not None:
            cached.took_ms = (time.perf_counter() - started) * 1000
            return cached
        outcome = self._evaluate(
            snapshot, query, filters, sort, (page - 1) * limit, limit, correct, explain, collapse=collapse
        )
        parsed, ranked = outcome.parsed, outcome.ranked
        needles = parsed.needles()
        hits = [
            self._hit(snapshot.view, int(d), float(s), needles) for d, s in zip(ranked.docs, ranked.scores, strict=True)
        ]
        if collapse:
            hits = [
                replace(hit, similar=_similar(snapshot.view, others), similar_count=len(others))
                for hit, others in zip(hits, ranked.similar, strict=True)
            ]
        if explain:
            hits = [replace(hit, explain=why) for hit, why in zip(hits, ranked.explanations, strict=True)]
        result = SearchResult(
            query=query,
            total=ranked.total,
            page=page,
            limit=limit,
            sort=sort,
            took_ms=0.0,
            hits=hits,
            facets={f.name: f.counts(snapshot.view, ranked.matched) for f in FACETS},
            hints=parsed.hints,
            corrected=outcome.corrected,
            did_you_mean=outcome.did_you_mean,
            expansions=forgiving.expansions(outcome.expanded, ranked.found),
            filters={name: sorted(values) for name, values in parsed.filters.include.items()},
            timeline=timeline(snapshot.view, ranked.matched, self.timezone),
            collapsed=ranked.collapsed,
        )
        if not result.total and not result.hints and query.strip():
            result.hints.append(Hint("no_match"))
        result.took_ms = (time.perf_counter() - started) * 1000
        if key is not None:
            self._results.put(generation, key, result)
        return result

    def _result_key(self, query: str, *arguments: object) -> tuple[object, ...] | None:
        """What a search's result depends on besides the index generation; None when it cannot be cached.

        The user alias table's version is part of it (an edited table
        changes what the same query searches), and so is the ranking model
        in use.
        """
        *simple, filters = arguments
        if not isinstance(query, str) or not isinstance(filters, dict):
            return None
        self._aliases()  # (reads the user's table again if it changed)
        given = tuple(sorted((name, str(value)) for name, value in filters.items() if value not in (None, "")))
        return (query, *simple, given, self._alias_table[0], id(self.ranking))

    def _parse(self, snapshot: _Snapshot, query: str) -> tuple[ParsedQuery, list[tuple[str, str, str]]]:
        """The query parsed, with its terms' other forms added."""
        parsed = parse_query(query if isinstance(query, str) else "", snapshot.analyzer, self.timezone)
        return parsed, forgiving.expand(parsed, snapshot.analyzer, self._aliases())

    def _evaluate(
        self,
        snapshot: _Snapshot,
        query: str,
        filters: dict[str, str | int | None],
        sort: str,
        offset: int,
        limit: int,
        correct: bool,
        explain: bool = False,
        *,
        collapse: bool = False,
    ) -> _Outcome:
        """Parse, expand and rank ``query``; then, if it found little, its correction."""
        parsed, expanded = self._parse(snapshot, query)
        _add_filters(parsed, filters, self.timezone)
        ranked = rank(snapshot.view, parsed, sort, offset, limit, self.ranking, explain, collapse)
        outcome = _Outcome(parsed, ranked, expanded)
        if not correct or not isinstance(query, str):
            return outcome
        fix = forgiving.correction(
            query, parsed, ranked.found, ranked.total, snapshot.view, snapshot.analyzer, snapshot.sounds
        )
        if fix is None:
            return outcome
        if fix.replace is not None:
            fixed, fixed_expanded = self._parse(snapshot, fix.replace)
            _add_filters(fixed, filters, self.timezone)
            fixed_ranked = rank(snapshot.view, fixed, sort, offset, limit, self.ranking, explain, collapse)
            if fixed_ranked.total:
                return _Outcome(fixed, fixed_ranked, fixed_expanded, corrected=fix.replace)
        outcome.did_you_mean = fix.offer
        return outcome

    def needles(self, query: str) -> list[snippets.Needle]:
        """What to mark for ``query`` in any text: the patterns snippets use.

        For highlighting outside snippets (the web app marks a whole post);
        analysed with the index's own settings, with the other forms each
        term was searched in.
        """
        parsed, _ = self._parse(self._current(), query)
        return parsed.needles()

    def all_paths(self, query: str, *, sort: str = "relevance", correct: bool = True) -> list[str]:
        """The path of every post matching ``query``, best first (no snippets).

        For exports and for checking search quality against the text itself
        (``scripts/evaluate.py``), where pages of ten would be slow. Corrected
        as :meth:`search` corrects.
        """
        _check_page(1, 1, sort)
        snapshot = self._current()
        ranked = self._evaluate(snapshot, query, {}, sort, 0, max(snapshot.view.size, 1), correct).ranked
        paths = snapshot.view.paths
        return [paths[d] for d in ranked.docs]

    def scored(self, query: str, ranking: Ranking | None = None) -> tuple[Scored, list[str]]:
        """Every match of ``query`` with its ranking features, and the paths of the matches.

        For fitting the ranking model (``scripts/train_ranking.py``): the
        query is parsed and expanded as :meth:`search` does (without
        correction); ``ranking`` sets the BM25F parameters of the features.
        """
        snapshot = self._current()
        parsed, _ = self._parse(snapshot, query)
        found: dict[str, int] = {}
        scored = score(snapshot.view, parsed, ranking or self.ranking, found)
        paths = snapshot.view.paths
        return scored, [paths[d] for d in scored.docs]

    def paths(self) -> list[str]:
        """The path of every post in the index (for exports, and for judging a
        ranking against a development set that names posts by path)."""
        view = self._current().view
        return [view.paths[d] for d in np.flatnonzero(view.live)]

    def _hit(self, view: IndexView, docnum: int, score: float, needles: list[snippets.Needle]) -> Hit:
        stored = view.stored(docnum)
        return Hit(
            **post_info(stored),
            score=round(score, 4),
            title_highlight=_highlighted(snippets.highlight(stored[TITLE], needles)),
            snippet=_highlighted(snippets.make_snippet(stored.get(BODY) or "", needles)),
            thumbnail=thumbnail(stored.get(IMAGES) or ()),
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
            **post_info(stored),
            images=list(dict.fromkeys(filter(None, map(image_address, stored.get(IMAGES) or ())))),
            body=stored.get(BODY) or "",
            html=stored.get(HTML) or "",
            source=stored.get(SOURCE) or "",
            content_hash=stored.get(HASH) or "",
        )

    def more_like_this(self, path: str, limit: int = 5) -> list[Hit]:
        """Posts sharing the most distinctive words of the post at ``path``.

        Scored by plain BM25F (:data:`LIKE_THIS`), not the query model: that
        one is fitted to short queries, where a title holding the term says
        much; a title holding one of a dozen key words says little. The
        post's reprints (its story) are left out: they are the same text.
        """
        _check_page(limit, 1, "relevance")
        snapshot = self._current()
        view = snapshot.view
        docnum = view.docnum_of(path) if isinstance(path, str) else None
        if docnum is None:
            return []
        stored = view.stored(docnum)
        words = _key_words(view, snapshot.analyzer, f"{stored[TITLE]}\n{stored.get(BODY) or ''}")
        match = match_any_word(view, words, LIKE_THIS)
        other = view.story[match.docs] != view.story[docnum]  # not the post, nor its reprints
        ranked = page_of(
            view, match.docs[other], match.word_scores[other], match.exact[other].astype(np.int32), limit, LIKE_THIS.tie
        )
        needles = parse_query(" ".join(words), snapshot.analyzer, self.timezone).needles()
        return [self._hit(view, int(d), float(s), needles) for d, s in zip(ranked.docs, ranked.scores, strict=True)]

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Titles containing ``prefix``, for completion as the user types.

        A prefix in pinyin (``mosike``, or still being typed: ``mosik``) that
        few titles contain as typed also completes to titles with the words
        it sounds like (莫斯科).
        """
        return [found.title for found in self.suggest_posts(prefix, limit)]

    def suggest_posts(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        """As :meth:`suggest`, each title with the post it opens (the best match of that title)."""
        _check_page(limit, 1, "relevance")
        snapshot = self._current()
        prefix = prefix if isinstance(prefix, str) else ""
        found = self._titles_with(snapshot, prefix, limit)
        sound = pinyin_prefix(prefix) if len(found) < limit else None
        if sound is not None:
            for word in snapshot.sounds().completions(sound):
                more = self._titles_with(snapshot, word, limit)
                found.update((title, path) for title, path in more.items() if title not in found)
                if len(found) >= limit:
                    break
        return [Suggestion(title, path) for title, path in list(found.items())[:limit]]

    def _titles_with(self, snapshot: _Snapshot, text: str, limit: int) -> dict[str, str]:
        """Up to ``limit`` titles holding ``text``, best first, each with its best post's path."""
        clause = make_clause(text, True, snapshot.analyzer, title_only=True)
        if clause is None:
            return {}
        parsed = ParsedQuery(text=text, groups=[Group((clause,))])
        ranked = rank(snapshot.view, parsed, "relevance", 0, limit * 3, self.ranking)
        found: dict[str, str] = {}
        for doc in ranked.docs:
            found.setdefault(snapshot.view.stored(int(doc))[TITLE], snapshot.view.paths[int(doc)])
        return dict(list(found.items())[:limit])

    def stats(self) -> IndexStats:
        snapshot = self._current()
        view = snapshot.view
        dated = view.date[view.live & (view.date != NO_DATE)]
        return IndexStats(
            index_dir=str(self.index_dir),
            documents=view.doc_count,
            segments=len(view.leaves),
            generation=view.generation,
            size_bytes=self._folder.size_bytes(),
            categories=len(view.keywords[CATEGORY].names),
            authors=len(view.keywords[AUTHOR].names),
            tags=len(view.keywords[TAG].names),
            first_date=_iso(int(dated.min())) if len(dated) else None,
            last_date=_iso(int(dated.max())) if len(dated) else None,
            analysis=view.settings.describe(),
        )


#: BM25F's usual parameters, for "more like this".
LIKE_THIS = Ranking()


@functools.cache
def _shipped_ranking() -> Ranking:
    """The trained ranking model of ``data/ranking.json``, read once."""
    return Ranking.load()


def _check_page(limit: int, page: int, sort: str) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ParameterError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ParameterError(f"page must be a whole number from 1, not {page!r}")
    if sort not in SORTS:
        raise ParameterError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")


def _add_filters(parsed: ParsedQuery, filters: dict[str, str | int | None], timezone: str) -> None:
    for name, raw in filters.items():
        found = facet(name)
        if found is None and name != "date":
            known = ", ".join([*(f.name for f in FACETS), "date"])
            raise ParameterError(f"{name} is not a filter; the filters are {known}")
        if raw is None or raw == "":
            continue
        if found is None:
            span = date_range(str(raw).strip(), timezone)
            if span is None:
                example = "2021, 2021-10, 2021-10-21 or 2020..2021-06"
                raise ParameterError(f"date: {str(raw)[:40]!r} is not a date or range (use {example})")
            parsed.filters.narrow_dates(*span)
            continue
        value = found.value_of(raw)
        if value is None:
            raise ParameterError(f"{name}: {raw!r} is not a valid value")
        parsed.filters.add(name, value)


def _similar(view: IndexView, docs: np.ndarray) -> list[PostInfo]:
    """The first :data:`SIMILAR_SHOWN` of a story's other matches, as a hit names them."""
    return [PostInfo(**view.info(int(doc))) for doc in docs[:SIMILAR_SHOWN]]


def _highlighted(found: snippets.Snippet) -> Highlighted:
    return Highlighted(text=found.text, html=found.html, spans=[(start, end) for start, end in found.spans])


def _key_words(view: IndexView, analyzer: Analyzer, text: str) -> list[str]:
    """The post's most distinctive words (tf × idf over bodies)."""
    counts = Counter(w for w in analyzer.segment(normalize(text)) if len(w) > 1 and not w.isdigit())
    total = max(view.doc_count, 1)
    scored = []
    for word, tf in counts.items():
        df = view.doc_frequency(BODY_WORDS, word)
        if df <= 1:
            continue
        scored.append((tf * np.log(total / df), word))
    scored.sort(reverse=True)
    return [word for _, word in scored[:_MLT_TERMS]]


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
