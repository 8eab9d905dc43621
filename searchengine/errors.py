"""The one exception family raised by the searchengine library.

The CLI and the web app catch :class:`SearchEngineError` and show its message
as a one-line reason; they never show a traceback to a user.
"""

from __future__ import annotations

from pathlib import Path


class SearchEngineError(Exception):
    """Base class of every error the library raises on purpose."""


class DocumentError(SearchEngineError):
    """A post could not be read; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class IndexMissingError(SearchEngineError):
    """There is no index at the given location."""


class IncompatibleIndexError(SearchEngineError):
    """The index was built with other analysis settings and must be rebuilt."""


class IndexDamagedError(SearchEngineError):
    """The index's files are damaged (truncated, garbled, missing): it must be rebuilt."""


class IndexLockedError(SearchEngineError):
    """Another build holds the index's write lock."""


class ParameterError(SearchEngineError, ValueError):
    """A parameter of a library call (page, limit, sort, a filter) is invalid."""
