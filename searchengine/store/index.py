"""An index folder: opening it, checking it, locking it and committing to it.

What a folder holds:

* whoosh's files: a table of contents per generation (``_MAIN_<n>.toc``,
  which pickles the schema and the segment list) and the segment files
  (``MAIN_<id>.*``);
* beside each table of contents, our manifest ``_MAIN_<n>.json`` (see
  :mod:`searchengine.store.manifest`): the on-disk format version, the
  analysis settings as data, and each file's checksum, verified when the
  generation is opened. It is written before the table of contents, and only
  a generation with a manifest counts as an index, so a build killed before
  its first commit leaves no index that looks valid;
* ``MAIN_WRITELOCK``, the ``flock`` a build holds.

Nothing of ours is pickled into the table of contents (the schema and the
segments name only whoosh's classes), so renaming our classes cannot
invalidate an index; :data:`FORMAT` changes only when the layout does, and
an index of another format is refused with the advice to rebuild.

A build writes through :meth:`IndexFolder.writer`, a context manager that
holds the lock, removes what no committed generation references (files left
by killed or failed builds), and on leaving either commits one new
generation in one rename of its table of contents or, on an exception,
removes what it wrote.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, clean_files
from whoosh.reading import TermNotFound
from whoosh.writing import CLEAR, MERGE_SMALL, SegmentWriter

from searchengine.analysis import AnalysisSettings
from searchengine.documents import holds_posts
from searchengine.errors import (
    IncompatibleIndexError,
    IndexDamagedError,
    IndexLockedError,
    IndexMissingError,
    ParameterError,
    SearchEngineError,
)
from searchengine.store import mapped  # noqa: F401  (whoosh reads segment files in place)
from searchengine.store.fields import PATH, STATE
from searchengine.store.manifest import FORMAT, Manifest, digest, read_manifest, verify_files, write_manifest
from searchengine.store.schema import PostState, build_schema, schema_signature
from searchengine.store.segments import SearchCodec, SegmentBuilder, column_values
from searchengine.store.view import IndexView

__all__ = ["FORMAT", "IndexFolder", "IndexWriter", "SegmentSink"]

INDEX_NAME = "MAIN"
LOCK_NAME = f"{INDEX_NAME}_WRITELOCK"
_MANIFEST = re.compile(rf"^_{INDEX_NAME}_(\d+)\.json$")
_TEMPORARY_TOC = re.compile(rf"^_{INDEX_NAME}_\d+\.toc\..+$")
_TEMPORARY_FOLDER = f"{INDEX_NAME}.tmp"  # whoosh's scratch space (columns being written)
_TEMPORARY_MANIFEST = re.compile(rf"^_{INDEX_NAME}_\d+\.json\.tmp$")
_REBUILD = "rebuild it with `searchengine index POSTS_DIR --rebuild`"


class IndexFolder:
    """The index at ``path``: what exists there, and the ways in and out."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._storage = FileStorage(str(self.path))

    def latest_generation(self) -> int:
        """The newest generation's number (-1 when there is none); one folder listing."""
        return int(TOC._latest_generation(self._storage, INDEX_NAME))

    def size_bytes(self) -> int:
        """The size of the folder's files (files that vanish meanwhile count nothing)."""
        total = 0
        for name in self._storage.list():
            try:
                total += (self.path / name).stat().st_size
            except OSError:
                continue
        return total

    # --- reading ------------------------------------------------------------

    def settings(self) -> AnalysisSettings:
        """The analysis settings of the newest generation, checked usable by this code."""
        _, manifest = self._open()
        return manifest.settings

    def open_view(self, timezone: str) -> IndexView:
        """A view of the newest generation, for searching.

        Raises :class:`IndexMissingError`, :class:`IncompatibleIndexError`, or
        FileNotFoundError when a build replaced the generation while it was
        being opened (the caller retries).
        """
        return self._view(*self._open(), timezone)

    def _view(self, toc: TOC, manifest: Manifest, timezone: str) -> IndexView:
        reader = FileIndex._reader(self._storage, toc.schema, toc.segments, toc.generation)
        return IndexView(reader, toc.generation, manifest.settings, timezone, self.latest_generation)

    def _open(self) -> tuple[TOC, Manifest]:
        """The newest generation's table of contents and manifest, checked usable by this code."""
        generation = self.latest_generation()
        if generation < 0:
            raise self._missing()
        manifest = self._manifest(generation)
        if manifest is None:
            return self._unmanifested(generation)
        toc = self._read_toc(generation)  # FileNotFoundError when a commit replaced it meanwhile: retry
        if schema_signature(toc.schema) != schema_signature(build_schema()):
            raise self._other_version()
        listed = tuple(segment.segment_id() for segment in toc.segments)
        if listed != manifest.segments:
            raise self._damaged(f"{_toc_name(generation)} does not list the segments its manifest does")
        problems = verify_files(self.path, manifest.files)
        if problems:
            if self.latest_generation() != generation:
                raise FileNotFoundError(f"generation {generation} was replaced")  # its files went with it: retry
            more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
            raise self._damaged("; ".join(problems[:3]) + more)
        settings = manifest.settings
        problems = settings.differences(AnalysisSettings(user_dict=settings.user_dict))
        if problems:
            raise self._other_settings(problems)
        return toc, manifest

    def _unmanifested(self, generation: int) -> Any:
        """Why a generation without a manifest is no usable index (it always raises)."""
        if generation == 0:  # made by a first build that never committed
            raise self._missing()
        if self.latest_generation() != generation:
            raise FileNotFoundError(f"generation {generation} was replaced")  # a commit meanwhile: retry
        self._read_toc(generation)  # damaged, or readable and of another version
        raise self._other_version()

    def _missing(self) -> IndexMissingError:
        if holds_posts(self.path):  # not "build one here": the advice would mix an index into the posts
            return IndexMissingError(
                f"no index at {self.path}: it holds posts, not an index; give the folder their index was built "
                f"into (`searchengine index {self.path} --index INDEX_DIR` builds one)"
            )
        return IndexMissingError(
            f"no index at {self.path}: build one with `searchengine index POSTS_DIR --index {self.path}`"
        )

    def _damaged(self, reason: str) -> IndexDamagedError:
        repair = f"searchengine index POSTS_DIR --index {self.path} --rebuild"
        return IndexDamagedError(f"index at {self.path} is damaged ({reason}): run `{repair}`")

    def _other_version(self) -> IncompatibleIndexError:
        return IncompatibleIndexError(f"index {self.path}: was built by another version of searchengine; {_REBUILD}")

    def _other_settings(self, problems: list[str]) -> IncompatibleIndexError:
        return IncompatibleIndexError(
            f"index {self.path}: built with other analysis settings ({'; '.join(problems)}); {_REBUILD}"
        )

    def _read_toc(self, generation: int) -> TOC:
        try:
            return _read_toc(self.path, generation)
        except FileNotFoundError:
            raise  # a generation replaced while opening it: the caller retries
        except Exception as exc:  # whoosh raises many kinds for a broken table of contents
            raise self._damaged(f"{_toc_name(generation)} cannot be read ({type(exc).__name__})") from None

    def _manifest(self, generation: int) -> Manifest | None:
        try:
            return read_manifest(self.path, INDEX_NAME, generation)
        except ValueError as exc:
            raise self._damaged(str(exc)) from None

    def check(self) -> list[str]:
        """Verify the whole index: every checksum, the table of contents, every stored post.

        Returns what is wrong (empty when nothing); raises only when there is no index.
        """
        try:
            toc, manifest = self._open()
        except (IndexDamagedError, IncompatibleIndexError) as exc:
            return [str(exc)]
        problems = verify_files(self.path, manifest.files, thorough=True)
        view = self._view(toc, manifest, "UTC")
        try:
            for docnum in range(view.size):
                view.stored(docnum)
        except Exception as exc:  # whatever a damaged stored-fields file raises
            problems.append(f"stored post {docnum} cannot be read ({type(exc).__name__}: {exc})")
        finally:
            view.close()
        return problems

    # --- writing ------------------------------------------------------------

    @contextmanager
    def writer(
        self, settings: AnalysisSettings, *, rebuild: bool = False, lock_timeout: float = 5.0
    ) -> Iterator[IndexWriter]:
        """Hold the lock and write one new generation, committed when the block ends.

        Without ``rebuild``, an existing index must have been built with
        ``settings`` (else :class:`IncompatibleIndexError`); with it, whatever
        the folder holds is replaced. An exception inside the block cancels:
        the last committed generation stays as it was. A folder that holds
        posts and no index is refused (:class:`ParameterError`), nothing
        written: it is a posts folder given for the index folder.
        """
        if self.latest_generation() < 0 and holds_posts(self.path):
            raise ParameterError(
                f"index folder {self.path}: holds posts, not an index; nothing was written. "
                "Give the index a folder of its own (new, empty or an index), outside the posts folder"
            )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SearchEngineError(f"index folder {self.path}: cannot create: {exc.strerror}") from None
        lock = self._lock(lock_timeout)
        try:
            writer = self._start(settings, rebuild)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        finally:
            lock.release()

    def _lock(self, timeout: float) -> Any:
        lock = self._storage.lock(LOCK_NAME)
        deadline = time.monotonic() + timeout
        while not self._try(lock):
            if time.monotonic() >= deadline:
                raise IndexLockedError(
                    f"index {self.path} is being written by another build "
                    f"(lock {self.path / LOCK_NAME}); try again when it has finished"
                )
            time.sleep(0.1)
        return lock

    def _try(self, lock: Any) -> bool:
        try:
            return bool(lock.acquire(blocking=False))
        except OSError as exc:  # a folder or an unreadable file where the lock file should be
            raise SearchEngineError(
                f"index {self.path}: cannot take the lock {self.path / LOCK_NAME} ({exc.strerror}); "
                "it must be a file this user can write"
            ) from None

    def _start(self, settings: AnalysisSettings, rebuild: bool) -> IndexWriter:
        manifest: Manifest | None = None
        try:
            _, manifest = self._open()
        except IndexMissingError:
            pass
        except (IncompatibleIndexError, IndexDamagedError):
            if not rebuild:
                raise  # unreadable: only a rebuild starts afresh
        else:
            problems = manifest.settings.differences(settings)
            if problems and not rebuild:
                raise self._other_settings(problems)
        if manifest is None:
            ix = self._storage.create_index(build_schema(), INDEX_NAME)
        else:
            ix = self._storage.open_index(INDEX_NAME)
        self.remove_leftovers()
        # The checksums of files carried over: a rebuild carries none over.
        previous = manifest.files if manifest is not None and not rebuild else None
        return IndexWriter(self, ix, settings, previous)

    def remove_leftovers(self) -> None:
        """Remove what no committed generation references: files of killed or failed builds.

        Only call it holding the lock. Searches of an older generation keep
        working: they hold its files open.
        """
        generation = self.latest_generation()
        try:
            segments = _read_toc(self.path).segments if generation >= 0 else []
        except Exception:  # an unreadable table of contents: the caller is rebuilding
            segments = []
        clean_files(self._storage, INDEX_NAME, generation, segments)
        shutil.rmtree(self.path / _TEMPORARY_FOLDER, ignore_errors=True)  # whoosh's scratch files
        for name in self._storage.list():
            manifest = _MANIFEST.match(name)
            stale = manifest and int(manifest.group(1)) != generation
            if stale or _TEMPORARY_TOC.match(name) or _TEMPORARY_MANIFEST.match(name):
                try:
                    self._storage.delete_file(name)
                except OSError:
                    continue

    def _digests(self, segments: list[Any], previous: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """Size and checksum of every file of ``segments`` (known ones taken from ``previous``)."""
        prefixes = tuple(f"{segment.segment_id()}." for segment in segments)
        names = [name for name in self._storage.list() if name.startswith(prefixes) and not name.endswith(".tmp")]
        return {name: previous.get(name) or digest(self.path / name) for name in names}


class _ClosingStorage(FileStorage):
    """A FileStorage that remembers the files it opens, so that they can be closed.

    whoosh's ``TOC.read`` leaves its file open when the table of contents
    is damaged and reading it fails.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.opened: list[Any] = []

    def open_file(self, name: str, **kwargs: Any) -> Any:
        stream = super().open_file(name, **kwargs)
        self.opened.append(stream)
        return stream


def _read_toc(folder: Path, generation: int | None = None) -> TOC:
    """A generation's table of contents (the newest by default); its file is closed however reading ends."""
    storage = _ClosingStorage(folder)
    try:
        return TOC.read(storage, INDEX_NAME, generation)
    finally:
        for stream in storage.opened:
            if not stream.is_closed:
                stream.close()


def _toc_name(generation: int) -> str:
    return f"_{INDEX_NAME}_{generation}.toc"


class IndexWriter:
    """One build's changes: new segments and deleted documents, committed together.

    Made by :meth:`IndexFolder.writer`. ``previous`` holds the checksums of
    the committed generation's files, None for a rebuild (which keeps none of
    them). ``posts`` maps each indexed post id to its document number and
    recorded state, encoded (see :class:`PostState`; empty for a rebuild),
    read whole on first use; :meth:`known` looks one up without reading them
    all. States stay encoded because an update decodes only the few that
    changed.
    """

    def __init__(
        self,
        folder: IndexFolder,
        ix: FileIndex,
        settings: AnalysisSettings,
        previous: dict[str, tuple[int, int]] | None,
    ) -> None:
        self.folder = folder
        self.settings = settings
        self.rebuild = previous is None
        self._previous = previous or {}
        self.documents = ix.doc_count()
        self.committed = False
        self._ix = ix
        self._segments: list[Any] = []
        self._deletions: set[int] = set()
        self._found: dict[str, tuple[int, bytes] | None] = {}

    @cached_property
    def posts(self) -> dict[str, tuple[int, bytes]]:
        return {} if self.rebuild else _indexed_posts(self._ix)

    def known(self, post_id: str) -> tuple[int, bytes] | None:
        """One post's document number and encoded state, None if it is not indexed.

        Before :attr:`posts` is read, the post is found by its path's posting
        list (see :meth:`look_up`): an update of a few named posts then costs
        the same in an index of any size.
        """
        if self.rebuild or "posts" in self.__dict__:
            return self.posts.get(post_id)
        if post_id not in self._found:
            self.look_up([post_id])
        return self._found[post_id]

    def look_up(self, post_ids: Iterable[str]) -> None:
        """Find these posts in the index in one pass, for :meth:`known` to answer."""
        wanted = [post_id for post_id in post_ids if post_id not in self._found]
        if wanted and not self.rebuild:
            self._found.update(_indexed_posts_named(self._ix, wanted))

    def add_segments(self, segments: list[Any]) -> None:
        self._segments.extend(segments)

    def delete(self, docnum: int) -> None:
        self._deletions.add(docnum)

    def commit(self) -> None:
        """Make the new segments and deletions visible in one table-of-contents write.

        Nothing to do when nothing changed (an update of an unchanged tree).
        """
        if not (self.rebuild or self._segments or self._deletions):
            return
        writer = SegmentWriter(self._ix, _lk=False, codec=SearchCodec())
        try:
            writer.schema = build_schema()
            for docnum in sorted(self._deletions):
                writer.delete_document(docnum)
            # Merging small segments goes through whoosh's own (slow, per
            # posting) path, so it is only worth it for the small segments of
            # incremental updates; whoosh's MERGE_SMALL decides which.
            final = writer._merge_segments(CLEAR if self.rebuild else MERGE_SMALL, False, True)
            if writer._added:
                final.append(writer._finalize_segment())
            else:
                writer._close_segment()
            segments = final + self._segments
            for segment in segments:
                segment._codec = W3Codec()  # pickled in the table of contents: whoosh's class, not ours
            manifest = Manifest(
                generation=writer.generation,
                settings=self.settings,
                segments=tuple(segment.segment_id() for segment in segments),
                files=self.folder._digests(segments, self._previous),
            )
            write_manifest(self.folder.path, INDEX_NAME, manifest)
            writer._commit_toc(segments)
        except BaseException:
            writer.cancel()
            raise
        writer._finish()
        self.folder.remove_leftovers()  # the replaced generation's manifest
        self.committed = True
        self.documents = sum(s.doc_count() for s in segments)

    def cancel(self) -> None:
        """Remove every file this build wrote; the committed generation is untouched."""
        self._segments.clear()
        self.folder.remove_leftovers()


def _indexed_posts(ix: FileIndex) -> dict[str, tuple[int, bytes]]:
    """Map each indexed post id to its document number and encoded state."""
    posts: dict[str, tuple[int, bytes]] = {}
    if ix.doc_count_all() == 0:
        return posts
    with ix.reader() as reader:
        # Segment by segment: the whole reader's per-document lookups (which
        # segment, is it deleted) cost more than decoding the states.
        for leaf, offset in reader.leaf_readers():
            states = column_values(leaf, STATE)
            for docnum in leaf.all_doc_ids():
                raw = states[docnum] if docnum < len(states) else b""
                if raw:
                    posts[PostState.path_of(raw)] = (docnum + offset, raw)
    return posts


def _indexed_posts_named(ix: FileIndex, post_ids: list[str]) -> dict[str, tuple[int, bytes] | None]:
    """The document number and encoded state of each named post, None for one not indexed."""
    found: dict[str, tuple[int, bytes] | None] = dict.fromkeys(post_ids)
    with ix.reader() as reader:
        column = reader.column_reader(STATE)
        for post_id in post_ids:
            try:
                live = list(reader.postings(PATH, post_id).all_ids())  # deleted documents are skipped
            except TermNotFound:
                continue
            if live:
                found[post_id] = (live[0], column[live[0]])
    return found


@dataclass
class SegmentSink:
    """Feeds analysed posts into new segments of at most ``limit`` documents (0: one segment).

    A segment holds its postings in at most ``memory`` bytes (0: no limit)
    and spills the rest to a scratch file (see :class:`SegmentBuilder`).
    Plain data until the first post arrives, so that a worker process can
    make its own from its parent's.
    """

    folder: str
    limit: int = 0
    memory: int = 0
    segments: list[Any] = field(default_factory=list)
    _builder: SegmentBuilder | None = None

    def add(self, fields: Any) -> None:
        """Add one post's :class:`~searchengine.store.schema.DocumentFields`."""
        if self._builder is None:
            self._builder = SegmentBuilder(
                FileStorage(self.folder), INDEX_NAME, build_schema(), SearchCodec(), memory=self.memory
            )
        self._builder.add(fields.stored, fields.positional, fields.keywords, fields.columns)
        if self.limit and self._builder.doc_count >= self.limit:
            self.segments.append(self._builder.finish())
            self._builder = None

    def abandon(self) -> None:
        """Close what a failed build left open; its files are removed by the writer's cancel."""
        if self._builder is not None:
            self._builder.abandon()
            self._builder = None

    def finish(self) -> list[Any]:
        if self._builder is not None:
            self.segments.append(self._builder.finish())
            self._builder = None
        return self.segments
