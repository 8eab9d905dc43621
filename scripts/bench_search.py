#!/usr/bin/env python3
"""Warm search latency: searchengine beside jieba's ChineseAnalyzer in plain whoosh.

    python scripts/bench_index.py --out /tmp/bench        # builds both indexes
    python scripts/bench_search.py /tmp/bench/ours /tmp/bench/baseline [--rounds 5]

Both run in this process over the same query mix, which includes very common
words (中国, 发展) and a share of what forgiving search serves: Taiwan and
Hong Kong forms, pinyin, same-sound slips and spacing (the untimed warm-up
round also makes the index's sound table, as a server's first correction
does). After one untimed round to warm each index, every query
runs ``--rounds`` times:

* searchengine: ``SearchEngine.search(q, limit=10)`` — top 10 with snippets
  (highlighted passages) and facets over the whole result set;
* baseline: whoosh's ``MultifieldParser`` over title and body with
  ``ChineseAnalyzer``, ``searcher.search(q, limit=10)`` and whoosh's own
  highlights of each hit's body — the same work, without facets.

Prints p50, p95 and p99 of all timed searches for each, and the slowest
queries of ours.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from pathlib import Path

QUERIES = [
    # very common words
    "中国", "发展", "经济", "会议", "合作", "国际", "人民", "建设", "习近平", "新闻联播",
    # names, many of them transliterated
    "普京", "特朗普", "拜登", "马克龙", "默克尔", "莫迪", "泽连斯基", "埃尔多安", "内塔尼亚胡", "古特雷斯",
    "卡布洛夫", "拉夫罗夫", "蓬佩奥", "约翰逊", "金正恩",
    # multi-word and longer runs
    "中国 经济", "习近平 会见", "一带一路 合作", "脱贫攻坚", "新冠肺炎疫情防控", "人类命运共同体",
    "粤港澳大湾区", "乡村振兴战略", "供给侧结构性改革", "中美贸易", "气候变化", "碳达峰 碳中和",
    # quoted phrases
    '"一带一路"', '"人类命运共同体"', '"全面建成小康社会"', '"中国特色社会主义"', '"十四五"规划',
    # spelling variants
    "習近平", "國際合作", "ＡＰＥＣ", "２０２０年", "APEC", "G20", "5G",
    # operators and filters
    "中国 -美国", "俄罗斯 OR 乌克兰", "title:会见", "category:国际资讯 合作", "date:2020 疫情", "经济 after:2024-01-01",
    # rare things
    "冬奥会", "嫦娥五号", "港珠澳大桥", "天问一号", "北斗导航",
    # forgiving search: Taiwan/Hong Kong forms and aliases, pinyin, same-sound slips, spacing
    "川普", "普丁", "軟體", "紐西蘭", "網路安全", "義大利", "梅克爾", "川普 關稅",
    "kabuluofu", "mosikemoshi", "xi jin ping", "yidaiyilu", "tanzhonghe", "gangzhuao daqiao",
    "阿富汉", "反腐败工做", "一带一陆", "碳中合", "新冠肺燕", "港珠奥大桥",
    '"中国 记协"', '"工人伟大劳动光荣"', '"APEC 领导人"', "中国 记协",
]


def run_ours(index: Path, rounds: int) -> dict[str, list[float]]:
    from searchengine import SearchEngine

    engine = SearchEngine(index, cached_results=0)  # every round searches afresh
    for query in QUERIES:  # warm-up round
        engine.search(query, limit=10)
    timings: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            engine.search(query, limit=10)
            timings[query].append((time.perf_counter() - started) * 1000)
    return timings


def run_baseline(index: Path, rounds: int) -> dict[str, list[float]]:
    import jieba
    from whoosh import index as whoosh_index
    from whoosh.qparser import MultifieldParser

    jieba.setLogLevel(logging.WARNING)
    ix = whoosh_index.open_dir(str(index))
    parser = MultifieldParser(["title", "body"], ix.schema)
    timings: dict[str, list[float]] = {q: [] for q in QUERIES}
    with ix.searcher() as searcher:

        def once(query: str) -> None:
            results = searcher.search(parser.parse(query), limit=10)
            for hit in results:
                hit.highlights("body")

        for query in QUERIES:
            once(query)
        for _ in range(rounds):
            for query in QUERIES:
                started = time.perf_counter()
                once(query)
                timings[query].append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report(name: str, timings: dict[str, list[float]]) -> None:
    values = [v for runs in timings.values() for v in runs]
    print(
        f"{name:14} searches {len(values):5d}  p50 {percentile(values, 0.5):7.1f} ms  "
        f"p95 {percentile(values, 0.95):7.1f} ms  p99 {percentile(values, 0.99):7.1f} ms  "
        f"mean {statistics.mean(values):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ours", type=Path)
    parser.add_argument("baseline", type=Path, nargs="?")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{len(QUERIES)} queries x {args.rounds} rounds, warm")
    ours = run_ours(args.ours, args.rounds)
    report("searchengine", ours)
    if args.baseline:
        report("baseline", run_baseline(args.baseline, args.rounds))
    slowest = sorted(ours, key=lambda q: -statistics.median(ours[q]))[:8]
    print("slowest of ours (median ms): " + ", ".join(f"{q} {statistics.median(ours[q]):.0f}" for q in slowest))


if __name__ == "__main__":
    main()
