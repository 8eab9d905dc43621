"""The one text normalizer shared by indexing, querying and highlighting.

Every string that reaches the index or a query goes through :func:`normalize`:

* NFKC, so full-width forms match half-width ones (``ＡＰＥＣ`` → ``APEC``,
  ``２０２４`` → ``2024``);
* case folding, so ``Apec`` matches ``APEC``;
* no spaces beside Chinese and Japanese letters (:data:`searchengine.cjk.SPACELESS`),
  so ``中国 记协`` matches ``中国记协`` and ``APEC 领导人`` matches ``APEC领导人``;
  a line break stays (a paragraph ends a phrase), and so does a space
  between two Latin words;
* traditional → simplified Chinese with OpenCC's phrase-aware ``t2s``
  conversion, so ``習近平`` matches ``习近平``.

Highlighting needs to go back from the normalized text to the characters the
post really has, so :func:`normalize_with_offsets` also returns, for every
normalized character, the index of the original character it came from.
Both functions produce the same string; the index and the highlighter can
therefore never disagree about where a match is.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import opencc

from searchengine.cjk import SPACELESS

__all__ = ["normalize", "normalize_with_offsets", "keyword_key", "is_traditional", "OPENCC_CONFIG"]

OPENCC_CONFIG = "t2s"


class _CharTable(dict):
    """``str.translate`` table mapping a code point to its NFKC + casefold form.

    Filled lazily: each distinct character is normalized once per process, and
    ``str.translate`` then runs at C speed over whole documents.
    """

    def __missing__(self, codepoint: int) -> str:
        folded = unicodedata.normalize("NFKC", chr(codepoint)).casefold()
        self[codepoint] = folded
        return folded


_TABLE = _CharTable()

# Spaces and tabs (not line breaks) with a spaceless letter on one side and a
# letter or digit on the other.
_HORIZONTAL = r"[^\S\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+"
_GAP = re.compile(rf"(?<=[{SPACELESS}]){_HORIZONTAL}(?=[^\W_])|(?<=[^\W_]){_HORIZONTAL}(?=[{SPACELESS}])")


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC(OPENCC_CONFIG)


def _fold(text: str) -> str:
    return text.translate(_TABLE)


def _close_gaps(folded: str) -> str:
    return _GAP.sub("", folded) if " " in folded or "\t" in folded else folded


def _to_simplified(folded: str) -> str:
    """Convert with OpenCC, keeping one output character per input character.

    ``t2s`` maps phrases to phrases of the same length, so the result lines up
    with its input character for character. Should a conversion ever change
    the length, convert character by character instead, which keeps the
    alignment that offsets depend on.
    """
    converted = _converter().convert(folded)
    if len(converted) == len(folded):
        return converted
    convert = _converter().convert
    return "".join(ch if len(c := convert(ch)) != 1 else c for ch in folded)


def normalize(text: str) -> str:
    """Return the normalized form of ``text`` (NFKC, case-folded, unspaced, simplified)."""
    return _to_simplified(_close_gaps(_fold(text)))


def keyword_key(value: str) -> str:
    """What two spellings of one keyword value (a category, tag or author) share:
    normalized, spaces collapsed, so 社會 and 社会 are one value."""
    return " ".join(normalize(value).split())


def is_traditional(text: str) -> bool:
    """True when normalizing ``text`` converts characters to simplified: the reader writes traditional."""
    folded = _close_gaps(_fold(text))
    return _to_simplified(folded) != folded


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Return ``(normalized, offsets)``.

    ``offsets[i]`` is the index in ``text`` of the character that produced
    normalized character ``i``; ``offsets`` has one extra final entry,
    ``len(text)``, so that a normalized span ``[a, b)`` maps back to
    ``text[offsets[a]:offsets[b]]`` (for ``b`` past a multi-character
    expansion, the end is the start of the next original character).
    """
    folded = _fold(text)
    if len(folded) == len(text) and not _changes_length().search(text):
        offsets = list(range(len(text) + 1))
    else:
        # Chinese text is full of "……", which NFKC expands to "......":
        # find the few characters whose form changes length, not every one.
        lengths = np.ones(len(text), dtype=np.int64)
        for match in _changes_length().finditer(text):
            lengths[match.start()] = len(_TABLE[ord(match.group())])
        offsets = np.repeat(np.arange(len(text)), lengths).tolist()
        offsets.append(len(text))
    closed = _close_gaps(folded)
    if len(closed) != len(folded):
        keep = np.ones(len(offsets), bool)
        for gap in _GAP.finditer(folded):
            keep[gap.start() : gap.end()] = False
        offsets = np.asarray(offsets)[keep].tolist()
    return _to_simplified(closed), offsets


@lru_cache(maxsize=1)
def _changes_length() -> re.Pattern[str]:
    """Characters whose NFKC + casefold form is not exactly one character.

    Found once per process over the Basic Multilingual Plane (some 20 ms);
    characters beyond it are rare and always checked one by one.
    """
    changing = [
        chr(cp)
        for cp in range(0x10000)
        if not 0xD800 <= cp <= 0xDFFF and len(unicodedata.normalize("NFKC", chr(cp)).casefold()) != 1
    ]
    pattern = "".join(re.escape(ch) for ch in changing)
    return re.compile(f"[{pattern}\U00010000-\U0010FFFF]")
