#!/usr/bin/env python3
"""Self-test of search quality: search results against the text itself.

    python scripts/evaluate.py [--posts DIR] [--index DIR] [--queries N] [--seed S]
                               [--forgiving N] [--min-success F] [--max-no-result F] [--verbose]
                               [--devset DIR|none] [--per-query] [--min-ndcg F]

Without --posts, writes a slice of the shared corpus (the 2019 news and the
guancha articles, about 5,900 posts) with its make_posts.py; without
--index, builds one in a temporary folder. Then it draws query strings from
the posts themselves — transliterated names (the parts of names joined by
·), multi-word runs of Chinese text, strings mixing digits or Latin letters
with Chinese, pairs of terms — and, for each, finds the true set of posts by
scanning every post's normalized title and body (corpus_truth.py). It
reports:

* quoted queries: precision and recall against the true set (must be 1.0);
* unquoted queries: recall of the posts containing the string (must be
  1.0: none may be lost) and the share of the top 10 that contain it
  exactly (must be at least 98% where ten such posts exist);
* traditional and full-width spellings: the same posts as the standard one.

It then checks that search forgives how Chinese readers type (issue #9) with
a forgiving set, about --forgiving N queries generated from the posts, a
quarter of each kind: regional forms (網路 for 网络, 川普 for 特朗普), pinyin
(kabuluofu, lvyou), homophone slips (阿富汉 for 阿富汗) and spacing (中国 记协,
人均 GDP). forgiving_queries.py says how each kind is drawn, and when a
query is fair. Per kind it reports success@10 (a true post among the top
ten), recall (the mean share of true posts among all results) and the share
of queries with no result at all; a kind below --min-success or above
--max-no-result is a failure (a kind of fewer than 20 queries is reported,
not judged). With --verbose it shows examples of each kind and every miss
with what the engine made of the query.

Last, the ranking (issue #10): nDCG@10 and P@10 on the development set of
judged queries (--devset, by default ../shared/devsets when it is there;
relevance.py says how), with each query's figures under --per-query. Below
--min-ndcg is a failure.

Exits 1 on any loss, a forgiving kind below its thresholds or a ranking
below its floor, so CI can run it (tests/test_evaluate.py does, on the 2019
news).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import opencc

from searchengine import SearchEngine, build_index
from searchengine.analysis import AnalysisSettings, analyzer_for

# isort: split
# The self-test's own modules, beside this script in scripts/ (first on sys.path when it runs).
from corpus_truth import CJK, RUN, Corpus, load_corpus, slice_of_shared_corpus, transliterated_names, truth
from forgiving_queries import ForgivingTally, Lexicon, Probe, forgiving_probes, measure_forgiving, report_forgiving
from relevance import default_devset, keyword_pairs, load_devset
from relevance import evaluate as judge
from relevance import report as report_relevance

#: Digits or Latin letters against one to three Chinese characters (the text is normalized: lowercase).
MIXED = re.compile(f"[a-z0-9]+{CJK}{{1,3}}|{CJK}{{1,3}}[a-z0-9]+")


@dataclass
class Tally:
    """Totals for one kind of query."""

    queries: int = 0
    true_posts: int = 0
    found_true: int = 0
    returned: int = 0
    top_checked: int = 0
    top_exact: int = 0
    failures: list[str] = field(default_factory=list)

    def recall(self) -> float:
        return self.found_true / self.true_posts if self.true_posts else 1.0

    def precision(self) -> float:
        return self.found_true / self.returned if self.returned else 1.0

    def top10(self) -> float:
        return self.top_exact / self.top_checked if self.top_checked else 1.0


def draw_queries(texts: dict[str, str], count: int, rng: random.Random) -> dict[str, list[str]]:
    """Query strings taken from the posts, by kind."""
    bodies = list(texts.values())
    found = transliterated_names(bodies)
    names = sorted({part for name in found for part in name.split("·")} | {name for name in found if len(name) <= 12})
    runs = [m.group() for body in rng.sample(bodies, min(len(bodies), 2000)) for m in RUN.finditer(body)]
    mixed = sorted({m.group() for body in bodies for m in MIXED.finditer(body)})

    def substring(run: str) -> str:
        size = rng.randint(2, min(6, len(run)))
        start = rng.randrange(len(run) - size + 1)
        return run[start : start + size]

    per_kind = max(count // 4, 1)
    return {
        "names": rng.sample(names, min(per_kind, len(names))),
        "terms": [substring(rng.choice(runs)) for _ in range(per_kind)],
        "mixed": rng.sample(mixed, min(per_kind, len(mixed))),
        "pairs": [f"{substring(rng.choice(runs))} {substring(rng.choice(runs))}" for _ in range(per_kind)],
    }


def check(engine: SearchEngine, corpus: Corpus, query: str, quoted: bool, tally: Tally) -> None:
    """Run ``query`` (quoted, each part a phrase, or not) and add how it fared against its truth to ``tally``."""
    expected = truth(corpus, query, quoted)
    if quoted:
        query = " ".join(f'"{part}"' for part in query.split())
    found = engine.all_paths(query)
    tally.queries += 1
    tally.true_posts += len(expected)
    tally.found_true += len(expected & set(found))
    missing = expected - set(found)
    if missing:
        tally.failures.append(f"{query}: {len(missing)} of {len(expected)} posts missing, e.g. {sorted(missing)[0]}")
    if quoted:
        tally.returned += len(found)
        extra = set(found) - expected
        if extra:
            tally.failures.append(f"{query}: {len(extra)} posts without it, e.g. {sorted(extra)[0]}")
    elif len(expected) >= 10:
        top = found[:10]
        tally.top_checked += len(top)
        tally.top_exact += sum(1 for post in top if post in expected)


def variants(query: str, to_traditional: opencc.OpenCC) -> list[str]:
    """Traditional and full-width spellings of a query (those that differ)."""
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in query)
    return [v for v in (to_traditional.convert(query), full_width) if v != query]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=Path)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--queries", type=int, default=200, help="queries drawn (a quarter of each kind)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--forgiving", type=int, default=200, help="forgiving queries (a quarter of each kind; 0: none)"
    )
    parser.add_argument("--min-success", type=float, default=0.85, help="least success@10 of each forgiving kind")
    parser.add_argument("--max-no-result", type=float, default=0.05, help="most no-result rate of each forgiving kind")
    parser.add_argument("--verbose", action="store_true", help="list forgiving examples and every miss")
    parser.add_argument("--devset", default=None, help="folder of judged queries (default: the shared one; none: skip)")
    parser.add_argument("--per-query", action="store_true", help="print each judged query's figures")
    parser.add_argument("--min-ndcg", type=float, default=0.0, help="least mean nDCG@10 on the judged queries")
    args = parser.parse_args()
    devset_folder = Path(args.devset) if args.devset not in (None, "none") else default_devset()
    use_devset = args.devset != "none" and (devset_folder / "tag_queries.tsv").is_file()
    with tempfile.TemporaryDirectory() as scratch:
        posts = args.posts or slice_of_shared_corpus(Path(scratch) / "posts")
        index = args.index or Path(scratch) / "index"
        if args.index is None:
            build_index(posts, index)
        started = time.monotonic()
        corpus = load_corpus(posts)
        texts = corpus.texts
        engine = SearchEngine(index)
        rng = random.Random(args.seed)
        queries = draw_queries(texts, args.queries, rng)
        quoted, unquoted, spelled = Tally(), Tally(), Tally()
        to_traditional = opencc.OpenCC("s2t")
        for strings in queries.values():
            for query in strings:
                check(engine, corpus, query, True, quoted)
                check(engine, corpus, query, False, unquoted)
                standard = engine.all_paths(query)
                for variant in variants(query, to_traditional):
                    spelled.queries += 1
                    if engine.all_paths(variant) != standard:
                        spelled.failures.append(f"{variant} does not find what {query} finds")
        seconds = time.monotonic() - started
        probes: list[Probe] = []
        tallies: dict[str, ForgivingTally] = {}
        if args.forgiving:
            lexicon = Lexicon(corpus, analyzer_for(AnalysisSettings.from_dict_file()))
            probes = forgiving_probes(lexicon, args.forgiving, args.seed)
            tallies = measure_forgiving(engine, corpus, probes)
        forgiving_seconds = time.monotonic() - started - seconds
        devset = load_devset(devset_folder) if use_devset else []
        figures, pair_figures = judge(engine, devset), judge(engine, keyword_pairs(devset))
    print(
        f"{len(texts)} posts; {sum(map(len, queries.values()))} queries "
        f"({', '.join(f'{k} {len(v)}' for k, v in queries.items())}); {seconds:.0f} s"
    )
    print(
        f"quoted:   precision {quoted.precision():.4f}  recall {quoted.recall():.4f}  ({quoted.true_posts} true posts)"
    )
    print(
        f"unquoted: recall {unquoted.recall():.4f}  top-10 exact {unquoted.top10():.4f}  "
        f"({unquoted.top_checked} top hits checked)"
    )
    print(f"spelling variants: {spelled.queries - len(spelled.failures)} of {spelled.queries} find the same posts")
    failures = quoted.failures + unquoted.failures + spelled.failures
    if unquoted.top10() < 0.98:
        failures.append(f"top-10 exact share {unquoted.top10():.4f} is below 0.98")
    if args.forgiving:
        print(f"forgiving set: {len(probes)} queries generated from the posts; {forgiving_seconds:.0f} s")
        failures += report_forgiving(tallies, args.min_success, args.max_no_result, args.verbose)
    if use_devset:
        ndcg, _ = report_relevance(figures, args.per_query)
        report_relevance(pair_figures, args.per_query, "keyword pairs")
        if ndcg < args.min_ndcg:
            failures.append(f"devset nDCG@10 {ndcg:.4f} is below {args.min_ndcg}")
    for line in failures[:20]:
        print("FAIL", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
