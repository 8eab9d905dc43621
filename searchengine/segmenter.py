"""jieba's words of a text, found faster by an optional accelerator that finds the same words.

Why: jieba, in pure Python, was most of a build's time (about 9 µs of CPU
per character on our 2-core machine: 76 minutes of CPU for a million news
posts). `rjieba <https://pypi.org/project/rjieba/>`_, the Python binding of
jieba-rs, does the same dictionary walk and the same HMM in Rust: fed block
by block as below, about five times as fast (0.109 → 0.529 M characters a
second on the shared corpus). It is an optional extra (``pip install searchengine[fast]``):
without it, or with :data:`ACCELERATOR_ENV` set to ``0``, every word comes
from jieba itself. Copying jieba's dictionary into rjieba takes about half a
second and 30 MB, so a segmenter does it only once it pays off: a build of
many posts asks for it before forking its workers (who then share it); any
other process after its first :data:`_ACCELERATE_AFTER` characters. Queries,
a post page's related posts and small updates stay with jieba.

What makes the two agree. jieba cuts a text into blocks (its own pattern,
``jieba.re_han_default``: runs of Chinese characters, ASCII letters, digits
and ``+#&._%-``) and segments each block on its own, so a block can go to
either. rjieba gets only the blocks of Chinese characters, ASCII letters and
digits, with a dictionary copied word by word from jieba's (the user
dictionary included); every other block stays with jieba, because there the
two differ (jieba cuts ``2016-2020`` into three words, rjieba keeps it
whole). On the shared corpus (74,786 posts) the words are identical for
every post (``scripts/check_segmenter.py`` shows it for any folder of posts,
and a test for a year of it).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from typing import Any

import jieba

rjieba: Any
try:
    import rjieba
except ImportError:  # the accelerator is an optional extra
    rjieba = None

__all__ = ["ACCELERATOR_ENV", "Segmenter"]

#: Set to ``0`` to segment with jieba alone even where rjieba is installed.
ACCELERATOR_ENV = "SEARCHENGINE_ACCELERATOR"

# jieba's own split into blocks, so that both segmenters see the blocks it would.
_BLOCKS = jieba.re_han_default
# The blocks rjieba segments exactly as jieba does (see the module's docstring).
_SAME_IN_BOTH = re.compile("[\u4e00-\u9fd5a-zA-Z0-9]+")
#: Pieces of text left to jieba whose words a segmenter keeps at hand.
_SLOW_PIECES = 1 << 14
#: Characters jieba alone cuts before a segmenter that may accelerate does: rjieba's
#: copy of the dictionary takes about half a second and 30 MB to make, which rjieba
#: wins back over some 160,000 characters (a few hundred posts). A query, a post
#: page's related posts, or an update of a few posts never get there.
_ACCELERATE_AFTER = 200_000


class Segmenter:
    """jieba's words of a text (``cut``, ``tokenize``), from rjieba where it finds the same ones."""

    def __init__(self, tokenizer: jieba.Tokenizer, accelerate: bool | None = None) -> None:
        """``tokenizer`` is an initialized jieba (user dictionary loaded).

        ``accelerate``: True, rjieba from the start; False, never; None, once
        it pays off (when :meth:`accelerate` is called, as a build of many
        posts does, or after :data:`_ACCELERATE_AFTER` characters), where
        rjieba is installed and :data:`ACCELERATOR_ENV` is not ``0``.
        """
        self._tokenizer = tokenizer
        self._fast: Any = _fast_copy(tokenizer) if accelerate else None
        self._may_accelerate = accelerate is None and rjieba is not None and os.environ.get(ACCELERATOR_ENV) != "0"
        self._unaccelerated = 0  # characters cut by jieba alone so far
        # The pieces left to jieba (punctuation and spaces between blocks, dates, decimals,
        # addresses) recur from post to post, and jieba spends some microseconds on each,
        # however short: a post has dozens. Its words for a piece never change.
        self._piece_words = functools.lru_cache(maxsize=_SLOW_PIECES)(self._jieba_words)

    @property
    def accelerated(self) -> bool:
        """Whether rjieba finds the words of the blocks it can."""
        return self._fast is not None

    def accelerate(self) -> bool:
        """Make rjieba's copy of the dictionary now, if this segmenter may; whether it is accelerated."""
        if self._fast is None and self._may_accelerate:
            self._fast = _fast_copy(self._tokenizer)
        return self._fast is not None

    def cut(self, text: str) -> list[str]:
        """jieba's words of ``text`` (``jieba.Tokenizer.cut`` with its HMM), spaces and punctuation included."""
        if self._fast is None:
            self._unaccelerated += len(text)
            if self._unaccelerated <= _ACCELERATE_AFTER or not self.accelerate():
                return list(self._tokenizer.cut(text))
        fast, same, piece_words = self._fast.cut, _SAME_IN_BOTH.fullmatch, self._piece_words
        words: list[str] = []
        for block in _BLOCKS.split(text):
            if block:
                words += fast(block) if same(block) else piece_words(block)
        return words

    def _jieba_words(self, piece: str) -> tuple[str, ...]:
        """jieba's own words of one piece (what :attr:`_piece_words` caches)."""
        return tuple(self._tokenizer.cut(piece))

    def tokenize(self, text: str) -> Iterator[tuple[str, int, int]]:
        """``(word, start, end)`` for each word of :meth:`cut`, as ``jieba.Tokenizer.tokenize``."""
        start = 0
        for word in self.cut(text):
            end = start + len(word)
            yield word, start, end
            start = end


def _fast_copy(tokenizer: jieba.Tokenizer) -> Any:
    """An rjieba with exactly ``tokenizer``'s words and frequencies (its own dictionary may differ)."""
    if rjieba is None:
        raise RuntimeError("the accelerator rjieba is not installed: pip install searchengine[fast]")
    fast = rjieba.Jieba.empty()
    add = fast.add_word
    for word, frequency in tokenizer.FREQ.items():
        if frequency:  # jieba keeps every prefix of a word too, with frequency 0
            add(word, frequency, None)
    return fast
