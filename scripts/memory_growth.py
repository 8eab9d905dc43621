"""Measure how the web server's memory grows as the index is updated under it.

    python scripts/memory_growth.py [--posts DIR] [--updates 50] [--edits 5] [--workers 2] [--threads 8]

Builds an index of real posts (by default the 2019 posts of the shared
corpus, about 5,900, written by ``../shared/corpus/make_posts.py``; with
``--posts``, a copy of DIR, since the script edits posts), starts
``searchengine serve`` over it and keeps it busy with searches from a
thread, one request at a time. Then, ``--updates`` times: appends a
paragraph to ``--edits`` posts and runs ``searchengine index``, as a site
does when its posts change; the server follows each new generation.

Prints each worker process's resident memory (VmRSS from /proc) before the
first update and after the last one, the growth in %, and how many deleted
index files each worker still maps (files of replaced generations, which a
view that was never closed keeps in memory). Exits 1 if a worker grew by
more than ``--max-growth`` percent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test tooling: real servers
from tooling import running  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SEARCHENGINE_SHARED", REPO.parent / "shared"))
QUERIES = ["中国", "发展", "习近平", '"一带一路"', "经济 发展", "中国 OR 俄罗斯 -美国", "改革", "疫情", "更新"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=Path, help="posts to index (copied); default: the 2019 posts of the corpus")
    parser.add_argument("--updates", type=int, default=50, help="index updates (default 50)")
    parser.add_argument("--edits", type=int, default=5, help="posts edited per update (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="web server processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per web server process (default 8)")
    parser.add_argument("--max-growth", type=float, default=20.0, help="exit 1 above this growth in %% (default 20)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="memory-growth-") as tmp:
        root = Path(tmp)
        posts = _posts(args.posts, root / "posts")
        index = root / "index"
        started = time.monotonic()
        _index(posts, index)
        files = sorted(p for p in posts.rglob("*") if p.suffix in (".md", ".markdown", ".txt"))
        print(f"indexed {len(files)} posts in {time.monotonic() - started:.1f} s", flush=True)

        os.environ["SEARCHENGINE_WEB_WORKERS"] = str(args.workers)
        with running(index, threads=args.threads, log=root / "server.log") as server:
            load = _Load(server.url)
            load.start()
            try:
                load.wait_for(len(QUERIES) * 4)  # every query answered a few times: caches warm
                workers = _workers(server.pid, args.workers)
                before = {pid: _status(pid) for pid in workers}
                print(f"workers {', '.join(map(str, workers))}; before: " + _describe(before), flush=True)
                for number in range(1, args.updates + 1):
                    for i in range(args.edits):
                        post = files[(number * args.edits + i) * 7919 % len(files)]
                        with post.open("a", encoding="utf-8") as out:
                            out.write(f"\n\n<p>更新{number} 第{i}处修改。</p>\n")
                    _index(posts, index)
                    load.wait_for(load.answered + 20)  # the workers have switched to the new generation
                    if number % 10 == 0 or number == args.updates:
                        now = {pid: _status(pid) for pid in workers}
                        print(f"after {number} updates: " + _describe(now), flush=True)
                after = {pid: _status(pid) for pid in workers}
            finally:
                load.stop()
            if _workers(server.pid, args.workers) != workers:
                raise SystemExit("error: a worker process was replaced during the run; see the server log")

    print(f"\n{load.answered} searches answered, {load.failed} failed, {args.updates} updates of {args.edits} posts")
    print(f"{'worker':>8} {'before MB':>10} {'after MB':>10} {'growth':>8} {'deleted files mapped':>21}")
    worst = 0.0
    for pid in workers:
        growth = 100.0 * (after[pid]["VmRSS"] - before[pid]["VmRSS"]) / before[pid]["VmRSS"]
        worst = max(worst, growth)
        print(
            f"{pid:>8} {before[pid]['VmRSS'] / 1024:>10.0f} {after[pid]['VmRSS'] / 1024:>10.0f} "
            f"{growth:>7.1f}% {after[pid]['deleted']:>21}"
        )
    if load.failed or worst > args.max_growth:
        raise SystemExit(1)


def _posts(given: Path | None, out: Path) -> Path:
    if given is not None:
        shutil.copytree(given, out)
        return out
    make_posts = SHARED / "corpus" / "make_posts.py"
    if not make_posts.is_file():
        raise SystemExit(f"error: {make_posts} is absent; give --posts DIR (or set SEARCHENGINE_SHARED)")
    subprocess.run([sys.executable, str(make_posts), str(out), "--years", "2019"], check=True, capture_output=True)
    return out


def _index(posts: Path, index: Path) -> None:
    # From a neutral folder: from a checkout, `python -m` would import the source tree.
    command = [sys.executable, "-m", "searchengine", "index", str(posts), "--index", str(index), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"error: searchengine index exited with {done.returncode}: {done.stderr.strip()}")


class _Load(threading.Thread):
    """One client searching without pause, through the query mix."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.answered = self.failed = 0
        self.stopping = threading.Event()
        self.progress = threading.Condition()

    def run(self) -> None:
        n = 0
        while not self.stopping.is_set():
            query = QUERIES[n % len(QUERIES)]
            n += 1
            try:
                with urllib.request.urlopen(f"{self.base}/?{urlencode({'q': query})}", timeout=60) as response:
                    response.read()
                    ok = response.status == 200
            except OSError:
                ok = False
            with self.progress:
                self.answered += ok
                self.failed += not ok
                self.progress.notify_all()

    def wait_for(self, answered: int, timeout: float = 120.0) -> None:
        with self.progress:
            if not self.progress.wait_for(lambda: self.answered >= answered, timeout):
                raise SystemExit(f"error: the server answered {self.answered} searches, not {answered}, in {timeout} s")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=70)


def _workers(pid: int, expected: int, timeout: float = 30.0) -> list[int]:
    """The web server's worker processes: its children, or itself when it runs one process."""
    if expected == 1:
        return [pid]
    deadline = time.monotonic() + timeout
    while True:
        children = sorted(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        if len(children) == expected or time.monotonic() > deadline:
            return children
        time.sleep(0.1)


def _status(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon and RssFile in kB, and the count of deleted files mapped."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            values[key] = int(rest.split()[0])
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    values["deleted"] = len({line.split(None, 5)[-1] for line in maps if line.endswith(" (deleted)")})
    return values


def _describe(statuses: dict[int, dict[str, int]]) -> str:
    return "; ".join(
        f"{pid}: {s['VmRSS'] / 1024:.0f} MB (anon {s['RssAnon'] / 1024:.0f}, file {s['RssFile'] / 1024:.0f}), "
        f"{s['deleted']} deleted files mapped"
        for pid, s in statuses.items()
    )


if __name__ == "__main__":
    main()
