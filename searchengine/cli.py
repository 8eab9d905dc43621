"""The ``searchengine`` command: parses options, calls the library, prints.

No search logic lives here. Library errors become a one-line message and a
non-zero exit status, never a traceback.

Exit status of ``index``: 0 every post indexed, 3 some posts failed (the
rest is committed), 1 nothing could be done, 130 interrupted (nothing
committed).
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from searchengine import __version__
from searchengine.__main__ import EXIT_INTERRUPTED
from searchengine.errors import ParameterError, SearchEngineError
from searchengine.settings import SETTINGS, env_name, megabytes, setting

if TYPE_CHECKING:
    from searchengine.indexer import BuildOptions, BuildReport
    from searchengine.results import SearchResult

EXIT_PARTIAL = 3
_NOTHING_TO_SEARCH = (
    "nothing to search for: type words to find (searchengine search 莫斯科模式), a phrase in quotes "
    "('\"一带一路\"') or a filter (--category 国际); the README lists the query syntax"
)
SAMPLE_POSTS = Path(__file__).parent / "sample_posts"
#: Paths of a hit's similar posts (reprints) that the human output names.
_SIMILAR_PATHS = 3


def _option(name: str, *flags: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A click option whose default and help come from the settings table."""
    spec = SETTINGS[name]
    kwargs.setdefault("show_default", str(spec.default) if spec.default != "" else "bundled")
    return click.option(
        *(flags or (f"--{name.replace('_', '-')}",)),
        name,
        default=lambda: _setting(name),
        help=f"{spec.help} [env: {env_name(name)}]",
        **kwargs,
    )


class _Size(click.ParamType):
    """A size in MB, as the ``build_memory`` setting takes it (``1024``, ``800MB``, ``1.5GB``)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return megabytes(value)
        except ParameterError as error:
            self.fail(str(error), param, ctx)


_SIZE = _Size()


def _setting(name: str) -> Any:
    """A setting's value; a bad environment variable is one line, not a traceback."""
    try:
        return setting(name)
    except SearchEngineError as error:
        raise _fail(error) from None


def _fail(error: SearchEngineError) -> click.ClickException:
    return click.ClickException(str(error))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="searchengine")
def main() -> None:
    """Full-text search for Chinese news archives kept as Hexo-style posts.

    \b
    searchengine index POSTS_DIR      build or update the index
    searchengine search QUERY         search it
    searchengine serve                serve the search page
    searchengine demo                 index the sample posts and serve them
    """


@main.command()
@click.argument("posts_dir", type=click.Path(path_type=Path))
@_option("index", "--index", "-i", type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Re-analyse every post (needed after analysis settings change).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary (errors still printed).")
@_option("workers", type=int)
@_option("build_memory", type=_SIZE)
@_option("user_dict", type=str)
@_option("timezone")
@_option("max_post_bytes", type=int)
@_option("lock_timeout", type=float)
@_option("follow_outside", "--follow-outside/--no-follow-outside")
@click.option(
    "--changed",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Look only at this path (a post saved, added or deleted; repeat for more) instead of walking POSTS_DIR: "
    "for a hook that knows what changed. A folder, a symlink or a new index walks after all.",
)
@click.option(
    "--watch", is_flag=True, help="Then keep watching POSTS_DIR: update the index as posts are saved, until Ctrl-C."
)
def index(
    posts_dir: Path,
    index: Path,
    rebuild: bool,
    as_json: bool,
    quiet: bool,
    workers: int,
    build_memory: int,
    user_dict: Path | str,
    timezone: str,
    max_post_bytes: int,
    lock_timeout: float,
    follow_outside: bool,
    changed: tuple[Path, ...],
    watch: bool,
) -> None:
    """Build or update the index from the posts under POSTS_DIR.

    With --watch, then update it within a second or so of each post saved,
    renamed or deleted (one line per update that changed something), until
    Ctrl-C, which ends with exit status 0.
    """
    from searchengine.indexer import BuildOptions, build_index

    options = BuildOptions(
        rebuild=rebuild,
        workers=workers,
        build_memory=build_memory,
        timezone=timezone,
        max_post_bytes=max_post_bytes,
        lock_timeout=lock_timeout,
        user_dict=Path(user_dict) if user_dict else None,
        follow_outside=follow_outside,
    )
    with _progress_bar(enabled=not quiet and not as_json and sys.stderr.isatty()) as progress:
        try:
            with _interrupted_once():
                report = build_index(posts_dir, index, options, progress=progress, changed=changed or None)
        except SearchEngineError as error:
            raise _fail(error) from None
        except KeyboardInterrupt:
            click.echo(f"interrupted; nothing was committed, the index at {index} is as it was", err=True)
            sys.exit(EXIT_INTERRUPTED)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif not quiet:
        _print_report(report)
    else:
        for line in report.failed:
            click.echo(line, err=True)
    if watch:  # posts that failed may be fixed while watched: no exit status for them
        _watch(posts_dir, index, options, as_json=as_json, quiet=quiet)
        return
    if report.status == "failed":
        sys.exit(1)
    if report.status == "partial":
        sys.exit(EXIT_PARTIAL)


@contextmanager
def _interrupted_once() -> Iterator[None]:
    """Ctrl-C stops a build once; more Ctrl-C while it cleans up are ignored, not a traceback."""
    seen = False

    def handler(signum: int, frame: object) -> None:
        nonlocal seen
        if not seen:
            seen = True
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        if seen:  # stopping: further Ctrl-C must not interrupt the way out
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGINT, previous)


class _progress_bar:
    """A tqdm bar on stderr fed by the indexer's progress callback."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not self.enabled:
            return None
        from tqdm import tqdm

        def update(done: int, total: int) -> None:
            if self.bar is None:
                self.bar = tqdm(total=total, unit="post", file=sys.stderr, dynamic_ncols=True)
            self.bar.update(done - self.bar.n)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _watch(posts_dir: Path, index: Path, options: BuildOptions, *, as_json: bool, quiet: bool) -> None:
    """Update the index as posts change until Ctrl-C: a line per update that changed something."""
    from searchengine.watch import update_line, watch_posts

    def updated(report: BuildReport) -> None:
        line = update_line(report)
        if line is None:
            return
        if as_json:
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        elif quiet:
            for failure in report.failed:
                click.echo(failure, err=True)
        else:
            _print_problems(report)
            click.echo(line)

    def not_updated(error: SearchEngineError) -> None:
        click.echo(f"not updated: {error}", err=True)

    if not (quiet or as_json):
        click.echo(f"watching {posts_dir} for changes; Ctrl-C stops", err=True)
    try:
        with _interrupted_once():
            watch_posts(posts_dir, index, options, on_update=updated, on_error=not_updated)
    except SearchEngineError as error:
        raise _fail(error) from None
    except KeyboardInterrupt:  # how watching ends; an update it interrupted committed nothing
        if not (quiet or as_json):
            click.echo("stopped watching", err=True)


def _print_report(report: BuildReport) -> None:
    _print_problems(report)
    click.echo(
        f"{report.posts} posts: {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged, {len(report.failed)} failed "
        f"in {report.seconds:.1f} s; the index at {report.index_dir} holds {report.documents} posts"
    )


def _print_problems(report: BuildReport) -> None:
    """The posts a build could not read, and its warnings: one line each, on stderr."""
    for line in report.failed:
        click.echo(click.style("error: ", fg="red") + line, err=True)
    for line in report.warnings:
        click.echo(click.style("warning: ", fg="yellow") + line, err=True)


def _facet_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--category``, ``--author``, ``--tag``, ``--year``...: one option per facet; and ``--date``."""
    from searchengine.facets import FACETS

    command = click.option(
        "--date", "date", help="Only posts of this period or range: 2021, 2021-10, 2021-10-21, 2020..2021-06."
    )(command)
    for facet in reversed(FACETS):
        command = click.option(f"--{facet.name}", facet.name, help=f"Only posts with this {facet.name}.")(command)
    return command


@main.command()
@click.argument("query")
@_option("index", "--index", "-i", type=click.Path(path_type=Path))
@click.option("--limit", "-n", default=10, show_default=True, help="Results per page.")
@click.option("--page", "-p", default=1, show_default=True, help="Page of results.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@_facet_options
@click.option("--no-correct", is_flag=True, help="Search exactly as typed: no pinyin or same-sound correction.")
@click.option("--explain", is_flag=True, help="Show how each hit's score is made up.")
@click.option("--no-collapse", is_flag=True, help="List every post: do not fold reprints of a story into one hit.")
@click.option("--json", "as_json", is_flag=True, help="Print the library's result as JSON.")
@_option("timezone")
@_option("aliases", type=str, show_default="none")
def search(
    query: str,
    index: Path,
    limit: int,
    page: int,
    sort: str,
    no_correct: bool,
    explain: bool,
    no_collapse: bool,
    as_json: bool,
    timezone: str,
    aliases: str,
    **filters: str | None,
) -> None:
    """Search the index for QUERY (see the README for the query syntax).

    A query that finds nothing as typed but reads as pinyin (kabuluofu) or
    holds a same-sound slip (阿富汉) is searched as corrected, and the
    output says so; --no-correct searches it exactly as typed. --explain
    shows each hit's score in parts (see the README's ranking section).
    Reprints of one story are listed once, the others named under it
    ("+2 similar"); --no-collapse lists every post.

    An empty QUERY without a filter is refused (exit status 1), saying what
    to type; a --page past the last says how many pages there are.
    """
    from searchengine.engine import SearchEngine

    if not query.strip() and not any(filters.values()):
        raise click.ClickException(_NOTHING_TO_SEARCH)
    try:
        engine = SearchEngine(index, timezone=timezone, aliases=aliases or None)
        result = engine.search(
            query,
            limit=limit,
            page=page,
            sort=sort,
            correct=not no_correct,
            explain=explain,
            collapse=not no_collapse,
            **filters,
        )
    except SearchEngineError as error:
        raise _fail(error) from None
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    color = sys.stdout.isatty()
    for hint in result.hints:
        click.echo(f"hint: {hint.text}", err=True)
    for line in _forgiving_lines(result, color):
        click.echo(line)
    click.echo(_summary(result))
    if result.collapsed:
        folded = "1 similar post is" if result.collapsed == 1 else f"{result.collapsed} similar posts are"
        click.echo(f"({folded} listed under their stories; --no-collapse lists each)")
    if len(result.timeline) > 1 and result.hits:
        click.echo(_timeline_line(result))
    for number, hit in enumerate(result.hits, start=(page - 1) * limit + 1):
        click.echo("")
        title = _marked(hit.title_highlight.text, hit.title_highlight.spans, color, bold=True)
        click.echo(f"{number}. {title}")
        meta = " · ".join(x for x in ((hit.date or "")[:10], "、".join(hit.categories), hit.author) if x)
        click.echo(f"   {hit.path}  {meta}")
        click.echo(f"   {_marked(hit.snippet.text, hit.snippet.spans, color)}")
        if hit.similar_count:
            shown = ", ".join(other.path for other in hit.similar[:_SIMILAR_PATHS])
            more = " …" if hit.similar_count > _SIMILAR_PATHS else ""
            click.echo(f"   (+{hit.similar_count} similar: {shown}{more})")
        if hit.explain is not None:
            for line in hit.explain.lines():
                click.echo(click.style(f"   {line}", dim=True) if color else f"   {line}")


def _summary(result: SearchResult) -> str:
    """Which results the page shows, of how many; or, past the last page, how many pages there are.

    A page past the end shows nothing, which must not read as "nothing found".
    """
    took = f"({result.took_ms:.0f} ms)"
    first = (result.page - 1) * result.limit + 1
    if result.hits:
        return f"{first}-{first + len(result.hits) - 1} of {result.total} results {took}"
    if result.total:
        pages = "is only 1 page" if result.pages == 1 else f"are only {result.pages} pages"
        return f"{result.total} results, but no page {result.page}: there {pages} of {result.limit} {took}"
    return f"0 results {took}"


def _timeline_line(result: SearchResult) -> str:
    """The result's timeline as one line of bars: ``2019–2026 ▁▂█▃▃▂▂▁`` (one per year or month)."""
    bars = " ▁▂▃▄▅▆▇█"
    most = max(bucket.count for bucket in result.timeline)
    heights = "".join(bars[-(-bucket.count * (len(bars) - 1) // most)] for bucket in result.timeline)
    return f"{result.timeline[0].period}–{result.timeline[-1].period} {heights}"


def _forgiving_lines(result: SearchResult, color: bool) -> list[str]:
    """What the search did with the query, worded as the search page words it.

    The correction, with how to search as typed; a query offered instead;
    the other forms the terms were searched in.
    """

    def strong(text: str) -> str:
        return click.style(text, bold=True) if color else text

    lines = []
    if result.corrected:
        lines.append(f"已显示“{strong(result.corrected)}”的结果 · 仍然搜索：{result.query}（加上 --no-correct）")
    if result.did_you_mean:
        lines.append(f"您是不是要找：{strong(result.did_you_mean)}")
    if result.expansions:
        forms = "；".join(f"{e.term} → {'、'.join(e.forms)}" for e in result.expansions)
        lines.append(f"同时搜索了：{forms}")
    return lines


def _marked(text: str, spans: list[tuple[int, int]], color: bool, bold: bool = False) -> str:
    """Text with its matches in colour on a terminal; plain when piped."""
    if not color:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(click.style(text[last:start], bold=bold))
        out.append(click.style(text[start:end], fg="yellow", bold=True, underline=True))
        last = end
    out.append(click.style(text[last:], bold=bold))
    return "".join(out)


@main.command()
@click.argument("text")
@click.option(
    "--index", "-i", type=click.Path(path_type=Path), help="Analyse with this index's settings (its dictionary)."
)
@_option("user_dict", type=str)
def analyze(text: str, index: Path | None, user_dict: Path | str) -> None:
    """Show how TEXT is normalized and tokenized in both layers."""
    from searchengine.analysis import AnalysisSettings, analyzer_for, char_tokens
    from searchengine.normalize import normalize
    from searchengine.store import IndexFolder

    try:
        settings = IndexFolder(index).settings() if index else AnalysisSettings.from_dict_file(user_dict or None)
    except SearchEngineError as error:
        raise _fail(error) from None
    normalized = normalize(text)
    analyzer = analyzer_for(settings)
    click.echo(f"normalized: {normalized}")
    click.echo("words:      " + " ".join(f"{w}@{p}" for w, p in analyzer.word_tokens(normalized)))
    click.echo("characters: " + " ".join(f"{t}@{p}" for t, p in char_tokens(normalized)))
    click.echo(f"settings:   {settings.describe()}")


@main.command()
@_option("index", "--index", "-i", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stats(index: Path, as_json: bool) -> None:
    """Show what the index holds."""
    from searchengine.engine import SearchEngine

    try:
        found = SearchEngine(index).stats()
    except SearchEngineError as error:
        raise _fail(error) from None
    if as_json:
        click.echo(json.dumps(found.to_dict(), ensure_ascii=False, indent=2))
        return
    for key, value in found.to_dict().items():
        click.echo(f"{key}: {value}")


@main.command()
@_option("index", "--index", "-i", type=click.Path(path_type=Path))
def check(index: Path) -> None:
    """Verify the whole index: every file's checksum and every stored post.

    Exit status 0 when it is sound, 1 when it is damaged (each problem is
    listed; `searchengine index POSTS_DIR --rebuild` repairs it).
    """
    from searchengine.store import IndexFolder

    try:
        problems = IndexFolder(index).check()
    except SearchEngineError as error:
        raise _fail(error) from None
    for problem in problems:
        click.echo(f"damaged: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"the index at {index} is sound")


@main.command()
@_option("index", "--index", "-i", type=click.Path(path_type=Path))
@_option("host")
@_option("port", type=int)
@_option("threads", type=int)
@_option("web_workers", "--workers", type=int)
@_option("connection_limit", type=int)
@_option("header_timeout", type=float)
@_option("aliases", type=str, show_default="none")
@_option("image_hosts", type=str)
@click.option(
    "--watch",
    type=click.Path(path_type=Path),
    metavar="POSTS_DIR",
    help="Also keep the index up to date with POSTS_DIR as posts are saved, renamed or deleted.",
)
def serve(
    index: Path,
    host: str,
    port: int,
    threads: int,
    web_workers: int,
    connection_limit: int,
    header_timeout: float,
    aliases: str,
    image_hosts: str,
    watch: Path | None,
) -> None:
    """Serve the search page and JSON API with a production WSGI server.

    With --watch POSTS_DIR, the index is first brought up to date with the
    posts (built if missing), then one process watches the folder and updates
    it after each change; the server shows every update on its next search.
    """
    _serve(
        index,
        host=host,
        port=port,
        threads=threads,
        workers=web_workers,
        connection_limit=connection_limit,
        header_timeout=header_timeout,
        aliases=aliases,
        image_hosts=image_hosts,
        watch=watch,
    )


def _serve(index: Path, **options: Any) -> None:
    """Run the web server until it is stopped; a reason it cannot start is one line.

    Nothing is printed here: the server says "Serving on ..." itself, once
    it listens, and not before (the index may be missing, the port taken).
    """
    from searchengine.web.server import serve as run_server

    try:
        run_server(index, **options)
    except SearchEngineError as error:
        raise _fail(error) from None


@main.command()
@_option("index", "--index", "-i", type=click.Path(path_type=Path))
@_option("host")
@_option("port", type=int)
@click.option("--no-serve", is_flag=True, help="Only build the index.")
def demo(index: Path, host: str, port: int, no_serve: bool) -> None:
    """Index the bundled sample posts into --index, then serve them."""
    from searchengine.errors import IncompatibleIndexError, IndexDamagedError
    from searchengine.indexer import BuildOptions, build_index

    try:
        try:
            report = build_index(SAMPLE_POSTS, index, BuildOptions())
        except (IncompatibleIndexError, IndexDamagedError) as error:  # old or damaged: the demo owns it
            click.echo(f"{error}; rebuilding", err=True)
            report = build_index(SAMPLE_POSTS, index, BuildOptions(rebuild=True))
    except SearchEngineError as error:
        raise _fail(error) from None
    _print_report(report)
    if not no_serve:
        _serve(index, host=host, port=port, threads=_setting("threads"), workers=_setting("web_workers"))
