"""Posts → Documents, dates, and the directory walk, on real files (no mocks)."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import frontmatter
import pytest

from searchengine.dates import parse_date
from searchengine.documents import (
    DEFAULT_TIMEZONE,
    MAX_POST_BYTES,
    Document,
    hash_bytes,
    load_post,
    parse_post,
    walk_posts,
)
from searchengine.errors import DocumentError, ParameterError

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MB = 1024 * 1024


def write(folder: Path, name: str, content: str | bytes) -> Path:
    """Write a real file (parents created) and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def post(front_matter: str, body: str = "正文。") -> str:
    """A post laid out as the corpus lays it: a blank line, then the front matter."""
    return f"\n---\n{front_matter}\n---\n\n{body}\n"


def assert_fails(path: Path, reason: str, **options: object) -> None:
    """load_post raises DocumentError naming the file (absolute) with exactly ``reason``."""
    with pytest.raises(DocumentError) as caught:
        load_post(path, **options)  # type: ignore[arg-type]
    source = os.path.abspath(path)
    assert caught.value.path == source
    assert caught.value.reason == reason
    assert str(caught.value) == f"{source}: {reason}"


# --- golden files -------------------------------------------------------------

GOLDEN_POSTS = sorted(p for p in GOLDEN.iterdir() if p.suffix in (".md", ".markdown", ".txt"))


def as_json(doc: Document) -> dict[str, object]:
    """The Document fields a golden file holds (source and content_hash are checked apart)."""
    return {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "html": doc.html,
        "categories": list(doc.categories),
        "tags": list(doc.tags),
        "author": doc.author,
        "date": doc.date.isoformat() if doc.date else None,
        "images": list(doc.images),
        "warnings": [w.replace(doc.source, "{source}") for w in doc.warnings],
    }


def test_every_golden_post_has_its_expected_json() -> None:
    assert len(GOLDEN_POSTS) >= 10
    assert all(p.with_suffix(".json").is_file() for p in GOLDEN_POSTS)


@pytest.mark.parametrize("path", GOLDEN_POSTS, ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    doc = load_post(path, GOLDEN)
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert as_json(doc) == expected
    assert doc.source == str(path)
    assert doc.content_hash == hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def test_golden_seed_is_the_shared_seed(shared: Path) -> None:
    seed = next((shared / "seed").glob("*.txt"))
    assert (GOLDEN / "seed.txt").read_bytes() == seed.read_bytes()


# --- parse_post / load_post ---------------------------------------------------


def test_parse_post_and_load_post_agree(tmp_path: Path) -> None:
    path = write(tmp_path, "a/b.md", post("title: 标题\ndate: 2021-10-21 10:42:36"))
    assert parse_post(path.read_bytes(), path, tmp_path) == load_post(path, tmp_path)


def test_hash_bytes_is_hex_blake2b_128() -> None:
    assert hash_bytes(b"abc") == hashlib.blake2b(b"abc", digest_size=16).hexdigest()
    assert len(hash_bytes(b"")) == 32


def test_id_is_the_posix_path_under_root_or_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "guancha/2021/x.md", post("title: t"))
    assert load_post(path, tmp_path).id == "guancha/2021/x.md"
    assert load_post(path).id == "x.md"
    assert load_post(Path(os.path.relpath(path)), tmp_path).id == "guancha/2021/x.md"


def test_a_path_outside_root_is_a_parameter_error(tmp_path: Path) -> None:
    path = write(tmp_path, "x.md", post("title: t"))
    with pytest.raises(ParameterError, match="root"):
        load_post(path, tmp_path / "elsewhere")


def test_an_unknown_timezone_is_a_parameter_error_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "x.md", post("title: t"))
    with pytest.raises(ParameterError, match="^timezone: unknown time zone 'Mars/Base'"):
        load_post(path, timezone="Mars/Base")


def test_max_bytes_must_be_positive(tmp_path: Path) -> None:
    path = write(tmp_path, "x.md", post("title: t"))
    with pytest.raises(ParameterError, match="^max_bytes"):
        load_post(path, max_bytes=0)


@pytest.mark.parametrize(
    ("front_matter", "body", "title"),
    [
        ("title: '  前后有空格  '", "", "前后有空格"),
        ("title: 2021", "", "2021"),  # YAML gives an int; str() as python-frontmatter users see it
        ("title: ''", "<h2>正文标题</h2><p>x</p>", "正文标题"),
        ("title:", "## Markdown 标题\n\n正文", "Markdown 标题"),
        ("author: x", "<p>没有标题</p>", "post"),
    ],
)
def test_title_falls_back_to_first_heading_then_file_name(
    tmp_path: Path, front_matter: str, body: str, title: str
) -> None:
    path = write(tmp_path, "post.md", post(front_matter, body))
    assert load_post(path).title == title


def test_a_post_without_front_matter_is_still_a_post(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.md", "# 标题\n\n正文第一段。\n")
    doc = load_post(path)
    assert (doc.title, doc.body, doc.date, doc.categories, doc.warnings) == (
        "标题",
        "标题\n正文第一段。",
        None,
        (),
        (),
    )


@pytest.mark.parametrize(
    ("value", "terms"),
    [
        ("新闻联播, 国内，要闻,,国内", ("新闻联播", "国内", "要闻")),
        ("[a, [b, [c, a]], '', null, 42]", ("a", "b", "c", "42")),
        ("\n  - 新闻\n  - [国内, 时政]", ("新闻", "国内", "时政")),
        ("42", ("42",)),
        ("", ()),
    ],
)
def test_categories_and_tags(tmp_path: Path, value: str, terms: tuple[str, ...]) -> None:
    path = write(tmp_path, "x.md", post(f"categories: {value}\ntags: {value}"))
    doc = load_post(path)
    assert doc.categories == terms
    assert doc.tags == terms


def test_a_list_that_contains_itself_ends(tmp_path: Path) -> None:
    path = write(tmp_path, "x.md", post("categories: &loop [x, [y, *loop]]"))
    assert load_post(path).categories == ("x", "y")


@pytest.mark.parametrize(
    ("value", "author"),
    [("新华社", "新华社"), ("[张三, 李四]", "张三、李四"), ("", ""), ("12", "12")],
)
def test_author(tmp_path: Path, value: str, author: str) -> None:
    assert load_post(write(tmp_path, "x.md", post(f"author: {value}"))).author == author


def test_images_front_matter_first_then_body_unique(tmp_path: Path) -> None:
    front_matter = (
        "headimg: h.png\nthumbnail: h.png\ncover: false\nphotos:\n  - p1.png\n  - [p2.png]"
    )
    body = '<p><img src="b.png"><img src="p1.png"></p>'
    doc = load_post(write(tmp_path, "x.md", post(front_matter, body)))
    assert doc.images == ("h.png", "p1.png", "p2.png", "b.png")


def test_crlf_and_utf8_bom_are_read_like_plain_utf8(tmp_path: Path) -> None:
    text = post("title: 标题\ncategories: [a]", "<p>阿富\n汗</p>")
    plain = load_post(write(tmp_path, "plain.md", text), tmp_path)
    crlf = load_post(write(tmp_path, "crlf.md", "\ufeff" + text.replace("\n", "\r\n")), tmp_path)
    assert (crlf.title, crlf.categories, crlf.body, crlf.warnings) == (
        plain.title, plain.categories, plain.body, ()
    )


def test_utf16_with_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "u16.md", post("title: 标题").encode("utf-16"))
    doc = load_post(path)
    assert (doc.title, doc.body, doc.warnings) == ("标题", "正文。", ())


# --- dates --------------------------------------------------------------------

UTC = UTC
PLUS8 = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Thu, 21 Oct 2021 10:42:36 GMT", datetime(2021, 10, 21, 10, 42, 36, tzinfo=UTC)),
        ("Thu, 21 Oct 2021 18:42:36 +0800", datetime(2021, 10, 21, 18, 42, 36, tzinfo=PLUS8)),
        ("Thu, 21 Oct 2021 10:42:36", datetime(2021, 10, 21, 10, 42, 36, tzinfo=SHANGHAI)),
        ("2021-10-21T10:42:36+08:00", datetime(2021, 10, 21, 10, 42, 36, tzinfo=PLUS8)),
        ("2021-10-21T02:42:36Z", datetime(2021, 10, 21, 2, 42, 36, tzinfo=UTC)),
        ("2021-10-21T02:42:36.5+0800", datetime(2021, 10, 21, 2, 42, 36, 500000, tzinfo=PLUS8)),
        ("2021-10-21", datetime(2021, 10, 21, tzinfo=SHANGHAI)),
        ("2021-10-21 10:42:36", datetime(2021, 10, 21, 10, 42, 36, tzinfo=SHANGHAI)),
        ("2021-10-21 10:42", datetime(2021, 10, 21, 10, 42, tzinfo=SHANGHAI)),
        ("2021/10/21 10:42:36", datetime(2021, 10, 21, 10, 42, 36, tzinfo=SHANGHAI)),
        ("2021/1/5", datetime(2021, 1, 5, tzinfo=SHANGHAI)),
        (" 2021-10-21 10:42:36 +08:00 ", datetime(2021, 10, 21, 10, 42, 36, tzinfo=PLUS8)),
        (datetime(2021, 10, 21, 10, 42, 36), datetime(2021, 10, 21, 10, 42, 36, tzinfo=SHANGHAI)),
        (datetime(2021, 10, 21, 2, 42, tzinfo=UTC), datetime(2021, 10, 21, 2, 42, tzinfo=UTC)),
        (date(2021, 10, 21), datetime(2021, 10, 21, tzinfo=SHANGHAI)),
    ],
)
def test_parse_date_forms(value: object, expected: datetime) -> None:
    parsed = parse_date(value, DEFAULT_TIMEZONE)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


def test_zone_less_dates_are_read_in_the_given_zone() -> None:
    assert parse_date("2021-10-21 10:42", "UTC") == datetime(2021, 10, 21, 10, 42, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2021-13-45", "month must be in 1..12"),
        ("2021-02-30 10:00", "day is out of range for month"),
        ("Thu, 45 Oct 2021 10:42:36 GMT", "day is out of range for month"),
        ("yesterday", "not a date in a known form"),
        ("", "not a date in a known form"),
        (1634812956, "expected a date or a string, got int"),
        (["2021-10-21"], "expected a date or a string, got list"),
    ],
)
def test_parse_date_rejects_with_a_reason(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{reason}"):
        parse_date(value, DEFAULT_TIMEZONE)


def test_post_timezone_option_reads_zone_less_dates(tmp_path: Path) -> None:
    path = write(tmp_path, "x.md", post("date: 2021-10-21 10:42:36"))
    assert load_post(path).date == datetime(2021, 10, 21, 10, 42, 36, tzinfo=SHANGHAI)
    assert load_post(path, timezone="UTC").date == datetime(2021, 10, 21, 10, 42, 36, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2021-13-45", "month must be in 1..12"),  # YAML alone would abort the whole front matter
        ("yesterday", "not a date in a known form"),
        ("'2021/02/30'", "day is out of range for month"),
    ],
)
def test_an_invalid_date_is_a_warning_and_no_date(tmp_path: Path, value: str, reason: str) -> None:
    path = write(tmp_path, "x.md", post(f"title: 标题\ndate: {value}\ncategories: [a]"))
    doc = load_post(path)
    assert (doc.title, doc.categories, doc.date) == ("标题", ("a",), None)
    (warning,) = doc.warnings
    shown = value.strip("'")
    assert warning.startswith(f"{path}: invalid date '{shown}': {reason}")
    assert warning.endswith("; indexed without a date")
    assert "\n" not in warning


# --- bad posts: each one a real file ----------------------------------------


@pytest.mark.parametrize("content", [b"", b"   \n\n\t  \r\n", b"\xef\xbb\xbf\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    assert_fails(write(tmp_path, "empty.md", content), "empty file")


def test_malformed_yaml_names_the_problem_and_the_file_line(tmp_path: Path) -> None:
    # Line 1 is blank, line 2 the opening ---, line 4 the bad one.
    path = write(tmp_path, "bad.md", "\n---\ntitle: 标题\ndate: a: b\n---\n正文\n")
    assert_fails(
        path, "malformed front matter: mapping values are not allowed in this context, line 4"
    )


def test_a_value_that_does_not_fit_its_yaml_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.md", post("title: t\ntags: !!int abc"))
    assert_fails(
        path,
        "malformed front matter: a value does not fit its !!tag "
        "(ValueError: invalid literal for int() with base 10: 'abc'), line 4",
    )


def test_an_explicit_timestamp_tag_on_text_is_an_invalid_date(tmp_path: Path) -> None:
    doc = load_post(write(tmp_path, "x.md", post("title: t\ndate: !!timestamp soon")))
    assert doc.date is None
    assert doc.warnings == (
        f"{doc.source}: invalid date 'soon': not a date in a known form (RFC 2822, ISO 8601, "
        "YYYY-MM-DD HH:MM[:SS] or YYYY/MM/DD HH:MM[:SS]); indexed without a date",
    )


def test_malformed_yaml_control_character(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.md", "---\ntitle: 中文\nauthor: x\x07\n---\n正文\n")
    assert_fails(
        path,
        "malformed front matter: unacceptable character #x0007: "
        "control characters are not allowed, line 3",
    )


@pytest.mark.parametrize(
    ("front_matter", "kind"), [("- a\n- b", "list"), ("just a sentence", "str"), ("42", "int")]
)
def test_front_matter_that_is_not_a_mapping(tmp_path: Path, front_matter: str, kind: str) -> None:
    path = write(tmp_path, "list.md", post(front_matter))
    assert_fails(path, f"front matter is not a mapping (got {kind})")


def test_front_matter_never_closed(tmp_path: Path) -> None:
    path = write(tmp_path, "open.md", "---\ntitle: 标题\n\n正文\n")
    assert_fails(path, "front matter never closed: no '---' line after the one on line 1")


# Each post opens with two blank lines, so its ``---`` is line 3 of the file and
# a line counted from the start of the YAML block would be 3 too small.
ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{x}: &{x} [{', '.join([f'*{a}'] * 9)}]\n" for a, x in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            "\n\n---\ntitle: 标题\ndate: a: b\n---\n正文\n",
            "malformed front matter: mapping values are not allowed in this context, line 5",
        ),
        (
            "\r\n\r\n---\r\ntitle: 标题\r\n\r\ntags: [a, b\r\nauthor: x\r\n---\r\n正文\r\n",
            "malformed front matter: did not find expected ',' or ']', line 7",
        ),
        (
            "\ufeff\n\n---\ntitle: 标题\nauthor: x\x07\n---\n正文\n",
            "malformed front matter: unacceptable character #x0007: control characters are not allowed, line 5",
        ),
        (
            "\n\n---\ntitle: 标题\ncover: !photo a.jpg\n---\n正文\n",
            "malformed front matter: could not determine a constructor for the tag '!photo', line 5",
        ),
        (
            "\n\n---\ntitle: 标题\ntags:\n  - 一\n  - !!int 二\n---\n正文\n",
            "malformed front matter: a value does not fit its !!tag "
            "(ValueError: invalid literal for int() with base 10: '二'), line 7",
        ),
        (
            "\n\n---\ntitle: 标题\n" + ALIAS_BOMB + "---\n正文\n",
            "front matter refused: YAML aliases repeat more than 100,000 values and characters "
            "(an alias bomb?), line 9",
        ),
        ("\n\n---\ntitle: 标题\n\n正文\n", "front matter never closed: no '---' line after the one on line 3"),
    ],
    ids=["scanner", "parser-crlf", "reader-bom", "constructor", "tag-value", "alias-bomb", "never-closed"],
)
def test_front_matter_errors_give_the_line_in_the_file(tmp_path: Path, content: str, reason: str) -> None:
    """Lines are counted from the top of the file, as an editor shows them, whatever the error's kind."""
    assert_fails(write(tmp_path, "bad.md", content), reason)


def test_gb18030_file_is_decoded_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "gbk.md", post("title: 政府工作报告", "<p>国内生产总值</p>").encode("gbk"))
    doc = load_post(path)
    assert (doc.title, doc.body) == ("政府工作报告", "国内生产总值")
    assert doc.warnings == (f"{path}: not UTF-8; decoded as GB18030",)


def test_undecodable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "junk.md", b"---\ntitle: x\n---\n\xff\xfe\xfd")
    assert_fails(path, "cannot decode: neither UTF-8 nor GB18030")


def test_binary_file(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    assert_fails(write(tmp_path, "image.md", png), "binary file, not a post")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with open(path, "wb") as file:
        file.truncate(20 * MB)  # sparse: 20 MB of NULs, which would read as "binary"
    assert MAX_POST_BYTES == 10 * MB
    assert_fails(path, "20.0 MB, larger than the 10 MB limit (max_post_bytes)")
    assert_fails(path, "20.0 MB, larger than the 16 MB limit (max_post_bytes)", max_bytes=16 * MB)
    assert_fails(path, "binary file, not a post", max_bytes=32 * MB)  # under the limit: read


def test_parse_post_also_enforces_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.md"  # parse_post never touches the file system
    data = post("title: t").encode() + b"x" * 1000
    with pytest.raises(DocumentError) as caught:
        parse_post(data, path, max_bytes=1000)
    reason = f"{len(data):,} bytes, larger than the 1,000-byte limit (max_post_bytes)"
    assert str(caught.value) == f"{path}: {reason}"


def test_symlink_to_itself(tmp_path: Path) -> None:
    link = tmp_path / "a.md"
    link.symlink_to("a.md")
    assert_fails(link, "symlink loop")


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "gone.md"
    link.symlink_to("nowhere.md")
    assert_fails(link, "broken symlink")


def test_missing_file(tmp_path: Path) -> None:
    assert_fails(tmp_path / "missing.md", "cannot read: no such file or directory")


def test_a_folder_named_like_a_post(tmp_path: Path) -> None:
    (tmp_path / "x.md").mkdir()
    assert_fails(tmp_path / "x.md", "a folder, not a post")


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.md")
    assert_fails(tmp_path / "pipe.md", "not a regular file")  # and does not block


# --- the walk -----------------------------------------------------------------


def walk(root: Path, *, follow_outside: bool = False) -> tuple[list[str], list[str]]:
    """Posts (relative POSIX paths) and error messages (root shown as ROOT) of a walk."""
    errors: list[DocumentError] = []
    found = walk_posts(root, on_error=errors.append, follow_outside=follow_outside)
    posts = [p.relative_to(root).as_posix() for p in found]
    return posts, [str(e).replace(str(root), "ROOT") for e in errors]


def test_walk_yields_posts_in_sorted_order_and_skips_the_rest(tmp_path: Path) -> None:
    for name in ["b.md", "a.markdown", "z/2.md", "z/1.MD", "m/deep/er/x.md", "c.txt"]:
        write(tmp_path, name, post("title: t"))
    write(tmp_path, "notes.txt", "just notes, no front matter\n---\n")
    write(tmp_path, "bom.txt", "\ufeff\n\n---\ntitle: t\n---\nx")
    write(tmp_path, "image.png", b"\x89PNG")
    write(tmp_path, "page.html", "<p>x</p>")
    write(tmp_path, ".hidden.md", post("title: t"))
    write(tmp_path, ".git/x.md", post("title: t"))
    write(tmp_path, "_drafts/.secret/x.md", post("title: t"))
    (tmp_path / "folder.md").mkdir()
    posts, errors = walk(tmp_path)
    assert posts == [
        "a.markdown", "b.md", "bom.txt", "c.txt", "m/deep/er/x.md", "z/1.MD", "z/2.md",
    ]
    assert errors == []


@pytest.mark.parametrize("follow_outside", [False, True])
def test_walk_follows_symlinked_folders_and_reports_loops(
    tmp_path: Path, follow_outside: bool
) -> None:
    outside = tmp_path / "outside"
    write(outside, "o.md", post("title: o"))
    root = tmp_path / "posts"
    write(root, "a/x.md", post("title: x"))
    (root / "ext").symlink_to(outside)
    (root / "loop").symlink_to(".")
    (root / "a" / "up").symlink_to("..")
    (root / "again").symlink_to("a")
    (root / "self.md").symlink_to("self.md")
    (root / "gone.md").symlink_to("nowhere.md")
    posts, errors = walk(root, follow_outside=follow_outside)
    loops = [
        "ROOT/a/up: symlink loop",
        "ROOT/again: same folder as ROOT/a, already walked",
        "ROOT/gone.md: broken symlink",
        "ROOT/loop: symlink loop",
        "ROOT/self.md: symlink loop",
    ]
    if follow_outside:
        assert (posts, errors) == (["a/x.md", "ext/o.md"], loops)
    else:
        outside_error = "ROOT/ext: links outside the posts folder; set follow_outside to allow"
        assert (posts, errors) == (["a/x.md"], loops[:2] + [outside_error] + loops[2:])


def test_walk_without_on_error_ignores_bad_entries(tmp_path: Path) -> None:
    write(tmp_path, "x.md", post("title: x"))
    (tmp_path / "loop").symlink_to(".")
    assert list(walk_posts(tmp_path)) == [tmp_path / "x.md"]


def test_walk_root_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot read folder: no such file"):
        list(walk_posts(tmp_path / "missing"))
    file = write(tmp_path, "x.md", post("title: x"))
    with pytest.raises(DocumentError, match="x.md: not a folder$"):
        list(walk_posts(file))


def test_walk_and_load_a_tree_of_every_bad_case(tmp_path: Path) -> None:
    root = tmp_path / "posts"
    write(root, "good/1.md", post("title: 一", "<p>正文一</p>"))
    write(root, "good/2.markdown", "# 二\n\n正文二")
    write(root, "good/3.txt", post("title: 三"))
    write(root, "good/gbk.md", post("title: 四").encode("gb18030"))
    write(root, "good/nodate.md", post("title: 五\ndate: yesterday"))
    write(root, "bad/empty.md", b"")
    write(root, "bad/binary.md", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(root, "bad/yaml.md", post("title: [unclosed"))
    write(root, "bad/list.md", post("- a"))
    write(root, "bad/junk.md", b"\x80abc\xff")
    with open(root / "bad" / "huge.md", "wb") as file:
        file.truncate(20 * MB)
    (root / "bad" / "self.md").symlink_to("self.md")
    (root / "bad" / "folder.md").mkdir()
    (root / "loop").symlink_to(".")
    write(root, "notes.txt", "no front matter")

    errors: list[DocumentError] = []
    docs = []
    for path in walk_posts(root, on_error=errors.append):
        try:
            docs.append(load_post(path, root))
        except DocumentError as err:
            errors.append(err)
    assert [d.title for d in docs] == ["一", "二", "三", "四", "五"]
    assert [len(d.warnings) for d in docs] == [0, 0, 0, 1, 1]
    reasons = {Path(e.path).name: e.reason for e in errors}
    assert reasons == {
        "binary.md": "binary file, not a post",
        "empty.md": "empty file",
        "huge.md": "20.0 MB, larger than the 10 MB limit (max_post_bytes)",
        "junk.md": "cannot decode: neither UTF-8 nor GB18030",
        "list.md": "front matter is not a mapping (got list)",
        "self.md": "symlink loop",
        "yaml.md": "malformed front matter: did not find expected ',' or ']', line 4",
        "loop": "symlink loop",
    }


# --- unreadable files and folders: as an unprivileged user --------------------

# Root reads files whatever their mode, so a root run drops to ``nobody`` first,
# after the imports and one warm-up parse (the interpreter may live where
# ``nobody`` cannot go, such as /root/.pyenv). The files are then opened for real.
UNPRIVILEGED_SCRIPT = """
import json, os, sys
from pathlib import Path
from searchengine.documents import load_post, parse_post, walk_posts
from searchengine.errors import DocumentError

warm_up = "---\\ntitle: 标题\\ndate: 2021-10-21\\n---\\n# 正文\\n".encode("gb18030")
parse_post(warm_up, Path("warm-up.md"))
if len(sys.argv) > 2:
    uid, gid = int(sys.argv[2]), int(sys.argv[3])
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)

base = Path(sys.argv[1])
result = {}
for name in ("secret.md", "huge-secret.md"):
    try:
        load_post(base / name)
    except DocumentError as err:
        result[name] = str(err)
errors = []
result["walk"] = [str(p) for p in walk_posts(base / "tree", on_error=errors.append)]
result["errors"] = [str(e) for e in errors]
print(json.dumps(result))
"""


@pytest.fixture
def unprivileged() -> Iterator[tuple[list[str], Path]]:
    """A scratch folder ``nobody`` can enter, and the command that checks it unprivileged.

    pytest's tmp_path lies under a folder private to root, hence the system temp dir.
    """
    drop_to: list[str] = []
    if os.geteuid() == 0:
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("running as root and there is no 'nobody' user to drop to")
        drop_to = [str(nobody.pw_uid), str(nobody.pw_gid)]
    base = Path(tempfile.mkdtemp(prefix="searchengine-perm-"))
    base.chmod(0o755)
    yield [sys.executable, "-c", UNPRIVILEGED_SCRIPT, str(base), *drop_to], base
    for folder, dirs, _ in os.walk(base):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
    shutil.rmtree(base)


def test_unreadable_file_and_folder(unprivileged: tuple[list[str], Path]) -> None:
    command, base = unprivileged
    secret = write(base, "secret.md", post("title: 机密"))
    huge = base / "huge-secret.md"
    with open(huge, "wb") as file:
        file.truncate(20 * MB)
    write(base, "tree/a.md", post("title: a"))
    write(base, "tree/locked/b.md", post("title: b"))
    write(base, "tree/z.md", post("title: z"))
    write(base, "tree/locked.txt", post("title: ?"))
    for path in (base / "tree", base / "tree" / "locked"):
        path.chmod(0o755)
    for path in (secret, huge, base / "tree" / "locked" / "b.md", base / "tree" / "locked.txt"):
        path.chmod(0o644)
    secret.chmod(0o000)
    huge.chmod(0o000)
    (base / "tree" / "locked.txt").chmod(0o000)
    (base / "tree" / "locked").chmod(0o000)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd="/", env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["secret.md"] == f"{secret}: cannot read: permission denied"
    # The size is checked before the file is opened: no permission is needed to refuse it.
    too_big = "20.0 MB, larger than the 10 MB limit (max_post_bytes)"
    assert result["huge-secret.md"] == f"{huge}: {too_big}"
    tree = base / "tree"
    assert result["walk"] == [str(tree / "a.md"), str(tree / "z.md")]
    assert result["errors"] == [
        f"{tree / 'locked'}: cannot read folder: permission denied",
        f"{tree / 'locked.txt'}: cannot read: permission denied",
    ]


# --- the real corpus ----------------------------------------------------------


@pytest.mark.corpus
def test_corpus_2019_loads_without_errors_and_titles_match_frontmatter(corpus_2019: Path) -> None:
    errors: list[DocumentError] = []
    count = 0
    mismatches = []
    for path in walk_posts(corpus_2019, on_error=errors.append):
        try:
            doc = load_post(path, corpus_2019)
        except DocumentError as err:
            errors.append(err)
            continue
        count += 1
        expected = str(frontmatter.load(path).get("title", "")).strip()
        if doc.title != expected or not doc.body or doc.date is None or doc.warnings:
            mismatches.append((doc.id, doc.title, expected))
    assert [str(e) for e in errors] == []
    assert mismatches == []
    assert count > 5800
