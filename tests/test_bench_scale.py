"""scripts/bench_scale.py as CI runs it: the corpus ×1 on the 2019 slice (the ×4 and ×13 runs
are made by hand, see the README). It must build, search the whole mix and print its table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_scale.py"


def test_bench_scale_builds_and_searches_the_2019_slice(corpus_2019: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--posts", str(corpus_2019), "--copies", "1", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    posts = sum(1 for _ in corpus_2019.rglob("*.md"))
    row = next(line.split() for line in run.stdout.splitlines() if re.match(r"\s+1\s+\d+\s", line))
    copies, built, seconds, rate, peak, rss, size, p50, p95, p99, slowest = map(float, row[:11])
    assert (copies, built) == (1, posts)
    assert seconds > 0 and rate > 0 and 0.1 < peak <= rss and size > 0.01
    assert 0 < p50 <= p95 <= p99 <= slowest
    assert "slowest (median ms): " in run.stdout


def test_bench_scale_searches_built_indexes_and_their_growth(index_2019: Path) -> None:
    """``--search`` measures indexes already built (a kept ×13 one), without building anything."""
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--search", str(index_2019), str(index_2019), "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith(str(index_2019) + " ")]
    assert len(rows) == 2
    for row in rows:
        p50, p95, p99, slowest, gigabytes = map(float, row[1:6])
        assert 0 < p50 <= p95 <= p99 <= slowest and gigabytes > 0.05
    assert run.stdout.count(f"{index_2019}: first searches") == 2
    growth = re.search(r"growth .* p50 ([\d.]+)x, p95 ([\d.]+)x", run.stdout)
    assert growth is not None and all(0.2 < float(ratio) < 5 for ratio in growth.groups())
