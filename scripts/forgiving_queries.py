"""The forgiving set of scripts/evaluate.py: queries typed the way Chinese readers type, and their scores.

Issue #9 asks search to forgive how readers type. To check that on any
corpus, this module generates the queries from the posts themselves, a
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

Each query (a :class:`Probe`) has an intended string; the posts whose
normalized text contains it are the truth (corpus_truth.py). Queries are
drawn only where that reading is the fair one: words in at least three
posts, sounds that no other string of the posts with the same pinyin
outnumbers, regional forms that are not words of the posts themselves.

:func:`measure_forgiving` runs each query through the public API and scores
it against its truth; :func:`report_forgiving` prints the scores per kind and
judges them against the thresholds evaluate.py is given.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import opencc
from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

from searchengine import SearchEngine
from searchengine.aliases import bundled_aliases
from searchengine.analysis import Analyzer
from searchengine.normalize import normalize
from searchengine.results import SearchResult

# isort: split
# The self-test's own modules, beside this one in scripts/ (first on sys.path when evaluate.py runs).
from corpus_truth import CJK, RUN, Corpus, transliterated_names, truth

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
        result = engine.search(probe.query, limit=10, collapse=False)  # recall counts every post
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
