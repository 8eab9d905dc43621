"""Keep an index up to date with its posts folder as posts are saved, renamed and deleted.

:func:`watch_posts` watches the folder with watchfiles (inotify on Linux)
and runs the ordinary incremental :func:`~searchengine.indexer.build_index`
after each change, so that readers find a new post within about a second.
How it keeps its promises:

* **An update costs what changed, not the archive.** The first update walks
  the whole folder; later ones look only at the paths that changed, each
  found in the index by its path. The whole folder is walked again after a
  failed update, when a changed path is a folder or a symlink (a folder of
  posts moved in or away), and as long as the last walk met a symlink: a
  post reached through a link is only told right by a walk.

* **Bursts make one update.** An update starts once the folder has been
  quiet for ``quiet_ms`` (``hexo generate`` writing hundreds of files is
  one burst), or ``max_wait_ms`` after the first change if changes never
  stop. Changes made while an update runs are gathered into exactly one
  follow-up update.
* **Only changes that can concern posts count**, by the indexer's own rule:
  files with a post suffix outside hidden folders, folders moved in that
  hold posts, and paths without a suffix that vanish (a folder of posts
  moved away). Pictures, generated HTML, editors' hidden swap files and the
  index's own files (none has a post suffix) start no update.
* **One build at a time.** Updates run one after another in the caller's
  thread. A build in another process holds the index's write lock: the
  update waits for it and retries, it does not fail.
* **A failed update never stops watching.** It is reported and the last
  good index stays searchable; the next change retries. Only the posts
  folder itself vanishing or being replaced ends the watch (with
  :class:`SearchEngineError`): what was watched is gone.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import watchfiles

from searchengine.documents import POST_SUFFIXES, holds_posts
from searchengine.errors import IndexLockedError, ParameterError, SearchEngineError
from searchengine.indexer import BuildOptions, BuildReport, build_index

__all__ = ["QUIET_MS", "MAX_WAIT_MS", "watch_posts", "update_line"]

#: An update starts once the posts folder has been this quiet (milliseconds).
QUIET_MS = 500
#: ... or this long after the first change, if changes never stop.
MAX_WAIT_MS = 10_000
# How often watchfiles looks whether more changes came (its ``step``), in milliseconds.
_STEP_MS = 50


def watch_posts(
    posts_dir: Path | str,
    index_dir: Path | str,
    options: BuildOptions | None = None,
    *,
    on_update: Callable[[BuildReport], None] | None = None,
    on_error: Callable[[SearchEngineError], None] | None = None,
    stop_event: threading.Event | None = None,
    quiet_ms: int = QUIET_MS,
    max_wait_ms: int = MAX_WAIT_MS,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Update the index at ``index_dir`` whenever posts under ``posts_dir`` change, until stopped.

    The first update runs as soon as the folder is watched, so that the index
    matches the folder (it builds a missing index) and nothing saved from then
    on is missed. Each update's report goes to ``on_update``, even when it
    changed nothing; ``progress(done, total)`` follows each update as it does
    :func:`build_index`. An update that fails goes to ``on_error`` and the
    watch goes on; while another build holds the index's lock, ``on_error``
    hears it once (an :class:`IndexLockedError`) and the update waits.
    ``options.rebuild`` is ignored: updates are incremental.

    Returns once ``stop_event`` is set (within ``quiet_ms``, or when the
    update in progress ends); Ctrl-C in the main thread raises
    KeyboardInterrupt, and an update it interrupts commits nothing.

    :raises ParameterError: ``quiet_ms`` or ``max_wait_ms`` is not positive.
    :raises SearchEngineError: the posts folder is missing, or vanishes or is
        replaced while watched.
    """
    if quiet_ms < 1 or max_wait_ms < 1:
        raise ParameterError(f"quiet_ms and max_wait_ms must be at least 1, not {quiet_ms} and {max_wait_ms}")
    _Watch(
        Path(posts_dir),
        Path(index_dir),
        replace(options or BuildOptions(), rebuild=False),
        on_update or _ignore,
        on_error or _ignore,
        stop_event or threading.Event(),
        progress,
    ).run(quiet_ms, max_wait_ms)


def update_line(report: BuildReport) -> str | None:
    """The one line to show for an update, or None when it changed nothing (a save of the same text)."""
    failed = len(report.failed)
    if not (report.added or report.updated or report.removed or failed):
        return None
    failures = f", {failed} failed" if failed else ""
    return (
        f"updated: {report.added} added, {report.updated} changed, {report.removed} removed{failures} "
        f"({report.seconds:.1f} s)"
    )


def _ignore(_: object) -> None:
    """The default callback: the caller asked not to hear."""


class _Watch:
    """One watch of a posts folder: what it updates, and whom it tells."""

    def __init__(
        self,
        posts_dir: Path,
        index_dir: Path,
        options: BuildOptions,
        on_update: Callable[[BuildReport], None],
        on_error: Callable[[SearchEngineError], None],
        stop: threading.Event,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.root = posts_dir.resolve()
        self.index_dir, self.options = index_dir, options
        self.on_update, self.on_error, self.stop, self.progress = on_update, on_error, stop, progress
        self.identity = self._identity()
        if self.identity is None:
            raise SearchEngineError(f"posts folder {posts_dir}: does not exist or is not a folder")

    def run(self, quiet_ms: int, max_wait_ms: int) -> None:
        """Watch, and update after each burst of changes; the first update at the first turn."""
        # Since when changes have waited for an update (None: none waits); -inf: the first update is due at once.
        changes_seen: float | None = -float("inf")
        changed: set[str] = set()  # the paths about posts changed since the last update
        named = False  # whether an update may look at those paths alone (see the module's docstring)
        events = watchfiles.watch(
            self.root,
            watch_filter=None,  # filtered here: changes that are not about posts still show the folder is busy
            debounce=quiet_ms,
            step=_STEP_MS,
            rust_timeout=quiet_ms,  # an empty turn: quiet for quiet_ms
            yield_on_timeout=True,
            stop_event=self.stop,
            raise_interrupt=True,
        )
        with closing(events):  # stops watchfiles' thread even when an exception leaves the loop
            for changes in events:
                now = time.monotonic()
                about_posts = self._about_posts(changes)
                changed.update(about_posts)
                if changes_seen is None and about_posts:
                    changes_seen = now
                quiet = not changes
                if changes_seen is not None and (quiet or now - changes_seen >= max_wait_ms / 1000):
                    changes_seen = None
                    report = self._update(quiet_ms / 1000, changed if named else None)
                    changed = set()
                    if report is None:
                        named = False
                    elif report.links is not None:  # the update walked the folder
                        named = report.links == 0

    def _about_posts(self, changes: Iterable[tuple[watchfiles.Change, str]]) -> set[str]:
        """Those of ``changes``' paths that can concern a post, by the rule the indexer walks the folder with."""
        found = set()
        for change, path in changes:
            try:
                parts = Path(path).relative_to(self.root).parts
            except ValueError:
                continue
            if not parts:
                found.add(path)  # the posts folder itself
                continue
            if any(part.startswith(".") for part in parts):
                continue  # hidden: the indexer skips it (editors' swap files are hidden too)
            suffix = os.path.splitext(path)[1].lower()
            if suffix in POST_SUFFIXES:
                found.add(path)
            elif change == watchfiles.Change.deleted and not suffix:
                found.add(path)  # maybe a folder of posts moved away (what a vanished path was is unknown)
            elif change == watchfiles.Change.added and os.path.isdir(path) and holds_posts(path):
                found.add(path)  # a folder of posts moved in (inotify names the folder, not what it holds)
        return found

    def _update(self, pause: float, changed: set[str] | None) -> BuildReport | None:
        """Bring the index up to date: one build, retried while another build holds the lock.

        ``changed``: the paths to look at, None to walk the whole folder.
        Returns the build's report, None when it failed (or the watch stopped).
        """
        told_locked = False
        while not self.stop.is_set():
            if self._identity() != self.identity:
                raise SearchEngineError(f"posts folder {self.root}: removed or replaced while watched")
            try:
                report = build_index(self.root, self.index_dir, self.options, progress=self.progress, changed=changed)
            except IndexLockedError:
                if not told_locked:
                    told_locked = True
                    self.on_error(
                        IndexLockedError(
                            f"index {self.index_dir} is being written by another build: "
                            "the update waits until it has finished"
                        )
                    )
                self.stop.wait(pause)
                continue
            except SearchEngineError as error:
                self.on_error(error)
                return None
            self.on_update(report)
            return report
        return None

    def _identity(self) -> tuple[int, int] | None:
        """The posts folder's (device, inode), None when it is gone: a folder put in its place differs."""
        try:
            info = os.stat(self.root)
        except OSError:
            return None
        return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None
