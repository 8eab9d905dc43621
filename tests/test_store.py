"""The storage boundary: whoosh stays inside it, and the on-disk format is pinned.

An index on a user's disk must outlive refactorings of our code: nothing of
ours may be pickled into it except the one name the format declares
(:class:`searchengine.store.segments.PackedValues`, inside postings blocks).
"""

from __future__ import annotations

import ast
import io
import json
import pickle
import pickletools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import searchengine
from searchengine import SearchEngine
from searchengine.analysis import AnalysisSettings
from searchengine.errors import IndexMissingError
from searchengine.indexer import BuildOptions, build_index
from searchengine.store import FORMAT, IndexFolder
from searchengine.store.fields import LAYERS
from searchengine.store.manifest import digest, verify_files
from searchengine.store.mapped import MappedReader

PACKAGE = Path(searchengine.__file__).parent
STORE = PACKAGE / "store"
#: The only names of ours an index may hold, and where.
ON_DISK_NAMES = {("searchengine.store.segments", "PackedValues")}


def _imports_whoosh(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "whoosh" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "whoosh":
            return True
    return False


def test_only_the_store_imports_whoosh() -> None:
    importers = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if _imports_whoosh(p)}
    assert importers, "the check must see the store's own imports"
    assert all(name.startswith("store/") for name in importers), sorted(importers)


def _globals(data: bytes) -> set[tuple[str, str]]:
    """The (module, name) pairs a pickle would import when loaded."""
    found: set[tuple[str, str]] = set()
    strings: list[str] = []
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            assert isinstance(arg, str), opcode.name
            strings.append(arg)
        elif opcode.name == "GLOBAL":
            assert isinstance(arg, str), opcode.name
            module, name = arg.split(" ", 1)
            found.add((module, name))
        elif opcode.name == "STACK_GLOBAL":
            found.add((strings[-2], strings[-1]))
    return found


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, sample_posts: Path) -> Path:
    folder = tmp_path_factory.mktemp("store") / "index"
    build_index(sample_posts, folder, BuildOptions(workers=1))
    return folder


def _pickled_names(data: bytes) -> set[tuple[str, str]]:
    """The names of every pickle embedded in ``data`` (whoosh writes them among other bytes)."""
    names: set[tuple[str, str]] = set()
    for magic in (b"\x80\x02", b"\x80\x05"):
        start = data.find(magic)
        while start >= 0:
            names |= _safe_globals(data[start:])
            start = data.find(magic, start + 1)
    return names


def _safe_globals(data: bytes) -> set[tuple[str, str]]:
    try:
        return _globals(data)
    except Exception:  # noqa: BLE001 - a false start inside other bytes
        return set()


def test_a_rename_of_our_classes_cannot_invalidate_an_index(index: Path) -> None:
    """The table of contents pickles whoosh's classes only: no analysis class,
    no schema or codec class of ours, so renaming them breaks no index."""
    [toc] = index.glob("_MAIN_*.toc")
    names = _pickled_names(toc.read_bytes())
    assert ("whoosh.fields", "Schema") in names
    assert {module for module, _ in names if module.startswith("searchengine")} == set()


def test_postings_blocks_name_only_the_declared_class(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks are compressed pickles: record what reading them unpickles."""
    names: set[tuple[str, str]] = set()
    loads = pickle.loads

    def recording(data: bytes, *args: Any, **kwargs: Any) -> Any:
        names.update(n for n in _globals(bytes(data)) if n[0].startswith("searchengine"))
        return loads(data, *args, **kwargs)

    monkeypatch.setattr(pickle, "loads", recording)
    view = IndexFolder(index).open_view("Asia/Shanghai")
    for field in LAYERS:
        for term in ("经济", "中", "发展", "国"):
            view.postings(field, term, positions=True)
    assert names == ON_DISK_NAMES


def test_the_manifest_pins_the_format_and_the_settings_as_data(index: Path) -> None:
    [manifest] = index.glob("_MAIN_*.json")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert data["format"] == FORMAT == 2
    assert set(data) == {"format", "generation", "analysis", "segments", "files"}
    assert set(data["files"]) == {p.name for p in index.glob("MAIN_*.*")}
    assert all(len(value) == 2 for value in data["files"].values())  # [size, crc32]
    assert set(data["analysis"]) == {"user_dict", "version", "jieba_version", "opencc_version", "opencc_config"}
    assert AnalysisSettings.from_dict(data["analysis"]) == IndexFolder(index).settings()


def test_files_checked_in_parallel_report_each_problem_in_name_order(tmp_path: Path) -> None:
    """Missing, cut short and changed files are each named, in the order of their names, whatever thread read them."""
    contents = {f"f{i}.seg": bytes([i]) * (3 << 20) for i in range(6)}  # several chunks each
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    listed = {name: digest(tmp_path / name) for name in contents}
    assert verify_files(tmp_path, listed, thorough=True) == []
    (tmp_path / "f1.seg").unlink()
    (tmp_path / "f3.seg").write_bytes(contents["f3.seg"][:-1])
    (tmp_path / "f4.seg").write_bytes(b"x" + contents["f4.seg"][1:])  # same size, other bytes
    assert verify_files(tmp_path, listed, thorough=True) == [
        "f1.seg is missing",
        f"f3.seg has {3 * 2**20 - 1:,} bytes instead of {3 * 2**20:,}",
        "f4.seg fails its checksum",
    ]


def test_another_format_is_refused_with_the_rebuild_advice(tmp_path: Path, sample_posts: Path) -> None:
    index = tmp_path / "index"
    build_index(sample_posts, index, BuildOptions(workers=1))
    [manifest] = index.glob("_MAIN_*.json")
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format": 99}), encoding="utf-8")
    with pytest.raises(searchengine.IncompatibleIndexError, match="another version.*--rebuild"):
        SearchEngine(index)
    report = build_index(sample_posts, index, BuildOptions(rebuild=True, workers=1))
    assert report.added == 35 and SearchEngine(index).stats().documents == 35


def test_a_first_build_that_never_committed_is_no_index(tmp_path: Path) -> None:
    """The placeholder a first build creates is not an index until its commit."""
    index = tmp_path / "index"
    with pytest.raises(RuntimeError), IndexFolder(index).writer(AnalysisSettings.from_dict_file()):
        raise RuntimeError("the build failed")
    with pytest.raises(IndexMissingError, match="no index at"):
        SearchEngine(index)
    assert sorted(p.name for p in index.iterdir()) == ["MAIN_WRITELOCK", "_MAIN_0.toc"]


def test_segment_files_are_read_in_place_as_a_copy_would_read_them() -> None:
    """whoosh's sequential reads of a segment part go to the mapped bytes themselves (no heap copy)."""
    data = pickle.dumps({"terms": list(range(50))}) + b"line one\nline two\n" + bytes(range(256))
    mapped, copied = MappedReader(memoryview(data)), io.BytesIO(data)
    assert pickle.load(mapped) == pickle.load(copied)
    assert mapped.readline() == copied.readline() and mapped.tell() == copied.tell()
    assert mapped.read(7) == copied.read(7)
    for offset, whence in ((3, io.SEEK_SET), (5, io.SEEK_CUR), (-10, io.SEEK_END)):
        assert mapped.seek(offset, whence) == copied.seek(offset, whence)
        assert mapped.read() == copied.read()
    assert mapped.read(5) == b"" and mapped.readinto(bytearray(4)) == 0


def test_opening_an_index_does_not_copy_it_into_the_heap(index_2019: Path) -> None:
    """Before, a process that opened a generation held a copy of every segment file (4.2 GB at x4)."""
    code = """
import sys
from searchengine.store import IndexFolder
from searchengine.store.mapped import MappedBufferFile

def heap():
    return int(next(line for line in open("/proc/self/status") if line.startswith("RssAnon")).split()[1]) * 1024

before = heap()
view = IndexFolder(sys.argv[1]).open_view("Asia/Shanghai")
files = [leaf._terms._dbfile for leaf, _ in view.leaves]
assert files and all(isinstance(f, MappedBufferFile) for f in files), files
print(heap() - before)
"""
    run = subprocess.run([sys.executable, "-c", code, str(index_2019)], capture_output=True, text=True, check=True)
    segments = sum(path.stat().st_size for path in index_2019.glob("*.seg"))
    assert segments > 20_000_000 and int(run.stdout) < segments / 4, (run.stdout, segments)
