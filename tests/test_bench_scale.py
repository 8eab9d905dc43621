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
