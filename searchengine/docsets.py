"""Sets of documents as sorted arrays of document numbers.

A query's matches are kept as the sorted numbers of the documents matched,
with each value a match carries (a score, a flag) in an array beside them,
never as arrays over the whole archive: an archive-sized array costs
milliseconds at a million posts, and a search would make dozens of them,
however few posts it matches. These are the set operations the matching and
ranking need, each vectorised (merges and binary searches).
"""

from __future__ import annotations

import numpy as np

__all__ = ["EMPTY", "contains_sorted", "union", "intersect", "align", "flags", "positions_in"]

#: No documents.
EMPTY = np.zeros(0, np.int64)
_EMPTY_FLAGS = np.zeros(0, bool)


def contains_sorted(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """For each needle, whether the sorted ``haystack`` holds it (binary search)."""
    if not len(haystack):
        return np.zeros(len(needles), bool)
    where = np.searchsorted(haystack, needles)
    where[where == len(haystack)] = 0
    return np.asarray(haystack[where] == needles)


def union(*sets: np.ndarray) -> np.ndarray:
    """The sorted union of sorted, duplicate-free arrays.

    A stable sort of the concatenation merges its sorted runs in linear time
    (numpy's timsort finds them), which beats a hash set or a general sort.
    """
    present = [s for s in sets if len(s)]
    if not present:
        return EMPTY
    if len(present) == 1:
        return present[0]
    merged = np.sort(np.concatenate(present), kind="stable")
    keep = np.ones(len(merged), bool)
    keep[1:] = merged[1:] != merged[:-1]
    return merged[keep]


def intersect(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The sorted intersection of two sorted arrays: the shorter looked up in the longer."""
    small, large = (first, second) if len(first) <= len(second) else (second, first)
    return small[contains_sorted(large, small)]


def positions_in(docs: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``owners`` stands in the sorted ``docs``, and whether it is there at all."""
    where = np.searchsorted(docs, owners)
    ok = where < len(docs)
    ok[ok] = docs[where[ok]] == owners[ok]
    return where, ok


def align(docs: np.ndarray, values: np.ndarray, target: np.ndarray, fill: float | bool = 0) -> np.ndarray:
    """``values`` (one per document of sorted ``docs``) for each document of sorted ``target``.

    Documents of ``target`` that ``docs`` lacks get ``fill``; the result has
    the dtype of ``values``.
    """
    aligned = np.full(len(target), fill, dtype=values.dtype)
    if len(docs) and len(target):
        where, ok = positions_in(docs, target)
        aligned[ok] = values[where[ok]]
    return aligned


def flags(docs: np.ndarray, target: np.ndarray) -> np.ndarray:
    """For each document of sorted ``target``: whether the sorted ``docs`` holds it."""
    return contains_sorted(docs, target) if len(target) else _EMPTY_FLAGS
