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
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from selectolax.lexbor import LexborHTMLParser
from web_fixtures import (  # noqa: F401 - fixtures are used by name
    HOSTILE_POST,
    HOSTILE_WORD,
    SAMPLE_COUNT,
    SAMPLES,
    SCRIPT_POST,
    SEED,
    SEED_TITLE,
    assert_safe_html,
    build,
    hostile_index,
    sample_engine,
    sample_index,
    write_posts,
)

from searchengine.cli import main as cli
from searchengine.engine import SearchEngine
from searchengine.errors import IndexMissingError, ParameterError
from searchengine.web import create_app
from searchengine.web.highlight import mark_html, query_needles
from searchengine.web.params import SearchParams, simpler_queries
from searchengine.web.security import CONTENT_SECURITY_POLICY, SECURITY_HEADERS, sanitize_html
from searchengine.web.templating import hint_zh, page_numbers

XSS_QUERIES = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


@pytest.fixture
def app(sample_engine: SearchEngine) -> Flask:
    return create_app({"ENGINE": sample_engine, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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


def api(client: FlaskClient, url: str, status: int = 200) -> object:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    assert_headers(response)
    return response.get_json()


def assert_headers(response: object) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name  # type: ignore[attr-defined]


def texts(tree: LexborHTMLParser, selector: str) -> list[str]:
    return [node.text().strip() for node in tree.css(selector)]


def hrefs(tree: LexborHTMLParser, selector: str) -> list[str]:
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
    assert tree.css_first("html").attributes["lang"] == "zh-CN"
    for landmark in ("header", "main", "footer", "form[role=search]"):
        assert tree.css_first(landmark) is not None, landmark
    box = tree.css_first("input#q")
    assert box.attributes["name"] == "q" and box.attributes["value"] == ""
    assert tree.css_first("label[for=q]") is not None
    assert f"收录 {SAMPLE_COUNT} 篇文章" in tree.body.text()
    search_link = tree.css_first('link[rel=search][type="application/opensearchdescription+xml"]')
    assert search_link.attributes["href"] == "/opensearch.xml"
    assert tree.css_first("details.syntax summary").text() == "搜索语法"
    assert "title:卡布洛夫" in tree.css_first("details.syntax").text()
    assert tree.css(".result") == []


def test_search_finds_the_seed_post_with_the_phrase_marked(client: FlaskClient) -> None:
    tree = page(client, "/?q=莫斯科模式")
    assert tree.css_first("input#q").attributes["value"] == "莫斯科模式"
    first = tree.css_first(".result")
    link = first.css_first(".result-title a")
    assert link.text() == SEED_TITLE
    assert urlsplit(link.attributes["href"]).path == f"/post/{SEED}"
    assert args_of(link.attributes["href"]) == {"q": ["莫斯科模式"]}
    assert "莫斯科模式" in texts(first, ".snippet mark")
    assert first.css_first("time").attributes["datetime"].startswith("2021-10-21")
    assert "2021年10月21日" in first.css_first(".meta").text()
    assert "观察者网" in texts(first, ".meta a")
    summary = tree.css_first(".summary").text()
    assert "共 1 条结果" in summary and "毫秒" in summary
    assert "莫斯科模式" in tree.css_first("title").text()


def test_search_page_shows_what_the_library_returns(client: FlaskClient, sample_engine: SearchEngine) -> None:
    expected = sample_engine.search("经济", limit=10)
    tree = page(client, "/?q=经济")
    assert [urlsplit(h).path for h in hrefs(tree, ".result-title a")] == [f"/post/{hit.path}" for hit in expected.hits]
    assert [n.html for n in tree.css(".snippet")] == [f'<p class="snippet">{hit.snippet.html}</p>' for hit in expected.hits]
    assert f"共 {expected.total} 条结果" in tree.css_first(".summary").text()
    assert tree.css_first("ol.results").attributes["start"] == "1"


def test_pagination(client: FlaskClient, sample_engine: SearchEngine) -> None:
    total = sample_engine.search("经济").total
    assert total > 20
    first = page(client, "/?q=经济")
    nav = first.css_first("nav.pagination")
    assert nav.css_first("[aria-current=page]").text() == "1"
    assert nav.css_first("a[rel=prev]") is None
    next_href = nav.css_first("a[rel=next]").attributes["href"]
    assert args_of(next_href) == {"q": ["经济"], "page": ["2"]}
    second = page(client, next_href)
    assert second.css_first("nav.pagination [aria-current=page]").text() == "2"
    assert second.css_first("ol.results").attributes["start"] == "11"
    assert args_of(second.css_first("a[rel=prev]").attributes["href"]) == {"q": ["经济"]}
    assert not set(hrefs(first, ".result-title a")) & set(hrefs(second, ".result-title a"))
    numbers = texts(second, "nav.pagination li a, nav.pagination li .current")
    assert "1" in numbers and "3" in numbers
    assert "第 11–20 条" in second.css_first(".summary").text()


def test_page_past_the_end_is_friendly(client: FlaskClient) -> None:
    tree = page(client, "/?q=经济&page=99999")
    assert tree.css(".result") == []
    assert "超出范围" in tree.css_first(".summary").text()
    assert args_of(tree.css_first(".empty-page a").attributes["href"])["page"] == ["3"]


def test_category_facet_adds_and_removes_the_filter(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?q=经济&page=2")
    facet = tree.css_first("nav.facet[aria-label=按分类筛选] a.facet-link")
    value, count = facet.css_first(".value").text(), int(facet.css_first(".count").text())
    href = facet.attributes["href"]
    assert args_of(href) == {"q": ["经济"], "category": [value]}  # back to page 1
    filtered = page(client, href)
    assert f"共 <strong>{count}</strong>" in filtered.css_first(".summary").html
    chip = filtered.css_first(".active-filters a.chip")
    assert chip.text(strip=True).startswith(f"分类：{value}")
    assert args_of(chip.attributes["href"]) == {"q": ["经济"]}
    active = filtered.css_first("a.facet-link.active")
    assert active.attributes["aria-current"] == "true"
    assert args_of(active.attributes["href"]) == {"q": ["经济"]}
    assert filtered.css_first('form[role=search] input[type=hidden][name=category]').attributes["value"] == value
    expected = sample_engine.search("经济", category=value)
    assert [urlsplit(h).path for h in hrefs(filtered, ".result-title a")] == [f"/post/{h.path}" for h in expected.hits]


def test_author_and_year_facets_combine(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?q=经济")
    year = tree.css_first("nav.facet[aria-label=按年份筛选] a.facet-link")
    with_year = page(client, year.attributes["href"])
    author = with_year.css_first("nav.facet[aria-label=按作者筛选] a.facet-link")
    both = page(client, author.attributes["href"])
    args = args_of(both.css_first(".sort a").attributes["href"])
    assert set(args) == {"q", "year", "author", "sort"}
    year_value = int(year.css_first(".value").text())
    author_value = author.css_first(".value").text()
    expected = sample_engine.search("经济", year=year_value, author=author_value)
    assert expected.total == int(author.css_first(".count").text())
    assert len(both.css(".active-filters li")) == 2
    clear = both.css_first(".active-filters a.clear").attributes["href"]
    assert args_of(clear) == {"q": ["经济"]}


def test_filters_alone_browse_the_archive(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?category=体育")
    assert len(tree.css(".result")) == sample_engine.search("", category="体育").total > 0


def test_sort_by_date(client: FlaskClient, sample_engine: SearchEngine) -> None:
    tree = page(client, "/?q=经济&sort=date")
    assert tree.css_first(".sort [aria-current]").text() == "最新"
    dates = [node.attributes["datetime"] for node in tree.css(".result time")]
    expected = sample_engine.search("经济", sort="date")
    assert [urlsplit(h).path for h in hrefs(tree, ".result-title a")] == [f"/post/{h.path}" for h in expected.hits]
    assert dates == [h.date for h in expected.hits]
    relevance = tree.css_first(".sort a").attributes["href"]
    assert args_of(relevance) == {"q": ["经济"]}
    assert args_of(tree.css_first("a[rel=next]").attributes["href"])["sort"] == ["date"]
    assert tree.css_first('form[role=search] input[name=sort]').attributes["value"] == "date"


def test_empty_state_offers_ways_out(client: FlaskClient) -> None:
    tree = page(client, '/?q="完全不存在的短语" 经济&category=体育')
    empty = tree.css_first("section.empty")
    text = empty.text()
    assert "没有找到" in text and "去掉引号" in text and "减少关键词" in text
    remove = [a for a in empty.css("a") if a.text() == "去掉筛选条件"][0]
    assert args_of(remove.attributes["href"]) == {"q": ['"完全不存在的短语" 经济']}
    broader = [a.text() for a in empty.css("a.chip")]
    assert "完全不存在的短语 经济" in broader and "经济" in broader
    assert tree.css_first("aside.facets") is None


def test_empty_state_suggests_titles(client: FlaskClient) -> None:
    tree = page(client, "/?q=欧亚经济论坛 -开幕")
    assert "欧亚经济论坛开幕 各方探讨区域互联互通" in texts(tree, ".title-suggestions a")


def test_hints_are_shown_in_chinese(client: FlaskClient) -> None:
    tree = page(client, '/?q="未闭合的引号 date:2021-13')
    hints = texts(tree, ".hints li")
    assert "有一个引号没有配对，已忽略" in hints
    assert any("不是日期" in hint for hint in hints)


def test_hint_translation_keeps_unknown_hints() -> None:
    assert hint_zh("something new") == "something new"
    assert hint_zh("the query was shortened to its first 500 characters") == "查询过长，只使用了前 500 个字符"


def test_page_numbers() -> None:
    assert page_numbers(1, 0) == []
    assert page_numbers(1, 1) == [1]
    assert page_numbers(5, 10) == [1, None, 3, 4, 5, 6, 7, None, 10]
    assert page_numbers(2, 4) == [1, 2, 3, 4]


def test_search_params_links_keep_everything_but_the_change() -> None:
    params = SearchParams.from_args({"q": "经济", "page": "3", "sort": "date", "category": " 国际 ", "year": "2021"}, 10)
    assert params.filters == [("category", "国际"), ("year", "2021")]
    assert params.url_args(author="王婧") == {"q": "经济", "category": "国际", "year": 2021, "author": "王婧", "sort": "date"}
    assert params.url_args(page=4)["page"] == 4
    assert params.url_args(sort="relevance", category=None, year=None) == {"q": "经济"}
    assert simpler_queries('"莫斯科模式" 塔利班') == ["莫斯科模式 塔利班", "莫斯科模式", "塔利班"]
    assert simpler_queries("经济") == []


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
    assert tree.css_first("input#q").attributes["value"] == query  # kept in the box, as text
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


def test_a_5000_character_query(client: FlaskClient) -> None:
    query = ("经济发展" * 1250)[:5000]
    tree = page(client, f"/?q={quote(query)}")
    assert "查询过长，只使用了前 500 个字符" in texts(tree, ".hints li")
    data = api(client, f"/api/search?q={quote(query)}")
    assert data["query"] == query
    assert api(client, f"/api/suggest?q={quote(query)}")["suggestions"] == []
    page(client, f"/post/{SEED}?q={quote(query)}")


def test_invalid_utf8_in_the_query_string(client: FlaskClient) -> None:
    tree = page(client, "/?q=%ff%fe")
    assert tree.css_first("input#q").attributes["value"] in ("%FF%FE", "\ufffd\ufffd")  # as werkzeug decodes it
    api(client, "/api/search?q=%ff%fe&category=%c3%28")
    api(client, "/api/suggest?q=%ff")
    page(client, f"/post/{SEED}?q=%ff%fe")
    page(client, "/post/%ff%fe", status=404)


@pytest.mark.parametrize(
    "query, name",
    [("page=-1", "page"), ("page=0", "page"), ("page=abc", "page"), ("page=1e3", "page"), ("page=99999999999999999999", "page"),
     ("sort=best", "sort"), ("year=abc", "year"), ("year=0", "year"), ("year=99999", "year")],
)
def test_bad_parameters_are_400_naming_the_parameter(client: FlaskClient, query: str, name: str) -> None:
    tree = page(client, f"/?q=经济&{query}", status=400)
    assert tree.css_first("h1").text() == "请求参数有误"
    assert name in tree.css_first(".error-detail").text()
    data = api(client, f"/api/search?q=经济&{query}", status=400)
    assert data["status"] == 400 and name in data["error"]  # type: ignore[index]


@pytest.mark.parametrize("limit", ["1000", "0", "-5", "abc", "101"])
def test_api_limit_is_checked(client: FlaskClient, limit: str) -> None:
    data = api(client, f"/api/search?q=经济&limit={limit}", status=400)
    assert data == {"status": 400, "error": data["error"]} and "limit" in data["error"]  # type: ignore[index]
    data = api(client, f"/api/suggest?q=经济&limit={limit}", status=400)
    assert "limit" in data["error"]  # type: ignore[index]


def test_empty_parameters_mean_defaults(client: FlaskClient) -> None:
    tree = page(client, "/?q=经济&page=&sort=&category=&author=&year=")
    assert len(tree.css(".result")) == 10
    assert api(client, "/api/search?q=经济&limit=&page=")["limit"] == 10  # type: ignore[index]


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
    assert tree.css_first("h1#post-title").text() == SEED_TITLE
    assert tree.css_first("title").text().startswith(SEED_TITLE)
    meta = tree.css_first(".post-header .meta")
    assert "2021年10月21日 18:42" in meta.text()  # 10:42 UTC in Asia/Shanghai
    assert set(texts(meta, "a.tag")) == {"新媒体", "观察者网", "首页"}
    assert args_of(meta.css_first("a.meta-link").attributes["href"]) == {"author": ["观察者网"]}
    assert tree.css(".post-body mark") == []
    assert "塔利班" in tree.css_first(".post-body").text()
    related = [urlsplit(h).path for h in hrefs(tree, "aside.related a")]
    assert related == [f"/post/{hit.path}" for hit in sample_engine.more_like_this(SEED, 5)]
    assert len(related) == 5 and f"/post/{SEED}" not in related
    assert hrefs(tree, ".crumbs a") == ["/"]
    for image in tree.css(".post-body img"):
        assert image.attributes["loading"] == "lazy"
        assert image.attributes["src"].startswith("https://")


def test_post_page_marks_the_query(client: FlaskClient) -> None:
    tree = page(client, f"/post/{SEED}?q=莫斯科模式")
    marks = texts(tree, ".post-body mark")
    assert marks and set(marks) == {"莫斯科模式"}
    assert tree.css_first("input#q").attributes["value"] == "莫斯科模式"
    assert args_of(tree.css_first(".crumbs a").attributes["href"]) == {"q": ["莫斯科模式"]}
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
    body = tree.css_first(".post-body")
    assert texts(body, "mark") == [HOSTILE_WORD, HOSTILE_WORD]
    assert "alert(15)" in body.text()  # text that looks like a tag stays text
    assert body.css("script, style, iframe, object, embed, form, input, svg, math, details") == []
    links = {a.text(): a.attributes for a in body.css("a")}
    assert links["好链接"] == {"href": "https://example.com/page", "rel": "noopener noreferrer nofollow"}
    for name in ("坏链接", "坏链接二", "相对链接", "数据链接"):
        assert "href" not in links[name]
    images = [img.attributes for img in body.css("img")]
    assert images == [{"src": "https://example.com/ok.png", "alt": "好图片", "width": "100", "decoding": "async", "loading": "lazy"}]
    assert [p.attributes for p in body.css("p")] == [{}, {}]
    title = tree.css_first("h1#post-title")
    assert title.text() == '<script>alert("title")</script>恶意标题 "><img src=x onerror=alert(1)>'
    assert title.css("script, img") == []
    assert tree.css_first(".post-header .meta-link").text() == '"><img src=x onerror=alert(2)>'
    data = hostile_client.get(f"/api/post/{HOSTILE_POST}").get_json()
    assert "<script" in data["html"]  # the library keeps the body as written...
    assert data["html_sanitized"] == sanitize_html(data["html"])  # ...the API adds the safe form
    assert "<script" not in data["html_sanitized"] and "onerror" not in data["html_sanitized"]
    assert_safe_html(data["html_sanitized"])


def test_hostile_post_in_results(hostile_client: FlaskClient) -> None:
    tree = page(hostile_client, f"/?q={HOSTILE_WORD}")
    assert len(tree.css(".result")) == 1
    assert texts(tree, ".result-title a") == ['<script>alert("title")</script>恶意标题 "><img src=x onerror=alert(1)>']
    assert "<b>分类</b>" in texts(tree, "nav.facet a .value")


def test_sanitize_html_rules() -> None:
    assert sanitize_html("") == ""
    assert sanitize_html('<p style="x" onclick="y">a</p>') == "<p>a</p>"
    assert sanitize_html('<a href="http://x.test/">x</a>') == '<a href="http://x.test/" rel="noopener noreferrer nofollow">x</a>'
    images = LexborHTMLParser(sanitize_html('<img src="/local.png"><img src="https://x.test/a.png">')).css("img")
    assert [img.attributes for img in images] == [{"src": "https://x.test/a.png", "decoding": "async", "loading": "lazy"}]
    assert sanitize_html("<script>bad()</script><noscript>x</noscript><p>ok</p>") == "<p>ok</p>"


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
    assert data.pop("took_ms") >= 0  # type: ignore[union-attr]
    expected.pop("took_ms")
    assert data == expected


def test_api_search_matches_the_cli_json(client: FlaskClient, sample_index: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "莫斯科模式", "--json", "--index", str(sample_index)])
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.output)
    from_api = api(client, "/api/search?q=莫斯科模式")
    assert list(from_api) == list(from_cli)  # type: ignore[arg-type]
    from_cli.pop("took_ms"), from_api.pop("took_ms")  # type: ignore[union-attr]
    assert from_api == from_cli
    assert from_api["hits"][0]["path"] == SEED  # type: ignore[index]


def test_api_search_defaults(client: FlaskClient) -> None:
    data = api(client, "/api/search")
    assert data["total"] == 0 and data["hits"] == [] and data["limit"] == 10  # type: ignore[index]
    assert api(client, "/api/search?q=经济&page=99999")["hits"] == []  # type: ignore[index]


def test_api_post(client: FlaskClient, sample_engine: SearchEngine) -> None:
    data = api(client, f"/api/post/{SEED}")
    expected = sample_engine.get(SEED).to_dict()  # type: ignore[union-attr]
    sanitized = data.pop("html_sanitized")  # type: ignore[union-attr]
    del expected["source"]  # the server's file path stays on the server
    assert data == expected
    assert sanitized == sanitize_html(expected["html"])
    assert api(client, "/api/post/nope", status=404) == {"status": 404, "error": "no post 'nope' in the index"}


def test_api_suggest(client: FlaskClient) -> None:
    data = api(client, "/api/suggest?q=经济")
    assert data["query"] == "经济"  # type: ignore[index]
    assert "欧亚经济论坛开幕 各方探讨区域互联互通" in data["suggestions"]  # type: ignore[index]
    assert len(api(client, "/api/suggest?q=经济&limit=1")["suggestions"]) == 1  # type: ignore[index]
    assert api(client, "/api/suggest") == {"query": "", "suggestions": []}
    assert api(client, "/api/suggest?q=%20") == {"query": " ", "suggestions": []}
    response = client.get("/api/suggest?q=经济&format=opensearch")
    assert response.mimetype == "application/x-suggestions+json"
    query, titles = response.get_json()
    assert query == "经济" and "欧亚经济论坛开幕 各方探讨区域互联互通" in titles


# --- errors ---------------------------------------------------------------------------


def test_unknown_routes_are_404(client: FlaskClient) -> None:
    tree = page(client, "/no/such/page", status=404)
    assert tree.css_first("h1").text() == "页面不存在"
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


def test_unexpected_errors_are_500_without_a_traceback(sample_engine: SearchEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app({"ENGINE": sample_engine})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(sample_engine, "search", broken)
    monkeypatch.setattr(sample_engine, "get", broken)
    app.logger.disabled = True
    client = app.test_client()
    tree = page(client, "/?q=经济", status=500)
    assert tree.css_first("h1").text() == "服务器出错了"
    assert "secret" not in tree.html  # type: ignore[operator]
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
    assert str(copy) not in tree.html  # type: ignore[operator]
    assert api(client, "/api/search?q=经济", status=503)["status"] == 503  # type: ignore[index]


# --- headers, static files, OpenSearch -------------------------------------------------


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    urls = ["/", "/?q=经济", f"/post/{SEED}", "/nope", "/?page=abc", "/api/search?q=经济", "/api/nope",
            "/api/suggest?q=经", "/opensearch.xml", "/static/style.css", "/static/search.js", "/static/favicon.svg"]
    for url in urls:
        response = client.get(url)
        assert_headers(response)
        response.close()
    policy = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' https: data:" and policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'" and policy["object-src"] == "'none'"
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert SECURITY_HEADERS["Referrer-Policy"] == "same-origin"
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"


def test_static_files(client: FlaskClient) -> None:
    for name, mimetype in (("style.css", "text/css"), ("search.js", "text/javascript"), ("favicon.svg", "image/svg+xml")):
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
    assert root.find("os:ShortName", ns).text  # type: ignore[union-attr]
    urls = {url.get("type"): url.get("template") for url in root.findall("os:Url", ns)}
    assert urls["text/html"] == "http://news.example:8080/?q={searchTerms}"
    assert urls["application/x-suggestions+json"] == "http://news.example:8080/api/suggest?format=opensearch&q={searchTerms}"
    assert root.find("os:InputEncoding", ns).text == "UTF-8"  # type: ignore[union-attr]


# --- serving and live index updates -----------------------------------------------------


def test_a_new_build_is_found_without_a_restart(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    for relative in (SEED, SCRIPT_POST):
        (posts / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / relative, posts / relative)
    index = build(posts, tmp_path / "index")
    client = create_app({"INDEX_DIR": index}).test_client()
    assert api(client, "/api/search?q=独角鲸测试")["total"] == 0  # type: ignore[index]
    assert page(client, "/?q=独角鲸测试").css(".result") == []
    write_posts(posts, {"new/2024/new-post.md": "---\ntitle: 新文章 独角鲸测试\ndate: 2024-05-01\n---\n\n独角鲸测试出现在正文里。\n"})
    build(posts, index)
    assert api(client, "/api/search?q=独角鲸测试")["total"] == 1  # type: ignore[index]
    assert texts(page(client, "/?q=独角鲸测试"), ".result-title a") == ["新文章 独角鲸测试"]
    assert page(client, "/post/new/2024/new-post.md").css_first("h1").text() == "新文章 独角鲸测试"


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


def test_serve_without_an_index(tmp_path: Path) -> None:
    from searchengine.web.server import serve

    with pytest.raises(IndexMissingError):
        serve(tmp_path / "missing", host="127.0.0.1", port=0, threads=1)
    result = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "no index" in result.output


def _children(pid: int) -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                found.add(int(proc.name))
        except (OSError, IndexError):
            continue
    return found


def _wait_for(condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_serve_runs_one_process_per_worker_and_replaces_a_dead_one(sample_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal
    import urllib.request

    from searchengine.web.server import running

    monkeypatch.setenv("SEARCHENGINE_WEB_WORKERS", "2")
    with running(sample_index) as server:
        _wait_for(lambda: len(_children(server.pid)) == 2)
        first = _children(server.pid)
        for _ in range(6):
            with urllib.request.urlopen(f"{server.url}/api/search?q=%E7%BB%8F%E6%B5%8E") as response:
                assert json.load(response)["total"] > 10
        os.kill(next(iter(first)), signal.SIGKILL)
        _wait_for(lambda: len(_children(server.pid) - first) == 1 and len(_children(server.pid)) == 2)
        with urllib.request.urlopen(f"{server.url}/api/search?q=%E7%BB%8F%E6%B5%8E") as response:
            assert response.status == 200
        workers = _children(server.pid)
    _wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers))
