"""Load-test the web app: ``searchengine serve`` over an index, hammered by wrk.

    python scripts/loadtest.py INDEX_DIR [--connections 50] [--duration 30] [--threads N] [--warm-passes 8]

Starts ``searchengine serve`` (waitress) on a free port over INDEX_DIR, checks
that every URL of the mix answers as it must, warms the server up with
``--warm-passes`` passes over the mix (each request on a new connection,
which the kernel hands to any of the server's processes, so that each has
most likely answered each URL before: steady state, not a cold start; the
server's page cache keeps them), then runs wrk (Debian package ``wrk``)
with the given number of connections for the given number of seconds. Each
wrk connection cycles through a mix of searches: common words (中国, 发展),
names, phrases, OR/exclusion/field syntax, filters, dates as the timeline
and the date-range control ask for them, page 2, sort=date, the JSON API,
completion, the Atom feed, post pages (every search page draws its
timeline) and a few bad URLs that must be refused (an unknown post: 404; a
page that is not a number: 400) or cut short (a query of 2,000 characters).
Prints requests/s, latency p50/p90/p99, the responses whose status is not the
one their URL must answer, and socket errors, and the machine's state.
Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

from searchengine.engine import SearchEngine
from searchengine.settings import setting

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test tooling: real servers
from tooling import children, running  # noqa: E402

SEARCHES = [
    {"q": "中国"},
    {"q": "发展"},
    {"q": "习近平"},
    {"q": "普京"},
    {"q": "莫斯科模式"},
    {"q": '"一带一路"'},
    {"q": '"人类命运共同体"'},
    {"q": "经济 发展"},
    {"q": "中国 OR 俄罗斯 -美国"},
    {"q": "title:习近平"},
    {"q": "date:2021-10 阿富汗"},
    {"q": "中国", "page": "2"},
    {"q": "发展", "sort": "date"},
    {"q": "改革", "year": "2019"},
    {"q": "中国", "category": "大国外交"},
    {"q": "经济", "author": "央视网"},
    {"q": "疫情", "sort": "date", "page": "3"},
    {"q": "塔利班"},
    {"q": "碳中和", "date": "2021"},  # a timeline bar: the months of one year
    {"q": "经济", "from": "2019-03", "to": "2019-06"},  # the date-range control
    {"q": "一带一路", "sort": "date", "page": "2"},
    {"q": "莫斯科", "tag": "俄罗斯"},
    {"q": "阿富汗 塔利班 " * 143},  # about 2,000 characters: the library reads the first 500
]
API = [
    "/api/search?" + urlencode({"q": "中国", "limit": "20"}),
    "/api/search?" + urlencode({"q": "一带一路", "sort": "date"}),
    "/api/suggest?" + urlencode({"q": "中国"}),
    "/api/suggest?" + urlencode({"q": "习近"}),
    "/feed?" + urlencode({"q": "习近平"}),  # the Atom feed of a topic
]
#: URLs that must be refused: each with the status it must answer and a text its error message holds,
#: by which a response is known to be that refusal (wrk does not say which request a response answers).
BAD = {
    "/post/" + quote("no/such/post.md"): (404, "no/such/post.md"),
    "/?" + urlencode({"q": "中国", "page": "abc"}): (400, "page must be a whole number"),
    "/api/search?" + urlencode({"q": "中国", "sort": "sideways"}): (400, "sideways"),
}

LUA = r"""
local paths = {%(paths)s}
local refusals = {%(refusals)s}  -- {status, text of its message} of each refusal the mix asks for
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  refused = 0
  statuses = {}
  position = (id * 7) %% #paths   -- threads start at different places in the mix
end

function request()
  position = position %% #paths + 1
  return wrk.format("GET", paths[position])
end

local function refused_as_asked(status, body)
  for _, refusal in ipairs(refusals) do
    if status == refusal[1] and body ~= nil and string.find(body, refusal[2], 1, true) then
      return true
    end
  end
  return false
end

function response(status, headers, body)
  if status >= 200 and status <= 299 then
    return
  end
  if refused_as_asked(status, body) then
    refused = refused + 1
  else
    unexpected = unexpected + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  local refused_total = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    refused_total = refused_total + thread:get("refused")
    for status, count in pairs(thread:get("statuses")) do
      by_status[#by_status + 1] = string.format('"%%d": %%d', status, count)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'LOADTEST {"requests": %%d, "duration_us": %%d, "bytes": %%d, "unexpected": %%d, "refused": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"mean": %%.0f, "max": %%d, "p50": %%d, "p90": %%d, "p99": %%d}, ' ..
    '"statuses": {%%s}}\n',
    summary.requests, summary.duration, summary.bytes, bad, refused_total,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    table.concat(by_status, ", ")))
end
"""


def url_mix(index_dir: Path) -> list[str]:
    """The request paths: the searches as pages, the API, a few post pages and the bad URLs."""
    paths = ["/?" + urlencode(args) for args in SEARCHES] + API
    engine = SearchEngine(index_dir, timezone=setting("timezone"))
    for hit in engine.search("阿富汗", limit=3).hits + engine.search("经济", limit=2).hits:
        paths.append("/post/" + quote(hit.path) + "?" + urlencode({"q": "阿富汗"}))
    paths += ["/post/" + quote(hit.path) for hit in engine.search("普京", limit=1).hits]  # no query to mark
    return paths + list(BAD)


def check_all(base: str, paths: list[str]) -> None:
    """GET every path once (also warming the server); stop at the first that does not answer as it must."""
    for path in paths:
        status, body = _answer(base + path)
        must_status, must_say = BAD.get(path, (200, ""))
        if status != must_status or must_say not in body:
            raise SystemExit(f"error: {path} answered {status}, not {must_status} with {must_say!r}")


def _answer(url: str) -> tuple[int, str]:
    """The status and body of a GET of ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, body.decode("utf-8", "replace")


def machine_state() -> dict[str, object]:
    state: dict[str, object] = {
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        state["memory_total_gb"] = round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1)
        state["memory_available_gb"] = round(int(meminfo["MemAvailable"].split()[0]) / 2**20, 1)
    except (OSError, KeyError, ValueError):
        pass
    return state


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def server_rss(pid: int) -> str:
    """The resident memory of the server's process and of its workers (the processes it started)."""
    workers = sorted(children(pid))
    return f"{rss_mb(pid)} MB" + (f", workers {', '.join(f'{rss_mb(w)} MB' for w in workers)}" if workers else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--connections", "-c", type=int, default=50)
    parser.add_argument("--duration", "-d", type=int, default=30, help="seconds")
    parser.add_argument("--threads", type=int, default=setting("threads"), help="server threads")
    parser.add_argument("--wrk-threads", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--timeout", type=int, default=30, help="seconds before wrk counts a request as timed out")
    parser.add_argument(
        "--warm-passes", type=int, default=8, metavar="N",
        help="passes over the mix before measuring, each URL on a new connection, so that every server process "
        "has most likely answered each URL once (1: as a freshly started server, mostly cold; at least 1)",
    )
    args = parser.parse_args(argv)
    if args.warm_passes < 1:
        parser.error("--warm-passes must be at least 1: the first pass checks every URL's status")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("error: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 1
    stats = SearchEngine(args.index_dir).stats()
    paths = url_mix(args.index_dir)
    print(
        f"index: {stats.index_dir}: {stats.documents:,} posts, "
        f"{stats.size_bytes / 2**20:.0f} MB, {stats.segments} segments"
    )
    print(f"machine before: {json.dumps(machine_state(), ensure_ascii=False)}")
    print(f"mix: {len(paths)} URLs, e.g. {', '.join(paths[:3])}")
    server_log = Path(tempfile.mkstemp(prefix="searchengine-serve-", suffix=".log")[1])
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as script:
        refusals = ", ".join(f"{{{status}, {json.dumps(text)}}}" for status, text in BAD.values())
        script.write(LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "refusals": refusals})
    try:
        with running(args.index_dir, threads=args.threads, log=server_log) as server:
            started = time.monotonic()
            for _ in range(args.warm_passes):
                check_all(server.url, paths)
            print(f"server: {server.url} (pid {server.pid}, {args.threads} threads); warm-up of "
                  f"{args.warm_passes} × {len(paths)} URLs took {time.monotonic() - started:.1f} s, "
                  f"RSS {server_rss(server.pid)}")
            command = [
                wrk, "-t", str(min(args.wrk_threads, args.connections)), "-c", str(args.connections),
                "-d", f"{args.duration}s", "--timeout", f"{args.timeout}s", "-s", script.name, server.url + "/",
            ]
            print("$ " + " ".join(command))
            finished = subprocess.run(command, capture_output=True, text=True, check=False)
            rss_after = server_rss(server.pid)
    finally:
        os.unlink(script.name)
    print(finished.stdout.rstrip())
    if finished.returncode != 0:
        print(finished.stderr, file=sys.stderr)
        return 1
    line = next((x for x in finished.stdout.splitlines() if x.startswith("LOADTEST ")), None)
    if line is None:
        print("error: wrk printed no summary", file=sys.stderr)
        return 1
    result = json.loads(line[len("LOADTEST "):])
    seconds = result["duration_us"] / 1e6
    latency = result["latency_us"]
    socket_errors = sum(result["errors"][k] for k in ("connect", "read", "write", "timeout"))
    print()
    print(f"requests:      {result['requests']:,} in {seconds:.1f} s = {result['requests'] / seconds:.1f} requests/s "
          f"({args.connections} connections, {len(paths)}-URL mix)")
    print(f"latency:       p50 {latency['p50'] / 1000:.0f} ms, p90 {latency['p90'] / 1000:.0f} ms, "
          f"p99 {latency['p99'] / 1000:.0f} ms, max {latency['max'] / 1000:.0f} ms")
    print(f"refused:       {result['refused']} as they must be ({len(BAD)} bad URLs in the mix)")
    print(f"unexpected:    {result['unexpected']} responses whose status is not the one their URL must answer")
    print(f"socket errors: {socket_errors} (connect {result['errors']['connect']}, read {result['errors']['read']}, "
          f"write {result['errors']['write']}, timeout {result['errors']['timeout']})")
    print(f"server RSS:    {rss_after} after the run")
    if result["statuses"]:
        print(f"statuses:      {result['statuses']}")
    logged = server_log.read_text(encoding="utf-8", errors="replace").splitlines()
    queue = [line for line in logged if "Task queue depth" in line]
    others = [line for line in logged if "Task queue depth" not in line]
    print(f"server log:    {server_log}: {len(queue)} 'task queue depth' warnings (all threads busy); other lines:")
    for line in others[:40]:
        print(f"    {line}")
    print(f"machine after: {json.dumps(machine_state(), ensure_ascii=False)}")
    return 0 if result["unexpected"] == 0 and socket_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
