"""What keeps a query's cost to the work it does (issue 11): sets of matches
as sorted arrays, facets counted over the matches, and the long posting lists
and prefix unions a view keeps decoded. Every answer must be what it was
without them: the first search (which reads and keeps) and the next ones
(which use what was kept) agree, on real posts."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from searchengine import docsets
from searchengine.engine import SearchEngine
from searchengine.facets import FACETS
from searchengine.matching import _postings_read, match_clause
from searchengine.query import parse_query
from searchengine.results import SearchResult
from searchengine.store import IndexFolder
from searchengine.store.schema import post_info
from searchengine.store.view import KEPT_BYTES, LONG_POSTINGS, Vocabulary, _ValueSets, kept_capacity

_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")


def _plain(result: SearchResult) -> dict[str, object]:
    return {**result.to_dict(), "took_ms": 0}


def _queries(posts: Path, count: int) -> list[str]:
    """Single characters, prefixes, words and pairs taken from real posts (seeded)."""
    rng = random.Random(11)
    files = sorted(posts.rglob("*.md"))
    runs = [run for path in rng.sample(files, 60) for run in _HAN.findall(path.read_text(encoding="utf-8"))]
    queries = ["中", "国", "的", "习*", "发展*"]
    while len(queries) < count:
        run = rng.choice(runs)
        size = rng.choice([1, 1, 2, 3, 4])
        start = rng.randrange(max(len(run) - size, 0) + 1)
        text = run[start : start + size]
        queries.append(rng.choice([text, text + "*", f"{text} {rng.choice(runs)[:2]}"]))
    return queries


def test_searches_answered_from_kept_lists_are_the_searches_made_afresh(index_2019: Path, corpus_2019: Path) -> None:
    queries = _queries(corpus_2019, 300)
    first = SearchEngine(index_2019, cached_results=0)
    fresh = [_plain(first.search(q, limit=10)) for q in queries]
    kept = first._current().view._kept
    assert len(kept) > 0  # the prefix unions (中, 国, 习*...) were kept
    again = [_plain(first.search(q, limit=10)) for q in queries]
    assert again == fresh
    # A new engine (nothing kept yet), in another order, agrees too.
    other = SearchEngine(index_2019, cached_results=0)
    for index in reversed(range(len(queries))):
        assert _plain(other.search(queries[index], limit=10)) == fresh[index], queries[index]


def test_kept_arrays_are_shared_read_only_and_bounded(index_2019: Path) -> None:
    view = IndexFolder(index_2019).open_view("Asia/Shanghai")
    made = view.kept(("test", 1), lambda: (np.arange(10), np.ones(3)), lambda value: True)
    assert view.kept(("test", 1), lambda: (np.arange(5), np.ones(1)), lambda value: True) is made
    with pytest.raises(ValueError):
        made[0][0] = 7  # a search cannot change what another reads
    unwanted = view.kept(("test", 2), lambda: np.arange(4), lambda value: False)
    assert view.kept(("test", 2), lambda: np.arange(9), lambda value: False) is not unwanted
    assert view._kept.capacity == KEPT_BYTES  # the floor: this index's few thousand posts need less
    assert 1.4 * 2**30 < kept_capacity(972_218) < 1.5 * 2**30  # a million posts keep about 1.5 GB
    too_big = view.kept(("test", 3), lambda: np.zeros(KEPT_BYTES // 8 + 1), lambda value: True)
    assert view._kept.used <= KEPT_BYTES
    assert view.kept(("test", 3), lambda: np.zeros(1), lambda value: True) is not too_big


def test_a_clause_is_kept_by_the_postings_it_reads_not_the_posts_it_matches(index_2019: Path) -> None:
    """A clause of common characters matching few posts is kept; one reading short lists is not."""
    engine = SearchEngine(index_2019, cached_results=0)
    snapshot = engine._current()
    view, ranking = snapshot.view, engine.ranking
    (common,) = parse_query("中国的发展", snapshot.analyzer).groups[0].clauses
    (rare,) = parse_query("卡布洛夫", snapshot.analyzer).groups[0].clauses
    assert 0 < len(match_clause(view, common, ranking, False).docs) < LONG_POSTINGS <= _postings_read(view, common)
    assert _postings_read(view, rare) < LONG_POSTINGS
    match_clause(view, rare, ranking, False)
    assert view._kept.get(view.generation, ("clause", common, ranking.bm25f, False)) is not None
    assert view._kept.get(view.generation, ("clause", rare, ranking.bm25f, False)) is None


def test_a_posts_remembered_description_is_its_stored_one_with_lists_of_its_own(index_2019: Path) -> None:
    view = IndexFolder(index_2019).open_view("Asia/Shanghai")
    for docnum in (0, view.size // 2, view.size - 1, 0):
        assert view.info(docnum) == post_info(view.stored(docnum))
    view.info(0)["categories"].append("changed by one caller")
    assert view.info(0) == post_info(view.stored(0))
    with pytest.raises(IndexError):
        view.info(view.size)


def test_facets_count_the_matches_as_filtering_by_them_finds(index_2019: Path) -> None:
    """Counted over the matched documents only, each facet count is what choosing the value gives."""
    engine = SearchEngine(index_2019, cached_results=0)
    for query in ("经济", "合作 发展", "中"):
        result = engine.search(query, collapse=False)
        assert result.total > 0
        for facet in FACETS:
            for count in result.facets[facet.name][:5]:
                chosen: dict[str, Any] = {facet.name: count.value}
                narrowed = engine.search(query, collapse=False, **chosen)
                assert narrowed.total == count.count, (query, facet.name, count.value)


@pytest.mark.parametrize("kinds", [3, 20_000])
def test_keyword_counts_by_shared_value_sets_or_by_rows_count_each_post(kinds: int) -> None:
    """Posts sharing a few sets of values are counted by set; posts with sets of their own, row by row."""
    rng = np.random.default_rng(kinds)
    names, size = 40, 20_000
    sets = [sorted(rng.choice(names, int(rng.integers(0, 5)), replace=False).tolist()) for _ in range(kinds)]
    sets += [[1, 2, 3], [0, 5], [7], []]
    rows = [sets[int(rng.integers(len(sets)))] for _ in range(size)]
    starts = np.zeros(size + 1, np.int64)
    starts[1:] = np.cumsum([len(row) for row in rows])
    value = np.array([v for row in rows for v in row], np.int32)
    vocabulary = Vocabulary([f"v{i}" for i in range(names)], starts, value, np.zeros(names + 1, np.int64), value, {})
    assert (vocabulary.value_set is not None) == (kinds == 3)
    docs = np.sort(rng.choice(size, size // 3, replace=False))
    expected = Counter(v for doc in docs.tolist() for v in rows[doc])
    assert vocabulary.counts(docs).tolist() == [expected[i] for i in range(names)]
    # Sets whose weights sum alike are told apart row by row: here every sum is 0, so there are no sets.
    assert _ValueSets.of(starts, value, names, weights=np.zeros(names, np.uint64)) is None


@pytest.mark.parametrize("share", [0.0005, 0.01, 0.2, 0.9])
def test_set_operations_agree_with_python_sets_sparse_or_dense(share: float) -> None:
    """Sparse sets are merged and searched, dense ones marked in an array: the answers are the same."""
    rng = np.random.default_rng(int(share * 10_000))
    size = 50_000
    first, second = (np.sort(rng.choice(size, int(size * share) + 1, replace=False)) for _ in range(2))
    values = rng.random(len(first))
    assert docsets.union(first, second).tolist() == sorted(set(first.tolist()) | set(second.tolist()))
    assert docsets.intersect(first, second).tolist() == sorted(set(first.tolist()) & set(second.tolist()))
    held = set(first.tolist())
    assert docsets.contains_sorted(first, second).tolist() == [d in held for d in second.tolist()]
    by_doc = dict(zip(first.tolist(), values.tolist(), strict=True))
    assert docsets.align(first, values, second).tolist() == [by_doc.get(d, 0.0) for d in second.tolist()]
    where, ok = docsets.positions_in(first, second)
    assert ok.tolist() == [d in held for d in second.tolist()]
    assert (first[where[ok]] == second[ok]).all()
    repeated = rng.permutation(np.concatenate([second, second[::3]]))
    assert docsets.distinct(repeated).tolist() == sorted(set(repeated.tolist()))
    values_seen, counts = docsets.runs(np.sort(repeated))
    tally = Counter(repeated.tolist())
    assert values_seen.tolist() == sorted(tally) and counts.tolist() == [tally[v] for v in sorted(tally)]
    keys = np.sort(np.concatenate([(second << 32) | rng.integers(0, 1000, len(second)), (second[::2] << 32) | 1001]))
    assert docsets.keys_of(keys, first).tolist() == [k for k in keys.tolist() if k >> 32 in held]
    begin, lengths = docsets.key_runs(keys, first)  # the same, found once for all of first and read by index
    some = np.sort(rng.choice(len(first), len(first) // 2 + 1, replace=False))
    some_held = set(first[some].tolist())
    expected = [k for k in keys.tolist() if k >> 32 in some_held]
    assert docsets.gather_runs(keys, begin[some], lengths[some]).tolist() == expected
    assert docsets.align(first, values, first).tolist() == values.tolist()
    other_keys = np.sort((first << 32) | rng.integers(0, 1000, len(first)))
    assert docsets.union(keys, other_keys).tolist() == sorted(set(keys.tolist()) | set(other_keys.tolist()))
