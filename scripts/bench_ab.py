#!/usr/bin/env python3
"""Two releases' builds side by side: the same posts, both at once, one per core.

    python scripts/bench_ab.py --before REV [--after REV] [--posts DIR] [--every N]
                               [--build-memory MB] [--work DIR]

Why: this machine's speed swings by 40% from one run to the next (other
tenants; the host takes up to 13% of the CPU at times), so a build timed
now and another timed later say little about which code is faster. Run at
the same moment, one on each core, both see the same machine.

``--before`` is a git revision of this checkout; ``--after`` another, or by
default the checkout's own ``searchengine/`` as it is now (uncommitted
changes included). Each is exported to ``WORK/<side>/`` and imported from
there. Each side is a one-worker build (``workers=1``) pinned to its own
core, with ``--build-memory`` MB for the build: the default, 602, leaves
242 MB of postings memory, a worker's share in a default two-worker build,
so the runs spill as a million-post build's workers do. Reported per side:
CPU and wall time of adding the posts and of writing the segment, CPU per
post, and peak RSS. Then whether the two segments are the same bytes,
file by file (the term table, the postings, stored values, each column):
a speed-up that changes no byte cannot change a result.

Without ``--posts``, the shared corpus is written by its make_posts.py;
``--every N`` takes every Nth post (hard links, so no disk), 2 by default
(37,393 posts: about eight minutes a side here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from whoosh.filedb.filestore import FileStorage

from searchengine.store.index import INDEX_NAME

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_index import REPO, shared_corpus  # noqa: E402

# One side's build, in its own interpreter: argv is posts, index, build memory (MB), core.
SIDE = """
import json, os, resource, sys, time
posts, index, memory, core = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.sched_setaffinity(0, {core})
from searchengine.indexer import BuildOptions, build_index
started, cpu = time.perf_counter(), time.process_time()
read = {}
def progress(done, total):
    if done >= total and not read:
        read.update(wall=time.perf_counter() - started, cpu=time.process_time() - cpu)
report = build_index(posts, index, BuildOptions(workers=1, build_memory=memory), progress=progress)
wall, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({
    "posts": report.added, "failed": len(report.failed), "wall": wall, "cpu": cpu,
    "adding_wall": read["wall"], "adding_cpu": read["cpu"],
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def export(revision: str | None, target: Path) -> Path:
    """The ``searchengine`` package of ``revision`` (None: the checkout as it is) under ``target``."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if revision is None:
        shutil.copytree(REPO / "searchengine", target / "searchengine")
    else:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", revision, "searchengine"], capture_output=True, check=False
        )
        if archive.returncode:
            sys.exit(f"--before/--after: {revision}: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def every_nth(posts: Path, step: int, target: Path) -> Path:
    """Every ``step``-th post under ``posts`` (sorted), hard-linked under ``target`` (made once)."""
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for path in sorted(posts.rglob("*.md"))[::step]:
            linked = partial / path.relative_to(posts)
            linked.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, linked)
        partial.rename(target)
    return target


def segment_digests(index: Path) -> dict[str, str]:
    """md5 of each file of the index's one segment, by kind (the file's extension)."""
    storage = FileStorage(str(index))
    (segment,) = storage.open_index(INDEX_NAME)._segments()
    compound = segment.open_compound_file(storage)
    try:
        return {
            name.split(".", 1)[1]: hashlib.md5(compound.open_file(name).read()).hexdigest() for name in compound.list()
        }
    finally:
        compound.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="git revision of the release before")
    parser.add_argument("--after", help="git revision of the release after (default: the checkout as it is)")
    parser.add_argument("--posts", type=Path, help="posts folder (default: the shared corpus)")
    parser.add_argument("--every", type=int, default=2, help="take every Nth post (default 2)")
    parser.add_argument("--build-memory", type=int, default=602, help="MB for each build (default 602)")
    parser.add_argument("--work", type=Path, help="keep the sources, posts and indexes here")
    args = parser.parse_args()
    if args.every < 1:
        parser.error("--every: must be 1 or more")
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("bench_ab needs two cores, one per side")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ab-"))
    try:
        compare(args, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def compare(args: argparse.Namespace, work: Path) -> None:
    sides = {"before": args.before, "after": args.after}
    sources = {side: export(revision, work / side / "src") for side, revision in sides.items()}
    if args.posts is None:
        args.posts = work / "corpus"
        if not args.posts.exists():
            subprocess.run([sys.executable, str(shared_corpus()), str(args.posts)], check=True, capture_output=True)
    posts = every_nth(args.posts, args.every, work / f"every{args.every}") if args.every > 1 else args.posts
    cores = sorted(os.sched_getaffinity(0))[:2]
    running = {}
    for (side, source), core in zip(sources.items(), cores, strict=True):
        index = work / side / "index"
        shutil.rmtree(index, ignore_errors=True)
        command = [sys.executable, "-c", SIDE, str(posts), str(index), str(args.build_memory), str(core)]
        environment = {**os.environ, "PYTHONPATH": str(source)}
        running[side] = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
    results = {}
    for side, process in running.items():
        output, _ = process.communicate()
        if process.returncode:
            sys.exit(f"the {side} build failed with exit status {process.returncode}")
        results[side] = json.loads(output.strip().splitlines()[-1])
    names = {side: revision or "the checkout" for side, revision in sides.items()}
    print_table(results, names, args.build_memory)
    before, after = (segment_digests(work / side / "index") for side in sides)
    differ = sorted(kind for kind in before.keys() | after.keys() if before.get(kind) != after.get(kind))
    if differ:
        print(f"segments differ in: {', '.join(differ)}")
    else:
        print(f"segments: the same bytes, file by file ({len(before)} files)")


def print_table(results: dict[str, dict[str, float]], names: dict[str, str], memory: int) -> None:
    before, after = results["before"], results["after"]
    posts = before["posts"]
    print(f"{posts:,} posts, one worker each, both at once on their own cores; build memory {memory} MB")
    if after["posts"] != posts:
        print(f"  (the after build indexed {after['posts']:,} posts)")
    print(f"{'':24} {'before: ' + names['before']:>26} {'after: ' + names['after']:>26} {'change':>8}")

    def row(label: str, key: str, unit: str = "s", per_post: bool = False, digits: int = 2) -> None:
        # Seconds to the hundredth: a small build writes its segment in some 0.05 s.
        cells = []
        for side in (before, after):
            value = side[key]
            extra = f" ({1e3 * value / side['posts']:.2f} ms a post)" if per_post and side["posts"] else ""
            cells.append(f"{value:,.{digits}f} {unit}{extra}")
        change = f"{100 * (after[key] / before[key] - 1):+.1f}%" if before[key] else ""
        print(f"{label:24} {cells[0]:>26} {cells[1]:>26} {change:>8}")

    for side in (before, after):
        side["writing_cpu"] = side["cpu"] - side["adding_cpu"]
        side["writing_wall"] = side["wall"] - side["adding_wall"]
    row("adding posts, CPU", "adding_cpu", per_post=True)
    row("writing the segment, CPU", "writing_cpu")
    row("whole build, CPU", "cpu", per_post=True)
    row("whole build, wall", "wall")
    row("peak RSS", "peak_mb", unit="MB", digits=1)
    for name, side in (("before", before), ("after", after)):
        if side["failed"]:
            print(f"  the {name} build failed to read {side['failed']} posts")


if __name__ == "__main__":
    main()
