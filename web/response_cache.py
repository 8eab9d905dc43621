"""Whole answers kept for the index's current version: a repeated GET costs a lookup, not a search and a render.

Real traffic repeats itself (a front-page query, the next page of it, a
post everyone opens), and on a results page the search is the smaller
part: rendering its hundred links and facets, or finding a post's related
posts, costs more than a cached search. So the pages that are a pure
function of their URL, the index and the app's settings — the search page,
post pages, the JSON API, suggestions, the feed and the OpenSearch
description (:data:`CACHEABLE`) — are kept whole: status, headers and body.

- **Current.** The key holds the index generation and the user alias
  table's version (:meth:`SearchEngine.version`, a folder listing), read
  before each request: the first request after a build commits empties the
  cache, so no answer is older than the index.
- **The whole URL.** The key is the scheme, host, path and raw query string:
  the feed and the OpenSearch description hold absolute links, so a request
  for another host name gets its own answer. Nothing else of a request
  shapes these pages (no cookies, no sessions, no per-request nonce: the
  Content-Security-Policy is fixed), and the security headers are added to
  every response, cached or not, by :mod:`searchengine.web.security`.
- **Only successes.** Only 200 answers are kept; errors (400, 404, 503…)
  are made afresh each time, so their status and message always fit.
- **Conditional requests.** An answer with an ETag (the feed) is checked
  against the request's ``If-None-Match`` when served from the cache, so a
  reader that has it gets a 304, as from the view itself. HEAD requests are
  answered from the same entries (the server leaves the body out).
- **Bounded.** At most ``max_bytes`` (the app's ``RESPONSE_CACHE_BYTES``,
  default :data:`CACHED_BYTES`, 16 MB: some 400 results pages) of keys and
  bodies per process, least recently used out first; an answer larger than
  an eighth of that is not kept. 0 keeps nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request

from searchengine.errors import ParameterError
from searchengine.versioned_cache import VersionedCache
from searchengine.web import get_engine

__all__ = ["CACHEABLE", "CACHED_BYTES", "ResponseCache", "init_app", "response_cache"]

#: The views whose 200 answers depend on nothing but the URL, the index and the settings.
CACHEABLE = frozenset(
    {"pages.search", "pages.post", "pages.opensearch", "api.search", "api.post", "api.suggest", "feed.feed"}
)
#: Bytes of answers each process keeps, by default.
CACHED_BYTES = 16 * 2**20
#: An answer larger than this share of the cache is not kept: it would push out many others.
_LARGEST_SHARE = 8
_EXTENSION = "searchengine.response_cache"
#: Bytes counted for an entry beside its key and body: its headers and the bookkeeping.
_OVERHEAD = 512


@dataclass(frozen=True)
class Kept:
    """An answer as kept: enough to make the same response again."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def response(self) -> Response:
        return Response(self.body, status=self.status, headers=list(self.headers))


def _entry_bytes(key: tuple[str | bytes, ...], kept: Kept) -> int:
    return len(kept.body) + sum(map(len, key)) + _OVERHEAD


class ResponseCache(VersionedCache[tuple[str | bytes, ...], Kept]):
    """Answers of one index version, at most ``max_bytes`` of them (keys included); safe to share between threads."""

    def __init__(self, max_bytes: int = CACHED_BYTES) -> None:
        super().__init__(max_bytes, _entry_bytes, largest=max_bytes // _LARGEST_SHARE)


def init_app(app: Flask) -> None:
    """Answer cacheable GETs from the app's :class:`ResponseCache`, keeping their answers.

    Its size is the app's ``RESPONSE_CACHE_BYTES`` (default
    :data:`CACHED_BYTES`); anything but a whole number, 0 or more, raises
    :class:`~searchengine.errors.ParameterError` now.
    """
    max_bytes = app.config.setdefault("RESPONSE_CACHE_BYTES", CACHED_BYTES)
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 0:
        raise ParameterError(f"RESPONSE_CACHE_BYTES must be a whole number of bytes, 0 or more, not {max_bytes!r}")
    app.extensions[_EXTENSION] = ResponseCache(max_bytes)
    app.before_request(_answer_from_cache)
    app.after_request(_keep_answer)


def response_cache(app: Flask) -> ResponseCache:
    """The app's cache of answers (to see what it holds)."""
    cache: ResponseCache = app.extensions[_EXTENSION]
    return cache


def _answer_from_cache() -> Response | None:
    """``before_request`` hook: the kept answer to this request, if there is one (the view is not run)."""
    cache = response_cache(current_app)
    if cache.capacity <= 0 or request.method not in ("GET", "HEAD") or request.endpoint not in CACHEABLE:
        return None
    key = (request.scheme, request.host, request.root_path, request.path, request.query_string)
    version = get_engine().version()
    kept = cache.get(version, key)
    if kept is None:
        g.response_cache_key = (version, key)
        return None
    response = kept.response()
    if "ETag" in response.headers:
        response.make_conditional(request)
    return response


def _keep_answer(response: Response) -> Response:
    """``after_request`` hook: keep a 200 answer to a request that the cache did not answer."""
    wanted = g.pop("response_cache_key", None)
    if wanted is None or response.status_code != 200 or response.is_streamed:
        return response
    version, key = wanted
    kept = Kept(response.status_code, tuple(response.headers.items()), response.get_data())
    response_cache(current_app).put(version, key, kept)
    return response
