"""The ``searchengine`` command's entry point (also ``python -m searchengine``).

Ctrl-C must never show a traceback, even while the command is still
importing its modules: the first thing :func:`run` does is to make Ctrl-C
end the process with one line and exit status 130. A build replaces this
with its own handling while it runs (it stops its workers and says that
nothing was committed), and ``serve`` with its server's. Once the command
is done, Ctrl-C is ignored while the process exits.
"""

from __future__ import annotations

import os
import signal
import sys

EXIT_INTERRUPTED = 130


def _interrupted(signum: int, frame: object) -> None:
    sys.stderr.write("interrupted\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def run() -> None:
    """Run the command line."""
    signal.signal(signal.SIGINT, _interrupted)
    from searchengine.cli import main

    try:
        main(prog_name="searchengine")
    finally:
        # The command is done (a build committed or not, its report printed).
        # A Ctrl-C now could only kill the interpreter as it exits: Python
        # puts back the default handler while it finalizes, and the process
        # died of the signal with no word, after its build had committed.
        # Ignored (which finalizing keeps), the exit status is the command's.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    run()
