"""scripts/evaluate.py on a slice of the shared corpus: no result may be lost, and search forgives typing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from searchengine.indexer import build_index

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "evaluate.py"
FORGIVING_KINDS = ("regional", "pinyin", "homophone", "spacing")


@pytest.mark.corpus
def test_search_quality_on_the_2019_slice(corpus_2019: Path, tmp_path: Path) -> None:
    """The exactness checks and the forgiving set (issue #9); the script's exit status enforces the thresholds."""
    index = tmp_path / "index"
    assert build_index(corpus_2019, index).status == "ok"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--posts", str(corpus_2019), "--index", str(index), "--queries", "300"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "quoted:   precision 1.0000  recall 1.0000" in run.stdout
    assert "unquoted: recall 1.0000" in run.stdout
    for kind in FORGIVING_KINDS:
        assert re.search(rf"^forgiving {kind}: +\d+ queries  success@10 ", run.stdout, re.MULTILINE), run.stdout


def test_the_self_test_runs_on_the_sample_posts(sample_posts: Path, tmp_path: Path) -> None:
    """Without the shared corpus, the same check over the shipped posts; too few forgiving queries to judge."""
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--posts", str(sample_posts), "--queries", "120", "--forgiving", "40"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "precision 1.0000  recall 1.0000" in run.stdout
    for kind in FORGIVING_KINDS:
        assert re.search(rf"^forgiving {kind}: +\d+ queries: not enough to judge", run.stdout, re.MULTILINE), run.stdout
