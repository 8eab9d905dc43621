"""Our term table writer writes what whoosh's does, in a fraction of the memory."""

from __future__ import annotations

import random
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashReader, OrderedHashWriter

from searchengine.store.term_table import CompactTermTable


def _write(folder: Path, name: str, table_class: type[OrderedHashWriter], items: list[tuple[bytes, bytes]]) -> bytes:
    storage = FileStorage(str(folder))
    table = table_class(storage.create_file(name))
    for key, value in items:
        table.add(key, value)
    table.close()
    return (folder / name).read_bytes()


def test_the_compact_table_is_whooshs_table_byte_for_byte(tmp_path: Path) -> None:
    chance = random.Random(7)
    # Enough keys that buckets hold many and hash tables wrap; keys as a segment has them (field number, term).
    letters = "中国经济发展合作习近平卡布洛夫ab1"
    words = {"".join(chance.choice(letters) for _ in range(chance.randint(1, 6))) for _ in range(6000)}
    items = [(b"\x00\x02" + word.encode("utf-8"), chance.randbytes(chance.randint(1, 40))) for word in sorted(words)]
    theirs = _write(tmp_path, "theirs.trm", OrderedHashWriter, items)
    ours = _write(tmp_path, "ours.trm", CompactTermTable, items)
    assert ours == theirs
    reader = OrderedHashReader(FileStorage(str(tmp_path)).open_file("ours.trm"))
    try:
        for key, value in chance.sample(items, 300):
            assert reader[key] == value
        assert reader.closest_key(items[10][0] + b"\x00") == items[11][0]
    finally:
        reader.close()
