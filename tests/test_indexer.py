"""Incremental, atomic, locked and parallel builds, tried for real."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchengine import IncompatibleIndexError, IndexLockedError, SearchEngine, SearchEngineError
from searchengine.cli import main
from searchengine.errors import ParameterError
from searchengine.indexer import BuildOptions, build_index
from searchengine.store.schema import PostState
from tooling import SEARCHENGINE, Hammer, children, wait_until

SEED = "guancha/2021/000_30739a5f1b776113.txt"


@pytest.fixture
def posts(tmp_path: Path, sample_posts: Path) -> Path:
    target = tmp_path / "posts"
    shutil.copytree(sample_posts, target)
    return target


def _many_posts(sample_posts: Path, target: Path, copies: int) -> Path:
    """``copies`` renamed copies of every sample post: a tree big enough to take a while."""
    for copy in range(copies):
        shutil.copytree(sample_posts, target / f"copy{copy:03d}")
    return target


def _paths(index: Path, query: str) -> set[str]:
    # collapse=False: the copies these tests index are reprints of each other
    return {hit.path for hit in SearchEngine(index).search(query, limit=100, collapse=False).hits}


def test_first_build_then_nothing_to_do(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    first = build_index(posts, index)
    assert (first.posts, first.added, first.failed, first.status) == (35, 35, [], "ok")
    again = build_index(posts, index)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 35)
    assert not again.committed
    assert again.documents == 35


def test_a_touched_but_unchanged_post_is_not_analysed_again(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(posts, index)
    seed = posts / SEED
    os.utime(seed, ns=(time.time_ns(), time.time_ns() + 10**9))
    report = build_index(posts, index)
    assert (report.added, report.updated, report.unchanged, report.committed) == (0, 0, 35, False)


def test_recorded_states_are_read_without_decoding_as_decoding_reads_them(tmp_path: Path) -> None:
    """An update compares each post's stat with its encoded state (PostState.records_stat) and finds its path
    (path_of) without decoding it: the same answers as decoding, for times and sizes whose digits end alike."""
    post = tmp_path / "甲 乙.md"
    post.write_text("---\ntitle: 状态\n---\n\n正文\n", encoding="utf-8")
    stat = os.stat(post)
    raw = PostState.of_file("x/甲 乙.md", stat, "ff00").encode()
    assert PostState.path_of(raw) == PostState.decode(raw).path == "x/甲 乙.md"
    assert PostState.records_stat(raw, stat)
    mtime, size = stat.st_mtime_ns, stat.st_size
    for other in ((mtime + 1, size), (mtime, size + 10), (int(f"1{mtime}"), size), (mtime, int(f"1{size}"))):
        assert not PostState.records_stat(PostState("x/甲 乙.md", "ff00", *other).encode(), stat), other


def test_edits_deletions_and_additions_are_reflected(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(posts, index)
    seed = posts / SEED
    seed.write_text(seed.read_text(encoding="utf-8").replace("莫斯科模式", "喀布尔模式"), encoding="utf-8")
    (posts / "tech/2015/2015-09-10-iphone-launch-observation.md").unlink()
    (posts / "new.md").write_text("---\ntitle: 新增的帖子\n---\n\n独一无二的测试词语扎哈罗娃。\n", encoding="utf-8")
    report = build_index(posts, index)
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    assert _paths(index, "喀布尔模式") == {SEED}
    assert _paths(index, '"莫斯科模式"') == set()
    assert _paths(index, "扎哈罗娃") == {"new.md"}
    assert "tech/2015/2015-09-10-iphone-launch-observation.md" not in _paths(index, "iPhone")
    assert SearchEngine(index).stats().documents == 35


def _contents(index: Path) -> dict[str, tuple[str, str, str | None]]:
    """Every indexed post: its path, title, text and date."""
    engine = SearchEngine(index)
    posts = {path: engine.get(path) for path in engine.paths()}
    return {path: (post.title, post.body, post.date) for path, post in posts.items() if post is not None}


def test_an_update_of_the_paths_that_changed_equals_a_walk(posts: Path, tmp_path: Path) -> None:
    """What a watch does after its first update: it looks at the changed paths alone, and must
    end where a walk of the whole tree ends."""
    index = tmp_path / "index"
    first = build_index(posts, index, changed=[posts / SEED])  # a new index: every post, named or not
    assert (first.added, first.links) == (35, 0)  # a walk counts the symlinks it follows
    edited, gone, renamed = posts / SEED, posts / "tech/2015/2015-09-10-iphone-launch-observation.md", posts / "new.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("莫斯科模式", "喀布尔模式"), encoding="utf-8")
    gone.unlink()
    renamed.write_text("---\ntitle: 新增的帖子\n---\n\n独一无二的测试词语扎哈罗娃。\n", encoding="utf-8")
    note = next(path for path in sorted(posts.rglob("*.txt")) if path != edited)
    note.write_text("no front matter any more: a note, not a post\n", encoding="utf-8")
    hidden = posts / ".drafts/draft.md"
    hidden.parent.mkdir()
    hidden.write_text("---\ntitle: 草稿\n---\n\n草稿。\n", encoding="utf-8")
    touched = posts / "econ/2015/2015-06-30-stock-market-volatility.md"
    os.utime(touched, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = [edited, gone, renamed, note, hidden, touched, posts / "never-there.md"]

    report = build_index(posts, index, changed=[str(path) for path in changed])
    assert report.links is None  # no walk
    assert (report.posts, report.added, report.updated, report.removed, report.unchanged) == (3, 1, 1, 2, 1)
    assert report.documents == 34
    assert _paths(index, "喀布尔模式") == {SEED} and _paths(index, "扎哈罗娃") == {"new.md"}
    build_index(posts, tmp_path / "walked")
    assert _contents(index) == _contents(tmp_path / "walked")
    again = build_index(posts, index, changed=changed)
    assert (again.added, again.updated, again.removed, again.committed) == (0, 0, 0, False)


@pytest.mark.parametrize("what", ["folder", "root", "outside", "link on the way"])
def test_a_changed_path_only_a_walk_can_tell_walks_the_tree(posts: Path, tmp_path: Path, what: str) -> None:
    """A folder moved in (inotify names the folder, not its posts), the posts folder itself, a path
    elsewhere, a post reached through a symlink: the update walks, and finds every post."""
    index = tmp_path / "index"
    build_index(posts, index)
    moved = posts / "moved-in"
    moved.mkdir()
    (moved / "a.md").write_text("---\ntitle: 水獭\n---\n\n水獭在溪流中捕鱼。\n", encoding="utf-8")
    (posts / "linked").symlink_to(moved, target_is_directory=True)
    name = {
        "folder": moved,
        "root": posts,
        "outside": tmp_path / "elsewhere.md",
        "link on the way": posts / "linked/a.md",
    }[what]
    report = build_index(posts, index, changed=[name])
    assert report.links == 1  # it walked
    assert _paths(index, "水獭") == {"linked/a.md"}  # the walk meets the folder first through its link
    build_index(posts, tmp_path / "walked")
    assert _contents(index) == _contents(tmp_path / "walked")


def test_bad_posts_are_listed_and_the_rest_indexed(posts: Path, tmp_path: Path) -> None:
    (posts / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    (posts / "empty.md").write_bytes(b"")
    (posts / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    report = build_index(posts, tmp_path / "index")
    assert report.status == "partial" and report.added == 35
    reasons = "\n".join(report.failed)
    assert "broken.md: malformed front matter" in reasons
    assert "empty.md: empty file" in reasons
    assert "binary.md: binary file" in reasons


def test_a_post_that_breaks_keeps_its_last_good_version(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(posts, index)
    (posts / SEED).write_bytes(b"---\ntitle: [broken\n---\n")
    report = build_index(posts, index)
    assert report.status == "partial" and report.failed[0].startswith(str(posts / SEED))
    assert _paths(index, "莫斯科模式") == {SEED}


def test_a_second_build_waits_then_names_the_lock(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(posts, index)
    with open(index / "MAIN_WRITELOCK", "a") as lock:  # what another build holds: an flock
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        started = time.monotonic()
        with pytest.raises(IndexLockedError, match=r"being written by another build \(lock .*MAIN_WRITELOCK\)"):
            build_index(posts, index, BuildOptions(lock_timeout=0.5))
        assert 0.5 <= time.monotonic() - started < 5
        assert _paths(index, "莫斯科模式") == {SEED}  # searching is never blocked


def test_other_analysis_settings_require_a_rebuild(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(posts, index)
    names = tmp_path / "names.txt"
    names.write_text("彼得连科 50 nr\n", encoding="utf-8")
    with pytest.raises(IncompatibleIndexError, match="user dictionary .*--rebuild"):
        build_index(posts, index, BuildOptions(user_dict=names))
    report = build_index(posts, index, BuildOptions(user_dict=names, rebuild=True))
    assert report.added == 35
    assert SearchEngine(index).get(SEED) is not None


def test_an_index_from_another_analyzer_version_is_refused(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(posts, index)
    [manifest] = index.glob("_MAIN_*.json")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["analysis"]["version"] = 0
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IncompatibleIndexError, match="version 0 vs .*--rebuild"):
        SearchEngine(index)
    with pytest.raises(IncompatibleIndexError, match="version 0 vs .*--rebuild"):
        build_index(posts, index)
    assert build_index(posts, index, BuildOptions(rebuild=True)).added == 35
    assert SearchEngine(index).get(SEED) is not None


def test_a_missing_posts_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SearchEngineError, match="posts folder .*does not exist"):
        build_index(tmp_path / "nope", tmp_path / "index")


def test_parallel_and_serial_builds_hold_the_same_posts(sample_posts: Path, tmp_path: Path) -> None:
    tree = _many_posts(sample_posts, tmp_path / "posts", 8)  # 280 posts: enough for workers
    serial = build_index(tree, tmp_path / "serial", BuildOptions(workers=1))
    parallel = build_index(tree, tmp_path / "parallel", BuildOptions(workers=2))
    assert serial.added == parallel.added == 280
    for query in ("莫斯科模式", "经济 APEC", '"国际贸易"', "彼得连科"):
        assert _paths(tmp_path / "serial", query) == _paths(tmp_path / "parallel", query)


def test_searches_keep_working_during_a_build(sample_posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    tree = _many_posts(sample_posts, tmp_path / "posts", 1)
    build_index(tree, index)
    engine = SearchEngine(index)
    _many_posts(sample_posts, tmp_path / "posts" / "more", 6)

    def search() -> None:
        assert engine.search("莫斯科模式").total >= 1

    with Hammer(search) as hammer:
        build_index(tree, index)
    assert hammer.failures == [] and hammer.calls > 0
    assert engine.search("莫斯科模式", collapse=False).total == 7  # the engine moved to the new generation


def _wait_for_orphans_to_exit(marker: str, timeout: float = 10.0) -> None:
    """The killed build's worker processes notice and stop on their own."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    alive.append(proc.name)
            except OSError:
                continue
        if not alive:
            return
        assert time.monotonic() < deadline, f"workers still running: {alive}"
        time.sleep(0.2)


@pytest.mark.parametrize("copies", [40])
def test_kill_9_during_a_build_leaves_the_last_index_searchable(
    sample_posts: Path, tmp_path: Path, copies: int
) -> None:
    index = tmp_path / "index"
    tree = _many_posts(sample_posts, tmp_path / "posts", 1)
    build_index(tree, index)
    _many_posts(sample_posts, tmp_path / "posts" / "more", copies)  # 1,400 more posts
    build = subprocess.Popen(
        [*SEARCHENGINE, "index", str(tree), "--index", str(index), "--quiet", "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:  # once its workers run, the build is analysing and cannot have committed
        wait_until(lambda: len(children(build.pid)) >= 2 or build.poll() is not None)
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()
    assert build.returncode == -signal.SIGKILL, "the build finished before it could be killed; give it more posts"
    assert _paths(index, "莫斯科模式") == {"copy000/" + SEED}
    _wait_for_orphans_to_exit(str(index))
    report = build_index(tree, index)  # the next run completes
    assert report.added == 35 * copies and report.status == "ok"
    assert len(_paths(index, "莫斯科模式")) == copies + 1
    # The killed build's files are gone: only the committed generation's remain.
    segments = {name.split(".")[0] for name in os.listdir(index) if name.startswith("MAIN_") and "." in name}
    assert len(segments) == SearchEngine(index).stats().segments
    assert sorted(name for name in os.listdir(index) if name.startswith("_MAIN_")) == ["_MAIN_2.json", "_MAIN_2.toc"]


# --- the index and the posts kept apart ------------------------------------------


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def test_an_index_in_the_posts_folder_is_refused_and_nothing_written(posts: Path) -> None:
    before = _files(posts)
    with pytest.raises(ParameterError) as itself:
        build_index(posts, posts)
    assert str(itself.value) == (
        f"index folder {posts}: is the posts folder; nothing was written. "
        f"Give the index a folder outside it, such as {posts.parent / 'index'}"
    )
    with pytest.raises(ParameterError) as inside:
        build_index(posts, posts / "guancha" / "index")
    assert str(inside.value) == (
        f"index folder {posts / 'guancha' / 'index'}: is inside the posts folder {posts}; nothing was written. "
        f"Give the index a folder outside it, such as {posts.parent / 'index'}"
    )
    assert _files(posts) == before


def test_a_folder_of_posts_is_no_index_folder(posts: Path, tmp_path: Path) -> None:
    """Other posts given as --index: refused for a build (nothing written) and for a search."""
    other = tmp_path / "other"
    shutil.copytree(posts / "guancha", other / "guancha")
    before = _files(other)
    with pytest.raises(ParameterError) as caught:
        build_index(posts, other)
    assert str(caught.value) == (
        f"index folder {other}: holds posts, not an index; nothing was written. "
        "Give the index a folder of its own (new, empty or an index), outside the posts folder"
    )
    assert _files(other) == before
    index = CliRunner().invoke(main, ["index", str(posts), "--index", str(other)])
    assert index.exit_code == 1 and index.output == f"Error: {caught.value}\n"
    search = CliRunner().invoke(main, ["search", "经济", "--index", str(posts)])
    assert search.exit_code == 1
    assert search.output == (
        f"Error: no index at {posts}: it holds posts, not an index; give the folder their index was built "
        f"into (`searchengine index {posts} --index INDEX_DIR` builds one)\n"
    )


def test_the_usual_layouts_are_still_accepted(posts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default index/ next to the posts, even holding a .gitignore; an index holding a posts copy."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / ".gitignore").write_text("*\n")
    result = CliRunner().invoke(main, ["index", "posts", "--quiet"])
    assert result.exit_code == 0, result.output
    assert SearchEngine(tmp_path / "index").stats().documents == 35
    shutil.copytree(posts / "guancha", tmp_path / "index" / "kept" / "guancha")  # an index is an index
    assert build_index(posts, tmp_path / "index").unchanged == 35
