"""The timeline: every result counts its matches by year or month, and each
count is exactly what narrowing the search to that period finds — in the
library, the CLI, the API and the page (a bar chart of links, no script).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from selectolax.lexbor import LexborHTMLParser

from searchengine.cli import main as cli
from searchengine.engine import SearchEngine
from searchengine.errors import ParameterError
from searchengine.timeline import MONTHS_BELOW
from searchengine.web import create_app
from tooling import assert_safe_html, build, first, write_posts


def _post(title: str, date: str, body: str = "碳中和目标写入规划。") -> str:
    return f"---\ntitle: '{title}'\ndate: {date}\ncategories:\n - 测试\n---\n\n<p>{body}</p>\n"


# Around the month ends of a zone with daylight saving: 31 March 2021 23:30 in
# Berlin is summer time (+02:00), 31 October 23:30 winter time (+01:00). A
# month boundary computed with the wrong offset puts these in the next month.
BERLIN_POSTS = {
    "a.md": _post("三月末", "2021-03-31T23:30:00+02:00"),
    "b.md": _post("四月初", "2021-04-01T00:30:00+02:00"),
    "c.md": _post("十月末", "2021-10-31T23:30:00+01:00"),
    "d.md": _post("十一月初", "2021-11-01T00:30:00+01:00"),
    "e.md": _post("次年", "2022-01-15T12:00:00+01:00"),
    "f.md": _post("无日期", "", "碳中和没有日期。").replace("date: \n", ""),
}


@pytest.fixture(scope="module")
def berlin_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("timeline")
    return build(write_posts(root / "posts", BERLIN_POSTS), root / "index")


def _assert_counts_are_filters(engine: SearchEngine, query: str) -> list[tuple[str, int]]:
    """Each period's count is what ``date=period`` finds; the periods cover every dated match."""
    result = engine.search(query)
    buckets = [(b.period, b.count) for b in result.timeline]
    assert len(buckets) > 1
    for period, count in buckets:
        assert engine.search(query, date=period).total == count, period
    dated = sum(count for _, count in buckets)
    first, last = buckets[0][0], buckets[-1][0]
    assert engine.search(query, date=f"{first}..{last}").total == dated
    return buckets


def test_months_follow_the_zone_across_daylight_saving(berlin_index: Path) -> None:
    engine = SearchEngine(berlin_index, timezone="Europe/Berlin")
    buckets = _assert_counts_are_filters(engine, "碳中和")
    assert buckets[0] == ("2021-03", 1)
    assert dict(buckets)["2021-04"] == 1
    assert dict(buckets)["2021-10"] == 1
    assert dict(buckets)["2021-11"] == 1
    # Empty months between are listed, with 0: a gap is information.
    assert dict(buckets)["2021-06"] == 0
    assert buckets[-1] == ("2022-01", 1)
    assert [p for p, _ in buckets] == sorted(p for p, _ in buckets)
    # The undated post matches, but has no period.
    assert engine.search("碳中和").total == sum(c for _, c in buckets) + 1


def test_the_same_posts_in_another_zone_fall_in_other_months(berlin_index: Path) -> None:
    timeline = SearchEngine(berlin_index, timezone="Asia/Shanghai").search("碳中和").timeline
    counts = {b.period: b.count for b in timeline}
    # 23:30 in Berlin is the next morning in Shanghai: the timeline starts in April.
    assert timeline[0].period == "2021-04" and counts["2021-04"] == 2
    assert counts["2021-10"] == 0 and counts["2021-11"] == 2


def test_a_long_span_counts_years(sample_engine: SearchEngine) -> None:
    buckets = _assert_counts_are_filters(sample_engine, "中国")
    assert all(len(period) == 4 for period, _ in buckets)
    years = [int(period) for period, _ in buckets]
    assert years == list(range(years[0], years[-1] + 1))
    assert (years[-1] - years[0]) * 12 >= MONTHS_BELOW


def test_date_ranges_in_the_query_and_as_a_filter(berlin_index: Path) -> None:
    engine = SearchEngine(berlin_index, timezone="Europe/Berlin")
    assert engine.search("碳中和", date="2021-04..2021-10").total == 2
    assert engine.search("碳中和 date:2021-04..2021-10").total == 2
    assert engine.search("碳中和", date="2021-11..").total == 2
    assert engine.search("碳中和", date="..2021-03").total == 1
    assert engine.search("碳中和", date="2021").total == 4
    assert engine.search("碳中和 date:2021-04..2021-10", date="2021-10").total == 1  # both apply
    with pytest.raises(ParameterError, match="date: '2021-13'"):
        engine.search("碳中和", date="2021-13")
    with pytest.raises(ParameterError, match="date"):
        engine.search("碳中和", date="..")
    typed = engine.search("碳中和 date:2021..x")
    assert [h.code for h in typed.hints] == ["not_a_date"] and typed.total == len(BERLIN_POSTS)


def test_no_dated_match_means_no_timeline(berlin_index: Path) -> None:
    result = SearchEngine(berlin_index).search("没有日期")
    assert result.total == 1 and result.timeline == []


@pytest.mark.corpus
def test_real_news_by_month_on_the_2019_slice(index_2019: Path) -> None:
    engine = SearchEngine(index_2019)
    buckets = _assert_counts_are_filters(engine, "习近平 会见")
    assert sum(count for _, count in buckets) == engine.search("习近平 会见").total


def test_cli_json_and_date_option(berlin_index: Path) -> None:
    runner = CliRunner()
    berlin = ["--index", str(berlin_index), "--timezone", "Europe/Berlin"]
    out = runner.invoke(cli, ["search", "碳中和", *berlin, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    engine = SearchEngine(berlin_index, timezone="Europe/Berlin")
    assert data["timeline"] == [{"period": b.period, "count": b.count} for b in engine.search("碳中和").timeline]
    narrowed = runner.invoke(cli, ["search", "碳中和", *berlin, "--date", "2021-10..2021-11"])
    assert narrowed.exit_code == 0 and "1-2 of 2 results" in narrowed.output
    plain = runner.invoke(cli, ["search", "碳中和", *berlin])
    assert "2021-03–2022-01 █" in plain.output  # one bar per month, the first full height
    bad = runner.invoke(cli, ["search", "碳中和", "--index", str(berlin_index), "--date", "soon"])
    assert bad.exit_code == 1 and "date: 'soon'" in bad.output


def test_api_carries_the_timeline(berlin_index: Path) -> None:
    client = create_app({"INDEX_DIR": str(berlin_index), "TIMEZONE": "Europe/Berlin"}).test_client()
    data = client.get("/api/search", query_string={"q": "碳中和", "date": "2021"}).get_json()
    assert data["total"] == 4
    assert [b["period"] for b in data["timeline"]] == [f"2021-{m:02d}" for m in range(3, 12)]
    assert client.get("/api/search", query_string={"q": "碳中和", "date": "May"}).status_code == 400


def test_the_page_draws_bars_that_link_to_their_period(berlin_index: Path) -> None:
    client = create_app({"INDEX_DIR": str(berlin_index), "TIMEZONE": "Europe/Berlin"}).test_client()
    html = client.get("/", query_string={"q": "碳中和"}).get_data(as_text=True)
    assert_safe_html(html)
    tree = LexborHTMLParser(html)
    bars = tree.css("svg.timeline-chart a.timeline-bar")
    engine = SearchEngine(berlin_index, timezone="Europe/Berlin")
    expected = [(b.period, b.count) for b in engine.search("碳中和").timeline if b.count]
    assert len(bars) == len(expected)
    for bar, (period, count) in zip(bars, expected, strict=True):
        href = bar.attributes["href"] or ""
        assert parse_qs(urlsplit(href).query) == {"q": ["碳中和"], "date": [period]}
        assert bar.attributes["aria-label"] == f"{period[:4]}年{int(period[5:])}月：{count} 篇"
        # Following the link shows exactly that many results, and the period as a removable chip.
        page = LexborHTMLParser(client.get(href).get_data(as_text=True))
        assert first(page, ".summary strong").text() == str(count)
        assert len(page.css("li.result")) == count
        assert first(page, ".active-filters .chip").text().startswith(f"时间：{period[:4]}年{int(period[5:])}月")
    heights = [float(first(bar, "rect").attributes["height"] or 0) for bar in bars]
    assert max(heights) == 56 and min(heights) > 0


def test_the_date_range_form_round_trip(berlin_index: Path) -> None:
    client = create_app({"INDEX_DIR": str(berlin_index), "TIMEZONE": "Europe/Berlin"}).test_client()
    args = {"q": "碳中和", "category": "测试", "from": "2021-04", "to": "2021-10"}
    html = client.get("/", query_string=args).get_data(as_text=True)
    assert_safe_html(html)
    tree = LexborHTMLParser(html)
    assert first(tree, ".summary strong").text() == "2"
    chip = first(tree, ".active-filters a.chip[aria-label^='移除筛选 时间']")
    assert chip.text().startswith("时间：2021年4月至2021年10月")
    # Removing the chip keeps the query and the category.
    assert parse_qs(urlsplit(chip.attributes["href"] or "").query) == {"q": ["碳中和"], "category": ["测试"]}
    form = first(tree, "form.date-range")
    hidden = {node.attributes["name"]: node.attributes["value"] for node in form.css("input[type=hidden]")}
    assert hidden == {"q": "碳中和", "category": "测试"}
    assert [node.attributes["value"] for node in form.css("input[name=from], input[name=to]")] == ["2021-04", "2021-10"]
    # The header's search box keeps the range when a new query is typed.
    header = first(tree, "form.search-form")
    kept = {n.attributes["name"]: n.attributes["value"] for n in header.css("input[type=hidden]")}
    assert kept["date"] == "2021-04..2021-10"
    # An open end, and a range typed backwards, find what they say.
    open_end = client.get("/", query_string={"q": "碳中和", "from": "2021-11"}).get_data(as_text=True)
    assert "共 <strong>2</strong>" in open_end
    backwards = client.get("/", query_string={"q": "碳中和", "from": "2022", "to": "2021"})
    assert backwards.status_code == 200 and "没有找到" in backwards.get_data(as_text=True)
    assert client.get("/", query_string={"q": "碳中和", "to": "<script>"}).status_code == 400
