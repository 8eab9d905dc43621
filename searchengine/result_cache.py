"""A small cache of recent search results, for one index generation at a time.

Real traffic repeats itself: the same front-page query, the next page of
it, a facet clicked and clicked away. :class:`ResultCache` keeps the most
recently used results of the current generation, least recently used out
first, so a repeated search costs a dictionary lookup and a copy instead
of matching and ranking again. When a build commits a new generation, the
first lookup for it empties the cache, so a result is never older than the
index it is read from.

Results are copied in and out: a caller that changes the result it got
(the library's results are plain, mutable dataclasses) changes only its
own copy. The cache keeps each result pickled, which makes both copies
C-speed (``copy.deepcopy`` walked a result's thousand objects in Python,
a few milliseconds a search).
"""

from __future__ import annotations

import pickle
from collections.abc import Hashable

from searchengine.results import SearchResult
from searchengine.versioned_cache import VersionedCache

__all__ = ["ResultCache", "CACHED_RESULTS"]

#: Results kept: a page of ten hits with facets and timeline is some 10–40 KB
#: pickled, so at most about 10 MB per process.
CACHED_RESULTS = 256


class ResultCache:
    """The ``size`` most recently used results of one index generation; safe to share between threads."""

    def __init__(self, size: int = CACHED_RESULTS) -> None:
        self._kept = VersionedCache[Hashable, bytes](size, lambda key, kept: 1)

    def get(self, generation: int, key: Hashable) -> SearchResult | None:
        """A copy of the result stored under ``key`` for ``generation``, or None."""
        found = self._kept.get(generation, key)
        if found is None:
            return None
        result: SearchResult = pickle.loads(found)
        return result

    def put(self, generation: int, key: Hashable, result: SearchResult) -> None:
        """Keep a copy of ``result`` under ``key``, if ``generation`` is still the one cached."""
        if self._kept.capacity > 0:
            self._kept.put(generation, key, pickle.dumps(result, pickle.HIGHEST_PROTOCOL))

    def __len__(self) -> int:
        return len(self._kept)
