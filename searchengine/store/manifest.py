"""A generation's manifest: its format, its analysis settings and a checksum of every file.

``_MAIN_<n>.json`` is written just before the table of contents of
generation ``n`` (whose rename is the commit), so a generation that has one
was committed by this code. It records:

* ``format`` — the on-disk layout (:data:`FORMAT`); another number is refused
  with the advice to rebuild;
* ``analysis`` — the analysis settings, as data (never pickled classes);
* ``segments`` — the segment ids, which the table of contents must list too:
  a garbled or stray table of contents shows as a mismatch;
* ``files`` — each segment file's size and CRC-32. Segment files never change
  once written, so opening a generation checks the sizes of all and the
  checksums of the files this process has not checked before (the first open
  reads the whole index once, at about 2 GB/s; later generations only their
  new segments). A damaged index is refused instead of giving wrong results.
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from searchengine.analysis import AnalysisSettings

__all__ = ["FORMAT", "Manifest", "manifest_name", "read_manifest", "write_manifest", "digest", "verify_files"]

#: The on-disk format this code reads and writes; bump it when the layout changes.
FORMAT = 2  # 2: the sketch column (reprints)
_CHUNK = 1 << 20


def manifest_name(index_name: str, generation: int) -> str:
    return f"_{index_name}_{generation}.json"


@dataclass(frozen=True)
class Manifest:
    generation: int
    settings: AnalysisSettings
    segments: tuple[str, ...]
    files: dict[str, tuple[int, int]]  # name: (size, crc32)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "generation": self.generation,
                "analysis": self.settings.to_dict(),
                "segments": list(self.segments),
                "files": {name: list(value) for name, value in sorted(self.files.items())},
            },
            ensure_ascii=False,
            indent=1,
        )


def read_manifest(folder: Path, index_name: str, generation: int) -> Manifest | None:
    """The manifest of ``generation``; None when there is none or it is of another format.

    Raises ValueError (with the reason) when it exists but cannot be read.
    """
    path = folder / manifest_name(index_name, generation)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        return Manifest(
            generation=int(data["generation"]),
            settings=AnalysisSettings.from_dict(data["analysis"]),
            segments=tuple(str(s) for s in data["segments"]),
            files={str(name): (int(size), int(crc)) for name, (size, crc) in data["files"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path.name} is malformed: {type(exc).__name__}: {exc}") from None


def write_manifest(folder: Path, index_name: str, manifest: Manifest) -> None:
    """Write the manifest durably: a temporary file, fsync, rename."""
    target = folder / manifest_name(index_name, manifest.generation)
    temporary = target.with_name(target.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(manifest.to_json())
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(target)


def digest(path: Path) -> tuple[int, int]:
    """A file's size and CRC-32."""
    crc, size = 0, 0
    with open(path, "rb") as data:
        while chunk := data.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return size, crc


# Files of this process already checked: (path, size, mtime) -> crc. Segment
# files are immutable, so one check per file and process is enough.
_checked: dict[tuple[str, int, int], int] = {}
_checked_lock = threading.Lock()


def verify_files(folder: Path, files: dict[str, tuple[int, int]], *, thorough: bool = False) -> list[str]:
    """What is wrong with the files a manifest lists (empty when nothing), in the order of their names.

    ``thorough`` checks every checksum again, even of files checked before.
    The files are read and summed in parallel, a thread per core: CRC-32
    and reading let go of the interpreter, and a million-post index is two
    2.7 GB segment files, which took 4-5 s one after the other before every
    update and every first search.
    """
    problems: dict[str, str] = {}
    unchecked: list[tuple[str, Path, tuple[str, int, int], int]] = []
    for name, (size, crc) in files.items():
        path = folder / name
        try:
            stat = path.stat()
        except FileNotFoundError:
            problems[name] = f"{name} is missing"
            continue
        if stat.st_size != size:
            problems[name] = f"{name} has {stat.st_size:,} bytes instead of {size:,}"
            continue
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if thorough or _checked.get(key) != crc:
            unchecked.append((name, path, key, crc))
    with ThreadPoolExecutor(max_workers=max(1, min(len(unchecked), os.cpu_count() or 1))) as pool:
        sums = list(pool.map(lambda item: digest(item[1])[1], unchecked))
    for (name, _, key, crc), found in zip(unchecked, sums, strict=True):
        if found != crc:
            problems[name] = f"{name} fails its checksum"
            continue
        with _checked_lock:
            _checked[key] = crc
    return [problems[name] for name in sorted(problems)]
