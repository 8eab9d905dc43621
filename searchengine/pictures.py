"""Pictures of posts: which image addresses are usable, and which hosts a site loads them from.

A post names its pictures in front matter (``headimg``, ``thumbnail``...) and
in ``<img src>``; both are untrusted text. :func:`image_address` keeps only
what can only ever be a picture's address: an ``http``/``https`` URL or a
site-relative path (``/images/a.jpg``), cleaned up so that it means the same
to every URL parser. ``javascript:``, ``data:``, ``//other.host/`` (a host in
disguise), relative paths and anything with control characters or
backslashes (which browsers and Python read differently) are not addresses.

:class:`ImageHosts` is the ``image_hosts`` setting: the hosts whose images a
site shows. Showing an image makes the reader's browser fetch it from that
host (a request the host sees, and a wait); the default, ``none``, shows no
external image at all, so that a page works offline and tells no one it was
read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

from searchengine.errors import ParameterError

__all__ = ["ImageHosts", "image_address", "thumbnail"]

#: Longer addresses are not worth showing (and a front-matter value may be anything).
MAX_ADDRESS_CHARS = 2048
# Characters left as they are in a path or query: RFC 3986's unreserved and
# sub-delimiters, plus "%" so that an address already encoded is not encoded twice.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"
# One label of a host name, as browsers accept it (underscores included).
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Control characters (browsers drop tabs and line breaks inside a URL, so that
# "java\tscript:" is "javascript:") and backslashes (browsers read them as "/").
_UNCLEAR = re.compile(r"[\x00-\x1f\x7f\\]")
_EXAMPLE = "none, https, or host names separated by commas (p1.img.cctvpic.com,*.cctvpic.com)"


def image_address(raw: object) -> str | None:
    """``raw`` as an image address a page may use, or None when it is not one.

    Returns an absolute ``http``/``https`` URL (host lower-cased and
    ASCII, default port dropped, unsafe characters such as quotes, spaces
    and ``<`` percent-encoded) or a site-relative path, encoded alike.
    """
    address = _Address.read(raw)
    return None if address is None else str(address)


def thumbnail(images: Iterable[str]) -> str | None:
    """The picture to show beside a post in a list of results: its first usable image address.

    ``images`` is what the index stores, front-matter pictures first, then
    the body's, so this is the first front-matter picture, else the first
    picture in the body, else None.
    """
    for raw in images:
        address = image_address(raw)
        if address is not None:
            return address
    return None


class _Address(NamedTuple):
    """An image address taken apart; ``scheme`` and ``host`` are "" for a site-relative path."""

    scheme: str
    host: str
    port: int | None  # None: the scheme's default
    path: str
    query: str
    fragment: str

    @classmethod
    def read(cls, raw: object) -> _Address | None:
        """``raw`` taken apart, when it is an image address."""
        if not isinstance(raw, str):
            return None
        text = raw.strip()
        if not text or len(text) > MAX_ADDRESS_CHARS or _UNCLEAR.search(text):
            return None
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:  # a bad port or IPv6 literal
            return None
        scheme = parts.scheme.lower()
        if not scheme:  # only a site-relative path; "//host/x" is a host in disguise
            if not text.startswith("/") or text.startswith("//"):
                return None
            return cls("", "", None, parts.path, parts.query, parts.fragment)
        if scheme not in _DEFAULT_PORTS or parts.username is not None or parts.password is not None:
            return None
        host = _ascii_host(parts.hostname or "")
        if host is None:
            return None
        port = None if port == _DEFAULT_PORTS[scheme] else port
        return cls(scheme, host, port, parts.path or "/", parts.query, parts.fragment)

    def __str__(self) -> str:
        netloc = self.host if self.port is None else f"{self.host}:{self.port}"
        return urlunsplit((self.scheme, netloc, quote(self.path, safe=_PATH_SAFE),
                           quote(self.query, safe=_QUERY_SAFE), quote(self.fragment, safe=_QUERY_SAFE)))


def _ascii_host(name: str) -> str | None:
    """A host name lower-cased and in ASCII (``例子.中国`` → ``xn--fsqu00a.xn--fiqs8s``), or None if it is not one."""
    name = name.lower().removesuffix(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return name if len(name) <= 253 and _HOST_NAME.fullmatch(name) else None


@dataclass(frozen=True)
class ImageHosts:
    """The ``image_hosts`` setting: where a site's pages may load images from.

    ``ImageHosts()`` (``none``) allows no host; ``any_https`` (``https``)
    allows every https host; otherwise ``hosts`` lists host names, and
    ``*.cctvpic.com`` stands for every name ending in ``.cctvpic.com``.
    Images are only ever loaded over https, on its default port: an http
    image would be mixed content on an https site, and CSP source
    ``https://host`` allows neither http nor other ports.
    """

    any_https: bool = False
    hosts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str) -> ImageHosts:
        """Read the setting's text; a bad value raises :class:`~searchengine.errors.ParameterError` naming it."""
        if not isinstance(value, str):
            raise ParameterError(f"image_hosts must be {_EXAMPLE}, not {value!r}")
        text = value.strip().lower()
        if text in ("none", ""):
            return cls()
        if text == "https":
            return cls(any_https=True)
        hosts = tuple(dict.fromkeys(_host_pattern(item.strip()) for item in text.split(",") if item.strip()))
        if not hosts:
            raise ParameterError(f"image_hosts must be {_EXAMPLE}, not {value!r}")
        return cls(hosts=hosts)

    def __str__(self) -> str:
        """The setting's text, as :meth:`parse` reads it."""
        return "https" if self.any_https else ",".join(self.hosts) or "none"

    def allowed(self, raw: object) -> str | None:
        """``raw`` as an address a page may load an image from under this setting, or None."""
        address = _Address.read(raw)
        if address is None or address.scheme != "https":
            return None
        if self.any_https or (address.port is None and self._lists(address.host)):
            return str(address)
        return None

    def csp_sources(self) -> tuple[str, ...]:
        """The sources this setting adds to a Content-Security-Policy's ``img-src``."""
        return ("https:",) if self.any_https else tuple(f"https://{host}" for host in self.hosts)

    def _lists(self, host: str) -> bool:
        """True when ``host`` is one of the names, or ends in one of the ``*.`` domains (as CSP matches them)."""
        return any(host.endswith(pattern[1:]) if pattern[:2] == "*." else host == pattern for pattern in self.hosts)


def _host_pattern(item: str) -> str:
    """One entry of the setting: a host name or ``*.`` and a domain, as ASCII."""
    if item in ("none", "https"):
        raise ParameterError(f"image_hosts: {item} cannot be combined with host names; give {_EXAMPLE}")
    if "://" in item or "/" in item:
        alone = urlsplit(item).hostname or "p1.img.cctvpic.com"
        raise ParameterError(f"image_hosts: {item!r} is not a host name; write the host alone ({alone}), as {_EXAMPLE}")
    wildcard = item.startswith("*.")
    host = _ascii_host(item[2:] if wildcard else item)
    if host is None:
        raise ParameterError(f"image_hosts: {item!r} is not a host name; give {_EXAMPLE}")
    return f"*.{host}" if wildcard else host
