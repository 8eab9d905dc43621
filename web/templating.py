"""Jinja filters and helpers: dates in the site's zone, hints in Chinese, page links.

Presentation only; nothing here searches.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app

__all__ = ["init_app", "local_date", "hint_zh", "page_numbers"]

# The library's hints are English; the page speaks Chinese. A hint not
# listed here is shown as the library wrote it.
_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"OR needs a term on each side; it was ignored"), "OR 两侧都需要有搜索词，已忽略"),
    (
        re.compile(r"a query of only exclusions matches nothing; add a term to search for"),
        "只有排除词（-词）的查询找不到结果，请加上要搜索的词",
    ),
    (re.compile(r"the query has no searchable words"), "查询中没有可以搜索的词"),
    (re.compile(r"the query was shortened to its first (\d+) characters"), r"查询过长，只使用了前 \1 个字符"),
    (re.compile(r"an unbalanced quote was ignored"), "有一个引号没有配对，已忽略"),
    (
        re.compile(r"no post matches; try fewer words, other spellings, or no quotes or filters"),
        "没有匹配的文章：试试减少关键词、换个说法，或去掉引号和筛选条件",
    ),
    (
        re.compile(r"(\w+):(.*) is not a date \(use 2021, 2021-10 or 2021-10-21\); it was ignored", re.S),
        r"“\1:\2”不是日期（可写 2021、2021-10 或 2021-10-21），已忽略",
    ),
]


def hint_zh(hint: str) -> str:
    """The Chinese wording of one of the library's query hints."""
    for pattern, wording in _HINTS:
        match = pattern.fullmatch(hint)
        if match:
            return match.expand(wording)
    return hint


def local_date(value: str | None, with_time: bool = False) -> str:
    """An ISO date from the library, in the site's zone: ``2021年10月21日`` (``18:42``)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    try:
        zone = ZoneInfo(current_app.config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if moment.tzinfo is not None and zone is not None:
        moment = moment.astimezone(zone)
    text = f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{text} {moment:%H:%M}" if with_time else text


def iso_date(value: str | None) -> str:
    """The ``datetime`` attribute of a ``<time>`` element (the date as the library gave it)."""
    return value or ""


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``around`` either side; None is a gap."""
    if pages <= 0:
        return []
    wanted = {1, pages} | set(range(max(1, page - around), min(pages, page + around) + 1))
    numbers: list[int | None] = []
    for number in sorted(wanted):
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def init_app(app: Flask) -> None:
    app.add_template_filter(hint_zh, "hint_zh")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(iso_date, "iso_date")
    app.add_template_global(page_numbers, "page_numbers")
