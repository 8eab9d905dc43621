"""searchengine: full-text search for Chinese news archives.

The library is the product; the ``searchengine`` command and the web app are
thin layers over it::

    from searchengine import SearchEngine, build_index
    build_index("posts/", "index/")
    result = SearchEngine("index/").search('"莫斯科模式" 塔利班')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from searchengine.errors import (
    DocumentError,
    IncompatibleIndexError,
    IndexDamagedError,
    IndexLockedError,
    IndexMissingError,
    ParameterError,
    SearchEngineError,
)

if TYPE_CHECKING:
    from searchengine.documents import Document, load_post, walk_posts
    from searchengine.engine import SearchEngine
    from searchengine.indexer import BuildOptions, BuildReport, build_index

# The heavy names load on first use, so that `searchengine --help` and
# `import searchengine.errors` stay quick.
_LAZY = {
    "SearchEngine": "searchengine.engine",
    "build_index": "searchengine.indexer",
    "BuildOptions": "searchengine.indexer",
    "BuildReport": "searchengine.indexer",
    "Document": "searchengine.documents",
    "load_post": "searchengine.documents",
    "walk_posts": "searchengine.documents",
}

__all__ = [
    "__version__",
    "SearchEngine",
    "build_index",
    "BuildOptions",
    "BuildReport",
    "Document",
    "load_post",
    "walk_posts",
    "DocumentError",
    "IncompatibleIndexError",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexMissingError",
    "ParameterError",
    "SearchEngineError",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'searchengine' has no attribute {name!r}")
