"""Hexo-style posts (YAML front matter + HTML or Markdown body) as Documents.

The indexer, the CLI and the web app see posts only through this module:
:func:`walk_posts` finds them, :func:`load_post` / :func:`parse_post` turn one
into a :class:`Document`. Only :class:`~searchengine.errors.DocumentError`
(one line: ``PATH: reason``) leaves these functions for a bad post, so a build
over 75,000 posts can report a bad one and go on; a bad *argument* (an unknown
``timezone``, a ``path`` outside ``root``) is a
:class:`~searchengine.errors.ParameterError`.

What a bad post gives, and why:

* empty file (0 bytes or only whitespace) → DocumentError "empty file";
* NUL bytes in the first 8 KB (a PNG renamed ``.md``) → "binary file, not a post";
* larger than ``max_bytes`` → DocumentError giving both sizes; :func:`load_post`
  checks the size with stat before reading, so a huge file is never read;
* unreadable file → "cannot read: permission denied" (or the OS's reason);
  a symlink that points at itself → "symlink loop"; a dangling one → "broken symlink";
  a folder → "a folder, not a post"; a FIFO, a device or a socket (or a symlink
  to one) → "not a regular file", never opened: opening a FIFO would block
  forever (files are opened non-blocking, so even one swapped in after the
  check cannot); a file that grew between stat and read → "changed while being read";
* a file (or folder) name that is not valid UTF-8 (a GBK name) or holds
  control characters (a newline) → DocumentError "file name is not valid
  UTF-8; rename it" / "file name contains control characters; rename it":
  such an id could not be stored, linked or served. Messages show such a
  name escaped (``\\xd0``, ``\\n``), so that each stays one printable line;
* not UTF-8 → decoded as GB18030, the encoding older Chinese archives use, with
  the warning "not UTF-8; decoded as GB18030": the post is still worth finding.
  UTF-8 with or without BOM and UTF-16 with BOM are read without a warning;
  bytes that are none of these → DocumentError;
* malformed YAML → DocumentError "malformed front matter: PROBLEM, line N" (N is
  the line in the file, counted from its top as an editor counts: blank lines
  and the opening ``---`` included); front matter that is not a mapping (a
  list, a string) → DocumentError; a value PyYAML cannot build for its
  explicit tag (``!!int abc``) → DocumentError, with its line too; an opening
  ``---`` never closed → DocumentError naming the opening's line, since
  indexing the YAML as body text would put garbage in every search;
* YAML aliases that repeat more than ``_MAX_ALIAS_GROWTH`` nodes and characters
  (a "billion laughs" bomb: 600 bytes that would expand to gigabytes in any
  field, known or not) → DocumentError "front matter refused: YAML aliases
  ..., line N", found on the parsed node graph before any value is built;
* a ``title``, ``author``, category, tag or image longer than
  ``_MAX_FIELD_CHARS`` characters → cut to that length, with the warning
  "FIELD longer than N characters; cut";
* no front matter at all → still a post (python-frontmatter's rule), with the
  title taken from the body's first heading or the file name; no warning;
* an invalid ``date`` (``2021-13-45``, ``yesterday``), or one outside
  1000-01-01 .. 9997-12-31 UTC (``0001-01-01``, ``9999-12-31T23:59:59-12:00``,
  which no later ``timestamp()`` or time-zone conversion could handle) → the
  post is indexed without a date and ``Document.warnings`` says "invalid date
  'VALUE': REASON; indexed without a date": losing a post over its date would
  be worse. YAML would abort the whole front matter on ``2021-13-45`` (it looks
  like a timestamp), so our loader keeps such a value as a string;
* Markdown nested deeper than markdown-it reads (20 levels of quotes and list
  items, such as ``"> " * 50000``) → indexed with what could be read and the
  warning "body nested more than 20 levels deep ...", instead of silently
  losing the deeper text;
* anything else a library raises while parsing → DocumentError "cannot parse:
  TYPE: message", so that one post can never stop a build (none is known: a
  fuzz run of 100,000 mutated posts raised nothing else).

The walk (:func:`walk_posts`) reports through ``on_error`` and skips: the bad
file names above; FIFOs, devices and sockets; unreadable folders, symlink loops,
broken symlinks and a folder reached twice; and, unless ``follow_outside`` is
set, a symlink (to a file or a folder) leading outside the posts folder: "links
outside the posts folder; set follow_outside to allow", so that a link to
``/etc/passwd`` is never indexed and served.

Field rules: ``title`` is the front-matter ``title`` as python-frontmatter reads
it (``str()``, stripped), else the first h1-h6 of the body, else the file name
stem. ``categories``/``tags`` accept a YAML list (nested lists flattened, as
Hexo allows) or a string split on ``,`` and ``，``; values are stripped,
de-duplicated in order, empty ones and nulls dropped. ``author`` is a string, a
list joined with "、", or "". ``images`` lists ``headimg``, ``thumbnail``,
``cover``, ``photos`` (string values only: ``cover: false`` is not an image),
then the body's ``<img src>``. A date keeps the offset it was written with; a
zone-less one is read in ``timezone`` (see :mod:`searchengine.dates`).
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import itertools
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import BinaryIO

import yaml
from frontmatter.default_handlers import SafeLoader, YAMLHandler
from markdown_it import MarkdownIt

from searchengine.bodytext import BodyText, convert_body, is_html
from searchengine.dates import load_zone, parse_date
from searchengine.errors import DocumentError, ParameterError, SearchEngineError

__all__ = [
    "DEFAULT_TIMEZONE",
    "MAX_POST_BYTES",
    "POST_SUFFIXES",
    "Document",
    "hash_bytes",
    "holds_posts",
    "load_post",
    "parse_post",
    "post_change",
    "read_post_bytes",
    "walk_post_paths",
    "walk_posts",
]

DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_POST_BYTES = 10 * 1024 * 1024
POST_SUFFIXES = (".md", ".markdown", ".txt")

_MB = 1024 * 1024
_BINARY_PROBE_BYTES = 8192
_HEAD_BYTES = 4096  # enough of a .txt file to see whether it opens with front matter
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# python-frontmatter's own delimiter, so that we split posts exactly as it does.
_BOUNDARY = YAMLHandler.FM_BOUNDARY
_IMAGE_KEYS = ("headimg", "thumbnail", "cover", "photos")
# libyaml reports a bad character by byte offset, PyYAML's pure-Python reader by character.
_READER_OFFSET_IN_BYTES = SafeLoader is getattr(yaml, "CSafeLoader", None)
# How many nodes and characters YAML aliases may add to a front matter, each alias
# counted as a copy of its anchor. A real post reuses a name or a short list a few
# times (tens to hundreds); a 600-byte "billion laughs" adds billions, which any
# str() or walk of the value would then build (gigabytes, minutes).
_MAX_ALIAS_GROWTH = 100_000
# Longest title, author, category, tag or front-matter image kept. Real titles are
# under 100 characters; a value of thousands is a mistake that would bloat the
# stored fields, every result page and the JSON, so it is cut (with a warning).
_MAX_FIELD_CHARS = 2_000
# How much of a bad value a warning quotes: enough to find it, one line always.
_QUOTED_CHARS = 80
# markdown-it, as bodytext configures it (CommonMark), does not read inside a
# blockquote or list item that opens at its maxNesting level, and drops that text
# without a word; a second parse of a Markdown body that may nest that deep finds
# the case, to warn of it (bodytext, which parses once, is where this belongs).
_MARKDOWN = MarkdownIt("commonmark")
_MARKDOWN_MAX_NESTING: int = _MARKDOWN.options["maxNesting"]
_MARKDOWN_CONTAINERS = frozenset(("blockquote_open", "list_item_open"))
# Characters a file name must not hold: C0 and C1 controls (newline, tab, ESC...).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class _FrontMatterLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """python-frontmatter's safe loader, but an impossible timestamp stays a string.

    PyYAML raises a bare ValueError for ``date: 2021-13-45`` and loses every
    other field; kept as text it becomes an "invalid date" warning instead.
    It also remembers the node it last began to build: PyYAML's constructors
    raise bare errors for ``!!int abc``, which that node's line then locates.
    """

    last_node: yaml.Node | None = None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        self.last_node = node
        return super().construct_object(node, deep)


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """A date or datetime when the scalar is a valid one, else its text.

    The pattern check first: PyYAML fails with AttributeError on ``!!timestamp x``.
    """
    text = loader.construct_scalar(node)
    if loader.timestamp_regexp.match(text):
        try:
            return loader.construct_yaml_timestamp(node)
        except ValueError:
            pass
    return text


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


@dataclass(frozen=True)
class Document:
    """One post, ready to index: text fields, metadata, and where it came from."""

    id: str  # path relative to the posts root, POSIX form ("guancha/2021/x.md")
    title: str
    body: str  # plain text, one paragraph per line, no markup
    html: str  # the body as HTML, unsanitized: the web app sanitizes it
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    author: str  # "" when missing
    date: datetime | None  # timezone-aware; None when missing or invalid
    images: tuple[str, ...]  # front-matter images, then <img src> of the body
    source: str  # absolute path of the file as read
    content_hash: str  # hash_bytes() of the raw file
    warnings: tuple[str, ...] = ()  # non-fatal problems, "PATH: reason" each


def hash_bytes(data: bytes) -> str:
    """Hex blake2b-128 of ``data``: lets the indexer spot a changed post without parsing it."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def load_post(
    path: Path,
    root: Path | None = None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    max_bytes: int = MAX_POST_BYTES,
) -> Document:
    """Read the post at ``path`` and parse it (see :func:`parse_post`).

    The size is checked with stat before reading, so a huge file costs nothing.

    :raises DocumentError: the post cannot be read or parsed.
    :raises ParameterError: ``timezone`` or ``max_bytes`` is invalid, or ``path`` is
        not under ``root``.
    """
    path = Path(path)
    _check_parameters(timezone, max_bytes)
    data, _ = read_post_bytes(path, max_bytes)
    return parse_post(data, path, root, timezone=timezone, max_bytes=max_bytes)


def parse_post(
    data: bytes,
    path: Path,
    root: Path | None = None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    max_bytes: int = MAX_POST_BYTES,
) -> Document:
    """Parse the raw bytes of a post read from ``path``.

    ``root`` is the posts folder: the id is ``path`` relative to it, or the
    file name when ``root`` is None. ``timezone`` is where zone-less dates are
    read. The module docstring lists what each kind of bad post gives.

    :raises DocumentError: the post is unusable; the message names the file.
    :raises ParameterError: ``timezone`` or ``max_bytes`` is invalid, or ``path`` is
        not under ``root``.
    """
    path = Path(path)
    _check_parameters(timezone, max_bytes)
    doc_id = _post_id(path, root)
    source = os.path.abspath(path)
    _check_name(doc_id, source, "file")
    try:
        return _parse(data, doc_id, source, path.stem, timezone, max_bytes)
    except SearchEngineError:
        raise
    except Exception as err:  # a library's surprise must not stop a whole build
        reason = f"cannot parse: {type(err).__name__}: {_one_line(str(err))}"
        raise DocumentError(source, reason) from err


def walk_posts(
    root: Path,
    *,
    on_error: Callable[[DocumentError], None] | None = None,
    follow_outside: bool = False,
    on_link: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Yield the post files under ``root`` in sorted order (by name, folder by folder).

    :func:`walk_post_paths` yields the same as strings.

    Posts are ``.md`` and ``.markdown`` files, and ``.txt`` files that open
    with front matter (other ``.txt`` files are notes, skipped silently).
    Hidden files and folders are skipped. Symlinks are followed; a folder
    already open (a loop) or already walked is reported instead of walked
    again, as are unreadable folders, broken symlinks, symlink loops, FIFOs,
    devices and sockets (never opened: a FIFO would block), and files or
    folders whose name is not valid UTF-8 or holds control characters (their
    posts could never be served). Each problem goes to ``on_error`` (ignored
    when it is None) and the walk goes on.

    ``follow_outside``: whether a symlink may lead outside ``root``. By default
    it may not, and such a link (to a file or a folder) is reported and
    skipped: whoever can write a link into the posts folder must not be able
    to publish ``/etc/passwd``. Links that stay inside ``root`` always work.
    ``on_link`` hears each symlink the walk follows (see :func:`post_change`).

    :raises DocumentError: ``root`` itself is missing or not a folder.
    """
    return map(Path, walk_post_paths(root, on_error=on_error, follow_outside=follow_outside, on_link=on_link))


def walk_post_paths(
    root: Path,
    *,
    on_error: Callable[[DocumentError], None] | None = None,
    follow_outside: bool = False,
    on_link: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """:func:`walk_posts` with paths as strings, as ``os.scandir`` gives them.

    An update of an unchanged million posts is mostly this walk, and making
    a ``Path`` of each post costs more than its system calls.
    """
    report = on_error or _ignore
    root = Path(root)
    try:
        info = root.stat()
    except OSError as err:
        reason = _os_reason(err, root, "cannot read folder")
        raise DocumentError(_printable(root), reason) from None
    if not stat.S_ISDIR(info.st_mode):
        raise DocumentError(_printable(root), "not a folder")
    inside = None if follow_outside else os.path.realpath(root)
    yield from _Walk(report, inside, on_link or _ignore).posts(str(root), (info.st_dev, info.st_ino))


def post_change(root: Path, path: Path | str) -> str:
    """What a changed ``path`` under ``root`` holds now, by :func:`walk_posts`' rules, without a walk.

    ``"post"``: a regular file the walk would yield. ``"none"``: nothing the
    walk would yield (the file is gone, hidden, or a ``.txt`` without front
    matter), so a post indexed under its name is to be removed. ``"walk"``:
    only a walk can tell (a folder, a symlink on the way, a path outside
    ``root``, a name without a post's suffix, a FIFO...).

    A walk yields a post once, under the first name it meets it by; a file
    reached through a symlink as well is therefore only told right by a walk
    of a tree without links (see ``on_link``).
    """
    relative = os.path.relpath(path, root)
    parts = relative.split(os.sep)
    if relative == os.curdir or parts[0] == os.pardir:
        return "walk"
    if any(part.startswith(".") for part in parts):
        return "none"
    suffix = _suffix(parts[-1])
    if suffix not in POST_SUFFIXES:
        return "walk"
    where = str(root)
    try:
        for folder in parts[:-1]:
            where = os.path.join(where, folder)
            if not stat.S_ISDIR(os.lstat(where).st_mode):
                return "walk"  # a link (or a file) where a folder should be
        where = os.path.join(where, parts[-1])
        info = os.lstat(where)
        if not stat.S_ISREG(info.st_mode):
            return "walk"
        if suffix == ".txt" and not _opens_with_front_matter(where):
            return "none"
    except FileNotFoundError:
        return "none"
    except OSError:
        return "walk"
    return "post"


def holds_posts(folder: Path | str) -> bool:
    """Whether a post lies anywhere under ``folder`` (a missing folder holds none).

    An index is no place for posts, nor a posts folder for an index: this
    tells a posts folder given where an index folder belongs. The walk stops
    at the first post.
    """
    try:
        return next(walk_posts(Path(folder)), None) is not None
    except DocumentError:
        return False


# --- reading ----------------------------------------------------------------


def _check_parameters(timezone: str, max_bytes: int) -> None:
    """Fail on a bad argument before any post is blamed for it."""
    load_zone(timezone)
    if max_bytes < 1:
        raise ParameterError(f"max_bytes: must be a positive number of bytes, got {max_bytes}")


def _post_id(path: Path, root: Path | None) -> str:
    """The id: ``path`` relative to ``root`` in POSIX form, or the file name."""
    if root is None:
        return path.name
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        raise ParameterError(f"root: {path} is not under {root}") from None


def read_post_bytes(path: Path, max_bytes: int = MAX_POST_BYTES) -> tuple[bytes, os.stat_result]:
    """The bytes of a post file and its stat, refusing folders, devices and oversized files unread.

    The indexer hashes these bytes to tell a changed post before parsing it,
    and keeps the stat (mtime, size) to skip unchanged posts next time.

    :raises DocumentError: the file cannot be read, or is too large.
    """
    source = _printable(os.path.abspath(path))
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise DocumentError(source, "a folder, not a post")
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(source, "not a regular file")
        if info.st_size > max_bytes:
            raise DocumentError(source, _too_big(info.st_size, max_bytes))
        with _open_regular(path, source) as file:
            data = file.read(info.st_size + 1)  # sized by stat: no 10 MB buffer per post
    except OSError as err:
        raise DocumentError(source, _os_reason(err, path)) from None
    if len(data) > info.st_size:
        raise DocumentError(source, "changed while being read; read it again")
    return data, info


def _open_regular(path: Path | str, shown: str) -> BinaryIO:
    """Open a file that a stat found regular, refusing anything else without blocking.

    Non-blocking, because a FIFO swapped in after the stat would block ``open``
    forever; the flag changes nothing for reading a regular file.

    :raises DocumentError: ``path`` is no longer a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise DocumentError(shown, "not a regular file")
    return os.fdopen(fd, "rb")


def _check_name(name: str, path: Path | str, kind: str) -> None:
    """Refuse a name no post id may have: the index stores ids as UTF-8 and URLs carry them.

    ``kind`` ("file", "folder") begins the reason.

    :raises DocumentError: ``name`` is not valid UTF-8 (the OS gave undecodable
        bytes as surrogates) or holds control characters.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        reason = f"{kind} name is not valid UTF-8; rename it"
        raise DocumentError(_printable(path), reason) from None
    if _CONTROL_CHARACTERS.search(name):
        reason = f"{kind} name contains control characters; rename it"
        raise DocumentError(_printable(path), reason)


def _printable(path: Path | str) -> str:
    """``path`` as one printable line: bytes that are not UTF-8 and control characters escaped.

    An error message must print and log whatever name it reports (a GBK file
    name, a newline in a name); ``repr`` escapes a control character as ``\\n``.
    """
    text = os.fsencode(path).decode("utf-8", errors="backslashreplace")
    return _CONTROL_CHARACTERS.sub(lambda match: repr(match[0])[1:-1], text)


def _os_reason(err: OSError, path: Path | str, action: str = "cannot read") -> str:
    """A short reason for an OS error, naming the two symlink failures plainly."""
    if err.errno == errno.ELOOP:
        return "symlink loop"
    if err.errno == errno.ENOENT and os.path.islink(path):
        return "broken symlink"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"{action}: permission denied"
    return f"{action}: {(err.strerror or str(err)).lower()}"


def _too_big(size: int, limit: int) -> str:
    if limit < _MB:
        return f"{size:,} bytes, larger than the {limit:,}-byte limit (max_post_bytes)"
    return f"{size / _MB:.1f} MB, larger than the {limit / _MB:g} MB limit (max_post_bytes)"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- parsing ----------------------------------------------------------------


def _parse(
    data: bytes, doc_id: str, source: str, stem: str, timezone: str, max_bytes: int
) -> Document:
    """The work of :func:`parse_post`, once its arguments are checked."""
    if len(data) > max_bytes:
        raise DocumentError(source, _too_big(len(data), max_bytes))
    text, warnings = _decode(data, source)
    if not text.strip():
        raise DocumentError(source, "empty file")
    meta, body_source = _split_front_matter(text, source)
    body = convert_body(body_source)
    body_warnings = _nesting_warnings(body_source, body, source)
    date, date_warnings = _date(meta.get("date"), timezone, source)
    fields = _Fields(source)  # its warnings are read last, once every field is fitted
    return Document(
        id=doc_id,
        title=fields.fit("title", _text(meta.get("title")) or body.heading or stem),
        body=body.text,
        html=body.html,
        categories=fields.fit_all("categories", _terms(meta.get("categories"))),
        tags=fields.fit_all("tags", _terms(meta.get("tags"))),
        author=fields.fit("author", _author(meta.get("author"))),
        date=date,
        images=tuple(
            dict.fromkeys(fields.fit_all("images", _front_matter_images(meta)) + body.images)
        ),
        source=source,
        content_hash=hash_bytes(data),
        warnings=warnings + body_warnings + date_warnings + fields.warnings(),
    )


def _nesting_warnings(body_source: str, body: BodyText, source: str) -> tuple[str, ...]:
    """A warning when Markdown nests deeper than markdown-it reads, losing text silently.

    Text is lost only inside ``_MARKDOWN_MAX_NESTING`` levels of quotes (one
    level each) and list items (two: the list and the item), so the rendered
    HTML then holds at least half as many ``<blockquote>`` and ``<li>`` tags;
    a body with fewer is not parsed a second time.
    """
    if is_html(body_source):
        return ()
    if body.html.count("<li") + body.html.count("<blockquote") < _MARKDOWN_MAX_NESTING // 2:
        return ()
    deepest = _MARKDOWN_MAX_NESTING - 1  # a container opening here has unread contents
    tokens = _MARKDOWN.parse(body_source)
    if not any(t.level >= deepest and t.type in _MARKDOWN_CONTAINERS for t in tokens):
        return ()
    return (
        f"{source}: body nested more than {_MARKDOWN_MAX_NESTING} levels deep (Markdown quotes "
        "and lists); the deeper text could not be read and is not indexed",
    )


def _decode(data: bytes, source: str) -> tuple[str, tuple[str, ...]]:
    """Text of the file, with newlines normalized, and a warning when it was not UTF-8."""
    if data[:2] in _UTF16_BOMS:
        return _decoded(data, "utf-16", source, "cannot decode: invalid UTF-16"), ()
    if b"\0" in data[:_BINARY_PROBE_BYTES]:
        raise DocumentError(source, "binary file, not a post")
    try:
        return _normalize_newlines(data.decode("utf-8-sig")), ()
    except UnicodeDecodeError:
        text = _decoded(data, "gb18030", source, "cannot decode: neither UTF-8 nor GB18030")
        return text, (f"{source}: not UTF-8; decoded as GB18030",)


def _decoded(data: bytes, encoding: str, source: str, reason: str) -> str:
    try:
        return _normalize_newlines(data.decode(encoding))
    except UnicodeDecodeError:
        raise DocumentError(source, reason) from None


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _split_front_matter(text: str, source: str) -> tuple[dict[object, object], str]:
    """Front matter as a mapping, and the body, split where python-frontmatter splits.

    The body keeps the indentation of its first line (it matters in Markdown);
    only blank lines before it and whitespace after it are dropped.
    """
    stripped = text.strip()
    opening = _BOUNDARY.match(stripped)
    if opening is None:
        return {}, _without_leading_blank_lines(text).rstrip()
    opening_line = text.count("\n", 0, len(text) - len(text.lstrip())) + 1  # the opening ---
    closing = _BOUNDARY.search(stripped, opening.end())
    if closing is None:
        reason = f"front matter never closed: no '---' line after the one on line {opening_line}"
        raise DocumentError(source, reason)
    first_line = opening_line + stripped.count("\n", 0, opening.end())  # the file line where the YAML text begins
    meta = _load_yaml(stripped[opening.end() : closing.start()], first_line, source)
    return meta, _without_leading_blank_lines(stripped[closing.end() :])


def _without_leading_blank_lines(text: str) -> str:
    content = len(text) - len(text.lstrip())
    return text[text.rfind("\n", 0, content) + 1 :]


def _load_yaml(front_matter: str, first_line: int, source: str) -> dict[object, object]:
    """Load the YAML of the front matter; it must be a mapping (or empty).

    Parsed and built in two steps (what ``yaml.load`` does in one), so that an
    alias bomb is refused between them, before its value exists.
    """
    loader = _FrontMatterLoader(front_matter)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_aliases(node, first_line, source)
        meta = loader.construct_document(node)
    except yaml.YAMLError as err:
        problem = _yaml_problem(err, front_matter, first_line)
        raise DocumentError(source, f"malformed front matter: {problem}") from None
    except (ValueError, LookupError) as err:  # PyYAML's constructors on "!!int abc", "!!bool x"
        detail = f"{type(err).__name__}: {_one_line(str(err))}"
        node = loader.last_node  # set: only building raises these
        where = f", line {first_line + node.start_mark.line}" if node is not None else ""
        reason = f"malformed front matter: a value does not fit its !!tag ({detail}){where}"
        raise DocumentError(source, reason) from None
    finally:
        loader.dispose()
    if not isinstance(meta, dict):
        raise DocumentError(source, f"front matter is not a mapping (got {type(meta).__name__})")
    return meta


def _check_aliases(root: yaml.Node, first_line: int, source: str) -> None:
    """Refuse a front matter whose aliases repeat more than ``_MAX_ALIAS_GROWTH``.

    :raises DocumentError: naming the file line where the growth passes the limit.
    """
    node = _alias_growth_past_limit(root)
    if node is not None:
        line = first_line + node.start_mark.line
        reason = (
            f"front matter refused: YAML aliases repeat more than {_MAX_ALIAS_GROWTH:,} "
            f"values and characters (an alias bomb?), line {line}"
        )
        raise DocumentError(source, reason)


@dataclass
class _Sizing:
    """A node being sized: its children still to see and its size so far."""

    node: yaml.Node
    children: Iterator[yaml.Node]
    size: int


def _alias_growth_past_limit(root: yaml.Node) -> yaml.Node | None:
    """The collection whose aliases take the growth past ``_MAX_ALIAS_GROWTH``, or None.

    A node's size is 1, plus its characters for a scalar, plus its children's
    sizes for a collection, every alias counted as a full copy of its anchor:
    what ``str()`` or any walk of the built value meets. The growth is what
    the aliases add. The parser makes one node per anchor, shared by its
    aliases, so the graph stays as small as the text and each size is computed
    once; an alias inside its own anchor (a loop) counts 1, as Python prints
    it ``[...]``. Depth-first with an explicit stack: no recursion limit.
    """
    seen = {root}
    sizes: dict[yaml.Node, int] = {}  # the seen nodes no longer on the stack
    growth = 0
    stack = [_sizing(root)]
    while stack:
        frame = stack[-1]
        child = next(frame.children, None)
        if child is None:
            stack.pop()
            sizes[frame.node] = frame.size
            if stack:
                stack[-1].size += frame.size
        elif child in seen:  # an alias; still on the stack when inside its own anchor
            repeated = sizes.get(child, 1)
            frame.size += repeated
            growth += repeated
            if growth > _MAX_ALIAS_GROWTH:
                return frame.node
        else:
            seen.add(child)
            stack.append(_sizing(child))
    return None


def _sizing(node: yaml.Node) -> _Sizing:
    """A node's frame: a scalar is sized already, a collection has children to add."""
    if isinstance(node, yaml.ScalarNode):
        return _Sizing(node, iter(()), 1 + len(node.value))
    children: Iterable[yaml.Node] = node.value
    if isinstance(node, yaml.MappingNode):
        children = itertools.chain.from_iterable(node.value)  # (key, value) pairs
    return _Sizing(node, iter(children), 1)


def _yaml_problem(err: yaml.YAMLError, front_matter: str, first_line: int) -> str:
    """PyYAML's problem and the file line it is on, in one line."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        problem = _one_line(err.problem or err.context or "invalid YAML")
        return f"{problem}, line {first_line + err.problem_mark.line}"
    if isinstance(err, yaml.reader.ReaderError):
        line = first_line + _text_before(front_matter, err.position).count("\n")
        return f"{str(err).splitlines()[0]}, line {line}"
    return _one_line(str(err))


def _text_before(text: str, position: int) -> str:
    """The text before a YAML reader error (libyaml gives a byte offset)."""
    if _READER_OFFSET_IN_BYTES:
        return text.encode()[:position].decode(errors="ignore")
    return text[:position]


# --- front-matter fields ------------------------------------------------------


class _Fields:
    """Cuts field values at ``_MAX_FIELD_CHARS``, remembering which fields it cut.

    A cut is a warning, not an error: the post is still worth finding.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.cut: dict[str, None] = {}  # an ordered set of field names

    def fit(self, field: str, value: str) -> str:
        """``value``, cut if too long."""
        if len(value) <= _MAX_FIELD_CHARS:
            return value
        self.cut[field] = None
        return value[:_MAX_FIELD_CHARS].rstrip()

    def fit_all(self, field: str, values: Iterable[str]) -> tuple[str, ...]:
        """Each of ``values`` cut if too long; unique still, since two may now be equal."""
        return tuple(dict.fromkeys(self.fit(field, value) for value in values))

    def warnings(self) -> tuple[str, ...]:
        """One warning line per field cut."""
        limit = f"{_MAX_FIELD_CHARS:,} characters"
        return tuple(f"{self.source}: {field} longer than {limit}; cut" for field in self.cut)


def _text(value: object) -> str:
    """A scalar as python-frontmatter users see it: ``str()``, stripped; None is ""."""
    return "" if value is None else str(value).strip()


def _terms(value: object) -> tuple[str, ...]:
    """Categories or tags: a (nested) list, or a string split on ``,`` and ``，``."""
    if isinstance(value, str):
        items: list[object] = list(value.replace("，", ",").split(","))
    elif isinstance(value, list):
        items = list(_flatten(value))
    else:
        items = [value]
    return tuple(dict.fromkeys(term for term in map(_text, items) if term))


def _author(value: object) -> str:
    if isinstance(value, list):
        return "、".join(name for name in map(_text, _flatten(value)) if name)
    return _text(value)


def _front_matter_images(meta: dict[object, object]) -> list[str]:
    images = []
    for key in _IMAGE_KEYS:
        value = meta.get(key)
        for item in _flatten(value) if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip():
                images.append(item.strip())
    return images


def _flatten(items: list[object]) -> Iterator[object]:
    """The non-null leaves of a nested list, in order.

    Each distinct list is expanded once, so a self-referencing YAML list
    (``&a [*a]``) or an alias bomb ends quickly; the repeats it skips would
    be removed as duplicates anyway.
    """
    expanded = {id(items)}
    stack = [iter(items)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                if id(item) not in expanded:
                    expanded.add(id(item))
                    stack.append(iter(item))
                    break
            elif item is not None:
                yield item
        else:
            stack.pop()


def _date(value: object, timezone: str, source: str) -> tuple[datetime | None, tuple[str, ...]]:
    """The post date, or None and a warning line when the value is not a (usable) date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ()
    try:
        return parse_date(value, timezone), ()
    except ValueError as err:
        shown = _quoted(value)
        reason = _one_line(str(err))
        return None, (f"{source}: invalid date '{shown}': {reason}; indexed without a date",)


def _quoted(value: object) -> str:
    """The start of a bad value, on one line, for a warning to show."""
    text = _one_line(str(value))
    return text if len(text) <= _QUOTED_CHARS else text[:_QUOTED_CHARS] + "…"


# --- walking ------------------------------------------------------------------

_FolderKey = tuple[int, int]  # (st_dev, st_ino): the same folder reached by two paths
_Frame = tuple[str, _FolderKey, Iterator[os.DirEntry[str]]]  # a folder and its entries left


def _ignore(_: object) -> None:
    """The default ``on_error`` and ``on_link``: the caller asked not to hear."""


class _Walk:
    """A depth-first walk with an explicit stack, so depth never hits the recursion limit."""

    def __init__(
        self, report: Callable[[DocumentError], None], inside: str | None, on_link: Callable[[str], None]
    ) -> None:
        self.report = report
        self.inside = inside  # the real path symlinks must stay in; None: anywhere
        self.on_link = on_link
        self.walked: dict[_FolderKey, str] = {}  # each folder walked -> its first path
        self.open: set[_FolderKey] = set()  # folders whose walk is in progress

    def posts(self, root: str, key: _FolderKey) -> Iterator[str]:
        """Yield the posts under ``root``, whose (device, inode) is ``key``.

        Paths are strings, from ``os.scandir``: an update of an unchanged
        million posts is mostly this walk, and pathlib's joins cost more than
        the system calls.
        """
        frames = [self._open(root, key)]
        while frames:
            folder, folder_key, entries = frames[-1]
            entry = next(entries, None)
            if entry is None:
                frames.pop()
                self.open.discard(folder_key)
                continue
            path = entry.path
            try:
                is_post = self._visit(entry, path, frames)
            except OSError as err:
                self.report(DocumentError(_printable(path), _os_reason(err, path)))
                continue
            except DocumentError as err:
                self.report(err)
                continue
            if is_post:
                yield path

    def _visit(self, entry: os.DirEntry[str], path: str, frames: list[_Frame]) -> bool:
        """Whether ``entry`` is a post; a new folder is pushed on ``frames`` instead.

        A file is opened (to look for front matter in a ``.txt``) only once
        known to be a regular file that may be followed.

        :raises DocumentError: the entry is to be reported and skipped.
        :raises OSError: the entry cannot be examined (a symlink loop, a broken link).
        """
        if entry.is_dir():
            self._check_link(entry, path)
            _check_name(entry.name, path, "folder")
            frames.append(self._open(path, self._new_folder(entry, path)))
            return False
        if not entry.is_file():
            os.stat(entry.path)  # raises for a loop or a broken link
            raise DocumentError(_printable(path), "not a regular file")
        suffix = _suffix(entry.name)
        if suffix not in POST_SUFFIXES:
            return False
        self._check_link(entry, path)
        if suffix == ".txt" and not _opens_with_front_matter(path):
            return False  # notes, not a post
        _check_name(entry.name, path, "file")
        return True

    def _check_link(self, entry: os.DirEntry[str], path: str) -> None:
        """Refuse a symlink that leads outside the posts folder, unless ``follow_outside``."""
        if not entry.is_symlink():
            return
        if self.inside is not None:
            target = os.path.realpath(entry.path)
            if os.path.commonpath((target, self.inside)) != self.inside:
                reason = "links outside the posts folder; set follow_outside to allow"
                raise DocumentError(_printable(path), reason)
        self.on_link(path)

    def _open(self, folder: str, key: _FolderKey) -> _Frame:
        """Start walking ``folder``: its visible entries sorted by name."""
        self.walked[key] = folder
        self.open.add(key)
        try:
            with os.scandir(folder) as scan:
                visible = (e for e in scan if not e.name.startswith("."))
                entries = sorted(visible, key=attrgetter("name"))
        except OSError as err:
            reason = _os_reason(err, folder, "cannot read folder")
            self.report(DocumentError(_printable(folder), reason))
            entries = []
        return folder, key, iter(entries)

    def _new_folder(self, entry: os.DirEntry[str], path: str) -> _FolderKey:
        """The (device, inode) of a folder to walk.

        :raises DocumentError: the folder is open (a symlink loop) or was walked already.
        """
        info = entry.stat()
        key = (info.st_dev, info.st_ino)
        if key in self.open:
            raise DocumentError(_printable(path), "symlink loop")
        if key in self.walked:
            already = _printable(self.walked[key])
            raise DocumentError(_printable(path), f"same folder as {already}, already walked")
        return key


def _suffix(name: str) -> str:
    """The lowercased suffix of a visible name (``""`` without one), quicker than ``os.path.splitext``.

    Hidden names (starting with a dot) are skipped before this is asked.
    """
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _opens_with_front_matter(path: Path | str) -> bool:
    """Whether the file, after a BOM and blank lines, starts with a ``---`` line."""
    with _open_regular(path, _printable(path)) as file:
        head = file.read(_HEAD_BYTES)
    encoding = "utf-16" if head[:2] in _UTF16_BOMS else "utf-8-sig"
    return _BOUNDARY.match(head.decode(encoding, errors="replace").strip()) is not None
