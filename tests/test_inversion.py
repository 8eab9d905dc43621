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


def test_a_merge_of_many_runs_holds_its_budget_not_a_step_of_each_run(tmp_path: Path) -> None:
    """32 runs of 1,000 terms in every document: a step of each would be 32 MB, the budget is 8 MB."""
    scratch = Scratch(str(tmp_path / "layer.runs"))
    layer = TokenLayer()
    tokens = TOKENS[:1000]
    runs, docs_per_run = 32, 100
    for docnum in range(runs * docs_per_run):
        layer.add(docnum, tokens)
        if (docnum + 1) % docs_per_run == 0:
            layer.spill(scratch)
    spilled_bytes = os.path.getsize(scratch.path)
    assert spilled_bytes > 32 * 2**20  # a 1 MB step of each run would hold all of it

    every_doc = array("I", range(runs * docs_per_run)).tobytes()
    ones = array("I", [1] * (runs * docs_per_run)).tobytes()
    terms, wrong = 0, []
    tracemalloc.start()
    try:
        for term, docs, counts, positions in layer.postings(scratch, merge_bytes=8 * 2**20):
            number = int(term[1:])
            assert positions is not None
            at_number = array("I", [number]).tobytes() * len(docs)
            if (docs.tobytes(), counts.tobytes(), positions.tobytes()) != (every_doc, ones, at_number):
                wrong.append(term)
            terms += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        scratch.close()

    assert terms == len(tokens) and not wrong
    assert peak < 12 * 2**20, f"the merge held {peak / 2**20:.1f} MB of {spilled_bytes / 2**20:.0f} MB of runs"
