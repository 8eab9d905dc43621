"""Settings are data: one table read by the CLI and the web app alike.

Each setting has a default, a help text and an environment variable
(``SEARCHENGINE_`` + the upper-cased name) that overrides the default; a
command-line option overrides both. A test checks that every setting is
documented in the README.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from searchengine.documents import DEFAULT_TIMEZONE, MAX_POST_BYTES
from searchengine.errors import ParameterError

__all__ = ["Setting", "SETTINGS", "setting", "env_name"]


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: Callable[[str], Any] = str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("index", "index", "Folder of the index to build or search."),
        Setting("timezone", DEFAULT_TIMEZONE, "Zone for dates written without one, date filters and the year facet."),
        Setting("user_dict", "", "jieba user dictionary (word [freq] [tag] per line); empty: the bundled one."),
        Setting("workers", 0, "Processes analysing posts during a build; 0: one per core.", int),
        Setting("max_post_bytes", MAX_POST_BYTES, "Posts larger than this many bytes are refused.", int),
        Setting("lock_timeout", 5.0, "Seconds a build waits for another build's lock.", float),
        Setting("host", "127.0.0.1", "Address the web server listens on."),
        Setting("port", 5000, "Port the web server listens on.", int),
        Setting("threads", 8, "Threads of each web server process.", int),
        Setting("web_workers", 0, "Processes of the web server, sharing its port; 0: one per core.", int),
        Setting("page_size", 10, "Results per page on the search page.", int),
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
    except ValueError:
        raise ParameterError(f"{env_name(name)}={raw!r}: not a valid {spec.kind.__name__}") from None
