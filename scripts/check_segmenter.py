"""Check that the accelerator (rjieba) finds jieba's words in every post under POSTS_DIR.

    python scripts/check_segmenter.py POSTS_DIR [--every N] [--workers N]

Each post is read as the indexer reads it; its normalized title and body
are segmented twice, by jieba alone and with the accelerator (see
:mod:`searchengine.segmenter`), with the default user dictionary. Prints
the posts, characters, seconds of each segmenter (CPU, summed over the
workers) and the texts whose words differ, each with its first difference;
exits 1 when any differs or the accelerator is not installed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from searchengine.analysis import AnalysisSettings, analyzer_for
from searchengine.documents import load_post, walk_posts
from searchengine.errors import DocumentError
from searchengine.normalize import normalize
from searchengine.segmenter import Segmenter, rjieba


class Checked(NamedTuple):
    """One post's texts: characters, CPU seconds of each segmenter, and the differences found."""

    chars: int
    slow_seconds: float
    fast_seconds: float
    differences: list[str]


_SEGMENTERS: tuple[Segmenter, Segmenter] | None = None


def _segmenters() -> tuple[Segmenter, Segmenter]:
    """jieba alone and accelerated, over the same jieba (made once per worker)."""
    global _SEGMENTERS
    if _SEGMENTERS is None:
        analyzer = analyzer_for(AnalysisSettings.from_dict_file())
        analyzer.warm_up()
        tokenizer = analyzer._jieba
        _SEGMENTERS = Segmenter(tokenizer, accelerate=False), Segmenter(tokenizer, accelerate=True)
    return _SEGMENTERS


def check_post(path: Path, root: Path) -> Checked:
    slow, fast = _segmenters()
    try:
        post = load_post(path, root)
    except DocumentError as error:
        return Checked(0, 0.0, 0.0, [f"{path}: cannot read: {error}"])
    chars, slow_seconds, fast_seconds, differences = 0, 0.0, 0.0, []
    for name, text in (("title", normalize(post.title)), ("body", normalize(post.body))):
        chars += len(text)
        started = time.process_time()
        expected = list(slow.tokenize(text))
        slow_seconds += time.process_time() - started
        started = time.process_time()
        found = list(fast.tokenize(text))
        fast_seconds += time.process_time() - started
        if found != expected:
            pairs = enumerate(zip(expected, found, strict=False))
            at = next((i for i, (want, got) in pairs if want != got), min(len(expected), len(found)))
            differences.append(f"{path} ({name}): jieba {expected[at : at + 4]}, accelerated {found[at : at + 4]}")
    return Checked(chars, slow_seconds, fast_seconds, differences)


def _check(task: tuple[str, str]) -> Checked:
    return check_post(Path(task[0]), Path(task[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("posts", type=Path, help="folder of posts")
    parser.add_argument("--every", type=int, default=1, help="check every Nth post only (default: all)")
    parser.add_argument("--workers", type=int, default=0, help="processes (default: one per core)")
    args = parser.parse_args(argv)
    if rjieba is None:
        print("the accelerator is not installed: pip install searchengine[fast]", file=sys.stderr)
        return 1
    root = args.posts.resolve()
    paths = [path for i, path in enumerate(walk_posts(root)) if i % args.every == 0]
    tasks: Iterator[tuple[str, str]] = ((str(path), str(root)) for path in paths)
    _segmenters()  # before forking: the workers share the dictionaries
    posts = chars = differing = 0
    slow_seconds = fast_seconds = 0.0
    with multiprocessing.get_context("fork").Pool(args.workers or None) as pool:
        for checked in pool.imap_unordered(_check, tasks, chunksize=16):
            posts += 1
            chars += checked.chars
            slow_seconds += checked.slow_seconds
            fast_seconds += checked.fast_seconds
            differing += len(checked.differences)
            for difference in checked.differences:
                print(difference, file=sys.stderr)
    print(
        f"{posts:,} posts, {chars:,} characters: {differing} texts differ; "
        f"jieba {slow_seconds:.1f} s ({chars / max(slow_seconds, 1e-9) / 1e6:.3f} M chars/s), "
        f"accelerated {fast_seconds:.1f} s ({chars / max(fast_seconds, 1e-9) / 1e6:.3f} M chars/s) of CPU"
    )
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
