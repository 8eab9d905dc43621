"""The Atom feed (``/feed``) through Flask's test client, read back with a real feed parser.

The index holds the sample posts, the hostile post of :mod:`tooling`, more
posts sharing one word than a feed lists, and posts that carry characters XML
forbids (control characters, U+FFFE) in their title, author, category, tag and
body, one of them undated. Every feed must parse without complaint
(``bozo`` 0) and hold exactly the newest matches the library finds.
"""

from __future__ import annotations

import shutil
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import feedparser  # type: ignore[import-untyped]
import pytest
from flask.testing import FlaskClient
from selectolax.lexbor import LexborHTMLParser
from werkzeug.test import TestResponse

from searchengine.engine import SearchEngine
from searchengine.results import SearchResult
from searchengine.web import create_app
from searchengine.web.feed import FEED_SIZE, UNDATED, xml_text
from tooling import HOSTILE_POSTS, SAMPLES, assert_safe_html, build, write_posts

SITE = "新闻档案搜索"
MANY_WORD = "榴莲测试词"  # in more posts than a feed lists
ODD_WORD = "鳄梨测试词"  # in the posts with characters XML forbids
MANY = FEED_SIZE + 7
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def _many_posts() -> dict[str, str]:
    """MANY dated posts with MANY_WORD, written in different zones so that local and UTC order differ."""
    posts = {}
    for i in range(MANY):
        offset = (i * 5) % 13 - 6
        posts[f"feed/2022/many-{i:02d}.md"] = (
            f"---\ntitle: 第{i}篇{MANY_WORD}报道\nauthor: 记者{i % 3}\ncategories:\n - 测试\n"
            f"date: 2022-03-{1 + i % 28:02d}T{(i * 7) % 24:02d}:00:00{offset:+03d}:00\n---\n"
            f"{MANY_WORD}出现在第{i}篇报道的正文里。\n"
        )
    return posts


ODD_POSTS = {
    "feed/odd/control.md": (
        "---\n"
        'title: "控制字符\\x01标题 ]]> <script>alert(1)</script> \\uFFFE 结束"\n'
        'author: "坏\\x02作者"\n'
        "categories:\n"
        ' - "分\\x03类"\n'
        "tags:\n"
        ' - "]]>"\n'
        "date: 2030-01-02 10:00:00\n"
        "---\n"
        f"正文里有控制字符\x01和\x1f {ODD_WORD} 还有 ]]> 与 <b>标签</b>\n"
    ),
    "feed/odd/undated.md": f"---\ntitle: 无日期文章\n---\n{ODD_WORD} 这篇没有日期\x0b\x0c，正文带\ufffe。\n",
}


@pytest.fixture(scope="module")
def feed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("feed")
    posts = root / "posts"
    shutil.copytree(SAMPLES, posts)
    write_posts(posts, {**HOSTILE_POSTS, **_many_posts(), **ODD_POSTS})
    return build(posts, root / "index")


@pytest.fixture(scope="module")
def engine(feed_index: Path) -> SearchEngine:
    return SearchEngine(feed_index)


@pytest.fixture
def client(engine: SearchEngine) -> FlaskClient:
    return create_app({"ENGINE": engine, "TESTING": True}).test_client()


def atom(client: FlaskClient, url: str, **kwargs: Any) -> tuple[Any, TestResponse]:
    """GET a feed, check that it is well-formed Atom with our headers; return it parsed, and the response."""
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:500])
    assert response.headers["Content-Type"] == ATOM_TYPE
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]  # the site's security headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    root = ET.fromstring(response.data)  # strict XML 1.0: fails on any character XML forbids
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed, response


def newest(engine: SearchEngine, query: str, **filters: Any) -> SearchResult:
    return engine.search(query, sort="date", limit=FEED_SIZE, **filters)


def post_url(path: str) -> str:
    return "http://localhost/post/" + path


def when(iso: str | None) -> time.struct_time:
    """A date as feedparser gives it: a UTC struct_time; the feed's fixed instant when there is none."""
    moment = datetime.fromisoformat(iso or UNDATED.replace("Z", "+00:00"))
    return time.gmtime(moment.timestamp())


def args_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --- what a feed holds --------------------------------------------------------------


@pytest.mark.parametrize("query", ["经济", MANY_WORD, "APEC", ODD_WORD])
def test_entries_are_the_newest_matches(client: FlaskClient, engine: SearchEngine, query: str) -> None:
    expected = newest(engine, query)
    assert expected.total > 0
    parsed, _ = atom(client, "/feed?q=" + query)
    assert [entry.link for entry in parsed.entries] == [post_url(hit.path) for hit in expected.hits]
    assert len(parsed.entries) == min(expected.total, FEED_SIZE)
    dated = [entry.published_parsed for entry, hit in zip(parsed.entries, expected.hits, strict=True) if hit.date]
    assert dated == sorted(dated, reverse=True)


def test_a_feed_lists_at_most_feed_size_posts(client: FlaskClient, engine: SearchEngine) -> None:
    assert engine.search(MANY_WORD).total == MANY > FEED_SIZE
    parsed, _ = atom(client, "/feed?q=" + MANY_WORD)
    assert len(parsed.entries) == FEED_SIZE
    every = sorted((datetime.fromisoformat(hit.date) for hit in engine.search(MANY_WORD, limit=MANY).hits if hit.date),
                   reverse=True)
    assert [entry.published_parsed for entry in parsed.entries] == [when(d.isoformat()) for d in every[:FEED_SIZE]]


def test_entries_carry_each_posts_metadata(client: FlaskClient, engine: SearchEngine) -> None:
    expected = newest(engine, "经济")
    parsed, _ = atom(client, "/feed?q=经济")
    for entry, hit in zip(parsed.entries, expected.hits, strict=True):
        assert entry.id == post_url(hit.path)
        assert entry.title == hit.title
        assert entry.summary == hit.snippet.text
        assert entry.published_parsed == entry.updated_parsed == when(hit.date)
        assert [tag.term for tag in entry.tags] == list(dict.fromkeys(hit.categories + hit.tags))
        assert entry.author == (hit.author or SITE)


def test_entry_links_open_the_posts(client: FlaskClient) -> None:
    parsed, _ = atom(client, "/feed?q=经济")
    assert parsed.entries
    for entry in parsed.entries:
        response = client.get(urlsplit(entry.link).path)
        assert response.status_code == 200, entry.link
        heading = LexborHTMLParser(response.get_data(as_text=True)).css_first("h1")
        assert heading is not None and entry.title in heading.text()


def test_the_feed_describes_itself(client: FlaskClient, engine: SearchEngine) -> None:
    parsed, _ = atom(client, "/feed?q=经济&category=国际")
    feed = parsed.feed
    assert feed.title == f"“经济” · 分类：国际 - {SITE}"
    assert feed.id == "http://localhost/feed?" + urlencode({"q": "经济", "category": "国际"})
    links = {link.rel: link for link in feed.links}
    assert links["self"].href == feed.id and links["self"].type == "application/atom+xml"
    assert links["alternate"].type == "text/html"
    assert args_of(links["alternate"].href) == {"q": ["经济"], "category": ["国际"], "sort": ["date"]}
    page = client.get(urlsplit(links["alternate"].href).path + "?" + urlsplit(links["alternate"].href).query)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert feed.generator == "searchengine"
    assert feed.author == SITE
    expected = newest(engine, "经济", category="国际")
    assert feed.updated_parsed == max(when(hit.date) for hit in expected.hits if hit.date)


# --- parameters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "title_part"),
    [
        ({"category": "国际"}, "分类：国际"),
        ({"q": "经济", "year": "2024"}, "“经济” · 年份：2024"),
        ({"author": "新华社"}, "作者：新华社"),
        ({"q": "中国", "tag": "一带一路"}, "“中国” · 标签：一带一路"),
        ({"q": "经济 category:国际"}, "“经济 category:国际”"),
    ],
)
def test_filters_apply(client: FlaskClient, engine: SearchEngine, args: dict[str, str], title_part: str) -> None:
    query = args.get("q", "")
    filters = {name: value for name, value in args.items() if name != "q"}
    expected = newest(engine, query, **filters)
    broader = engine.search(query.split()[0]) if query else None  # the words without any filter
    assert expected.total > 0
    assert broader is None or expected.total < broader.total  # the filter narrows the search
    parsed, _ = atom(client, "/feed", query_string=args)
    assert [entry.link for entry in parsed.entries] == [post_url(hit.path) for hit in expected.hits]
    assert parsed.feed.title == f"{title_part} - {SITE}"
    assert args_of(parsed.feed.id) == {name: [value] for name, value in args.items()}


def test_the_date_filter_of_the_page_applies(client: FlaskClient, engine: SearchEngine) -> None:
    expected = newest(engine, "经济", date="2024")
    assert 0 < expected.total < engine.search("经济").total
    parsed, _ = atom(client, "/feed?q=经济&date=2024")
    assert [entry.link for entry in parsed.entries] == [post_url(hit.path) for hit in expected.hits]
    assert parsed.feed.title == f"“经济” · 时间：2024 - {SITE}"


def test_sort_and_page_of_the_page_do_not_change_the_feed(client: FlaskClient) -> None:
    plain, _ = atom(client, "/feed?q=经济")
    paged, _ = atom(client, "/feed?q=经济&sort=relevance&page=2")
    assert [e.link for e in paged.entries] == [e.link for e in plain.entries]
    assert paged.feed.id == plain.feed.id


def test_correct_is_honoured(client: FlaskClient, engine: SearchEngine) -> None:
    parsed, _ = atom(client, "/feed?q=jingji&correct=0")
    assert [e.link for e in parsed.entries] == [post_url(h.path) for h in newest(engine, "jingji", correct=False).hits]
    assert args_of(parsed.feed.id)["correct"] == ["0"]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/feed", "q"),
        ("/feed?q=%20%20", "q"),
        ("/feed?q=经济&year=abc", "year"),
        ("/feed?q=经济&page=abc", "page"),
        ("/feed?q=经济&correct=maybe", "correct"),
    ],
)
def test_bad_parameters_are_400(client: FlaskClient, url: str, named: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert named in text and "Traceback" not in text


def test_a_feed_with_no_match_is_valid_and_empty(client: FlaskClient) -> None:
    parsed, _ = atom(client, "/feed?q=这个词绝对不会出现在任何文章里的测试")
    assert parsed.entries == []
    assert parsed.feed.updated == UNDATED


# --- hostile input ----------------------------------------------------------------

HOSTILE_QUERIES = [
    "<script>alert(1)</script>",
    "经济 ]]> <![CDATA[ x ]]>",
    "\"'&<>\" 经济 '",
    "经济\x00\x01\x08\x0b\x0c\x0e\x1f\ufffe\uffff结束",
    "经济" * 5000,
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=["script", "cdata", "quotes", "controls", "10000-chars"])
def test_hostile_queries_give_well_formed_feeds(client: FlaskClient, query: str) -> None:
    parsed, response = atom(client, "/feed", query_string={"q": query})
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "<![CDATA[" not in body
    title = parsed.feed.title
    assert title.startswith("“") and title.endswith(f"” - {SITE}") and len(title) <= 80
    words = xml_text(query).split()
    if len(query) < 60:
        assert all(word in title for word in words)
    else:
        assert "…" in title and title.startswith("“" + query[:40])
    assert len(parsed.feed.id) < 500 * 9 + 100  # the links carry the 500 characters searched, at most


def test_a_lone_surrogate_in_the_query_string_is_harmless(client: FlaskClient) -> None:
    parsed, _ = atom(client, "/feed?q=%ED%A0%80%E7%BB%8F%E6%B5%8E")
    assert "经济" in parsed.feed.title


def test_posts_with_characters_xml_forbids(client: FlaskClient, engine: SearchEngine) -> None:
    expected = newest(engine, ODD_WORD)
    parsed, response = atom(client, "/feed?q=" + ODD_WORD)
    body = response.get_data(as_text=True)
    assert not any(c in body for c in "\x01\x02\x03\x0b\x0c\x1f\ufffe")
    assert "<script>" not in body
    for entry, hit in zip(parsed.entries, expected.hits, strict=True):
        assert entry.title == xml_text(hit.title)
        assert entry.summary == xml_text(hit.snippet.text).strip()
        if hit.author:
            assert entry.author == xml_text(hit.author)
        assert [t.term for t in entry.get("tags", [])] == [xml_text(t) for t in hit.categories + hit.tags]
    undated = [entry for entry, hit in zip(parsed.entries, expected.hits, strict=True) if not hit.date]
    assert undated and all(entry.updated == entry.published == UNDATED for entry in undated)


def test_the_hostile_post_is_plain_text_in_the_feed(client: FlaskClient, engine: SearchEngine) -> None:
    [hit] = newest(engine, "海狸鼠测试词").hits
    parsed, response = atom(client, "/feed?q=海狸鼠测试词")
    [entry] = parsed.entries
    assert entry.title == hit.title and "<script>" in hit.title
    assert "<script>" not in response.get_data(as_text=True)
    assert entry.title_detail.type == "text/plain"


# --- caching ----------------------------------------------------------------------


def test_feeds_can_be_cached_and_revalidated(client: FlaskClient) -> None:
    _, response = atom(client, "/feed?q=经济")
    assert response.headers["Cache-Control"] in ("public, max-age=300", "max-age=300, public")
    etag = response.headers["ETag"]
    again = client.get("/feed?q=经济", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = client.get("/feed?q=中国", headers={"If-None-Match": etag})
    assert other.status_code == 200


# --- the search page links to its feed ----------------------------------------------


def test_the_search_page_links_to_its_feed(client: FlaskClient) -> None:
    response = client.get("/?q=经济&category=国际&sort=date&page=2")
    html = response.get_data(as_text=True)
    assert_safe_html(html)
    tree = LexborHTMLParser(html)
    [head] = tree.css('head link[rel="alternate"][type="application/atom+xml"]')
    [visible] = tree.css(".feed-link a")
    href = head.attributes["href"]
    assert href and visible.attributes["href"] == href
    assert urlsplit(href).path == "/feed"
    assert args_of(href) == {"q": ["经济"], "category": ["国际"]}
    parsed, _ = atom(client, href)
    assert head.attributes["title"] == parsed.feed.title
    assert parsed.feed.id == "http://localhost" + href


def test_a_results_page_without_matches_still_links_to_its_feed(client: FlaskClient) -> None:
    tree = LexborHTMLParser(client.get("/?q=这个词绝对不会出现在任何文章里的测试").get_data(as_text=True))
    assert tree.css_first('head link[type="application/atom+xml"]') is not None
    assert tree.css_first(".feed-link a") is not None


def test_the_home_page_has_no_feed_link(client: FlaskClient) -> None:
    tree = LexborHTMLParser(client.get("/").get_data(as_text=True))
    assert tree.css_first('link[type="application/atom+xml"]') is None
    assert tree.css_first(".feed-link") is None


def test_a_hostile_query_in_the_page_link_is_escaped(client: FlaskClient) -> None:
    html = client.get("/", query_string={"q": '"><script>alert(1)</script>'}).get_data(as_text=True)
    assert_safe_html(html)
    head = LexborHTMLParser(html).css_first('head link[type="application/atom+xml"]')
    assert head is not None and args_of(head.attributes["href"] or "")["q"] == ['"><script>alert(1)</script>']
