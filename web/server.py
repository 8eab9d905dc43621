"""Serving the app with waitress, a production WSGI server (never Flask's dev server).

:func:`serve` is what ``searchengine serve`` and ``searchengine demo`` run.

Slow clients are shed. waitress buffers each request until it is complete,
so a slow client costs no thread, but it holds one of the process's
``connection_limit`` connections, and waitress only closes connections that
go *silent* (``channel_timeout``): a client that sends one header line every
few seconds would hold its connection for ever. :class:`_Server` adds a
deadline: a connection must deliver the complete headers of a request within
``header_timeout`` seconds of the request's first byte (of its acceptance,
for the first request of a connection), or it is closed. Idle keep-alive
connections between requests are not affected.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import waitress
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from searchengine.engine import SearchEngine
from searchengine.errors import ParameterError, SearchEngineError
from searchengine.indexer import BuildOptions, BuildReport, build_index
from searchengine.pictures import ImageHosts
from searchengine.settings import env_name, setting
from searchengine.watch import update_line, watch_posts

__all__ = ["serve"]

#: Seconds a connection may stay silent between requests (waitress's ``channel_timeout``).
IDLE_TIMEOUT = 60
#: Open files a worker keeps for other things than connections (index files, pipes, logs).
_SPARE_FILES = 256
#: Connections the kernel queues for the workers to accept (``listen()``'s backlog).
_BACKLOG = 1024
_MAX_PORT = 65535
# getaddrinfo's codes for a host name that does not resolve (create_server re-raises them as OSError).
_UNKNOWN_NAME = {socket.EAI_NONAME, socket.EAI_AGAIN, socket.EAI_FAIL}
#: Allocations of this many bytes or more get a memory mapping of their own (see _map_large_blocks_apart).
_LARGE_BLOCK = 1 << 20
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
_LOG = logging.getLogger("waitress")
_WATCH_LOG = logging.getLogger("searchengine.watch")
#: Seconds between attempts to watch a posts folder that has vanished.
_WATCH_RETRY_SECONDS = 5


def serve(
    index_dir: Path | str,
    *,
    host: str,
    port: int,
    threads: int,
    workers: int = 1,
    connection_limit: int | None = None,
    header_timeout: float | None = None,
    aliases: Path | str | None = None,
    image_hosts: str | None = None,
    watch: Path | str | None = None,
) -> None:
    """Serve the index at ``index_dir`` on ``host:port``.

    ``workers`` processes (0: one per core) share one listening socket, each
    running waitress with ``threads`` threads: Python runs one thread at a
    time per process, so processes are what put every core to work. The
    index is checked once before listening: a missing index raises
    :class:`~searchengine.errors.IndexMissingError` (the CLI prints it as one
    line), then the address: a port out of 1-65535 or taken, or a host that
    is not an address of this machine, raises
    :class:`~searchengine.errors.ParameterError` (one line too). Each worker
    follows later builds of the index without a restart.

    Each worker holds at most ``connection_limit`` connections and closes
    those that take more than ``header_timeout`` seconds to send a request's
    headers (both default to their settings), and searches with the user alias
    table ``aliases`` (default: its setting; empty: none) besides the bundled
    one, read again whenever it changes; its pages show images from the
    hosts ``image_hosts`` allows (default: its setting; a bad value raises
    :class:`~searchengine.errors.ParameterError` before listening). A worker
    at its limit stops accepting until some of its connections close;
    meanwhile new connections wait in the listening socket's queue (1,024
    deep), taken by whichever worker has room. Blocks until interrupted.

    With ``watch``, a folder of posts, the index is first brought up to date
    with it (built if missing; a build that cannot be done raises before
    listening), then one more process, and only one whatever ``workers``,
    watches the folder and updates the index after each change (see
    :mod:`searchengine.watch`), with the build settings of the environment;
    each update is one line on stderr.
    """
    connection_limit = setting("connection_limit") if connection_limit is None else connection_limit
    header_timeout = setting("header_timeout") if header_timeout is None else header_timeout
    aliases = (setting("aliases") if aliases is None else aliases) or None
    images = str(ImageHosts.parse(setting("image_hosts") if image_hosts is None else image_hosts))
    if connection_limit < 1:
        raise ParameterError(
            f"connection_limit ({env_name('connection_limit')}) must be at least 1, not {connection_limit}"
        )
    if not header_timeout > 0:
        raise ParameterError(f"header_timeout ({env_name('header_timeout')}) must be more than 0, not {header_timeout}")
    _log_to_stderr()
    watcher = None
    if watch is not None:
        options = _build_options()
        _update_index(watch, index_dir, options)
        watcher = partial(_watch_posts, watch, index_dir, options)
    SearchEngine(index_dir, timezone=setting("timezone"), aliases=aliases)  # fail now, not in every worker
    workers = workers if workers > 0 else (os.cpu_count() or 1)
    limits = _Limits(_open_files_for(connection_limit), header_timeout)  # before forking: workers inherit it
    if workers == 1 and watcher is None:
        _serve_one(index_dir, aliases, images, threads, limits, host=host, port=port)
        return
    listener = _listen(host, port)
    _LOG.info("Serving on http://%s:%s with %d process%s", host, port, workers, "" if workers == 1 else "es")
    _Supervisor(
        lambda: _serve_one(index_dir, aliases, images, threads, limits, sockets=[listener]), workers, watcher
    ).run()


def _build_options() -> BuildOptions:
    """How ``serve --watch`` builds: the build settings, from the environment or their defaults."""
    user_dict = setting("user_dict")
    return BuildOptions(
        workers=setting("workers"),
        build_memory=setting("build_memory"),
        timezone=setting("timezone"),
        max_post_bytes=setting("max_post_bytes"),
        lock_timeout=setting("lock_timeout"),
        user_dict=Path(user_dict) if user_dict else None,
        follow_outside=setting("follow_outside"),
    )


def _update_index(posts_dir: Path | str, index_dir: Path | str, options: BuildOptions) -> None:
    """Bring the index up to date with the posts before serving it; raises when it cannot be done."""
    report = build_index(posts_dir, index_dir, options)
    _log_update(report)
    _WATCH_LOG.info("the index at %s holds %d posts; watching %s", index_dir, report.documents, posts_dir)


def _watch_posts(posts_dir: Path | str, index_dir: Path | str, options: BuildOptions) -> None:
    """The watcher process: updates the index after each change, for as long as the server runs.

    A posts folder that vanishes or is replaced ends a watch: the next one
    starts once a folder is there again, so the folder may be moved away and
    restored, or replaced.
    """
    shown = ""  # the reason the last watch ended, said once, not at every retry

    def updated(report: BuildReport) -> None:
        nonlocal shown
        shown = ""
        _log_update(report)

    while True:
        try:
            watch_posts(posts_dir, index_dir, options, on_update=updated, on_error=_log_not_updated)
        except SearchEngineError as error:
            if str(error) != shown:
                shown = str(error)
                _WATCH_LOG.warning("%s; watching again once the folder is there", error)
            time.sleep(_WATCH_RETRY_SECONDS)


def _log_update(report: BuildReport) -> None:
    for failure in report.failed:
        _WATCH_LOG.warning("error: %s", failure)
    line = update_line(report)
    if line is not None:
        _WATCH_LOG.info("%s", line)


def _log_not_updated(error: SearchEngineError) -> None:
    _WATCH_LOG.warning("not updated: %s", error)


class _Limits(NamedTuple):
    """What each worker process allows its clients."""

    connection_limit: int
    header_timeout: float


def _serve_one(
    index_dir: Path | str, aliases: Path | str | None, image_hosts: str, threads: int, limits: _Limits, **where: Any
) -> None:
    """One waitress server over its own engine (file handles are never shared across a fork)."""
    from searchengine.web import create_app

    _map_large_blocks_apart()
    engine = SearchEngine(index_dir, timezone=setting("timezone"), aliases=aliases)
    # The sound table for corrections takes seconds on a large index: made
    # before serving, so that no reader's first correction waits for it, and
    # a worker's memory is all there from its first request.
    engine.warm_up()
    app = create_app(
        {"ENGINE": engine, "INDEX_DIR": str(index_dir), "ALIASES": str(aliases or ""), "IMAGE_HOSTS": image_hosts}
    )
    waitress.serve(
        app,
        _server=partial(_create_server, header_timeout=limits.header_timeout),  # waitress.serve's server maker
        threads=threads,
        ident="searchengine",
        asyncore_use_poll=True,  # no select() limit on open sockets
        connection_limit=limits.connection_limit,
        channel_timeout=IDLE_TIMEOUT,
        cleanup_interval=1,  # how often maintenance looks for connections past a deadline
        **where,
    )


def _create_server(application: Any, *, header_timeout: float, host: str = "", port: int = 0, **kw: Any) -> _Server:
    """``waitress.create_server`` for one listening socket, making our :class:`_Server`.

    (``waitress.serve`` takes it as ``_server``.) Listens on ``host:port``
    unless given ``sockets=[listener]``.
    """
    sockets = kw.pop("sockets", None) or [_listen(host, port)]
    [listener] = sockets
    adj = Adjustments(sockets=sockets, **kw)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    return _Server(
        application,
        map={},
        _sock=listener,
        bind_socket=False,
        sockinfo=(listener.family, listener.type, listener.proto, listener.getsockname()),
        dispatcher=dispatcher,
        adj=adj,
        header_timeout=header_timeout,
    )


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket; its queue holds the connections no worker has taken yet.

    :raises ParameterError: ``host:port`` cannot be listened on; the message
        names the parameter and why, so that the CLI prints one line, not
        the traceback of a ``bind`` (a port taken, a host of another machine).
    """
    if not 1 <= port <= _MAX_PORT:
        raise ParameterError(f"port ({env_name('port')}) must be from 1 to {_MAX_PORT}, not {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=_BACKLOG)
    except OSError as exc:
        raise ParameterError(_cannot_listen(host, port, exc)) from None


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    """Why ``host:port`` cannot be listened on, naming the parameter to change."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} ({env_name('port')}) is already in use on {host}: "
            "stop what listens there or choose another port"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"host {host} ({env_name('host')}) is not an address of this machine: "
            "use 127.0.0.1 (this machine only), 0.0.0.0 (every network) or one of its own addresses"
        )
    if error.errno in _UNKNOWN_NAME:
        return f"host {host} ({env_name('host')}) is not a known name or address"
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


def _map_large_blocks_apart() -> None:
    """Have glibc give every large allocation a mapping of its own, returned to the system when freed.

    An index view holds tens of megabytes in large blocks (whoosh copies
    segment files into memory), and a worker opens one per index update.
    glibc maps large blocks apart at first, but raises that size limit each
    time such a block is freed (up to 32 MB); from then on views come from
    the heaps of the threads that open them, and a replaced view's memory
    mostly stays with the process. A fixed limit (glibc's M_MMAP_THRESHOLD)
    stops that growth. Nothing happens without glibc.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no C library by that name, or no such function
        return
    mallopt(_M_MMAP_THRESHOLD, _LARGE_BLOCK)


def _open_files_for(connections: int) -> int:
    """Let this process open enough files for ``connections``; the connection limit that fits.

    Without this, a limit above the open-file limit makes ``accept()`` fail
    with EMFILE, which waitress logs and retries in a busy loop.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + _SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < wanted:
        fits = max(soft - _SPARE_FILES, 1)
        _LOG.warning(
            "connection limit lowered from %d to %d: this process may open %d files (ulimit -n)",
            connections,
            fits,
            soft,
        )
        return fits
    return connections


class _HeaderClock:
    """Since when a connection has been waiting for the headers of a request (None: it is not)."""

    __slots__ = ("started",)

    def __init__(self, started: float | None) -> None:
        self.started = started


class _Request(HTTPRequestParser):
    """A request being received, which stops its connection's header clock once its headers are in."""

    def __init__(self, adj: Adjustments, clock: _HeaderClock) -> None:
        super().__init__(adj)
        self._clock = clock

    def received(self, data: bytes) -> int:
        if self._clock.started is None and not self.headers_finished:
            self._clock.started = time.time()  # the first byte of a request on a kept-alive connection
        consumed: int = super().received(data)
        # Blank lines between requests make "empty" requests: they do not stop the clock.
        if (self.headers_finished or self.completed) and not self.empty:
            self._clock.started = None
        return consumed


class _Channel(HTTPChannel):
    """waitress's connection, with a clock on the headers of the request being received.

    waitress makes each request with ``self.parser_class(adj)`` on its first
    byte (in the server's main thread); ours share the channel's clock. The
    clock of a new connection runs from its acceptance: a client that
    connects and says nothing is shed like one that talks slowly.
    """

    def __init__(self, server: _Server, sock: socket.socket, addr: Any, adj: Adjustments, map: Any = None) -> None:
        self.header_clock = _HeaderClock(time.time())
        self.parser_class = partial(_Request, clock=self.header_clock)
        super().__init__(server, sock, addr, adj, map=map)


class _Server(TcpWSGIServer):
    """waitress's server, which also closes connections past their header deadline."""

    channel_class = _Channel

    def __init__(self, application: Any, *, header_timeout: float, **kw: Any) -> None:
        self.header_timeout = header_timeout
        super().__init__(application, **kw)

    def maintenance(self, now: float) -> None:
        """Close silent connections (waitress) and those whose request headers are late (ours).

        Runs in the main thread every ``cleanup_interval`` seconds (1); a
        channel marked ``will_close`` is closed by the event loop on its next turn.
        """
        super().maintenance(now)
        cutoff = now - self.header_timeout
        late = 0
        for channel in self.active_channels.values():
            started = channel.header_clock.started
            if started is not None and started < cutoff and not channel.requests and not channel.will_close:
                channel.will_close = True
                late += 1
        if late:
            self.pull_trigger()  # wake the event loop to close them now, not after its next timeout
            _LOG.info("closed %d connections that sent no complete request headers in %g s", late, self.header_timeout)


class _Supervisor:
    """Forks the worker processes (and the posts watcher, if any), replaces any that dies, stops them all on a signal.

    A stop signal that comes while a worker is being forked must neither miss
    the new worker (it would outlive the supervisor, holding the port) nor
    reach the worker before it has given up the supervisor's signal handlers
    (it would then ignore it): the stop signals are held back across the fork.
    """

    STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}

    def __init__(self, target: Callable[[], None], count: int, watcher: Callable[[], None] | None = None) -> None:
        self.targets = [target] * count + ([watcher] if watcher else [])  # what each process runs
        self.children: dict[int, Callable[[], None]] = {}
        self.stopping = False

    def run(self) -> None:
        for signum in self.STOP_SIGNALS:
            signal.signal(signum, self._stop)
        for target in self.targets:
            self._fork(target)
        while self.children:
            try:
                pid, _ = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            exited = self.children.pop(pid) if pid in self.children else None  # None: stopped meanwhile
            if exited is not None and not self.stopping:
                logging.getLogger("waitress").warning("worker %d exited; starting another", pid)
                time.sleep(0.5)  # a worker that cannot start must not spin
                self._fork(exited)

    def _fork(self, target: Callable[[], None]) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, self.STOP_SIGNALS)
        try:
            if self.stopping:
                return
            pid = os.fork()
            if pid == 0:  # the worker
                for signum in self.STOP_SIGNALS:
                    signal.signal(signum, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, self.STOP_SIGNALS)
                try:
                    target()
                finally:
                    os._exit(0)
            self.children[pid] = target
            if self.stopping:  # a stop signal was already on its way when this fork began
                os.kill(pid, signal.SIGTERM)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.STOP_SIGNALS)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                del self.children[pid]


def _log_to_stderr() -> None:
    """Show waitress's own messages ("Serving on …", queue warnings) and the watcher's on stderr, once each."""
    for logger in (_LOG, _WATCH_LOG):
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False  # waitress.serve() also configures the root logger
