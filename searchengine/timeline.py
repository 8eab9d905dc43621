"""The timeline of a result: how many of its matches fall in each year or month.

A reader searching a news archive wants to see at a glance when a topic rose
(碳中和 barely exists before 2020). So every search result carries a date
histogram of all its matches, not only the page shown: by year, or by month
when the matches span less than :data:`MONTHS_BELOW` months, where years
would be one or two bars.

Periods are calendar periods in the engine's time zone, the zone the year
facet and ``date:`` filters use, so a bar's count is exactly what filtering
to its period (``date=2021-10``) finds. Empty periods between the first and
the last are listed with a count of 0 (a gap in coverage is information),
unless the span is absurdly long (posts dated in year 1 and year 9999), when
only the periods with posts are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from searchengine.results import TimelineBucket
from searchengine.store import IndexView

__all__ = ["timeline", "MONTHS_BELOW", "MAX_FILLED"]

#: Matches spanning fewer months than this are counted by month, others by year.
MONTHS_BELOW = 36
#: The most periods listed with their zeros; a longer span lists only periods with posts.
MAX_FILLED = 240


def timeline(view: IndexView, matched: np.ndarray, timezone: str) -> list[TimelineBucket]:
    """The periods of the ``matched`` documents' dates, oldest first.

    Posts without a date are left out, as the year facet leaves them out
    (so is a post whose date falls in year 0 of the engine's zone, which
    only a post dated 1 January of year 1 and read in another zone can).
    The years are one ``bincount`` of the matches' years, the one pass a
    common word's 800,000 matches need when they span years (the dates
    themselves, read for months only, took twice as long).
    """
    years = view.year[matched]
    per_year = np.bincount(years, minlength=1)
    found = np.flatnonzero(per_year[1:]) + 1
    if not len(found):
        return []
    first, last = int(found[0]), int(found[-1])
    if (last - first) * 12 < MONTHS_BELOW and last < 9999:
        months = _months(view.date[matched][years > 0], first, last, ZoneInfo(timezone))
        low, high = int(months.min()), int(months.max())
        if high - low < MONTHS_BELOW:
            return _buckets(low, np.bincount(months - low), lambda m: f"{m // 12:04d}-{m % 12 + 1:02d}")
    return _buckets(first, per_year[first : last + 1], lambda y: f"{y:04d}")


def _months(dates: np.ndarray, first_year: int, last_year: int, zone: ZoneInfo) -> np.ndarray:
    """Each date's month as ``year * 12 + month - 1``, in ``zone``.

    Exact at every month boundary, daylight saving included: the boundaries
    are the instants of local midnight on each 1st, and each date is placed
    among them by binary search.
    """
    start = first_year * 12
    starts = [
        datetime(month // 12, month % 12 + 1, 1, tzinfo=zone).timestamp()
        for month in range(start, (last_year + 1) * 12 + 1)
    ]
    return np.searchsorted(np.asarray(starts), dates, side="right") - 1 + start


def _buckets(low: int, counts: np.ndarray, label: Callable[[int], str]) -> list[TimelineBucket]:
    """The buckets of periods ``low``, ``low + 1``... counted ``counts``: all of them, or only those with posts
    when they are more than :data:`MAX_FILLED`."""
    filled = len(counts) <= MAX_FILLED
    return [TimelineBucket(label(low + offset), int(count)) for offset, count in enumerate(counts) if filled or count]
