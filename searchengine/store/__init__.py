"""The storage boundary: the only code that imports whoosh.

* :mod:`~searchengine.store.schema` — what an index holds per post, and the
  name of every stored field;
* :mod:`~searchengine.store.segments` — whoosh segments written and read a
  whole posting list at a time;
* :mod:`~searchengine.store.view` — one generation opened for searching, as
  numpy arrays;
* :mod:`~searchengine.store.index` — an index folder: opening, the
  compatibility check, the lock, the manifest and the commit;
* :mod:`~searchengine.store.mapped` — segment files read where they are
  mapped, not copied into the heap.

whoosh is pinned (see the README) because these modules use its internals;
``tests/test_store.py`` checks that nothing outside this package imports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from searchengine.store.index import FORMAT, IndexFolder, IndexWriter, SegmentSink
    from searchengine.store.segments import Postings
    from searchengine.store.view import IndexView, Vocabulary

# Loaded on first use: ``searchengine.store.fields`` (plain names) must stay
# importable without loading whoosh.
_LAZY = {
    "FORMAT": "searchengine.store.index",
    "IndexFolder": "searchengine.store.index",
    "IndexWriter": "searchengine.store.index",
    "SegmentSink": "searchengine.store.index",
    "Postings": "searchengine.store.segments",
    "IndexView": "searchengine.store.view",
    "Vocabulary": "searchengine.store.view",
}

__all__ = ["FORMAT", "IndexFolder", "IndexWriter", "IndexView", "Postings", "SegmentSink", "Vocabulary"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'searchengine.store' has no attribute {name!r}")
