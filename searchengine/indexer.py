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
* **Bounded memory.** ``build_memory`` is shared among the processes: each
  worker holds its share of postings, then spills them as a sorted run to a
  scratch file, and merges the runs when it writes its one segment (see
  :mod:`searchengine.store.inversion`). An archive of any size is as many
  segments as there were workers, which is what its searches pay for.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import multiprocessing
import os
import queue
import shutil
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from searchengine import documents
from searchengine.analysis import AnalysisSettings, Analyzer, analyzer_for
from searchengine.dates import load_zone
from searchengine.errors import DocumentError, ParameterError, SearchEngineError
from searchengine.settings import DEFAULT_BUILD_MEMORY
from searchengine.store import IndexFolder, IndexWriter, SegmentSink
from searchengine.store.schema import PostState, document_fields

__all__ = ["BuildOptions", "BuildReport", "build_index"]

_BATCH = 64
_PR_SET_PDEATHSIG = 1  # prctl(2)
# Index bytes per byte of post read, rounded up: the estimate a full disk
# reports. Measured: 6.8 for the sample posts (1.6 MB of index for 235 KB),
# whose posts are short; long news posts need less.
_SPACE_PER_POST_BYTE = 7
# Below this many posts to analyse, forking workers costs more than it saves, and so
# does copying jieba's dictionary into its accelerator (see searchengine.segmenter).
_PARALLEL_MIN = 200
#: What one build process holds before any post, in MB of proportional set
#: size (PSS; the workers share the parent's jieba dictionary until they
#: write to it): measured 150-190.
_PROCESS_MB = 180
#: The least a worker holds postings in before spilling them: below this,
#: runs get so small that merging them costs more than it saves.
_MIN_POSTINGS_MB = 32


@dataclass(frozen=True)
class BuildOptions:
    """How to build; every field is also a setting (see :mod:`searchengine.settings`)."""

    rebuild: bool = False
    workers: int = 0  # 0: one per core
    timezone: str = documents.DEFAULT_TIMEZONE
    max_post_bytes: int = documents.MAX_POST_BYTES
    lock_timeout: float = 5.0
    user_dict: Path | None = None
    segment_docs: int = 0  # documents per segment; 0: one segment per worker
    follow_outside: bool = False  # index posts that symbolic links lead to outside the posts folder
    build_memory: int = DEFAULT_BUILD_MEMORY  # MB for the whole build: this process and its workers

    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    def postings_memory(self, workers: int) -> int:
        """Bytes of postings each of ``workers`` processes holds before spilling them to disk.

        What the build's processes hold anyway (the interpreter, jieba's
        dictionary, the list of posts to read) comes off ``build_memory``
        first; the rest is shared among the workers.
        """
        spare = self.build_memory - _PROCESS_MB * (workers + 1)
        return max(spare // workers, _MIN_POSTINGS_MB) * 2**20


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
    links: int | None = None  # symlinks the walk followed (None: no walk); see watch's named updates

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


class _Job(NamedTuple):
    """One post to read: its id, where it is, and its last indexed hash (if any)."""

    post_id: str
    path: str
    old_hash: str | None


class _Batch(NamedTuple):
    """Up to ``_BATCH`` posts to read, packed: their ids in one string, and their last indexed hashes.

    A build plans every post before it reads one, and keeps the plan to the
    end. A million posts as :class:`_Job` tuples took 260 MB of the parent,
    which every worker inherited; packed, they take about the ids' bytes.
    """

    post_ids: str  # joined by NUL, which no path contains
    old_hashes: tuple[str | None, ...] | None  # None: all new

    def jobs(self, root: str) -> list[_Job]:
        """The batch's posts, each found at ``root/post_id`` (as :func:`_plan` names them)."""
        ids = self.post_ids.split("\0")
        hashes = self.old_hashes or (None,) * len(ids)
        return [_Job(post_id, os.path.join(root, post_id), old) for post_id, old in zip(ids, hashes, strict=True)]


class _Plan:
    """The posts a build will read, packed into batches as they are planned."""

    def __init__(self) -> None:
        self.batches: list[_Batch] = []
        self._ids: list[str] = []
        self._hashes: list[str | None] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, post_id: str, old_hash: str | None) -> None:
        self._ids.append(post_id)
        self._hashes.append(old_hash)
        self._count += 1
        if len(self._ids) == _BATCH:
            self.close()

    def close(self) -> _Plan:
        """Pack the posts added since the last batch; return the plan."""
        if self._ids:
            hashes = tuple(self._hashes) if any(old is not None for old in self._hashes) else None
            self.batches.append(_Batch("\0".join(self._ids), hashes))
            self._ids, self._hashes = [], []
        return self

    def paths(self, root: str) -> Iterator[str]:
        for batch in self.batches:
            for job in batch.jobs(root):
                yield job.path


@dataclass(frozen=True)
class _Outcome:
    post_id: str
    kind: str  # "added" | "updated" | "unchanged" | "failed"
    message: str = ""
    warnings: tuple[str, ...] = ()


def build_index(
    posts_dir: Path | str,
    index_dir: Path | str,
    options: BuildOptions = BuildOptions(),
    progress: Callable[[int, int], None] | None = None,
    changed: Iterable[Path | str] | None = None,
) -> BuildReport:
    """Bring the index at ``index_dir`` up to date with the posts under ``posts_dir``.

    ``progress(done, total)`` is called as posts are processed. ``changed``
    names the only paths that changed since the last update (as a watch of
    the folder knows them): then only those are looked at, not the whole
    tree, unless one of them is a folder, a symlink or something else only a
    walk can tell (see :func:`documents.post_change`), or the index is new
    or rebuilt; the report's ``posts`` counts the named posts. Returns the
    report; raises :class:`SearchEngineError` only when nothing could be
    committed (missing folder, lock held, incompatible index, a crash), and
    :class:`ParameterError` before writing anything when ``index_dir`` is
    ``posts_dir``, inside it, or a folder of posts.
    """
    started = time.monotonic()
    load_zone(options.timezone)  # a bad setting fails before any post is blamed for it
    posts_root = Path(posts_dir).resolve()
    if not posts_root.is_dir():
        raise SearchEngineError(f"posts folder {posts_dir}: does not exist or is not a folder")
    _check_apart(posts_root, Path(index_dir))
    settings = AnalysisSettings.from_dict_file(options.user_dict)
    folder = IndexFolder(index_dir)
    report = BuildReport(index_dir=str(folder.path), posts_dir=str(posts_root))
    plan = _Plan()
    try:
        with folder.writer(settings, rebuild=options.rebuild, lock_timeout=options.lock_timeout) as writer:
            planned = None  # a new index, or a rebuild, reads every post
            if changed is not None and not writer.rebuild:
                planned = _plan_changes(posts_root, changed, writer, report)
            plan = planned if planned is not None else _plan(posts_root, writer, report, options.follow_outside)
            work = _Work(str(folder.path), settings, posts_root, options)
            writer.add_segments(_run_jobs(plan, work, lambda outcome: _tally(report, outcome, writer), progress))
    except OSError as exc:  # writing the index failed; the writer has removed what it wrote
        raise _write_error(folder.path, exc, plan.paths(str(posts_root))) from None
    report.committed = writer.committed
    report.documents = writer.documents
    report.seconds = time.monotonic() - started
    return report


def _check_apart(posts_root: Path, index_dir: Path) -> None:
    """Refuse an index folder that is the posts folder or inside it, before anything is written.

    Its files would be mixed with the posts, walked with them at every build,
    and served with them by whoever publishes the posts folder.
    """
    index_root = index_dir.resolve()
    if index_root == posts_root:
        where = "is the posts folder"
    elif index_root.is_relative_to(posts_root):
        where = f"is inside the posts folder {posts_root}"
    else:
        return
    raise ParameterError(
        f"index folder {index_dir}: {where}; nothing was written. "
        f"Give the index a folder outside it, such as {posts_root.parent / 'index'}"
    )


def _write_error(folder: Path, error: OSError, planned: Iterable[str]) -> SearchEngineError:
    """One line for a failed write: the folder, the reason and, for a full disk, the space needed."""
    if error.errno != errno.ENOSPC:
        return SearchEngineError(
            f"index folder {folder}: cannot write: {error.strerror or error}; nothing was committed"
        )
    free = shutil.disk_usage(folder).free if folder.is_dir() else 0
    posts = sum(_size(path) for path in planned)
    return SearchEngineError(
        f"index folder {folder}: out of disk space; nothing was committed. {free / 2**20:,.0f} MB free; "
        f"this build needs about {_SPACE_PER_POST_BYTE * posts / 2**20:,.0f} MB more (the index is about "
        f"{_SPACE_PER_POST_BYTE}x the posts it reads): free some space and run it again"
    )


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _plan(root: Path, writer: IndexWriter, report: BuildReport, follow_outside: bool) -> _Plan:
    """Decide which posts to read, and delete the indexed posts gone from disk."""
    plan = _Plan()
    seen: set[str] = set()  # the indexed posts found on disk (none for a new index: a million posts' ids cost MBs)

    def report_error(error: DocumentError) -> None:
        report.failed.append(str(error))

    def count_link(_: str) -> None:
        report.links = (report.links or 0) + 1

    # Strings, not pathlib, for each post: an update of an unchanged million
    # posts is this loop, and pathlib's operations cost more than the stat.
    prefix = len(os.path.join(str(root), ""))  # the root and one separator
    report.links = 0
    walk = documents.walk_post_paths(root, on_error=report_error, follow_outside=follow_outside, on_link=count_link)
    for where in walk:
        post_id = where[prefix:].replace(os.sep, "/")
        known = writer.posts.get(post_id)
        if known is not None:
            seen.add(post_id)
        _plan_post(post_id, where, known, report, plan)
    for post_id, (docnum, _) in writer.posts.items():
        if post_id not in seen:
            writer.delete(docnum)
            report.removed += 1
    return plan.close()


def _plan_changes(
    root: Path, changed: Iterable[Path | str], writer: IndexWriter, report: BuildReport
) -> _Plan | None:
    """Plan an update of the named paths alone; None when one of them needs a walk of the tree.

    Each post is found in the index by its path (:meth:`IndexWriter.known`),
    so the cost follows the changes, not the size of the archive.
    """
    named: dict[str, tuple[str, str]] = {}
    for path in changed:
        where = os.path.abspath(path)
        kind = documents.post_change(root, where)
        if kind == "walk":
            return None
        named[os.path.relpath(where, root).replace(os.sep, "/")] = (where, kind)
    writer.look_up(named)
    plan = _Plan()
    for post_id, (where, kind) in sorted(named.items()):
        known = writer.known(post_id)
        if kind == "none":
            if known is not None:
                writer.delete(known[0])
                report.removed += 1
            continue
        _plan_post(post_id, where, known, report, plan)
    return plan.close()


def _plan_post(
    post_id: str, where: str, known: tuple[int, bytes] | None, report: BuildReport, plan: _Plan
) -> None:
    """Count a post found on disk, and plan reading it unless it is indexed with its modification time and size.

    ``known`` is the post's document number and encoded state (see
    :meth:`IndexWriter.known`).
    """
    report.posts += 1
    if known is not None and _unchanged(where, known[1]):
        report.unchanged += 1
    else:
        plan.add(post_id, PostState.decode(known[1]).content_hash if known else None)


def _unchanged(where: str, recorded: bytes) -> bool:
    """Whether the file at ``where`` still has the modification time and size its encoded state records."""
    try:
        stat = os.stat(where)
    except OSError:
        return False
    return PostState.records_stat(recorded, stat)


def _tally(report: BuildReport, outcome: _Outcome, writer: IndexWriter) -> None:
    report.warnings.extend(outcome.warnings)
    if outcome.kind == "failed":
        report.failed.append(outcome.message)
    elif outcome.kind == "unchanged":
        report.unchanged += 1
    elif outcome.kind == "updated":
        report.updated += 1
        known = writer.known(outcome.post_id)
        assert known is not None  # an update is of an indexed post
        writer.delete(known[0])
    else:
        report.added += 1


# --- processing posts -------------------------------------------------------


@dataclass(frozen=True)
class _Work:
    """What processing a post needs; a worker process gets it whole."""

    index_folder: str
    settings: AnalysisSettings
    root: Path
    options: BuildOptions

    workers: int = 1

    def new_sink(self) -> SegmentSink:
        """Where this process's analysed posts go: segments of its own, in its share of the memory."""
        return SegmentSink(self.index_folder, self.options.segment_docs, self.options.postings_memory(self.workers))


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


def _process_batch(batch: _Batch, work: _Work, analyzer: Analyzer, sink: SegmentSink) -> list[_Outcome]:
    outcomes = []
    for job in batch.jobs(str(work.root)):
        outcome, fields = _process(job, work, analyzer)
        if fields is not None:
            sink.add(fields)
        outcomes.append(outcome)
    return outcomes


def _run_jobs(
    plan: _Plan,
    work: _Work,
    tally: Callable[[_Outcome], None],
    progress: Callable[[int, int], None] | None,
) -> list[Any]:
    """Process every job, in this process or in worker processes; return the new segments.

    Each outcome goes to ``tally`` as it arrives: kept until the end, a
    million posts' outcomes would be a few hundred MB of the build's memory.
    """
    if not plan:
        return []
    analyzer = analyzer_for(work.settings)
    analyzer.warm_up(bulk=len(plan) >= _PARALLEL_MIN)  # before forking, so every worker shares the dictionaries
    workers = min(work.options.worker_count(), len(plan.batches))
    if workers <= 1 or len(plan) < _PARALLEL_MIN:
        sink = replace(work, workers=1).new_sink()
        done = 0
        try:
            for batch in plan.batches:
                outcomes = _process_batch(batch, work, analyzer, sink)
                for outcome in outcomes:
                    tally(outcome)
                done += len(outcomes)
                if progress:
                    progress(done, len(plan))
            return sink.finish()
        except BaseException:
            sink.abandon()
            raise
    return _run_in_workers(plan, replace(work, workers=workers), tally, progress)


def _run_in_workers(
    plan: _Plan, work: _Work, tally: Callable[[_Outcome], None], progress: Callable[[int, int], None] | None
) -> list[Any]:
    context = multiprocessing.get_context("fork")
    job_queue: Any = context.Queue()
    result_queue: Any = context.Queue()
    args = (job_queue, result_queue, work, os.getpid())
    processes: list[Any] = []
    segments: list[Any] = []
    workers = work.workers
    finished = done = 0
    gc.freeze()  # see _worker
    try:
        with _ctrl_c_held():
            for batch in plan.batches:
                job_queue.put(batch)
            for _ in range(workers):
                job_queue.put(None)
            for _ in range(workers):
                process = context.Process(target=_worker, args=args, daemon=True)
                process.start()
                processes.append(process)
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
                for outcome in payload:
                    tally(outcome)
                done += len(payload)
                if progress:
                    progress(done, len(plan))
            elif kind == "done":
                segments += payload
                finished += 1
            elif kind == "oserror":
                raise OSError(*payload)
            else:
                raise SearchEngineError(f"indexing failed ({payload}); nothing was committed")
    finally:
        if finished < workers:
            _abandon(processes, job_queue, result_queue)
        for process in processes:
            process.join(timeout=5)
        gc.unfreeze()
    return segments


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C while the queues' threads and the workers start; it arrives just after.

    A Ctrl-C during ``fork`` ran the handler inside an at-fork hook, where Python
    ignores the KeyboardInterrupt: the build went on and ended as if never
    interrupted. A worker forked before its own ``SIG_IGN`` could also die of it
    with a traceback. Held, the signal reaches the parent in its own code; the
    queues' feeder threads keep it blocked for good, as they started with it so,
    and each worker drops it (see ``_worker``).
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _abandon(processes: list[Any], *queues: Any) -> None:
    """Stop the workers of a failed build, and make sure this process can still exit.

    A queue's feeder thread may be blocked writing jobs into a pipe that no
    worker reads any more; at exit Python joins that thread, which would hang
    the build forever. Cancelling the join drops the unsent jobs instead.
    """
    for process in processes:
        if process.is_alive():
            process.terminate()
    for pending in queues:
        pending.cancel_join_thread()
        pending.close()


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when its parent dies; elsewhere the worker's loop checks."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the loop in _worker polls for the parent instead
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def _worker(job_queue: Any, result_queue: Any, work: _Work, parent_pid: int) -> None:
    """Worker process: analyse batches of posts into segments of its own.

    The parent froze its objects out of the garbage collector before
    forking (``gc.freeze``): a collection here would otherwise write to the
    header of every object inherited from it (a million posts' plan, say),
    copying each page of the parent's heap into this process.

    Ctrl-C reaches the whole process group: the parent decides what to do
    (it stops the workers), so a worker ignores it. A worker dies with its
    parent (a build killed with ``kill -9`` leaves no orphan writing files).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a pending Ctrl-C is dropped
    _die_with_parent(parent_pid)
    try:
        analyzer = analyzer_for(work.settings)
        sink = work.new_sink()
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
    except OSError as exc:  # a full disk, say: the parent reports it as its own
        result_queue.put(("oserror", (exc.errno, exc.strerror, exc.filename)))
    except BaseException as exc:
        result_queue.put(("crash", "".join(traceback.format_exception_only(exc)).strip()))
