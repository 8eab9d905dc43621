"""What a server holds on to: slow clients are shed, workers stop with their
supervisor, replaced index views are closed.

The slow-client tests run ``searchengine serve`` in a child process and
attack it from real sockets on 127.0.0.1 with a 2-second header deadline:
clients that send a header line every second (slowloris), clients that send
blank lines, and clients that connect and say nothing.
"""

from __future__ import annotations

import gc
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from searchengine.engine import SearchEngine
from searchengine.settings import env_name
from tooling import SAMPLE_COUNT, SAMPLES, SEED, build, children, running, wait_until, write_posts

HEADER_TIMEOUT = 2.0
#: How late after the deadline a connection may be closed: the server looks
#: every second, and closes on the event loop's next turn (at most a second).
CLOSE_SLACK = 3.0
SEARCH = "/api/search?q=" + quote("经济")


@dataclass
class _Client:
    sock: socket.socket
    kind: str
    opened: float
    next_send: float
    closed: float | None = None
    sent_lines: int = 0
    answers: bytes = b""


@dataclass
class SlowClients:
    """Connections that start requests and never finish their headers, driven by one thread.

    ``slow`` clients send a request line, then a header line every ``every``
    seconds; ``blank`` clients send an empty line every ``every`` seconds;
    ``silent`` clients send nothing. Records when the server closes each.
    """

    address: tuple[str, int]
    counts: dict[str, int]
    every: float = 1.0
    clients: list[_Client] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowClients:
        for kind, count in self.counts.items():
            for _ in range(count):
                sock = socket.create_connection(self.address, timeout=5)
                sock.setblocking(False)
                now = time.monotonic()
                client = _Client(sock, kind, opened=now, next_send=now)
                self.clients.append(client)
                self._selector.register(sock, selectors.EVENT_READ, client)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        for client in self.clients:
            client.sock.close()
        self._selector.close()

    def open_count(self) -> int:
        with self._changed:
            return sum(c.closed is None for c in self.clients)

    def wait_all_closed(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: all(c.closed is not None for c in self.clients), timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            talking = [c for c in self.clients if c.closed is None and c.kind != "silent"]
            if not any(c.closed is None for c in self.clients):
                return
            wait = min((c.next_send for c in talking), default=time.monotonic() + 0.2) - time.monotonic()
            for key, _ in self._selector.select(timeout=min(max(wait, 0.0), 0.2)):
                client = key.data
                try:
                    data = client.sock.recv(65536)
                except ConnectionError:
                    data = b""
                if data:
                    client.answers += data  # the server may say why before it closes
                else:
                    self._close(client)
            now = time.monotonic()
            for client in talking:
                if client.closed is None and client.next_send <= now:
                    self._send(client, now)

    def _send(self, client: _Client, now: float) -> None:
        if client.kind == "blank":
            line = b"\r\n"
        elif client.sent_lines == 0:
            line = b"GET " + SEARCH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        else:
            line = b"X-Slow-%d: %s\r\n" % (client.sent_lines, b"x" * 20)
        try:
            client.sock.send(line)
        except OSError:  # closed by the server
            self._close(client)
            return
        client.sent_lines += 1
        client.next_send = now + self.every

    def _close(self, client: _Client) -> None:
        self._selector.unregister(client.sock)
        with self._changed:
            client.closed = time.monotonic()
            self._changed.notify_all()


def _get(url: str, timeout: float) -> float:
    """Seconds until ``url`` answered 200 (fails if it did not within ``timeout``)."""
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        assert response.status == 200
        response.read()
    return time.monotonic() - started


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port
    return parts.hostname, parts.port


def test_slow_clients_are_shed_and_cannot_lock_others_out(
    sample_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """320 slow, blank-line and silent connections (more than the 2 × 128
    connections the server used to take) neither delay a search nor stay
    past the header deadline; an idle kept-alive connection is left alone."""
    monkeypatch.setenv(env_name("header_timeout"), str(HEADER_TIMEOUT))
    monkeypatch.setenv(env_name("web_workers"), "2")
    with running(sample_index, log=tmp_path / "server.log") as server:
        host, port = _address(server.url)
        with closing(HTTPConnection(host, port, timeout=10)) as kept_alive:
            kept_alive.request("GET", SEARCH)
            assert kept_alive.getresponse().read() and kept_alive.sock is not None
            idle_socket = kept_alive.sock

            with SlowClients((host, port), {"slow": 300, "blank": 10, "silent": 10}) as attack:
                took = _get(server.url + SEARCH, timeout=HEADER_TIMEOUT + CLOSE_SLACK)
                open_when_answered = attack.open_count()
                assert attack.wait_all_closed(timeout=HEADER_TIMEOUT + CLOSE_SLACK + 2)
            lifetimes = sorted(c.closed - c.opened for c in attack.clients if c.closed is not None)

            # kept alive for longer than the header deadline, between requests: still open
            kept_alive.request("GET", SEARCH)
            assert kept_alive.getresponse().status == 200 and kept_alive.sock is idle_socket

    print(f"search answered in {took:.2f} s; slow connections closed after {lifetimes[0]:.2f}–{lifetimes[-1]:.2f} s")
    assert took < HEADER_TIMEOUT  # at once: the slow clients hold no thread, and not all the connections
    assert open_when_answered == len(attack.clients)
    assert lifetimes[0] >= HEADER_TIMEOUT - 0.05  # closed by the deadline, not before
    assert lifetimes[-1] <= HEADER_TIMEOUT + CLOSE_SLACK
    assert all(c.sent_lines >= 2 for c in attack.clients if c.kind != "silent")  # they kept talking
    assert "sent no complete request headers" in (tmp_path / "server.log").read_text()


def test_at_its_connection_limit_a_worker_lets_new_connections_wait(
    sample_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A worker whose connections are all taken stops accepting: a new
    connection waits in the listening queue, not refused, and is served as
    soon as the header deadline frees room."""
    monkeypatch.setenv(env_name("header_timeout"), str(HEADER_TIMEOUT))
    monkeypatch.setenv(env_name("web_workers"), "1")
    monkeypatch.setenv(env_name("connection_limit"), "30")  # waitress counts its 2 own sockets
    with running(sample_index, log=tmp_path / "server.log") as server:
        with SlowClients(_address(server.url), {"slow": 40}) as attack:
            took = _get(server.url + SEARCH, timeout=2 * HEADER_TIMEOUT + CLOSE_SLACK)
            assert attack.wait_all_closed(timeout=2 * HEADER_TIMEOUT + CLOSE_SLACK + 2)
    print(f"search answered after {took:.2f} s")
    assert HEADER_TIMEOUT - 0.1 <= took <= HEADER_TIMEOUT + CLOSE_SLACK
    assert "reached the connection limit" in (tmp_path / "server.log").read_text()


def _with_marker(marker: str) -> set[int]:
    """The processes whose command line holds ``marker``."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                found.add(int(proc.name))
        except OSError:
            continue
    return found


def test_a_server_stopped_while_it_forks_its_workers_leaves_none_behind(tmp_path: Path) -> None:
    """A stop signal in the middle of forking reaches every worker, and the supervisor exits.

    (Workers forked after the signal used to be missed: they kept the port,
    and the supervisor waited for them for ever.)"""
    marker = f"supervisor-test-{os.getpid()}-{time.monotonic_ns()}"
    script = f"import time  # {marker}\nfrom searchengine.web.server import _Supervisor\n"
    script += "_Supervisor(lambda: time.sleep(120), 40).run()\n"
    supervisor = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    try:
        wait_until(lambda: bool(children(supervisor.pid)), timeout=30, what="the first worker")
        supervisor.terminate()  # while it is still forking the other 39
        assert supervisor.wait(timeout=10) == 0  # it exits once its workers have
        wait_until(lambda: not _with_marker(marker), timeout=10, what="every worker to stop")
    finally:
        for pid in _with_marker(marker):
            os.kill(pid, signal.SIGKILL)
        supervisor.kill()
        supervisor.wait()


# --- replaced views are closed ------------------------------------------------------


def _index_files(index: Path) -> tuple[set[str], set[str]]:
    """The index files this process holds open, and those it maps, that are deleted."""
    deleted_open = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(index)) and target.endswith(" (deleted)"):
            deleted_open.add(target)
    maps = Path("/proc/self/maps").read_text().splitlines()
    deleted_mapped = {line.split(None, 5)[-1] for line in maps if str(index) in line and line.endswith(" (deleted)")}
    return deleted_open, deleted_mapped


@contextmanager
def _searching(engine: SearchEngine, threads: int) -> Iterator[list[Exception]]:
    """Threads searching, reading and finding related posts until the block ends; yields their errors."""
    errors: list[Exception] = []
    stopping = threading.Event()

    def work() -> None:
        while not stopping.is_set():
            try:
                assert engine.search("经济 OR 更新").total > 0
                assert engine.get(SEED) is not None
                engine.more_like_this(SEED, limit=3)
            except Exception as error:
                errors.append(error)
                return

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield errors
    finally:
        stopping.set()
        for worker in workers:
            worker.join(timeout=30)


def test_a_replaced_view_is_closed_as_soon_as_nothing_uses_it(sample_index: Path, tmp_path: Path) -> None:
    posts = shutil.copytree(SAMPLES, tmp_path / "posts")
    index = shutil.copytree(sample_index, tmp_path / "index")
    engine = SearchEngine(index)
    assert engine._snapshot is not None
    reader = engine._snapshot.view.reader  # the segment files of the first view (held here, not the view)
    write_posts(posts, {"updates/0.md": "---\ntitle: 更新\n---\n\n鸭嘴兽更新\n"})
    build(posts, index)
    assert not reader.is_closed
    assert engine.search('"鸭嘴兽更新"').total == 1  # switches to the new generation: the old view is let go
    assert reader.is_closed


def test_a_search_engine_closes_the_views_it_replaced(sample_index: Path, tmp_path: Path) -> None:
    """Views replaced by newer generations are closed once their searches end
    (with the garbage collector off: not left to it), never under a search."""
    posts = shutil.copytree(SAMPLES, tmp_path / "posts")
    index = shutil.copytree(sample_index, tmp_path / "index")  # of the same posts
    engine = SearchEngine(index)
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _searching(engine, threads=2) as errors:
            for update in range(5):
                post = f"---\ntitle: 更新{update}\n---\n\n经济更新 第{update}次\n"
                write_posts(posts, {f"updates/{update}.md": post})
                build(posts, index)
                assert engine.stats().documents == SAMPLE_COUNT + update + 1  # switched to the new generation
        assert errors == []
        engine.search("经济")  # no search of an old generation is running now
        assert _index_files(index) == (set(), set())
    finally:
        if collecting:
            gc.enable()
