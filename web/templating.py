"""Jinja filters and helpers: dates in the site's zone, hints in Chinese, page links.

Presentation only; nothing here searches.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, g, url_for

from searchengine.facets import FACETS
from searchengine.normalize import keyword_key
from searchengine.query import has_phrase
from searchengine.results import Hint, SearchResult
from searchengine.web.charts import range_label, timeline_chart
from searchengine.web.params import SearchParams

__all__ = ["init_app", "local_date", "hint_zh", "page_numbers", "HINTS_ZH", "EXPANSION_SOURCES_ZH"]

#: The page's wording of each of the library's hints (see ``searchengine.results.HINT_TEXTS``).
HINTS_ZH = {
    "or_without_term": "OR 两侧都需要有搜索词，已忽略",
    "only_exclusions": "只有排除词（-词）的查询找不到结果，请加上要搜索的词",
    "nothing_searchable": "查询中没有可以搜索的词",
    "shortened": "查询过长，只使用了前 {limit} 个字符",
    "unbalanced_quote": "有一个引号没有配对，已忽略",
    "not_a_date": "“{field}:{value}”不是日期（可写 2021、2021-10 或 2021-10-21），已忽略",
    "not_a_value": "“{field}:{value}”不是有效的筛选值，已忽略",
    "no_match": "没有匹配的文章：试试减少关键词、换个说法，或去掉引号和筛选条件",
}


#: The page's wording of where an expansion's forms come from (``Expansion.source``).
EXPANSION_SOURCES_ZH = {
    "regional": "港台与大陆用语",
    "alias": "人名、地名的别称",
}


def hint_zh(hint: Hint) -> str:
    """The Chinese wording of one of the library's hints (its English text if it has none)."""
    wording = HINTS_ZH.get(hint.code)
    return wording.format(**hint.params) if wording is not None else hint.text


def local_date(value: str | None, with_time: bool = False) -> str:
    """An ISO date from the library, in the site's zone: ``2021年10月21日`` (``18:42``).

    A post dated without a time of day is stored as midnight in the archive's
    zone (see :mod:`searchengine.dates`): it shows its day as written, with no
    ``00:00`` and not moved to the site's zone, where that midnight may fall on
    the day before.
    """
    moment = parsed_date(value)
    if moment is None:
        return value or ""
    if _date_only(moment):
        return _day(moment)
    moment = _in_site_zone(moment)
    return f"{_day(moment)} {moment:%H:%M}" if with_time else _day(moment)


def iso_date(value: str | None) -> str:
    """The ``datetime`` attribute of a ``<time>`` element: the library's date, only the day when it has no time."""
    moment = parsed_date(value)
    if moment is not None and _date_only(moment):
        return moment.date().isoformat()
    return value or ""


def parsed_date(value: str | None) -> datetime | None:
    """A date as the library gives it (ISO 8601) as a datetime; None when there is none or it is not one."""
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _date_only(moment: datetime) -> bool:
    """True for midnight exactly, how the library stores a date given without a time.

    The index does not say whether a time was given, so a post written at
    00:00:00 sharp shows its day only too.
    """
    return moment.time() == time()


def _in_site_zone(moment: datetime) -> datetime:
    try:
        zone = ZoneInfo(current_app.config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        return moment
    return moment.astimezone(zone) if moment.tzinfo is not None else moment


def _day(moment: datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日"


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``around`` either side; None is a gap.

    A page past the end (``page=99`` of 3) is shown as if it were the last, so
    the links lead back to the pages there are. A gap of one page shows that
    page: its number is no wider than the "…" that would hide it.
    """
    if pages <= 0:
        return []
    centre = min(page, pages)
    wanted = {1, pages} | set(range(max(1, centre - around), min(pages, centre + around) + 1))
    numbers: list[int | None] = []
    previous = 0
    for number in sorted(wanted):
        if number - previous == 2:
            numbers.append(number - 1)
        elif number - previous > 2:
            numbers.append(None)
        numbers.append(number)
        previous = number
    return numbers


#: What werkzeug's router leaves unquoted in a query string (see :func:`search_url`).
_QUERY_SAFE = "!$'()*,/:;?@"


def search_url(args: Mapping[str, Any]) -> str:
    """``url_for('pages.search', **args)``, without the router.

    A results page holds a hundred links to other results (facet values,
    timeline bars, pages, authors); werkzeug's router costs about 40 µs a
    link, a third of the page's rendering. The results page's own address
    is found once per request, and the query string is encoded as the
    router encodes it (a test compares the two).
    """
    if "search_base" not in g:
        g.search_base = url_for("pages.search")
    return g.search_base + ("?" + urlencode(args, safe=_QUERY_SAFE) if args else "")


def selected_filters(params: SearchParams, result: SearchResult | None) -> dict[str, str]:
    """The value each facet is narrowed to: chosen on the page, or typed in the query (``category:国际``)."""
    chosen = dict(params.filters)
    for name, values in (result.filters if result is not None else {}).items():
        if values:
            chosen.setdefault(name, values[0])
    return chosen


def init_app(app: Flask) -> None:
    app.add_template_filter(hint_zh, "hint_zh")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(iso_date, "iso_date")
    app.add_template_global(page_numbers, "page_numbers")
    app.add_template_global(has_phrase, "query_has_phrase")
    app.add_template_global(selected_filters, "selected_filters")
    app.add_template_global(search_url, "search_url")
    app.add_template_global(timeline_chart, "timeline_chart")
    app.add_template_filter(range_label, "date_span")
    app.add_template_filter(keyword_key, "keyword")
    app.jinja_env.globals.update(
        facets=FACETS, facet_labels={f.name: f.label for f in FACETS}, expansion_sources=EXPANSION_SOURCES_ZH
    )
