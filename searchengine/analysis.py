"""Chinese text analysis: two token layers over one normalized text.

Why two layers. Word segmentation alone loses things: jieba splits a
transliterated name such as 卡布洛夫 into 卡布/洛夫 in one sentence and
边卡/布/洛夫 in another, so a word index cannot promise to find it. Character
bigrams alone rank poorly and cannot tell 农业 the word from 农业 inside
another word. So every field is indexed twice:

* the **word layer** — jieba's words, ``pos`` a running token count, and the
  dictionary sub-words of a long word at the same position as the word
  (农业发展银行 also yields 农业, 发展, 银行), so 农业 finds 中国农业发展银行
  and word phrases still line up;
* the **character layer** — for each run of letters and digits (Chinese,
  Latin or any other script; punctuation and spaces end a run), the bigram
  starting at every character, the run's last character alone closing the
  run, and a marker ``^`` + first character at the run's first position
  (``ABC`` → ``^A`` and ``AB`` at 0, ``BC`` at 1, ``C`` at 2). Positions run
  on through the whole text. A string occurs in a text exactly when its
  bigrams occur at consecutive positions, which is what makes quoted phrases
  exact (``4日上午`` finds ``14日上午``) and names impossible to lose. The
  closing single character means every character starts exactly one token
  (a one-character query is a prefix lookup) and two runs separated by
  punctuation can never fake a match across the gap; the start marker finds
  a run that begins with a given character (the last element of the query
  ``问题，年``) without a prefix lookup.

  Where a sentence ends between two runs (。！？； or a line break), the
  positions jump by :data:`SENTENCE_GAP`: a phrase never spans a sentence
  end unless the query's does too (the query side jumps by the same rule),
  and two terms in different sentences are always at least that far apart,
  which is how proximity respects sentences (see :mod:`searchengine.ranking`).

Both layers see the output of :func:`searchengine.normalize.normalize`, as
does the query side.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import jieba
import numpy as np

from searchengine.cjk import WORD_SCRIPTS
from searchengine.errors import SearchEngineError
from searchengine.normalize import OPENCC_CONFIG
from searchengine.segmenter import Segmenter
from searchengine.store.inversion import CODE_BITS, TermCodes

__all__ = [
    "ANALYZER_VERSION",
    "AnalysisSettings",
    "Analyzer",
    "analyzer_for",
    "DEFAULT_USER_DICT",
    "char_codes",
    "char_tokens",
    "char_spans",
    "is_cjk",
    "RUN_START",
    "SENTENCE_GAP",
]

#: Bump when tokens change for the same text: old indexes must be rebuilt.
ANALYZER_VERSION = 5

#: How far character-layer positions jump where a sentence ends: more than
#: any proximity bonus reaches (see :mod:`searchengine.ranking`).
SENTENCE_GAP = 256

#: Marks the first character of a run in the character layer.
RUN_START = "^"

DEFAULT_USER_DICT = Path(__file__).parent / "data" / "userdict.txt"

# Scripts written without spaces, whose words jieba finds.
CJK_RANGES = WORD_SCRIPTS
_RUNS = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[。！？；!?;…\n]")
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
_HAS_WORD_CHAR = re.compile(r"[^\W_]")
#: Words whose sub-words an analyzer keeps at hand.
_SUBWORD_CACHE = 1 << 16

logging.getLogger("jieba").setLevel(logging.WARNING)
jieba.setLogLevel(logging.WARNING)


def is_cjk(text: str) -> bool:
    """True when every character of ``text`` is Chinese, Japanese or Korean."""
    return bool(text) and all(_CJK_CHAR.match(char) for char in text)


def char_runs(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(run, start, position)`` for each run of letters and digits.

    ``position`` is where the run's first token stands in the character
    layer: one per character so far, plus :data:`SENTENCE_GAP` per sentence
    end passed. The indexer and the query side both place runs with it.
    """
    position = 0
    previous_end = 0
    for match in _RUNS.finditer(text):
        if previous_end and _SENTENCE_END.search(text, previous_end, match.start()):
            position += SENTENCE_GAP
        yield match.group(), match.start(), position
        position += match.end() - match.start()
        previous_end = match.end()


def char_tokens(text: str) -> list[tuple[str, int]]:
    """The character layer of normalized ``text`` as ``(token, position)`` pairs."""
    return _char_layer(text, False)


def char_codes(text: str) -> TermCodes:
    """The character layer of normalized ``text`` as the indexer takes it: :func:`char_tokens`' tokens as codes.

    The same tokens (the test suite compares the two on real posts), made
    by numpy for the whole text at once instead of a string and a tuple per
    character: each run's bigram codes in position order, then the runs'
    start markers.
    """
    bounds = np.fromiter(itertools.chain.from_iterable(match.span() for match in _RUNS.finditer(text)), np.int64)
    if not len(bounds):
        return TermCodes(np.zeros(0, np.uint64), np.zeros(0, np.uint32))
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    starts, ends = bounds[0::2], bounds[1::2]
    lengths = ends - starts
    sentence_ends = np.fromiter((match.start() for match in _SENTENCE_END.finditer(text)), np.int64)
    gaps = np.zeros(len(starts), dtype=np.int64)  # whether a sentence ends between the run before and this one
    gaps[1:] = np.searchsorted(sentence_ends, starts[1:]) > np.searchsorted(sentence_ends, ends[:-1])
    before = np.cumsum(lengths) - lengths  # characters of the runs before each run
    run_positions = before + SENTENCE_GAP * np.cumsum(gaps)
    tokens = np.arange(int(lengths.sum()))
    chars = tokens + np.repeat(starts - before, lengths)  # each token's first character
    following = np.append(points, np.uint64(0))[chars + 1]
    following[before + lengths - 1] = 0  # a run's last character stands alone
    bits = np.uint64(CODE_BITS)
    codes = (points[chars] << (bits + bits)) | (following << bits)
    positions = tokens + np.repeat(run_positions - before, lengths)
    long_runs = lengths > 1
    markers = (np.uint64(ord(RUN_START)) << (bits + bits)) | (points[starts[long_runs]] << bits)
    return TermCodes(
        np.concatenate((codes, markers)), np.concatenate((positions, run_positions[long_runs])).astype(np.uint32)
    )


def char_spans(text: str) -> list[tuple[str, int, int, int]]:
    """The character layer as ``(token, position, startchar, endchar)``."""
    return _char_layer(text, True)


def _char_layer(text: str, offsets: bool) -> list[Any]:
    """One implementation for both: the indexer's hot path and the display."""
    tokens: list[Any] = []
    append, extend = tokens.append, tokens.extend
    for run, start, pos in char_runs(text):
        n = len(run)
        if offsets:
            if n > 1:
                append((RUN_START + run[0], pos, start, start + 1))
            extend([(run[i : i + 2], pos + i, start + i, start + min(i + 2, n)) for i in range(n)])
        else:
            if n > 1:
                append((RUN_START + run[0], pos))
            extend([(run[i : i + 2], pos + i) for i in range(n)])
    return tokens


@dataclass(frozen=True)
class AnalysisSettings:
    """What decides the tokens of a text; recorded in the index it builds.

    An index can only be searched with the settings it was built with, so the
    settings (the user dictionary's text included) travel inside the index
    and the query side analyses with exactly those.
    """

    user_dict: str = ""
    version: int = ANALYZER_VERSION
    jieba_version: str = field(default_factory=lambda: metadata.version("jieba"))
    opencc_version: str = field(default_factory=lambda: metadata.version("opencc"))
    opencc_config: str = OPENCC_CONFIG

    @classmethod
    def from_dict_file(cls, path: Path | str | None = None) -> AnalysisSettings:
        """Settings with the user dictionary read from ``path`` (default: ours)."""
        path = Path(path) if path is not None else DEFAULT_USER_DICT
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SearchEngineError(f"user dictionary {path}: cannot read: {exc}") from None
        return cls(user_dict=text.replace("\r\n", "\n"))

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON data (what an index's manifest records)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisSettings:
        """Settings from :meth:`to_dict`'s data (KeyError when a field is missing)."""
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})

    @property
    def dict_hash(self) -> str:
        return hashlib.sha256(self.user_dict.encode("utf-8")).hexdigest()[:16]

    def describe(self) -> str:
        return (
            f"analyzer v{self.version}, jieba {self.jieba_version}, "
            f"opencc {self.opencc_version} ({self.opencc_config}), "
            f"user dictionary {self.dict_hash}"
        )

    def differences(self, other: AnalysisSettings) -> list[str]:
        """Human-readable list of what differs between two settings."""
        names = ("version", "jieba_version", "opencc_version", "opencc_config")
        found = [
            f"{name} {getattr(self, name)} vs {getattr(other, name)}"
            for name in names
            if getattr(self, name) != getattr(other, name)
        ]
        if self.dict_hash != other.dict_hash:
            found.append(f"user dictionary {self.dict_hash} vs {other.dict_hash}")
        return found


class Analyzer:
    """Turns text into the tokens of both layers, with one jieba per settings.

    Building jieba's prefix dictionary costs about half a second, so an
    Analyzer is made once per process and reused (see :func:`analyzer_for`).
    """

    def __init__(self, settings: AnalysisSettings) -> None:
        self.settings = settings

    @cached_property
    def _jieba(self) -> jieba.Tokenizer:
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        if self.settings.user_dict.strip():
            try:
                tokenizer.load_userdict(io.BytesIO(self.settings.user_dict.encode("utf-8")))
            except (ValueError, IndexError) as exc:
                raise SearchEngineError(f"user dictionary: cannot load: {exc}") from None
        return tokenizer

    @cached_property
    def _segmenter(self) -> Segmenter:
        return Segmenter(self._jieba)

    def frequency(self, word: str) -> int:
        """How common ``word`` (or a single character) is in jieba's dictionary: 0 if it is not there."""
        return int(self._jieba.FREQ.get(word, 0))

    def warm_up(self, bulk: bool = False) -> None:
        """Load jieba now (before forking workers, or before a first query); for ``bulk``
        (a build of many posts), its accelerator too (see :mod:`~searchengine.segmenter`)."""
        segmenter = self._segmenter
        if bulk:
            segmenter.accelerate()

    def segment(self, text: str) -> list[str]:
        """jieba's words of normalized ``text``, punctuation and spaces dropped."""
        has_word = _HAS_WORD_CHAR.search
        return [w for w in self._segmenter.cut(text) if has_word(w)]

    def word_spans(self, text: str) -> Iterator[tuple[str, int, int, int]]:
        """The word layer of normalized ``text``: ``(word, pos, start, end)``.

        A word longer than two characters is followed by its two- and
        three-character sub-words found in the dictionary, at its position.
        """
        has_word = _HAS_WORD_CHAR.search
        subwords = self._subwords
        pos = 0
        for word, start, end in self._segmenter.tokenize(text):
            if not has_word(word):
                continue
            yield word, pos, start, end
            if len(word) > 2:
                for sub, offset in subwords(word):
                    yield sub, pos, start + offset, start + offset + len(sub)
            pos += 1

    def word_tokens(self, text: str) -> list[tuple[str, int]]:
        """The word layer as ``(word, position)`` pairs, for the indexer: :meth:`word_spans` without offsets.

        Its own loop, as the indexer's hot path: a generator of 4-tuples
        unpacked again cost a third of the word layer's time.
        """
        has_word = _HAS_WORD_CHAR.search
        subwords = self._subwords
        tokens: list[tuple[str, int]] = []
        append, extend = tokens.append, tokens.extend
        pos = 0
        for word in self._segmenter.cut(text):
            if not has_word(word):
                continue
            append((word, pos))
            if len(word) > 2:
                extend([(sub, pos) for sub, _ in subwords(word)])
            pos += 1
        return tokens

    @cached_property
    def _subwords(self) -> Callable[[str], tuple[tuple[str, int], ...]]:
        """``(sub-word, offset)`` for the dictionary's two- and three-character words inside a word.

        Cached per word (long words recur: names, places, institutions), in a
        bounded cache, as a build meets millions of distinct words.
        """
        freq = self._jieba.FREQ

        @functools.lru_cache(maxsize=_SUBWORD_CACHE)
        def subwords(word: str) -> tuple[tuple[str, int], ...]:
            n = len(word)
            return tuple(
                (word[i : i + size], i)
                for size in (2, 3)
                if size < n
                for i in range(n - size + 1)
                if freq.get(word[i : i + size])
            )

        return subwords


_ANALYZERS: dict[AnalysisSettings, Analyzer] = {}


def analyzer_for(settings: AnalysisSettings) -> Analyzer:
    """The process-wide Analyzer for ``settings``."""
    analyzer = _ANALYZERS.get(settings)
    if analyzer is None:
        analyzer = _ANALYZERS[settings] = Analyzer(settings)
    return analyzer
