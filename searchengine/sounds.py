"""How Chinese text sounds: pinyin readings, and words looked up by sound.

Two kinds of forgiving search rest on this module:

* a Latin query that reads as pinyin (``kabuluofu``, ``ka bu luo fu``,
  ``kǎbùluòfū``, ``lvyou``) is looked up by sound among the index's words;
* a Chinese term that occurs nowhere (``阿富汉``) is looked up by its own
  sound, which finds the same-sound string the reader meant (``阿富汗``).

Sounds are compared without tones, as a reader typing pinyin leaves them
out, and written as one string with ``v`` for ü (``lvyou``). Readings come
from pypinyin's tables: a word in its phrase table gets the phrase's reading
(重庆 is chongqing); any other character its most common reading.

A :class:`SoundIndex` holds the words of one index generation by sound. A
query string is covered by a chain of such words (dynamic programming over
the letters, so the reader's spacing does not matter), and the chains that
sound like the query are the candidates; the caller checks which really
occur, and how often.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

from searchengine.cjk import SPACELESS

__all__ = [
    "SoundIndex",
    "Candidate",
    "reading",
    "readings",
    "all_readings",
    "pinyin_of",
    "pinyin_prefix",
    "tones_typed",
    "tones_of",
    "chars_sounding",
    "syllables",
    "MAX_WORD_CHARS",
]

#: Words longer than this (in characters) are not looked up by sound.
MAX_WORD_CHARS = 8
#: The longest query, in letters, read as pinyin (about twelve syllables).
_MAX_LETTERS = 60
#: Chains kept at each point of the dynamic programme, and words per piece.
_BEAM = 8
_WORDS_PER_PIECE = 4
#: A chain of more pieces is a worse reading: each piece costs more score
#: than any word's frequency can give (log1p of a document count), so a
#: chain of fewer words always wins and frequency only orders equals.
_PIECE_COST = 30.0
_ONE_WORD = re.compile(f"^[{SPACELESS}]{{1,{MAX_WORD_CHARS}}}$")


def _toneless(syllable: str) -> str:
    """``lǜ`` → ``lv``: tone marks off, ü written v."""
    decomposed = unicodedata.normalize("NFD", syllable.lower()).replace("u\u0308", "v")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ü", "v")


@lru_cache(maxsize=8192)
def readings(char: str) -> tuple[str, ...]:
    """Every toneless reading of one character, most common first (empty if it has none)."""
    found = pinyin_dict.get(ord(char))
    if not found:
        return ()
    return tuple(dict.fromkeys(_toneless(s) for s in found.split(",")))


def reading(word: str) -> str | None:
    """The toneless reading of a Chinese word, as one string; None if a character has none."""
    phrase = phrases_dict.get(word)
    if phrase is not None:
        return "".join(_toneless(syllables[0]) for syllables in phrase)
    parts = []
    for char in word:
        found = readings(char)
        if not found:
            return None
        parts.append(found[0])
    return "".join(parts)


def all_readings(text: str, limit: int = 8) -> list[str]:
    """Readings of ``text`` with each character's other readings too (at most ``limit``).

    A slip is typed by sound, and the sound the reader had in mind may be a
    character's less common reading.
    """
    first = reading(text)
    choices = [readings(char) or ("",) for char in text]
    found = dict.fromkeys([first] if first else [])
    for combination in itertools.islice(itertools.product(*choices), limit * 4):
        found["".join(combination)] = None
        if len(found) >= limit:
            break
    return [key for key in found if key]


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """The syllables a query may be made of: every reading that has a vowel
    (not the interjections m, n, ng, hm, which would make ``nba`` read as pinyin)."""
    every = {_toneless(s) for value in pinyin_dict.values() for s in value.split(",")}
    return frozenset(s for s in every if s.isascii() and s.isalpha() and any(v in s for v in "aeiouv"))


_LATIN = re.compile(r"^(?:[a-zA-Z\u00c0-\u024f\u0300-\u036f:]+[1-5]?)+$")


def pinyin_of(text: str) -> str | None:
    """The toneless pinyin string that ``text`` reads as, or None.

    ``text`` is what a reader typed: syllables with or without spaces, tone
    marks or tone numbers, ``v``, ``ü`` or ``u:`` for ü. It reads as pinyin
    when all of it splits into at least two valid syllables. Words typed in
    capitals (``APEC``, ``WTO``) are acronyms, never pinyin.
    """
    parts = text.replace("'", " ").replace("’", " ").split()
    if not parts or any(not _LATIN.match(part) for part in parts):
        return None
    if any(sum(ch.isupper() for ch in part) > 1 for part in parts):
        return None
    letters = _toneless("".join(re.sub(r"[1-5]", "", part) for part in parts)).replace("u:", "v")
    if not letters.isascii() or not letters.isalpha() or len(letters) > _MAX_LETTERS:
        return None
    fewest = _fewest_syllables(letters)
    # Typed apart (xi'an, xi an), the parts are syllables of their own.
    return letters if fewest <= len(letters) and max(fewest, len(parts)) >= 2 else None


def tones_typed(text: str) -> str | None:
    """The pinyin as typed with its tones (``bāoyáng``, ``bao1yang2``), spaces out; None if typed without tones."""
    letters = unicodedata.normalize("NFC", text.lower()).replace("v", "ü").replace("u:", "ü")
    letters = re.sub(r"[\s'’]+", "", letters)
    toneless = re.sub(r"[1-5]", "", _toneless(letters).replace("v", "ü"))
    return letters if letters != toneless else None


def tones_of(word: str) -> tuple[str, str]:
    """A Chinese word's pinyin with tone marks and with tone numbers (``bāoyáng``, ``bao1yang2``), as typed."""
    marks = "".join(lazy_pinyin(word, style=Style.TONE))
    numbers = "".join(lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True))
    return marks, numbers.replace("v", "ü")


@lru_cache(maxsize=1)
def _common_chars() -> dict[str, tuple[str, ...]]:
    """The common characters (GB2312's 6,763) by each of their toneless readings."""
    found: dict[str, list[str]] = {}
    for code, values in pinyin_dict.items():
        char = chr(code)
        try:
            char.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if len(char.encode("gb2312")) == 2:
            for syllable in dict.fromkeys(_toneless(value) for value in values.split(",")):
                found.setdefault(syllable, []).append(char)
    return {syllable: tuple(chars) for syllable, chars in found.items()}


def chars_sounding(syllable: str) -> tuple[str, ...]:
    """The common characters that can be read ``syllable`` (toneless): for names no word list has."""
    return _common_chars().get(syllable, ())


def syllables(letters: str) -> list[str] | None:
    """``letters`` (toneless pinyin) split into the fewest syllables, or None."""
    fewest = [0] + [len(letters) + 1] * len(letters)
    back = [0] * (len(letters) + 1)
    for end in range(1, len(letters) + 1):
        for start in range(max(0, end - 6), end):
            if fewest[start] + 1 < fewest[end] and letters[start:end] in _syllables():
                fewest[end], back[end] = fewest[start] + 1, start
    if fewest[len(letters)] > len(letters):
        return None
    found, end = [], len(letters)
    while end:
        found.append(letters[back[end] : end])
        end = back[end]
    return found[::-1]


def pinyin_prefix(text: str) -> str | None:
    """Like :func:`pinyin_of`, for what a reader is still typing: the last
    syllable may be unfinished (``mosik`` → ``mosik``, as in mosike)."""
    whole = pinyin_of(text)
    if whole is not None or not text.isascii() or not text.isalpha() or not text.islower():
        return whole
    for cut in range(1, min(6, len(text))):
        head, tail = text[:-cut], text[-cut:]
        if _fewest_syllables(head) <= len(head) and tail in _syllable_starts():
            return text
    return None


@lru_cache(maxsize=1)
def _syllable_starts() -> frozenset[str]:
    """Every unfinished syllable: z, zh, zho, zhon (and the syllables themselves)."""
    return frozenset(syllable[:i] for syllable in _syllables() for i in range(1, len(syllable) + 1))


def _fewest_syllables(letters: str) -> int:
    """How few valid syllables ``letters`` splits into (more than its length if it does not split)."""
    found = syllables(letters)
    return len(letters) + 1 if found is None else len(found)


@dataclass(frozen=True)
class Candidate:
    """A string that sounds like the query, as a chain of the index's words."""

    text: str
    pieces: int
    score: float


class SoundIndex:
    """The Chinese words of one index generation, by sound.

    ``frequency`` gives a word's document frequency in the index; it is
    asked only for the few words a lookup touches, and remembered.
    """

    def __init__(self, words: Iterable[str], frequency: Callable[[str], int]) -> None:
        by_sound: dict[str, list[str]] = {}
        for word in words:
            if _ONE_WORD.match(word):
                key = reading(word)
                if key:
                    by_sound.setdefault(key, []).append(word)
        self._by_sound = by_sound
        self._keys = sorted(by_sound)
        self._longest = max(map(len, self._keys), default=0)
        self._frequency = frequency
        self._known: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def frequency(self, word: str) -> int:
        found = self._known.get(word)
        if found is None:
            found = self._known[word] = self._frequency(word)
        return found

    def words(self, sound: str) -> list[str]:
        """The index's words that read exactly ``sound``, most frequent first."""
        return sorted(self._by_sound.get(sound, ()), key=self.frequency, reverse=True)

    def chains(self, sound: str, limit: int = _BEAM) -> list[Candidate]:
        """Strings made of the index's words that read ``sound``, best first.

        Fewer, more frequent words make a better reading: 莫斯科模式 as one
        word beats 莫斯科 + 模式, which beats five single characters.
        """
        if not sound or len(sound) > _MAX_LETTERS:
            return []
        # best[i]: the best chains covering sound[:i], as (score, pieces, text).
        best: list[list[tuple[float, int, str]]] = [[] for _ in range(len(sound) + 1)]
        best[0] = [(0.0, 0, "")]
        for end in range(1, len(sound) + 1):
            found: list[tuple[float, int, str]] = []
            for start in range(max(0, end - self._longest), end):
                if not best[start]:
                    continue
                words = self.words(sound[start:end])[:_WORDS_PER_PIECE]
                for word in words:
                    gain = math.log1p(self.frequency(word)) - _PIECE_COST
                    found.extend((score + gain, pieces + 1, text + word) for score, pieces, text in best[start])
            best[end] = heapq.nlargest(limit, found)
        return [Candidate(text, pieces, score) for score, pieces, text in best[len(sound)]]

    def completions(self, prefix: str, limit: int = 5) -> list[str]:
        """Words whose sound starts with ``prefix`` (``mosike`` → 莫斯科): shortest sound first, then most frequent."""
        start = bisect_left(self._keys, prefix)
        keys = list(itertools.takewhile(lambda key: key.startswith(prefix), self._keys[start : start + 400]))
        keys.sort(key=len)
        found = [(len(key), -self.frequency(word), word) for key in keys[:40] for word in self._by_sound[key]]
        found.sort(key=lambda entry: entry[:2])
        return [word for _, minus, word in found if minus < 0][:limit]
