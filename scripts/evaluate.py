#!/usr/bin/env python3
"""Self-test of search quality: search results against the text itself.

    python scripts/evaluate.py [--posts DIR] [--index DIR] [--queries N] [--seed S]
                               [--forgiving N] [--min-success F] [--max-no-result F] [--verbose]

Without --posts, writes a slice of the shared corpus (the 2019 news and the
guancha articles, about 5,900 posts) with its make_posts.py; without
--index, builds one in a temporary folder. Then it draws query strings from
the posts themselves — transliterated names (the parts of names joined by
·), multi-word runs of Chinese text, strings mixing digits or Latin letters
with Chinese, pairs of terms — and, for each, finds the true set of posts by
scanning every post's normalized title and body. It reports:

* quoted queries: precision and recall against the true set (must be 1.0);
* unquoted queries: recall of the posts containing the string (must be
  1.0: none may be lost) and the share of the top 10 that contain it
  exactly (must be at least 98% where ten such posts exist);
* traditional and full-width spellings: the same posts as the standard one.

It then checks that search forgives how Chinese readers type (issue #9) with
a forgiving set, about --forgiving N queries generated from the posts, a
quarter of each kind:

* regional: Taiwan and Hong Kong forms of frequent words (OpenCC's s2twp and
  s2hkp, where the form differs in more than characters: 網路 for 网络), and
  the other forms of the bundled alias table's names (川普 for 特朗普);
* pinyin: the pinyin of transliterated names and of frequent title words,
  joined (kabuluofu, v for ü: lvyou), spaced (ka bu luo fu) or with tone
  marks (kǎbùluòfū);
* homophone: a frequent word with one character replaced by a common one of
  the same sound, as an input method slips, in a string no post contains
  (阿富汉 for 阿富汗);
* spacing: a space typed between two words of a post (中国 记协, quoted and
  not); a phrase that a post writes with a space, searched without it
  ("工人伟大劳动光荣"); a Latin word and Chinese with the space toggled
  (人均 GDP).

Each query has an intended string; the posts whose normalized text contains
it are the truth. Queries are drawn only where that reading is the fair one:
words in at least three posts, sounds that no other string of the posts
with the same pinyin outnumbers, regional forms that are not words of the
posts themselves. Per kind it reports success@10 (a true post among the top
ten), recall (the mean share of true posts among all results) and the share
of queries with no result at all; a kind below --min-success or above
--max-no-result is a failure (a kind of fewer than 20 queries is reported,
not judged). With --verbose it shows examples of each kind and every miss
with what the engine made of the query.

Exits 1 on any loss or a forgiving kind below its thresholds, so CI can run
it (tests/test_evaluate.py does, on the 2019 news).
"""

from __future__ import annotations

import argparse
import bisect
import functools
import itertools
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import opencc
from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

from searchengine import SearchEngine, build_index, load_post, walk_posts
from searchengine.aliases import bundled_aliases
from searchengine.analysis import CJK_RANGES, AnalysisSettings, Analyzer, analyzer_for
from searchengine.normalize import normalize
from searchengine.results import SearchResult

REPO = Path(__file__).resolve().parents[1]
CJK = f"[{CJK_RANGES}]"
NAME = re.compile(f"{CJK}{{2,}}(?:·{CJK}{{2,}})+")
RUN = re.compile(f"{CJK}{{4,}}")
MIXED = re.compile(f"[a-z0-9]+{CJK}{{1,3}}|{CJK}{{1,3}}[a-z0-9]+")
SPACES = re.compile(r"\s+")
CJK_CHAR = re.compile(CJK)
CJK_WORD = re.compile(f"{CJK}{{2,}}")
# Two Chinese runs with a space between them on one line of a post as written.
SPACED = re.compile(f"(?<!{CJK})({CJK}+)[^\\S\\n]+({CJK}+)")
# A Latin word (letters, or digits and letters: GDP, 5G) next to Chinese, with or without a space.
LATIN = "[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*"
LATIN_CJK = re.compile(
    f"(?<![A-Za-z0-9])({LATIN})([^\\S\\n]?)({CJK}+)|(?<!{CJK})({CJK}+)([^\\S\\n]?)({LATIN})(?![A-Za-z0-9])"
)

FORGIVING_KINDS = ("regional", "pinyin", "homophone", "spacing")
PINYIN_FORMS = ("joined", "spaced", "tones")
#: A word is frequent, worth a forgiving query, when this many posts contain it.
FREQUENT = 3
#: A kind with fewer forgiving queries than this is reported but not judged: one miss would cost over 5%.
ENOUGH = 20
#: A homophone slip picks one of this many most common characters of the sound: those an input method offers first.
COMMON_HOMOPHONES = 5
#: Characters count as common among this many most frequent in the posts (the size of the standard list of 常用字).
COMMON_CHARS = 2500
#: OpenCC's regional forms for another sense of a word, which a reader there would not type for the news' sense:
#: software's 釋出 (release) for 发布 (announce), 執行 (run a program) for an economy's 运行, 檔案 (a file) for
#: 文件 (a document), 宣告 for 声明 (a statement), 社群 for 社区, 最佳化 for 优化, 高階 for 高级, and Hong Kong's
#: 總枱 (a front desk) for 总台 (the broadcaster).
OTHER_SENSE = ("釋出", "執行", "檔案", "宣告", "社群", "最佳化", "高階", "總枱")
#: Misses listed without --verbose.
MISSES_SHOWN = 15
#: Examples of each kind listed with --verbose.
EXAMPLES_SHOWN = 5
T = TypeVar("T")


@dataclass
class Tally:
    """Totals for one kind of query."""

    queries: int = 0
    true_posts: int = 0
    found_true: int = 0
    returned: int = 0
    top_checked: int = 0
    top_exact: int = 0
    failures: list[str] = field(default_factory=list)

    def recall(self) -> float:
        return self.found_true / self.true_posts if self.true_posts else 1.0

    def precision(self) -> float:
        return self.found_true / self.returned if self.returned else 1.0

    def top10(self) -> float:
        return self.top_exact / self.top_checked if self.top_checked else 1.0


def slice_of_shared_corpus(out: Path) -> Path:
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


def draw_queries(texts: dict[str, str], count: int, rng: random.Random) -> dict[str, list[str]]:
    """Query strings taken from the posts, by kind."""
    bodies = list(texts.values())
    found = transliterated_names(bodies)
    names = sorted({part for name in found for part in name.split("·")} | {name for name in found if len(name) <= 12})
    runs = [m.group() for body in rng.sample(bodies, min(len(bodies), 2000)) for m in RUN.finditer(body)]
    mixed = sorted({m.group() for body in bodies for m in MIXED.finditer(body)})

    def substring(run: str) -> str:
        size = rng.randint(2, min(6, len(run)))
        start = rng.randrange(len(run) - size + 1)
        return run[start : start + size]

    per_kind = max(count // 4, 1)
    return {
        "names": rng.sample(names, min(per_kind, len(names))),
        "terms": [substring(rng.choice(runs)) for _ in range(per_kind)],
        "mixed": rng.sample(mixed, min(per_kind, len(mixed))),
        "pairs": [f"{substring(rng.choice(runs))} {substring(rng.choice(runs))}" for _ in range(per_kind)],
    }


def truth(corpus: Corpus, query: str, quoted: bool) -> set[str]:
    """Posts containing every part of the query.

    Quoted, each space-separated part is its own phrase; unquoted, the parts
    are those the normalizer leaves apart (a space between two Chinese
    characters is no separator: 在人民大 金融 is one string).
    """
    parts = [normalize(part) for part in query.split()] if quoted else normalize(query).split()
    return set.intersection(*(corpus.posts_with(part) for part in parts)) if parts else set(corpus.texts)


def check(engine: SearchEngine, corpus: Corpus, query: str, quoted: bool, tally: Tally) -> None:
    expected = truth(corpus, query, quoted)
    if quoted:
        query = " ".join(f'"{part}"' for part in query.split())
    found = engine.all_paths(query)
    tally.queries += 1
    tally.true_posts += len(expected)
    tally.found_true += len(expected & set(found))
    missing = expected - set(found)
    if missing:
        tally.failures.append(f"{query}: {len(missing)} of {len(expected)} posts missing, e.g. {sorted(missing)[0]}")
    if quoted:
        tally.returned += len(found)
        extra = set(found) - expected
        if extra:
            tally.failures.append(f"{query}: {len(extra)} posts without it, e.g. {sorted(extra)[0]}")
    elif len(expected) >= 10:
        top = found[:10]
        tally.top_checked += len(top)
        tally.top_exact += sum(1 for post in top if post in expected)


def variants(query: str, to_traditional: opencc.OpenCC) -> list[str]:
    """Traditional and full-width spellings of a query (those that differ)."""
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in query)
    return [v for v in (to_traditional.convert(query), full_width) if v != query]


# --- the forgiving set (issue #9) ------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One forgiving query: what a reader types, and the string they mean by it."""

    kind: str
    query: str
    intended: str
    how: str  # the transformation that made the query, for the listings


@functools.cache
def sound(word: str) -> str:
    """The toneless pinyin of ``word`` read in context, syllables joined (``ü`` as ``v``); remembered."""
    return "".join(lazy_pinyin(word))


def shuffled(items: Iterable[T], rng: random.Random) -> list[T]:
    """``items`` in a random order drawn from ``rng``: the generators' only source of chance."""
    result = list(items)
    rng.shuffle(result)
    return result


def round_robin(*sources: Iterable[T]) -> Iterator[T]:
    """One item from each source in turn, so every kind of source is in the first ``n``; lazily."""
    return (item for row in itertools.zip_longest(*sources) for item in row if item is not None)


def distinct(probes: Iterable[Probe]) -> Iterator[Probe]:
    """``probes`` without repeated queries (two sources may give the same form); lazily."""
    seen = set()
    for probe in probes:
        if probe.query not in seen:
            seen.add(probe.query)
            yield probe


def fit_words(words: Sequence[str], limit: int) -> list[str]:
    """The leading words of ``words`` that fit in ``limit`` characters, up to the first one-character word.

    Queries are cut at word boundaries, as a reader would cut them, and are
    made of content words: a reader types 金融服务 实体, not 服务的 实体.
    """
    taken: list[str] = []
    for word in words:
        if len(word) < 2 or sum(map(len, taken)) + len(word) > limit:
            break
        taken.append(word)
    return taken


def head(words: Sequence[str], limit: int) -> str:
    """The first whole words of ``words``, at most ``limit`` characters together."""
    return "".join(fit_words(words, limit))


def tail(words: Sequence[str], limit: int) -> str:
    """The last whole words of ``words``, at most ``limit`` characters together."""
    return "".join(fit_words(words[::-1], limit)[::-1])


def name_parts(names: Iterable[str], analyzer: Analyzer) -> list[str]:
    """The parts of transliterated names of three or more characters, cut free of the text around them.

    NAME takes the whole Chinese run on each side of a ·, so the first part
    of 叙利亚总统巴沙尔·阿萨德表示 carries the title before the name and the
    last part the verb after it. jieba cuts those off: the first part's last
    word and the last part's first word are the name (巴沙尔, 阿萨德); a middle
    part counts when jieba reads it as one word. Shorter parts are mostly
    jieba's fragments of names it does not know, and not names at all; a
    part holding another (同伊姆兰, where jieba glued 同 to 伊姆兰) is left out.
    """
    parts: set[str] = set()
    for name in names:
        first, *middle, last = name.split("·")
        parts.update((analyzer.segment(first)[-1], analyzer.segment(last)[0]))
        parts.update(part for part in middle if analyzer.segment(part) == [part])
    parts = {part for part in parts if len(part) >= 3 and CJK_WORD.fullmatch(part)}
    return sorted(part for part in parts if not any(other in part for other in parts if other != part))


class Lexicon:
    """The words the forgiving generators start from, and what makes one a fair target.

    Keywords are jieba's words of two or more Chinese characters that recur
    in titles; names are the parts of transliterated names (:func:`name_parts`).
    A sound query (pinyin, or a homophone slip) is fair only for a frequent
    word that no other string of the same sound outnumbers
    (:meth:`fair_by_sound`): otherwise no engine could know which one the
    reader meant.
    """

    def __init__(self, corpus: Corpus, analyzer: Analyzer) -> None:
        self.corpus = corpus
        self.analyzer = analyzer
        in_titles: Counter[str] = Counter()
        for text in corpus.texts.values():
            in_titles.update({word for word in analyzer.segment(text.split("\n", 1)[0]) if CJK_WORD.fullmatch(word)})
        self.keywords = sorted(word for word, titles in in_titles.items() if titles >= 2)
        self.names = name_parts(transliterated_names(corpus.texts.values()), analyzer)
        self._same_sound: defaultdict[str, list[str]] = defaultdict(list)
        for word in sorted(set(in_titles) | set(self.names)):
            self._same_sound[sound(word)].append(word)
        chars = Counter(itertools.chain.from_iterable(corpus.texts.values()))
        common = [char for char, _ in chars.most_common() if CJK_CHAR.match(char)][:COMMON_CHARS]
        self._homophones: defaultdict[str, list[str]] = defaultdict(list)
        for char in common:
            for reading in {to_normal(r) for r in pinyin_dict.get(ord(char), "").split(",") if r}:
                self._homophones[reading].append(char)

    def fair_by_sound(self, word: str) -> bool:
        """True when ``word`` is frequent and no other string that sounds like it is in as many posts.

        The rivals are the known words of the same pinyin and the strings one
        same-sound character away (妇女节 for 妇女界, 后进 for 后劲), where a
        sound query could as well mean the rival.
        """
        if not self.corpus.frequent(word):
            return False
        posts = len(self.corpus.posts_with(word))
        known = (other for other in self._same_sound.get(sound(word), ()) if other != word)
        if any(self.corpus.count(other, posts) >= posts for other in known):
            return False
        for at, syllable in enumerate(lazy_pinyin(word)):
            alike = word[at] + "".join(self.homophones(syllable))
            rivals = self.corpus.post_counts(re.compile(f"{word[:at]}[{alike}]{word[at + 1 :]}"))
            if any(count >= posts for string, count in rivals.items() if string != word):
                return False
        return True

    def homophones(self, syllable: str) -> list[str]:
        """The common characters of the posts that can be read ``syllable``, most common first."""
        return self._homophones.get(syllable, [])


def pinyin_of(word: str, form: str) -> str:
    """``word`` in pinyin as a reader types it: ``joined`` (ü as v), ``spaced`` or with ``tones`` marks."""
    if form == "tones":
        return "".join(lazy_pinyin(word, style=Style.TONE))
    return (" " if form == "spaced" else "").join(lazy_pinyin(word))


def pinyin_probes(lexicon: Lexicon, count: int, rng: random.Random) -> list[Probe]:
    """Pinyin of names and keywords, typed joined, spaced or with tone marks.

    Names and keywords alternate; a fifth are words with ü, typed joined
    with v (lvyou) as pinyin keyboards take it, which chance alone would
    rarely draw. A query whose Latin parts all occur in some post is
    skipped: there the engine rightly finds what was typed.
    """
    names = shuffled((name for name in lexicon.names if len(name) <= 6), rng)
    keywords = shuffled((word for word in lexicon.keywords if len(word) <= 4), rng)

    def typed(word: str, form: str, how: str) -> Probe | None:
        query = pinyin_of(word, form)
        pinyin = sound(word).isascii() and sound(word).isalpha()
        if not pinyin or truth(lexicon.corpus, query, quoted=False) or not lexicon.fair_by_sound(word):
            return None
        return Probe("pinyin", query, word, how)

    with_v = (typed(word, "joined", "v for ü") for word in round_robin(names, keywords) if "v" in sound(word))
    probes = list(itertools.islice(filter(None, with_v), count // 5))
    taken = {probe.intended for probe in probes}
    for word in round_robin(names, keywords):
        if len(probes) == count:
            break
        form = rng.choice(PINYIN_FORMS)
        probe = None if word in taken else typed(word, form, form)
        if probe is not None:
            probes.append(probe)
    return probes


def homophone_slip(word: str, lexicon: Lexicon, rng: random.Random) -> tuple[str, str] | None:
    """``word`` with one character replaced by a common one of the same sound, in no post.

    The replacement is one of the few most common characters of the posts
    with that reading, the ones an input method offers first; the slipped
    string must read exactly as ``word`` does in context (pypinyin's phrase
    readings) and occur nowhere, so that it is a slip and not another word.
    Returns the slip and what was replaced, or None.
    """
    reading = lazy_pinyin(word)
    for at in shuffled(range(len(word)), rng):
        common = [char for char in lexicon.homophones(reading[at]) if char != word[at]][:COMMON_HOMOPHONES]
        for char in shuffled(common, rng):
            slip = word[:at] + char + word[at + 1 :]
            if lazy_pinyin(slip) == reading and not lexicon.corpus.occurs(slip):
                return slip, f"{word[at]}→{char}"
    return None


def homophone_probes(lexicon: Lexicon, count: int, rng: random.Random) -> list[Probe]:
    """Same-sound slips in frequent keywords and names of 2 to 5 characters."""
    words = shuffled(sorted({word for word in lexicon.keywords + lexicon.names if len(word) <= 5}), rng)
    probes: list[Probe] = []
    for word in words:
        if len(probes) == count:
            break
        if not lexicon.fair_by_sound(word):
            continue
        slip = homophone_slip(word, lexicon, rng)
        if slip is not None:
            probes.append(Probe("homophone", slip[0], word, slip[1]))
    return probes


def regional_probes(lexicon: Lexicon, count: int, rng: random.Random) -> list[Probe]:
    """Taiwan and Hong Kong forms of frequent words and names, typed in traditional characters.

    OpenCC's s2twp and s2hkp give the forms (軟體, 網路, 紐西蘭, 衞星; s2hk
    changes characters only, s2hkp adds Hong Kong's phrases); only
    those that differ from the word after normalization count, since the
    rest are found by character conversion alone. Alias forms (the Chinese
    ones: Latin acronyms are no regional form) are shown in traditional
    characters, as a reader there types them. A form that is itself a
    frequent word of the posts (程序 for 进程, 智慧 for 智能) is left out: the
    reader may well mean that word; so is one of :data:`OTHER_SENSE`. The
    three sources take turns.
    """
    words = sorted(set(lexicon.keywords) | set(lexicon.names))
    sources: list[list[Probe]] = []
    for config in ("s2twp", "s2hkp"):
        convert = opencc.OpenCC(config).convert
        pairs = ((convert(word), word) for word in words)
        sources.append([Probe("regional", form, word, config) for form, word in pairs if normalize(form) != word])
    aliases = [(form, group[0]) for group in bundled_aliases().groups for form in group[1:]]
    traditional = opencc.OpenCC("s2t").convert
    sources.append(
        [
            Probe("regional", traditional(form) if normalize(traditional(form)) == form else form, standard, "alias")
            for form, standard in aliases
            if CJK_CHAR.search(form)
        ]
    )

    def fair(probe: Probe) -> bool:
        other_sense = any(form in probe.query for form in OTHER_SENSE)
        return (
            not other_sense
            and lexicon.corpus.frequent(probe.intended)
            and not lexicon.corpus.frequent(normalize(probe.query))
        )

    fair_sources = [(probe for probe in shuffled(source, rng) if fair(probe)) for source in sources]
    return list(itertools.islice(distinct(round_robin(*fair_sources)), count))


def spaced_words(lexicon: Lexicon, count: int, rng: random.Random) -> list[Probe]:
    """A space typed at a word boundary inside a post's Chinese text, quoted and unquoted.

    Each side is whole words of 2 to 4 characters (中国 记协); the intended
    string is the two sides joined.
    """
    texts = list(lexicon.corpus.texts.values())
    probes: list[Probe] = []
    for _ in range(count * 10):
        if len(probes) >= count:
            break
        runs = RUN.findall(rng.choice(texts))
        words = lexicon.analyzer.segment(rng.choice(runs)) if runs else []
        if len(words) < 2:
            continue
        cut = rng.randrange(1, len(words))
        left, right = tail(words[:cut], 4), head(words[cut:], 4)
        if len(left) >= 2 and len(right) >= 2:
            probes.append(Probe("spacing", f"{left} {right}", left + right, "space between words"))
            probes.append(Probe("spacing", f'"{left} {right}"', left + right, "space between quoted words"))
    return probes


def written_spaced(lexicon: Lexicon, count: int, rng: random.Random) -> list[Probe]:
    """Phrases a post writes with a space (工人伟大 劳动光荣), searched quoted without it.

    Read from the posts as written, before normalization; each side is whole
    words of at most 6 characters.
    """
    pairs = sorted({match.groups() for text in lexicon.corpus.raw.values() for match in SPACED.finditer(text)})
    probes: list[Probe] = []
    for left_run, right_run in shuffled(pairs, rng):
        if len(probes) == count:
            break
        left = tail(lexicon.analyzer.segment(normalize(left_run)), 6)
        right = head(lexicon.analyzer.segment(normalize(right_run)), 6)
        if len(left) >= 2 and len(right) >= 2:
            probes.append(Probe("spacing", f'"{left}{right}"', left + right, "written with a space"))
    return probes


def latin_spacing(lexicon: Lexicon, count: int, rng: random.Random) -> list[Probe]:
    """A Latin word next to Chinese (人均GDP, APEC 领导人) typed with the space toggled.

    The Latin word keeps the case it was written in; the Chinese side is
    whole words of 2 to 4 characters. The intended string has no space.
    """
    pairs = set()
    for text in lexicon.corpus.raw.values():
        for match in LATIN_CJK.finditer(text):
            latin_first = match.group(1) is not None
            latin, space, chinese = match.group(1, 2, 3) if latin_first else match.group(6, 5, 4)
            pairs.add((latin, bool(space), chinese, latin_first))
    probes: list[Probe] = []
    for latin, spaced, chinese, latin_first in shuffled(sorted(pairs), rng):
        if len(probes) == count:
            break
        words = lexicon.analyzer.segment(normalize(chinese))
        chinese = head(words, 4) if latin_first else tail(words, 4)
        if len(latin) < 2 or len(chinese) < 2:
            continue
        parts = (latin, chinese) if latin_first else (chinese, latin)
        query = "".join(parts) if spaced else " ".join(parts)
        probes.append(Probe("spacing", query, "".join(parts), "space removed" if spaced else "space added"))
    return probes


def spacing_probes(lexicon: Lexicon, count: int, rng: random.Random) -> list[Probe]:
    """Spaces where the text has none and none where it has one, from the three sources in turn.

    A query whose intended string is in no post (a post's spaced phrase,
    while the normalizer keeps spaces) is dropped.
    """
    sources = [make(lexicon, count, rng) for make in (spaced_words, written_spaced, latin_spacing)]
    found = (probe for probe in distinct(round_robin(*sources)) if lexicon.corpus.occurs(normalize(probe.intended)))
    return list(itertools.islice(found, count))


def forgiving_probes(lexicon: Lexicon, count: int, seed: int) -> list[Probe]:
    """About ``count`` forgiving queries, a quarter of each kind.

    Each kind draws from its own generator seeded with ``seed`` and its name,
    so changing how one kind is drawn leaves the others' queries as they were.
    """
    per_kind = max(count // len(FORGIVING_KINDS), 1)
    return (
        regional_probes(lexicon, per_kind, random.Random(f"{seed} regional"))
        + pinyin_probes(lexicon, per_kind, random.Random(f"{seed} pinyin"))
        + homophone_probes(lexicon, per_kind, random.Random(f"{seed} homophone"))
        + spacing_probes(lexicon, per_kind, random.Random(f"{seed} spacing"))
    )


@dataclass
class ForgivingTally:
    """Totals for one kind of forgiving query."""

    queries: int = 0
    successes: int = 0
    recall_sum: float = 0.0
    empty: int = 0
    misses: list[str] = field(default_factory=list)
    examples: dict[str, str] = field(default_factory=dict)  # one query of each way of making them

    def success(self) -> float:
        """Share of queries with a post containing the intended string in the top 10."""
        return self.successes / self.queries if self.queries else 1.0

    def recall(self) -> float:
        """Mean over queries of the share of true posts among all results: each query weighs the same."""
        return self.recall_sum / self.queries if self.queries else 1.0

    def no_result(self) -> float:
        """Share of queries that find nothing at all: the worst a forgiving search can do."""
        return self.empty / self.queries if self.queries else 0.0


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless one: the listings read as sentences."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def engine_action(result: SearchResult) -> str:
    """What the engine made of a query: its correction, suggestion and expansions, where it reports them.

    Read with getattr, so the script also runs against an engine that has
    no such fields yet.
    """
    done = [
        f"{name.replace('_', ' ')} {value!r}"
        for name in ("corrected", "did_you_mean", "expansions")
        if (value := getattr(result, name, None))
    ]
    return ", ".join(done) or "searched as typed"


def measure_forgiving(engine: SearchEngine, corpus: Corpus, probes: list[Probe]) -> dict[str, ForgivingTally]:
    """Run each probe through the public API and score it against the posts containing its intended string.

    ``all_paths`` (for recall) runs only when the first page does not hold
    every result: correcting a query can be the slow part of a search.
    """
    tallies = {kind: ForgivingTally() for kind in FORGIVING_KINDS}
    for probe in probes:
        tally = tallies[probe.kind]
        truth = corpus.posts_with(normalize(probe.intended))
        result = engine.search(probe.query, limit=10)
        whole = result.total <= len(result.hits)
        found = {hit.path for hit in result.hits} if whole else set(engine.all_paths(probe.query))
        success = any(hit.path in truth for hit in result.hits)
        tally.queries += 1
        tally.successes += success
        tally.recall_sum += len(found & truth) / len(truth)
        tally.empty += not result.total
        if success:
            outcome = "found"
        elif result.total:
            outcome = f"{counted(result.total, 'result')}, none of the top 10 with it"
        else:
            outcome = "no result"
        line = f"{probe.query} for {probe.intended} ({probe.how}; {counted(len(truth), 'post')} with it): {outcome}; "
        line += engine_action(result)
        if not success:
            tally.misses.append(line)
        if probe.how not in tally.examples and len(tally.examples) < EXAMPLES_SHOWN:
            tally.examples[probe.how] = line
    return tallies


def report_forgiving(
    tallies: dict[str, ForgivingTally], min_success: float, max_no_result: float, verbose: bool
) -> list[str]:
    """Print one line per kind (and examples and misses); return the kinds' threshold failures."""
    failures = []
    for kind, tally in tallies.items():
        label = f"forgiving {kind}:"
        if tally.queries < ENOUGH:
            print(f"{label:<21}{tally.queries:4d} queries: not enough to judge (at least {ENOUGH})")
            continue
        print(
            f"{label:<21}{tally.queries:4d} queries  success@10 {tally.success():.3f}  "
            f"recall {tally.recall():.2f}  no result {tally.no_result():.2f}"
        )
        if tally.success() < min_success:
            failures.append(f"forgiving {kind}: success@10 {tally.success():.3f} is below {min_success}")
        if tally.no_result() > max_no_result:
            failures.append(f"forgiving {kind}: no-result rate {tally.no_result():.3f} is above {max_no_result}")
    if verbose:
        for kind, tally in tallies.items():
            for line in tally.examples.values():
                print(f"example {kind}: {line}")
    misses = [f"miss {kind}: {line}" for kind, tally in tallies.items() for line in tally.misses]
    for line in misses if verbose else misses[:MISSES_SHOWN]:
        print(line)
    if len(misses) > MISSES_SHOWN and not verbose:
        print(f"... and {len(misses) - MISSES_SHOWN} more misses (--verbose lists them all)")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=Path)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--queries", type=int, default=200, help="queries drawn (a quarter of each kind)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--forgiving", type=int, default=200, help="forgiving queries (a quarter of each kind; 0: none)"
    )
    parser.add_argument("--min-success", type=float, default=0.85, help="least success@10 of each forgiving kind")
    parser.add_argument("--max-no-result", type=float, default=0.05, help="most no-result rate of each forgiving kind")
    parser.add_argument("--verbose", action="store_true", help="list forgiving examples and every miss")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        posts = args.posts or slice_of_shared_corpus(Path(scratch) / "posts")
        index = args.index or Path(scratch) / "index"
        if args.index is None:
            build_index(posts, index)
        started = time.monotonic()
        corpus = load_corpus(posts)
        texts = corpus.texts
        engine = SearchEngine(index)
        rng = random.Random(args.seed)
        queries = draw_queries(texts, args.queries, rng)
        quoted, unquoted, spelled = Tally(), Tally(), Tally()
        to_traditional = opencc.OpenCC("s2t")
        for strings in queries.values():
            for query in strings:
                check(engine, corpus, query, True, quoted)
                check(engine, corpus, query, False, unquoted)
                standard = engine.all_paths(query)
                for variant in variants(query, to_traditional):
                    spelled.queries += 1
                    if engine.all_paths(variant) != standard:
                        spelled.failures.append(f"{variant} does not find what {query} finds")
        seconds = time.monotonic() - started
        probes: list[Probe] = []
        tallies: dict[str, ForgivingTally] = {}
        if args.forgiving:
            lexicon = Lexicon(corpus, analyzer_for(AnalysisSettings.from_dict_file()))
            probes = forgiving_probes(lexicon, args.forgiving, args.seed)
            tallies = measure_forgiving(engine, corpus, probes)
        forgiving_seconds = time.monotonic() - started - seconds
    print(
        f"{len(texts)} posts; {sum(map(len, queries.values()))} queries "
        f"({', '.join(f'{k} {len(v)}' for k, v in queries.items())}); {seconds:.0f} s"
    )
    print(
        f"quoted:   precision {quoted.precision():.4f}  recall {quoted.recall():.4f}  ({quoted.true_posts} true posts)"
    )
    print(
        f"unquoted: recall {unquoted.recall():.4f}  top-10 exact {unquoted.top10():.4f}  "
        f"({unquoted.top_checked} top hits checked)"
    )
    print(f"spelling variants: {spelled.queries - len(spelled.failures)} of {spelled.queries} find the same posts")
    failures = quoted.failures + unquoted.failures + spelled.failures
    if unquoted.top10() < 0.98:
        failures.append(f"top-10 exact share {unquoted.top10():.4f} is below 0.98")
    if args.forgiving:
        print(f"forgiving set: {len(probes)} queries generated from the posts; {forgiving_seconds:.0f} s")
        failures += report_forgiving(tallies, args.min_success, args.max_no_result, args.verbose)
    for line in failures[:20]:
        print("FAIL", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
