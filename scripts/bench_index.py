#!/usr/bin/env python3
"""Benchmark a full index build against jieba's ChineseAnalyzer in plain whoosh.

    python scripts/bench_index.py [POSTS_DIR] [--out DIR] [--skip-baseline]

Without POSTS_DIR, writes all posts of the shared corpus with its
make_posts.py (../shared/corpus, or $SEARCHENGINE_SHARED) into a temporary
folder. Both builds run in the same invocation, one after the other, each in
its own process (the process tree's memory, RSS and PSS, is sampled for the peak):

* searchengine: ``build_index`` with default options (a worker per core);
* baseline: whoosh 2.7's default writer, one process, with
  ``jieba.analyse.ChineseAnalyzer`` on a stored title and a stored body —
  the usual way to put Chinese into whoosh. Both read posts with the same
  ``searchengine.documents`` code, so the comparison is of indexing.

Prints seconds, posts per second, index size and peak memory for each, and
the ratios the issue sets: posts/s at least the baseline's (aim 2x), size at
most 2.5x the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_corpus() -> Path:
    shared = Path(os.environ.get("SEARCHENGINE_SHARED", REPO.parent / "shared"))
    script = shared / "corpus" / "make_posts.py"
    if not script.is_file():
        sys.exit(f"no posts folder given and no shared corpus at {shared}")
    return script


def _proportional(pid: int) -> int:
    """A process's proportional set size: its private pages plus its share of each shared page."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def tree_memory(pid: int) -> tuple[int, int]:
    """Memory of a process and all its descendants, in bytes: (RSS sum, PSS sum).

    The RSS sum counts a page shared by several processes once per process
    (the jieba dictionary a build loads before forking its workers, say), so
    it overstates what the tree uses; the PSS sum divides each shared page
    among its sharers and adds up to what the tree really holds.
    """
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total_rss = total_pss = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        total_rss += rss.get(current, 0)
        total_pss += _proportional(current)
        stack.extend(children.get(current, []))
    return total_rss, total_pss


def run_measured(code: str, *args: str, report_every: float = 0) -> dict:
    """Run ``code`` in a fresh interpreter; return its JSON output plus peak memory.

    ``peak_mb`` is the peak RSS sum of the process tree, ``peak_pss_mb`` its
    peak PSS sum (see :func:`tree_memory`), each sampled every 0.5 s. With
    ``report_every`` (seconds), the tree's memory is also printed to stderr
    that often: an hours-long build then shows how it goes, phase by phase.
    """
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    peak_rss = peak_pss = 0
    done = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        reported = started
        while not done.is_set():
            rss, pss = tree_memory(process.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            now = time.monotonic()
            if report_every and now - reported >= report_every:
                reported = now
                memory = f"{pss / 1e6:,.0f} MB PSS now, peak {peak_pss / 1e6:,.0f}"
                print(f"{now - started:7.0f} s  memory of the tree: {memory}", file=sys.stderr, flush=True)
            time.sleep(0.5)  # reading smaps_rollup costs CPU the build would use

    sampler = threading.Thread(target=sample)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode:
        sys.exit(f"build failed with exit status {process.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_mb"] = peak_rss / 1e6
    result["peak_pss_mb"] = peak_pss / 1e6
    return result


OURS = """
import json, sys, time
from pathlib import Path
from searchengine.indexer import build_index
started = time.perf_counter()
step = 0
def progress(done, total):
    global step
    if done * 50 >= (step + 1) * total:  # every 2% of the posts, to stderr
        step = done * 50 // total
        note = ": all read, writing segments" if done == total else ""
        print(f"{time.perf_counter() - started:7.0f} s  {done:,} of {total:,} posts{note}", file=sys.stderr, flush=True)
report = build_index(sys.argv[1], sys.argv[2], progress=progress)
seconds = time.perf_counter() - started
assert report.status == "ok", report.failed[:5]
size = sum(f.stat().st_size for f in Path(sys.argv[2]).iterdir() if f.is_file())
print(json.dumps({"posts": report.added, "seconds": seconds, "size": size}))
"""

BASELINE = """
import json, sys, time, logging
from pathlib import Path
import jieba
jieba.setLogLevel(logging.WARNING)
from jieba.analyse import ChineseAnalyzer
from whoosh import fields, index
from searchengine.documents import load_post, walk_posts
root, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
analyzer = ChineseAnalyzer()
schema = fields.Schema(
    path=fields.ID(stored=True, unique=True),
    title=fields.TEXT(stored=True, analyzer=analyzer),
    body=fields.TEXT(stored=True, analyzer=analyzer),
)
started = time.perf_counter()
ix = index.create_in(str(out), schema)
writer = ix.writer()
count = 0
for path in walk_posts(root):
    doc = load_post(path, root)
    writer.add_document(path=doc.id, title=doc.title, body=doc.body)
    count += 1
writer.commit()
seconds = time.perf_counter() - started
size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
print(json.dumps({"posts": count, "seconds": seconds, "size": size}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("posts", nargs="?", type=Path)
    parser.add_argument("--out", type=Path, help="keep the two indexes here (ours/ and baseline/)")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        posts = args.posts
        if posts is None:
            posts = Path(scratch) / "posts"
            subprocess.run([sys.executable, str(shared_corpus()), str(posts)], check=True)
        out = args.out or Path(scratch)
        print(f"machine: {os.cpu_count()} cores; posts: {posts}")
        rows = {"searchengine": run_measured(OURS, str(posts), str(out / "ours"))}
        if not args.skip_baseline:
            rows["baseline"] = run_measured(BASELINE, str(posts), str(out / "baseline"))
    print(f"{'':14} {'posts':>7} {'seconds':>8} {'posts/s':>8} {'size MB':>8} {'peak RSS MB':>11} {'peak PSS MB':>11}")
    for name, row in rows.items():
        rate = row["posts"] / row["seconds"]
        print(
            f"{name:14} {row['posts']:7d} {row['seconds']:8.1f} {rate:8.0f} "
            f"{row['size'] / 1e6:8.1f} {row['peak_mb']:11.0f} {row['peak_pss_mb']:11.0f}"
        )
    if "baseline" in rows:
        ours, base = rows["searchengine"], rows["baseline"]
        speed = (ours["posts"] / ours["seconds"]) / (base["posts"] / base["seconds"])
        size = ours["size"] / base["size"]
        print(f"speed: {speed:.2f}x the baseline's posts/s (must >= 1.0, aim 2.0)")
        print(f"size:  {size:.2f}x the baseline's index (must <= 2.5)")


if __name__ == "__main__":
    main()
