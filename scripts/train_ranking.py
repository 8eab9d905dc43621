#!/usr/bin/env python3
"""Fit the ranking model to the development set, cross-validated, and write it as data.

    python scripts/train_ranking.py --index DIR [--devset DIR] [--folds 5] [--seed 1]
                                    [--grid full|current] [--out searchengine/data/ranking.json] [--dry-run]

The ranking (searchengine/ranking.py) orders matches by how many query terms
they hold exactly, then by a weighted sum of features. This script chooses
the model's numbers from judged queries (scripts/relevance.py loads them):

* the BM25F parameters (k1, the body's length normalisation b, the title's
  weight), from a small grid: each point needs the features computed again
  (``--grid current`` keeps the current model's, for a quick run);
* the feature weights, by coordinate ascent on mean nDCG@10 (RankLib's
  method): one weight at a time, the best of a grid of values, until no
  change helps. Weights are not negative, except the roundup prior's, which
  is not positive: each feature says what it says, in one direction, so a
  weight is readable;
* the band within which recency breaks ties.

Every choice is cross-validated: the queries are split into --folds folds;
for each, the grid point and the weights are chosen on the other folds and
judged on it. The mean of those held-out figures, beside the current model's
on the same queries, is the honest estimate of the change. The model written
is then fitted on all the queries. The output records the figures, so that
the data says how it was made. Deterministic: the same index, devset and seed
give the same model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from searchengine import SearchEngine
from searchengine.ranking import order
from searchengine.ranking_model import FEATURES, Ranking

# isort: split
# Beside this script in scripts/ (first on sys.path when it runs).
from relevance import CUTOFF, Judged, dcg, default_devset, ideal_dcg, in_index, keyword_pairs, load_devset, post_id

#: The BM25F grid: (k1, body_b, title_weight).
GRID = list(itertools.product((1.2, 2.0), (0.35, 0.75), (6.0, 12.0)))
#: Values a weight may take (the exact string's BM25F has weight 1: the scale is free).
STEPS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 70.0, 100.0)
TIES = (0.0, 0.005, 0.01, 0.02, 0.05)
#: Features whose weight may only be zero or below: priors against a kind of post.
NEGATIVE = {"briefs"}
FIXED = "exact"
#: Where the model is written: the checkout's copy, which the package ships.
MODEL_FILE = Path(__file__).resolve().parents[1] / "searchengine" / "data" / "ranking.json"


@dataclass
class Query:
    """One development query's matches that can reach its top ten, as the ranking sees them."""

    judged: Judged
    tiers: np.ndarray
    features: np.ndarray
    dates: np.ndarray
    gains: np.ndarray  # the grade of each match (0: not judged relevant)
    ideal: float  # the DCG of a perfect top ten


def collect(engine: SearchEngine, devset: list[Judged], ranking: Ranking) -> list[Query]:
    """The matches and features of every query (with ``ranking``'s BM25F parameters).

    Exactness ranks first whatever the weights, so matches in a tier below
    the tenth match's can never reach the top ten, and are left out.
    """
    queries = []
    for judged in devset:
        scored, paths = engine.scored(judged.text, ranking)
        keep = slice(None)
        if len(scored.tiers) > CUTOFF:
            keep = scored.tiers >= -np.partition(-scored.tiers, CUTOFF - 1)[CUTOFF - 1]
        gains = np.array([judged.grades.get(post_id(path), 0) for path in paths], dtype=np.float64)
        queries.append(
            Query(
                judged,
                scored.tiers[keep],
                scored.features[keep],
                scored.dates[keep],
                gains[keep],
                ideal_dcg(judged.grades),
            )
        )
    return queries


def kind(query: Query) -> str:
    return "pairs" if "+" in query.judged.id else "keywords"


def figures(queries: list[Query], weights: np.ndarray, tie: float | None) -> dict[str, float]:
    """Mean nDCG@10 of ``weights`` per kind of query (keywords, pairs).

    ``tie`` None ranks by tiers and score alone: faster, for the search.
    """
    totals: dict[str, list[float]] = {}
    for query in queries:
        scores = query.features @ weights
        if tie is None:
            main = query.tiers * 1e9 + scores
            if len(main) > CUTOFF:
                best = np.argpartition(-main, CUTOFF - 1)[:CUTOFF]
                top = best[np.argsort(-main[best], kind="stable")]
            else:
                top = np.argsort(-main, kind="stable")
        else:
            top = order(query.dates, scores, query.tiers, "relevance", CUTOFF, tie)[:CUTOFF]
        totals.setdefault(kind(query), []).append(dcg(query.gains[top]) / query.ideal)
    return {name: round(sum(values) / len(values), 4) for name, values in sorted(totals.items())}


def objective(queries: list[Query], weights: np.ndarray, tie: float | None) -> float:
    """What the fit maximises: the mean of the kinds' nDCG@10, so that pairs count as much as keywords."""
    found = figures(queries, weights, tie)
    return sum(found.values()) / max(len(found), 1)


def ascend(queries: list[Query], start: np.ndarray) -> tuple[np.ndarray, float]:
    """Coordinate ascent from ``start``: each weight in turn set to its best step, until nothing improves."""
    weights = start.copy()
    best = objective(queries, weights, None)
    for _ in range(6):
        improved = False
        for index, name in enumerate(FEATURES):
            if name == FIXED:
                continue
            for step in STEPS:
                value = -step if name in NEGATIVE else step
                if value == weights[index]:
                    continue
                trial = weights.copy()
                trial[index] = value
                figure = objective(queries, trial, None)
                if figure > best + 1e-9:
                    best, weights, improved = figure, trial, True
        if not improved:
            break
    return weights, best


@dataclass
class Fit:
    """A grid point with the weights and tie band fitted on some queries."""

    point: tuple[float, float, float]
    weights: np.ndarray
    tie: float
    train: float


def fit(collected: dict[tuple[float, float, float], list[Query]], chosen: set[str]) -> Fit:
    """The best grid point, weights and tie band on the queries ``chosen`` (by id)."""
    start = np.array([1.0 if name == FIXED else 0.0 for name in FEATURES])
    best: Fit | None = None
    for point, queries in collected.items():
        train = [q for q in queries if q.judged.id in chosen]
        weights, figure = ascend(train, start)
        if best is None or figure > best.train:
            best = Fit(point, weights, 0.0, figure)
    assert best is not None
    train = [q for q in collected[best.point] if q.judged.id in chosen]
    best.tie = max(TIES, key=lambda tie: objective(train, best.weights, tie))
    return best


def as_model(base: Ranking, found: Fit) -> Ranking:
    k1, body_b, title_weight = found.point
    weights = {name: round(float(w), 4) for name, w in zip(FEATURES, found.weights, strict=True) if w}
    return replace(base, k1=k1, body_b=body_b, title_weight=title_weight, weights=weights, tie=found.tie)


def _mean(per_fold: list[dict[str, float]]) -> dict[str, float]:
    """The mean over folds of each kind's figure (folds are near equal in size)."""
    return {name: round(float(np.mean([fold[name] for fold in per_fold])), 4) for name in per_fold[0]}


def _shown(found: dict[str, float]) -> str:
    return " ".join(f"{name} {value:.4f}" for name, value in found.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index of the posts the devset judges")
    parser.add_argument("--devset", type=Path, default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--grid", choices=("full", "current"), default="full", help="BM25F parameters to try")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
    args = parser.parse_args()
    started = time.monotonic()
    current = Ranking.load()
    engine = SearchEngine(args.index, ranking=current)
    keywords = load_devset(args.devset or default_devset())
    devset = in_index(engine, keywords) + in_index(engine, keyword_pairs(keywords))
    collected = {}
    grid = GRID if args.grid == "full" else [(current.k1, current.body_b, current.title_weight)]
    for point in grid:
        k1, body_b, title_weight = point
        collected[point] = collect(engine, devset, replace(current, k1=k1, body_b=body_b, title_weight=title_weight))
        print(f"features for k1 {k1}, body b {body_b}, title weight {title_weight}: {time.monotonic() - started:.0f} s")
    baseline_queries = collect(engine, devset, current)
    baseline_weights = np.array([current.weight(name) for name in FEATURES])

    # Folds of keywords; a pair goes with its first keyword.
    keyword_ids = sorted({judged.id.split("+")[0] for judged in devset})
    random.Random(args.seed).shuffle(keyword_ids)
    fold_of = {query_id: i % args.folds for i, query_id in enumerate(keyword_ids)}
    held_out: list[dict[str, float]] = []
    before: list[dict[str, float]] = []
    for number in range(args.folds):
        train = {j.id for j in devset if fold_of[j.id.split("+")[0]] != number}
        found = fit(collected, train)
        test = [q for q in collected[found.point] if q.judged.id not in train]
        held_out.append(figures(test, found.weights, found.tie))
        before.append(figures([q for q in baseline_queries if q.judged.id not in train], baseline_weights, current.tie))
        print(
            f"fold {number + 1}: {len(test)} queries  current {_shown(before[-1])}  fitted {_shown(held_out[-1])}  "
            f"(k1 {found.point[0]}, body b {found.point[1]}, title weight {found.point[2]}, tie {found.tie})"
        )
    final = fit(collected, {judged.id for judged in devset})
    model = as_model(current, final)
    report = {
        "queries": {name: sum(1 for q in baseline_queries if kind(q) == name) for name in ("keywords", "pairs")},
        "folds": args.folds,
        "seed": args.seed,
        "ndcg@10 current model": figures(baseline_queries, baseline_weights, current.tie),
        "ndcg@10 cross-validated": _mean(held_out),
        "ndcg@10 current model, same folds": _mean(before),
        "ndcg@10 fitted on all": figures(collected[final.point], final.weights, final.tie),
        "posts in index": len(engine.paths()),
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    print(json.dumps(model.to_dict(), ensure_ascii=False))
    print(f"{time.monotonic() - started:.0f} s")
    if not args.dry_run:
        data = {"model": model.to_dict(), "trained": {**report, "by": "scripts/train_ranking.py"}}
        args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
