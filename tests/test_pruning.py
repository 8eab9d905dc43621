"""Top-k pruning (issue 11) never changes a page: exact scores are computed
only for the matches whose bounds can reach the page, and thousands of
queries from real posts give the same pages, scores, totals, stories and
explanations as scoring every match."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from searchengine.engine import SearchEngine
from searchengine.ranking import RankedPage, _count_stories, _Ordering, _story_leaders, rank, score
from searchengine.ranking_model import Ranking
from searchengine.store.view import LONG_POSTINGS

_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
_QUERIES = 1200


def _queries(posts: Path, count: int, seed: int) -> list[str]:
    """Words, pairs, triples (proximity), OR, phrases, exclusions and titles, from real posts."""
    rng = random.Random(seed)
    files = sorted(posts.rglob("*.md"))
    runs = [run for path in rng.sample(files, 80) for run in _HAN.findall(path.read_text(encoding="utf-8"))]

    def piece() -> str:
        run = rng.choice(runs)
        size = rng.choice([1, 2, 2, 2, 3, 4, 5])
        start = rng.randrange(max(len(run) - size, 0) + 1)
        return run[start : start + size]

    shapes = [
        lambda: piece(),
        lambda: f"{piece()} {piece()}",
        lambda: f"{piece()} {piece()} {piece()}",
        lambda: f"{piece()} OR {piece()}",
        lambda: f'"{piece()}{piece()}"',
        lambda: f"{piece()} -{piece()}",
        lambda: f"title:{piece()} {piece()}",
        lambda: f"{piece()}*",
    ]
    common = ["中国", "发展", "中国 经济", "国际 合作 发展", "习近平 主席", "新闻联播", "中"]
    return common + [rng.choice(shapes)() for _ in range(count - len(common))]


def _page(
    engine: SearchEngine,
    query: str,
    prune: bool,
    sort: str = "relevance",
    offset: int = 0,
    explain: bool = False,
    collapse: bool = False,
    ranking: Ranking | None = None,
) -> RankedPage:
    snapshot = engine._current()
    parsed, _ = engine._parse(snapshot, query)
    return rank(snapshot.view, parsed, sort, offset, 10, ranking or engine.ranking, explain, collapse, prune)


def _same(pruned: RankedPage, exhaustive: RankedPage, label: str) -> None:
    assert pruned.total == exhaustive.total, label
    assert pruned.docs.tolist() == exhaustive.docs.tolist(), label
    assert pruned.scores.tolist() == exhaustive.scores.tolist(), label
    assert pruned.found == exhaustive.found, label
    assert pruned.collapsed == exhaustive.collapsed, label
    assert [s.tolist() for s in pruned.similar] == [s.tolist() for s in exhaustive.similar], label
    assert pruned.explanations == exhaustive.explanations, label
    for explanation, value in zip(pruned.explanations, pruned.scores, strict=False):
        assert sum(explanation.parts.values()) == pytest.approx(value, abs=1e-3), label  # every part is there


def test_pruned_pages_are_the_pages_of_scoring_every_match(index_2019: Path, corpus_2019: Path) -> None:
    engine = SearchEngine(index_2019, cached_results=0)
    rng = random.Random(5)
    compared = scored_fewer = 0
    for query in _queries(corpus_2019, _QUERIES, seed=3):
        sort = rng.choice(["relevance"] * 4 + ["date"])
        offset = rng.choice([0, 0, 0, 10, 90])
        collapse, explain = rng.random() < 0.5, rng.random() < 0.1
        exhaustive = _page(engine, query, False, sort, offset, explain, collapse)
        pruned = _page(engine, query, True, sort, offset, explain, collapse)
        _same(pruned, exhaustive, f"{query!r} {sort} {offset} {collapse} {explain}")
        compared += 1
        scored_fewer += exhaustive.total > 200
    assert compared == _QUERIES
    assert scored_fewer > 100  # many queries match far more posts than a page shows


def test_bounds_hold_every_exact_score(index_2019: Path, corpus_2019: Path) -> None:
    """What pruning rests on: no match scores below its low bound or above its high one."""
    engine = SearchEngine(index_2019, cached_results=0)
    snapshot = engine._current()
    pruned = 0
    for query in _queries(corpus_2019, 300, seed=4):
        parsed, _ = engine._parse(snapshot, query)
        scored = score(snapshot.view, parsed, engine.ranking, {})
        exact = scored.scores(engine.ranking)
        low, high = scored.bounds(engine.ranking)
        assert np.all(low <= exact) and np.all(exact <= high), query
        if len(exact) > 10:
            tenth = -np.partition(-low, 9)[9]
            pruned += int(np.count_nonzero(high < tenth))
    assert pruned > 10_000  # the bounds are tight enough to leave most matches unscored


def test_a_common_groups_kept_bounds_prune_exactly_with_filters_and_exclusions(index_2019: Path) -> None:
    """A one-group query matching thousands of posts keeps its bounds over all of them; a filtered or
    narrowed search of it reads its matches' bounds from those and gives the pages of scoring every match."""
    engine = SearchEngine(index_2019, cached_results=0)
    snapshot = engine._current()
    first, _ = engine._parse(snapshot, "中")
    scored = score(snapshot.view, first, engine.ranking, {})
    assert len(scored.docs) >= LONG_POSTINGS  # enough to be kept
    low, high = scored.bounds(engine.ranking)
    assert scored.bounds(engine.ranking)[0] is low  # kept, and read again as it is
    for query in ("中", "中 -国际", "中 date:2019-06", "中 category:国际资讯", "title:中"):
        parsed, _ = engine._parse(snapshot, query)
        narrowed = score(snapshot.view, parsed, engine.ranking, {})
        assert 0 < len(narrowed.docs) <= len(scored.docs), query
        exact = narrowed.scores(engine.ranking)
        low, high = narrowed.bounds(engine.ranking)
        assert np.all(low <= exact) and np.all(exact <= high), query
        for sort, offset in (("relevance", 0), ("relevance", 90), ("date", 10)):
            for collapse in (False, True):
                exhaustive = _page(engine, query, False, sort, offset, True, collapse)
                _same(_page(engine, query, True, sort, offset, True, collapse), exhaustive, f"{query!r} {sort}")


@pytest.mark.parametrize("tie", [0.0, 0.02])
def test_any_ranking_model_prunes_exactly(index_2019: Path, corpus_2019: Path, tie: float) -> None:
    """Plain BM25F with recency bands (tie > 0: every score is needed for the bands) and a model
    with negative weights give the same pages pruned as not."""
    engine = SearchEngine(index_2019, cached_results=0)
    negative = {"exact": 1.0, "words": 0.5, "proximity": -3.0, "title_near": -1.0, "title_start": -2.0}
    for weights in (Ranking().weights, negative):
        ranking = Ranking(tie=tie, weights=weights)
        for query in _queries(corpus_2019, 150, seed=6):
            exhaustive = _page(engine, query, False, ranking=ranking, collapse=True)
            _same(_page(engine, query, True, ranking=ranking, collapse=True), exhaustive, f"{query!r} {weights}")


@pytest.mark.parametrize("copies", [1, 13, 400])
def test_story_leaders_are_each_storys_first_match_however_many_matches_a_story_has(copies: int) -> None:
    """A page's stories are those of the whole order, whether each has one match or hundreds (a post's copies
    in several feeds), with every score known or only bounds known at first."""
    rng = np.random.default_rng(11)
    members = rng.integers(1, 2 * copies + 1, 400)
    stories = rng.permutation(np.repeat(np.arange(len(members)), members))
    count = len(stories)
    scores = np.round(rng.random(count), 2)  # ties across stories too
    dates, tiers = rng.integers(0, 10**9, count), rng.integers(0, 2, count)
    known = _Ordering.of(dates, scores, tiers, "relevance", 0.0)
    order = known.sorted(np.arange(count))
    _, first = np.unique(stories[order], return_index=True)
    expected = order[np.sort(first)]
    below, above = rng.random(count) * 0.3, rng.random(count) * 0.3

    def bounded() -> _Ordering:
        return _Ordering(dates, tiers, "relevance", (scores - below, scores + above), lambda rows: scores[rows])

    for needed in (1, 10, 50, 400, 500):
        for ordering in (known, bounded()):
            found = _story_leaders(ordering, stories, needed)
            assert found.tolist() == expected[:needed].tolist(), needed
    first_page = bounded()
    _story_leaders(first_page, stories, 10)
    assert np.count_nonzero(first_page.known) < count / 2  # most matches were never scored


def test_stories_are_counted_whether_few_or_most_matches_are_reprints() -> None:
    """A result's total of stories is its distinct stories, from all posts their own story to all copies."""
    rng = np.random.default_rng(5)
    posts = 972_218
    first_copy = np.arange(posts) % 74_786  # the corpus 13 times over: a story is its first copy
    for share in (0.0, 0.01, 0.4, 0.6, 1.0):
        for size in (1, 50, 5_000, 400_000):
            docs = np.sort(rng.choice(posts, size, replace=False))
            stories = np.where(rng.random(size) < share, first_copy[docs], docs)
            assert _count_stories(docs, stories) == len(set(stories.tolist())), (share, size)
