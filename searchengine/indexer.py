"""Build or update an index from a folder of posts.

The guarantees, and how they are kept:

* **Incremental.** Each post's path, content hash, mtime and size are kept
  in the index. A post whose mtime and size are unchanged is not read; one
  whose stat changed is read and hashed, and analysed only if its content
  changed. Posts gone from disk leave the index.
* **Atomic.** New postings go into new segment files; nothing becomes
  visible until one final write of whoosh's table of contents (a rename).
  A build that fails, or is killed with ``kill -9``, leaves the last
  committed index intact and searchable; the next build removes the
  leftovers and completes.
* **One writer at a time.** The build holds whoosh's write lock (an
  ``flock``, released by the kernel even if the process dies). A second
  build waits ``lock_timeout`` seconds, then stops with
  :class:`IndexLockedError` naming the lock file. Searches never take the
  lock and keep working during a build.
* **Nothing lost to one bad post.** A post that cannot be read is listed in
  the report with its reason, and the build goes on; if the post was indexed
  before and is now broken, its last good version stays searchable.
* **All cores.** Worker processes each read, parse, analyse and write their
  own segment; the parent only walks the folder and commits.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.writing import CLEAR, MERGE_SMALL, SegmentWriter

from searchengine import documents
from searchengine.analysis import AnalysisSettings, Analyzer, analyzer_for
from searchengine.dates import load_zone
from searchengine.errors import (
    DocumentError,
    IncompatibleIndexError,
    IndexLockedError,
    SearchEngineError,
)
from searchengine.schema import PostState, build_schema, document_fields, schema_signature, settings_of
from searchengine.segments import SearchCodec, SegmentBuilder

__all__ = ["BuildOptions", "BuildReport", "build_index", "INDEX_NAME", "open_index", "check_compatible"]

INDEX_NAME = "MAIN"
_LOCK_NAME = f"{INDEX_NAME}_WRITELOCK"
_BATCH = 64
# Below this many posts to analyse, forking workers costs more than it saves.
_PARALLEL_MIN = 200


@dataclass(frozen=True)
class BuildOptions:
    """How to build; every field is also a setting (see :mod:`searchengine.settings`)."""

    rebuild: bool = False
    workers: int = 0  # 0: one per core
    timezone: str = documents.DEFAULT_TIMEZONE
    max_post_bytes: int = documents.MAX_POST_BYTES
    lock_timeout: float = 5.0
    user_dict: Path | None = None
    segment_docs: int = 50_000

    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


@dataclass
class BuildReport:
    """What a build did; ``to_dict()`` is what ``searchengine index --json`` prints."""

    index_dir: str
    posts_dir: str
    posts: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    documents: int = 0
    seconds: float = 0.0
    committed: bool = False

    @property
    def status(self) -> str:
        """``ok``, ``partial`` (some posts failed) or ``failed`` (none could be read)."""
        if not self.failed:
            return "ok"
        return "failed" if self.failed and self.posts == len(self.failed) else "partial"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "index": self.index_dir,
            "posts_dir": self.posts_dir,
            "posts": self.posts,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "failed": len(self.failed),
            "errors": self.failed,
            "warnings": self.warnings,
            "documents": self.documents,
            "seconds": round(self.seconds, 3),
            "committed": self.committed,
        }


@dataclass(frozen=True)
class _Job:
    """One post to read: its id, where it is, and its last indexed hash (if any)."""

    post_id: str
    path: str
    old_hash: str | None


@dataclass(frozen=True)
class _Outcome:
    post_id: str
    kind: str  # "added" | "updated" | "unchanged" | "failed"
    message: str = ""
    warnings: tuple[str, ...] = ()


def open_index(index_dir: Path | str) -> FileIndex | None:
    """The whoosh index at ``index_dir``, or None when there is none."""
    storage = FileStorage(str(index_dir))
    if not Path(index_dir).is_dir() or not storage.index_exists(INDEX_NAME):
        return None
    try:
        return storage.open_index(INDEX_NAME)
    except FileNotFoundError:
        raise  # a generation replaced while opening it: the caller retries
    except Exception as exc:  # whoosh raises many kinds for a foreign or broken TOC
        raise IncompatibleIndexError(
            f"index {index_dir}: cannot be read by this version ({type(exc).__name__}: {exc}); "
            "rebuild it with `searchengine index POSTS_DIR --rebuild`"
        ) from None


def check_compatible(ix: FileIndex, index_dir: Path | str, settings: AnalysisSettings | None = None) -> AnalysisSettings:
    """Return the index's analysis settings, or raise if this code cannot use them.

    With ``settings`` (what a build is about to use), also refuse when they
    differ from the index's: mixing tokenizations would silently lose results.
    """
    try:
        indexed = settings_of(ix.schema)
    except (KeyError, AttributeError):
        indexed = None
    if indexed is None or schema_signature(ix.schema) != schema_signature(build_schema(indexed)):
        raise IncompatibleIndexError(
            f"index {index_dir}: was built by another version of searchengine; "
            "rebuild it with `searchengine index POSTS_DIR --rebuild`"
        )
    current = AnalysisSettings(user_dict=indexed.user_dict)
    problems = indexed.differences(current)
    if settings is not None:
        problems += [p for p in indexed.differences(settings) if p not in problems]
    if problems:
        raise IncompatibleIndexError(
            f"index {index_dir}: built with other analysis settings ({'; '.join(problems)}); "
            "rebuild it with `searchengine index POSTS_DIR --rebuild`"
        )
    return indexed


def build_index(
    posts_dir: Path | str,
    index_dir: Path | str,
    options: BuildOptions = BuildOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Bring the index at ``index_dir`` up to date with the posts under ``posts_dir``.

    ``progress(done, total)`` is called as posts are processed. Returns the
    report; raises :class:`SearchEngineError` only when nothing could be
    committed (missing folder, lock held, incompatible index, a crash).
    """
    started = time.monotonic()
    load_zone(options.timezone)  # a bad setting fails before any post is blamed for it
    posts_root = Path(posts_dir).resolve()
    if not posts_root.is_dir():
        raise SearchEngineError(f"posts folder {posts_dir}: does not exist or is not a folder")
    index_path = Path(index_dir)
    try:
        index_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SearchEngineError(f"index folder {index_dir}: cannot create: {exc.strerror}") from None
    settings = AnalysisSettings.from_dict_file(options.user_dict)
    report = BuildReport(index_dir=str(index_path), posts_dir=str(posts_root))
    storage = FileStorage(str(index_path))
    lock = _acquire_lock(storage, index_path, options.lock_timeout)
    try:
        ix = _open_for_build(storage, index_path, settings, options.rebuild)
        schema = build_schema(settings)
        manifest = {} if options.rebuild else _read_manifest(ix)
        jobs, deletions = _plan(posts_root, manifest, report)
        work = _Work(storage.folder, schema, settings, posts_root, options)
        outcomes, segments = _run_jobs(jobs, work, progress)
        for outcome in outcomes:
            _tally(report, outcome, manifest, deletions)
        if options.rebuild or segments or deletions:
            _commit(ix, schema, segments, deletions, options.rebuild)
            report.committed = True
        report.documents = storage.open_index(INDEX_NAME).doc_count()
    finally:
        lock.release()
    report.seconds = time.monotonic() - started
    return report


def _acquire_lock(storage: FileStorage, index_path: Path, timeout: float) -> Any:
    lock = storage.lock(_LOCK_NAME)
    deadline = time.monotonic() + timeout
    while not lock.acquire(blocking=False):
        if time.monotonic() >= deadline:
            raise IndexLockedError(
                f"index {index_path} is being written by another build "
                f"(lock {index_path / _LOCK_NAME}); try again when it has finished"
            )
        time.sleep(0.1)
    return lock


def _open_for_build(storage: FileStorage, index_path: Path, settings: AnalysisSettings, rebuild: bool) -> FileIndex:
    try:
        ix = open_index(index_path)
    except IncompatibleIndexError:
        if not rebuild:
            raise
        ix = None  # unreadable: nothing to keep, start afresh
    if ix is None:
        return storage.create_index(build_schema(settings), INDEX_NAME)
    if not rebuild:
        check_compatible(ix, index_path, settings)
    return ix


def _read_manifest(ix: FileIndex) -> dict[str, tuple[int, PostState]]:
    """Map each indexed post id to its document number and recorded state."""
    manifest: dict[str, tuple[int, PostState]] = {}
    if ix.doc_count_all() == 0:
        return manifest
    with ix.reader() as reader:
        column = reader.column_reader("state")
        for docnum in reader.all_doc_ids():
            raw = column[docnum]
            if raw:
                state = PostState.decode(raw)
                manifest[state.path] = (docnum, state)
    return manifest


def _plan(
    root: Path, manifest: dict[str, tuple[int, PostState]], report: BuildReport
) -> tuple[list[_Job], set[int]]:
    """Decide which posts to read and which indexed documents to delete."""
    jobs: list[_Job] = []
    seen: set[str] = set()
    for path in documents.walk_posts(root, on_error=lambda err: report.failed.append(str(err))):
        post_id = path.relative_to(root).as_posix()
        seen.add(post_id)
        report.posts += 1
        known = manifest.get(post_id)
        if known is not None:
            try:
                stat = path.stat()
            except OSError:
                stat = None
            state = known[1]
            if stat is not None and (stat.st_mtime_ns, stat.st_size) == (state.mtime_ns, state.size):
                report.unchanged += 1
                continue
        jobs.append(_Job(post_id, str(path), known[1].content_hash if known else None))
    removed = {docnum for post_id, (docnum, _) in manifest.items() if post_id not in seen}
    report.removed = len(removed)
    return jobs, removed


def _tally(
    report: BuildReport, outcome: _Outcome, manifest: dict[str, tuple[int, PostState]], deletions: set[int]
) -> None:
    report.warnings.extend(outcome.warnings)
    if outcome.kind == "failed":
        report.failed.append(outcome.message)
    elif outcome.kind == "unchanged":
        report.unchanged += 1
    elif outcome.kind == "updated":
        report.updated += 1
        deletions.add(manifest[outcome.post_id][0])
    else:
        report.added += 1


def _commit(ix: FileIndex, schema: Any, segments: list[Any], deletions: set[int], rebuild: bool) -> None:
    """Make the new segments and deletions visible in one TOC write."""
    writer = SegmentWriter(ix, _lk=False, codec=SearchCodec())
    try:
        writer.schema = schema
        for docnum in sorted(deletions):
            writer.delete_document(docnum)
        # Merging small segments goes through whoosh's own (slow, per
        # posting) path, so it is only worth it for the small segments of
        # incremental updates; whoosh's MERGE_SMALL decides which.
        final = writer._merge_segments(CLEAR if rebuild else MERGE_SMALL, False, True)
        if writer._added:
            final.append(writer._finalize_segment())
        else:
            writer._close_segment()
        writer._commit_toc(final + segments)
    except BaseException:
        writer.cancel()
        raise
    writer._finish()


# --- processing posts -------------------------------------------------------


@dataclass(frozen=True)
class _Work:
    """What processing a post needs; picklable, so a worker process gets it whole."""

    index_folder: str
    schema: Any
    settings: AnalysisSettings
    root: Path
    options: BuildOptions

    def sink(self) -> "_SegmentSink":
        return _SegmentSink(FileStorage(self.index_folder), self.schema, self.options.segment_docs)


def _process(job: _Job, work: _Work, analyzer: Analyzer) -> tuple[_Outcome, Any]:
    """Read, hash, parse and analyse one post; never raises for a bad post."""
    options = work.options
    try:
        data, stat = documents.read_post_bytes(Path(job.path), options.max_post_bytes)
        content_hash = documents.hash_bytes(data)
        if content_hash == job.old_hash:
            return _Outcome(job.post_id, "unchanged"), None
        doc = documents.parse_post(
            data, Path(job.path), work.root, timezone=options.timezone, max_bytes=options.max_post_bytes
        )
    except DocumentError as err:
        return _Outcome(job.post_id, "failed", str(err)), None
    state = PostState.of_file(job.post_id, stat, content_hash)
    fields = document_fields(doc, analyzer, state)
    kind = "added" if job.old_hash is None else "updated"
    return _Outcome(job.post_id, kind, warnings=doc.warnings), fields


class _SegmentSink:
    """Feeds analysed posts into segments of at most ``limit`` documents."""

    def __init__(self, storage: FileStorage, schema: Any, limit: int) -> None:
        self.storage, self.schema, self.limit = storage, schema, limit
        self.builder: SegmentBuilder | None = None
        self.segments: list[Any] = []

    def add(self, fields: Any) -> None:
        if self.builder is None:
            self.builder = SegmentBuilder(self.storage, INDEX_NAME, self.schema, SearchCodec())
        self.builder.add(fields.stored, fields.positional, fields.keywords, fields.columns)
        if self.builder.doc_count >= self.limit:
            self.segments.append(self.builder.finish())
            self.builder = None

    def finish(self) -> list[Any]:
        if self.builder is not None:
            self.segments.append(self.builder.finish())
            self.builder = None
        return self.segments


def _process_batch(batch: Iterable[_Job], work: _Work, analyzer: Analyzer, sink: _SegmentSink) -> list[_Outcome]:
    outcomes = []
    for job in batch:
        outcome, fields = _process(job, work, analyzer)
        if fields is not None:
            sink.add(fields)
        outcomes.append(outcome)
    return outcomes


def _batches(jobs: list[_Job]) -> Iterator[list[_Job]]:
    for start in range(0, len(jobs), _BATCH):
        yield jobs[start : start + _BATCH]


def _run_jobs(
    jobs: list[_Job], work: _Work, progress: Callable[[int, int], None] | None
) -> tuple[list[_Outcome], list[Any]]:
    """Process every job, in this process or in worker processes."""
    if not jobs:
        return [], []
    analyzer = analyzer_for(work.settings)
    analyzer.warm_up()  # before forking, so every worker shares the dictionary
    workers = min(work.options.worker_count(), -(-len(jobs) // _BATCH))
    if workers <= 1 or len(jobs) < _PARALLEL_MIN:
        sink = work.sink()
        outcomes: list[_Outcome] = []
        for batch in _batches(jobs):
            outcomes += _process_batch(batch, work, analyzer, sink)
            if progress:
                progress(len(outcomes), len(jobs))
        return outcomes, sink.finish()
    return _run_in_workers(jobs, work, progress, workers)


def _run_in_workers(
    jobs: list[_Job], work: _Work, progress: Callable[[int, int], None] | None, workers: int
) -> tuple[list[_Outcome], list[Any]]:
    context = multiprocessing.get_context("fork")
    job_queue: Any = context.Queue()
    result_queue: Any = context.Queue()
    for batch in _batches(jobs):
        job_queue.put(batch)
    for _ in range(workers):
        job_queue.put(None)
    args = (job_queue, result_queue, work, os.getpid())
    processes = [context.Process(target=_worker, args=args, daemon=True) for _ in range(workers)]
    for process in processes:
        process.start()
    outcomes: list[_Outcome] = []
    segments: list[Any] = []
    finished = 0
    try:
        while finished < workers:
            try:
                kind, payload = result_queue.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    raise SearchEngineError(
                        f"indexing worker died (exit code {dead[0].exitcode}); nothing was committed"
                    ) from None
                continue
            if kind == "outcomes":
                outcomes += payload
                if progress:
                    progress(len(outcomes), len(jobs))
            elif kind == "done":
                segments += payload
                finished += 1
            else:
                raise SearchEngineError(f"indexing failed; nothing was committed:\n{payload}")
    finally:
        for process in processes:
            if process.is_alive() and finished < workers:
                process.terminate()
            process.join(timeout=5)
    return outcomes, segments


def _worker(job_queue: Any, result_queue: Any, work: _Work, parent_pid: int) -> None:
    """Worker process: analyse batches of posts into segments of its own."""
    try:
        analyzer = analyzer_for(work.settings)
        sink = work.sink()
        while True:
            if os.getppid() != parent_pid:  # the build was killed: stop too
                os._exit(1)
            try:
                batch = job_queue.get(timeout=1.0)
            except queue.Empty:
                continue
            if batch is None:
                break
            result_queue.put(("outcomes", _process_batch(batch, work, analyzer, sink)))
        result_queue.put(("done", sink.finish()))
    except BaseException:
        result_queue.put(("crash", traceback.format_exc()))
