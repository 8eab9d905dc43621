"""Posts and posts folders built to break the loader, each a real file (no mocks).

Dates at the edge of what datetime knows, YAML alias bombs, file names that
cannot become an id, deeply nested Markdown, FIFOs, devices, and symlinks out
of the posts folder: each is refused or warned about at the post, with a
one-line message naming the file, and never stops the other posts.
"""

from __future__ import annotations

import os
import re
import threading
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from searchengine.dates import parse_date
from searchengine.documents import load_post, parse_post, walk_posts
from searchengine.errors import DocumentError

OUT_OF_RANGE = "out of range: only dates from 1000-01-01 to 9997-12-31 (UTC) are supported"
# The zones furthest apart (UTC+14 and UTC-12), the archive's zone, and one with DST.
ZONES = ["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Shanghai", "America/New_York"]


def write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def post(front_matter: str, body: str = "正文。") -> str:
    return f"---\n{front_matter}\n---\n\n{body}\n"


def walk(root: Path, follow_outside: bool = False) -> tuple[list[str], list[str]]:
    """Posts (relative paths) and error messages (root shown as ROOT) of a walk.

    The walk runs in a thread, so that a walk that opens a FIFO (and would
    block forever) fails the test instead of hanging it.
    """
    errors: list[DocumentError] = []
    posts: list[Path] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            posts.extend(walk_posts(root, on_error=errors.append, follow_outside=follow_outside))
        except BaseException as err:  # re-raised below, in the test's own thread
            failures.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the walk blocked (did it open a FIFO?)"
    if failures:
        raise failures[0]
    shown = [str(e).replace(str(root), "ROOT") for e in errors]
    return [p.relative_to(root).as_posix() for p in posts], shown


def assert_one_printable_line(message: str) -> None:
    assert message.isprintable(), message
    message.encode("utf-8")  # no surrogate left from an undecodable name


# --- dates at the edge of the range -------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0001-01-01", "0001-01-01"),  # YAML's date: midnight in Shanghai is still year 0 in UTC
        ("'0001-01-01'", "0001-01-01"),  # the same as a string
        ("0001-01-01T00:00:00+14:00", "0001-01-01 00:00:00+14:00"),
        ("'0001-01-01T00:00:00+14:00'", "0001-01-01T00:00:00+14:00"),
        ("9999-12-31T23:59:59-12:00", "9999-12-31 23:59:59-12:00"),
        ("'Fri, 31 Dec 9999 23:59:59 -1200'", "Fri, 31 Dec 9999 23:59:59 -1200"),
        ("9999-12-31", "9999-12-31"),
        ("0999-12-31T23:59:59Z", "0999-12-31 23:59:59+00:00"),
        ("1000-01-01 00:00", "1000-01-01 00:00"),  # read in Shanghai: 999-12-31T16:00Z
        ("9998-01-01T00:00:00Z", "9998-01-01 00:00:00+00:00"),
    ],
)
def test_a_date_outside_the_range_is_no_date_and_a_warning(
    tmp_path: Path, value: str, shown: str
) -> None:
    path = write(tmp_path, "edge.md", post(f"title: 标题\ndate: {value}\ncategories: [a]"))
    doc = load_post(path)
    assert (doc.title, doc.categories, doc.date) == ("标题", ("a",), None)
    assert doc.warnings == (
        f"{path}: invalid date '{shown}': {OUT_OF_RANGE}; indexed without a date",
    )


@pytest.mark.parametrize(
    "value",
    [
        "1000-01-01T00:00:00Z",
        "1000-01-01T00:00:00-12:00",
        "'Wed, 01 Jan 1000 00:00:00 +0000'",
        "9997-12-31T23:59:59.999999Z",
        "9997-12-31T23:59:59+14:00",
        "'9997-12-31 23:59:59'",
    ],
)
def test_a_date_inside_the_range_works_in_every_zone(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, "edge.md", post(f"date: {value}"))
    doc = load_post(path)
    assert doc.warnings == ()
    assert doc.date is not None
    int(doc.date.timestamp())
    doc.date.isoformat()
    for zone in ZONES:
        local = doc.date.astimezone(ZoneInfo(zone))
        local.replace(year=local.year + 1)
        local.replace(year=local.year - 1)
        datetime(local.year + 1, 1, 1, tzinfo=ZoneInfo(zone)).timestamp()


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=12))),
        "0001-01-01",
        "Fri, 31 Dec 9999 23:59:59 -1200",
    ],
)
def test_parse_date_refuses_dates_outside_the_range(value: object) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(OUT_OF_RANGE)}$"):
        parse_date(value, "Asia/Shanghai")


# --- YAML alias bombs -----------------------------------------------------------

NAMES = "abcdefghi"


def billion_laughs() -> str:
    """One YAML flow value, about 330 bytes, that would expand to 9**9 (387 million) strings."""
    levels = ["&a [" + ",".join(["lol"] * 9) + "]"]
    levels += [f"&{name} [" + ",".join([f"*{below}"] * 9) + "]" for below, name in pairwise(NAMES)]
    return "[" + ", ".join(levels) + "]"


def merge_bomb() -> str:
    """The same with merge keys: each mapping merges the one before it ten times."""
    lines = ["a: &a {" + ", ".join(f"k{i}: {i}" for i in range(10)) + "}"]
    lines += [f"{name}: &{name} {{<<: [" + ",".join([f"*{below}"] * 10) + "]}" for below, name in pairwise(NAMES)]
    return "\n".join(lines)


BOMB = billion_laughs()
ALIAS_BOMB = "front matter refused: YAML aliases repeat more than 100,000 values and characters (an alias bomb?)"


@pytest.mark.parametrize(
    ("front_matter", "line"),
    [
        (f"title: {BOMB}", 3),
        (f"title: t\nauthor: {BOMB}", 4),
        (f"title: t\nunknown_key: {BOMB}", 4),
        (f"title: t\ntags: [x, [y, {BOMB}]]", 4),
        (f"title: t\ndate: {BOMB}", 4),
        ("title: t\n" + merge_bomb(), 8),  # the line of "e:", where the growth passes the limit
    ],
    ids=["title", "author", "unknown key", "nested list", "date", "merge keys"],
)
def test_an_alias_bomb_fails_fast_and_small(tmp_path: Path, front_matter: str, line: int) -> None:
    path = write(tmp_path, "bomb.md", "\n" + post(front_matter))
    assert path.stat().st_size < 700
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(DocumentError) as caught:
            load_post(path)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(caught.value) == f"{path}: {ALIAS_BOMB}, line {line}"
    assert seconds < 10  # a guard against the old behaviour (50 s and 4.7 GB), not a speed target
    assert peak < 10 * 1024 * 1024


def test_aliases_may_repeat_up_to_100_000_values_and_characters(tmp_path: Path) -> None:
    # An anchor of 1,000: the list, and one scalar of 1 + 998 characters.
    anchor = "block: &x [" + "x" * 998 + "]"
    fits = write(tmp_path, "fits.md", post(f"{anchor}\ncopies: [{', '.join(['*x'] * 100)}]"))
    assert load_post(fits).warnings == ()
    too_many = write(tmp_path, "too.md", post(f"{anchor}\ncopies: [{', '.join(['*x'] * 101)}]"))
    with pytest.raises(DocumentError, match=r"YAML aliases repeat more than 100,000 .*, line 3$"):
        load_post(too_many)


def test_ordinary_aliases_still_load(tmp_path: Path) -> None:
    front_matter = (
        "title: &t 丝路遗珍\n"
        "author: &me 文化周刊\n"
        "editor: *me\n"
        "subtitle: *t\n"
        "categories: &cats [文化, 国际]\n"
        "tags: *cats\n"
        "defaults: &defaults {lang: zh, layout: post}\n"
        "page: {<<: *defaults, comments: false}\n"
        "loop: &loop [x, [y, *loop]]"
    )
    doc = load_post(write(tmp_path, "ok.md", post(front_matter)))
    assert (doc.title, doc.author, doc.categories, doc.tags, doc.warnings) == (
        "丝路遗珍", "文化周刊", ("文化", "国际"), ("文化", "国际"), ()
    )


def test_a_bomb_never_stops_the_other_posts(tmp_path: Path) -> None:
    write(tmp_path, "a.md", post("title: 前"))
    write(tmp_path, "b.md", post(f"title: {BOMB}"))
    write(tmp_path, "c.md", post("title: 后"))
    titles, errors = [], []
    for path in walk_posts(tmp_path):
        try:
            titles.append(load_post(path, tmp_path).title)
        except DocumentError as err:
            errors.append(Path(err.path).name)
    assert (titles, errors) == (["前", "后"], ["b.md"])


# --- oversized values -------------------------------------------------------------


def test_long_field_values_are_cut_with_a_warning(tmp_path: Path) -> None:
    front_matter = (
        f"title: {'标' * 5000}\nauthor: [{'甲' * 1500}, {'乙' * 1500}]\n"
        f"tags: [短, {'长' * 3000}]\ncover: https://example.com/{'x' * 3000}.png"
    )
    path = write(tmp_path, "long.md", post(front_matter))
    doc = load_post(path)
    assert doc.title == "标" * 2000
    assert doc.author == "甲" * 1500 + "、" + "乙" * 499
    assert doc.tags == ("短", "长" * 2000)
    assert [len(image) for image in doc.images] == [2000]
    assert doc.warnings == tuple(
        f"{path}: {field} longer than 2,000 characters; cut"
        for field in ("title", "tags", "author", "images")
    )


def test_a_long_heading_title_is_cut_too(tmp_path: Path) -> None:
    path = write(tmp_path, "heading.md", "# " + "题" * 3000 + "\n\n正文")
    doc = load_post(path)
    assert doc.title == "题" * 2000
    assert doc.warnings == (f"{path}: title longer than 2,000 characters; cut",)


def test_an_invalid_date_warning_quotes_only_the_start_of_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "x.md", post(f"date: '{'明天' * 1000}'"))
    (warning,) = load_post(path).warnings
    assert warning == (
        f"{path}: invalid date '{'明天' * 40}…': not a date in a known form (RFC 2822, ISO 8601, "
        "YYYY-MM-DD HH:MM[:SS] or YYYY/MM/DD HH:MM[:SS]); indexed without a date"
    )


# --- deeply nested Markdown -------------------------------------------------------

NESTING = (
    "body nested more than 20 levels deep (Markdown quotes and lists); "
    "the deeper text could not be read and is not indexed"
)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("> " * 50000 + "text", ""),
        ("- " * 50000 + "text", ""),
        ("1. " * 30000 + "text", ""),
        ("前言\n\n" + "> " * 25 + "深处\n\n后记", "前言\n后记"),  # the rest is still read
        # Nested lists indented by one tab each: two list levels per character.
        ("".join("\t" * i + "-\t项\n" for i in range(10)) + "\t" * 10 + "深处", "项\n" * 8 + "项"),
    ],
    ids=["quotes", "bullets", "numbers", "part", "tabs"],
)
def test_markdown_nested_too_deep_is_a_warning(tmp_path: Path, body: str, text: str) -> None:
    path = write(tmp_path, "deep.md", body)
    started = time.perf_counter()
    doc = load_post(path)
    assert time.perf_counter() - started < 30  # a guard against a hang, not a speed target
    assert doc.body == text
    assert doc.warnings == (f"{path}: {NESTING}",)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("> " * 19 + "深处", "深处"),
        ("- " * 9 + "深处", "深处"),
        ("<div>" * 100 + "深处" + "</div>" * 100, "深处"),
        ("\n".join(["- 项"] * 30) + "\n\n" + "> " * 10 + "引", "项\n" * 30 + "引"),  # many, not deep
    ],
    ids=["quotes", "bullets", "html", "long list"],
)
def test_nesting_markdown_can_read_has_no_warning(tmp_path: Path, body: str, text: str) -> None:
    doc = load_post(write(tmp_path, "ok.md", body))
    assert (doc.body, doc.warnings) == (text, ())


# --- file names -----------------------------------------------------------------


def test_a_file_name_with_control_characters_is_reported_and_skipped(tmp_path: Path) -> None:
    write(tmp_path, "a\nb.md", post("title: 换行"))
    write(tmp_path, "esc\x1b.txt", post("title: 转义"))
    write(tmp_path, "tab\there/x.md", post("title: 制表符"))
    write(tmp_path, "ok.md", post("title: 好"))
    write(tmp_path, "notes\n.png", "not a post, so not reported")
    posts, errors = walk(tmp_path)
    assert posts == ["ok.md"]
    assert errors == [
        "ROOT/a\\nb.md: file name contains control characters; rename it",
        "ROOT/esc\\x1b.txt: file name contains control characters; rename it",
        "ROOT/tab\\there: folder name contains control characters; rename it",
    ]
    for error in errors:
        assert_one_printable_line(error)


def test_loading_a_file_named_with_control_characters_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "a\nb.md", post("title: 换行"))
    with pytest.raises(DocumentError) as caught:
        load_post(path, tmp_path)
    assert str(caught.value) == f"{tmp_path}/a\\nb.md: file name contains control characters; rename it"


GBK_NAME = "新闻联播报道.md".encode("gbk")
GBK_SHOWN = "\\xd0\\xc2\\xce\\xc5\\xc1\\xaa\\xb2\\xa5\\xb1\\xa8\\xb5\\xc0.md"


def write_gbk_named(folder: Path) -> Path:
    """A post whose file name is GBK bytes, as an old Windows archive copied over has."""
    fd = os.open(os.path.join(os.fsencode(folder), GBK_NAME), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, post("title: 新闻联播").encode("utf-8"))
    finally:
        os.close(fd)
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), GBK_NAME)))


def test_a_file_name_that_is_not_utf8_is_reported_and_skipped(tmp_path: Path) -> None:
    write_gbk_named(tmp_path)
    write(tmp_path, "ok.md", post("title: 好"))
    posts, errors = walk(tmp_path)
    assert posts == ["ok.md"]
    assert errors == [f"ROOT/{GBK_SHOWN}: file name is not valid UTF-8; rename it"]
    assert_one_printable_line(errors[0])


def test_loading_a_file_whose_name_is_not_utf8_fails_printably(tmp_path: Path) -> None:
    path = write_gbk_named(tmp_path)
    with pytest.raises(DocumentError) as caught:
        load_post(path, tmp_path)
    assert str(caught.value) == f"{tmp_path}/{GBK_SHOWN}: file name is not valid UTF-8; rename it"
    with pytest.raises(DocumentError, match="not valid UTF-8"):
        parse_post(post("title: x").encode(), path)


# --- special files and symlinks -----------------------------------------------------


def test_fifos_and_devices_are_reported_and_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.md")
    os.mkfifo(tmp_path / "pipe.txt")  # a .txt post would be opened to look for front matter
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "null.md").symlink_to("/dev/null")
    write(tmp_path, "ok.md", post("title: 好"))
    posts, errors = walk(tmp_path)
    assert posts == ["ok.md"]
    assert errors == [
        "ROOT/null.md: not a regular file",
        "ROOT/pipe: not a regular file",
        "ROOT/pipe.md: not a regular file",
        "ROOT/pipe.txt: not a regular file",
    ]


def test_loading_a_device_fails_without_reading_it(tmp_path: Path) -> None:
    (tmp_path / "zero.md").symlink_to("/dev/zero")  # endless: reading it would never stop
    with pytest.raises(DocumentError, match="zero.md: not a regular file$"):
        load_post(tmp_path / "zero.md")


def make_tree_with_links(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    write(outside, "o.md", post("title: 外面"))
    root = tmp_path / "posts"
    write(root, "a/x.md", post("title: 里面"))
    (root / "passwd.md").symlink_to("/etc/passwd")
    (root / "relative.md").symlink_to("../outside/o.md")
    (root / "ext").symlink_to(outside)
    (root / "same.md").symlink_to("a/x.md")  # inside: fine
    (root / "b").symlink_to("a")  # inside, and a folder walked already
    (root / "a" / "up").symlink_to("..")  # inside, and a loop
    return root


def test_symlinks_outside_the_posts_folder_are_reported_and_skipped(tmp_path: Path) -> None:
    root = make_tree_with_links(tmp_path)
    posts, errors = walk(root)
    assert posts == ["a/x.md", "same.md"]
    outside = "links outside the posts folder; set follow_outside to allow"
    assert errors == [
        "ROOT/a/up: symlink loop",
        "ROOT/b: same folder as ROOT/a, already walked",
        f"ROOT/ext: {outside}",
        f"ROOT/passwd.md: {outside}",
        f"ROOT/relative.md: {outside}",
    ]


def test_follow_outside_allows_them(tmp_path: Path) -> None:
    root = make_tree_with_links(tmp_path)
    posts, errors = walk(root, follow_outside=True)
    assert posts == ["a/x.md", "ext/o.md", "passwd.md", "relative.md", "same.md"]
    assert errors == [
        "ROOT/a/up: symlink loop",
        "ROOT/b: same folder as ROOT/a, already walked",
    ]


def test_a_symlinked_posts_folder_keeps_its_inside_links(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write(real, "a/x.md", post("title: x"))
    (real / "link.md").symlink_to("a/x.md")
    (tmp_path / "posts").symlink_to(real)
    assert walk(tmp_path / "posts") == (["a/x.md", "link.md"], [])
