"""The web app through Flask's test client, over real indexes of the sample posts.

Every route, every error status, hostile input in every parameter, and the
security headers. Every HTML page a test fetches goes through
:func:`assert_safe_html` (no inline script or style, no event handlers, no
javascript: URLs...).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from selectolax.lexbor import LexborHTMLParser, LexborNode
from werkzeug.test import TestResponse

from searchengine.cli import main as cli
from searchengine.engine import SearchEngine
from searchengine.errors import IndexMissingError, ParameterError
from searchengine.pictures import ImageHosts
from searchengine.results import HINT_TEXTS, Hint
from searchengine.web import create_app
from searchengine.web.highlight import mark_html, query_needles
from searchengine.web.params import SearchParams
from searchengine.web.security import content_security_policy, sanitize_html, security_headers
from searchengine.web.templating import HINTS_ZH, hint_zh, page_numbers
from tooling import (
    HOSTILE_POST,
    HOSTILE_WORD,
    SAMPLE_COUNT,
    SAMPLES,
    SCRIPT_POST,
    SEED,
    SEED_TITLE,
    assert_safe_html,
    build,
    children,
    first,
    running,
    wait_until,
    write_posts,
)

EURASIA = "xinhua-like/2016/2016-07-12-eurasia-economic-forum.md"
EURASIA_TITLE = "欧亚经济论坛开幕 各方探讨区域互联互通"

# The apps here show no external image: the default image_hosts (tests/test_pictures.py tries the others).
NO_IMAGES = ImageHosts()
SECURITY_HEADERS = security_headers(NO_IMAGES)

XSS_QUERIES = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']

# A parsed page, or a part of one.
Tree = LexborHTMLParser | LexborNode


@pytest.fixture
def app(sample_engine: SearchEngine) -> Flask:
    return create_app({"ENGINE": sample_engine, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def forgiving_client(forgiving_index: Path) -> FlaskClient:
    return create_app({"INDEX_DIR": str(forgiving_index), "TESTING": True}).test_client()


@pytest.fixture
def hostile_client(hostile_index: Path) -> FlaskClient:
    return create_app({"INDEX_DIR": str(hostile_index), "TESTING": True}).test_client()


def page(client: FlaskClient, url: str, status: int = 200, **kwargs: object) -> LexborHTMLParser:
    """GET an HTML page, check its status, headers and safety, return its parsed tree."""
    response = client.get(url, **kwargs)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "text/html"
    assert_headers(response)
    html = response.get_data(as_text=True)
    assert_safe_html(html)
    assert "Traceback" not in html
    return LexborHTMLParser(html)


def api(client: FlaskClient, url: str, status: int = 200) -> dict[str, Any]:
    """GET a JSON object from the API, check its status and headers, return it."""
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    assert_headers(response)
    data = response.get_json()
    assert isinstance(data, dict), (url, data)
    return data


def assert_headers(response: TestResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


def attr(node: LexborNode, name: str) -> str:
    """The value of ``node``'s attribute ``name``, which must be there and have a value."""
    value = node.attributes.get(name)
    assert value is not None, f"<{node.tag}> has no value for {name!r}: {node.attributes}"
    return value


def markup(tree: Tree) -> str:
    """The HTML of a page or a node."""
    html = tree.html
    assert html is not None, "the tree has no HTML"
    return html


def texts(tree: Tree, selector: str) -> list[str]:
    return [node.text().strip() for node in tree.css(selector)]


def hrefs(tree: Tree, selector: str) -> list[str]:
    return [node.attributes.get("href") or "" for node in tree.css(selector)]


def args_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


# --- the app factory ------------------------------------------------------------


def test_create_app_reads_settings_then_config(sample_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCHENGINE_INDEX", str(sample_index))
    monkeypatch.setenv("SEARCHENGINE_PAGE_SIZE", "7")
    app = create_app()
    assert app.config["INDEX_DIR"] == str(sample_index)
    assert app.config["PAGE_SIZE"] == 7
    assert app.config["TIMEZONE"] == "Asia/Shanghai"
    tree = page(app.test_client(), "/?q=经济")
    assert len(tree.css(".result")) == 7
    app = create_app({"INDEX_DIR": sample_index, "PAGE_SIZE": 3, "DEBUG": True})
    assert app.config["DEBUG"] is False  # never the debugger
    assert len(page(app.test_client(), "/?q=经济").css(".result")) == 3


def test_create_app_opens_the_index_once(sample_engine: SearchEngine) -> None:
    app = create_app({"ENGINE": sample_engine})
    assert app.extensions["searchengine"] is sample_engine
    with app.test_request_context("/"):
        from searchengine.web import get_engine

        assert get_engine() is sample_engine


def test_create_app_without_an_index_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="no index"):
        create_app({"INDEX_DIR": tmp_path / "missing"})


@pytest.mark.parametrize("size", [0, 101, "10"])
def test_create_app_refuses_a_bad_page_size(sample_engine: SearchEngine, size: object) -> None:
    with pytest.raises(ParameterError, match="page_size"):
        create_app({"ENGINE": sample_engine, "PAGE_SIZE": size})


# --- the search page ------------------------------------------------------------


def test_home_page(client: FlaskClient) -> None:
    tree = page(client, "/")
    assert attr(first(tree, "html"), "lang") == "zh-CN"
    for landmark in ("header", "main", "footer", "form[role=search]"):
        assert tree.css_first(landmark) is not None, landmark
    box = first(tree, "input#q")
    assert attr(box, "name") == "q" and attr(box, "value") == ""
    assert tree.css_first("label[for=q]") is not None
    assert f"收录 {SAMPLE_COUNT} 篇文章" in first(tree, "body").text()
    search_link = first(tree, 'link[rel=search][type="application/opensearchdescription+xml"]')
    assert attr(search_link, "href") == "/opensearch.xml"
    assert first(tree, "details.syntax summary").text() == "搜索语法"
    assert "title:塔利班" in first(tree, "details.syntax").text()
    assert tree.css(".result") == []


def test_only_the_home_page_focuses_the_search_box(client: FlaskClient) -> None:
    assert "autofocus" in first(page(client, "/"), "input#q").attributes
    for url in ("/?q=经济", "/?category=体育", "/?q=完全不存在的短语", f"/post/{SEED}"):
        assert "autofocus" not in first(page(client, url), "input#q").attributes, url
    assert "autofocus" not in first(page(client, "/no/such/page", status=404), "input#q").attributes


def test_search_finds_the_seed_post_with_the_phrase_marked(client: FlaskClient) -> None:
    tree = page(client, "/?q=莫斯科模式")
    assert attr(first(tree, "input#q"), "value") == "莫斯科模式"
    result = first(tree, ".result")
    link = first(result, ".result-title a")
    assert link.text() == SEED_TITLE
    assert urlsplit(attr(link, "href")).path == f"/post/{SEED}"
    assert args_of(attr(link, "href")) == {"q": ["莫斯科模式"]}
    assert "莫斯科模式" in texts(result, ".snippet mark")
    assert attr(first(result, "time"), "datetime").startswith("2021-10-21")
    assert "2021年10月21日" in first(result, ".meta").text()
    assert "观察者网" in texts(result, ".meta a")
    summary = first(tree, ".summary").text()
    assert "共 1 条结果" in summary and "毫秒" in summary
    assert "莫斯科模式" in first(tree, "title").text()


def test_search_page_shows_what_the_library_returns(client: FlaskClient, sample_engine: SearchEngine) -> None:
    expected = sample_engine.search("经济", limit=10)
    tree = page(client, "/?q=经济")
    assert [urlsplit(h).path for h in hrefs(tree, ".result-title a")] == [f"/post/{hit.path}" for hit in expected.hits]
    assert [n.html for n in tree.css(".snippet")] == [
        f'<p class="snippet">{hit.snippet.html}</p>' for hit in expected.hits
    ]
    assert f"共 {expected.total} 条结果" in first(tree, ".summary").text()
    assert attr(first(tree, "ol.results"), "start") == "1"


def test_pagination(client: FlaskClient, sample_engine: SearchEngine) -> None:
    total = sample_engine.search("经济").total
    assert total > 20
    first_page = page(client, "/?q=经济")
    nav = first(first_page, "nav.pagination")
    assert first(nav, "[aria-current=page]").text() == "1"
    assert nav.css_first("a[rel=prev]") is None
    next_href = attr(first(nav, "a[rel=next]"), "href")
    assert args_of(next_href) == {"q": ["经济"], "page": ["2"]}
    second_page = page(client, next_href)
    assert first(second_page, "nav.pagination [aria-current=page]").text() == "2"
    assert attr(first(second_page, "ol.results"), "start") == "11"
    assert args_of(attr(first(second_page, "a[rel=prev]"), "href")) == {"q": ["经济"]}
    assert not set(hrefs(first_page, ".result-title a")) & set(hrefs(second_page, ".result-title a"))
    numbers = texts(second_page, "nav.pagination li a, nav.pagination li .current")
    assert "1" in numbers and "3" in numbers
    assert "第 11–20 条" in first(second_page, ".summary").text()


@pytest.mark.parametrize("past", [4, 99, 99999])
def test_page_past_the_end_is_friendly(client: FlaskClient, past: int) -> None:
    """Every page is linked (no "…" for one page, none marked current), and the way back is the last page."""
    tree = page(client, f"/?q=经济&page={past}")
    assert tree.css(".result") == []
    assert "超出范围" in first(tree, ".summary").text()
    assert args_of(attr(first(tree, ".empty-page a"), "href"))["page"] == ["3"]
    nav = first(tree, "nav.pagination")
    assert nav.css(".gap") == [] and nav.css("[aria-current]") == []
    numbered = nav.css("a[aria-label]")
    assert [a.text() for a in numbered] == ["1", "2", "3"]
    assert [args_of(attr(a, "href")).get("page") for a in numbered] == [None, ["2"], ["3"]]
    assert args_of(attr(first(nav, "a[rel=prev]"), "href"))["page"] == ["3"]
    assert nav.css_first("a[rel=next]") is None


def test_category_facet_adds_and_removes_the_filter(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?q=经济&page=2")
    facet = first(tree, "nav.facet[aria-label=按分类筛选] a.facet-link")
    value, count = first(facet, ".value").text(), int(first(facet, ".count").text())
    href = attr(facet, "href")
    assert args_of(href) == {"q": ["经济"], "category": [value]}  # back to page 1
    filtered = page(client, href)
    assert f"共 <strong>{count}</strong>" in markup(first(filtered, ".summary"))
    chip = first(filtered, ".active-filters a.chip")
    assert chip.text(strip=True).startswith(f"分类：{value}")
    assert args_of(attr(chip, "href")) == {"q": ["经济"]}
    active = first(filtered, "a.facet-link.active")
    assert attr(active, "aria-current") == "true"
    assert args_of(attr(active, "href")) == {"q": ["经济"]}
    assert attr(first(filtered, 'form[role=search] input[type=hidden][name=category]'), "value") == value
    expected = sample_engine.search("经济", category=value)
    assert [urlsplit(h).path for h in hrefs(filtered, ".result-title a")] == [f"/post/{h.path}" for h in expected.hits]


def test_a_filter_typed_in_the_query_shows_as_selected(client: FlaskClient, sample_engine: SearchEngine) -> None:
    """category:國際 in the query is a chip and the selected facet value; removing it removes it from the query."""
    tree = page(client, "/?q=" + quote("经济 category:國際"))
    assert sample_engine.search("经济 category:國際").filters == {"category": ["国际"]}
    chip = first(tree, ".active-filters a.chip")
    assert chip.text(strip=True).startswith("分类：国际")
    assert args_of(attr(chip, "href")) == {"q": ["经济"]}
    active = first(tree, "nav.facet[aria-label=按分类筛选] a.facet-link.active")
    assert first(active, ".value").text() == "国际" and args_of(attr(active, "href")) == {"q": ["经济"]}
    # Chosen on the page and typed in the query: clearing all clears both.
    both = page(client, "/?q=" + quote("经济 category:国际") + "&year=2021")
    assert args_of(attr(first(both, ".active-filters a.clear"), "href")) == {"q": ["经济"]}
    # An exclusion typed in the query is no selection.
    assert page(client, "/?q=" + quote("经济 -category:国际")).css(".active-filters") == []


def test_author_and_year_facets_combine(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?q=经济")
    year = first(tree, "nav.facet[aria-label=按年份筛选] a.facet-link")
    with_year = page(client, attr(year, "href"))
    author = first(with_year, "nav.facet[aria-label=按作者筛选] a.facet-link")
    both = page(client, attr(author, "href"))
    args = args_of(attr(first(both, ".sort a"), "href"))
    assert set(args) == {"q", "year", "author", "sort"}
    year_value = int(first(year, ".value").text())
    author_value = first(author, ".value").text()
    expected = sample_engine.search("经济", year=year_value, author=author_value)
    assert expected.total == int(first(author, ".count").text())
    assert len(both.css(".active-filters li")) == 2
    clear = attr(first(both, ".active-filters a.clear"), "href")
    assert args_of(clear) == {"q": ["经济"]}


def test_filters_alone_browse_the_archive(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?category=体育")
    assert len(tree.css(".result")) == sample_engine.search("", category="体育").total > 0


def test_sort_by_date(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?q=经济&sort=date")
    assert first(tree, ".sort [aria-current]").text() == "最新"
    dates = [attr(node, "datetime") for node in tree.css(".result time")]
    expected = sample_engine.search("经济", sort="date")
    assert [urlsplit(h).path for h in hrefs(tree, ".result-title a")] == [f"/post/{h.path}" for h in expected.hits]
    assert dates == [h.date for h in expected.hits]
    relevance = attr(first(tree, ".sort a"), "href")
    assert args_of(relevance) == {"q": ["经济"]}
    assert args_of(attr(first(tree, "a[rel=next]"), "href"))["sort"] == ["date"]
    assert attr(first(tree, 'form[role=search] input[name=sort]'), "value") == "date"


def test_empty_state_offers_ways_out(client: FlaskClient) -> None:
    tree = page(client, '/?q="完全不存在的短语" 经济&category=体育')
    empty = first(tree, "section.empty")
    text = empty.text()
    assert "没有找到" in text and "去掉引号" in text and "减少关键词" in text
    remove = [a for a in empty.css("a") if a.text() == "去掉筛选条件"][0]
    assert args_of(attr(remove, "href")) == {"q": ['"完全不存在的短语" 经济']}
    broader = [a.text() for a in empty.css("a.chip")]
    assert "完全不存在的短语 经济" in broader and "经济" in broader
    assert tree.css_first("aside.facets") is None


def test_empty_state_suggests_titles(client: FlaskClient) -> None:
    tree = page(client, "/?q=欧亚经济论坛 -开幕")
    links = {a.text(): attr(a, "href") for a in tree.css(".title-suggestions a")}
    assert links[EURASIA_TITLE] == f"/post/{EURASIA}"  # the post itself, not a search for its title


# A query that makes the library give each hint, and the page's wording of it.
HINT_QUERIES = {
    "or_without_term": ("经济 OR", "OR 两侧都需要有搜索词，已忽略"),
    "only_exclusions": ("-经济", "只有排除词（-词）的查询找不到结果，请加上要搜索的词"),
    "nothing_searchable": ("！？。", "查询中没有可以搜索的词"),
    "shortened": ("经济" * 300, "查询过长，只使用了前 500 个字符"),
    "unbalanced_quote": ('"未闭合的引号', "有一个引号没有配对，已忽略"),
    "not_a_date": ("经济 date:2021-13", "“date:2021-13”不是日期（可写 2021、2021-10 或 2021-10-21），已忽略"),
    "not_a_value": ("经济 year:明年", "“year:明年”不是有效的筛选值，已忽略"),
    "no_match": ("莫斯科模式 阿尔卑斯山脉滑雪", "没有匹配的文章：试试减少关键词、换个说法，或去掉引号和筛选条件"),
}


def test_every_hint_has_a_chinese_wording_and_a_test() -> None:
    assert set(HINTS_ZH) == set(HINT_TEXTS) == set(HINT_QUERIES)


@pytest.mark.parametrize("code", sorted(HINT_TEXTS))
def test_each_hint_is_shown_in_chinese(client: FlaskClient, code: str) -> None:
    query, wording = HINT_QUERIES[code]
    assert code in [hint["code"] for hint in api(client, f"/api/search?q={quote(query)}")["hints"]]
    assert wording in texts(page(client, f"/?q={quote(query)}"), ".hints li")


def test_a_hint_without_a_wording_is_shown_in_english() -> None:
    hint = Hint("shortened", {"limit": "9"})
    assert hint_zh(hint) == "查询过长，只使用了前 9 个字符"
    assert hint.to_dict() == {
        "code": "shortened",
        "text": "the query was shortened to its first 9 characters",
        "params": {"limit": "9"},
    }


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"q": "中国 OR 俄罗斯 -美国", "category": "国际", "page": 2},
        {"q": "\"><script>alert(1)</script> a+b&c=d/e?f:g;h@i!j$k'l(m)n*o,p%q#r~_.-", "correct": 0},
        {"q": "\u3000全角 ＡＰＥＣ\t\n", "date": "2020..2021-06", "tag": "一带一路", "collapse": 0},
    ],
)
def test_search_links_are_what_the_router_builds(app: Flask, args: dict[str, Any]) -> None:
    from flask import url_for

    from searchengine.web.templating import search_url

    with app.test_request_context("/"):
        assert search_url(args) == url_for("pages.search", **args)


def test_page_numbers() -> None:
    assert page_numbers(1, 0) == []
    assert page_numbers(1, 1) == [1]
    assert page_numbers(2, 4) == [1, 2, 3, 4]
    assert page_numbers(6, 12) == [1, None, 4, 5, 6, 7, 8, None, 12]
    # A gap of one page shows that page rather than "…".
    assert page_numbers(5, 10) == [1, 2, 3, 4, 5, 6, 7, None, 10]
    assert page_numbers(6, 10) == [1, None, 4, 5, 6, 7, 8, 9, 10]
    assert page_numbers(4, 7) == [1, 2, 3, 4, 5, 6, 7]
    # Past the end: the pages around the last one, to go back to.
    assert page_numbers(99, 3) == [1, 2, 3]
    assert page_numbers(4, 3) == [1, 2, 3]
    assert page_numbers(99, 10) == [1, None, 8, 9, 10]


def test_search_params_links_keep_everything_but_the_change() -> None:
    params = SearchParams.from_args(
        {"q": "经济", "page": "3", "sort": "date", "year": "2021", "category": " 国际 "}, 10
    )
    assert params.filters == {"category": "国际", "year": "2021"}
    assert params.url_args(author="王婧") == {
        "q": "经济",
        "category": "国际",
        "author": "王婧",
        "year": "2021",
        "sort": "date",
    }
    assert params.url_args(page=4)["page"] == 4
    assert params.url_args(sort="relevance", category=None, year=None) == {"q": "经济"}
    assert params.without_filters() == {"q": "经济", "sort": "date"}


def test_search_params_keep_searching_as_typed_until_the_query_changes() -> None:
    params = SearchParams.from_args({"q": "kabuluofu", "correct": "0", "page": "2", "sort": "date"}, 10)
    assert params.correct is False and params.search_kwargs()["correct"] is False
    assert params.url_args(page=3) == {"q": "kabuluofu", "sort": "date", "correct": 0, "page": 3}
    assert params.url_args(year="2021")["correct"] == 0
    assert params.url_args(q="卡布洛夫") == {"q": "卡布洛夫", "sort": "date"}  # a new query is corrected again
    corrected = SearchParams.from_args({"q": "kabuluofu", "correct": ""}, 10)
    assert corrected.correct is True and corrected.url_args() == {"q": "kabuluofu"}
    assert corrected.url_args(correct=False) == {"q": "kabuluofu", "correct": 0}


def test_the_tag_facet_is_on_the_page_and_filters(client: FlaskClient) -> None:
    tree = page(client, "/?q=月球")
    [tags] = [nav for nav in tree.css("nav.facet") if first(nav, "h3").text() == "标签"]
    link = first(tags, "a.facet-link")
    tag, count = first(link, ".value").text(), int(first(link, ".count").text())
    assert parse_qs(urlsplit(attr(link, "href")).query)["tag"] == [tag]
    filtered = page(client, attr(link, "href"))
    assert len(filtered.css(".result")) == count
    assert texts(filtered, ".active-filters .chip")[0].startswith(f"标签：{tag}")


# --- forgiving search: what the page says it did with the query ------------------


def test_a_pinyin_query_is_corrected_and_can_be_searched_as_typed(client: FlaskClient) -> None:
    tree = page(client, "/?q=kabuluofu&sort=date&year=2021")
    assert first(tree, ".correction").text() == "已显示“卡布洛夫”的结果 · 仍然搜索：kabuluofu"
    assert attr(first(tree, "input#q"), "value") == "kabuluofu"  # the box keeps what was typed
    result = first(tree, ".result")
    assert first(result, ".result-title a").text() == SEED_TITLE
    assert "卡布洛夫" in texts(result, ".snippet mark")
    post_link = attr(first(result, ".result-title a"), "href")
    assert args_of(post_link) == {"q": ["卡布洛夫"]}  # the post marks what was searched, not what was typed
    assert "卡布洛夫" in texts(page(client, post_link), ".post-body mark")
    as_typed = attr(first(tree, ".correction a"), "href")
    assert args_of(as_typed) == {"q": ["kabuluofu"], "year": ["2021"], "sort": ["date"], "correct": ["0"]}
    typed = page(client, as_typed)
    assert typed.css(".correction") == [] and typed.css(".result") == []
    assert "没有找到结果" in first(typed, ".summary").text()
    assert attr(first(typed, "input#q"), "value") == "kabuluofu"


def test_a_same_sound_slip_is_corrected(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?q=阿富汉")
    assert first(tree, ".correction").text() == "已显示“阿富汗”的结果 · 仍然搜索：阿富汉"
    assert first(tree, ".correction strong").text() == "阿富汗"
    expected = sample_engine.search("阿富汉")
    assert expected.corrected == "阿富汗" and expected.total > 0
    assert [urlsplit(h).path for h in hrefs(tree, ".result-title a")] == [f"/post/{hit.path}" for hit in expected.hits]
    assert "阿富汗" in texts(tree, ".snippet mark")
    typed = page(client, attr(first(tree, ".correction a"), "href"))
    assert typed.css(".correction") == [] and typed.css(".result") == []


def test_the_page_offers_a_better_query(forgiving_client: FlaskClient) -> None:
    tree = page(forgiving_client, "/?q=经纪&category=经济")
    offer = first(tree, ".did-you-mean")
    assert offer.text() == "您是不是要找：经济"
    assert tree.css(".correction") == []
    assert texts(tree, ".result-title a") == ["房产经纪行业新规"]  # the results are the typed query's
    href = attr(first(offer, "a"), "href")
    assert args_of(href) == {"q": ["经济"], "category": ["经济"]}
    offered = page(forgiving_client, href)
    assert offered.css(".did-you-mean, .correction") == [] and len(offered.css(".result")) == 10


def test_the_page_names_the_other_forms_searched(forgiving_client: FlaskClient, client: FlaskClient) -> None:
    tree = page(forgiving_client, "/?q=川普")
    assert first(tree, ".expansions").text() == "同时搜索了：川普 → 特朗普"
    result = first(tree, ".result")
    assert texts(result, ".result-title mark") == ["特朗普"]
    assert "特朗普" in texts(result, ".snippet mark")
    post_link = attr(first(result, ".result-title a"), "href")
    assert args_of(post_link) == {"q": ["川普"]}
    post = page(forgiving_client, post_link)
    assert texts(post, "h1 mark") == ["特朗普"] and "特朗普" in texts(post, ".post-body mark")
    regional = page(client, "/?q=軟體")
    assert first(regional, ".expansions").text() == "同时搜索了：软体 → 软件"
    assert "软件" in texts(regional, ".snippet mark")
    assert page(client, "/?q=莫斯科模式").css(".correction, .did-you-mean, .expansions") == []


def test_a_user_alias_table_applies_without_a_rebuild_or_restart(
    forgiving_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "aliases.txt"
    table.write_text("房产经纪 楼市掮客\n", encoding="utf-8")
    monkeypatch.setenv("SEARCHENGINE_ALIASES", str(table))
    app = create_app({"INDEX_DIR": str(forgiving_index), "TESTING": True})
    assert app.config["ALIASES"] == str(table)
    client = app.test_client()
    tree = page(client, "/?q=楼市掮客")
    assert first(tree, ".expansions").text() == "同时搜索了：楼市掮客 → 房产经纪"
    assert texts(tree, ".result-title a") == ["房产经纪行业新规"]
    table.write_text("特朗普 川普 楼市掮客\n", encoding="utf-8")  # the same engine, the next request
    tree = page(client, "/?q=楼市掮客")
    assert first(tree, ".expansions").text() == "同时搜索了：楼市掮客 → 特朗普"
    assert texts(tree, ".result-title a") == ["特朗普再谈关税"]
    table.write_text("楼市掮客\n", encoding="utf-8")  # a broken edit: the last good table stays
    assert texts(page(client, "/?q=楼市掮客"), ".result-title a") == ["特朗普再谈关税"]
    unaliased = create_app({"INDEX_DIR": str(forgiving_index), "ALIASES": "", "TESTING": True}).test_client()
    assert page(unaliased, "/?q=楼市掮客").css(".result, .expansions") == []


def test_api_search_says_what_it_did_with_the_query(
    client: FlaskClient, forgiving_client: FlaskClient, sample_engine: SearchEngine
) -> None:
    data = api(client, "/api/search?q=kabuluofu")
    expected = sample_engine.search("kabuluofu").to_dict()
    data.pop("took_ms"), expected.pop("took_ms")
    assert data == expected
    assert data["corrected"] == "卡布洛夫" and data["did_you_mean"] is None and data["expansions"] == []
    assert data["query"] == "kabuluofu" and data["total"] == 2
    as_typed = api(client, "/api/search?q=kabuluofu&correct=0")
    assert as_typed["corrected"] is None and as_typed["total"] == 0
    offered = api(forgiving_client, "/api/search?q=经纪")
    assert offered["did_you_mean"] == "经济" and offered["corrected"] is None
    assert api(forgiving_client, "/api/search?q=川普")["expansions"] == [
        {"term": "川普", "forms": ["特朗普"], "source": "alias"}
    ]


@pytest.mark.parametrize(
    "query, said",
    [
        ("<script>alert(1)</script> OR kabuluofu", ".correction"),
        ('kabuluofu -"<img src=x onerror=alert(1)>"', ".correction"),
        ('经纪 -"<script>alert(1)</script>"', ".did-you-mean"),
        ('川普 -"<img src=x onerror=alert(1)>"', ".expansions"),
    ],
)
def test_hostile_queries_stay_text_in_what_the_page_says(
    forgiving_client: FlaskClient, query: str, said: str
) -> None:
    html = forgiving_client.get(f"/?q={quote(query)}").get_data(as_text=True)
    assert query not in html and "<script>alert" not in html and "<img src=x" not in html
    tree = page(forgiving_client, f"/?q={quote(query)}")
    data = api(forgiving_client, f"/api/search?q={quote(query)}")
    assert attr(first(tree, "input#q"), "value") == query
    line = first(tree, said)
    assert line.css("script, img") == []
    if said == ".correction":
        assert line.text() == f"已显示“{data['corrected']}”的结果 · 仍然搜索：{query}"
        assert args_of(attr(first(line, "a"), "href"))["q"] == [query]
        page(forgiving_client, attr(first(tree, ".result-title a"), "href"))  # the post page, marked for it
    elif said == ".did-you-mean":
        assert line.text() == f"您是不是要找：{data['did_you_mean']}"
        assert args_of(attr(first(line, "a"), "href"))["q"] == [data["did_you_mean"]]
    else:
        assert line.text() == "同时搜索了：川普 → 特朗普"


# --- hostile and broken input ------------------------------------------------------


@pytest.mark.parametrize("query", XSS_QUERIES)
def test_hostile_queries_are_escaped_everywhere(client: FlaskClient, query: str) -> None:
    for url in (f"/?q={quote(query)}", f"/?q={quote(query)}&category={quote(query)}", f"/post/{SEED}?q={quote(query)}"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert query not in html
        assert "<script>alert" not in html and "<img src=x" not in html
        assert_safe_html(html)
    tree = page(client, f"/?q={quote(query)}")
    assert attr(first(tree, "input#q"), "value") == query  # kept in the box, as text
    data = api(client, f"/api/search?q={quote(query)}")
    assert data["query"] == query  # JSON carries the text as data
    assert api(client, f"/api/suggest?q={quote(query)}")["query"] == query


@pytest.mark.parametrize("query", XSS_QUERIES)
def test_hostile_text_in_error_pages_is_escaped(client: FlaskClient, query: str) -> None:
    response = client.get(f"/post/{quote(query)}")
    assert response.status_code == 404
    assert query not in response.get_data(as_text=True)
    assert_safe_html(response.get_data(as_text=True))
    response = client.get(f"/?q=x&page={quote(query)}")
    assert response.status_code == 400
    assert query not in response.get_data(as_text=True)
    assert_safe_html(response.get_data(as_text=True))


def test_a_huge_query_does_not_grow_the_page(client: FlaskClient) -> None:
    """Links and the box carry the library's 500-character cut, never the whole URL."""
    for url in ("/?q=", "/api/search?q=", "/api/suggest?q="):
        small = client.get(url + quote("经济" * 250)).get_data()
        huge = client.get(url + quote("经济" * 100_000)).get_data()
        assert len(huge) < len(small) + 2_000, url


def test_a_5000_character_query(client: FlaskClient) -> None:
    query = ("经济发展" * 1250)[:5000]
    tree = page(client, f"/?q={quote(query)}")
    assert "查询过长，只使用了前 500 个字符" in texts(tree, ".hints li")
    data = api(client, f"/api/search?q={quote(query)}")
    assert data["query"] == query[:500]  # as searched
    assert "shortened" in [hint["code"] for hint in data["hints"]]
    assert api(client, f"/api/suggest?q={quote(query)}")["suggestions"] == []
    page(client, f"/post/{SEED}?q={quote(query)}")


def test_invalid_utf8_in_the_query_string(client: FlaskClient) -> None:
    tree = page(client, "/?q=%ff%fe")
    assert attr(first(tree, "input#q"), "value") in ("%FF%FE", "\ufffd\ufffd")  # as werkzeug decodes it
    api(client, "/api/search?q=%ff%fe&category=%c3%28")
    api(client, "/api/suggest?q=%ff")
    page(client, f"/post/{SEED}?q=%ff%fe")
    page(client, "/post/%ff%fe", status=404)


@pytest.mark.parametrize(
    "query, name",
    [
        ("page=-1", "page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=1e3", "page"),
        ("page=99999999999999999999", "page"),
        ("sort=best", "sort"),
        ("year=abc", "year"),
        ("year=0", "year"),
        ("year=99999", "year"),
        ("correct=perhaps", "correct"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client: FlaskClient, query: str, name: str) -> None:
    tree = page(client, f"/?q=经济&{query}", status=400)
    assert first(tree, "h1").text() == "请求参数有误"
    assert name in first(tree, ".error-detail").text()
    data = api(client, f"/api/search?q=经济&{query}", status=400)
    assert data["status"] == 400 and name in data["error"]


@pytest.mark.parametrize("limit", ["1000", "0", "-5", "abc", "101"])
def test_api_limit_is_checked(client: FlaskClient, limit: str) -> None:
    data = api(client, f"/api/search?q=经济&limit={limit}", status=400)
    assert data == {"status": 400, "error": data["error"]} and "limit" in data["error"]
    data = api(client, f"/api/suggest?q=经济&limit={limit}", status=400)
    assert "limit" in data["error"]


def test_empty_parameters_mean_defaults(client: FlaskClient) -> None:
    tree = page(client, "/?q=经济&page=&sort=&category=&author=&year=")
    assert len(tree.css(".result")) == 10
    assert api(client, "/api/search?q=经济&limit=&page=")["limit"] == 10


@pytest.mark.parametrize(
    "post_id",
    [
        "../../etc/passwd",
        "%2e%2e/",
        "%2e%2e/%2e%2e/etc/passwd",
        "..%2f..%2fetc%2fpasswd",
        "guancha/2021/../2021/000_30739a5f1b776113.txt",
        "./" + SEED,
        SEED.upper(),
        SEED + "%00",
        str(SAMPLES / SEED).lstrip("/"),
        "etc/passwd",
        "",
    ],
)
def test_post_ids_cannot_escape_the_index(client: FlaskClient, post_id: str) -> None:
    response = client.get(f"/post/{post_id}", follow_redirects=True)
    assert response.status_code == 404
    assert "root:" not in response.get_data(as_text=True)
    assert_safe_html(response.get_data(as_text=True))
    response = client.get(f"/api/post/{post_id}", follow_redirects=True)
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


# --- the post page ------------------------------------------------------------------


def test_post_page(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, f"/post/{SEED}")
    assert first(tree, "h1#post-title").text() == SEED_TITLE
    assert first(tree, "title").text().startswith(SEED_TITLE)
    meta = first(tree, ".post-header .meta")
    assert "2021年10月21日 18:42" in meta.text()  # 10:42 UTC in Asia/Shanghai
    assert set(texts(meta, "a.tag")) == {"新媒体", "观察者网", "首页"}
    assert args_of(attr(first(meta, "a.meta-link"), "href")) == {"author": ["观察者网"]}
    assert tree.css(".post-body mark") == []
    assert "塔利班" in first(tree, ".post-body").text()
    related = [urlsplit(h).path for h in hrefs(tree, "aside.related a")]
    assert related == [f"/post/{hit.path}" for hit in sample_engine.more_like_this(SEED, 5)]
    assert len(related) == 5 and f"/post/{SEED}" not in related
    assert hrefs(tree, ".crumbs a") == ["/"]
    for image in tree.css(".post-body img"):
        assert attr(image, "loading") == "lazy"
        assert attr(image, "src").startswith("https://")


# One post dated by its day only, one with a time of day (both read in Asia/Shanghai).
DATED_POSTS = {
    "dated/2024/day-only.md": "---\ntitle: 只写日期的文章\ndate: 2024-05-01\n---\n\n日期测试词在正文里。\n",
    "dated/2024/with-time.md": "---\ntitle: 写了时间的文章\ndate: 2024-05-02 09:30:00\n---\n\n日期测试词也在这里。\n",
}


def test_a_date_without_a_time_shows_only_its_day(tmp_path: Path) -> None:
    """Never 00:00, and the same day in any site zone; a date with a time keeps it, in the site's zone."""
    index = build(write_posts(tmp_path / "posts", DATED_POSTS), tmp_path / "index")
    for zone, timed in (("Asia/Shanghai", "2024年5月2日 09:30"), ("America/New_York", "2024年5月1日 21:30")):
        client = create_app({"INDEX_DIR": index, "TIMEZONE": zone, "TESTING": True}).test_client()
        day_only = first(page(client, "/post/dated/2024/day-only.md"), ".post-header time")
        assert (day_only.text(), attr(day_only, "datetime")) == ("2024年5月1日", "2024-05-01"), zone
        with_time = first(page(client, "/post/dated/2024/with-time.md"), ".post-header time")
        assert (with_time.text(), attr(with_time, "datetime")) == (timed, "2024-05-02T09:30:00+08:00"), zone
        results = page(client, "/?q=日期测试词&sort=date")
        assert texts(results, ".result time") == [timed.split()[0], "2024年5月1日"], zone
        assert [attr(node, "datetime") for node in results.css(".result time")] == [
            "2024-05-02T09:30:00+08:00",
            "2024-05-01",
        ]


def test_post_page_marks_the_query(client: FlaskClient) -> None:
    tree = page(client, f"/post/{SEED}?q=莫斯科模式")
    marks = texts(tree, ".post-body mark")
    assert marks and set(marks) == {"莫斯科模式"}
    assert attr(first(tree, "input#q"), "value") == "莫斯科模式"
    assert args_of(attr(first(tree, ".crumbs a"), "href")) == {"q": ["莫斯科模式"]}
    tree = page(client, f"/post/{SEED}?q=塔利班 卡布洛夫")
    assert {"塔利班", "卡布洛夫"} <= set(texts(tree, ".post-body mark"))
    tree = page(client, f"/post/{SEED}?q=阿富汗")
    assert "阿富汗" in texts(tree, "h1 mark")


def test_post_page_removes_scripts_and_styles(client: FlaskClient) -> None:
    response = client.get(f"/post/{SCRIPT_POST}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_safe_html(html)
    assert "trackingPixelXYZ" not in html and "zebraQuokkaStyle" not in html and "鹦鹉螺暗号" not in html
    assert "第三届智慧城市博览会今天在杭州国际博览中心开幕" in html
    assert "<strong>方志远</strong>" in html


def test_hostile_post_is_sanitized(hostile_client: FlaskClient) -> None:
    tree = page(hostile_client, f"/post/{HOSTILE_POST}?q={HOSTILE_WORD}")
    body = first(tree, ".post-body")
    assert texts(body, "mark") == [HOSTILE_WORD, HOSTILE_WORD]
    assert "alert(15)" in body.text()  # text that looks like a tag stays text
    assert body.css("script, style, iframe, object, embed, form, input, svg, math, details") == []
    links = {a.text(): a.attributes for a in body.css("a")}
    assert links["好链接"] == {"href": "https://example.com/page", "rel": "noopener noreferrer nofollow"}
    for name in ("坏链接", "坏链接二", "相对链接", "数据链接"):
        assert "href" not in links[name]
    assert body.css("img") == []  # example.com is not an allowed image host
    assert [p.attributes for p in body.css("p")] == [{}, {}]
    title = first(tree, "h1#post-title")
    assert title.text() == '<script>alert("title")</script>恶意标题 "><img src=x onerror=alert(1)>'
    assert title.css("script, img") == []
    assert first(tree, ".post-header .meta-link").text() == '"><img src=x onerror=alert(2)>'
    data = api(hostile_client, f"/api/post/{HOSTILE_POST}")
    assert "html" not in data  # the body as written only on request...
    assert "<script" not in data["html_sanitized"] and "onerror" not in data["html_sanitized"]
    assert_safe_html(data["html_sanitized"])
    raw = api(hostile_client, f"/api/post/{HOSTILE_POST}?raw=1")
    assert "<script" in raw["html"]  # ...as the library keeps it
    assert raw["html_sanitized"] == data["html_sanitized"] == sanitize_html(raw["html"], NO_IMAGES)


def test_hostile_post_in_results(hostile_client: FlaskClient) -> None:
    tree = page(hostile_client, f"/?q={HOSTILE_WORD}")
    assert len(tree.css(".result")) == 1
    assert texts(tree, ".result-title a") == ['<script>alert("title")</script>恶意标题 "><img src=x onerror=alert(1)>']
    assert "<b>分类</b>" in texts(tree, "nav.facet a .value")


def test_sanitize_html_rules() -> None:
    assert sanitize_html("", NO_IMAGES) == ""
    assert sanitize_html('<p style="x" onclick="y">a</p>', NO_IMAGES) == "<p>a</p>"
    assert (
        sanitize_html('<a href="http://x.test/">x</a>', NO_IMAGES)
        == '<a href="http://x.test/" rel="noopener noreferrer nofollow">x</a>'
    )
    two = '<img src="/local.png"><img src="https://x.test/a.png">'
    images = LexborHTMLParser(sanitize_html(two, ImageHosts.parse("x.test"))).css("img")
    assert [img.attributes for img in images] == [
        {"src": "https://x.test/a.png", "decoding": "async", "loading": "lazy", "referrerpolicy": "no-referrer"}
    ]
    assert LexborHTMLParser(sanitize_html(two, NO_IMAGES)).css("img") == []
    assert sanitize_html("<script>bad()</script><noscript>x</noscript><p>ok</p>", NO_IMAGES) == "<p>ok</p>"


def test_mark_html_touches_only_text() -> None:
    import re

    from searchengine.snippets import Needle

    needles = [Needle(re.compile("塔利班"))]
    html = '<p title="塔利班">塔利班 &amp; &lt;塔利班&gt;<a href="https://x.test/塔利班">塔利班</a></p>'
    assert mark_html(html, needles) == (
        '<p title="塔利班"><mark>塔利班</mark> &amp; &lt;<mark>塔利班</mark>&gt;'
        '<a href="https://x.test/塔利班"><mark>塔利班</mark></a></p>'
    )
    assert mark_html("<p>塔利\n班</p><pre>塔利\n班</pre>", needles) == "<p><mark>塔利班</mark></p><pre>塔利\n班</pre>"
    assert mark_html("<p>\ue000塔利班\ue001</p>", []) == "<p>塔利班</p>"
    assert mark_html("<p>无关</p>", needles) == "<p>无关</p>"


def test_query_needles_use_the_library(sample_engine: SearchEngine) -> None:
    assert query_needles(sample_engine, "") == []
    assert query_needles(sample_engine, "category:国际") == []
    assert any(n.pattern.search("莫斯科模式") for n in query_needles(sample_engine, "莫斯科模式"))


# --- the JSON API ---------------------------------------------------------------------


def test_api_search_is_the_library_result(client: FlaskClient, sample_engine: SearchEngine) -> None:
    data = api(client, "/api/search?q=经济&page=2&limit=5&sort=date&category=经济")
    expected = sample_engine.search("经济", page=2, limit=5, sort="date", category="经济").to_dict()
    assert data.pop("took_ms") >= 0
    expected.pop("took_ms")
    assert data == expected


def test_api_search_matches_the_cli_json(client: FlaskClient, sample_index: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "莫斯科模式", "--json", "--index", str(sample_index)])
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.output)
    from_api = api(client, "/api/search?q=莫斯科模式")
    assert list(from_api) == list(from_cli)
    from_cli.pop("took_ms"), from_api.pop("took_ms")
    assert from_api == from_cli
    assert from_api["hits"][0]["path"] == SEED


def test_api_search_explains_on_request(client: FlaskClient, sample_engine: SearchEngine) -> None:
    """``explain=1`` gives each hit the library's explanation; without it, hits carry none."""
    data = api(client, "/api/search?q=莫斯科模式&explain=1")
    expected = sample_engine.search("莫斯科模式", explain=True).to_dict()
    assert [hit["explain"] for hit in data["hits"]] == [hit["explain"] for hit in expected["hits"]]
    assert data["hits"][0]["explain"]["clauses"][0] == {
        "text": "莫斯科模式",
        "variant_of": None,
        "exact": True,
        "fields": ["body"],
        "words": True,
    }
    assert all("explain" not in hit for hit in api(client, "/api/search?q=莫斯科模式")["hits"])
    assert "explain must be 1 or 0" in api(client, "/api/search?q=x&explain=maybe", status=400)["error"]


def test_api_search_defaults(client: FlaskClient) -> None:
    data = api(client, "/api/search")
    assert data["total"] == 0 and data["hits"] == [] and data["limit"] == 10
    assert api(client, "/api/search?q=经济&page=99999")["hits"] == []


def test_api_post(client: FlaskClient, sample_engine: SearchEngine) -> None:
    post = sample_engine.get(SEED)
    assert post is not None
    expected = post.to_dict()
    del expected["source"]  # the server's file path stays on the server
    raw = api(client, f"/api/post/{SEED}?raw=1")
    assert raw.pop("html_sanitized") == sanitize_html(expected["html"], NO_IMAGES)
    assert raw == expected
    del expected["html"]  # the unsanitized body only on request
    for url in (f"/api/post/{SEED}", f"/api/post/{SEED}?raw=0", f"/api/post/{SEED}?raw="):
        data = api(client, url)
        assert data.pop("html_sanitized") == sanitize_html(post.html, NO_IMAGES)
        assert data == expected, url
    error = api(client, f"/api/post/{SEED}?raw=please", status=400)["error"]
    assert error.startswith("raw must be 1 or 0")
    assert api(client, "/api/post/nope", status=404) == {"status": 404, "error": "no post 'nope' in the index"}


def test_api_suggest(client: FlaskClient, sample_engine: SearchEngine) -> None:
    data = api(client, "/api/suggest?q=经济")
    assert data["query"] == "经济"
    assert {"title": EURASIA_TITLE, "path": EURASIA} in data["suggestions"]
    for suggestion in data["suggestions"]:
        post = sample_engine.get(suggestion["path"])
        assert post is not None and post.title == suggestion["title"]
    assert [s["title"] for s in data["suggestions"]] == sample_engine.suggest("经济", 8)
    assert len(api(client, "/api/suggest?q=经济&limit=1")["suggestions"]) == 1
    assert api(client, "/api/suggest") == {"query": "", "suggestions": []}
    assert api(client, "/api/suggest?q=%20") == {"query": " ", "suggestions": []}
    response = client.get("/api/suggest?q=经济&format=opensearch")
    assert response.mimetype == "application/x-suggestions+json"
    query, titles = response.get_json()
    assert query == "经济" and EURASIA_TITLE in titles


def test_api_suggest_finds_a_title_with_quotes(hostile_client: FlaskClient) -> None:
    """A quote cannot stand inside a phrase query: the post is found all the same."""
    [suggestion] = api(hostile_client, f"/api/suggest?q={quote('恶意标题')}")["suggestions"]
    assert '"' in suggestion["title"] and suggestion["path"] == HOSTILE_POST


# --- errors ---------------------------------------------------------------------------


def test_unknown_routes_are_404(client: FlaskClient) -> None:
    tree = page(client, "/no/such/page", status=404)
    assert first(tree, "h1").text() == "页面不存在"
    assert tree.css_first("form[role=search]") is not None  # the site's design, with its search box
    assert api(client, "/api/no/such", status=404) == {"status": 404, "error": "not found"}


def test_wrong_method_is_405(client: FlaskClient) -> None:
    for url in ("/", f"/post/{SEED}", "/opensearch.xml"):
        response = client.post(url)
        assert response.status_code == 405
        assert "GET" in response.headers["Allow"]
        assert_headers(response)
        assert "不支持的请求方法" in response.get_data(as_text=True)
    for url in ("/api/search", "/api/suggest", f"/api/post/{SEED}"):
        response = client.delete(url)
        assert response.status_code == 405
        assert response.get_json() == {"status": 405, "error": "method not allowed"}
        assert_headers(response)


def test_head_and_options_work(client: FlaskClient) -> None:
    assert client.head("/?q=经济").status_code == 200
    assert client.options("/api/search").status_code == 200


def test_unexpected_errors_are_500_without_a_traceback(
    sample_engine: SearchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app({"ENGINE": sample_engine})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(sample_engine, "search", broken)
    monkeypatch.setattr(sample_engine, "get", broken)
    app.logger.disabled = True
    client = app.test_client()
    tree = page(client, "/?q=经济", status=500)
    assert first(tree, "h1").text() == "服务器出错了"
    assert "secret" not in markup(tree)
    assert api(client, "/api/search?q=经济", status=500) == {"status": 500, "error": "internal server error"}
    assert api(client, f"/api/post/{SEED}", status=500) == {"status": 500, "error": "internal server error"}


def test_an_index_gone_at_runtime_is_503(sample_index: Path, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(sample_index, copy)
    app = create_app({"INDEX_DIR": copy})
    app.logger.disabled = True
    client = app.test_client()
    page(client, "/?q=经济")
    shutil.rmtree(copy)
    tree = page(client, "/?q=经济", status=503)
    assert str(copy) not in markup(tree)
    assert api(client, "/api/search?q=经济", status=503)["status"] == 503


# --- headers, static files, OpenSearch -------------------------------------------------


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    urls = ["/", "/?q=经济", f"/post/{SEED}", "/nope", "/?page=abc", "/api/search?q=经济", "/api/nope",
            "/api/suggest?q=经", "/opensearch.xml", "/static/style.css", "/static/search.js", "/static/favicon.svg"]
    for url in urls:
        response = client.get(url)
        assert_headers(response)
        response.close()
    policy = dict(part.split(" ", 1) for part in content_security_policy(NO_IMAGES).split("; "))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:" and policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'" and policy["object-src"] == "'none'"
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert SECURITY_HEADERS["Referrer-Policy"] == "same-origin"
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"


def test_static_files(client: FlaskClient) -> None:
    for name, mimetype in (
        ("style.css", "text/css"),
        ("search.js", "text/javascript"),
        ("favicon.svg", "image/svg+xml"),
    ):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.mimetype == mimetype
        response.close()
    assert client.get("/static/../__init__.py").status_code == 404


def test_opensearch_description(client: FlaskClient) -> None:
    response = client.get("/opensearch.xml", base_url="http://news.example:8080")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    assert_headers(response)
    root = ET.fromstring(response.data)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    assert root.tag == "{http://a9.com/-/spec/opensearch/1.1/}OpenSearchDescription"
    assert root.findtext("os:ShortName", namespaces=ns)
    urls = {url.get("type"): url.get("template") for url in root.findall("os:Url", ns)}
    assert urls["text/html"] == "http://news.example:8080/?q={searchTerms}"
    assert urls["application/x-suggestions+json"] == "http://news.example:8080/api/suggest?format=opensearch&q={searchTerms}"
    assert root.findtext("os:InputEncoding", namespaces=ns) == "UTF-8"


# --- serving and live index updates -----------------------------------------------------


def test_a_new_build_is_found_without_a_restart(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    for relative in (SEED, SCRIPT_POST):
        (posts / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / relative, posts / relative)
    index = build(posts, tmp_path / "index")
    client = create_app({"INDEX_DIR": index}).test_client()
    assert api(client, "/api/search?q=独角鲸测试")["total"] == 0
    assert page(client, "/?q=独角鲸测试").css(".result") == []
    write_posts(
        posts,
        {"new/2024/new-post.md": "---\ntitle: 新文章 独角鲸测试\ndate: 2024-05-01\n---\n\n独角鲸测试出现在正文里。\n"},
    )
    build(posts, index)
    assert api(client, "/api/search?q=独角鲸测试")["total"] == 1
    assert texts(page(client, "/?q=独角鲸测试"), ".result-title a") == ["新文章 独角鲸测试"]
    assert first(page(client, "/post/new/2024/new-post.md"), "h1").text() == "新文章 独角鲸测试"


def test_serve_runs_waitress_over_one_engine(sample_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import waitress

    from searchengine.web import server

    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kwargs: calls.append((app, kwargs)))
    server.serve(sample_index, host="127.0.0.1", port=8765, threads=6)
    [(app, kwargs)] = calls
    assert isinstance(app, Flask)
    assert isinstance(app.extensions["searchengine"], SearchEngine)
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 8765 and kwargs["threads"] == 6


def test_serve_takes_the_aliases_setting(
    forgiving_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import waitress

    table = tmp_path / "aliases.txt"
    table.write_text("房产经纪 楼市掮客\n", encoding="utf-8")
    apps: list[Flask] = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kwargs: apps.append(app))
    served = CliRunner().invoke(
        cli, ["serve", "--index", str(forgiving_index), "--workers", "1", "--aliases", str(table)]
    )
    assert served.exit_code == 0, served.output
    [app] = apps
    assert texts(page(app.test_client(), "/?q=楼市掮客"), ".result-title a") == ["房产经纪行业新规"]
    missing = CliRunner().invoke(cli, ["serve", "--index", str(forgiving_index), "--aliases", str(tmp_path / "no")])
    assert missing.exit_code == 1 and missing.output.count("\n") == 1 and "cannot read" in missing.output


def test_serve_without_an_index(tmp_path: Path) -> None:
    from searchengine.web.server import serve

    with pytest.raises(IndexMissingError):
        serve(tmp_path / "missing", host="127.0.0.1", port=0, threads=1)
    result = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "no index" in result.output


def test_serve_runs_one_process_per_worker_and_replaces_a_dead_one(
    sample_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal
    import urllib.request

    monkeypatch.setenv("SEARCHENGINE_WEB_WORKERS", "2")
    with running(sample_index) as server:
        wait_until(lambda: len(children(server.pid)) == 2)
        first = children(server.pid)
        for _ in range(6):
            with urllib.request.urlopen(f"{server.url}/api/search?q=%E7%BB%8F%E6%B5%8E") as response:
                assert json.load(response)["total"] > 10
        os.kill(next(iter(first)), signal.SIGKILL)
        wait_until(lambda: len(children(server.pid) - first) == 1 and len(children(server.pid)) == 2)
        with urllib.request.urlopen(f"{server.url}/api/search?q=%E7%BB%8F%E6%B5%8E") as response:
            assert response.status == 200
        workers = children(server.pid)
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers))
