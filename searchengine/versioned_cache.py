"""A least-recently-used cache for one version of the index at a time, bounded by a measure of its entries.

What the engine and the web app keep between searches (results, whole
answers, a post's related posts, long posting lists) is only right for the
index generation it was made from. A
:class:`VersionedCache` is told the version with every lookup: the first
lookup with a new version empties it, so nothing older than the index is
ever served, and nothing of an old generation is held once a new one is in
use. Its size is bounded by ``capacity``, in whatever unit ``measure``
counts (bytes, or 1 per entry), least recently used out first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["VersionedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class VersionedCache(Generic[K, V]):
    """Values of one version, at most ``capacity`` of them as ``measure`` counts; safe to share between threads.

    A value that measures more than ``largest`` (default: ``capacity``) is
    not kept: it would push out many others. The values are shared, not
    copied: keep only values nobody changes.
    """

    def __init__(self, capacity: int, measure: Callable[[K, V], int], largest: int | None = None) -> None:
        self.capacity = capacity
        self.largest = capacity if largest is None else largest
        self.used = 0
        self._measure = measure
        self._version: Hashable = None
        self._kept: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: Hashable, key: K) -> V | None:
        """The value kept under ``key`` for ``version``, or None; a new version empties the cache first."""
        with self._lock:
            if version != self._version:
                self._version = version
                self._kept.clear()
                self.used = 0
                return None
            found = self._kept.get(key)
            if found is None:
                return None
            self._kept.move_to_end(key)
            return found[0]

    def put(self, version: Hashable, key: K, value: V) -> None:
        """Keep ``value`` under ``key``, if ``version`` is still the one cached and the value is not too large."""
        size = self._measure(key, value)
        if size > self.largest or size > self.capacity:
            return
        with self._lock:
            if version != self._version:
                return
            previous = self._kept.pop(key, None)
            if previous is not None:
                self.used -= previous[1]
            self._kept[key] = (value, size)
            self.used += size
            while self.used > self.capacity:
                self.used -= self._kept.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._kept)
