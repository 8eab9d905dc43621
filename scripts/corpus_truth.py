"""The truth that scripts/evaluate.py measures search against: which posts contain a string.

Both parts of the self-test, the exactness checks (evaluate.py) and the
forgiving set (forgiving_queries.py), judge the engine by one standard: the
posts whose normalized title and body contain a string, found by scanning
every post's text, never by asking an index. This module reads the posts
(or writes a slice of the shared corpus to read), answers those lookups, and
holds what both parts draw their query strings with: the runs of Chinese
text and the transliterated names of the posts.
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from searchengine import load_post, walk_posts
from searchengine.analysis import CJK_RANGES
from searchengine.normalize import normalize

REPO = Path(__file__).resolve().parents[1]
CJK = f"[{CJK_RANGES}]"
#: A transliterated name: Chinese parts of two or more characters joined by · (巴沙尔·阿萨德).
NAME = re.compile(f"{CJK}{{2,}}(?:·{CJK}{{2,}})+")
#: A run of Chinese text, long enough to cut query strings from.
RUN = re.compile(f"{CJK}{{4,}}")
#: A word is frequent, worth a forgiving query, when this many posts contain it.
FREQUENT = 3


def slice_of_shared_corpus(out: Path) -> Path:
    """Write the 2019 news and the guancha articles of the shared corpus to ``out`` with its make_posts.py."""
    shared = Path(os.environ.get("SEARCHENGINE_SHARED", REPO.parent / "shared"))
    script = shared / "corpus" / "make_posts.py"
    if not script.is_file():
        sys.exit(f"no --posts given and no shared corpus at {shared}")
    subprocess.run(
        [sys.executable, str(script), str(out), "--years", "2019", "--sources", "xwlb"], check=True, capture_output=True
    )
    subprocess.run([sys.executable, str(script), str(out), "--sources", "guancha"], check=True, capture_output=True)
    return out


class Corpus:
    """The posts' texts, normalized and as written, and which posts contain a string.

    ``texts`` (normalized title and body) is what every truth is measured
    against; ``raw`` keeps the spaces a post was written with, which the
    normalizer may drop. :meth:`posts_with` finds a string with ``str.find``
    over all texts joined, jumping to the next post after each hit, so
    testing thousands of candidate words stays cheap.
    """

    def __init__(self, texts: dict[str, str], raw: dict[str, str]) -> None:
        self.texts = texts
        self.raw = raw
        self._ids = list(texts)
        self._joined = "\0".join(texts.values())
        self._ends = list(itertools.accumulate(len(text) + 1 for text in texts.values()))
        self._found: dict[str, set[str]] = {}

    def _scan(self, needle: str) -> Iterator[str]:
        """Each post whose normalized text contains ``needle``, once, lazily."""
        at = self._joined.find(needle) if needle else -1
        while at >= 0:
            post = bisect.bisect_right(self._ends, at)
            yield self._ids[post]
            at = self._joined.find(needle, self._ends[post])

    def posts_with(self, needle: str) -> set[str]:
        """The posts whose normalized text contains ``needle`` (a normalized string)."""
        if needle not in self._found:
            self._found[needle] = set(self._scan(needle))
        return self._found[needle]

    def count(self, needle: str, up_to: int) -> int:
        """How many posts contain ``needle``, counting no further than ``up_to``: most tests need only a few."""
        if needle in self._found:
            return min(len(self._found[needle]), up_to)
        return sum(1 for _ in itertools.islice(self._scan(needle), up_to))

    def post_counts(self, pattern: re.Pattern[str]) -> Counter[str]:
        """How many posts contain each string that ``pattern`` matches: one scan for many strings."""
        found = {
            (match.group(), bisect.bisect_right(self._ends, match.start())) for match in pattern.finditer(self._joined)
        }
        return Counter(string for string, _ in found)

    def occurs(self, needle: str) -> bool:
        """True when some post contains ``needle``."""
        return self.count(needle, 1) > 0

    def frequent(self, word: str) -> bool:
        """True when enough posts contain ``word`` to make it a fair thing to look for."""
        return self.count(word, FREQUENT) == FREQUENT


def load_corpus(posts: Path) -> Corpus:
    """Each post's title and body as one string, normalized and as written."""
    texts, raw = {}, {}
    for path in walk_posts(posts):
        doc = load_post(path, posts)
        texts[doc.id] = normalize(doc.title) + "\n" + normalize(doc.body)
        raw[doc.id] = doc.title + "\n" + doc.body
    return Corpus(texts, raw)


def transliterated_names(texts: Iterable[str]) -> set[str]:
    """Every transliterated name in ``texts``: Chinese parts joined by ·."""
    return {name for text in texts for name in NAME.findall(text)}


def truth(corpus: Corpus, query: str, quoted: bool) -> set[str]:
    """Posts containing every part of the query.

    Quoted, each space-separated part is its own phrase; unquoted, the parts
    are those the normalizer leaves apart (a space between two Chinese
    characters is no separator: 在人民大 金融 is one string).
    """
    parts = [normalize(part) for part in query.split()] if quoted else normalize(query).split()
    return set.intersection(*(corpus.posts_with(part) for part in parts)) if parts else set(corpus.texts)
