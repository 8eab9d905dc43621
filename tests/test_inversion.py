"""Spilled runs merge back into each term's postings, a bounded step of each run at a time."""

from __future__ import annotations

import os
import random
import tracemalloc
from array import array
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from searchengine.store.inversion import CodedLayer, Scratch, TermCodes, TokenLayer, code_term, term_code

RUNS = 8
DOCS_PER_RUN = 100
DOCS = RUNS * DOCS_PER_RUN
# Every document has nearly the same 6,000 terms, each at one position: the first few thousand
# terms of each run are then nearly all of its postings, which a merge must not read at once.
TOKENS = [(f"t{number:05d}", number) for number in range(6000)]
Spill = tuple[TokenLayer, Scratch]


def _tokens(docnum: int) -> list[tuple[str, int]]:
    """Document ``docnum``'s tokens: from term ``docnum % 7`` on, so that documents differ."""
    return TOKENS[docnum % 7 :]


def _spilled(tmp_path: Path, docs: int, tokens_of: Callable[[int], list[tuple[str, int]]], per_run: int) -> Spill:
    """A layer of ``docs`` documents spilled every ``per_run`` of them, and its scratch file."""
    scratch = Scratch(str(tmp_path / "layer.runs"))
    layer = TokenLayer()
    for docnum in range(docs):
        layer.add(docnum, tokens_of(docnum))
        if (docnum + 1) % per_run == 0:
            layer.spill(scratch)
    return layer, scratch


def _merged(spill: Spill, expected: Callable[[int, int], tuple[bytes, ...]], **options: int) -> tuple[int, list, int]:
    """Merge the runs, comparing each term's postings (as bytes) with ``expected(term number, documents)``.

    Returns the terms merged, those that differed, and the most memory the merge held (traced).
    """
    layer, scratch = spill
    terms, wrong = 0, []
    tracemalloc.start()
    try:
        for term, docs, counts, positions in layer.postings(scratch, **options):
            assert positions is not None
            if (docs.tobytes(), counts.tobytes(), positions.tobytes()) != expected(int(term[1:]), len(docs)):
                wrong.append(term)
            terms += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        scratch.close()
    return terms, wrong, peak


def test_a_merge_of_large_runs_yields_every_posting_holding_a_step_of_each_run(tmp_path: Path) -> None:
    spill = _spilled(tmp_path, DOCS, _tokens, DOCS_PER_RUN)
    spilled_bytes = os.path.getsize(spill[1].path)
    assert spilled_bytes > 40 * 2**20  # a merge reading whole runs holds this, and a copy

    # Expected postings made before measuring, compared as bytes: checking allocates little.
    docs_of = [array("I", [doc for doc in range(DOCS) if doc % 7 <= number]).tobytes() for number in range(7)]
    ones_of = [array("I", [1] * (len(docs) // 4)).tobytes() for docs in docs_of]

    def expected(number: int, docs: int) -> tuple[bytes, ...]:
        group = min(number, 6)  # terms from 6 on are in every document
        return docs_of[group], ones_of[group], array("I", [number]).tobytes() * docs

    terms, wrong, peak = _merged(spill, expected)
    assert terms == len(TOKENS) and not wrong
    assert peak < spilled_bytes / 2, f"the merge held {peak / 2**20:.0f} MB of {spilled_bytes / 2**20:.0f} MB of runs"
    assert not os.path.exists(spill[1].path)


def test_a_merge_of_many_runs_holds_its_budget_not_a_step_of_each_run(tmp_path: Path) -> None:
    """32 runs of 1,000 terms in every document: a step of each would be 32 MB, the budget is 8 MB."""
    runs, per_run = 32, 100
    spill = _spilled(tmp_path, runs * per_run, lambda _: TOKENS[:1000], per_run)
    spilled_bytes = os.path.getsize(spill[1].path)
    assert spilled_bytes > 32 * 2**20  # a 1 MB step of each run would hold all of it

    every_doc = array("I", range(runs * per_run)).tobytes()
    ones = array("I", [1] * (runs * per_run)).tobytes()
    terms, wrong, peak = _merged(
        spill, lambda number, docs: (every_doc, ones, array("I", [number]).tobytes() * docs), merge_bytes=8 * 2**20
    )
    assert terms == 1000 and not wrong
    assert peak < 12 * 2**20, f"the merge held {peak / 2**20:.1f} MB of {spilled_bytes / 2**20:.0f} MB of runs"


def test_term_codes_round_trip_and_sort_as_their_terms() -> None:
    terms = ["中", "中国", "中国人", "^中", "a", "ab", "a0", "𠀀", "𠀀a", "é", "\uffff", "z"]
    assert [code_term(term_code(term)) for term in terms] == terms
    assert sorted(terms, key=term_code) == sorted(terms)
    for bad in ("", "四个字符", "a\0"):
        with pytest.raises(ValueError, match="term code"):
            term_code(bad)


def test_a_coded_layer_makes_the_runs_a_string_layer_makes(tmp_path: Path) -> None:
    """Tokens given as codes (each term's in position order, terms interleaved freely) and as
    ``(term, position)`` pairs in position order: the same postings, spilled or not."""
    rng = random.Random(7)
    alphabet = "中国人民经济发展^a1𠀀"
    docs = []
    for _ in range(300):
        tokens = sorted(
            ("".join(rng.choices(alphabet, k=rng.randint(1, 3))), position)
            for position in rng.sample(range(400), rng.randint(0, 40))
        )
        docs.append(sorted(tokens, key=lambda token: token[1]))

    def postings(layer: TokenLayer, add: Callable[[int, list[tuple[str, int]]], None], name: str) -> list:
        scratch = Scratch(str(tmp_path / name))
        for docnum, tokens in enumerate(docs):
            add(docnum, tokens)
            if docnum % 70 == 69:
                layer.spill(scratch)
        found = []
        for term, ids, counts, positions in layer.postings(scratch):
            assert positions is not None  # a positional layer
            found.append((term, ids.tobytes(), counts.tobytes(), positions.tobytes()))
        scratch.close()
        return found

    plain = TokenLayer()
    coded = CodedLayer()

    def add_coded(docnum: int, tokens: list[tuple[str, int]]) -> None:
        shuffled = sorted(tokens, key=lambda token: (token[0][::-1], token[1]))  # another order between terms
        codes = np.array([term_code(term) for term, _ in shuffled], dtype=np.uint64)
        coded.add_codes(docnum, TermCodes(codes, np.array([position for _, position in shuffled], dtype=np.uint32)))

    expected = postings(plain, plain.add, "plain.runs")
    assert expected and postings(coded, add_coded, "coded.runs") == expected
    assert plain.lengths_array(len(docs)) == coded.lengths_array(len(docs))
