"""A segment's term table written with its bookkeeping in arrays.

whoosh's term table is a hashed file (``OrderedHashWriter``): each record is
written as it comes, but the writer keeps a ``(hash, position)`` tuple per
term in Python lists until the end, when it lays out the hash tables. That
is some 120 bytes a term: for one large segment of millions of terms,
hundreds of megabytes a build worker would hold for nothing. This writer
keeps them in two arrays per bucket (12 bytes a term) and writes the same
bytes.
"""

from __future__ import annotations

import hashlib
import struct
from array import array
from typing import Any

import numpy as np
from whoosh.filedb.filetables import OrderedHashWriter, md5_hash

__all__ = ["CompactTermTable"]

_RECORD_HEAD = struct.Struct("!ii")  # whoosh's: key length, value length
_SLOT = np.dtype([("hash", ">u4"), ("position", ">i8")])  # whoosh's "!Iq"


def _md5_low32(key: bytes) -> int:
    """whoosh's ``md5_hash`` (the digest's low 32 bits), without its hex round trip."""
    return int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[-4:], "big")


class CompactTermTable(OrderedHashWriter):
    """whoosh's ``OrderedHashWriter`` (keys added in increasing order), byte for byte, in less memory."""

    lastkey: bytes  # whoosh's own attribute

    def __init__(self, dbfile: Any) -> None:
        super().__init__(dbfile)
        if self.hashfn is not md5_hash:
            raise ValueError("the term table's keys are hashed as whoosh's md5_hash")
        self.buckets = [(array("I"), array("q")) for _ in range(256)]  # per bucket: hashes, positions
        self._end: int | None = None  # where the file ends: asked once, then counted

    def add(self, key: bytes, value: bytes) -> None:
        if key <= self.lastkey:
            raise ValueError(f"Keys must increase: {self.lastkey!r}..{key!r}")
        dbfile = self.dbfile
        position = dbfile.tell() if self._end is None else self._end
        self.index.append(position)
        record = _RECORD_HEAD.pack(len(key), len(value)) + key + value
        dbfile.write(record)
        self._end = position + len(record)
        keyhash = _md5_low32(key)
        hashes, positions = self.buckets[keyhash & 255]
        hashes.append(keyhash)
        positions.append(position)
        self.lastkey = key

    def _write_hashes(self) -> None:
        """Each bucket's table: twice its keys' slots, each key at its hash's slot or the next free one."""
        dbfile = self.dbfile
        for hashes, positions in self.buckets:
            slots = 2 * len(hashes)
            self.directory.append((dbfile.tell(), slots))
            table = np.zeros(slots, dtype=_SLOT)
            taken = [0] * slots  # positions; 0 is free (no record starts at 0: the header is there)
            slot_hashes = [0] * slots
            for keyhash, position in zip(hashes, positions, strict=True):
                slot = (keyhash >> 8) % slots
                while taken[slot]:
                    slot = (slot + 1) % slots
                taken[slot] = position
                slot_hashes[slot] = keyhash
            table["hash"] = slot_hashes
            table["position"] = taken
            dbfile.write(table.tobytes())
