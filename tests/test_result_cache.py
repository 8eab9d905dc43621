"""The cache of recent results: a repeated search gives the same result,
never a stale one (a new build, an edited alias table), and the cache stays
within its size."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from searchengine.engine import SearchEngine
from searchengine.results import SearchResult
from tooling import SAMPLES, build, write_posts


def _same(a: SearchResult, b: SearchResult) -> bool:
    return {**a.to_dict(), "took_ms": 0} == {**b.to_dict(), "took_ms": 0}


def test_a_repeated_search_is_the_same_result_and_a_copy(sample_index: Path) -> None:
    engine = SearchEngine(sample_index)
    first = engine.search("经济", category="经济", page=2, limit=3)
    again = engine.search("经济", category="经济", page=2, limit=3)
    assert _same(first, again) and first is not again
    again.hits.clear()
    again.facets.clear()
    assert _same(engine.search("经济", category="经济", page=2, limit=3), first)
    # Every argument is part of what is remembered.
    assert not _same(engine.search("经济", category="经济", page=1, limit=3), first)
    assert not _same(engine.search("经济", page=2, limit=3), first)
    assert engine.search("经济", explain=True).hits[0].explain is not None
    assert engine.search("经济").hits[0].explain is None


def test_a_new_build_is_searched_at_once(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    shutil.copytree(SAMPLES, posts)
    index = build(posts, tmp_path / "index")
    engine = SearchEngine(index)
    before = engine.search("经济")
    assert engine.search("经济").total == before.total
    write_posts(posts, {"new.md": "---\ntitle: 新的经济报道\ndate: 2026-11-01\n---\n\n经济形势新报道。\n"})
    build(posts, index)
    after = engine.search("经济")
    assert after.total == before.total + 1
    assert "new.md" in [hit.path for hit in engine.search("经济", limit=100).hits]


def test_an_edited_alias_table_is_searched_at_once(sample_index: Path, tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.txt"
    aliases.write_text("莫斯科模式 虚构的别名\n", encoding="utf-8")
    engine = SearchEngine(sample_index, aliases=aliases)
    assert engine.search("虚构的别名").total == engine.search("莫斯科模式").total > 0
    aliases.write_text("经济 虚构的别名\n", encoding="utf-8")
    assert engine.search("虚构的别名").total == engine.search("经济").total


def test_the_cache_keeps_at_most_its_size(sample_index: Path) -> None:
    engine = SearchEngine(sample_index, cached_results=5)
    words = ["经济", "中国", "合作", "发展", "会议", "国际", "塔利班", "莫斯科"]
    expected = {word: engine.search(word) for word in words}
    assert len(engine._results) == 5
    for word in words:  # the evicted ones are searched again, the same
        assert _same(engine.search(word), expected[word])
    uncached = SearchEngine(sample_index, cached_results=0)
    assert _same(uncached.search("经济"), expected["经济"]) and len(uncached._results) == 0


def test_threads_share_the_cache(sample_index: Path) -> None:
    engine = SearchEngine(sample_index)
    queries: list[dict[str, Any]] = [{"query": q, "page": p} for q in ("经济", "中国", "合作") for p in (1, 2)]
    expected = [engine.search(**args).to_dict() | {"took_ms": 0} for args in queries]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            got = list(pool.map(lambda args: engine.search(**args).to_dict() | {"took_ms": 0}, queries))
            assert got == expected
