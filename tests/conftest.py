"""Shared fixtures: real posts, real corpora, real indexes in temp dirs.

The shared corpus lives beside the checkout in ``../shared`` (or where
``SEARCHENGINE_SHARED`` points). On a user's fresh machine it is absent and
the tests that need it skip; in CI it is present and they run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from searchengine.engine import SearchEngine

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """The shared data folder, or None when this machine has none."""
    candidate = Path(os.environ.get("SEARCHENGINE_SHARED", REPO.parent / "shared"))
    return candidate if (candidate / "corpus" / "make_posts.py").is_file() else None


@pytest.fixture(scope="session")
def shared() -> Path:
    found = shared_dir()
    if found is None:
        pytest.skip("../shared is absent (set SEARCHENGINE_SHARED to its path)")
    return found


def make_posts(shared: Path, out: Path, *args: str) -> Path:
    """Write Hexo posts from the shared corpus with its own make_posts.py."""
    subprocess.run(
        [sys.executable, str(shared / "corpus" / "make_posts.py"), str(out), *args],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def corpus_2019(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5,860 real posts: the 2019 news items plus the 52 guancha articles."""
    out = tmp_path_factory.mktemp("corpus-2019")
    make_posts(shared, out, "--years", "2019", "--sources", "xwlb")
    return make_posts(shared, out, "--sources", "guancha")


@pytest.fixture(scope="session")
def index_2019(corpus_2019: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of :func:`corpus_2019`, built once per session (about a minute and a half)."""
    from searchengine.indexer import build_index

    index = tmp_path_factory.mktemp("index-2019") / "index"
    assert build_index(corpus_2019, index).status == "ok"
    return index


@pytest.fixture(scope="session")
def sample_posts() -> Path:
    """The sample posts shipped inside the package (seed post included)."""
    import searchengine

    return Path(searchengine.__file__).parent / "sample_posts"


# --- indexes of the sample posts, built once per session ------------------------


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the 35 sample posts."""
    from tooling import SAMPLES, build

    return build(SAMPLES, tmp_path_factory.mktemp("web-sample") / "index")


def _samples_plus(tmp_path_factory: pytest.TempPathFactory, name: str, extra: dict[str, str]) -> Path:
    """An index of the sample posts plus ``extra`` posts (path: text)."""
    from tooling import SAMPLES, build, write_posts

    root = tmp_path_factory.mktemp(name)
    posts = root / "posts"
    shutil.copytree(SAMPLES, posts)
    write_posts(posts, extra)
    return build(posts, root / "index")


@pytest.fixture(scope="session")
def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the sample posts plus :data:`tooling.HOSTILE_POSTS`."""
    from tooling import HOSTILE_POSTS

    return _samples_plus(tmp_path_factory, "web-hostile", HOSTILE_POSTS)


@pytest.fixture(scope="session")
def forgiving_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the sample posts plus :data:`tooling.FORGIVING_POSTS`."""
    from tooling import FORGIVING_POSTS

    return _samples_plus(tmp_path_factory, "forgiving", FORGIVING_POSTS)


@pytest.fixture(scope="session")
def sample_engine(sample_index: Path) -> SearchEngine:
    return SearchEngine(sample_index)


# --- a real browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright (tests using it carry the ``browser`` marker)."""
    from playwright.sync_api import sync_playwright

    from tooling import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
