"""The watcher (``index --watch``, ``serve --watch``): real files saved, renamed and deleted.

Each test watches a posts folder of its own in a temp dir, with the real
watchfiles (inotify), real builds and a real index, and polls searches with
a deadline: a post is "found at once" when a search finds it within seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from searchengine.analysis import AnalysisSettings
from searchengine.engine import SearchEngine
from searchengine.errors import IndexLockedError, SearchEngineError
from searchengine.indexer import BuildOptions, BuildReport
from searchengine.store import IndexFolder
from searchengine.watch import watch_posts
from tooling import SAMPLES, SEARCHENGINE, children, free_port, wait_until

#: Quick for tests: an update starts once the folder has been quiet this long (ms).
QUIET_MS = 200
#: How long a saved post may take to be found.
FOUND_WITHIN = 20.0
#: Sample posts to start from: enough to be a real index, few enough to build in a moment.
STARTING_POSTS = sorted(p.relative_to(SAMPLES) for p in SAMPLES.rglob("*.md"))[:3]


def post(title: str, body: str) -> str:
    """A Hexo post."""
    return f"---\ntitle: {title}\ndate: 2024-05-01 08:00:00\ncategories: 测试\n---\n\n{body}\n"


def save(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def posts(tmp_path: Path) -> Path:
    """A posts folder holding a few sample posts."""
    root = tmp_path / "posts"
    for relative in STARTING_POSTS:
        root.joinpath(relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / relative, root / relative)
    return root


class Watching:
    """:func:`watch_posts` running in a thread, with what it reported."""

    def __init__(self, posts: Path, index: Path, **kwargs: Any) -> None:
        self.reports: list[BuildReport] = []
        self.errors: list[SearchEngineError] = []
        self.crash: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(posts, index), kwargs=kwargs)

    def _run(self, posts: Path, index: Path, **kwargs: Any) -> None:
        try:
            watch_posts(
                posts, index, on_update=self.reports.append, on_error=self.errors.append, stop_event=self.stop, **kwargs
            )
        except BaseException as exc:  # noqa: BLE001 - the test asserts on it
            self.crash = exc

    def found(self, engine: SearchEngine, word: str) -> set[str]:
        """The paths of the posts a search for ``word`` finds (failing at once if the watch ended)."""
        assert self.crash is None and self.thread.is_alive(), f"the watch ended: {self.crash!r}"
        return {hit.path for hit in engine.search(word, limit=100).hits}


@contextmanager
def watching(posts: Path, index: Path, **kwargs: Any) -> Iterator[Watching]:
    """Watch ``posts`` into ``index`` while the block runs; its first update is done when the block starts."""
    kwargs.setdefault("quiet_ms", QUIET_MS)
    kwargs.setdefault("options", BuildOptions(workers=1))
    watch = Watching(posts, index, **kwargs)
    watch.thread.start()
    try:
        wait_until(lambda: bool(watch.reports) or not watch.thread.is_alive(), FOUND_WITHIN, "the first update")
        assert watch.crash is None, watch.crash
        yield watch
    finally:
        watch.stop.set()
        watch.thread.join(timeout=30)
    assert not watch.thread.is_alive(), "the watch did not stop"
    assert watch.crash is None, watch.crash


def test_a_watch_builds_a_missing_index_at_once(posts: Path, tmp_path: Path) -> None:
    with watching(posts, tmp_path / "index") as watch:
        assert watch.reports[0].added == len(STARTING_POSTS)
        assert SearchEngine(tmp_path / "index").stats().documents == len(STARTING_POSTS)


def test_a_saved_post_is_found_then_renamed_then_deleted(posts: Path, tmp_path: Path) -> None:
    with watching(posts, tmp_path / "index") as watch:
        engine = SearchEngine(tmp_path / "index")
        assert watch.found(engine, "海狸鼠") == set()
        save(posts / "2024/beaver.md", post("海狸鼠的新家", "海狸鼠在河边安了家。"))
        wait_until(lambda: watch.found(engine, "海狸鼠") == {"2024/beaver.md"}, FOUND_WITHIN, "the saved post")

        (posts / "archive").mkdir()
        os.rename(posts / "2024/beaver.md", posts / "archive/beaver.md")
        wait_until(lambda: watch.found(engine, "海狸鼠") == {"archive/beaver.md"}, FOUND_WITHIN, "the new path")

        (posts / "archive/beaver.md").unlink()
        wait_until(lambda: watch.found(engine, "海狸鼠") == set(), FOUND_WITHIN, "the deleted post to go")
        assert watch.errors == []
        assert [(r.added, r.updated, r.removed) for r in watch.reports[1:]] == [(1, 0, 0), (1, 0, 1), (0, 0, 1)]


def test_after_the_first_walk_an_update_looks_at_the_changed_paths_alone(posts: Path, tmp_path: Path) -> None:
    folder = posts / STARTING_POSTS[0].parent  # a folder that exists: a new one would be walked
    with watching(posts, tmp_path / "index") as watch:
        engine = SearchEngine(tmp_path / "index")
        assert watch.reports[0].links == 0  # the first update walked the tree
        save(folder / "beaver.md", post("海狸鼠的新家", "海狸鼠在河边安了家。"))
        wanted = {(folder / "beaver.md").relative_to(posts).as_posix()}
        wait_until(lambda: watch.found(engine, "海狸鼠") == wanted, FOUND_WITHIN, "the saved post")
        (folder / "beaver.md").unlink()
        wait_until(lambda: watch.found(engine, "海狸鼠") == set(), FOUND_WITHIN, "the deleted post to go")
    assert [(r.added, r.removed, r.links) for r in watch.reports[1:]] == [(1, 0, None), (0, 1, None)]


def test_a_tree_with_a_symlink_is_walked_at_every_update(posts: Path, tmp_path: Path) -> None:
    """A post is indexed under each name a link gives it, but inotify names only the file saved."""
    target = posts / STARTING_POSTS[0]
    (posts / "alias.md").symlink_to(target)
    with watching(posts, tmp_path / "index") as watch:
        engine = SearchEngine(tmp_path / "index")
        assert watch.reports[0].links == 1
        save(target, post("海狸鼠的新家", "海狸鼠在河边安了家。"))
        wanted = {"alias.md", STARTING_POSTS[0].as_posix()}
        wait_until(lambda: watch.found(engine, "海狸鼠") == wanted, FOUND_WITHIN, "the saved post, by both names")
    assert all(report.links == 1 for report in watch.reports)


def test_a_folder_of_posts_moved_in_and_out_is_followed(posts: Path, tmp_path: Path) -> None:
    """inotify names only the folder moved, not the posts it holds."""
    outside = tmp_path / "outside"
    save(outside / "a.md", post("水獭一", "水獭在溪流中捕鱼。"))
    save(outside / "deeper/b.md", post("水獭二", "水獭在岸边晒太阳。"))
    with watching(posts, tmp_path / "index") as watch:
        engine = SearchEngine(tmp_path / "index")
        os.rename(outside, posts / "otters")
        wanted = {"otters/a.md", "otters/deeper/b.md"}
        wait_until(lambda: watch.found(engine, "水獭") == wanted, FOUND_WITHIN, "the posts moved in")
        os.rename(posts / "otters", outside)
        wait_until(lambda: watch.found(engine, "水獭") == set(), FOUND_WITHIN, "the posts moved out")


def test_files_that_are_not_posts_start_no_update(posts: Path, tmp_path: Path) -> None:
    """Pictures, generated pages, hidden files and folders without posts are not the indexer's business."""
    with watching(posts, tmp_path / "index") as watch:
        engine = SearchEngine(tmp_path / "index")
        save(posts / "public/2024/index.html", "<html>海狸鼠</html>")
        save(posts / "images/beaver.jpg", "not really a picture")
        save(posts / ".drafts/beaver.md", post("海狸鼠草稿", "海狸鼠。"))
        save(posts / "2024/.beaver.md.swp", "swap")
        save(posts / "notes/todo", "海狸鼠")
        (posts / "empty-folder").mkdir()
        # An update would start within QUIET_MS: none may start in many times that.
        stays_false(lambda: len(watch.reports) > 1, 10 * QUIET_MS / 1000)
        save(posts / "2024/beaver.md", post("海狸鼠", "海狸鼠。"))
        wait_until(lambda: watch.found(engine, "海狸鼠") == {"2024/beaver.md"}, FOUND_WITHIN, "the post")
        assert len(watch.reports) == 2


def test_a_burst_of_10000_file_events_makes_few_builds_and_a_correct_index(posts: Path, tmp_path: Path) -> None:
    """As ``hexo generate`` does: hundreds of posts and thousands of other files, all at once."""
    count, pages, touches = 300, 9_700, 3
    with watching(posts, tmp_path / "index", quiet_ms=500) as watch:
        engine = SearchEngine(tmp_path / "index")
        for number in range(count):
            save(posts / f"burst/{number // 100}/{number:03d}.md", post(f"河狸第{number}号", "河狸在筑坝。"))
        for number in range(pages):
            save(posts / f"public/{number // 1000}/{number}.html", "<p>河狸</p>")
        for _ in range(touches):  # the same files again: no new paths, still a busy folder
            for number in range(count):
                os.utime(posts / f"burst/{number // 100}/{number:03d}.md")
        wait_until(lambda: engine.search("河狸").total == count, 60, "every post of the burst")
        assert engine.stats().documents == len(STARTING_POSTS) + count
    builds = watch.reports[1:]  # counted once the watch has stopped: an update in progress has ended
    assert 1 <= len(builds) <= 3, [b.to_dict() for b in builds]
    assert sum(b.added for b in builds) == count
    assert watch.errors == []


def test_a_post_deleted_while_being_indexed_does_not_stop_the_watch(posts: Path, tmp_path: Path) -> None:
    """Deleted between the walk and its reading: that update reports it, the next one is correct."""
    deleted = ["burst/149.md", "zz-last.md"]  # the walk reads them last
    save(posts / "zz-last.md", post("旧版本", "旧版本里写着鸬鹚。"))
    seen: list[int] = []

    def delete_during_the_burst(done: int, total: int) -> None:
        if total >= 150 and not seen:  # after the first batch of the burst's update
            seen.append(done)
            for relative in deleted:
                (posts / relative).unlink()

    for number in range(150):  # moved in at once below: one update reads them all
        save(tmp_path / f"burst/{number:03d}.md", post(f"翠鸟第{number}号", "翠鸟在捕鱼。"))
    with watching(posts, tmp_path / "index", progress=delete_during_the_burst, quiet_ms=1000) as watch:
        engine = SearchEngine(tmp_path / "index")
        assert watch.found(engine, "鸬鹚") == {"zz-last.md"}
        save(posts / "zz-last.md", post("新版本", "新版本里写着鸬鹚和白鹭。"))
        os.rename(tmp_path / "burst", posts / "burst")
        wait_until(lambda: not watch.found(engine, "鸬鹚"), 60, "the deleted post to go")
        assert seen and seen[0] < 150
        assert engine.search("翠鸟").total == 149
        assert engine.stats().documents == len(STARTING_POSTS) + 149
        failed = [line for report in watch.reports for line in report.failed]
        assert len(failed) == 2 and all(any(name in line for line in failed) for name in deleted), failed
        assert watch.found(engine, "白鹭") == set()  # the deleted post's new text never went in
        assert watch.errors == []
        save(posts / "after.md", post("之后", "之后还有苍鹭。"))
        wait_until(lambda: watch.found(engine, "苍鹭") == {"after.md"}, FOUND_WITHIN, "a post after that")


def test_an_update_waits_for_another_build_holding_the_lock(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    with watching(posts, index, options=BuildOptions(workers=1, lock_timeout=0.2)) as watch:
        engine = SearchEngine(index)
        with IndexFolder(index).writer(AnalysisSettings.from_dict_file()):  # another build, in effect
            save(posts / "heron.md", post("苍鹭", "苍鹭站在浅滩。"))
            wait_until(lambda: bool(watch.errors), FOUND_WITHIN, "the watch to find the lock taken")
            assert watch.found(engine, "苍鹭") == set()
        wait_until(lambda: watch.found(engine, "苍鹭") == {"heron.md"}, FOUND_WITHIN, "the post, once the lock is free")
        assert len(watch.errors) == 1 and isinstance(watch.errors[0], IndexLockedError), watch.errors


def test_a_watch_of_a_folder_that_goes_away_ends_with_a_reason(posts: Path, tmp_path: Path) -> None:
    watch = Watching(posts, tmp_path / "index", quiet_ms=QUIET_MS)
    watch.thread.start()
    wait_until(lambda: bool(watch.reports), FOUND_WITHIN, "the first update")
    shutil.rmtree(posts)
    watch.thread.join(timeout=FOUND_WITHIN)
    assert not watch.thread.is_alive()
    assert isinstance(watch.crash, SearchEngineError) and str(posts) in str(watch.crash), watch.crash


def test_a_missing_posts_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SearchEngineError, match="posts folder .*nothing-here: does not exist"):
        watch_posts(tmp_path / "nothing-here", tmp_path / "index")


# --- the command line -------------------------------------------------------------


def stays_false(condition: Callable[[], bool], seconds: float) -> None:
    """Check ``condition`` for ``seconds``: it must never hold (what cannot be awaited must be watched)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not condition()
        time.sleep(0.01)


def _output(path: Path) -> Callable[[], str]:
    return lambda: path.read_text(encoding="utf-8", errors="replace")


def test_index_watch_updates_until_ctrl_c(posts: Path, tmp_path: Path) -> None:
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    command = [*SEARCHENGINE, "index", str(posts), "--index", str(tmp_path / "index"), "--watch"]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
    try:
        wait_until(lambda: "Ctrl-C stops" in _output(err)(), 60, "the watch to start")
        assert f"{len(STARTING_POSTS)} added" in _output(out)()  # the usual summary first
        save(posts / "heron.md", post("苍鹭", "苍鹭站在浅滩。"))
        wait_until(lambda: "updated: 1 added, 0 changed, 0 removed" in _output(out)(), FOUND_WITHIN, "its line")
        (posts / "heron.md").unlink()
        wait_until(lambda: "updated: 0 added, 0 changed, 1 removed" in _output(out)(), FOUND_WITHIN, "its line")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in _output(err)(), _output(err)()
    assert _output(err)().splitlines()[-1] == "stopped watching"
    assert len(_output(out)().splitlines()) == 3  # the summary, then one line per update


def _search(url: str, word: str) -> set[str] | None:
    """The paths ``/api/search`` finds for ``word``; None while the server does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/api/search?q={urllib.parse.quote(word)}", timeout=10) as response:
            return {hit["path"] for hit in json.load(response)["hits"]}
    except (urllib.error.URLError, ConnectionError):
        return None


def test_serve_watch_finds_a_saved_post_with_one_watcher(posts: Path, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "server.log"
    workers = 2
    command = [*SEARCHENGINE, "serve", "--index", str(tmp_path / "index"), "--watch", str(posts)]
    command += ["--port", str(port), "--workers", str(workers), "--threads", "2"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _search(url, "海狸鼠") == set() or process.poll() is not None, 60, "the server")
        assert process.poll() is None, _output(log)()
        assert len(children(process.pid)) == workers + 1  # the workers and one watcher
        save(posts / "2024/beaver.md", post("海狸鼠的新家", "海狸鼠在河边安了家。"))
        wait_until(lambda: _search(url, "海狸鼠") == {"2024/beaver.md"}, FOUND_WITHIN, "the saved post")
        process.terminate()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = _output(log)()
    assert text.count("updated: 1 added") == 1, text  # one watcher, not one per worker
    assert "Traceback" not in text, text
