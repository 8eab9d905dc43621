"""searchengine: full-text search for Chinese news archives.

The library is the product; the ``searchengine`` command and the web app are
thin layers over it::

    from searchengine import SearchEngine
    engine = SearchEngine("index")
    result = engine.search('"莫斯科模式" 塔利班')
"""

from __future__ import annotations

__version__ = "0.1.0"

from searchengine.errors import (
    DocumentError,
    IncompatibleIndexError,
    IndexLockedError,
    IndexMissingError,
    ParameterError,
    SearchEngineError,
)

__all__ = [
    "__version__",
    "DocumentError",
    "IncompatibleIndexError",
    "IndexLockedError",
    "IndexMissingError",
    "ParameterError",
    "SearchEngineError",
]
