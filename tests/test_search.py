"""SearchEngine over a real index of the sample posts, checked against the text itself."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from searchengine import IndexMissingError, ParameterError, SearchEngine
from searchengine.analysis import CJK_RANGES
from searchengine.documents import load_post, walk_posts
from searchengine.indexer import build_index
from searchengine.normalize import keyword_key, normalize
from tooling import in_fresh_process

SEED = "guancha/2021/000_30739a5f1b776113.txt"
MARKED = re.compile(r"<mark>(.*?)</mark>")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, sample_posts: Path) -> SearchEngine:
    index = tmp_path_factory.mktemp("index")
    build_index(sample_posts, index)
    return SearchEngine(index)


@pytest.fixture(scope="module")
def texts(sample_posts: Path) -> dict[str, tuple[str, str]]:
    """Each post's normalized title and body, the oracle for exact matching."""
    found = {}
    for path in walk_posts(sample_posts):
        doc = load_post(path, sample_posts)
        found[doc.id] = (normalize(doc.title), normalize(doc.body))
    return found


def _paths(engine: SearchEngine, query: str, **filters: Any) -> list[str]:
    # page and sort spelled out, so that (for mypy too) **filters can only be filters
    result = engine.search(query, limit=100, page=1, sort="relevance", **filters)
    assert len(result.hits) == result.total
    paths = [hit.path for hit in result.hits]
    if not filters:
        assert engine.all_paths(query) == paths
    return paths


def _containing(texts: dict[str, tuple[str, str]], needle: str) -> set[str]:
    return {path for path, (title, body) in texts.items() if needle in title or needle in body}


@pytest.mark.parametrize("query", ["莫斯科模式", '"莫斯科模式"', "卡布洛夫", "拉夫罗夫", "阿富汗 塔利班"])
def test_the_seed_post_comes_first_with_the_query_marked_whole(engine: SearchEngine, query: str) -> None:
    result = engine.search(query)
    assert result.hits[0].path == SEED
    marked = MARKED.findall(result.hits[0].snippet.html) + MARKED.findall(result.hits[0].title_highlight.html)
    for part in query.strip('"').split():
        assert part in marked, f"{part} should be highlighted as one span in {marked}"


def test_quoted_phrases_find_exactly_the_posts_containing_them(
    engine: SearchEngine, texts: dict[str, tuple[str, str]]
) -> None:
    """Precision and recall 1.0 for 300 random CJK strings taken from the posts."""
    cjk = re.compile(f"[{CJK_RANGES}]{{2,7}}")
    runs = [m.group() for _, body in texts.values() for m in cjk.finditer(body)]
    rng = random.Random(20261126)
    for _ in range(300):
        run = rng.choice(runs)
        start = rng.randrange(len(run) - 1)
        needle = run[start : start + rng.randint(2, 6)]
        assert set(_paths(engine, f'"{needle}"')) == _containing(texts, needle), needle


@pytest.mark.parametrize(
    "needle",
    [
        "中",
        "经",
        "apec",
        "2024年",
        "5g",
        "covid-19",
        "阿富汗问题“莫斯科模式”",
        "《政府工作报告》",
        "<政府工作报告>",
        "数字 经济",
    ],
)
def test_quoted_phrases_with_single_characters_latin_and_punctuation(
    engine: SearchEngine, texts: dict[str, tuple[str, str]], needle: str
) -> None:
    expected = _containing(texts, normalize(needle))
    assert set(_paths(engine, f'"{needle}"')) == expected


def test_a_name_split_differently_by_jieba_is_still_found(
    engine: SearchEngine, texts: dict[str, tuple[str, str]]
) -> None:
    # jieba cuts 彼得连科称 as 彼得/连科称 and 彼得连科表示 as 彼得/连科/表示
    assert set(_paths(engine, "彼得连科")) == _containing(texts, "彼得连科")
    assert len(_containing(texts, "彼得连科")) == 2


@pytest.mark.parametrize(
    ("variant", "standard"),
    [("國際貿易", "国际贸易"), ("ＡＰＥＣ", "APEC"), ("２０２４年", "2024年"), ("經濟發展", "经济发展")],
)
def test_traditional_and_full_width_spellings_find_the_same_posts(
    engine: SearchEngine, variant: str, standard: str
) -> None:
    assert _paths(engine, variant) == _paths(engine, standard)
    assert _paths(engine, f'"{variant}"') == _paths(engine, f'"{standard}"')
    assert _paths(engine, standard)


def test_contiguous_runs_rank_above_scattered_words(engine: SearchEngine, texts: dict[str, tuple[str, str]]) -> None:
    paths = _paths(engine, "数字经济")
    exact = _containing(texts, "数字经济")
    scattered = {p for p, (t, b) in texts.items() if ("数字" in t + b and "经济" in t + b)} - exact
    assert len(exact) >= 2 and len(scattered) >= 2
    assert set(paths[: len(exact)]) == exact
    assert scattered <= set(paths[len(exact) :])


def test_terms_are_anded_or_ored_and_excluded(engine: SearchEngine, texts: dict[str, tuple[str, str]]) -> None:
    both = _containing(texts, "经济") & _containing(texts, "apec")
    assert set(_paths(engine, "经济 APEC")) == both
    either = _containing(texts, "卡布洛夫") | _containing(texts, "拉夫罗夫")
    assert set(_paths(engine, "卡布洛夫 OR 拉夫罗夫")) == either
    assert set(_paths(engine, "经济 -apec")) == _containing(texts, "经济") - _containing(texts, "apec")


def test_title_and_metadata_filters(
    engine: SearchEngine, texts: dict[str, tuple[str, str]], sample_posts: Path
) -> None:
    docs = {d.id: d for d in (load_post(p, sample_posts) for p in walk_posts(sample_posts))}
    assert set(_paths(engine, "title:apec")) == {p for p, (t, _) in texts.items() if "apec" in t}
    assert set(_paths(engine, "category:经济")) == {p for p, d in docs.items() if "经济" in d.categories}
    assert set(_paths(engine, "经济", category="國際")) == {
        p for p, d in docs.items() if "国际" in d.categories and p in _containing(texts, "经济")
    }
    assert set(_paths(engine, "author:观察者网")) == {p for p, d in docs.items() if d.author == "观察者网"}
    dates = {p: d.date.astimezone(_shanghai()) for p, d in docs.items() if d.date}
    in_2021 = {p for p, date in dates.items() if date.year == 2021}
    assert set(_paths(engine, "date:2021")) == in_2021
    assert set(_paths(engine, "", year=2021)) == in_2021
    assert set(_paths(engine, "after:2021-01-01 before:2022-01-01")) == in_2021
    assert set(_paths(engine, "date:2021-10")) == {p for p in in_2021 if dates[p].month == 10}


def _shanghai() -> ZoneInfo:
    return ZoneInfo("Asia/Shanghai")


def test_facets_count_the_whole_result_set(engine: SearchEngine, sample_posts: Path) -> None:
    docs = {d.id: d for d in (load_post(p, sample_posts) for p in walk_posts(sample_posts))}
    result = engine.search("经济", limit=3)
    matched = set(_paths(engine, "经济"))
    assert len(result.hits) == 3 and result.total == len(matched) > 3
    counts = {f.value: f.count for f in result.facets["category"]}
    for category, count in counts.items():
        # Spellings of one value (国际, 國際) are one value.
        assert count == sum(1 for p in matched if keyword_key(category) in map(keyword_key, docs[p].categories))
    years = {f.value: f.count for f in result.facets["year"]}
    assert sum(years.values()) == len(matched)
    tags = {f.value: f.count for f in result.facets["tag"]}
    assert tags, "the sample posts that mention 经济 carry tags"
    for tag, count in tags.items():
        assert count == sum(1 for p in matched if keyword_key(tag) in map(keyword_key, docs[p].tags))
        # choosing a value gives exactly its count
        assert engine.search("经济", tag=tag).total == count
    for year, count in years.items():
        assert engine.search("经济", year=int(year)).total == count


def test_facet_values_differing_only_by_spelling_are_one_value(tmp_path: Path) -> None:
    """社会 and 社會 are one category: counted once (a post with both too), shown in the commoner
    spelling, filtered alike, and counted once by stats."""
    posts = tmp_path / "posts"
    spellings = {"a": ["社会"], "b": ["社会"], "c": ["社會"], "d": ["社会", "社會"], "e": ["經濟"]}
    for name, categories in spellings.items():
        (posts / f"{name}.md").parent.mkdir(parents=True, exist_ok=True)
        listed = "".join(f"\n  - {c}" for c in categories)
        (posts / f"{name}.md").write_text(
            f"---\ntitle: 报道{name}\ncategories:{listed}\ndate: 2024-01-0{len(name)}\n---\n\n一篇报道。\n",
            encoding="utf-8",
        )
    assert build_index(posts, tmp_path / "index").status == "ok"
    engine = SearchEngine(tmp_path / "index")
    counts = {f.value: f.count for f in engine.search("报道").facets["category"]}
    assert counts == {"社会": 4, "經濟": 1}
    assert engine.search("报道", category="社會").total == 4
    assert engine.search("报道 category:经济").total == 1
    assert engine.stats().categories == 2


def test_sort_by_date_is_newest_first(engine: SearchEngine) -> None:
    result = engine.search("经济", sort="date", limit=100)
    dates = [hit.date for hit in result.hits]
    dated = [date for date in dates if date is not None]
    assert dated == dates, "every post that mentions 经济 has a date"
    assert dated == sorted(dated, reverse=True)


def test_pages_partition_the_results(engine: SearchEngine) -> None:
    everything = _paths(engine, "经济")
    pages = [hit.path for page in (1, 2, 3) for hit in engine.search("经济", limit=5, page=page).hits]
    assert pages == everything[:15]
    assert engine.search("经济", page=999).hits == []


@pytest.mark.parametrize(
    "query",
    [
        '"莫斯科模式',
        "OR",
        "经济 OR",
        "-",
        "- 经济",
        "！？。，",
        "\x00\x07经济\x1b",
        "阿" * 2000,
        '""',
        "title:",
        "date:20x1 经济",
        "(((",
        "*",
        "category:",
    ],
)
def test_malformed_queries_never_raise(engine: SearchEngine, query: str) -> None:
    result = engine.search(query)
    assert result.total >= 0
    if result.total == 0:
        assert result.hints or not query.strip("\x00\x07\x1b ")


def _codes(engine: SearchEngine, query: str) -> list[str]:
    return [hint.code for hint in engine.search(query).hints]


def test_malformed_queries_give_hints(engine: SearchEngine) -> None:
    assert _codes(engine, '"莫斯科模式') == ["unbalanced_quote"]
    assert engine.search('"莫斯科模式').hits[0].path == SEED
    assert "or_without_term" in _codes(engine, "OR")
    assert _codes(engine, "！？。") == ["nothing_searchable"]
    assert "shortened" in _codes(engine, "阿" * 2000)
    assert _codes(engine, "date:20x1 经济") == ["not_a_date"]
    assert _codes(engine, "year:20x1 经济") == ["not_a_value"]
    assert _codes(engine, "莫斯科模式 阿尔卑斯山脉滑雪") == ["no_match"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"page": 0}, "page"),
        ({"limit": 0}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"sort": "x"}, "sort"),
        ({"year": 99999}, "year"),
        ({"year": "abc"}, "year"),
        ({"colour": "red"}, "colour is not a filter"),
    ],
)
def test_bad_parameters_are_named(engine: SearchEngine, kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ParameterError, match=name):
        engine.search("经济", **kwargs)  # type: ignore[arg-type]  # values of several types, some wrong on purpose


def _body(engine: SearchEngine, path: str) -> str:
    post = engine.get(path)
    assert post is not None, path
    return post.body


def test_get_more_like_this_suggest_and_stats(engine: SearchEngine, sample_posts: Path) -> None:
    post = engine.get(SEED)
    assert post is not None and post.title.startswith("中俄塔利班")
    assert "<p>" in post.html and "莫斯科模式" in post.body
    assert engine.get("../../etc/passwd") is None
    related = engine.more_like_this(SEED, 3)
    assert 0 < len(related) <= 3 and SEED not in [h.path for h in related]
    assert any("卡布洛夫" in _body(engine, h.path) or "阿富汗" in _body(engine, h.path) for h in related)
    suggestions = engine.suggest("APEC")
    assert suggestions and all("apec" in normalize(s) for s in suggestions)
    assert engine.suggest("！") == []
    # Each suggestion opens its post: the best post with that title.
    posts = engine.suggest_posts("APEC")
    assert [found.title for found in posts] == suggestions
    for found in posts:
        post = engine.get(found.path)
        assert post is not None and post.title == found.title
    stats = engine.stats()
    assert stats.documents == sum(1 for _ in walk_posts(sample_posts))
    assert stats.first_date and stats.last_date and stats.first_date < stats.last_date


def test_result_is_plain_json_data(engine: SearchEngine) -> None:
    data = json.loads(json.dumps(engine.search("莫斯科模式").to_dict(), ensure_ascii=False))
    assert set(data) == {
        *("query", "total", "page", "pages", "limit", "sort", "took_ms", "hints", "facets", "hits"),
        *("corrected", "did_you_mean", "expansions", "filters"),
        *("collapsed", "timeline"),
    }
    hit = data["hits"][0]
    assert set(hit) == {
        *("path", "title", "date", "categories", "tags", "author", "score", "title_highlight", "snippet"),
        *("similar", "similar_count", "thumbnail"),
    }
    assert set(hit["snippet"]) == {"text", "html", "spans"}
    start, end = hit["snippet"]["spans"][0]
    assert hit["snippet"]["text"][start:end] == "莫斯科模式"


def test_html_in_queries_and_posts_is_escaped(engine: SearchEngine) -> None:
    result = engine.search('"><img src=x onerror=alert(1)> <script>alert(1)</script> 经济')
    for hit in result.hits:
        assert "<script" not in hit.snippet.html and "<img" not in hit.snippet.html


def test_an_unknown_time_zone_is_named(engine: SearchEngine) -> None:
    with pytest.raises(ParameterError, match="timezone: unknown time zone 'Mars/Base'"):
        SearchEngine(engine.index_dir, timezone="Mars/Base")


def test_a_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="no index at .*searchengine index"):
        SearchEngine(tmp_path / "nothing-here")


def test_many_threads_search_one_engine_safely(engine: SearchEngine) -> None:
    """The web server shares one engine between its threads."""
    from concurrent.futures import ThreadPoolExecutor

    queries = ["经济", "莫斯科模式", '"国际贸易"', "APEC 2024年", "中", "卡布洛夫 OR 拉夫罗夫", "category:科技"] * 12
    expected = {q: engine.all_paths(q) for q in set(queries)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda q: (q, engine.all_paths(q), engine.search(q).total), queries))
    for query, paths, total in found:
        assert paths == expected[query] and total == len(paths)


def test_stats_never_loads_jieba_and_the_first_query_does(sample_index: Path) -> None:
    """Loading jieba's dictionary takes seconds: ``searchengine stats`` has no words to cut."""
    code = (
        "import sys\n"
        "from searchengine import SearchEngine\n"
        "from searchengine.analysis import _ANALYZERS\n"
        "engine = SearchEngine(sys.argv[1])\n"
        "def loaded():\n"
        "    return [('_jieba' in analyzer.__dict__) for analyzer in _ANALYZERS.values()]\n"
        "assert engine.stats().documents > 20\n"
        "print(loaded())\n"
        "assert engine.search('习近平').total > 0\n"
        "print(loaded())\n"
    )
    assert in_fresh_process(code, sample_index) == ["[False]", "[True]"]
