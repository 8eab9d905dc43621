"""Faults, tried for real: killed workers, signals, damaged files, a full disk, poison posts.

Each test reproduces a defect a fault run found (issue 13) with real files,
real processes and real signals, and checks the promise that replaced it:
a build never hangs, a user never sees a traceback, nothing committed is
lost, and a damaged index says so in one line and is repaired by
``searchengine index --rebuild``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from searchengine import SearchEngine
from searchengine.errors import IndexDamagedError, IndexMissingError
from searchengine.indexer import BuildOptions, build_index
from searchengine.store import IndexFolder
from tooling import SEARCHENGINE, Hammer, children, in_fresh_process, wait_until

SEED = "guancha/2021/000_30739a5f1b776113.txt"


def _many_posts(sample_posts: Path, target: Path, copies: int) -> Path:
    for copy in range(copies):
        shutil.copytree(sample_posts, target / f"copy{copy:03d}")
    return target


def _cli(*args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    """``searchengine ARGS`` in its own process group (so that signals reach only it and its workers)."""
    return subprocess.Popen(
        [*SEARCHENGINE, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        start_new_session=True,
    )


def _one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def _paths(index: Path, query: str) -> set[str]:
    return {hit.path for hit in SearchEngine(index).search(query, limit=100).hits}


# --- a build never hangs ----------------------------------------------------------


@pytest.mark.parametrize("victims", ["one", "all"])
def test_a_build_whose_workers_die_exits_at_once(sample_posts: Path, tmp_path: Path, victims: str) -> None:
    """Killed workers with many jobs still queued used to hang the build forever."""
    index = tmp_path / "index"
    tree = _many_posts(sample_posts, tmp_path / "posts", 1)
    build_index(tree, index)
    _many_posts(sample_posts, tmp_path / "posts" / "more", 40)  # 1,400 more: far more than a pipe holds
    build = _cli("index", tree, "--index", index, "--quiet", "--workers", "2", cwd=tmp_path)
    wait_until(lambda: len(children(build.pid)) >= 2 or build.poll() is not None)
    workers = sorted(children(build.pid))
    for pid in workers if victims == "all" else workers[:1]:
        os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    _, stderr = build.communicate(timeout=30)
    assert time.monotonic() - started < 15
    assert build.returncode == 1
    _one_line_error(stderr)
    assert "worker died" in stderr and "nothing was committed" in stderr
    assert _paths(index, "莫斯科模式") == {"copy000/" + SEED}  # the last index is intact


def test_ctrl_c_twice_stops_the_build_with_one_line(sample_posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    tree = _many_posts(sample_posts, tmp_path / "posts", 40)
    build = _cli("index", tree, "--index", index, "--quiet", "--workers", "2", cwd=tmp_path)
    wait_until(lambda: len(children(build.pid)) >= 2 or build.poll() is not None)
    os.killpg(build.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    time.sleep(0.05)  # a second press while it cleans up
    if build.poll() is None:
        os.killpg(build.pid, signal.SIGINT)
    _, stderr = build.communicate(timeout=30)
    assert build.returncode == 130, stderr
    _one_line_error(stderr)
    assert "interrupted; nothing was committed" in stderr
    with pytest.raises(IndexMissingError):
        SearchEngine(index)


def test_ctrl_c_while_workers_start_stops_the_build(sample_posts: Path, tmp_path: Path) -> None:
    """A Ctrl-C during ``fork`` was swallowed by an at-fork hook: the build went on and exited 0.

    Sent as the first worker appears, it hit that window four times in five.
    """
    tree = _many_posts(sample_posts, tmp_path / "posts", 10)
    for attempt in range(3):
        index = tmp_path / f"index{attempt}"
        build = _cli("index", tree, "--index", index, "--quiet", "--workers", "2", cwd=tmp_path)
        deadline = time.monotonic() + 60
        while not children(build.pid) and build.poll() is None:  # no sleep: the window is short
            assert time.monotonic() < deadline, "no worker started"
        os.killpg(build.pid, signal.SIGINT)
        _, stderr = build.communicate(timeout=30)
        assert build.returncode == 130, stderr
        _one_line_error(stderr)
        with pytest.raises(IndexMissingError):
            SearchEngine(index)


def test_a_ctrl_c_as_the_command_exits_leaves_its_exit_status(sample_posts: Path, tmp_path: Path) -> None:
    """A Ctrl-C after the command is done (a build committed, its report printed) is ignored.

    The fault battery's Ctrl-C once reached a build as its interpreter exited: Python puts back the
    default handler while it finalizes, and the process died of the signal, with no word, after its
    build had committed. In a fresh process, as the command runs: the command, then a Ctrl-C.
    """
    code = """
import os, signal, sys
from searchengine.__main__ import run
sys.argv = ["searchengine", "index", sys.argv[1], "--index", sys.argv[2], "--quiet"]
try:
    run()
except SystemExit as done:
    status = done.code
os.kill(os.getpid(), signal.SIGINT)  # a late Ctrl-C, as the command exits
print("exit status", status)
"""
    assert in_fresh_process(code, sample_posts, tmp_path / "index") == ["exit status 0"]
    assert SearchEngine(tmp_path / "index").stats().documents == build_index(sample_posts, tmp_path / "again").documents


def test_ctrl_c_while_a_command_starts_is_one_line(sample_posts: Path, tmp_path: Path) -> None:
    """Before the build's own handling (while modules load), Ctrl-C still ends in one line."""
    build = _cli("index", sample_posts, "--index", tmp_path / "index", "--quiet", cwd=tmp_path)
    time.sleep(0.3)  # the command is loading its modules; any moment gives the same outcome
    os.killpg(build.pid, signal.SIGINT)
    _, stderr = build.communicate(timeout=30)
    if build.returncode == 0:
        pytest.skip("the build finished before the signal arrived")
    assert build.returncode == 130, stderr
    _one_line_error(stderr)
    assert stderr.startswith("interrupted")


# --- poison posts -------------------------------------------------------------------


EDGE_DATES = ["0001-01-01", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "Fri, 31 Dec 9999 23:59:59 -1200"]


def test_posts_dated_at_the_edge_of_time_never_break_the_index(sample_posts: Path, tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    shutil.copytree(sample_posts, posts)
    for number, date in enumerate(EDGE_DATES):
        (posts / f"edge{number}.md").write_text(f"---\ntitle: 边界日期{number}\ndate: '{date}'\n---\n边界日期测试\n")
    report = build_index(posts, tmp_path / "index")
    assert report.added == 35 + len(EDGE_DATES)
    engine = SearchEngine(tmp_path / "index")
    assert engine.search("边界日期测试").total == len(EDGE_DATES)
    assert engine.search("经济", sort="date").total > 0
    stats = engine.stats()
    assert stats.documents == 35 + len(EDGE_DATES)


def test_a_post_with_a_gbk_file_name_is_reported_and_the_rest_indexed(sample_posts: Path, tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    shutil.copytree(sample_posts, posts)
    name = os.path.join(os.fsencode(posts), "新闻联播报道.md".encode("gbk"))
    with open(name, "wb") as post:
        post.write("---\ntitle: 文件名\n---\n正文\n".encode())
    build = _cli("index", posts, "--index", tmp_path / "index", "--quiet", cwd=tmp_path)
    _, stderr = build.communicate(timeout=120)
    assert build.returncode == 3, stderr  # partial: one post failed, the rest committed
    assert "Traceback" not in stderr and "UTF-8" in stderr
    assert SearchEngine(tmp_path / "index").stats().documents == 35


# --- damaged files --------------------------------------------------------------------


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated table of contents": lambda index: os.truncate(next(index.glob("_MAIN_*.toc")), 20),
    "zeroed table of contents": lambda index: (lambda toc: toc.write_bytes(bytes(toc.stat().st_size)))(
        next(index.glob("_MAIN_*.toc"))
    ),
    "stray table of contents": lambda index: (index / "_MAIN_99.toc").write_bytes(os.urandom(300)),
    "garbled manifest": lambda index: next(index.glob("_MAIN_*.json")).write_text('{"format": 1, "gen'),
    "flipped byte in a segment": lambda index: _flip_a_byte(next(index.glob("MAIN_*.seg"))),
    "truncated segment": lambda index: os.truncate(next(index.glob("MAIN_*.seg")), 1000),
    "missing segment": lambda index: next(index.glob("MAIN_*.seg")).unlink(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_index_says_so_in_one_line_and_rebuild_repairs_it(
    sample_posts: Path, tmp_path: Path, damage: str
) -> None:
    index = tmp_path / "index"
    build_index(sample_posts, index, BuildOptions(workers=1))
    DAMAGE[damage](index)
    with pytest.raises(IndexDamagedError, match=r"index at .* is damaged \(.*\): run `searchengine index .*--rebuild`"):
        SearchEngine(index)
    for command in (["search", "经济"], ["stats"], ["check"]):
        run = subprocess.run(
            [*SEARCHENGINE, *command, "--index", str(index)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert run.returncode == 1
        assert "damaged" in run.stderr and "Traceback" not in run.stderr, run.stderr
    with pytest.raises(IndexDamagedError):
        build_index(sample_posts, index)  # an update notices too
    assert build_index(sample_posts, index, BuildOptions(rebuild=True, workers=1)).added == 35
    assert IndexFolder(index).check() == []
    assert _paths(index, "莫斯科模式") == {SEED}


# --- leftovers and a full disk -------------------------------------------------------------


def test_a_build_removes_what_no_generation_references(sample_posts: Path, tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    shutil.copytree(sample_posts, posts)
    index = tmp_path / "index"
    build_index(posts, index, BuildOptions(workers=1))
    leftovers = ["MAIN_zzzzzzzzzzzzzzzz.seg", "_MAIN_1.toc.1764450000.25", "_MAIN_7.json.tmp", "_MAIN_0.json"]
    for name in leftovers:
        (index / name).write_bytes(b"left by a killed build")
    (posts / "new.md").write_text("---\ntitle: 新文章\n---\n正文\n")  # something to commit
    build_index(posts, index, BuildOptions(workers=1))
    after = {p.name for p in index.iterdir()}
    assert not set(leftovers) & after
    segments = {name.split(".")[0] for name in after if name.startswith("MAIN_") and "." in name}
    assert len(segments) == SearchEngine(index).stats().segments == 2
    assert {name for name in after if name.startswith("_MAIN_")} == {"_MAIN_2.json", "_MAIN_2.toc"}


def test_a_first_build_killed_leaves_no_index_that_looks_valid(sample_posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    tree = _many_posts(sample_posts, tmp_path / "posts", 40)
    build = _cli("index", tree, "--index", index, "--quiet", "--workers", "2", cwd=tmp_path)
    try:  # once its workers run, the build cannot have committed
        wait_until(lambda: len(children(build.pid)) >= 2 or build.poll() is not None)
    finally:
        build.send_signal(signal.SIGKILL)
        build.communicate()
    assert build.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    with pytest.raises(IndexMissingError, match="no index at"):
        SearchEngine(index)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 32 MB filesystem (tmpfs), to fill up."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_recoverable_by_freeing_space_once(
    sample_posts: Path, tmp_path: Path, small_disk: Path
) -> None:
    index = small_disk / "index"
    build_index(sample_posts, index, BuildOptions(workers=1))
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 200_000))  # leave 200 KB
    free_before = shutil.disk_usage(small_disk).free
    bigger = _many_posts(sample_posts, tmp_path / "posts", 8)
    run = subprocess.run(
        [*SEARCHENGINE, "index", str(bigger), "--index", str(index), "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 1
    _one_line_error(run.stderr)
    assert "out of disk space" in run.stderr and str(index) in run.stderr and "MB more" in run.stderr
    assert shutil.disk_usage(small_disk).free >= free_before - 4096  # the failed build removed its files
    assert _paths(index, "莫斯科模式") == {SEED}  # the last index is intact
    ballast.unlink()  # free the space once: the next build succeeds
    assert build_index(bigger, index, BuildOptions(workers=1)).status == "ok"


# --- races and odd folders ---------------------------------------------------------------


def test_stats_never_fails_while_builds_commit(sample_posts: Path, tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    shutil.copytree(sample_posts, posts)
    index = tmp_path / "index"
    build_index(posts, index, BuildOptions(workers=1))
    engine = SearchEngine(index)
    with Hammer(engine.stats) as hammer:
        for round_ in range(6):
            (posts / f"new{round_}.md").write_text(f"---\ntitle: 新文章{round_}\n---\n正文\n")
            build_index(posts, index, BuildOptions(workers=1))
    assert hammer.failures == [] and hammer.calls > 0


def test_a_lock_that_is_a_folder_is_one_line(sample_posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(sample_posts, index, BuildOptions(workers=1))
    (index / "MAIN_WRITELOCK").unlink()
    (index / "MAIN_WRITELOCK").mkdir()
    run = subprocess.run(
        [*SEARCHENGINE, "index", str(sample_posts), "--index", str(index)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 1
    _one_line_error(run.stderr)
    assert "MAIN_WRITELOCK" in run.stderr and "must be a file" in run.stderr

