"""The fault battery's short run: real faults (killed builds and workers, Ctrl-C, damaged files, poison posts,
slow clients) keep every promise: nothing committed lost, no hang, no traceback shown to a user."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

BATTERY = Path(__file__).resolve().parents[1] / "scripts" / "fault_battery.py"


def _figure(output: str, name: str) -> int:
    found = re.search(rf"^\| {re.escape(name)} \| (\d+) \|$", output, re.MULTILINE)
    assert found, f"no figure {name!r} in the battery's output:\n{output}"
    return int(found.group(1))


def test_the_short_fault_battery_loses_nothing_hangs_never_and_shows_no_traceback() -> None:
    run = subprocess.run(
        [sys.executable, str(BATTERY), "--short", "--seed", "1"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # the installed package, never a checkout's source tree
        timeout=600,  # a bound for a loaded machine; it takes well under 2 minutes on an idle one
    )
    output = run.stdout + run.stderr
    assert _figure(output, "data lost (posts)") == 0, output
    assert _figure(output, "hangs") == 0, output
    assert _figure(output, "tracebacks shown to a user") == 0, output
    assert run.returncode == 0, output
