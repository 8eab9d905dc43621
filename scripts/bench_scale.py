#!/usr/bin/env python3
"""How build and search costs grow with the archive: the corpus ×1, ×4 and ×13.

    python scripts/bench_scale.py [--posts DIR] [--work DIR] [--copies 1,4,13] [--rounds 3]
    python scripts/bench_scale.py --search INDEX [INDEX ...] [--rounds 3]

Without ``--posts``, writes all posts of the shared corpus with its
make_posts.py (``--years`` narrows it, as CI does with 2019). For each
number of copies N, the posts are hard-linked under N folders
(``copy00/``, ``copy01/``...; hard links cost no disk), indexed from scratch
by ``build_index`` in a fresh process, and searched in another. Measured
per size:

* build: seconds, posts/s, and the peak memory of the whole process tree
  (the build and its workers, sampled every 0.5 s): the proportional set
  size (PSS, each shared page divided among its sharers) summed, which is
  what the tree holds, and the RSS sum, which counts a shared page once per
  process;
* the index's size on disk;
* warm latency of :data:`MIX`, the search benchmark's queries
  (``scripts/bench_search.py``) plus single characters, ``sort=date``, deep
  pages and filters, ``--rounds`` times each after a warm-up round: p50,
  p95, p99 and max of ``SearchEngine.search(q, limit=10)`` (snippets,
  facets and the timeline included; the result cache off, so every round
  searches afresh, with the long posting lists the view keeps decoded), and
  the slowest queries; and p50, p95 and max of the warm-up round itself,
  the first time each query is searched (nothing kept yet);
* the search process's resident memory once warm.

Then one table, and the growth from the first size to the last. The ×13
build (about 970,000 posts) has taken 36 to 82 minutes on this project's
2-core machine, as fast or slow as its day: run it by hand, in the
background, with nothing else busy, never in CI (CI runs ``--copies 1``
on the 2019 slice). While a build runs, its
progress (posts read, every 2%) and the process tree's memory (every
minute) go to stderr. ``--work`` keeps the copies and indexes (default: a
temporary folder).

``--search`` measures only the search side of indexes already built (a
kept ×13 index, after a change to the query code), each in a fresh process,
and the growth from the first to the last.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_index import OURS as BUILD  # noqa: E402  (the same build, in a fresh process)
from bench_index import run_measured, shared_corpus  # noqa: E402
from bench_search import QUERIES, percentile  # noqa: E402

#: The search benchmark's queries, plus what costs most at scale.
MIX: list[tuple[str, dict[str, object]]] = [
    *((query, {}) for query in QUERIES),
    ("中", {}),
    ("国", {}),
    ("发展", {"sort": "date"}),
    ("中国", {"page": 50}),
    ("国际 合作", {}),
    ("经济", {"year": 2019}),
    ("合作", {"category": "国际资讯"}),
    ("习近平", {"sort": "date", "page": 5}),
]


def search_latency(index: Path, rounds: int) -> dict[str, object]:
    """Warm latencies of :data:`MIX` over ``index``, in a fresh process (its memory is its own)."""
    code = f"""
import json, resource, sys, time
from searchengine import SearchEngine
mix = json.loads(sys.argv[2])
engine = SearchEngine(sys.argv[1], cached_results=0)
engine.warm_up()
first = []
for query, params in mix:
    started = time.perf_counter()
    engine.search(query, limit=10, **params)
    first.append((time.perf_counter() - started) * 1000)
timings = {{}}
for _ in range({rounds}):
    for query, params in mix:
        started = time.perf_counter()
        engine.search(query, limit=10, **params)
        timings.setdefault(query + " " + json.dumps(params, ensure_ascii=False), []).append(
            (time.perf_counter() - started) * 1000)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"timings": timings, "first": first, "rss": rss}}, ensure_ascii=False))
"""
    output = subprocess.run(
        [sys.executable, "-c", code, str(index), json.dumps(MIX, ensure_ascii=False)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return data


def copies_of(posts: Path, work: Path, copies: int) -> Path:
    """``posts`` hard-linked under ``copies`` folders in ``work/xN`` (made once, kept with ``--work``)."""
    root = work / f"x{copies}"
    if not root.exists():
        partial = work / f"x{copies}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        for number in range(copies):
            shutil.copytree(posts, partial / f"copy{number:02d}", copy_function=os.link)
        partial.rename(root)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=Path, help="posts folder (default: the shared corpus, written once)")
    parser.add_argument("--years", help="with the shared corpus: only these years (as make_posts.py takes them)")
    parser.add_argument("--work", type=Path, help="keep copies and indexes here (default: a temporary folder)")
    parser.add_argument("--copies", default="1,4,13", help="comma-separated numbers of copies (default 1,4,13)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--search", type=Path, nargs="+", metavar="INDEX", help="only search these built indexes")
    args = parser.parse_args()
    if args.search:
        print(f"machine: {os.cpu_count()} cores; mix: {len(MIX)} queries x {args.rounds} rounds")
        _print_searches([(str(index), search_latency(index, args.rounds)) for index in args.search])
        return
    sizes = [int(n) for n in args.copies.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        posts = args.posts
        if posts is None:
            posts = work / "posts"
            if not posts.exists():
                extra = ["--years", args.years] if args.years else []
                subprocess.run([sys.executable, str(shared_corpus()), str(posts), *extra], check=True)
        print(f"machine: {os.cpu_count()} cores; posts: {posts}; mix: {len(MIX)} queries x {args.rounds} rounds")
        rows = []
        for copies in sizes:
            folder = copies_of(posts, work, copies)
            index = work / f"index-x{copies}"
            shutil.rmtree(index, ignore_errors=True)
            build = run_measured(BUILD, str(folder), str(index), report_every=60)
            searched = search_latency(index, args.rounds)
            rows.append((copies, build, searched))
            _print_row(f"x{copies}", searched, f"built {build['posts']:.0f} posts in {build['seconds']:.0f} s; ")
            if not args.work:
                shutil.rmtree(index)
        _print_table(rows)


def _latencies(searched: dict[str, object]) -> list[float]:
    timings = searched["timings"]
    assert isinstance(timings, dict)
    return [value for values in timings.values() for value in values]


def _print_row(name: str, searched: dict[str, object], built: str = "") -> None:
    """One index's slowest queries and first searches, after ``built`` (what its build did, if it was built here)."""
    timings = searched["timings"]
    assert isinstance(timings, dict)
    slowest = sorted(timings, key=lambda q: -sorted(timings[q])[len(timings[q]) // 2])[:6]
    print(f"{name}: {built}slowest (median ms): ", end="")
    print(", ".join(f"{q.removesuffix(' {}')} {sorted(timings[q])[len(timings[q]) // 2]:.0f}" for q in slowest))
    first = searched["first"]
    assert isinstance(first, list)
    print(
        f"{name}: first searches (nothing kept yet): p50 {percentile(first, 0.5):.1f} ms, "
        f"p95 {percentile(first, 0.95):.1f} ms, max {max(first):.1f} ms"
    )


_SEARCH_HEADER = f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'search GB':>9}"


def _search_columns(searched: dict[str, object]) -> str:
    values = _latencies(searched)
    rss = searched["rss"]
    assert isinstance(rss, int)
    return (
        f"{percentile(values, 0.5):7.1f} {percentile(values, 0.95):7.1f} {percentile(values, 0.99):7.1f} "
        f"{max(values):7.1f} {rss / 1e9:9.2f}"
    )


def _print_growth(first_name: str, first: dict[str, object], last_name: str, last: dict[str, object]) -> None:
    before, after = _latencies(first), _latencies(last)
    print(
        f"growth {first_name} -> {last_name}: p50 {percentile(after, 0.5) / percentile(before, 0.5):.1f}x, "
        f"p95 {percentile(after, 0.95) / percentile(before, 0.95):.1f}x"
    )


def _print_table(rows: list[tuple[int, dict[str, float], dict[str, object]]]) -> None:
    print()
    print(
        f"{'copies':>6} {'posts':>9} {'build s':>8} {'posts/s':>8} {'peak GB':>8} {'rss GB':>7} {'index GB':>9} "
        + _SEARCH_HEADER
    )
    for copies, build, searched in rows:
        print(
            f"{copies:>6} {build['posts']:9.0f} {build['seconds']:8.0f} {build['posts'] / build['seconds']:8.0f} "
            f"{build['peak_pss_mb'] / 1000:8.2f} {build['peak_mb'] / 1000:7.2f} {build['size'] / 1e9:9.2f} "
            + _search_columns(searched)
        )
    if len(rows) > 1:
        _print_growth(f"x{rows[0][0]}", rows[0][2], f"x{rows[-1][0]}", rows[-1][2])


def _print_searches(rows: list[tuple[str, dict[str, object]]]) -> None:
    """The search side of built indexes (``--search``): a line of slowest queries each, then one table."""
    for name, searched in rows:
        _print_row(name, searched)
    print()
    print(f"{'index':<40} " + _SEARCH_HEADER)
    for name, searched in rows:
        print(f"{name:<40} " + _search_columns(searched))
    if len(rows) > 1:
        _print_growth(rows[0][0], rows[0][1], rows[-1][0], rows[-1][1])


if __name__ == "__main__":
    main()
