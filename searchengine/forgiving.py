"""Forgiving search: find what the reader meant, not only what they typed.

Two steps, both at query time (nothing here needs a rebuild):

1. **Other forms** (:func:`expand`). Each unquoted term is also searched in
   its regional forms (OpenCC's phrase tables: 軟體 ↔ 软件) and its name
   aliases (川普 ↔ 特朗普). The forms join the term's group as alternatives,
   so a post with either matches; :mod:`searchengine.ranking` decides which
   form counts as exact. A quoted phrase stays exactly what it says.
2. **Corrections** (:func:`correction`), only when a term finds nothing or
   very little. A Latin term that reads as pinyin (``kabuluofu``) and a
   Chinese term that occurs nowhere (``阿富汉``) are looked up by sound among
   the index's own words (:mod:`searchengine.sounds`), and, for names that no
   word list has, spelled out from characters that stand side by side in the
   index; the candidates are checked against the index, and the one that
   occurs, fits the typing best and is most frequent wins. A term that occurs nowhere is replaced (the
   engine searches the correction, and says so); a term that occurs, but in
   far fewer posts than a correction, is only offered one ("did you mean").
   A term found as typed is never replaced.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from searchengine.aliases import AliasTable
from searchengine.analysis import Analyzer, is_cjk
from searchengine.matching import exact_docs
from searchengine.query import Clause, Group, ParsedQuery, Term, make_clause, query_terms, rewrite
from searchengine.results import Expansion
from searchengine.sounds import (
    SoundIndex,
    all_readings,
    chars_sounding,
    pinyin_of,
    readings,
    syllables,
    tones_of,
    tones_typed,
)
from searchengine.store import IndexView
from searchengine.store.fields import BODY_CHARS, TITLE_CHARS
from searchengine.variants import MAX_FORMS, alias_forms, regional_forms

__all__ = ["expand", "expansions", "Correction", "correction", "LITTLE", "FAR_MORE"]

#: A term in at most this many posts finds "very little": a correction is looked for.
LITTLE = 2
#: A correction of a term that does occur is offered when it is in this many times more posts.
FAR_MORE = 20
#: Candidates checked against the index, per term.
_CHECKED = 6
#: Chinese terms longer than this are not corrected by sound.
_LONGEST_SLIP = 12
#: Spelling out by characters: the commonest characters tried per sound, and the strings kept per step.
_CHARS_PER_SOUND = 12
_SPELLINGS_KEPT = 12
#: At most this many terms (or runs of Latin terms) of one query are looked up
#: by sound: a query of a hundred slips costs no more than one of eight.
_MOST_LOOKUPS = 8


# --- 1. other forms -------------------------------------------------------------


def expand(parsed: ParsedQuery, analyzer: Analyzer, aliases: AliasTable) -> list[tuple[str, str, str]]:
    """Add the other forms of each unquoted term (and exclusion) to ``parsed``.

    Returns what was added, as ``(term, form, source)``.
    """
    applied: list[tuple[str, str, str]] = []

    def with_forms(clause: Clause) -> list[Clause]:
        found = [clause]
        if clause.quoted:
            return found
        forms = [(form, "alias") for form in alias_forms(clause.text, aliases)]
        forms += [(form, "regional") for form in regional_forms(clause.text)]
        for form, source in forms[:MAX_FORMS]:
            other = make_clause(form, False, analyzer, title_only=clause.title_only)
            if other is not None and all(other.text != known.text for known in found):
                found.append(dataclasses.replace(other, variant_of=clause.text))
                applied.append((clause.text, other.text, source))
        return found

    parsed.groups = [Group(tuple(c for clause in g.clauses for c in with_forms(clause))) for g in parsed.groups]
    parsed.excluded = [c for clause in parsed.excluded for c in with_forms(clause)]
    return applied


def expansions(applied: list[tuple[str, str, str]], found: dict[str, int]) -> list[Expansion]:
    """The forms that found posts (``found``: posts per clause text), per term and source."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for term, form, source in applied:
        if found.get(form, 0) > 0:
            grouped.setdefault((term, source), []).append(form)
    return [Expansion(term, forms, source) for (term, source), forms in grouped.items()]


# --- 2. corrections -------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """The query rewritten: ``replace`` to search instead of it (None if no term
    may be replaced), ``offer`` with every fix, quoted phrases' too, to offer."""

    replace: str | None
    offer: str


@dataclass(frozen=True)
class _Fix:
    term: Term
    text: str
    replace: bool


class _Corrector:
    """Looks for corrections of one query's terms against one index generation."""

    def __init__(self, view: IndexView, analyzer: Analyzer, sounds: Callable[[], SoundIndex]) -> None:
        self.view = view
        self.analyzer = analyzer
        self.sounds = sounds
        self._pairs: dict[str, int] = {}

    def pair_frequency(self, pair: str) -> int:
        """In how many posts two characters stand side by side (the character layer's bigram)."""
        found = self._pairs.get(pair)
        if found is None:
            found = self._pairs[pair] = sum(self.view.doc_frequency(name, pair) for name in (BODY_CHARS, TITLE_CHARS))
        return found

    def commonest(self, chars: Iterable[str], most: int = _CHARS_PER_SOUND) -> list[str]:
        """The ``most`` commonest of ``chars`` (by jieba's dictionary)."""
        return sorted(chars, key=self.analyzer.frequency, reverse=True)[:most]

    def spelled_out(self, options: list[list[str]]) -> list[tuple[str, float]]:
        """Strings of one character from each of ``options`` whose neighbours all stand side
        by side somewhere in the index, best first (by how often they do).

        For names no word list has (jieba splits 登盛 into 登/盛会), spelled out
        character by character from the index itself.
        """
        spelled: list[tuple[str, float]] = [(char, 0.0) for char in options[0]] if options else []
        for chars in options[1:]:
            grown = []
            for text, score in spelled:
                for char in chars:
                    pairs = self.pair_frequency(text[-1] + char)
                    if pairs:
                        grown.append((text + char, score + math.log1p(pairs)))
            spelled = heapq.nlargest(_SPELLINGS_KEPT, grown, key=lambda pair: pair[1])
        return spelled if len(options) > 1 else []

    def occurrences(self, text: str) -> int:
        """How many posts hold ``text`` exactly."""
        clause = make_clause(text, True, self.analyzer)
        return 0 if clause is None else int(np.count_nonzero(self.view.live[exact_docs(self.view, clause)]))

    def decide(self, term: Term, typed: int, candidates: list[tuple[str, float]]) -> _Fix | None:
        """The best of ``candidates`` (text, fit; best first) that occurs, if it should replace or be offered.

        Only candidates as good as the best found so far (the same whole
        fit) are checked: a phrase lookup is the costly part.
        """
        best: tuple[float, int, str] | None = None
        for text, fit in candidates[:_CHECKED]:
            if best is not None and math.floor(fit) < math.floor(best[0]):
                break
            count = self.occurrences(text)
            if count and (best is None or (fit, count) > best[:2]):
                best = (fit, count, text)
        if best is None:
            return None
        if typed == 0:
            return _Fix(term, best[2], replace=not term.quoted)
        return _Fix(term, best[2], replace=False) if best[1] >= FAR_MORE * typed else None

    def pinyin(self, run: list[Term], typed: int) -> _Fix | None:
        """A run of Latin terms that reads as pinyin: the index's words that sound like it."""
        sound = pinyin_of(" ".join(term.text for term in run))
        if sound is None:
            return None
        chains = self.sounds().chains(sound)
        span = Term(" ".join(term.text for term in run), False, run[0].start, run[-1].end)
        # Fewer pieces fit better: a name or phrase, not a string of characters;
        # of as many pieces, one with the tones typed (bāoyáng: 褒扬, not 保养).
        tones = tones_typed(span.text)
        fits = [(c.text, -c.pieces + (0.5 if tones in tones_of(c.text) else 0.0)) for c in chains]
        fix = self.decide(span, typed, sorted(fits, key=lambda pair: pair[1], reverse=True))
        if fix is None:
            split = syllables(sound) or []
            options = [self.commonest(chars_sounding(syllable)) for syllable in split]
            fix = self.decide(span, typed, [(text, score / 1000) for text, score in self.spelled_out(options)])
        return fix

    def pinyin_run(self, run: list[Term], typed: int) -> _Fix | None:
        """The run read as pinyin as a whole, else its first term that reads as pinyin alone."""
        fix = self.pinyin(run, typed)
        if fix is None and len(run) > 1:
            fix = next(filter(None, (self.pinyin([term], typed) for term in run[:_MOST_LOOKUPS])), None)
        return fix

    def slip(self, term: Term, text: str, typed: int) -> _Fix | None:
        """A Chinese term found nowhere: same-sound strings of the same length that the index holds,
        made of its words or with one character replaced."""
        sounds = self.sounds()
        fits: dict[str, float] = {}
        for rank, sound in enumerate(all_readings(text)):
            # The term's usual reading first (登 is deng, rarely de): 登胜 means 登盛, not 得胜.
            usual = 0.5 if rank == 0 else 0.0
            for chain in sounds.chains(sound):
                if len(chain.text) == len(text) and chain.text != text:
                    same = sum(a == b for a, b in zip(chain.text, text, strict=True))
                    fit = same + usual + chain.score / 1000
                    fits[chain.text] = max(fits.get(chain.text, -math.inf), fit)
        for spelled, fit in self.substitutions(text):
            fits[spelled] = max(fits.get(spelled, -math.inf), fit)
        return self.decide(term, typed, sorted(fits.items(), key=lambda pair: pair[1], reverse=True))

    def substitutions(self, text: str) -> list[tuple[str, float]]:
        """``text`` with one character replaced by a common one of the same sound whose
        neighbours stand beside it in the index, with its fit (characters kept, the
        usual reading): for slips in names that no word list has."""
        found = []
        for at, typed in enumerate(text):
            sounds = readings(typed)
            alike = dict.fromkeys(
                char
                for sound in sounds
                for char in self.commonest(set(chars_sounding(sound)) - {typed}, 2 * _CHARS_PER_SOUND)
            )
            for char in alike:
                before = self.pair_frequency(text[at - 1] + char) if at else 1
                after = self.pair_frequency(char + text[at + 1]) if at + 1 < len(text) else 1
                if before and after:
                    usual = 0.5 if sounds and sounds[0] in readings(char) else 0.0
                    # Below a word of the index that keeps as many characters (推介, not 推解).
                    fit = len(text) - 1 + usual - 0.25 + math.log1p(before + after) / 1000
                    found.append((text[:at] + char + text[at + 1 :], fit))
        return found


def correction(
    query: str,
    parsed: ParsedQuery,
    found: dict[str, int],
    total: int,
    view: IndexView,
    analyzer: Analyzer,
    sounds: Callable[[], SoundIndex],
) -> Correction | None:
    """A correction of ``query`` whose terms find nothing or very little, or None.

    ``found`` gives the posts holding each clause's text exactly (from the
    ranking), ``total`` the posts the query found; ``sounds`` makes the
    index's sound table, and is called only when some term needs it. When
    the query found nothing, any term's fix may replace it (``ren min bi``:
    each syllable may occur somewhere, but not all three).
    """
    families: dict[str, int] = {}
    for clause in parsed.clauses():
        counted = found.get(clause.text, 0) if total else 0
        families[clause.family] = families.get(clause.family, 0) + counted
    cleaned, terms = query_terms(query)
    corrector = _Corrector(view, analyzer, sounds)
    lookups: list[Callable[[], _Fix | None]] = []
    for run in _latin_runs(terms):
        typed = min(families.get(_text(term, analyzer), 0) for term in run)
        if typed <= LITTLE:
            lookups.append(functools.partial(corrector.pinyin_run, run, typed))
    for term in terms:
        text = _text(term, analyzer)
        typed = families.get(text, 0)
        if typed <= LITTLE and is_cjk(text) and 2 <= len(text) <= _LONGEST_SLIP:
            lookups.append(functools.partial(corrector.slip, term, text, typed))
    fixes = [fix for lookup in lookups[:_MOST_LOOKUPS] if (fix := lookup()) is not None]
    if not fixes:
        return None
    # A replacement applies only the fixes that may replace (never a quoted
    # phrase's); an offer shows them all.
    replacing = [(fix.term, fix.text) for fix in fixes if fix.replace]
    return Correction(
        rewrite(cleaned, replacing) if replacing else None, rewrite(cleaned, [(fix.term, fix.text) for fix in fixes])
    )


def _text(term: Term, analyzer: Analyzer) -> str:
    """The term's text as the index compares it."""
    clause = make_clause(term.text, term.quoted, analyzer)
    return "" if clause is None else clause.text


def _latin_runs(terms: list[Term]) -> list[list[Term]]:
    """Maximal runs of unquoted terms without Chinese (pinyin is typed with spaces or without);
    :func:`searchengine.sounds.pinyin_of` decides which read as pinyin."""
    runs: list[list[Term]] = [[]]
    for term in terms:
        if term.quoted or any(map(is_cjk, term.text)):
            runs.append([])
        else:
            runs[-1].append(term)
    return [run for run in runs if run]
