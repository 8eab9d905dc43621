"""Reprints: posts that tell one story, found by MinHash over character shingles.

Wire stories are reprinted and re-edited (a new lead, another title, a
trimmed end), so an archive fed by several sources holds one story many
times. Two steps find them:

* **when a post is indexed** (in the build's worker processes),
  :func:`signature` sketches its normalized body: the set of its
  :data:`SHINGLE`-character shingles, spaces and punctuation left out (a
  reprint re-spaces and re-punctuates freely), as a datasketch ``MinHash`` of
  :data:`NUM_PERM` slots, of which the index keeps the lowest byte of each
  (b-bit MinHash: 64 bytes a post, and one in 256 unlike slots agrees by
  chance, which :func:`similarity` corrects for). The share of slots two
  sketches have in common estimates the Jaccard similarity of the two
  shingle sets. A body of fewer than :data:`MIN_SHINGLES` shingles says too
  little to be told apart from boilerplate and gets no sketch: it is never
  grouped.
* **when an index generation is opened**, :func:`stories` groups the live
  posts: LSH banding (:data:`BANDS` bands of :data:`ROWS` slots, datasketch's
  optimum for :data:`THRESHOLD`) proposes pairs, a pair is kept when its
  estimated similarity reaches :data:`THRESHOLD`, and kept pairs gather into
  stories around a leader (:func:`_gather`). Grouping the live posts of each
  generation keeps stories exact as posts come and go; it takes about 0.1 s
  for 75,000 posts (some 3 s for a million).

:data:`SHINGLE` and :data:`THRESHOLD` are measured, not guessed:
``scripts/reprint_threshold.py`` makes reprints of real posts by editing
copies, and pairs of posts that only share boilerplate, and prints how each
threshold separates them (the README has the figures). Long shingles suit
news: a template filled in with other names and figures (each day's
bulletin, each visit's welcome ceremony) differs in many scattered places,
each breaking every shingle across it, while a reprint differs in a few
whole blocks (a lead, an end).

datasketch itself is not imported (it loads scipy): its permutations and
banding are written out here, and tests check them against it.
"""

from __future__ import annotations

import functools
import re
import zlib

import numpy as np

__all__ = [
    "NUM_PERM",
    "SHINGLE",
    "MIN_SHINGLES",
    "THRESHOLD",
    "BANDS",
    "ROWS",
    "LSH_WEIGHTS",
    "SIGNATURE_BYTES",
    "NO_SIGNATURE",
    "shingles",
    "sketch",
    "signature",
    "similarity",
    "stories",
]

# What the index stores depends on NUM_PERM, SHINGLE and MIN_SHINGLES: change one
# and bump searchengine.store.manifest.FORMAT (indexes must be rebuilt). The
# threshold and the banding apply when an index is opened.

#: Slots of a sketch: an estimate near 0.4 is within ±0.06 (one standard deviation).
NUM_PERM = 64
#: Characters per shingle.
SHINGLE = 12
#: Bodies with fewer shingles (fewer than 51 letters and digits) get no sketch, and are never grouped.
MIN_SHINGLES = 40
#: Estimated Jaccard similarity from which two posts are one story.
THRESHOLD = 0.4
#: Weights of a needless candidate pair and of a missed one when choosing the
#: banding: every candidate is verified, so a needless one costs one comparison;
#: the heaviest weight on misses that keeps bands of 3 slots (with 1-byte slots,
#: bands of 2 would pair every post by chance with one in 65,536 others).
LSH_WEIGHTS = (0.2, 0.8)
#: LSH banding: ``datasketch.lsh._optimal_param(THRESHOLD, NUM_PERM, *LSH_WEIGHTS)``
#: (a test checks it), written out so that opening an index needs no scipy.
BANDS, ROWS = 21, 3

#: Bits of each slot the index keeps.
_BITS = 8
#: Chance that two unlike slots agree on their kept bits.
_CHANCE = 1.0 / (1 << _BITS)
SIGNATURE_BYTES = NUM_PERM * _BITS // 8
#: What a post without a sketch stores.
NO_SIGNATURE = b"\xff" * SIGNATURE_BYTES
#: Rows sharing a band key that each row is paired with (the ones before it in key order).
_WINDOW = 8
_NOT_LETTERS = re.compile(r"[\W_]+")
_MIX = np.uint64(0x9E3779B97F4A7C15)  # an odd constant: multiplying by it spreads a key's bits
#: datasketch's default seed, from which its MinHash draws its permutations.
_PERMUTATION_SEED = 1


def shingles(normalized: str, size: int = SHINGLE, *, punctuation: bool = False) -> set[str]:
    """The ``size``-character shingles of a normalized text, spaces and punctuation left out
    unless ``punctuation`` (the threshold script compares both)."""
    text = normalized if punctuation else _NOT_LETTERS.sub("", normalized)
    return {text[i : i + size] for i in range(len(text) - size + 1)}


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations of 32-bit hashes, ``h -> a * h + b`` (``a`` odd), one per slot.

    The ones datasketch's ``MinHash(num_perm=NUM_PERM, scheme="affine32")``
    uses (a test checks it): drawn from numpy's legacy generator with
    datasketch's seed, 1, whose stream numpy keeps the same from release to
    release, as the sketches an index stores depend on them. Importing
    datasketch for them loaded scipy: a second and 45 MB in each build worker.
    """
    draw = np.random.RandomState(_PERMUTATION_SEED).randint
    a = draw(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = draw(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, which datasketch's ``affine32`` scheme applies to each hash first."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def _sketch_of(hashes: np.ndarray) -> np.ndarray:
    """The kept bits of each slot's minimum over the permuted ``hashes`` (CRC-32s of shingles; repeats change nothing).

    What datasketch's ``MinHash.update_batch`` then ``hashvalues`` give, in
    one numpy expression: its per-call overhead (a Python list of hashes, a
    permutation table parsed per sketch) was most of a sketch's cost.
    """
    a, b = _permutations()
    lowest = (_fmix32(hashes.astype(np.uint32))[:, None] * a + b).min(axis=0)
    return (lowest & ((1 << _BITS) - 1)).astype(np.uint8)


def sketch(found: set[str]) -> np.ndarray | None:
    """The sketch of a set of shingles as the index keeps it (NUM_PERM bytes); None when the set is too small."""
    if len(found) < MIN_SHINGLES:
        return None
    return _sketch_of(np.fromiter(map(zlib.crc32, map(str.encode, found)), dtype=np.uint32, count=len(found)))


def signature(normalized_body: str) -> bytes:
    """What the index stores for a post: its body's sketch, or :data:`NO_SIGNATURE`.

    ``sketch(shingles(normalized_body))``, computed without making the set
    of shingles: the body is encoded once, and each shingle's CRC-32 taken
    from a slice of its bytes (a shingle's bytes run from its first
    character's offset to the offset twelve characters on). Repeated
    shingles hash alike and change no minimum; only a body with fewer
    distinct hashes than :data:`MIN_SHINGLES` needs its shingles counted.
    """
    text = _NOT_LETTERS.sub("", normalized_body)
    windows = len(text) - SHINGLE + 1
    if windows < MIN_SHINGLES:
        return NO_SIGNATURE
    data = text.encode("utf-8")
    if len(data) == len(text):  # ASCII: a byte per character
        offsets: list[int] = list(range(len(text) + 1))
    else:
        points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        sizes = 1 + (points >= 0x80).astype(np.int64) + (points >= 0x800) + (points >= 0x10000)
        offsets = [0, *np.cumsum(sizes).tolist()]
    crc = zlib.crc32
    hashes = np.array(
        [crc(data[start:end]) for start, end in zip(offsets[:windows], offsets[SHINGLE:], strict=True)], np.uint32
    )
    ordered = np.sort(hashes)
    distinct = 1 + np.count_nonzero(ordered[1:] != ordered[:-1])
    if distinct < MIN_SHINGLES and len(shingles(normalized_body)) < MIN_SHINGLES:
        return NO_SIGNATURE
    return _sketch_of(hashes).tobytes()


def similarity(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of sketches (row by row for arrays of them).

    The share of agreeing slots, less the slots that agree by chance.
    """
    return _estimate(np.count_nonzero(left == right, axis=-1))


def _estimate(agreeing: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity from the numbers of agreeing slots."""
    return np.maximum(agreeing / NUM_PERM - _CHANCE, 0.0) / (1.0 - _CHANCE)


#: The fewest agreeing slots of two alike sketches (``similarity >= THRESHOLD``).
_FEWEST_AGREEING = int(np.argmax(_estimate(np.arange(NUM_PERM + 1)) >= THRESHOLD))


def stories(signatures: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Each document's story: the document number of the story's leader (its own when alone).

    ``signatures`` holds one sketch per document (rows of
    :data:`NO_SIGNATURE` are never grouped), ``live`` which documents count.

    Documents with the same sketch (copies of one text, as feeds carrying
    the same wire story hold) are one story, led by the first of them, as
    the most alike pairs always made them; only that first one goes through
    the pairing, which then costs in proportion to the distinct texts. A
    million posts that were 13 copies each of 75,000 texts took 26 s to
    group one by one, and take about a second so.
    """
    story = np.arange(len(signatures), dtype=np.int32)
    docs = np.flatnonzero(live & (signatures != 0xFF).any(axis=1))
    if len(docs) < 2:
        return story
    firsts, copies, text_of = _distinct(signatures[docs])
    sketches = signatures[docs[firsts]]
    pairs = _candidates(sketches)
    alike = similarity(sketches[pairs[:, 0]], sketches[pairs[:, 1]])
    kept = alike >= THRESHOLD
    leaders = _gather(sketches, pairs[kept], alike[kept], copies > 1)
    story[docs] = docs[firsts[leaders[text_of]]]
    return story


def _distinct(sketches: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct sketches among the rows of ``sketches``, in the order of their first rows.

    Returns each one's first row, how many rows have it, and for each row
    which of them it has.
    """
    rows = np.ascontiguousarray(sketches).view(np.dtype((np.void, sketches.shape[1]))).ravel()
    _, first, which = np.unique(rows, return_index=True, return_inverse=True)  # (sorted, not hashed)
    order = np.argsort(first)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    which = which.ravel()
    return first[order], np.bincount(which)[order], rank[which]


def _candidates(sketches: np.ndarray) -> np.ndarray:
    """Pairs of rows that agree on every slot of at least one band (each pair once, lower row first).

    For each band, rows are sorted by a 32-bit hash of the band's slots
    (sorted together with the row numbers in one array, which numpy sorts
    far faster than it argsorts), so rows sharing the band stand together,
    and each is paired with the :data:`_WINDOW` rows before it that share
    the hash. A band that many posts share (boilerplate) so adds pairs in
    proportion to the posts, not to their square. A hash shared by chance
    only adds a pair that verification drops.
    """
    size = len(sketches)
    slots = np.ascontiguousarray(sketches[:, : BANDS * ROWS].T)  # slot by slot: each band's slots at hand
    rows = np.arange(size, dtype=np.uint64)
    found = []
    for band in range(BANDS):
        key = np.zeros(size, dtype=np.uint64)
        for slot in slots[band * ROWS : (band + 1) * ROWS]:
            key = (key << np.uint64(_BITS)) | slot
        ordered = np.sort(((key * _MIX) >> np.uint64(32) << np.uint64(32)) | rows)
        hashes, order = ordered >> np.uint64(32), (ordered & np.uint64(0xFFFFFFFF)).astype(np.int64)
        for gap in range(1, _WINDOW + 1):
            same = np.flatnonzero(hashes[gap:] == hashes[:-gap])
            if not len(same):
                break  # no run of rows this long
            found.append(order[same] * size + order[same + gap])
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    codes = np.concatenate(found)
    low, high = np.divmod(codes, size)
    codes = np.sort(np.minimum(low, high) * size + np.maximum(low, high))
    codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    return np.stack(np.divmod(codes, size), axis=1)


def _gather(sketches: np.ndarray, pairs: np.ndarray, alike: np.ndarray, leading: np.ndarray) -> np.ndarray:
    """Each row's leader: stories formed from alike pairs, the most alike first.

    Two rows without a story start one, led by the first of them; a row
    without a story joins the story of a row it is alike to if it is alike
    to that story's leader as well. So every member of a story is within
    :data:`THRESHOLD` of its leader, and a chain of templated posts (each
    day's figures much like the day before's) cannot grow into one story of
    all of them, as joining every alike pair would. Rows marked ``leading``
    already lead a story (of their copies) before any pair is read.
    """
    leader = list(range(len(sketches)))  # lists: the loop reads them item by item
    grouped = leading.tolist()
    # A joining row is compared with its story's leader as integers: their
    # agreeing slots are the zero bytes of the XOR, some 20 times quicker than
    # a numpy call on two rows (of which a million posts make millions).
    packed: dict[int, int] = {}

    def packed_row(row: int) -> int:
        value = packed.get(row)
        if value is None:
            value = packed[row] = int.from_bytes(sketches[row].tobytes(), "big")
        return value

    width = sketches.shape[1]
    for first, second in pairs[np.argsort(-alike, kind="stable")].tolist():
        if grouped[first] == grouped[second]:
            if not grouped[first]:  # both alone: a new story
                leader[second] = first
                grouped[first] = grouped[second] = True
            continue  # both in stories already
        member, joining = (first, second) if grouped[first] else (second, first)
        head = leader[member]
        if (packed_row(joining) ^ packed_row(head)).to_bytes(width, "big").count(0) >= _FEWEST_AGREEING:
            leader[joining] = head
            grouped[joining] = True
    return np.array(leader)
