"""The `searchengine` command, through click's runner and as installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchengine import SearchEngine
from searchengine.cli import EXIT_PARTIAL, main
from searchengine.settings import SETTINGS, env_name
from tooling import SEARCHENGINE, free_port, run_in_terminal, without_colours

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, sample_posts: Path) -> Path:
    folder = tmp_path_factory.mktemp("cli-index")
    result = CliRunner().invoke(main, ["index", str(sample_posts), "--index", str(folder), "--quiet"])
    assert result.exit_code == 0, result.output
    return folder


def test_index_prints_a_summary_and_json(sample_posts: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["index", str(sample_posts), "--index", str(tmp_path)])
    assert result.exit_code == 0
    assert "35 posts: 35 added, 0 updated, 0 removed, 0 unchanged, 0 failed" in result.output
    again = runner.invoke(main, ["index", str(sample_posts), "--index", str(tmp_path), "--json"])
    summary = json.loads(again.output)
    assert summary["status"] == "ok" and summary["unchanged"] == 35 and summary["added"] == 0
    assert {"added", "updated", "removed", "failed", "seconds", "errors", "warnings"} <= set(summary)


def test_index_changed_looks_at_the_named_posts_alone(sample_posts: Path, tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    shutil.copytree(sample_posts, posts)
    runner = CliRunner()
    assert runner.invoke(main, ["index", str(posts), "--index", str(tmp_path / "index"), "--quiet"]).exit_code == 0
    (posts / "new.md").write_text("---\ntitle: 钩子\n---\n\n钩子知道改了什么：鸬鹚。\n", encoding="utf-8")
    (posts / "bad.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")  # not named: not looked at
    named = ["--changed", str(posts / "new.md"), "--changed", str(posts / "gone.md")]
    result = runner.invoke(main, ["index", str(posts), "--index", str(tmp_path / "index"), *named, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["posts"], summary["added"], summary["removed"], summary["failed"]) == (1, 1, 0, 0)
    assert summary["documents"] == 36
    assert [hit.path for hit in SearchEngine(tmp_path / "index").search("鸬鹚").hits] == ["new.md"]


def test_index_exit_status_tells_partial_from_failure(sample_posts: Path, tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    shutil.copytree(sample_posts, posts)
    (posts / "bad.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    partial = CliRunner().invoke(main, ["index", str(posts), "--index", str(tmp_path / "i1")])
    assert partial.exit_code == EXIT_PARTIAL
    assert "bad.md: malformed front matter" in partial.output
    missing = CliRunner().invoke(main, ["index", str(tmp_path / "nope"), "--index", str(tmp_path / "i2")])
    assert missing.exit_code == 1
    assert "Error: posts folder" in missing.output and "Traceback" not in missing.output


def test_search_json_is_the_library_result(index: Path) -> None:
    result = CliRunner().invoke(main, ["search", "莫斯科模式", "--index", str(index), "--json"])
    assert result.exit_code == 0
    printed = json.loads(result.output)
    expected = SearchEngine(index).search("莫斯科模式").to_dict()
    printed.pop("took_ms"), expected.pop("took_ms")
    assert printed == expected


def test_search_prints_plain_text_when_piped(index: Path) -> None:
    result = CliRunner().invoke(main, ["search", "卡布洛夫", "--index", str(index), "--limit", "1"])
    assert result.exit_code == 0
    assert "1-1 of 2 results" in result.output
    assert "guancha/" in result.output and "卡布洛夫" in result.output
    assert "\x1b[" not in result.output


# --- forgiving search: what the command says it did ------------------------------

CORRECTED = "已显示“卡布洛夫”的结果 · 仍然搜索：kabuluofu（加上 --no-correct）"


def test_search_in_a_terminal_says_what_it_corrected(index: Path) -> None:
    status, output = run_in_terminal([*SEARCHENGINE, "search", "kabuluofu", "--index", str(index), "--limit", "1"])
    assert status == 0, output
    assert "\x1b[" in output  # a terminal: in colour
    lines = without_colours(output).splitlines()
    assert lines[0] == CORRECTED and lines[1].startswith("1-1 of 2 results")
    assert re.fullmatch(r"\d{4}(-\d\d)?–\d{4}(-\d\d)? [ ▁▂▃▄▅▆▇█]+", lines[2])  # the timeline of both matches
    assert "卡布洛夫" in lines[6]  # the snippet, with the corrected query's matches
    status, output = run_in_terminal(
        [*SEARCHENGINE, "search", "kabuluofu", "--index", str(index), "--no-correct"]
    )
    assert status == 0, output
    hint, summary = without_colours(output).splitlines()
    assert hint == "hint: no post matches; try fewer words, other spellings, or no quotes or filters"
    assert summary.startswith("0 results")


def test_search_json_says_what_it_did_with_the_query(index: Path) -> None:
    printed = json.loads(CliRunner().invoke(main, ["search", "阿富汉", "--index", str(index), "--json"]).output)
    expected = SearchEngine(index).search("阿富汉").to_dict()
    printed.pop("took_ms"), expected.pop("took_ms")
    assert printed == expected
    assert printed["corrected"] == "阿富汗" and printed["total"] == 2
    assert printed["did_you_mean"] is None and printed["expansions"] == []
    as_typed = CliRunner().invoke(main, ["search", "阿富汉", "--index", str(index), "--json", "--no-correct"])
    printed = json.loads(as_typed.output)
    assert printed["query"] == "阿富汉" and printed["corrected"] is None and printed["total"] == 0


def test_search_offers_a_better_query_and_names_other_forms(forgiving_index: Path) -> None:
    offered = CliRunner().invoke(main, ["search", "经纪", "--index", str(forgiving_index)])
    assert offered.exit_code == 0
    assert offered.output.splitlines()[0] == "您是不是要找：经济"
    assert "房产经纪行业新规" in offered.output  # the results are still the typed query's
    expanded = CliRunner().invoke(main, ["search", "川普", "--index", str(forgiving_index)])
    assert expanded.output.splitlines()[0] == "同时搜索了：川普 → 特朗普"
    assert "特朗普再谈关税" in expanded.output
    data = json.loads(CliRunner().invoke(main, ["search", "川普", "--index", str(forgiving_index), "--json"]).output)
    assert data["expansions"] == [{"term": "川普", "forms": ["特朗普"], "source": "alias"}]


def test_search_with_a_user_alias_table(
    forgiving_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "aliases.txt"
    table.write_text("# ours\n房产经纪 楼市掮客\n", encoding="utf-8")
    search = ["search", "楼市掮客", "--index", str(forgiving_index)]
    assert "0 results" in CliRunner().invoke(main, search).output
    found = CliRunner().invoke(main, [*search, "--aliases", str(table)])
    assert found.exit_code == 0, found.output
    assert found.output.splitlines()[0] == "同时搜索了：楼市掮客 → 房产经纪"
    assert "forgiving/2024/2024-06-02-brokers.md" in found.output
    monkeypatch.setenv(env_name("aliases"), str(table))
    assert "forgiving/2024/2024-06-02-brokers.md" in CliRunner().invoke(main, search).output
    missing = CliRunner().invoke(main, [*search, "--aliases", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1 and len(missing.output.splitlines()) == 1
    assert missing.output.startswith("Error: aliases ") and "nope.txt" in missing.output
    table.write_text("房产经纪\n", encoding="utf-8")
    broken = CliRunner().invoke(main, [*search, "--aliases", str(table)])
    assert broken.exit_code == 1 and len(broken.output.splitlines()) == 1
    assert f"{table}:1" in broken.output and "Traceback" not in broken.output


def test_search_without_an_index_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["search", "x", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no index at") and len(result.output.splitlines()) == 1


def test_analyze_shows_both_layers(index: Path) -> None:
    result = CliRunner().invoke(main, ["analyze", "習近平在ＡＰＥＣ會議", "--index", str(index)])
    assert result.exit_code == 0
    assert "normalized: 习近平在apec会议" in result.output
    assert "习近平@0" in result.output
    assert "^习@0 习近@0 近平@1 平在@2 在a@3 ap@4 pe@5 ec@6 c会@7 会议@8 议@9" in result.output


def test_stats(index: Path) -> None:
    result = CliRunner().invoke(main, ["stats", "--index", str(index), "--json"])
    assert json.loads(result.output)["documents"] == 35


def test_settings_come_from_the_environment(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_name("index"), str(index))
    result = CliRunner().invoke(main, ["search", "莫斯科模式"])
    assert result.exit_code == 0 and "of 1 results" in result.output


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in SETTINGS:
        assert f"`{env_name(name)}`" in readme, name


def test_python_dash_m_works(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "searchengine", "--help"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "searchengine index POSTS_DIR" in result.stdout


def test_a_plain_pip_install_works_from_outside_the_checkout(tmp_path: Path) -> None:
    """`pip install .` (a wheel, not an editable install) gives a working command.

    The new virtualenv borrows the dependencies from this one instead of
    downloading them, so the test checks our packaging, not the network.
    """
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = Path(subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip())
    subprocess.run(
        [venv / "bin" / "pip", "install", "--quiet", "--no-deps", *wheels.glob("searchengine-*.whl")],
        check=True, cwd=tmp_path, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    # Only now, so that pip does not take this environment's searchengine
    # for an installed copy and skip the wheel.
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    command = venv / "bin" / "searchengine"
    assert "searchengine index POSTS_DIR" in subprocess.run(
        [command, "--help"], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import searchengine.web, searchengine; print(searchengine.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout
    assert str(venv) in where
    demo = subprocess.run(
        [command, "demo", "--index", str(tmp_path / "index"), "--no-serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert demo.returncode == 0, demo.stderr
    assert "35 added" in demo.stdout


# --- what a new user runs into: the page past the end, an empty query ---------------


def test_search_past_the_last_page_says_how_many_pages_there_are(index: Path) -> None:
    one = CliRunner().invoke(main, ["search", "莫斯科模式", "--index", str(index), "--page", "999"])
    assert one.exit_code == 0
    [line] = one.output.splitlines()
    assert re.fullmatch(r"1 results, but no page 999: there is only 1 page of 10 \(\d+ ms\)", line), line
    expected = SearchEngine(index).search("经济", limit=5)
    assert expected.pages > 1
    many = CliRunner().invoke(main, ["search", "经济", "--index", str(index), "--limit", "5", "--page", "999"])
    assert many.exit_code == 0
    [line] = many.output.splitlines()
    summary = f"{expected.total} results, but no page 999: there are only {expected.pages} pages of 5"
    assert re.fullmatch(rf"{summary} \(\d+ ms\)", line), line


@pytest.mark.parametrize("query", ["", "   "])
def test_search_for_nothing_says_what_to_type(index: Path, query: str) -> None:
    result = CliRunner().invoke(main, ["search", query, "--index", str(index)])
    assert result.exit_code == 1
    assert result.output == (
        "Error: nothing to search for: type words to find (searchengine search 莫斯科模式), a phrase in quotes "
        "('\"一带一路\"') or a filter (--category 国际); the README lists the query syntax\n"
    )
    filtered = CliRunner().invoke(main, ["search", query, "--index", str(index), "--category", "国际"])
    assert filtered.exit_code == 0, filtered.output
    assert re.fullmatch(r"1-10 of \d+ results \(\d+ ms\)", filtered.output.splitlines()[0])


# --- serve and demo: an address they cannot listen on ----------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port that a real socket listens on for the test's duration."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def _start(command: str, index: Path, *options: str, workers: str = "2") -> subprocess.CompletedProcess[str]:
    """``searchengine serve`` or ``searchengine demo`` over ``index``, run as a user runs it."""
    env = {**os.environ, env_name("web_workers"): workers}
    return subprocess.run(
        [*SEARCHENGINE, command, "--index", str(index), *options],
        capture_output=True, text=True, env=env, timeout=120,
    )


def _assert_one_line_error(run: subprocess.CompletedProcess[str], error: str) -> None:
    assert run.returncode == 1
    assert run.stderr == f"Error: {error}\n"
    assert "Traceback" not in run.stdout + run.stderr and "Serving" not in run.stdout + run.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_port_in_use_is_one_line(index: Path, taken_port: int, workers: str) -> None:
    """One worker binds in waitress's own call, several before forking: both say it the same way."""
    run = _start("serve", index, "--port", str(taken_port), workers=workers)
    busy = f"port {taken_port} (SEARCHENGINE_PORT) is already in use on 127.0.0.1: "
    _assert_one_line_error(run, busy + "stop what listens there or choose another port")
    assert run.stdout == ""


NOT_HERE = (
    "host 192.0.2.1 (SEARCHENGINE_HOST) is not an address of this machine: "
    "use 127.0.0.1 (this machine only), 0.0.0.0 (every network) or one of its own addresses"
)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--port", "0"], "port (SEARCHENGINE_PORT) must be from 1 to 65535, not 0"),
        (["--port", "65536"], "port (SEARCHENGINE_PORT) must be from 1 to 65535, not 65536"),
        (["--host", "192.0.2.1", "--port", "8080"], NOT_HERE),  # TEST-NET-1: no machine's own address
        (["--host", "nowhere.invalid"], "host nowhere.invalid (SEARCHENGINE_HOST) is not a known name or address"),
    ],
    ids=["port-0", "port-65536", "host-elsewhere", "host-unknown"],
)
def test_serve_on_an_address_it_cannot_have_is_one_line(index: Path, options: list[str], error: str) -> None:
    _assert_one_line_error(_start("serve", index, *options), error)


def test_a_bad_port_in_the_environment_is_one_line(index: Path) -> None:
    for command in ("serve", "demo"):
        result = CliRunner().invoke(main, [command, "--index", str(index)], env={env_name("port"): "http"})
        assert result.exit_code == 1
        assert result.output == "Error: SEARCHENGINE_PORT='http': not a valid int\n"


def test_demo_on_an_address_it_cannot_have_is_one_line(tmp_path: Path, taken_port: int) -> None:
    """The sample posts are indexed (and said so), then the server's address is refused in one line."""
    busy = _start("demo", tmp_path / "index", "--port", str(taken_port))
    error = f"port {taken_port} (SEARCHENGINE_PORT) is already in use on 127.0.0.1: "
    _assert_one_line_error(busy, error + "stop what listens there or choose another port")
    assert busy.stdout.startswith("35 posts: 35 added") and len(busy.stdout.splitlines()) == 1
    out_of_range = _start("demo", tmp_path / "index", "--port", "70000")
    _assert_one_line_error(out_of_range, "port (SEARCHENGINE_PORT) must be from 1 to 65535, not 70000")
    _assert_one_line_error(_start("demo", tmp_path / "index", "--host", "192.0.2.1"), NOT_HERE)


def test_demo_says_serving_only_once_it_listens(tmp_path: Path) -> None:
    """The moment "Serving" is printed, a connection to the port is accepted."""
    port = free_port()
    command = [*SEARCHENGINE, "demo", "--index", str(tmp_path / "index"), "--port", str(port)]
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        watchdog = threading.Timer(120, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if "Serving" in line:
                    with socket.create_connection(("127.0.0.1", port), timeout=5):
                        break
        finally:
            process.terminate()
            watchdog.cancel()
    assert lines[0].startswith("35 posts: 35 added"), lines
    assert lines[-1].startswith(f"waitress: Serving on http://127.0.0.1:{port}"), lines


@pytest.mark.parametrize(("raw", "megabytes"), [("1024", 1024), ("800MB", 800), ("1.5GB", 1536), (" 2 g ", 2048)])
def test_build_memory_takes_megabytes_or_a_unit(raw: str, megabytes: int, sample_posts: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["index", str(sample_posts), "--index", str(tmp_path / "ix"), "--build-memory", raw, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["documents"] == 35
    assert SETTINGS["build_memory"].kind(raw) == megabytes


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("100", "'100' is too small: a build needs at least 256 MB"), ("lots", "'lots' is not a size: give MB")],
)
def test_a_bad_build_memory_is_one_line_naming_it(raw: str, reason: str, sample_posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    given = CliRunner().invoke(main, ["index", str(sample_posts), "--index", str(index), "--build-memory", raw])
    assert given.exit_code == 2 and f"Invalid value for '--build-memory': {reason}" in given.output
    from_env = CliRunner().invoke(main, ["index", str(sample_posts), "--index", str(index)], env={
        env_name("build_memory"): raw
    })
    assert from_env.exit_code != 0 and f"SEARCHENGINE_BUILD_MEMORY='{raw}': {reason}" in from_env.output
    assert not index.exists()
