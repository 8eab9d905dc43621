#!/usr/bin/env python3
"""Measure where reprints and boilerplate part: the evidence for ``searchengine.reprints.THRESHOLD``.

    python scripts/reprint_threshold.py INDEX_DIR [--pairs N] [--seed S]
                                        [--shingle K] [--punctuation] [--compare] [--examples N]

Reads every post of an index (a full corpus index is best) and makes two sets
of pairs from them:

* **reprints**, each a post and an edited copy of it, as another outlet or a
  later edition would print it: ``lead`` (the first sentence replaced by
  another dateline and another post's first sentence), ``trim`` (the last
  quarter of the sentences cut), ``reword`` (a quarter of the sentences
  reworded with a table of newsroom synonyms and cut at their first clause,
  two sentences swapped), ``traditional`` (converted to 繁体 with OpenCC),
  and ``edited`` (lead, trim and reword at once). A title change alone is
  not measured: titles are not part of the sketch.
* **not reprints**, pairs of different posts that share what news shares:
  ``same title`` (one title on different days: daily reports, roundups such
  as 国内联播快讯, 国务院常务会议), ``title template`` (titles with the same
  first six characters: 习近平举行仪式欢迎…, 本台明天将直播…), ``same day``
  (one broadcast's standard openings), ``same topic`` (a post and the best
  other hit for its title) and ``random``.

For each pair it computes the sketch similarity as the index does
(:mod:`searchengine.reprints`), and prints each kind's distribution, then for
each threshold the recall of reprints and the share of non-reprints taken
for reprints, and the pairs nearest the chosen threshold from either side.
``--compare`` also weighs other shingle sizes, with and without punctuation,
by the exact Jaccard similarity of the shingle sets. ``--shingle`` and
``--punctuation`` measure another setting than the index's.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import opencc

from searchengine import SearchEngine
from searchengine import reprints as rp
from searchengine.normalize import normalize

#: Newsroom synonyms a re-edit swaps (either way).
SYNONYMS = [
    ("表示", "说"), ("指出", "强调"), ("近日", "日前"), ("进行", "开展"), ("举行", "召开"), ("重要", "关键"),
    ("今天", "当天"), ("会见", "会晤"), ("宣布", "公布"), ("积极", "主动"), ("推动", "促进"), ("加强", "强化"),
    ("目前", "当前"), ("已经", "已"), ("国家", "国"), ("发展", "进展"), ("问题", "议题"), ("继续", "持续"),
]
DATELINES = ["新华社北京电", "本报讯", "据中新网报道，", "（记者 王磊）", "人民网北京电 ", "据环球时报报道，"]
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
#: Sentences of a post that reprints are made of.
MIN_SENTENCES = 4
THRESHOLDS = [round(0.25 + 0.05 * i, 2) for i in range(14)]


@dataclass
class Post:
    path: str
    title: str
    body: str
    day: str


@dataclass
class Pair:
    kind: str
    reprint: bool
    left: str  # normalized bodies
    right: str
    label: str  # what to show for it


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


# --- reprints: edited copies ------------------------------------------------------


def lead(body: str, other: str, rng: random.Random) -> str:
    parts = sentences(body)
    new_lead = rng.choice(DATELINES) + (sentences(other) or [""])[0].split("：", 1)[-1]
    return "".join([new_lead, *parts[1:]])


def trim(body: str, other: str, rng: random.Random) -> str:
    parts = sentences(body)
    return "".join(parts[: max(1, len(parts) - max(1, len(parts) // 4))])


def reword(body: str, other: str, rng: random.Random) -> str:
    parts = sentences(body)
    for i in rng.sample(range(len(parts)), max(1, len(parts) // 4)):
        sentence = parts[i]
        for one, two in SYNONYMS:
            sentence = sentence.replace(one, "\0").replace(two, one).replace("\0", two)
        clauses = sentence.split("，")
        if len(clauses) > 2:  # and one clause cut
            del clauses[rng.randrange(1, len(clauses) - 1)]
        parts[i] = "，".join(clauses)
    if len(parts) > 2:
        i = rng.randrange(len(parts) - 1)
        parts[i], parts[i + 1] = parts[i + 1], parts[i]
    return "".join(parts)


_S2T = opencc.OpenCC("s2t")


def traditional(body: str, other: str, rng: random.Random) -> str:
    return str(_S2T.convert(body))


def edited(body: str, other: str, rng: random.Random) -> str:
    return reword(trim(lead(body, other, rng), other, rng), other, rng)


EDITS: dict[str, Callable[[str, str, random.Random], str]] = {
    "lead": lead,
    "trim": trim,
    "reword": reword,
    "traditional": traditional,
    "edited": edited,
}


def reprint_pairs(posts: list[Post], count: int, rng: random.Random) -> list[Pair]:
    # A lead and a body: a post of one or two sentences edited so is another post.
    usable = [p for p in posts if len(sentences(p.body)) >= MIN_SENTENCES]
    pairs = []
    for kind, edit in EDITS.items():
        for post in rng.sample(usable, min(count, len(usable))):
            copy = edit(post.body, rng.choice(usable).body, rng)
            pairs.append(Pair(kind, True, normalize(post.body), normalize(copy), f"{post.title} ({post.path})"))
    return pairs


# --- not reprints: posts that share boilerplate -----------------------------------


def different_posts(
    posts: list[Post], key: Callable[[Post], str], count: int, rng: random.Random, other_day: bool
) -> list[tuple[Post, Post]]:
    """Pairs of posts with the same ``key``, drawn evenly over keys (on different days when ``other_day``)."""
    groups: dict[str, list[Post]] = defaultdict(list)
    for post in posts:
        groups[key(post)].append(post)
    keys = [k for k, members in groups.items() if k and len(members) > 1]
    found: list[tuple[Post, Post]] = []
    for _ in range(count * 20):
        if len(found) >= count or not keys:
            break
        left, right = rng.sample(groups[rng.choice(keys)], 2)
        if left.body != right.body and (not other_day or left.day != right.day):
            found.append((left, right))
    return found


def same_topic(engine: SearchEngine, posts: list[Post], count: int, rng: random.Random) -> list[tuple[Post, Post]]:
    by_path = {post.path: post for post in posts}
    found = []
    for post in rng.sample(posts, min(count * 2, len(posts))):
        for path in engine.all_paths(post.title, correct=False)[:5]:
            other = by_path.get(path)
            if other is not None and other.title != post.title and other.body != post.body:
                found.append((post, other))
                break
        if len(found) >= count:
            break
    return found


def boilerplate_pairs(engine: SearchEngine, posts: list[Post], count: int, rng: random.Random) -> list[Pair]:
    randomly = [rng.sample(posts, 2) for _ in range(count)]
    kinds: dict[str, list[tuple[Post, Post]]] = {
        "same title": different_posts(posts, lambda p: p.title, count, rng, other_day=True),
        "title template": different_posts(posts, lambda p: p.title[:6] if len(p.title) > 8 else "", count, rng, True),
        "same day": different_posts(posts, lambda p: p.day, count, rng, other_day=False),
        "same topic": same_topic(engine, posts, count, rng),
        "random": [(left, right) for left, right in randomly],
    }
    return [
        Pair(kind, False, normalize(left.body), normalize(right.body), f"{left.title} | {right.title}")
        for kind, found in kinds.items()
        for left, right in found
    ]


# --- measuring --------------------------------------------------------------------


def estimated(pair: Pair, size: int, punctuation: bool) -> tuple[float | None, bool]:
    """The pair's sketch similarity (None when a body is too short to sketch: never grouped),
    and whether the index's banding makes it a candidate (a band of slots all alike)."""
    left = rp.sketch(rp.shingles(pair.left, size, punctuation=punctuation))
    right = rp.sketch(rp.shingles(pair.right, size, punctuation=punctuation))
    if left is None or right is None:
        return None, False
    width = rp.BANDS * rp.ROWS
    bands = left[:width].reshape(rp.BANDS, rp.ROWS) == right[:width].reshape(rp.BANDS, rp.ROWS)
    return float(rp.similarity(left, right)), bool(bands.all(axis=1).any())


def exact(pair: Pair, size: int, punctuation: bool) -> float:
    left = rp.shingles(pair.left, size, punctuation=punctuation)
    right = rp.shingles(pair.right, size, punctuation=punctuation)
    return len(left & right) / max(len(left | right), 1)


def share(scores: list[float | None], threshold: float) -> float:
    """The share of ``scores`` at or above ``threshold`` (an unsketched pair never is)."""
    return sum(1 for s in scores if s is not None and s >= threshold) / len(scores) if scores else 0.0


def report(pairs: list[Pair], scores: list[float | None], examples: int) -> None:
    by_kind: dict[str, list[float | None]] = defaultdict(list)
    for pair, score in zip(pairs, scores, strict=True):
        by_kind[pair.kind].append(score)
    reprint_kinds = list(dict.fromkeys(pair.kind for pair in pairs if pair.reprint))
    other_kinds = [kind for kind in by_kind if kind not in reprint_kinds]
    print(f"\n{'kind':<16}{'pairs':>6}{'unsketched':>11}   similarity: min   5%    25%   50%   75%   95%   max")
    for kind, found in by_kind.items():
        sketched = [s for s in found if s is not None]
        q = np.percentile(sketched, [0, 5, 25, 50, 75, 95, 100]) if sketched else [np.nan] * 7
        print(f"{kind:<16}{len(found):>6}{len(found) - len(sketched):>11}   " + " ".join(f"{v:5.2f}" for v in q))
    reprinted = [s for kind in reprint_kinds for s in by_kind[kind]]
    others = [s for kind in other_kinds for s in by_kind[kind]]
    print("\nthreshold: share of reprints at or above it (all, by kind) | the same of non-reprints | precision")
    print(
        f"{'':>6} {'all':>6} " + " ".join(f"{k[:11]:>11}" for k in reprint_kinds)
        + f" | {'all':>6} " + " ".join(f"{k[:14]:>14}" for k in other_kinds) + " | (this mix)"
    )
    for threshold in THRESHOLDS:
        recall, false = share(reprinted, threshold), share(others, threshold)
        taken = recall * len(reprinted) + false * len(others)
        line = f"{threshold:>6.2f} {recall:>6.1%} " + " ".join(
            f"{share(by_kind[kind], threshold):>11.1%}" for kind in reprint_kinds
        )
        line += f" | {false:>6.1%} " + " ".join(f"{share(by_kind[kind], threshold):>14.1%}" for kind in other_kinds)
        marker = "  <- THRESHOLD" if abs(threshold - rp.THRESHOLD) < 1e-9 else ""
        print(line + f" | {recall * len(reprinted) / taken if taken else 1.0:>8.1%}{marker}")
    if examples:
        scored = [(s, p) for p, s in zip(pairs, scores, strict=True) if s is not None]
        print(f"\nnon-reprints most alike (at or above {rp.THRESHOLD} they would be grouped):")
        for s, p in sorted(((s, p) for s, p in scored if not p.reprint), key=lambda x: -x[0])[:examples]:
            print(f"  {s:.2f} {p.kind:<14} {p.label[:100]}")
        print("reprints least alike (below the threshold they stay apart):")
        for s, p in sorted(((s, p) for s, p in scored if p.reprint), key=lambda x: x[0])[:examples]:
            print(f"  {s:.2f} {p.kind:<14} {p.label[:100]}")


def compare(pairs: list[Pair]) -> None:
    """Exact Jaccard of other shingle settings: the best balanced accuracy each reaches, and where."""
    print("\nshingle settings by exact Jaccard (balanced accuracy = mean of recall and 1 - false share):")
    positives = [p for p in pairs if p.reprint]
    negatives = [p for p in pairs if not p.reprint]
    for punctuation in (False, True):
        for size in (4, 5, 8, 12, 16):
            pos = np.array([exact(p, size, punctuation) for p in positives])
            neg = np.array([exact(p, size, punctuation) for p in negatives])
            best = max(
                ((float((pos >= t).mean() + (neg < t).mean()) / 2, t) for t in np.arange(0.2, 0.95, 0.01)),
                key=lambda x: x[0],
            )
            hard = np.percentile(neg, 99)
            print(
                f"  {size} characters, punctuation {'kept' if punctuation else 'dropped'}: best {best[0]:.1%} at "
                f"{best[1]:.2f}; median reprint {np.median(pos):.2f}, 99th percentile non-reprint {hard:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path)
    parser.add_argument("--pairs", type=int, default=400, help="Pairs of each kind.")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--shingle", type=int, default=rp.SHINGLE)
    parser.add_argument("--punctuation", action="store_true", help="Keep spaces and punctuation in shingles.")
    parser.add_argument("--compare", action="store_true", help="Also weigh other shingle settings.")
    parser.add_argument("--examples", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    engine = SearchEngine(args.index)
    posts = []
    for path in sorted(engine.paths()):  # one order whatever the index's: the same sample
        post = engine.get(path)
        if post is not None and post.body.strip():
            posts.append(Post(path, post.title, post.body, (post.date or "")[:10]))
    print(f"{len(posts):,} posts read from {args.index} in {time.perf_counter() - started:.0f} s")
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(rp.THRESHOLD, rp.NUM_PERM, *rp.LSH_WEIGHTS)
    print(
        f"sketch: {rp.NUM_PERM} slots, {args.shingle}-character shingles, punctuation "
        f"{'kept' if args.punctuation else 'dropped'}, at least {rp.MIN_SHINGLES} shingles; "
        f"banding for {rp.THRESHOLD}: {bands} bands of {rows} (index: {rp.BANDS} of {rp.ROWS})"
    )
    print("chance that a pair becomes a candidate: " + ", ".join(
        f"{s:.1f}: {1 - (1 - s**rp.ROWS) ** rp.BANDS:.1%}" for s in (0.3, 0.4, 0.5, 0.6, 0.7)
    ))
    rng = random.Random(args.seed)
    pairs = reprint_pairs(posts, args.pairs, rng) + boilerplate_pairs(engine, posts, args.pairs, rng)
    measured = [estimated(pair, args.shingle, args.punctuation) for pair in pairs]
    scores = [score for score, _ in measured]
    report(pairs, scores, args.examples)
    for reprint in (True, False):
        chosen = [found for pair, found in zip(pairs, measured, strict=True) if pair.reprint == reprint]
        grouped = sum(1 for score, banded in chosen if banded and score is not None and score >= rp.THRESHOLD)
        print(
            f"{'reprints' if reprint else 'non-reprints'} grouped by the index (banding, then {rp.THRESHOLD}): "
            f"{grouped / len(chosen):.1%}"
        )
    if args.compare:
        compare(pairs)
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
