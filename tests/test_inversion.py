"""Spilled runs merge back into each term's postings, a bounded step of each run at a time."""

from __future__ import annotations

import os
import tracemalloc
from array import array
from pathlib import Path

from searchengine.store.inversion import Scratch, TokenLayer

RUNS = 8
DOCS_PER_RUN = 100
DOCS = RUNS * DOCS_PER_RUN
# Every document has nearly the same 6,000 terms, each at one position: the first few thousand
# terms of each run are then nearly all of its postings, which a merge must not read at once.
TOKENS = [(f"t{number:05d}", number) for number in range(6000)]


def _tokens(docnum: int) -> list[tuple[str, int]]:
    """Document ``docnum``'s tokens: from term ``docnum % 7`` on, so that documents differ."""
    return TOKENS[docnum % 7 :]


def test_a_merge_of_large_runs_yields_every_posting_holding_a_step_of_each_run(tmp_path: Path) -> None:
    scratch = Scratch(str(tmp_path / "layer.runs"))
    layer = TokenLayer()
    for docnum in range(DOCS):
        layer.add(docnum, _tokens(docnum))
        if (docnum + 1) % DOCS_PER_RUN == 0:
            layer.spill(scratch)
    spilled_bytes = os.path.getsize(scratch.path)
    assert spilled_bytes > 40 * 2**20  # a merge reading whole runs holds this, and a copy

    # Expected postings made before measuring, compared as bytes: checking allocates little.
    docs_of = [array("I", [doc for doc in range(DOCS) if doc % 7 <= number]).tobytes() for number in range(7)]
    ones_of = [array("I", [1] * (len(docs) // 4)).tobytes() for docs in docs_of]
    terms, wrong = 0, []
    tracemalloc.start()
    try:
        for term, docs, counts, positions in layer.postings(scratch):
            number = int(term[1:])
            group = min(number, 6)  # terms from 6 on are in every document
            got = (term, docs.tobytes(), counts.tobytes(), positions.tobytes() if positions is not None else None)
            if got != (TOKENS[number][0], docs_of[group], ones_of[group], array("I", [number]).tobytes() * len(docs)):
                wrong.append(term)
            terms += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        scratch.close()

    assert terms == len(TOKENS) and not wrong
    assert peak < spilled_bytes / 2, f"the merge held {peak / 2**20:.0f} MB of {spilled_bytes / 2**20:.0f} MB of runs"
    assert not os.path.exists(scratch.path)
