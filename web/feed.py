"""The Atom feed of a search: ``/feed?q=…`` lists its newest matches, so a reader can follow a topic or a person.

The feed takes the search page's parameters (``q``, the facet filters
``category``/``author``/``tag``/``year``, ``date``, ``correct=0``) and searches them
through :meth:`SearchEngine.search` with ``sort="date"``: its entries are the
:data:`FEED_SIZE` newest matches. Order and page are the feed's own, so
``sort`` and ``page`` are not carried into it. A bad parameter is the same
400 as on the page; a request with neither query nor filter is a 400 too, as
the library finds nothing for it (the CLI refuses it the same way).

The XML is built with ElementTree, which escapes every text and attribute,
and every text first goes through :func:`xml_text`, which drops the
characters XML 1.0 forbids (control characters, lone surrogates,
U+FFFE/U+FFFF): a hostile query or a scraped post can make a feed poorer,
never ill-formed. Only what the page shows is sent: titles and snippets as
plain text, never a post's HTML.

Feed readers poll, so the response may be cached for five minutes and
carries an ETag (a reader that sends it back gets a 304).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for

from searchengine import __version__
from searchengine.errors import ParameterError
from searchengine.facets import FACETS
from searchengine.results import Hit
from searchengine.web import get_engine
from searchengine.web.params import SearchParams
from searchengine.web.templating import parsed_date

__all__ = ["bp", "FEED_SIZE", "xml_text", "feed_args", "feed_title"]

bp = Blueprint("feed", __name__)

#: How many of the newest matches a feed lists.
FEED_SIZE = 25

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
#: What ``updated`` says when there is no date to give (no entries, or an undated post):
#: a fixed instant, so the feed stays the same, byte for byte, until its entries change.
UNDATED = "1970-01-01T00:00:00Z"
_MAX_AGE = 300
_TITLE_CHARS = 60
_LABELS = {f.name: f.label for f in FACETS}
# Everything outside XML 1.0's Char production: C0 controls but tab, LF and
# CR; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 does not allow anywhere in a document."""
    return _NOT_XML.sub("", text)


def feed_args(params: SearchParams) -> dict[str, Any]:
    """Query-string arguments of the feed of a search: its query and filters.

    ``sort`` and ``page`` are left out (``relevance`` and page 1 are the
    defaults :meth:`SearchParams.url_args` omits): a feed is always the
    newest matches, whatever order the page was in.
    """
    return params.url_args(sort="relevance")


def feed_title(params: SearchParams) -> str:
    """The feed's title: ``“query” · 分类：国际 · 时间：2021 - site name``, each part shortened, on one line."""
    parts = [f"“{_shortened(params.link_q)}”"] if params.q.strip() else []
    parts += [f"{_LABELS[name]}：{_shortened(value)}" for name, value in params.filters.items()]
    if params.date:
        parts.append(f"时间：{_shortened(params.date)}")
    return f"{' · '.join(parts)} - {current_app.config['SITE_NAME']}"


def _shortened(text: str) -> str:
    text = " ".join(xml_text(text).split())
    return text if len(text) <= _TITLE_CHARS else text[: _TITLE_CHARS - 1] + "…"


def feed_url(params: SearchParams) -> str:
    """The URL of a search's feed, for the page's links to it."""
    return url_for("feed.feed", **feed_args(params))


bp.add_app_template_global(feed_url, "feed_url")
bp.add_app_template_global(feed_title, "feed_title")


@bp.get("/feed")
def feed() -> Response:
    """The Atom feed of the newest posts matching the search page's parameters."""
    params = SearchParams.from_args(request.args, FEED_SIZE)
    if not params.wants_results:
        raise ParameterError(
            "nothing to search for: a feed follows a query (/feed?q=莫斯科模式) or a filter (/feed?category=国际)"
        )
    newest = replace(params, sort="date", page=1, explain=False)
    result = get_engine().search(**newest.search_kwargs())
    response = Response(_atom(params, result.hits), content_type=CONTENT_TYPE)
    response.cache_control.public = True
    response.cache_control.max_age = _MAX_AGE
    response.add_etag()
    response.make_conditional(request)  # a 304 without a body when the reader has this feed already
    return response


def _atom(params: SearchParams, hits: list[Hit]) -> str:
    """The feed document: the search's title and links, then one entry per hit."""
    self_url = url_for("feed.feed", **feed_args(params), _external=True)
    dates = [moment for hit in hits if (moment := _moment(hit.date)) is not None]
    root = ET.Element("feed", {"xmlns": ATOM, "xml:lang": "zh-CN"})
    _text(root, "id", self_url)
    _text(root, "title", feed_title(params))
    _text(root, "updated", _rfc3339(max(dates)) if dates else UNDATED)
    ET.SubElement(root, "link", rel="self", type="application/atom+xml", href=self_url)
    search_url = url_for("pages.search", **params.url_args(sort="date"), _external=True)
    ET.SubElement(root, "link", rel="alternate", type="text/html", href=search_url)
    _text(root, "generator", "searchengine", version=__version__)
    _text(ET.SubElement(root, "author"), "name", current_app.config["SITE_NAME"])  # for entries without one
    for hit in hits:
        _entry(root, hit)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _entry(root: ET.Element, hit: Hit) -> None:
    post_url = url_for("pages.post", post_path=hit.path, _external=True)
    moment = _moment(hit.date)
    stamp = _rfc3339(moment) if moment is not None else UNDATED
    title, author, summary = (xml_text(text).strip() for text in (hit.title, hit.author, hit.snippet.text))
    entry = ET.SubElement(root, "entry")
    _text(entry, "id", post_url)
    _text(entry, "title", title or hit.path, type="text")
    ET.SubElement(entry, "link", rel="alternate", type="text/html", href=post_url)
    _text(entry, "published", stamp)
    _text(entry, "updated", stamp)
    if author:
        _text(ET.SubElement(entry, "author"), "name", author)
    for term in dict.fromkeys(xml_text(term).strip() for term in hit.categories + hit.tags):
        if term:
            ET.SubElement(entry, "category", term=term)
    if summary:
        _text(entry, "summary", summary, type="text")


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> None:
    """Add ``<tag>text</tag>`` to ``parent``, the text made safe for XML."""
    ET.SubElement(parent, tag, attributes).text = xml_text(text)


def _moment(value: str | None) -> datetime | None:
    """A hit's date (ISO 8601, with its offset) as a datetime; None when it has none."""
    moment = parsed_date(value)
    return moment if moment is not None and moment.tzinfo is not None else None


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
