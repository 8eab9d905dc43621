"""Front-matter dates: every form a Hexo archive uses, read as an aware datetime.

Accepted forms (a string, or what YAML already turned into a date):

* RFC 2822, as the corpus writes it: ``Thu, 21 Oct 2021 10:42:36 GMT``;
* ISO 8601: ``2021-10-21T10:42:36+08:00``, ``2021-10-21T02:42:36Z``, ``2021-10-21``;
* Hexo's own ``2021-10-21 10:42:36`` and ``2021-10-21 10:42``, and the same with
  slashes (``2021/10/21 10:42``); one-digit months, days and hours are allowed,
  as moment.js (which Hexo uses) allows them;
* :class:`datetime.datetime` and :class:`datetime.date` objects: YAML turns
  ``2021-10-21`` and ``2021-10-21 10:42:36`` into these before we see them.

A date without a zone is read in the archive's zone (``Asia/Shanghai`` unless
configured), because that is how Hexo reads it; a date with a zone or offset keeps
it, so no information is lost. A date-only value means midnight in that zone.
RFC 2822's ``-0000`` ("offset unknown") counts as zone-less.

A date must also lie between 1000-01-01 and 9997-12-31 in UTC. Python's
datetimes end at the years 1 and 9999, and a post dated ``0001-01-01`` in
Shanghai (or ``9999-12-31`` at ``-12:00``) is an instant outside them: its
``timestamp()``, ``astimezone()`` or the year after it fail far from the post.
Inside the range, every zone's local year is 999..9998, so all of those work.
"""

from __future__ import annotations

import email.utils
import functools
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from searchengine.errors import ParameterError

__all__ = ["load_zone", "parse_date"]

_NUMERIC = re.compile(
    r"(?P<year>\d{4})(?P<sep>[-/])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"(?:[T ]\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?"
    r"\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)

_FORMS = "RFC 2822, ISO 8601, YYYY-MM-DD HH:MM[:SS] or YYYY/MM/DD HH:MM[:SS]"

# The instants a date may be, [start, end): see the module docstring for why.
# No news archive has a date outside them.
_EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
_END = datetime(9998, 1, 1, tzinfo=UTC)
_OUT_OF_RANGE = "out of range: only dates from 1000-01-01 to 9997-12-31 (UTC) are supported"


@functools.cache
def load_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; cached, since every post of a build asks for it.

    :raises ParameterError: naming the ``timezone`` parameter when there is no such zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ParameterError(
            f"timezone: unknown time zone {name!r} (use an IANA name such as 'Asia/Shanghai')"
        ) from None


def parse_date(value: object, zone: str) -> datetime:
    """Read a front-matter ``date`` value as a timezone-aware datetime.

    Zone-less values are read in ``zone``; see the module docstring for the forms.

    :raises ValueError: with a one-line reason when ``value`` is not a valid date,
        or is outside the supported range.
    :raises ParameterError: when ``zone`` is not a known time zone.
    """
    tz = load_zone(zone)
    parsed = _aware(value, tz)
    # Aware datetimes compare by their UTC instants without building one, so this
    # cannot overflow even where astimezone() would.
    if not _EARLIEST <= parsed < _END:
        raise ValueError(_OUT_OF_RANGE)
    return parsed


def _aware(value: object, tz: ZoneInfo) -> datetime:
    """``value`` as an aware datetime, a zone-less one read in ``tz``; any year datetime knows."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz)
    if not isinstance(value, str):
        raise ValueError(f"expected a date or a string, got {type(value).__name__}")
    text = value.strip()
    match = _NUMERIC.fullmatch(text)
    parsed = _from_numeric(match) if match else _from_rfc2822(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _from_numeric(match: re.Match[str]) -> datetime:
    """Build the datetime of an ISO-like match; datetime() names a bad month or day."""
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    return datetime(
        int(match["year"]),
        int(match["month"]),
        int(match["day"]),
        int(match["hour"] or 0),
        int(match["minute"] or 0),
        int(match["second"] or 0),
        int(fraction),
        tzinfo=_offset(match["offset"]),
    )


def _offset(text: str | None) -> timezone | None:
    """``Z``, ``+08:00``, ``+0800`` or ``+08`` as a fixed offset; None when absent."""
    if text is None:
        return None
    if text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return timezone(-delta if text[0] == "-" else delta)


def _from_rfc2822(text: str) -> datetime:
    """Parse an RFC 2822 date; anything it cannot split into fields is an unknown form."""
    if email.utils.parsedate_tz(text) is None:
        raise ValueError(f"not a date in a known form ({_FORMS})")
    return email.utils.parsedate_to_datetime(text)
