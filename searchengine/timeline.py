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
from searchengine.store.schema import NO_DATE

__all__ = ["timeline", "MONTHS_BELOW", "MAX_FILLED"]

#: Matches spanning fewer months than this are counted by month, others by year.
MONTHS_BELOW = 36
#: The most periods listed with their zeros; a longer span lists only periods with posts.
MAX_FILLED = 240


def timeline(view: IndexView, matched: np.ndarray, timezone: str) -> list[TimelineBucket]:
    """The periods of the ``matched`` documents' dates, oldest first (posts without a date are left out)."""
    dates = view.date[matched]
    dated = dates != NO_DATE
    if not dated.any():
        return []
    years = view.year[matched][dated]
    first, last = int(years.min()), int(years.max())
    if (last - first) * 12 < MONTHS_BELOW and 1 <= first and last < 9999:
        months = _months(dates[dated], first, last, ZoneInfo(timezone))
        if int(months.max()) - int(months.min()) < MONTHS_BELOW:
            return _buckets(months, lambda m: f"{m // 12:04d}-{m % 12 + 1:02d}")
    return _buckets(years.astype(np.int64), lambda y: f"{y:04d}")


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


def _buckets(periods: np.ndarray, label: Callable[[int], str]) -> list[TimelineBucket]:
    low, high = int(periods.min()), int(periods.max())
    counts = np.bincount(periods - low, minlength=high - low + 1)
    filled = high - low + 1 <= MAX_FILLED
    return [TimelineBucket(label(low + offset), int(count)) for offset, count in enumerate(counts) if filled or count]
