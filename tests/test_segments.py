"""Segments written in bulk are real whoosh segments, and read back whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh import query
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import SegmentWriter

from searchengine.analysis import AnalysisSettings, analyzer_for
from searchengine.documents import load_post, walk_posts
from searchengine.schema import BODY_CHARS, BODY_WORDS, PostState, build_schema, document_fields
from searchengine.segments import SearchCodec, SegmentBuilder, read_postings


def _commit(storage: FileStorage, ix, segments: list, optimize: bool = False) -> None:  # type: ignore[no-untyped-def]
    writer = SegmentWriter(ix, codec=SearchCodec())
    final = writer._merge_segments(None, optimize, True)
    if writer._added:
        final.append(writer._finalize_segment())
    else:
        writer._close_segment()
    writer._commit_toc(final + segments)
    writer._finish()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sample_posts: Path):  # type: ignore[no-untyped-def]
    """The sample posts, repeated until some terms need several blocks."""
    settings = AnalysisSettings.from_dict_file()
    analyzer = analyzer_for(settings)
    schema = build_schema(settings)
    folder = tmp_path_factory.mktemp("segments")
    storage = FileStorage(str(folder))
    ix = storage.create_index(schema)
    docs = [load_post(p, sample_posts) for p in walk_posts(sample_posts)]
    builder = SegmentBuilder(storage, "MAIN", schema, SearchCodec())
    for copy in range(12):  # 420 documents: 经济 occurs in more than one 256-posting block
        for doc in docs:
            state = PostState(f"{copy}/{doc.id}", doc.content_hash, 0, 0)
            fields = document_fields(doc, analyzer, state)
            fields.stored["path"] = state.path
            fields.keywords["path"] = [state.path]
            builder.add(fields.stored, fields.positional, fields.keywords, fields.columns)
    _commit(storage, ix, [builder.finish()])
    return storage, storage.open_index(), len(docs) * 12


def _whoosh_postings(reader, field: str, term: str) -> tuple[list[int], list[float], list[int]]:  # type: ignore[no-untyped-def]
    matcher = reader.postings(field, term)
    ids, weights, positions = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        positions.extend(matcher.value_as("positions"))
        matcher.next()
    return ids, weights, positions


@pytest.mark.parametrize(
    ("field", "term"),
    [(BODY_CHARS, "经济"), (BODY_CHARS, "莫斯"), (BODY_CHARS, "式"), (BODY_WORDS, "发展"), (BODY_WORDS, "卡布洛夫")],
)
def test_whole_list_reads_equal_whoosh_matchers(built, field: str, term: str) -> None:  # type: ignore[no-untyped-def]
    _, ix, _ = built
    with ix.reader() as reader:
        ids, weights, positions = _whoosh_postings(reader, field, term)
        assert ids, f"{term} should occur in the sample posts"
        found = read_postings(reader, field, term, with_positions=True)
        assert found.ids.tolist() == ids
        assert found.weights.tolist() == weights
        assert found.positions.tolist() == positions
        assert int(found.counts.sum()) == len(positions)


def test_many_blocks_and_single_postings_read_back(built) -> None:  # type: ignore[no-untyped-def]
    _, ix, total = built
    with ix.reader() as reader:
        assert len(read_postings(reader, BODY_CHARS, "经济").ids) > 256
        single = reader.first_id("path", "0/guancha/2021/000_30739a5f1b776113.txt")
        assert single is not None
        path_postings = read_postings(reader, "path", "0/guancha/2021/000_30739a5f1b776113.txt")
        assert path_postings.ids.tolist() == [single]
        assert len(read_postings(reader, BODY_CHARS, "不存在的词").ids) == 0
        assert reader.doc_count() == total


def test_whoosh_itself_searches_our_segments(built) -> None:  # type: ignore[no-untyped-def]
    _, ix, _ = built
    with ix.searcher() as searcher:
        # a phrase of the character layer, and one of the word layer
        chars = searcher.search(query.Phrase(BODY_CHARS, ["莫斯", "斯科", "科模", "模式"]), limit=None)
        words = searcher.search(query.Phrase(BODY_WORDS, ["阿富汗", "问题"]), limit=None)
        assert {hit["path"].split("/", 1)[1] for hit in chars} == {"guancha/2021/000_30739a5f1b776113.txt"}
        assert len(words) == 12
        stored = searcher.document(path="3/guancha/2021/000_30739a5f1b776113.txt")
        assert stored["title"] == "中俄塔利班都参加了阿富汗问题磋商，美国仍缺席"


def test_whoosh_merge_keeps_postings_and_positions(built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Incremental updates let whoosh merge small segments through its own writer."""
    storage, ix, _ = built
    with ix.reader() as reader:
        before = _whoosh_postings(reader, BODY_CHARS, "经济")
    _commit(storage, ix, [], optimize=True)  # whoosh rewrites the segment posting by posting
    merged = storage.open_index()
    with merged.reader() as reader:
        after = read_postings(reader, BODY_CHARS, "经济", with_positions=True)
        assert after.ids.tolist() == before[0]
        assert after.positions.tolist() == before[2]
        assert np.array_equal(after.weights, np.asarray(before[1], dtype=np.float32))
