"""Serving the app with waitress, a production WSGI server (never Flask's dev server).

:func:`serve` is what ``searchengine serve`` and ``searchengine demo`` run.
:func:`running` starts ``searchengine serve`` in a child process on a free
port and stops it afterwards; the browser tests, the screenshot script and
the load test use it so that they exercise exactly what users run.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from searchengine.engine import SearchEngine
from searchengine.settings import setting

__all__ = ["serve", "running", "Running", "free_port", "CHROMIUM", "CHROMIUM_ARGS"]

#: Debian's Chromium, which the browser tests and the screenshot script drive
#: through Playwright (a test tool's own browser download does not work here).
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, and quiet: without the background-networking flags Chromium keeps
#: trying to reach Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Running:
    """A server started by :func:`running`: its base URL and process id."""

    url: str
    pid: int


def serve(index_dir: Path | str, *, host: str, port: int, threads: int, workers: int = 1) -> None:
    """Serve the index at ``index_dir`` on ``host:port``.

    ``workers`` processes (0: one per core) share one listening socket, each
    running waitress with ``threads`` threads: Python runs one thread at a
    time per process, so processes are what put every core to work. The
    index is checked once before listening: a missing index raises
    :class:`~searchengine.errors.IndexMissingError` (the CLI prints it as one
    line). Each worker follows later builds of the index without a restart.
    Blocks until interrupted.
    """
    SearchEngine(index_dir, timezone=setting("timezone"))  # fail now, not in every worker
    workers = workers if workers > 0 else (os.cpu_count() or 1)
    _log_to_stderr()
    if workers == 1:
        _serve_one(index_dir, threads, host=host, port=port)
        return
    listener = socket.create_server((host, port), backlog=1024)
    logging.getLogger("waitress").info("Serving on http://%s:%s with %d processes", host, port, workers)
    _Supervisor(lambda: _serve_one(index_dir, threads, sockets=[listener]), workers).run()


def _serve_one(index_dir: Path | str, threads: int, **where: object) -> None:
    """One waitress server over its own engine (file handles are never shared across a fork)."""
    import waitress

    from searchengine.web import create_app

    engine = SearchEngine(index_dir, timezone=setting("timezone"))
    app = create_app({"ENGINE": engine, "INDEX_DIR": str(index_dir)})
    waitress.serve(
        app,
        threads=threads,
        ident="searchengine",
        asyncore_use_poll=True,  # no select() limit on open sockets
        connection_limit=max(100, threads * 16),
        channel_timeout=60,
        **where,
    )


class _Supervisor:
    """Forks the worker processes, replaces any that dies, stops them all on a signal."""

    def __init__(self, target: Callable[[], None], count: int) -> None:
        self.target, self.count = target, count
        self.children: set[int] = set()
        self.stopping = False

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        for _ in range(self.count):
            self._fork()
        while self.children:
            try:
                pid, _ = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            self.children.discard(pid)
            if not self.stopping:
                logging.getLogger("waitress").warning("worker %d exited; starting another", pid)
                time.sleep(0.5)  # a worker that cannot start must not spin
                self._fork()

    def _fork(self) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, signal.SIG_DFL)
            try:
                self.target()
            finally:
                os._exit(0)
        self.children.add(pid)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                self.children.discard(pid)


def _log_to_stderr() -> None:
    """Show waitress's own messages ("Serving on …", queue warnings) on stderr, once each."""
    logger = logging.getLogger("waitress")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # waitress.serve() also configures the root logger


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(
    index_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    threads: int | None = None,
    timeout: float = 60.0,
    log: Path | None = None,
) -> Iterator[Running]:
    """Run ``searchengine serve`` over ``index_dir`` in a child process; yield its URL and pid.

    Waits until the server accepts connections; raises RuntimeError with the
    server's own output if it exits first or does not start within
    ``timeout`` seconds. The server's output goes to ``log`` if given. The
    server is stopped when the block ends.
    """
    port = port or free_port(host)
    command = [sys.executable, "-m", "searchengine", "serve", "--index", str(Path(index_dir).resolve()), "--host", host, "--port", str(port)]
    if threads:
        command += ["--threads", str(threads)]
    with open(log, "w+b") if log else tempfile.TemporaryFile() as output:
        # Run from a neutral folder: from a checkout, `python -m` would import
        # the source tree instead of the installed package.
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=os.environ.copy(), cwd=tempfile.gettempdir()
        )
        try:
            _wait_until_listening(process, host, port, timeout, output)
            yield Running(f"http://{host}:{port}", process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_listening(process: subprocess.Popen, host: str, port: int, timeout: float, output: object) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"searchengine serve exited with status {process.returncode}: {_read(output)}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"searchengine serve did not listen on {host}:{port} within {timeout:.0f} s: {_read(output)}")


def _read(output: object) -> str:
    output.seek(0)  # type: ignore[attr-defined]
    return output.read().decode("utf-8", "replace").strip()  # type: ignore[attr-defined]
