"""The web app's caches (page cache, related posts) over real indexes of the sample posts.

A page from the cache is the page the view makes; a new build is seen at
the next request; errors are made afresh; conditional requests, HEAD and
the security headers work as without the cache; the caches stay within
their bounds.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from searchengine.engine import SearchEngine
from searchengine.errors import ParameterError
from searchengine.pictures import ImageHosts
from searchengine.versioned_cache import VersionedCache
from searchengine.web import create_app
from searchengine.web.response_cache import response_cache
from searchengine.web.security import security_headers
from tooling import SAMPLES, SCRIPT_POST, SEED, build, write_posts

SECURITY_HEADERS = security_headers(ImageHosts())
NEW_POST = "new/2024/new-post.md"
NEW_TEXT = "---\ntitle: 新文章 独角鲸测试\ndate: 2024-05-01\n---\n\n独角鲸测试出现在正文里。\n"

#: Every kind of cacheable answer: pages, filters, API, completion, the feed, a post, the OpenSearch description.
URLS = [
    "/",
    "/?" + urlencode({"q": "阿富汗"}),
    "/?" + urlencode({"q": "经济", "page": "2"}),
    "/?" + urlencode({"q": "中国", "sort": "date"}),
    "/?" + urlencode({"q": "经济", "year": "2019"}),
    "/?" + urlencode({"q": "独角鲸测试"}),  # no result: the empty state
    "/api/search?" + urlencode({"q": "阿富汗", "limit": "3"}),
    "/api/suggest?" + urlencode({"q": "阿富"}),
    "/api/suggest?" + urlencode({"q": "阿富", "format": "opensearch"}),
    "/api/post/" + quote(SEED),
    "/feed?" + urlencode({"q": "阿富汗"}),
    "/post/" + quote(SEED) + "?" + urlencode({"q": "塔利班"}),
    "/post/" + quote(SEED),
    "/opensearch.xml",
]
#: Bad requests, each with the status it must answer every time.
BAD = {
    "/?" + urlencode({"q": "中国", "page": "abc"}): 400,
    "/api/search?" + urlencode({"q": "中国", "sort": "sideways"}): 400,
    "/post/no/such/post.md": 404,
    "/api/post/no/such/post.md": 404,
    "/feed": 400,
    "/nowhere": 404,
}
# What says how long a search took: the one part of an answer that is of its moment.
_TOOK = re.compile(r"用时 \d+ 毫秒|\"took_ms\": ?[0-9.e+-]+")


def without_time(response: TestResponse) -> str:
    return _TOOK.sub("", response.get_data(as_text=True))


def without_length(response: TestResponse) -> list[tuple[str, str]]:
    """The response's headers but its length, which the time it took changes."""
    return [(name, value) for name, value in response.headers.items() if name != "Content-Length"]


@pytest.fixture
def cached(sample_engine: SearchEngine) -> Flask:
    return create_app({"ENGINE": sample_engine, "TESTING": True})


@pytest.fixture
def uncached(sample_engine: SearchEngine) -> Flask:
    return create_app({"ENGINE": sample_engine, "TESTING": True, "RESPONSE_CACHE_BYTES": 0})


def small_index(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of two sample posts and its index, for tests that rebuild."""
    posts = tmp_path / "posts"
    for relative in (SEED, SCRIPT_POST):
        (posts / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / relative, posts / relative)
    return posts, build(posts, tmp_path / "index")


def test_a_cached_answer_is_the_answer_the_view_makes(cached: Flask, uncached: Flask) -> None:
    with_cache, without = cached.test_client(), uncached.test_client()
    for url in URLS:
        fresh = without.get(url)
        first, again = with_cache.get(url), with_cache.get(url)
        for response in (first, again):
            assert response.status_code == fresh.status_code == 200, url
            assert without_time(response) == without_time(fresh), url
            assert without_length(response) == without_length(fresh), url
    assert len(response_cache(cached)) == len(URLS)
    assert len(response_cache(uncached)) == 0


def test_the_page_of_a_cached_search_says_the_time_its_search_took(cached: Flask) -> None:
    client = cached.test_client()
    url = "/?" + urlencode({"q": "阿富汗"})
    assert client.get(url).data == client.get(url).data


def test_a_new_build_is_seen_at_the_next_request(tmp_path: Path) -> None:
    posts, index = small_index(tmp_path)
    app = create_app({"INDEX_DIR": index, "TESTING": True})
    client = app.test_client()
    search, api, seed = "/?q=独角鲸测试", "/api/search?q=独角鲸测试", "/post/" + quote(SEED)
    assert client.get(api).get_json()["total"] == 0
    assert "新文章" not in client.get(search).get_data(as_text=True)
    assert client.get(seed).status_code == 200
    assert len(response_cache(app)) == 3
    write_posts(posts, {NEW_POST: NEW_TEXT})
    (posts / SEED).unlink()
    build(posts, index)
    assert client.get(api).get_json()["total"] == 1
    assert "新文章" in client.get(search).get_data(as_text=True)
    assert client.get(seed).status_code == 404  # deleted: no page kept from the previous build
    assert client.get("/post/" + quote(NEW_POST)).status_code == 200


def test_an_edited_alias_table_is_seen_at_the_next_request(tmp_path: Path) -> None:
    posts, index = small_index(tmp_path)
    aliases = tmp_path / "aliases.txt"
    aliases.write_text("", encoding="utf-8")
    app = create_app({"INDEX_DIR": index, "ALIASES": str(aliases), "TESTING": True})
    client = app.test_client()
    url = "/api/search?" + urlencode({"q": "独角鲸"})
    assert client.get(url).get_json()["total"] == 0
    aliases.write_text("塔利班 独角鲸\n", encoding="utf-8")
    assert client.get(url).get_json()["total"] >= 1


@pytest.mark.parametrize(("url", "status"), BAD.items())
def test_errors_are_made_afresh_every_time(cached: Flask, uncached: Flask, url: str, status: int) -> None:
    with_cache, without = cached.test_client(), uncached.test_client()
    fresh = without.get(url)
    for _ in range(2):
        response = with_cache.get(url)
        assert response.status_code == fresh.status_code == status
        assert response.data == fresh.data
        assert response.headers == fresh.headers
    assert len(response_cache(cached)) == 0


def test_a_reader_with_the_feed_gets_a_304_from_the_cache(cached: Flask) -> None:
    client = cached.test_client()
    url = "/feed?" + urlencode({"q": "阿富汗"})
    etag = client.get(url).headers["ETag"]
    for _ in range(2):  # the view's answer, then the cache's
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304 and response.data == b""
        assert response.headers["ETag"] == etag
        assert all(response.headers[name] == value for name, value in SECURITY_HEADERS.items())
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_head_and_get_are_answered_alike(cached: Flask) -> None:
    client = cached.test_client()
    url = "/?" + urlencode({"q": "阿富汗"})
    head = client.head(url)  # the view's answer, kept
    get = client.get(url)  # the cache's
    again = client.head(url)  # the cache's
    assert head.status_code == get.status_code == again.status_code == 200
    assert head.data == again.data == b""
    assert head.headers["Content-Length"] == again.headers["Content-Length"] == str(len(get.data))
    assert len(response_cache(cached)) == 1


def test_every_answer_from_the_cache_has_the_security_headers(cached: Flask) -> None:
    client = cached.test_client()
    for url in URLS:
        client.get(url)
        response = client.get(url)
        assert all(response.headers[name] == value for name, value in SECURITY_HEADERS.items()), url


def test_each_host_name_gets_its_own_feed(cached: Flask) -> None:
    client = cached.test_client()
    url = "/feed?" + urlencode({"q": "阿富汗"})
    one = client.get(url, base_url="http://one.example").get_data(as_text=True)
    other = client.get(url, base_url="https://other.example").get_data(as_text=True)
    assert "http://one.example/" in one and "one.example" not in other
    assert "https://other.example/" in other


def test_the_cache_stays_within_its_bytes(sample_engine: SearchEngine) -> None:
    bound = 400_000
    app = create_app({"ENGINE": sample_engine, "TESTING": True, "RESPONSE_CACHE_BYTES": bound})
    client = app.test_client()
    cache = response_cache(app)
    largest = 0
    for n in range(60):  # 60 addresses of results pages (a parameter the page does not know makes each its own)
        response = client.get("/?" + urlencode({"q": "中国", "page": n % 3 + 1, "n": n}))
        assert response.status_code == 200
        largest = max(largest, len(response.data))
        assert cache.used <= bound
    assert 0 < len(cache) < 60
    assert cache.used > bound - 2 * largest  # full, least recently used out first


def test_an_answer_larger_than_an_eighth_of_the_cache_is_not_kept(sample_engine: SearchEngine) -> None:
    app = create_app({"ENGINE": sample_engine, "TESTING": True, "RESPONSE_CACHE_BYTES": 8 * 1024})
    client = app.test_client()
    assert len(client.get("/?q=中国").data) > 1024
    assert len(response_cache(app)) == 0
    assert len(client.get("/api/suggest?q=zzz").data) < 500
    assert len(response_cache(app)) == 1


@pytest.mark.parametrize("size", [-1, "16MB", 1.5, True])
def test_a_bad_cache_size_is_refused_naming_it(sample_engine: SearchEngine, size: object) -> None:
    with pytest.raises(ParameterError, match="RESPONSE_CACHE_BYTES"):
        create_app({"ENGINE": sample_engine, "RESPONSE_CACHE_BYTES": size})


def test_a_versioned_cache_keeps_the_newest_within_its_capacity() -> None:
    cache: VersionedCache[str, str] = VersionedCache(10, lambda key, value: len(value), largest=6)
    assert cache.get(1, "a") is None  # version 1 begins
    for key in "abcd":
        cache.put(1, key, key * 3)
    assert (cache.used, len(cache)) == (9, 3)
    assert [cache.get(1, key) for key in "abcd"] == [None, "bbb", "ccc", "ddd"]
    cache.put(1, "e", "e" * 7)  # larger than largest: not kept
    assert cache.get(1, "e") is None and cache.used == 9
    cache.put(2, "f", "f")  # not the version cached: not kept
    assert cache.get(1, "f") is None
    assert cache.get(2, "b") is None and (cache.used, len(cache)) == (0, 0)  # a new version empties it


def test_a_post_opened_from_many_searches_finds_its_related_posts_once(cached: Flask, uncached: Flask) -> None:
    with_cache, without = cached.test_client(), uncached.test_client()
    for query in ("阿富汗", "塔利班", "磋商"):
        url = "/post/" + quote(SEED) + "?" + urlencode({"q": query})
        assert with_cache.get(url).data == without.get(url).data
