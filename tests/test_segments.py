"""Segments written in bulk are real whoosh segments, and read back whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index
from whoosh.reading import IndexReader, TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte

from searchengine.analysis import AnalysisSettings, analyzer_for
from searchengine.documents import Document, load_post, walk_posts
from searchengine.store import IndexFolder, IndexView, SegmentSink
from searchengine.store.fields import BODY_CHARS, BODY_WORDS, CATEGORY, LAYERS, STATE, TITLE_WORDS
from searchengine.store.schema import PostState, build_schema, document_fields
from searchengine.store.segments import SearchCodec, SegmentBuilder, _term_info, column_values, read_postings

SETTINGS = AnalysisSettings.from_dict_file()

# The index of the sample posts repeated, and its number of documents.
Built = tuple[Index, int]


def _commit(
    folder: Path, docs: list[tuple[str, Document]], *, rebuild: bool = False, limit: int = 0, memory: int = 0
) -> None:
    """Commit ``docs`` (as ``(path, document)``) in new segments of at most ``limit`` documents,
    holding at most ``memory`` bytes of postings each (0: no limit), the way a build does."""
    analyzer = analyzer_for(SETTINGS)
    with IndexFolder(folder).writer(SETTINGS, rebuild=rebuild) as writer:
        sink = SegmentSink(str(folder), limit, memory)
        for path, doc in docs:
            fields = document_fields(doc, analyzer, PostState(path, doc.content_hash, 0, 0))
            fields.stored["path"] = path
            fields.keywords["path"] = [path]
            sink.add(fields)
        writer.add_segments(sink.finish())


@pytest.fixture(scope="module")
def samples(sample_posts: Path) -> list[Document]:
    return [load_post(p, sample_posts) for p in walk_posts(sample_posts)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, samples: list[Document]) -> Built:
    """The sample posts, repeated until some terms need several blocks."""
    folder = tmp_path_factory.mktemp("segments")
    # 420 documents: 经济 occurs in more than one 256-posting block
    _commit(folder, [(f"{copy}/{doc.id}", doc) for copy in range(12) for doc in samples], rebuild=True)
    return FileStorage(str(folder)).open_index("MAIN"), len(samples) * 12


def _whoosh_postings(reader: IndexReader, field: str, term: str) -> tuple[list[int], list[float], list[int]]:
    """A posting list as whoosh's own matcher walks it (positions: our packed uint32 values)."""
    matcher = reader.postings(field, term)
    ids, weights, positions = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        positions.extend(np.frombuffer(matcher.value(), dtype=np.uint32).tolist())
        matcher.next()
    return ids, weights, positions


@pytest.mark.parametrize(
    ("field", "term"),
    [(BODY_CHARS, "经济"), (BODY_CHARS, "莫斯"), (BODY_CHARS, "式"), (BODY_WORDS, "发展"), (BODY_WORDS, "卡布洛夫")],
)
def test_whole_list_reads_equal_whoosh_matchers(built: Built, field: str, term: str) -> None:
    ix, _ = built
    with ix.reader() as reader:
        ids, weights, positions = _whoosh_postings(reader, field, term)
        assert ids, f"{term} should occur in the sample posts"
        found = read_postings(reader, field, term, with_positions=True)
        assert found.ids.tolist() == ids
        assert found.weights.tolist() == weights
        assert found.positions.tolist() == positions
        assert int(found.counts.sum()) == len(positions)


def test_every_terms_postings_are_its_documents_tokens(built: Built, samples: list[Document]) -> None:
    """Each term of each token layer lists the documents whose tokens hold it, its positions in each, in order,
    and the shortest and longest of those documents' token counts."""
    analyzer = analyzer_for(SETTINGS)
    layers = [document_fields(doc, analyzer, PostState("", "", 0, 0)).positional for doc in samples]
    ix, total = built
    with ix.reader() as reader:
        (leaf, _), *_ = reader.leaf_readers()
        for field in LAYERS:
            expected: dict[str, dict[int, list[int]]] = {}
            for docnum in range(total):  # the samples, repeated in order
                for term, position in layers[docnum % len(samples)][field]:
                    expected.setdefault(term, {}).setdefault(docnum, []).append(position)
            assert [term.decode("utf-8") for term in reader.lexicon(field)] == sorted(expected), field
            for term, where in expected.items():
                found = read_postings(leaf, field, term, with_positions=True)
                assert found.ids.tolist() == list(where), (field, term)
                assert found.counts.tolist() == [len(positions) for positions in where.values()], (field, term)
                assert found.positions.tolist() == [p for positions in where.values() for p in positions], (field, term)
                lengths = [len(layers[docnum % len(samples)][field]) for docnum in where]
                info = leaf.term_info(field, term)
                assert (info.min_length(), info.max_length()) == (
                    byte_to_length(length_to_byte(min(lengths))),
                    byte_to_length(length_to_byte(max(lengths))),
                ), (field, term)


def test_many_blocks_and_single_postings_read_back(built: Built) -> None:
    ix, total = built
    with ix.reader() as reader:
        assert len(read_postings(reader, BODY_CHARS, "经济").ids) > 256
        single = reader.first_id("path", "0/guancha/2021/000_30739a5f1b776113.txt")
        assert single is not None
        path_postings = read_postings(reader, "path", "0/guancha/2021/000_30739a5f1b776113.txt")
        assert path_postings.ids.tolist() == [single]
        assert len(read_postings(reader, BODY_CHARS, "不存在的词").ids) == 0
        assert reader.doc_count() == total


def test_a_bytes_column_read_in_one_slice_equals_whoosh_reading_each_value(built: Built) -> None:
    ix, total = built
    with ix.reader() as reader:
        (leaf, _), *_ = reader.leaf_readers()
        states = column_values(leaf, STATE)
        column = leaf.column_reader(STATE)
        assert len(states) == total
        assert states == [column[docnum] for docnum in range(total)]
        assert len(set(states)) == total and all(PostState.decode(raw).size == 0 for raw in states)


def test_whoosh_reads_our_stored_fields_and_term_tables(built: Built) -> None:
    ix, total = built
    with ix.searcher() as searcher:
        stored = searcher.document(path="3/guancha/2021/000_30739a5f1b776113.txt")
        assert stored["title"] == "中俄塔利班都参加了阿富汗问题磋商，美国仍缺席"
        assert searcher.doc_frequency(BODY_WORDS, "卡布洛夫") == 12 * 2  # two sample posts name him
        assert searcher.doc_count() == total


def test_whoosh_merges_of_small_segments_keep_postings_and_positions(tmp_path: Path, samples: list[Document]) -> None:
    """Incremental updates let whoosh merge small segments through its own writer."""
    docs = [(f"{n}/{doc.id}", doc) for n, doc in enumerate(samples[:8])]
    _commit(tmp_path / "one", docs, rebuild=True)
    for path, doc in docs:  # one small segment per update: whoosh's MERGE_SMALL soon merges them
        _commit(tmp_path / "many", [(path, doc)])
    many = FileStorage(str(tmp_path / "many")).open_index("MAIN")
    assert len(many._segments()) < len(docs), "no merge happened"
    expected, merged = (IndexFolder(tmp_path / name).open_view("Asia/Shanghai") for name in ("one", "many"))
    for field, term in ((BODY_CHARS, "经济"), (BODY_WORDS, "发展"), (BODY_CHARS, "中国")):
        before = expected.postings(field, term, positions=True)
        after = merged.postings(field, term, positions=True)
        assert len(before.ids), term
        assert after.ids.tolist() == before.ids.tolist()
        assert after.positions.tolist() == before.positions.tolist()
        assert np.array_equal(after.weights, before.weights)


def test_a_fields_terms_over_segments_are_whooshs_lexicon(tmp_path: Path, samples: list[Document]) -> None:
    """Terms listed from each segment's table bytes, written in bulk or merged by whoosh, are whoosh's own walk."""
    docs = [(f"{n}/{doc.id}", doc) for n, doc in enumerate(samples)]
    _commit(tmp_path, docs[:20], rebuild=True, limit=6)  # bulk-written segments of 6
    _same_terms_as_whoosh(IndexFolder(tmp_path).open_view("Asia/Shanghai"), segments=4)
    for path, doc in docs[20:26]:  # small updates, which whoosh merges through its own writer
        _commit(tmp_path, [(path, doc)])
    _same_terms_as_whoosh(IndexFolder(tmp_path).open_view("Asia/Shanghai"), segments=2)


def _same_terms_as_whoosh(view: IndexView, segments: int) -> None:
    assert len(view.leaves) == segments
    for field in (TITLE_WORDS, BODY_WORDS, BODY_CHARS, CATEGORY):
        expected = [term.decode("utf-8") for term in view.reader.lexicon(field)]
        assert len(expected) > 5, field
        assert view.terms(field) == expected, field
    assert view.terms("no_such_field") == []


def _bulk_then_merged(folder: Path, samples: list[Document], limit: int, updates: int) -> IndexView:
    """20 samples in bulk-written segments of ``limit``, then ``updates`` more one at a time,
    which whoosh merges through its own writer; the view of the result."""
    docs = [(f"{n}/{doc.id}", doc) for n, doc in enumerate(samples[: 20 + updates])]
    _commit(folder, docs[:20], rebuild=True, limit=limit)
    for path, doc in docs[20:]:
        _commit(folder, [(path, doc)])
    return IndexFolder(folder).open_view("Asia/Shanghai")


def test_every_terms_info_is_found_as_whoosh_finds_it_and_no_other(tmp_path: Path, samples: list[Document]) -> None:
    """The hashed term table probed in the mapped file gives whoosh's answer for every term, present or not."""
    view = _bulk_then_merged(tmp_path, samples, limit=10, updates=4)
    for leaf, _ in view.leaves:
        for field in (TITLE_WORDS, BODY_WORDS, BODY_CHARS, CATEGORY, "path"):
            present = [term.decode("utf-8") for term in leaf.lexicon(field)]
            assert present, field
            for term in present:
                ours, theirs = _term_info(leaf, field, term), leaf.term_info(field, term)
                assert ours is not None, (field, term)
                assert (ours.doc_frequency(), ours.weight(), ours.is_inlined()) == (
                    theirs.doc_frequency(),
                    theirs.weight(),
                    theirs.is_inlined(),
                )
                if not ours.is_inlined():
                    assert ours.extent() == theirs.extent()
            for absent in {term + "乙" for term in present[:300]} - set(present):
                assert _term_info(leaf, field, absent) is None
                with pytest.raises(TermNotFound):
                    leaf.term_info(field, absent)
        assert _term_info(leaf, "no_such_field", "经济") is None
    for field in (TITLE_WORDS, BODY_CHARS, "path"):  # summed over the segments, as whoosh's reader sums them
        for term in [term.decode("utf-8") for term in view.reader.lexicon(field)][:500] + ["不存在的词"]:
            assert view.doc_frequency(field, term) == view.reader.doc_frequency(field, term), (field, term)


def test_a_documents_stored_values_are_read_from_its_own_segment(tmp_path: Path, samples: list[Document]) -> None:
    """Every document of several segments, bulk-written or merged by whoosh, reads as whoosh's reader reads it."""
    view = _bulk_then_merged(tmp_path, samples, limit=7, updates=3)
    assert len(view.leaves) >= 2
    paths = [view.stored(docnum)["path"] for docnum in range(view.size)]
    assert sorted(paths) == sorted(f"{n}/{doc.id}" for n, doc in enumerate(samples[:23]))
    for docnum in range(view.size):
        assert view.stored(docnum) == view.reader.stored_fields(docnum)
    for outside in (-1, view.size):
        with pytest.raises(IndexError, match=f"document {outside} is not in this index"):
            view.stored(outside)


def _segment_files(folder: Path) -> dict[str, bytes]:
    """The files of a one-segment index by kind (the part of the name after the segment's id), and their bytes."""
    storage = FileStorage(str(folder))
    (segment,) = storage.open_index("MAIN")._segments()
    compound = segment.open_compound_file(storage)
    return {name.split(".", 1)[1]: compound.open_file(name).read() for name in compound.list()}


def test_a_segment_spilled_to_disk_many_times_is_the_segment_built_in_memory(
    tmp_path: Path, samples: list[Document]
) -> None:
    """Postings held in a few hundred KB, spilled as sorted runs and merged when written, give the same bytes."""
    docs = [(f"{copy}/{doc.id}", doc) for copy in range(6) for doc in samples]
    _commit(tmp_path / "memory", docs, rebuild=True)
    _commit(tmp_path / "spilled", docs, rebuild=True, memory=300_000)
    in_memory, spilled = _segment_files(tmp_path / "memory"), _segment_files(tmp_path / "spilled")
    assert {"trm", "pst", "_stored.col"} <= in_memory.keys()
    assert spilled.keys() == in_memory.keys()
    for kind, data in in_memory.items():
        assert spilled[kind] == data, kind
    assert not list(tmp_path.glob("*/*.runs")), "a scratch file was left behind"


def test_a_segment_spills_as_its_postings_outgrow_their_memory(tmp_path: Path, samples: list[Document]) -> None:
    analyzer = analyzer_for(SETTINGS)
    folder = str(tmp_path)
    fields = [document_fields(doc, analyzer, PostState(doc.id, doc.content_hash, 0, 0)) for doc in samples]

    def spills(memory: int) -> tuple[int, int]:
        """Spills with ``memory``, and the most the layers held at once."""
        builder = SegmentBuilder(FileStorage(folder), "MAIN", build_schema(), SearchCodec(), memory=memory)
        most = 0
        for doc in fields:
            builder.add(doc.stored, doc.positional, doc.keywords, doc.columns)
            most = max(most, sum(layer.held_bytes() for layer in builder._layers.values()))
        if memory:
            assert list(tmp_path.glob("*.runs")), "no scratch file while postings are spilled"
        builder.abandon()  # what a failed build does: its scratch file goes too
        assert not list(tmp_path.glob("*.runs"))
        return builder.spills, most

    count, everything = spills(0)
    assert count == 0
    (half, held_half), (eighth, held_eighth) = spills(everything // 2), spills(everything // 8)
    assert 0 < half < eighth < len(samples)
    assert held_half <= everything // 2 and held_eighth <= everything // 8
