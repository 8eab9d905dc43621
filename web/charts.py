"""The timeline chart: a result's timeline laid out as bars of an inline SVG.

Drawn on the server, so that it needs no script (the CSP allows none inline,
and the page must work without JavaScript) and no inline style: every size
is an SVG attribute, every colour a class in ``style.css``. Each bar with
posts is a link that narrows the search to its period; the template
(``_timeline.html``) only writes out what :func:`timeline_chart` computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from searchengine.results import TimelineBucket

__all__ = ["Bar", "Tick", "Chart", "timeline_chart", "period_label", "range_label"]

#: The chart's drawing size, in SVG units; it scales to the column's width.
WIDTH = 640
BARS_HEIGHT = 56
LABEL_HEIGHT = 16
#: The most period labels under the bars, so that they never overlap.
MAX_TICKS = 8


@dataclass(frozen=True)
class Bar:
    period: str
    count: int
    label: str  # what a reader hears or sees on hover: 2021年10月：12 篇
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    width: int
    height: int
    bars_height: int
    by_month: bool


def period_label(period: str) -> str:
    """``2021`` → ``2021年``; ``2021-10`` → ``2021年10月``; ``2021-10-21`` → ``2021年10月21日``.

    Text that is not a period (it comes from a URL) is returned as it is.
    """
    parts = re.split(r"[-/.]", period.strip())
    if not 1 <= len(parts) <= 3 or not all(part.isascii() and part.isdigit() for part in parts):
        return period
    return "".join(f"{int(part)}{unit}" for part, unit in zip(parts, "年月日", strict=False))


def range_label(value: str) -> str:
    """A ``date`` filter in words: ``2020-03..2021-06`` → ``2020年3月至2021年6月``, ``2020..`` → ``2020年起``."""
    low, dots, high = value.partition("..")
    if not dots:
        return period_label(value)
    if not high.strip():
        return f"{period_label(low)}起"
    if not low.strip():
        return f"{period_label(high)}止"
    return f"{period_label(low)}至{period_label(high)}"


def timeline_chart(timeline: list[TimelineBucket]) -> Chart | None:
    """The bars and labels of ``timeline``; None when there is nothing to compare (under two periods)."""
    if len(timeline) < 2:
        return None
    most = max(bucket.count for bucket in timeline) or 1
    step = WIDTH / len(timeline)
    gap = min(step * 0.2, 4.0)
    bars = []
    for index, bucket in enumerate(timeline):
        # A period with any post gets at least a sliver: one post must not look like none.
        height = max(BARS_HEIGHT * bucket.count / most, 2.0) if bucket.count else 0.0
        bars.append(
            Bar(
                period=bucket.period,
                count=bucket.count,
                label=f"{period_label(bucket.period)}：{bucket.count} 篇",
                x=round(index * step + gap / 2, 2),
                y=round(BARS_HEIGHT - height, 2),
                width=round(step - gap, 2),
                height=round(height, 2),
            )
        )
    by_month = "-" in timeline[0].period
    return Chart(bars, _ticks(bars, by_month, step), WIDTH, BARS_HEIGHT + LABEL_HEIGHT, BARS_HEIGHT, by_month)


def _ticks(bars: list[Bar], by_month: bool, step: float) -> list[Tick]:
    """Labels under the bars: each year (by month: each January, and the first month), thinned to fit."""
    if by_month:
        marked = [i for i, bar in enumerate(bars) if i == 0 or bar.period.endswith("-01")]
    else:
        marked = list(range(len(bars)))
    every = -(-len(marked) // MAX_TICKS)
    ticks = []
    for i in marked[::every]:
        period = bars[i].period
        text = period_label(period) if by_month and i == 0 else period_label(period[:4])
        ticks.append(Tick(round(bars[i].x + (step / 2 if not by_month else 0), 2), text))
    return ticks
