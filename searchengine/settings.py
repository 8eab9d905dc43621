"""Settings are data: one table read by the CLI and the web app alike.

Each setting has a default, a help text and an environment variable
(``SEARCHENGINE_`` + the upper-cased name) that overrides the default; a
command-line option overrides both. A test checks that every setting is
documented in the README.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from searchengine.documents import DEFAULT_TIMEZONE, MAX_POST_BYTES
from searchengine.errors import ParameterError
from searchengine.pictures import ImageHosts

__all__ = ["DEFAULT_BUILD_MEMORY", "Setting", "SETTINGS", "setting", "env_name", "megabytes"]


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: Callable[[str], Any] = str


def boolean(raw: str) -> bool:
    """A yes/no setting: 1, true, yes, on or 0, false, no, off."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


#: MB a build may use, its worker processes included (the ``build_memory`` setting).
DEFAULT_BUILD_MEMORY = 1024
#: The least ``build_memory`` that leaves room for postings beside two processes' own needs.
MIN_BUILD_MEMORY = 256
_SIZE_UNITS = {"": 1, "m": 1, "mb": 1, "g": 1024, "gb": 1024}


def megabytes(raw: str) -> int:
    """A size in MB: a number of MB, or with a unit (``800MB``, ``1.5GB``); at least :data:`MIN_BUILD_MEMORY`."""
    text = str(raw).strip().lower()
    number = text.rstrip("gmb ")
    unit = text[len(number) :].strip()
    if unit not in _SIZE_UNITS:
        raise ParameterError(f"{raw!r} is not a size: give MB (1024) or a unit (800MB, 1.5GB)")
    try:
        size = int(float(number) * _SIZE_UNITS[unit])
    except ValueError:
        raise ParameterError(f"{raw!r} is not a size: give MB (1024) or a unit (800MB, 1.5GB)") from None
    if size < MIN_BUILD_MEMORY:
        raise ParameterError(f"{raw!r} is too small: a build needs at least {MIN_BUILD_MEMORY} MB")
    return size


def image_hosts(raw: str) -> str:
    """The ``image_hosts`` setting, checked and written as :class:`~searchengine.pictures.ImageHosts` reads it."""
    return str(ImageHosts.parse(raw))


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("index", "index", "Folder of the index to build or search."),
        Setting("timezone", DEFAULT_TIMEZONE, "Zone for dates written without one, date filters and the year facet."),
        Setting("user_dict", "", "jieba user dictionary (word [freq] [tag] per line); empty: the bundled one."),
        Setting(
            "aliases",
            "",
            "User alias table, added to the bundled one (one group per line, standard form first); "
            "read again when it changes, no rebuild.",
        ),
        Setting("workers", 0, "Processes analysing posts during a build; 0: one per core.", int),
        Setting(
            "build_memory",
            DEFAULT_BUILD_MEMORY,
            "MB a build may use, its worker processes included (800MB, 1.5GB); past it, postings are "
            "spilled to a scratch file beside the index and merged when the segment is written.",
            megabytes,
        ),
        Setting("max_post_bytes", MAX_POST_BYTES, "Posts larger than this many bytes are refused.", int),
        Setting("lock_timeout", 5.0, "Seconds a build waits for another build's lock.", float),
        Setting(
            "follow_outside",
            False,
            "Index posts that symbolic links lead to outside the posts folder (off: they are reported and skipped).",
            boolean,
        ),
        Setting("host", "127.0.0.1", "Address the web server listens on."),
        Setting("port", 5000, "Port the web server listens on.", int),
        Setting("threads", 8, "Threads of each web server process.", int),
        Setting("web_workers", 0, "Processes of the web server, sharing its port; 0: one per core.", int),
        Setting(
            "connection_limit",
            1000,
            "Open connections each web server process holds; at the limit it stops accepting and new "
            "connections wait in the port's queue.",
            int,
        ),
        Setting(
            "header_timeout",
            10.0,
            "Seconds a client has to send a request's headers (from its first byte; for a new connection, "
            "from its opening) before the web server closes the connection.",
            float,
        ),
        Setting("page_size", 10, "Results per page on the search page.", int),
        Setting(
            "image_hosts",
            "none",
            "Hosts whose images the web pages show (thumbnails, post pictures): none (no external image: "
            "pages work offline and ask no other host), host names separated by commas (*.cctvpic.com for "
            "every name under it), or https (any host over https).",
            image_hosts,
        ),
    )
}


def env_name(name: str) -> str:
    return f"SEARCHENGINE_{name.upper()}"


def setting(name: str) -> Any:
    """The value of setting ``name``: its environment variable, else its default."""
    spec = SETTINGS[name]
    raw = os.environ.get(env_name(name))
    if raw is None or raw == "":
        return spec.default
    try:
        return spec.kind(raw)
    except ParameterError as error:  # a setting that says what is wrong with it
        raise ParameterError(f"{env_name(name)}={raw!r}: {error}") from None
    except ValueError:
        raise ParameterError(f"{env_name(name)}={raw!r}: not a valid {spec.kind.__name__}") from None
