"""Load every post under POSTS_DIR as the indexer will, and check the titles.

    python scripts/check_corpus.py POSTS_DIR

(with the package installed, or PYTHONPATH pointing at the checkout). Each post
found by ``walk_posts`` is loaded with ``load_post``; its title is compared
with the one python-frontmatter reads from the same file, the reference for
what a Hexo title is. Prints the counts (posts, errors, warnings, title
mismatches, seconds, posts/s), each problem on stderr, and exits 1 on any
error or title mismatch. The seconds count the walk and ``load_post`` only,
not the python-frontmatter comparison.
"""

from __future__ import annotations

import argparse
import codecs
import sys
import time
from pathlib import Path

import frontmatter

from searchengine.documents import load_post, walk_posts
from searchengine.errors import DocumentError, SearchEngineError


def frontmatter_title(data: bytes) -> str | None:
    """The title python-frontmatter reads from a post's bytes; None when it has none."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
    title = frontmatter.loads(text).get("title")
    return None if title is None or not str(title).strip() else str(title).strip()


def check(root: Path) -> dict[str, float]:
    """Walk and load every post under ``root``, printing each problem to stderr."""
    names = ["posts", "errors", "warnings", "title mismatches", "no front-matter title"]
    counts: dict[str, float] = dict.fromkeys(names, 0)

    def error(err: DocumentError) -> None:
        counts["errors"] += 1
        print(f"error: {err}", file=sys.stderr)

    comparing = 0.0
    start = time.perf_counter()
    for path in walk_posts(root, on_error=error):
        try:
            doc = load_post(path, root)
        except DocumentError as err:
            error(err)
            continue
        counts["posts"] += 1
        counts["warnings"] += len(doc.warnings)
        for warning in doc.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        compare_start = time.perf_counter()
        expected = frontmatter_title(path.read_bytes())
        comparing += time.perf_counter() - compare_start
        if expected is None:
            counts["no front-matter title"] += 1
        elif expected != doc.title:
            counts["title mismatches"] += 1
            print(f"title mismatch: {doc.source}: {doc.title!r} != {expected!r}", file=sys.stderr)
    counts["seconds"] = time.perf_counter() - start - comparing
    counts["posts/s"] = counts["posts"] / counts["seconds"] if counts["seconds"] else 0.0
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("posts_dir", type=Path, metavar="POSTS_DIR")
    args = parser.parse_args(argv)
    try:
        counts = check(args.posts_dir)
    except SearchEngineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for name, value in counts.items():
        shown = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
        print(f"{name + ':':24}{shown:>12}")
    return 1 if counts["errors"] or counts["title mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
