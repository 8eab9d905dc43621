"""A fault battery: real faults against the real ``searchengine`` commands, and the figures that say how it fared.

    python scripts/fault_battery.py [--short] [--seed N] [--posts DIR | --corpus] [--copies N]

Everything happens in temporary folders, to real processes, with real
signals and real files (see ``tests/test_reliability.py`` for the promises):

1. ``kill -9`` of ``searchengine index`` at random points (and as chosen
   files appear) of fresh builds, updates and rebuilds: the index is then
   the last committed state or the new one, never a mix; the next build
   completes and gives the new state, with no leftovers; orphaned workers exit.
2. ``kill -9`` of one or all of a build's workers: it stops within 15 s with
   status 1 and one line; the last index is intact.
3. Ctrl-C twice to the build's process group: status 130, one line, the last
   index intact.
4. A full disk (a 32 MB tmpfs; only as root): one line "out of disk space",
   status 1, the build's files removed, the last index intact; after freeing
   the space the build succeeds.
5. Damaged index files (table of contents, manifest, segment): ``search``,
   ``stats``, ``index`` and ``check`` each fail with status 1 and one line
   saying "damaged" (or advising ``--rebuild``), never a result;
   ``index --rebuild`` repairs it and ``check`` says it is sound.
6. Poison posts (dates at the edge of time, a YAML alias bomb, GBK and
   newline file names, a FIFO, a symlink to /etc/passwd, Markdown nested
   50,000 deep): the build ends with status 0 or 3 listing the bad ones;
   /etc/passwd is never searchable.
7. Slow clients (300 connections sending a header line a second, with
   ``SEARCHENGINE_HEADER_TIMEOUT=2``): how fast a normal search is answered;
   and, in the background, ``scripts/memory_growth.py`` (when present):
   the server's memory over index updates under search load.

Every command runs with a time bound (one that outlives it counts as a
hang) from a neutral folder, so that the installed package is what runs;
any output containing "Traceback" counts as a traceback shown to a user.
Data lost counts posts committed before a fault that are missing (or
wrong) once the index has been recovered, as ``stats --json`` and
``search --json`` show it, compared with what the posts folder says.

Prints a line per fault as it goes, then the figures. Exits 1 when posts
were lost, a command hung, a traceback was shown or a server process grew by
more than 20% (or the first, unharmed build failed). ``--short`` (for CI)
tries one or two faults of each kind: about 140 CPU-seconds, some 80 s on an
idle 2-core machine. The full run (26 faults) takes about 540 CPU-seconds,
some 5 minutes on an idle 2-core machine and 8 on a busy one.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

import searchengine
from searchengine.settings import SETTINGS

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test tooling: servers, processes
from tooling import children as child_processes  # noqa: E402
from tooling import running  # noqa: E402

SHARED = Path(os.environ.get("SEARCHENGINE_SHARED", REPO.parent / "shared"))
SAMPLES = Path(searchengine.__file__).parent / "sample_posts"
MEMORY_GROWTH = REPO / "scripts" / "memory_growth.py"
POST_SUFFIXES = (".md", ".markdown", ".txt")
SAMPLE_COUNT = sum(1 for path in SAMPLES.rglob("*") if path.is_file() and path.suffix in POST_SUFFIXES)

#: Seconds any command may take; one that takes longer is a hang.
BOUND = 120.0
#: Seconds a build may take to stop once its workers died or Ctrl-C was pressed.
STOP_BOUND = 15.0
#: Seconds the workers of a killed build may outlive it.
ORPHAN_BOUND = 15.0
#: A server process growing by more than this (in %) fails the battery.
MAX_GROWTH = 20.0
#: Worker processes of every build (the machine has 2 cores).
WORKERS = "2"
#: The kind of the one trial that is no fault: the first, unharmed build.
BASELINE = "baseline (no fault)"

Command = Sequence[str | Path]


# --- running commands ----------------------------------------------------------------------


@dataclass
class Ran:
    """How one ``searchengine`` command ended: its status (None: it outlived its bound) and output."""

    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stdout or "Traceback" in self.stderr

    @property
    def lines(self) -> list[str]:
        """The non-empty lines of its error output."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def describe(self) -> str:
        shown = " ".join(self.argv[:2])
        status = "did not exit" if self.returncode is None else f"exit {self.returncode}"
        first = self.lines[0] if self.lines else self.stdout.strip()[:200]
        return f"`searchengine {shown}` {status} after {self.seconds:.1f} s: {first!r}"


@dataclass
class Started:
    """A command running in its own session (so that signals reach it and its workers only)."""

    process: subprocess.Popen[bytes]
    argv: list[str]
    started: float
    stdout: IO[bytes]
    stderr: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None


@dataclass
class Trial:
    """One fault tried: its kind, what was done, and every broken promise found."""

    kind: str
    name: str
    problems: list[str] = field(default_factory=list)
    lost: int = 0
    seconds: float = 0.0

    def check(self, condition: bool, problem: str) -> bool:
        """Record ``problem`` unless ``condition`` holds; return ``condition``."""
        if not condition:
            self.problems.append(problem)
        return condition

    @property
    def survived(self) -> bool:
        return not self.problems


class Battery:
    """Runs commands with bounds, counts hangs and tracebacks, and keeps the trials."""

    def __init__(self, work: Path, rng: random.Random, short: bool) -> None:
        self.work = work
        self.rng = rng
        self.short = short
        self.trials: list[Trial] = []
        self.skipped: list[str] = []
        self.memory: list[Memory] = []
        self.hangs = 0
        self.tracebacks = 0
        self.durations = {"fresh": 10.0, "update": 2.0}
        self._lock = threading.Lock()
        self._current: Trial | None = None
        self.neutral = work / "cwd"
        self.neutral.mkdir()

    # --- commands

    def start(self, *args: str | Path) -> Started:
        """``searchengine ARGS`` in a new session, its output going to files (which never fill up)."""
        argv = [str(arg) for arg in args]
        stdout, stderr = tempfile.TemporaryFile(dir=self.work), tempfile.TemporaryFile(dir=self.work)
        process = subprocess.Popen(
            [sys.executable, "-m", "searchengine", *argv],
            stdout=stdout,
            stderr=stderr,
            cwd=self.neutral,  # never a checkout: the installed package runs
            start_new_session=True,
        )
        return Started(process, argv, time.monotonic(), stdout, stderr)

    def finish(self, started: Started, bound: float = BOUND, since: float | None = None) -> Ran:
        """Wait for the command until ``bound`` seconds after ``since`` (its start); kill it if it is late."""
        deadline = (since if since is not None else started.started) + bound
        try:
            returncode: int | None = started.process.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            returncode = None
        kill_group(started.pid)
        if returncode is None:
            try:
                started.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        ran = Ran(
            started.argv, returncode, _read(started.stdout), _read(started.stderr), time.monotonic() - started.started
        )
        self._classify(ran, bound)
        return ran

    def run(self, *args: str | Path, bound: float = BOUND) -> Ran:
        """Run ``searchengine ARGS`` to its end (or its bound)."""
        return self.finish(self.start(*args), bound)

    def run_all(self, commands: Sequence[Command]) -> list[Ran]:
        """Run commands side by side; their results in the same order."""
        with ThreadPoolExecutor(max(len(commands), 1)) as pool:
            return list(pool.map(lambda command: self.run(*command), commands))

    def _classify(self, ran: Ran, bound: float) -> None:
        with self._lock:
            if ran.returncode is None:
                self.hangs += 1
                self.problem(f"hang: {ran.describe()} (bound {bound:.0f} s)")
            if ran.traceback:
                self.tracebacks += 1
                self.problem(f"traceback shown by `searchengine {' '.join(ran.argv[:2])}`: {_raised(ran)!r}")

    def problem(self, text: str) -> None:
        """A broken promise, charged to the trial under way."""
        if self._current is not None:
            self._current.problems.append(text)
        else:
            print(f"  ! {text}", flush=True)

    # --- trials

    @contextmanager
    def trial(self, kind: str, name: str) -> Iterator[Trial]:
        """Try one fault; an unexpected exception is a problem of the trial, not the end of the battery."""
        current = Trial(kind, name)
        self._current = current
        started = time.monotonic()
        try:
            yield current
        except Exception as exc:  # noqa: BLE001 - a product answer the battery could not read, say
            current.problems.append(f"battery could not go on: {type(exc).__name__}: {exc}")
        finally:
            self._current = None
            current.seconds = time.monotonic() - started
            self.trials.append(current)
            _print_trial(current)

    def skip(self, reason: str) -> None:
        self.skipped.append(reason)
        print(f"skipped: {reason}", flush=True)

    # --- the index as the CLI shows it

    def observe(
        self, index: Path, probes: Sequence[str], also: Sequence[Command] = ()
    ) -> tuple[State | str, list[Ran]]:
        """What ``stats --json`` and ``search --json`` show (a State, or the first error), and how ``also`` ran.

        The commands run side by side: reading commands spend most of their
        time starting (imports, the dictionary), and the machine has two cores.
        """
        commands: list[Command] = [["stats", "--index", index, "--json"]]
        # Every post on its own (--no-collapse): a probe counts posts, and the
        # battery's posts are copies of one another, which collapsing would fold.
        search = ["--json", "--limit", "100", "--no-collapse"]
        commands += [["search", probe, "--index", index, *search] for probe in probes]
        runs = self.run_all([*commands, *also])
        runs, others = runs[: len(commands)], runs[len(commands) :]
        if all(ran.returncode == 1 and "no index at" in ran.stderr for ran in runs):
            return State.missing(len(probes)), others
        for ran in runs:
            if ran.returncode != 0:
                return ran.describe(), others
            if ran.stdout.strip() == "":
                return f"{ran.describe()}: no output", others
        documents = int(json.loads(runs[0].stdout)["documents"])
        return State(documents, tuple(_hit_paths(ran.stdout) for ran in runs[1:])), others

    def expect(
        self, trial: Trial, index: Path, probes: Sequence[str], expected: State, when: str, also: Sequence[Command] = ()
    ) -> list[Ran]:
        """The index must show ``expected``; what it misses (or holds wrongly) counts as data lost."""
        observed, others = self.observe(index, probes, also)
        if observed != expected:
            trial.lost += lost_posts(expected, observed)
            trial.problems.append(f"{when}: the index shows {describe_state(observed)}; expected {expected}")
        return others


def _read(output: IO[bytes]) -> str:
    output.seek(0)
    text = output.read().decode("utf-8", "replace")
    output.close()
    return text


def _raised(ran: Ran) -> str:
    """What a traceback ends with: the exception, and the line of code that raised it."""
    output = ran.stderr if "Traceback" in ran.stderr else ran.stdout
    lines = [line.strip() for line in output[output.find("Traceback") :].splitlines() if line.strip()]
    return " | ".join(lines[-3:])


def _hit_paths(stdout: str) -> frozenset[str]:
    result = json.loads(stdout)
    return frozenset(hit["path"] for hit in result["hits"])


def _print_trial(trial: Trial) -> None:
    mark = "ok  " if trial.survived else "FAIL"
    print(f"[{mark}] {trial.kind}: {trial.name} ({trial.seconds:.1f} s)", flush=True)
    for problem in trial.problems:
        print(f"       - {problem}", flush=True)


# --- processes -------------------------------------------------------------------------------


def kill_group(pid: int) -> None:
    """SIGKILL whatever is left of the process group of ``pid`` (a command and its workers)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def children(pid: int) -> list[int]:
    """The child processes of ``pid``, in order."""
    return sorted(child_processes(pid))


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    """Poll ``condition`` for at most ``timeout`` seconds; whether it came true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in kB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- posts and what an index of them must hold -------------------------------------------------


@dataclass(frozen=True)
class State:
    """What an index holds, as far as the probes see: its post count (None: no index) and each probe's hits."""

    documents: int | None
    hits: tuple[frozenset[str], ...]

    @classmethod
    def missing(cls, probes: int) -> State:
        return cls(None, (frozenset(),) * probes)

    def __str__(self) -> str:
        if self.documents is None:
            return "no index"
        return f"{self.documents} posts, probes finding {[len(hits) for hits in self.hits]}"


def describe_state(state: State | str) -> str:
    return state if isinstance(state, str) else str(state)


def lost_posts(expected: State, observed: State | str) -> int:
    """Posts missing from (or wrong in) ``observed``: a lower bound, from the count and the probes."""
    if isinstance(observed, str) or observed.documents is None:
        return expected.documents or 0
    missing = max((expected.documents or 0) - observed.documents, 0)
    wrong = sum(len(want ^ got) for want, got in zip(expected.hits, observed.hits, strict=True))
    return max(missing, wrong)


class Tree:
    """A posts folder that rounds of edits, additions and deletions change, and what its index must show.

    Each round writes a marker of its own (``故障测验<n>号标记``) into the posts it edits
    or adds; a quoted search for a marker must find exactly the posts whose
    text holds it, which this class knows by reading the files.
    """

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.round = 0
        self.bad: set[Path] = set()  # posts the product refused at the first build: never touched

    @staticmethod
    def marker(round_: int) -> str:
        return f"故障测验{round_}号标记"

    def probes(self) -> list[str]:
        """A search that tells this round's index from the next round's: the posts holding either marker."""
        return [f'"{self.marker(self.round + 1)}" OR "{self.marker(self.round)}"']

    def posts(self) -> list[Path]:
        """The posts: .md, .markdown, and .txt opening with front matter, outside hidden folders."""
        found = []
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root).parts
            if path.suffix not in POST_SUFFIXES or any(part.startswith(".") for part in relative):
                continue
            if path.is_file() and (path.suffix != ".txt" or _opens_with_front_matter(path)):
                found.append(path)
        return found

    def expected(self, probes: Sequence[str]) -> State:
        """What an index of the folder as it is now must show for ``probes``."""
        posts = [path for path in self.posts() if path not in self.bad]
        texts = {path.relative_to(self.root).as_posix(): path.read_text("utf-8", "replace") for path in posts}
        hits = tuple(frozenset(post for post, text in texts.items() if _finds(probe, text)) for probe in probes)
        return State(len(posts), hits)

    def change(self, edits: int = 3, adds: int = 3, deletes: int = 2) -> None:
        """One round: delete posts (one holding the last marker first), edit some, add some."""
        self.round += 1
        new, old = self.marker(self.round), self.marker(self.round - 1)
        posts = [path for path in self.posts() if path not in self.bad]
        holding = [path for path in posts if old in path.read_text("utf-8", "replace")]
        doomed = (self.rng.sample(holding, 1) if holding else []) + self.rng.sample(posts, deletes)
        for path in list(dict.fromkeys(doomed))[:deletes]:
            path.unlink(missing_ok=True)
        kept = [path for path in posts if path.exists()]
        for path in self.rng.sample(kept, min(edits, len(kept))):
            with path.open("a", encoding="utf-8") as out:
                out.write(f"\n\n<p>第{self.round}轮修改：{new}。</p>\n")
        for number in range(adds):
            path = self.root / "added" / f"round{self.round:03d}-{number}.md"
            path.parent.mkdir(exist_ok=True)
            path.write_text(f"---\ntitle: 第{self.round}轮新增{number}\n---\n\n新增的文章，{new}。\n", encoding="utf-8")


def _finds(probe: str, text: str) -> bool:
    """Whether a probe (quoted markers joined by OR) finds a post with this text."""
    return any(marker in text for marker in re.findall(r'"([^"]+)"', probe))


def _opens_with_front_matter(path: Path) -> bool:
    """Whether a .txt file is a post: after a BOM and blank lines, it starts with ``---``."""
    return path.read_bytes()[:4096].decode("utf-8-sig", "replace").strip().startswith("---")


def copy_samples(target: Path, copies: int) -> Path:
    """``copies`` copies of the sample posts shipped in the package, side by side under ``target``."""
    for copy in range(copies):
        shutil.copytree(SAMPLES, target / f"copy{copy:03d}")
    return target


def leftovers(index: Path) -> list[str]:
    """Files in ``index`` that its newest manifest does not account for (left by killed builds)."""
    names = {path.name for path in index.iterdir()}
    generations = sorted(int(m.group(1)) for name in names if (m := re.fullmatch(r"_MAIN_(\d+)\.json", name)))
    if not generations:
        return sorted(names - {"MAIN_WRITELOCK"})
    newest = generations[-1]
    files = set(json.loads((index / f"_MAIN_{newest}.json").read_text(encoding="utf-8"))["files"])
    return sorted(names - files - {"MAIN_WRITELOCK", f"_MAIN_{newest}.json", f"_MAIN_{newest}.toc"})


def one_line_error(trial: Trial, ran: Ran, status: int, *needles: str) -> None:
    """``ran`` must have exited with ``status``, printed one error line holding each needle, and no result."""
    trial.check(ran.returncode == status, f"expected exit {status}: {ran.describe()}")
    trial.check(len(ran.lines) == 1, f"expected one error line, got {len(ran.lines)}: {ran.stderr.strip()[:300]!r}")
    for needle in needles:
        trial.check(needle in ran.stderr, f"expected {needle!r} in the error: {ran.stderr.strip()[:300]!r}")


# --- 1. kill -9 of a build ---------------------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    """When to strike: ``delay`` seconds after the start, or after a file matching ``after_file`` appears."""

    delay: float
    after_file: str | None = None

    def __str__(self) -> str:
        if self.after_file:
            return f"{self.delay:.2f} s after a file {self.after_file!r} appeared"
        return f"at {self.delay:.2f} s"

    def wait(self, build: Started, index: Path, bound: float = BOUND) -> bool:
        """Wait for this point; False if the build ended (or the bound passed) first."""
        if self.after_file:
            pattern = re.compile(self.after_file)
            before = _names(index)
            appeared = wait_until(
                lambda: not build.running() or any(pattern.fullmatch(n) for n in _names(index) - before), bound, 0.002
            )
            if not appeared or not build.running():
                return False
        wait_until(lambda: not build.running(), self.delay, 0.005)
        return build.running()


def _names(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def build_args(tree: Tree, index: Path, *extra: str) -> list[str | Path]:
    return ["index", tree.root, "--index", index, "--quiet", "--workers", WORKERS, *extra]


def kill_build(battery: Battery, tree: Tree, index: Path, mode: str, point: KillPoint) -> None:
    """``kill -9`` of a fresh build, an update or a ``--rebuild`` at ``point``; then the next build."""
    with battery.trial("kill -9 of a build", f"{mode}, {point}") as trial:
        probes = tree.probes()
        if mode == "fresh":
            shutil.rmtree(index, ignore_errors=True)
            before = State.missing(len(probes))
        else:
            before = tree.expected(probes)
            tree.change()
        after = tree.expected(probes)
        build = battery.start(*build_args(tree, index, *(["--rebuild"] if mode == "rebuild" else [])))
        struck = point.wait(build, index)
        workers = children(build.pid)
        if struck:
            os.kill(build.pid, signal.SIGKILL)
            orphans_gone = wait_until(lambda: not any(alive(pid) for pid in workers), ORPHAN_BOUND)
            if not trial.check(orphans_gone, f"workers {workers} outlived the killed build by {ORPHAN_BOUND:.0f} s"):
                battery.hangs += 1
        ran = battery.finish(build)
        if not struck:
            trial.name += " (the build ended first)"
            if trial.check(ran.returncode == 0, f"the unkilled build failed: {ran.describe()}"):
                battery.durations["update" if mode == "update" else "fresh"] = ran.seconds
        observed, _ = battery.observe(index, probes)
        trial.check(
            observed in (before, after),
            f"after the kill the index shows {describe_state(observed)}: neither {before} nor {after}",
        )
        ran = recover(battery, trial, tree, index, probes, after)
        if mode == "update" and ran.returncode == 0:
            battery.durations["update"] = ran.seconds


def recover(battery: Battery, trial: Trial, tree: Tree, index: Path, probes: Sequence[str], expected: State) -> Ran:
    """The next plain build must complete and show ``expected``, leaving no leftovers."""
    ran = battery.run(*build_args(tree, index))
    trial.check(ran.returncode == 0, f"the next build failed: {ran.describe()}")
    battery.expect(trial, index, probes, expected, "after the next build")
    if index.is_dir():
        left = leftovers(index)
        trial.check(not left, f"files no generation references are left: {left[:5]}")
    return ran


def kill_points(battery: Battery, mode: str, count: int) -> list[KillPoint]:
    """``count`` points to strike a build of ``mode``: random times, and moments chosen by the files it writes."""
    rng = battery.rng
    length = battery.durations["update" if mode == "update" else "fresh"]
    at_random = [KillPoint(rng.uniform(0.3, length * 1.05)) for _ in range(2)]
    on_commit = KillPoint(rng.uniform(0.0, 0.05), r"_MAIN_\d+\.json(\.tmp)?")  # the manifest: the commit under way
    on_segment = KillPoint(rng.uniform(0.0, 0.02), r"MAIN_[a-z0-9]+\..+")  # the first segment file
    menu = {
        "fresh": [on_segment, at_random[0]],
        "update": [on_commit, at_random[0], on_segment, at_random[1]],
        "rebuild": [at_random[0], on_commit],
    }
    return menu[mode][:count]


def fault_kill_builds(battery: Battery, tree: Tree, index: Path) -> None:
    """Fault 1: kill -9 at random points of fresh builds, updates and rebuilds."""
    counts = {"update": 1, "rebuild": 1} if battery.short else {"fresh": 2, "update": 4, "rebuild": 2}
    for mode, count in counts.items():
        for point in kill_points(battery, mode, count):
            kill_build(battery, tree, index, mode, point)


# --- 2. killed workers, 3. Ctrl-C ------------------------------------------------------------


def start_busy_rebuild(battery: Battery, trial: Trial, tree: Tree, index: Path) -> tuple[Started, list[int]]:
    """A ``--rebuild`` (enough posts for worker processes), once its workers are running."""
    build = battery.start(*build_args(tree, index, "--rebuild"))
    wait_until(lambda: len(children(build.pid)) >= int(WORKERS) or not build.running(), 60.0)
    workers = children(build.pid)
    trial.check(bool(workers) or not build.running(), "the build started no worker processes within 60 s")
    return build, workers


def strike_delay(battery: Battery) -> float:
    """Seconds to let workers run before striking: a random point of the analysis (its start, with --short)."""
    return battery.rng.uniform(0.0, 1.0 if battery.short else battery.durations["fresh"] * 0.4)


def fault_kill_workers(battery: Battery, tree: Tree, index: Path, victims: str) -> None:
    """Fault 2: kill -9 of one or all workers: status 1 within 15 s, one line, the last index intact."""
    with battery.trial("kill -9 of workers", f"{victims} of a --rebuild's workers") as trial:
        probes = tree.probes()
        before = tree.expected(probes)
        tree.change()
        after = tree.expected(probes)
        build, workers = start_busy_rebuild(battery, trial, tree, index)
        wait_until(lambda: not build.running(), strike_delay(battery))
        targets = workers if victims == "all" else battery.rng.sample(workers, min(1, len(workers)))
        struck = [pid for pid in targets if alive(pid) and build.running()]
        for pid in struck:
            os.kill(pid, signal.SIGKILL)
        trial.name += f", struck {time.monotonic() - build.started:.2f} s in"
        ran = battery.finish(build, STOP_BOUND, since=time.monotonic())
        if struck and ran.returncode != 0:
            one_line_error(trial, ran, 1, "worker died")
            battery.expect(trial, index, probes, before, "after the killed build")
        else:
            trial.name += " (the build ended first)" if not struck else " (the build committed anyway)"
            if trial.check(ran.returncode == 0, f"the build failed: {ran.describe()}") and not struck:
                battery.durations["fresh"] = ran.seconds
        recover(battery, trial, tree, index, probes, after)


def fault_interrupt(battery: Battery, tree: Tree, index: Path, early: bool) -> None:
    """Fault 3: Ctrl-C twice to the build's process group: status 130, one line, the last index intact."""
    when = "while it starts" if early else "while its workers run"
    with battery.trial("Ctrl-C twice", f"to a --rebuild {when}") as trial:
        probes = tree.probes()
        before = tree.expected(probes)
        tree.change()
        after = tree.expected(probes)
        if early:
            build = battery.start(*build_args(tree, index, "--rebuild"))
            wait_until(lambda: not build.running(), battery.rng.uniform(0.05, 1.5))
        else:
            build, _ = start_busy_rebuild(battery, trial, tree, index)
            wait_until(lambda: not build.running(), strike_delay(battery))
        interrupted = build.running()
        trial.name += f", at {time.monotonic() - build.started:.2f} s"
        press_ctrl_c_twice(build, battery.rng.uniform(0.02, 0.3))
        ran = battery.finish(build, STOP_BOUND, since=time.monotonic())
        if interrupted and ran.returncode != 0:
            one_line_error(trial, ran, 130, "interrupted")
            battery.expect(trial, index, probes, before, "after Ctrl-C")
        else:
            trial.check(ran.returncode == 0, f"the build failed: {ran.describe()}")
        recover(battery, trial, tree, index, probes, after)


def press_ctrl_c_twice(build: Started, gap: float) -> None:
    """SIGINT to the whole process group (as a terminal does), and again ``gap`` seconds later."""
    for press in range(2):
        if press:
            time.sleep(gap)
        try:
            os.killpg(build.pid, signal.SIGINT)
        except ProcessLookupError:
            return


# --- 4. a full disk ---------------------------------------------------------------------------


@contextmanager
def small_disk(mount: Path, size: str = "32m") -> Iterator[Path | str]:
    """A real tmpfs of ``size`` at ``mount``, or the reason there is none; always unmounted."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        yield "a full disk needs root, to mount a small tmpfs"
        return
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        yield f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}"
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def fault_full_disk(battery: Battery) -> None:
    """Fault 4: a build into a full filesystem: one line, its files removed, the last index intact, then a retry."""
    with small_disk(battery.work / "disk") as disk:
        if isinstance(disk, str):
            battery.skip(disk)
            return
        with battery.trial("full disk", "a bigger build into a 32 MB tmpfs with 200 KB free") as trial:
            small = Tree(copy_samples(battery.work / "disk-posts", 1), battery.rng)
            index = disk / "index"
            probes = small.probes()
            trial.check(battery.run(*build_args(small, index)).returncode == 0, "the first build failed")
            before = small.expected(probes)
            copy_samples(small.root / "more", 1)  # 35 posts make about 1.6 MB of index
            small.change()
            after = small.expected(probes)
            ballast = disk / "ballast"
            fill(ballast, shutil.disk_usage(disk).free - 200_000)
            free_before = shutil.disk_usage(disk).free
            ran = battery.run(*build_args(small, index))
            one_line_error(trial, ran, 1, "out of disk space", str(index))
            freed = shutil.disk_usage(disk).free
            trial.check(freed >= free_before - 4096, f"the failed build left {free_before - freed:,} bytes behind")
            battery.expect(trial, index, probes, before, "after the failed build")
            ballast.unlink()
            ran = battery.run(*build_args(small, index))
            trial.check(ran.returncode == 0, f"the build after freeing space failed: {ran.describe()}")
            battery.expect(trial, index, probes, after, "after freeing space")


def fill(path: Path, size: int) -> None:
    """Write ``size`` bytes to ``path`` (a ballast), a megabyte at a time."""
    chunk = b"\0" * 2**20
    with path.open("wb") as out:
        while size > 0:
            try:
                size -= out.write(chunk[: min(size, len(chunk))])
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    return
                raise


# --- 5. damaged index files --------------------------------------------------------------------


def _newest(index: Path, pattern: str) -> Path:
    return sorted(index.glob(pattern), key=lambda path: path.stat().st_mtime_ns)[-1]


def _garble(path: Path, rng: random.Random, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    start = rng.randrange(max(len(data) - count, 1))
    data[start : start + count] = rng.randbytes(count)
    path.write_bytes(bytes(data))


def _flip_bits(path: Path, rng: random.Random, count: int = 200) -> None:
    data = bytearray(path.read_bytes())
    for _ in range(count):
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(data))


def _future_manifest(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["format"] = 999
    path.write_text(json.dumps(data), encoding="utf-8")


DAMAGE: dict[str, Callable[[Path, random.Random], object]] = {
    "truncated table of contents": lambda index, rng: os.truncate(_newest(index, "_MAIN_*.toc"), 20),
    "zeroed table of contents": lambda index, rng: (lambda toc: toc.write_bytes(bytes(toc.stat().st_size)))(
        _newest(index, "_MAIN_*.toc")
    ),
    "garbled table of contents": lambda index, rng: _garble(_newest(index, "_MAIN_*.toc"), rng),
    "stray table of contents": lambda index, rng: (index / "_MAIN_99.toc").write_bytes(rng.randbytes(300)),
    "garbled manifest": lambda index, rng: _garble(_newest(index, "_MAIN_*.json"), rng),
    "manifest of a future format": lambda index, rng: _future_manifest(_newest(index, "_MAIN_*.json")),
    "segment with 200 flipped bits": lambda index, rng: _flip_bits(rng.choice(sorted(index.glob("MAIN_*.seg"))), rng),
    "truncated segment": lambda index, rng: (lambda seg: os.truncate(seg, seg.stat().st_size // 2))(
        rng.choice(sorted(index.glob("MAIN_*.seg")))
    ),
    "missing segment": lambda index, rng: rng.choice(sorted(index.glob("MAIN_*.seg"))).unlink(),
}


def fault_damage(battery: Battery) -> None:
    """Fault 5: each kind of damage to an index; every command says so in one line, and --rebuild repairs it."""
    tree = Tree(copy_samples(battery.work / "damage-posts", 1), battery.rng)
    tree.change()
    pristine = battery.work / "damage-pristine"
    if battery.run(*build_args(tree, pristine)).returncode != 0:
        battery.problem("the index to damage could not be built")
        return
    probes = tree.probes()
    expected = tree.expected(probes)
    kinds = battery.rng.sample(sorted(DAMAGE), 2) if battery.short else sorted(DAMAGE)
    for kind in kinds:
        with battery.trial("damaged index", kind) as trial:
            index = battery.work / "damaged"
            shutil.rmtree(index, ignore_errors=True)
            shutil.copytree(pristine, index)
            DAMAGE[kind](index, battery.rng)
            runs = battery.run_all(
                [
                    ["search", probes[0], "--index", index, "--json"],
                    ["stats", "--index", index, "--json"],
                    ["check", "--index", index],
                    build_args(tree, index),  # an update: it fails as it opens the index
                ]
            )
            for ran in runs:
                refused(trial, ran)
            ran = battery.run(*build_args(tree, index, "--rebuild"))
            trial.check(ran.returncode == 0, f"--rebuild failed: {ran.describe()}")
            (ran,) = battery.expect(
                trial, index, probes, expected, "after --rebuild", also=[["check", "--index", index]]
            )
            trial.check(ran.returncode == 0 and "sound" in ran.stdout, f"check after --rebuild: {ran.describe()}")


def refused(trial: Trial, ran: Ran) -> None:
    """A command on a damaged index: status 1, one line naming the damage (or the rebuild advice), no result."""
    command = f"`searchengine {ran.argv[0]}`"
    trial.check(ran.returncode == 1, f"{command} on a damaged index: {ran.describe()}")
    trial.check(ran.stdout.strip() == "", f"{command} printed a result: {ran.stdout.strip()[:200]!r}")
    lines = ran.lines
    trial.check(len(lines) == 1, f"{command} printed {len(lines)} error lines: {ran.stderr.strip()[:400]!r}")
    said = all("damaged" in line or "--rebuild" in line for line in lines) and bool(lines)
    trial.check(said, f"{command} did not say the index is damaged: {ran.stderr.strip()[:300]!r}")


# --- 6. poison posts ----------------------------------------------------------------------------


def _alias_bomb() -> str:
    """A "billion laughs": nine levels of nine aliases each, 9**9 strings once expanded."""
    lines = ['a: &a ["哈哈", "哈哈", "哈哈", "哈哈", "哈哈", "哈哈", "哈哈", "哈哈", "哈哈"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join(['*' + previous] * 9)}]")
    lines.append("title: *i")
    return "---\n" + "\n".join(lines) + "\n---\n\n炸弹正文\n"


def write_poison(root: Path) -> tuple[int, int]:
    """Write the poison posts under ``root``; return (how many may be indexed, how many must be refused)."""
    poison = root / "poison"
    for folder in ("dates", "bomb", "names", "fifo", "link", "deep"):
        (poison / folder).mkdir(parents=True)
    for name, date in (("first", "0001-01-01"), ("last", "9999-12-31T23:59:59-12:00")):
        (poison / "dates" / f"{name}.md").write_text(f"---\ntitle: 边界日期{name}\ndate: '{date}'\n---\n边界日期测试\n")
    (poison / "bomb" / "laughs.md").write_text(_alias_bomb(), encoding="utf-8")
    gbk = os.path.join(os.fsencode(poison / "names"), "新闻联播报道.md".encode("gbk"))
    descriptor = os.open(gbk, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(descriptor, "---\ntitle: 文件名\n---\n正文\n".encode())
    os.close(descriptor)
    (poison / "names" / "new\nline.md").write_text("---\ntitle: 换行\n---\n正文\n", encoding="utf-8")
    os.mkfifo(poison / "fifo" / "x.md")
    (poison / "link" / "x.md").symlink_to("/etc/passwd")
    (poison / "deep" / "quotes.md").write_text("---\ntitle: 深层引用\n---\n\n" + "> " * 50_000 + "深层文字\n")
    (poison / "deep" / "lists.md").write_text("---\ntitle: 深层列表\n---\n\n" + "- " * 50_000 + "深层列表\n")
    return 4, 5


def fault_poison_posts(battery: Battery) -> None:
    """Fault 6: poison posts in the tree: status 0 or 3 listing the bad ones; search and stats work after it."""
    name = "dates at the edge of time, an alias bomb, odd names, a FIFO, a symlink, depth"
    with battery.trial("poison posts", name) as trial:
        root = copy_samples(battery.work / "poison-posts", 1)
        may_index, must_refuse = write_poison(root)
        index = battery.work / "poison-index"
        ran = battery.run("index", root, "--index", index, "--quiet", "--workers", WORKERS)
        trial.check(ran.returncode in (0, 3), f"the build: {ran.describe()}")
        refused_lines = ran.lines
        trial.check(len(refused_lines) >= must_refuse, f"{len(refused_lines)} posts listed as refused: {ran.lines}")
        for name in ("bomb/laughs.md", "fifo/x.md", "link/x.md"):
            trial.check(name in ran.stderr, f"poison/{name} is not listed as refused: {ran.lines}")
        stats, passwd, common = battery.run_all(
            [
                ["stats", "--index", index, "--json"],
                ["search", '"root:x:0:0"', "--index", index, "--json"],
                ["search", "经济", "--index", index, "--json"],
            ]
        )
        for check in (stats, passwd, common):
            trial.check(check.returncode == 0, f"after the poison posts: {check.describe()}")
        if stats.returncode == 0:
            documents = json.loads(stats.stdout)["documents"]
            samples = documents - (may_index + must_refuse - len(refused_lines))
            trial.lost += max(SAMPLE_COUNT - samples, 0)
            trial.check(samples == SAMPLE_COUNT, f"{documents} posts indexed: {SAMPLE_COUNT} samples expected")
        if passwd.returncode == 0:
            trial.check(json.loads(passwd.stdout)["total"] == 0, "/etc/passwd is searchable (root:x:0:0 found)")
        if common.returncode == 0:
            trial.check(json.loads(common.stdout)["total"] > 0, "a common word finds nothing after the poison posts")


# --- 7. the server: slow clients and memory ---------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """One server process's resident memory (MB) before and after a run."""

    label: str
    before: float
    after: float

    @property
    def growth(self) -> float:
        return 100.0 * (self.after - self.before) / self.before if self.before else 0.0


@dataclass
class MemoryRun:
    """``scripts/memory_growth.py`` running in the background over its own copy of the posts."""

    process: subprocess.Popen[bytes] | None
    output: Path
    updates: int
    started: float
    skipped: str = ""


def start_memory_growth(battery: Battery, posts: Path | None) -> MemoryRun:
    """Start memory_growth.py (50 updates; 5 with --short) over ``posts``, by default the sample posts.

    It keeps one core busy with searches the whole time (10 updates would
    cost --short a third more time), and the smaller the index the sooner
    the rest of the battery is done.
    """
    updates = 5 if battery.short else 50
    posts = posts or copy_samples(battery.work / "memory-posts", 1)
    output = battery.work / "memory_growth.log"
    if not MEMORY_GROWTH.is_file():
        return MemoryRun(None, output, updates, 0.0, f"{MEMORY_GROWTH.name} does not exist (yet)")
    try:
        helped = subprocess.run(
            [sys.executable, str(MEMORY_GROWTH), "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=battery.neutral,
        )
    except subprocess.TimeoutExpired:
        return MemoryRun(None, output, updates, 0.0, f"{MEMORY_GROWTH.name} --help did not answer within 60 s")
    if helped.returncode != 0 or "--updates" not in helped.stdout or "--posts" not in helped.stdout:
        return MemoryRun(None, output, updates, 0.0, f"{MEMORY_GROWTH.name} --help offers no --updates/--posts")
    command = [sys.executable, str(MEMORY_GROWTH), "--posts", str(posts), "--updates", str(updates)]
    command += ["--max-growth", str(MAX_GROWTH)]
    with output.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=battery.neutral, start_new_session=True
        )
    return MemoryRun(process, output, updates, time.monotonic())


_WORKER_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(-?[\d.]+)%\s+(\d+)\s*$")


def finish_memory_growth(battery: Battery, run: MemoryRun) -> None:
    """Wait (bounded) for memory_growth.py and take its figures: each worker's memory before and after."""
    if run.process is None:
        battery.skip(f"memory growth: {run.skipped}")
        return
    bound = 540.0 if not battery.short else 150.0
    with battery.trial("server memory", f"memory_growth.py, {run.updates} updates under search load") as trial:
        try:
            run.process.wait(timeout=max(run.started + bound - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired:
            kill_group(run.process.pid)
            run.process.wait(timeout=10)
            trial.problems.append(f"memory_growth.py did not finish within {bound:.0f} s")
        text = run.output.read_text(encoding="utf-8", errors="replace")
        if "Traceback" in text:  # the script's own failure (its commands' errors it prints as one line)
            at = text.find("Traceback")
            trial.problems.append(f"memory_growth.py failed: {text[at:][-300:]!r}")
        rows = [match.groups() for line in text.splitlines() if (match := _WORKER_ROW.match(line))]
        if not trial.check(bool(rows), f"memory_growth.py printed no figures: {text.strip()[-300:]!r}"):
            return
        for pid, before, after, growth, deleted in rows:
            label = f"memory_growth.py, {run.updates} updates: worker {pid} ({deleted} deleted files mapped)"
            battery.memory.append(Memory(label, float(before), float(after)))
            trial.check(float(growth) <= MAX_GROWTH, f"worker {pid} grew {growth}% over {run.updates} updates")
        answered = re.search(r"(\d+) searches answered, (\d+) failed", text)
        if answered:
            trial.check(answered.group(2) == "0", f"{answered.group(2)} searches failed during the updates")


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block (``running()`` hands the server a copy of os.environ)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class SlowClients(threading.Thread):
    """``count`` connections that each send one more header line every second and never finish a request.

    A connection the server closes is replaced at once, as an attacker would;
    how long each lived is kept.
    """

    def __init__(self, host: str, port: int, count: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.address = (host, port)
        self.count = count
        self.seconds = seconds
        self.lifetimes: list[float] = []
        self.refused = 0
        self.stopping = threading.Event()
        self._open: dict[socket.socket, float] = {}
        self._selector = selectors.DefaultSelector()

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        try:
            while not self.stopping.is_set() and time.monotonic() < deadline:
                self._top_up()
                self._send_a_line()
                self._notice_closed(1.0)
        finally:
            for sock in list(self._open):
                self._close(sock)
            self._selector.close()

    def _top_up(self) -> None:
        while len(self._open) < self.count and not self.stopping.is_set():
            try:
                sock = socket.create_connection(self.address, timeout=2.0)
                sock.sendall(b"GET /?q=slow HTTP/1.1\r\n")
            except OSError:
                self.refused += 1
                return
            sock.setblocking(False)
            self._open[sock] = time.monotonic()
            self._selector.register(sock, selectors.EVENT_READ)

    def _send_a_line(self) -> None:
        for sock in list(self._open):
            try:
                sock.send(b"X-Slow: %d\r\n" % int(time.monotonic()))
            except OSError:  # reset by the server, or its buffer full: gone either way
                self._lost(sock)

    def _notice_closed(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0 and self._open:
            for key, _ in self._selector.select(left):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data or data.startswith(b"HTTP/"):  # closed, or answered (400, 408)
                    self._lost(sock)

    def _lost(self, sock: socket.socket) -> None:
        if sock in self._open:
            self.lifetimes.append(time.monotonic() - self._open[sock])
            self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        self._open.pop(sock, None)
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()


def timed_search(url: str, timeout: float) -> float | str:
    """Seconds a normal GET /api/search?q=经济 took to answer, or why it failed."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{url}/api/search?{urlencode({'q': '经济'})}", timeout=timeout) as response:
            body = json.loads(response.read())
            if response.status != 200 or "total" not in body:
                return f"status {response.status}"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return time.monotonic() - started


def server_rss(pid: int) -> dict[int, int]:
    """Resident memory (kB) of a server's worker processes (or of the server when it has none)."""
    workers = children(pid) or [pid]
    return {worker: rss_kb(worker) for worker in workers}


def fault_slow_clients(battery: Battery, index: Path) -> None:
    """Fault 7: 300 slow clients against a server with a 2 s header timeout: is a normal search answered?"""
    missing = [name for name in ("header_timeout", "connection_limit") if name not in SETTINGS]
    if missing:
        battery.skip(f"slow clients: the server has no {' or '.join(missing)} setting yet")
        return
    settings = {
        "SEARCHENGINE_HEADER_TIMEOUT": "2",
        "SEARCHENGINE_CONNECTION_LIMIT": "100",
        "SEARCHENGINE_WEB_WORKERS": "2",
    }
    searches = 3 if battery.short else 8
    name = "300 clients sending a header line a second; 2 workers × 100 connections, header timeout 2 s"
    with battery.trial("slow clients", name) as trial, environment(**settings):
        log = battery.work / "server.log"
        with running(index, threads=4, log=log) as server:
            for _ in range(3):  # warm: the first searches load the index
                timed_search(server.url, BOUND)
            before = server_rss(server.pid)
            port = int(server.url.rsplit(":", 1)[1])
            attack = SlowClients("127.0.0.1", port, 300, seconds=6.0 + searches * 3.0)
            attack.start()
            latencies = normal_searches(server.url, searches, trial)
            attack.stopping.set()
            attack.join(timeout=30)
            time.sleep(2.0)
            after = server_rss(server.pid)
        report_slow_clients(battery, trial, latencies, attack, before, after, log)


def normal_searches(url: str, count: int, trial: Trial) -> list[float]:
    """``count`` normal searches, a few seconds apart, while the slow clients hold their connections."""
    latencies = []
    time.sleep(3.0)  # the slow clients have taken their connections
    for _ in range(count):
        took = timed_search(url, 30.0)
        if isinstance(took, str):
            trial.problems.append(f"a normal search under slow clients failed: {took}")
        else:
            latencies.append(took)
        time.sleep(1.0)
    return latencies


def report_slow_clients(
    battery: Battery,
    trial: Trial,
    latencies: list[float],
    attack: SlowClients,
    before: dict[int, int],
    after: dict[int, int],
    log: Path,
) -> None:
    """Judge and describe the slow-client run: answers, how slow ones were shed, the server's memory."""
    server_output = log.read_text(encoding="utf-8", errors="replace")
    if "Traceback" in server_output:
        battery.tracebacks += 1
        trial.problems.append("the server's output holds a traceback")
    shed = sorted(attack.lifetimes)
    shed_text = f"{len(shed)} slow connections closed by the server"
    if shed:
        shed_text += f" after {shed[0]:.1f}–{shed[-1]:.1f} s (median {shed[len(shed) // 2]:.1f} s)"
    slowest = max(latencies) if latencies else float("nan")
    trial.name += f": {len(latencies)} normal searches answered, slowest in {slowest:.2f} s; {shed_text}"
    trial.check(bool(latencies) and slowest <= 10.0, f"a normal search took {slowest:.1f} s under slow clients")
    trial.check(bool(shed), "the server closed no slow connection")
    for pid, kb in sorted(before.items()):
        memory = Memory(f"300 slow clients: worker {pid}", kb / 1024, after.get(pid, 0) / 1024)
        battery.memory.append(memory)
        trial.check(memory.growth <= MAX_GROWTH, f"server worker {pid} grew {memory.growth:.1f}% under slow clients")


# --- the run -------------------------------------------------------------------------------------------


def prepare_posts(args: argparse.Namespace, work: Path) -> Path:
    """The pristine posts: a copy of --posts, the corpus's 2019 slice, or copies of the sample posts."""
    pristine = work / "pristine"
    if args.posts:
        shutil.copytree(args.posts, pristine, symlinks=True)
    elif args.corpus:
        make_posts = SHARED / "corpus" / "make_posts.py"
        if not make_posts.is_file():
            raise SystemExit(f"error: {make_posts} is absent; drop --corpus or set SEARCHENGINE_SHARED")
        made = subprocess.run([sys.executable, str(make_posts), str(pristine), "--years", "2019"], timeout=900)
        if made.returncode != 0:
            raise SystemExit(f"error: {make_posts} exited with status {made.returncode}")
    else:
        copy_samples(pristine, args.copies or (6 if args.short else 10))
    return pristine


def first_build(battery: Battery, tree: Tree, index: Path) -> bool:
    """Build the index of the tree once, unharmed: the state every fault starts from."""
    tree.change(edits=3, adds=2, deletes=0)
    with battery.trial(BASELINE, f"a first build of {len(tree.posts())} posts") as trial:
        ran = battery.run(*build_args(tree, index), "--json")
        if not trial.check(ran.returncode in (0, 3), f"the first build failed: {ran.describe()}"):
            return False
        battery.durations["fresh"] = ran.seconds
        tree.bad = {path for path in tree.posts() if str(path) in ran.stderr or str(path) in ran.stdout}
        battery.expect(trial, index, tree.probes(), tree.expected(tree.probes()), "after the first build")
    return trial.survived


def run_battery(args: argparse.Namespace, work: Path) -> Battery:
    """Every fault kind, one after another (memory_growth.py alongside)."""
    battery = Battery(work, random.Random(args.seed), args.short)
    pristine = prepare_posts(args, work)
    memory = start_memory_growth(battery, pristine if args.posts or args.corpus else None)
    try:
        tree = Tree(work / "posts", battery.rng)
        shutil.copytree(pristine, tree.root, symlinks=True)
        index = work / "index"
        if first_build(battery, tree, index):
            fault_kill_builds(battery, tree, index)
            for victims in ["all", "one"] if not args.short else [battery.rng.choice(["all", "one"])]:
                fault_kill_workers(battery, tree, index, victims)
            for early in [False] if args.short else [False, False, True]:
                fault_interrupt(battery, tree, index, early)
        fault_full_disk(battery)
        fault_damage(battery)
        fault_poison_posts(battery)
        fault_slow_clients(battery, index if index.is_dir() else battery.work / "damage-pristine")
        finish_memory_growth(battery, memory)
    finally:
        if memory.process is not None and memory.process.poll() is None:
            kill_group(memory.process.pid)
            memory.process.wait(timeout=10)
    return battery


def print_figures(battery: Battery, seconds: float, args: argparse.Namespace) -> bool:
    """The table of figures; whether the battery passed."""
    kinds: dict[str, list[Trial]] = {}
    for trial in battery.trials:
        kinds.setdefault(trial.kind, []).append(trial)
    faults = [trial for trial in battery.trials if trial.kind != BASELINE]
    lost = sum(trial.lost for trial in battery.trials)
    worst = max((memory.growth for memory in battery.memory), default=0.0)
    print(f"\nfault battery ({'short' if args.short else 'full'}, seed {args.seed}): {seconds:.0f} s\n")
    print("| fault | tried | survived |\n|---|---:|---:|")
    for kind, trials in kinds.items():
        print(f"| {kind} | {len(trials)} | {sum(trial.survived for trial in trials)} |")
    print("\n| figure | value |\n|---|---:|")
    print(f"| faults tried | {len(faults)} |")
    print(f"| faults survived | {sum(trial.survived for trial in faults)} |")
    print(f"| data lost (posts) | {lost} |")
    print(f"| hangs | {battery.hangs} |")
    print(f"| tracebacks shown to a user | {battery.tracebacks} |")
    for memory in battery.memory:
        print(
            f"| server memory, {memory.label} | {memory.before:.0f} → {memory.after:.0f} MB ({memory.growth:+.1f}%) |"
        )
    print(f"| worst server memory growth | {worst:.1f}% |")
    for reason in battery.skipped:
        print(f"\nskipped: {reason}", end="")
    baseline = all(trial.survived for trial in kinds.get(BASELINE, []))
    if not baseline:
        print("\nthe first build failed: the faults that need it were not tried", end="")
    print()
    return baseline and lost == 0 and battery.hangs == 0 and battery.tracebacks == 0 and worst <= MAX_GROWTH


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="one or two faults of each kind (for CI)")
    parser.add_argument("--posts", type=Path, help="posts to run against (copied); default: copies of the samples")
    parser.add_argument("--corpus", action="store_true", help="run against the 2019 slice of ../shared/corpus")
    parser.add_argument(
        "--copies",
        type=int,
        help="copies of the sample posts (default 10; 6 with --short; 6 or more for worker faults)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of every random choice (default 1)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fault-battery-") as tmp:
        battery = run_battery(args, Path(tmp))
        passed = print_figures(battery, time.monotonic() - started, args)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
