"""scripts/bench_ab.py: two releases' builds side by side, and whether their segments are the same bytes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "bench_ab.py"


@pytest.fixture
def head() -> str:
    found = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if found.returncode:
        pytest.skip("not a git checkout: there is no release before to build")
    return found.stdout.strip()


def test_the_last_commit_and_the_checkout_build_side_by_side(head: str, sample_posts: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--before", head, "--posts", str(sample_posts), "--every", "3",
         "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    posts = len(sorted(sample_posts.rglob("*.md"))[::3])
    assert run.stdout.startswith(f"{posts} posts, one worker each")
    rows = {line[:24].strip(): line for line in run.stdout.splitlines()}
    for label in ("adding posts, CPU", "writing the segment, CPU", "whole build, CPU", "whole build, wall"):
        before, after = map(float, re.findall(r"([\d.]+) s\b", rows[label])[:2])
        assert before > 0 and after > 0
    # The checkout builds what its last commit builds, unless it changes how: here it does not.
    changed = subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", head, "--", "searchengine"])
    if changed.returncode == 0:
        assert "segments: the same bytes, file by file" in run.stdout


def test_an_unknown_revision_is_named(head: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--before", "no-such-revision", "--posts", str(tmp_path), "--work",
         str(tmp_path / "work")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "--before/--after: no-such-revision:" in run.stderr
