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
  a folder or a device (a FIFO would block) → DocumentError, never opened;
  a file that grew between stat and read → "changed while being read";
* not UTF-8 → decoded as GB18030, the encoding older Chinese archives use, with
  the warning "not UTF-8; decoded as GB18030": the post is still worth finding.
  UTF-8 with or without BOM and UTF-16 with BOM are read without a warning;
  bytes that are none of these → DocumentError;
* malformed YAML → DocumentError "malformed front matter: PROBLEM, line N" (N is
  the line in the file); front matter that is not a mapping (a list, a string)
  → DocumentError; a value PyYAML cannot build for its explicit tag
  (``!!int abc``) → DocumentError; an opening ``---`` never closed →
  DocumentError, since indexing the YAML as body text would put garbage in
  every search;
* no front matter at all → still a post (python-frontmatter's rule), with the
  title taken from the body's first heading or the file name; no warning;
* an invalid ``date`` (``2021-13-45``, ``yesterday``) → the post is indexed
  without a date and ``Document.warnings`` says "invalid date 'VALUE': REASON;
  indexed without a date": losing a post over its date would be worse.
  YAML would abort the whole front matter on ``2021-13-45`` (it looks like a
  timestamp), so our loader keeps such a value as a string;
* anything else a library raises while parsing → DocumentError "cannot parse:
  TYPE: message", so that one post can never stop a build (none is known: a
  fuzz run of 100,000 mutated posts raised nothing else).

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
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from pathlib import Path

import yaml
from frontmatter.default_handlers import SafeLoader, YAMLHandler

from searchengine.bodytext import convert_body
from searchengine.dates import load_zone, parse_date
from searchengine.errors import DocumentError, ParameterError, SearchEngineError

__all__ = [
    "DEFAULT_TIMEZONE",
    "MAX_POST_BYTES",
    "POST_SUFFIXES",
    "Document",
    "hash_bytes",
    "load_post",
    "parse_post",
    "read_post_bytes",
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


class _FrontMatterLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """python-frontmatter's safe loader, but an impossible timestamp stays a string.

    PyYAML raises a bare ValueError for ``date: 2021-13-45`` and loses every
    other field; kept as text it becomes an "invalid date" warning instead.
    """


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
    try:
        return _parse(data, doc_id, source, path.stem, timezone, max_bytes)
    except SearchEngineError:
        raise
    except Exception as err:  # a library's surprise must not stop a whole build
        reason = f"cannot parse: {type(err).__name__}: {_one_line(str(err))}"
        raise DocumentError(source, reason) from err


def walk_posts(
    root: Path, *, on_error: Callable[[DocumentError], None] | None = None
) -> Iterator[Path]:
    """Yield the post files under ``root`` in sorted order (by name, folder by folder).

    Posts are ``.md`` and ``.markdown`` files, and ``.txt`` files that open
    with front matter (other ``.txt`` files are notes, skipped silently).
    Hidden files and folders are skipped. Symlinked folders are followed; a
    folder already open (a loop) or already walked is reported instead of
    walked again, as are unreadable folders, broken symlinks and symlink
    loops. Each problem goes to ``on_error`` (ignored when it is None) and the
    walk goes on.

    :raises DocumentError: ``root`` itself is missing or not a folder.
    """
    report = on_error or _ignore
    root = Path(root)
    try:
        info = root.stat()
    except OSError as err:
        raise DocumentError(root, _os_reason(err, root, "cannot read folder")) from None
    if not stat.S_ISDIR(info.st_mode):
        raise DocumentError(root, "not a folder")
    yield from _Walk(report).posts(root, (info.st_dev, info.st_ino))


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
    source = os.path.abspath(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise DocumentError(source, "a folder, not a post")
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(source, "not a regular file")
        if info.st_size > max_bytes:
            raise DocumentError(source, _too_big(info.st_size, max_bytes))
        with open(path, "rb") as file:
            data = file.read(info.st_size + 1)  # sized by stat: no 10 MB buffer per post
    except OSError as err:
        raise DocumentError(source, _os_reason(err, path)) from None
    if len(data) > info.st_size:
        raise DocumentError(source, "changed while being read; read it again")
    return data, info


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
    date, date_warnings = _date(meta.get("date"), timezone, source)
    return Document(
        id=doc_id,
        title=_text(meta.get("title")) or body.heading or stem,
        body=body.text,
        html=body.html,
        categories=_terms(meta.get("categories")),
        tags=_terms(meta.get("tags")),
        author=_author(meta.get("author")),
        date=date,
        images=tuple(dict.fromkeys(_front_matter_images(meta) + list(body.images))),
        source=source,
        content_hash=hash_bytes(data),
        warnings=warnings + date_warnings,
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
    closing = _BOUNDARY.search(stripped, opening.end())
    if closing is None:
        raise DocumentError(source, "front matter never closed: no '---' line after the first")
    start = len(text) - len(text.lstrip()) + opening.end()
    first_line = text.count("\n", 0, start) + 1  # the file line where the YAML text begins
    meta = _load_yaml(stripped[opening.end() : closing.start()], first_line, source)
    return meta, _without_leading_blank_lines(stripped[closing.end() :])


def _without_leading_blank_lines(text: str) -> str:
    content = len(text) - len(text.lstrip())
    return text[text.rfind("\n", 0, content) + 1 :]


def _load_yaml(front_matter: str, first_line: int, source: str) -> dict[object, object]:
    """Load the YAML of the front matter; it must be a mapping (or empty)."""
    try:
        meta = yaml.load(front_matter, Loader=_FrontMatterLoader)
    except yaml.YAMLError as err:
        problem = _yaml_problem(err, front_matter, first_line)
        raise DocumentError(source, f"malformed front matter: {problem}") from None
    except (ValueError, LookupError) as err:  # PyYAML's constructors on "!!int abc", "!!bool x"
        detail = f"{type(err).__name__}: {_one_line(str(err))}"
        reason = f"malformed front matter: a value does not fit its !!tag ({detail})"
        raise DocumentError(source, reason) from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise DocumentError(source, f"front matter is not a mapping (got {type(meta).__name__})")
    return meta


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
    """The post date, or None and a warning line when the value is not a date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ()
    try:
        return parse_date(value, timezone), ()
    except ValueError as err:
        shown = _one_line(str(value))
        reason = _one_line(str(err))
        return None, (f"{source}: invalid date '{shown}': {reason}; indexed without a date",)


# --- walking ------------------------------------------------------------------

_FolderKey = tuple[int, int]  # (st_dev, st_ino): the same folder reached by two paths
_Frame = tuple[Path, _FolderKey, Iterator[os.DirEntry[str]]]  # a folder and its entries left


def _ignore(error: DocumentError) -> None:
    """The default ``on_error``: the caller asked not to hear about bad entries."""


class _Walk:
    """A depth-first walk with an explicit stack, so depth never hits the recursion limit."""

    def __init__(self, report: Callable[[DocumentError], None]) -> None:
        self.report = report
        self.walked: dict[_FolderKey, Path] = {}  # each folder walked -> its first path
        self.open: set[_FolderKey] = set()  # folders whose walk is in progress

    def posts(self, root: Path, key: _FolderKey) -> Iterator[Path]:
        """Yield the posts under ``root``, whose (device, inode) is ``key``."""
        frames = [self._open(root, key)]
        while frames:
            folder, folder_key, entries = frames[-1]
            entry = next(entries, None)
            if entry is None:
                frames.pop()
                self.open.discard(folder_key)
                continue
            path = folder / entry.name
            try:
                is_post = self._visit(entry, path, frames)
            except OSError as err:
                self.report(DocumentError(path, _os_reason(err, path)))
                continue
            if is_post:
                yield path

    def _visit(self, entry: os.DirEntry[str], path: Path, frames: list[_Frame]) -> bool:
        """Whether ``entry`` is a post; a new folder is pushed on ``frames`` instead."""
        if entry.is_dir():
            key = self._new_folder(entry, path)
            if key is not None:
                frames.append(self._open(path, key))
            return False
        if entry.is_file():
            return _is_post_file(entry)
        if entry.is_symlink():
            os.stat(entry.path)  # raises for a loop or a broken link; else it is a device
        return False

    def _open(self, folder: Path, key: _FolderKey) -> _Frame:
        """Start walking ``folder``: its visible entries sorted by name."""
        self.walked[key] = folder
        self.open.add(key)
        try:
            with os.scandir(folder) as scan:
                visible = (e for e in scan if not e.name.startswith("."))
                entries = sorted(visible, key=attrgetter("name"))
        except OSError as err:
            self.report(DocumentError(folder, _os_reason(err, folder, "cannot read folder")))
            entries = []
        return folder, key, iter(entries)

    def _new_folder(self, entry: os.DirEntry[str], path: Path) -> _FolderKey | None:
        """The (device, inode) of a folder to walk, or None after reporting a loop or repeat."""
        info = entry.stat()
        key = (info.st_dev, info.st_ino)
        if key in self.open:
            self.report(DocumentError(path, "symlink loop"))
        elif key in self.walked:
            self.report(DocumentError(path, f"same folder as {self.walked[key]}, already walked"))
        else:
            return key
        return None


def _is_post_file(entry: os.DirEntry[str]) -> bool:
    """A post suffix, and for ``.txt`` an opening front-matter line."""
    suffix = os.path.splitext(entry.name)[1].lower()
    if suffix not in POST_SUFFIXES:
        return False
    return suffix != ".txt" or _opens_with_front_matter(entry.path)


def _opens_with_front_matter(path: str) -> bool:
    """Whether the file, after a BOM and blank lines, starts with a ``---`` line."""
    with open(path, "rb") as file:
        head = file.read(_HEAD_BYTES)
    encoding = "utf-16" if head[:2] in _UTF16_BOMS else "utf-8-sig"
    return _BOUNDARY.match(head.decode(encoding, errors="replace").strip()) is not None
