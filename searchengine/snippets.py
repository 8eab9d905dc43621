"""Snippets and highlighting for search results.

A result shows its title with the query marked (:func:`highlight`) and, under
it, about 120 characters of the body where the query's parts are densest
(:func:`make_snippet`). Both run on every result of every query, so past
normalizing the text they only run regular expressions, scan near the chosen
passage, and loop in Python over matches, never over a whole post.

Matching is done on the normalized text (:mod:`searchengine.normalize`), so a
needle written ``习近平`` or ``apec`` finds ``習近平`` and ``ＡＰＥＣ``; the marks
are then put around the characters the post really has.

Snippet rules, in order of application:

* **Passage.** Every window of ``size`` characters that starts at a match is
  scored: each needle's first match in the window counts its full weight,
  every further match of the same needle :data:`REPEAT_WEIGHT` of it, so a
  window that shows all parts of the query beats one that repeats one word.
  The best window wins; on a tie, the earliest.
* **Cuts.** The snippet starts at the sentence holding the window's first
  match (if that sentence starts at most ``size / 2`` characters before it)
  and ends at the sentence end nearest to ``size`` characters later. A
  sentence ends after 。！？； (with any closing quotes or brackets), after
  ``!?;`` followed by a space, and at a line break. The snippet keeps all the
  window's matches and spans between ``0.6 × size`` and ``1.3 × size``
  characters of the post (shorter only when the text is; when the text ends
  too soon, the start moves back). When no sentence boundary is in reach, a
  clause boundary (，、：) is used, and failing that a plain cut, a quarter of
  ``size`` before the first match or ``size`` after the start.
* **Matches are never cut.** A cut that falls inside a match moves outwards
  to take the match in, as long as the snippet stays under ``1.5 × size``;
  otherwise inwards, to leave it out. Only a chain of touching matches longer
  than that, which cannot be left out, is cut (its shown part is marked).
* **Ellipses.** ``…`` leads the snippet unless it begins at the start of the
  text or of a paragraph, and ends it unless it ends at the end of the text or
  of a paragraph.
* **No match.** The snippet is the start of the text, cut as above.
* **Whitespace.** Runs of whitespace, the line breaks between paragraphs
  included, become one space; the ends are stripped. :func:`highlight` does
  the same, so titles and snippets come out alike.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from searchengine.errors import ParameterError
from searchengine.normalize import normalize_with_offsets

__all__ = ["Needle", "Snippet", "highlight", "make_snippet", "match_spans"]

ELLIPSIS = "…"
# What a second, third... match of the same needle in a window is worth, as a
# share of the needle's weight: some, so density counts, but less than any
# other part of the query.
REPEAT_WEIGHT = 0.3
# Bounds of a snippet's length, as shares of the requested size; a snippet may
# stretch a little past the longest to take in a match at its edge.
_LONGEST = 1.3
_SHORTEST = 0.6
_STRETCHED = 1.5
# Context before the first match: a snippet starts at most half its size
# before it, so the match is not pushed to the end, and, when it has to start
# mid-sentence with no clause mark in reach, a quarter of its size before it.
_LEAD_MAX = 2
_LEAD_SOME = 4

# A position where a sentence ends: after 。！？； and any closing quotes or
# brackets, after ASCII !?; followed by whitespace (so "a.php?id=1" does not
# end one), at a line break, and at both ends of the text. \A and \Z are
# empty matches, so ``m.end()`` is the cut position for every alternative.
_SENTENCE_END = re.compile(r"\A|[。！？；]+[”’」』）)\]\"']*|[!?;]+(?=\s)|\n|\Z")
_CLAUSE_END = re.compile(r"[，、：]|[,:](?=\s)")
# How far before a range a boundary scan begins, so that a run of closing
# punctuation which straddles the range's start is still seen whole (the scan
# also runs one character past the range, for the lookaheads).
_SCAN_BACK = 8
_SPACE = re.compile(r"\s+")

_Match = tuple[int, int, int]  # (start, end, needle index), offsets into the original text
_Span = tuple[int, int]


@dataclass(frozen=True)
class Needle:
    """A pattern to find and mark, and what a match of it is worth.

    ``pattern`` is matched against *normalized* text (see
    :func:`searchengine.normalize.normalize`); it may be any regular expression,
    lookarounds included. ``weight`` ranks passages: the query builder gives the
    whole query string more weight than its single words.
    """

    pattern: re.Pattern[str]
    weight: float = 1.0


@dataclass(frozen=True)
class Snippet:
    """A piece of text ready to show, with its matches marked.

    ``text`` holds the post's own characters (not normalized), with ``…`` where
    it was cut. ``spans`` are sorted, non-overlapping ``[start, end)`` offsets of
    the marked matches in ``text``. ``html`` is ``text`` escaped, with each span
    wrapped in ``<mark>``: the only markup in it.
    """

    text: str
    spans: tuple[_Span, ...]
    html: str


def highlight(text: str, needles: Sequence[Needle]) -> Snippet:
    """Mark every match of ``needles`` in the whole of ``text`` (used for titles).

    Nothing is cut; whitespace is collapsed as in snippets.
    """
    return _render(text, 0, len(text), match_spans(text, needles), "", "")


def match_spans(text: str, needles: Sequence[Needle]) -> list[_Span]:
    """Sorted, merged ``[start, end)`` spans of every match of ``needles`` in ``text``.

    Offsets are into ``text`` as given (matching runs on its normalized
    form); overlapping or touching matches make one span.
    """
    return _merge(_find_matches(text, needles))


def make_snippet(text: str, needles: Sequence[Needle], size: int = 120) -> Snippet:
    """Return the passage of ``text`` where ``needles`` match densest, marked.

    ``text`` is a post's plain text, one paragraph per line. The passage is
    about ``size`` characters, cut at sentence ends; the module docstring
    gives the exact rules. When nothing matches, the start of the text is
    returned, unmarked.
    """
    if size < 1:
        raise ParameterError(f"snippet size must be at least 1, not {size}")
    matches = _find_matches(text, needles)
    spans = _merge(matches)
    first, last = _densest(matches, needles, size) if matches else (0, 0)
    start, end = _choose_window(text, first, last, size, spans)
    lead = "" if _starts_paragraph(text, start) else ELLIPSIS
    trail = "" if _ends_paragraph(text, end) else ELLIPSIS
    return _render(text, start, end, _clip(spans, start, end), lead, trail)


def _find_matches(text: str, needles: Sequence[Needle]) -> list[_Match]:
    """All non-empty matches of every needle, as original-text offsets, sorted.

    A match ``[a, b)`` of the normalized text ends after the original character
    that produced its last normalized character (``offsets[b - 1] + 1``); this
    equals ``offsets[b]`` except when a match ends inside the expansion of one
    character (``ﬁ`` → ``fi``), where ``offsets[b]`` would cut that character.
    """
    if not needles:
        return []
    normalized, offsets = normalize_with_offsets(text)
    found = [
        (offsets[match.start()], offsets[match.end() - 1] + 1, index)
        for index, needle in enumerate(needles)
        for match in needle.pattern.finditer(normalized)
        if match.end() > match.start()
    ]
    found.sort()
    return found


def _merge(matches: list[_Match]) -> list[_Span]:
    """Join overlapping or touching matches into one span each.

    Where two needles overlap (``莫斯科`` inside ``莫斯科模式``) the union is the
    longer match, so it is marked whole and never split into pieces.
    """
    spans: list[_Span] = []
    for start, end, _ in matches:
        if spans and start <= spans[-1][1]:
            if end > spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _densest(matches: list[_Match], needles: Sequence[Needle], size: int) -> _Span:
    """Return the start of the first and the end of the last match of the best window.

    One pass of two pointers over the sorted matches: a window holds the
    matches that start less than ``size`` characters after its first one, and
    its score changes by one match's worth as each pointer moves.
    """
    counts = [0] * len(needles)
    score, best = 0.0, float("-inf")
    best_first = best_stop = ahead = 0
    for first, (start, _, _) in enumerate(matches):
        while ahead < len(matches) and matches[ahead][0] < start + size:
            index = matches[ahead][2]
            score += _worth(needles[index], counts[index])
            counts[index] += 1
            ahead += 1
        if score > best + 1e-9:  # a later window must be truly better to win a tie
            best, best_first, best_stop = score, first, ahead
        index = matches[first][2]
        counts[index] -= 1
        score -= _worth(needles[index], counts[index])
    window = matches[best_first:best_stop]
    return window[0][0], max(end for _, end, _ in window)


def _worth(needle: Needle, seen: int) -> float:
    """What one more match of ``needle`` adds to a window that already has ``seen``."""
    return needle.weight if seen == 0 else needle.weight * REPEAT_WEIGHT


def _choose_window(text: str, first: int, last: int, size: int, spans: list[_Span]) -> _Span:
    """Return ``[start, end)`` of the snippet: it holds ``[first, last)``, cut at boundaries."""
    longest, shortest = int(size * _LONGEST), int(size * _SHORTEST)
    start = _nearest_cut(text, max(0, last - size, first - size // _LEAD_MAX), first, first)
    if start is None:
        start = max(0, min(first, max(first - size // _LEAD_SOME, last - size)))
    end = _nearest_cut(text, max(last, start + shortest), min(len(text), start + longest), start + size)
    if end is None:
        end = min(len(text), max(last, start + size))
    if end - start < shortest and start > 0:  # the text ended early: reach further back
        earlier = _nearest_cut(text, max(0, end - longest), end - shortest, end - size)
        start = earlier if earlier is not None else max(0, end - size)
    limit = int(size * _STRETCHED)
    start = _settle_start(spans, start, end - limit, first)
    return start, _settle_end(spans, end, start + limit, last)


def _nearest_cut(text: str, low: int, high: int, target: int) -> int | None:
    """The sentence boundary in ``[low, high]`` nearest ``target``, else the nearest clause boundary.

    Only the range is scanned (plus a few characters either side for
    punctuation runs and lookaheads), so the cost does not grow with the text.
    """
    if low > high:
        return None
    for boundary in (_SENTENCE_END, _CLAUSE_END):
        cuts = [
            found.end()
            for found in boundary.finditer(text, max(0, low - _SCAN_BACK), high + 1)
            if low <= found.end() <= high
        ]
        if cuts:
            return min(cuts, key=lambda cut: abs(cut - target))
    return None


def _settle_start(spans: list[_Span], start: int, earliest: int, first: int) -> int:
    """Move a start that falls inside a span out of it.

    Outwards, taking the span in, while the snippet stays within its stretched
    length; else inwards, leaving the span out, if that keeps the first match;
    else (a chain of matches longer than a snippet) the span is cut.
    """
    span = _span_at(spans, start)
    if span is None:
        return start
    if span[0] >= earliest:
        return span[0]
    return span[1] if span[1] <= first else start


def _settle_end(spans: list[_Span], end: int, latest: int, last: int) -> int:
    """Move an end that falls inside a span out of it, as :func:`_settle_start` does."""
    span = _span_at(spans, end)
    if span is None:
        return end
    if span[1] <= latest:
        return span[1]
    return span[0] if span[0] >= last else end


def _span_at(spans: list[_Span], cut: int) -> _Span | None:
    """The span that ``cut`` falls strictly inside, if any."""
    index = bisect_right(spans, cut, key=lambda span: span[0]) - 1
    if index >= 0 and spans[index][0] < cut < spans[index][1]:
        return spans[index]
    return None


def _clip(spans: list[_Span], start: int, end: int) -> list[_Span]:
    """The spans that lie in ``[start, end)``, trimmed to it."""
    low = bisect_right(spans, start, key=lambda span: span[1])
    high = bisect_right(spans, end - 1, key=lambda span: span[0])
    return [(max(a, start), min(b, end)) for a, b in spans[low:high]]


def _starts_paragraph(text: str, position: int) -> bool:
    """True when the snippet's first character opens the text or a paragraph.

    Whitespace at either side of ``position`` is skipped: a cut made just
    before or just after a line break is the same paragraph start.
    """
    while position < len(text) and text[position].isspace():
        position += 1
    while position > 0 and text[position - 1].isspace():
        if text[position - 1] == "\n":
            return True
        position -= 1
    return position == 0


def _ends_paragraph(text: str, position: int) -> bool:
    """True when the snippet's last character closes the text or a paragraph (see above)."""
    while position > 0 and text[position - 1].isspace():
        position -= 1
    while position < len(text) and text[position].isspace():
        if text[position] == "\n":
            return True
        position += 1
    return position == len(text)


class _Writer:
    """Builds snippet text piece by piece, collapsing whitespace across pieces.

    A whitespace run becomes one space, written only when more text follows, so
    the ends come out stripped and a run split between two pieces (a match
    ending in a space, say) still yields a single space, outside the marks.
    """

    def __init__(self, lead: str) -> None:
        self.parts = [lead]
        self.length = len(lead)
        self.started = False  # has any non-space text been written?
        self.pending = False  # is a space owed before the next text?

    def write(self, piece: str) -> _Span:
        """Append ``piece``; return where its non-space text landed (empty if none)."""
        landed = None
        for number, word in enumerate(_SPACE.split(piece)):
            self.pending = self.pending or number > 0
            if not word:
                continue
            if self.pending and self.started:
                self._append(" ")
            self.pending, self.started = False, True
            if landed is None:
                landed = self.length
            self._append(word)
        return (self.length if landed is None else landed), self.length

    def _append(self, part: str) -> None:
        self.parts.append(part)
        self.length += len(part)


def _render(text: str, start: int, end: int, spans: list[_Span], lead: str, trail: str) -> Snippet:
    """Build the snippet of ``text[start:end]`` with ``spans`` marked and the ellipses added.

    Spans are recomputed on the collapsed text; a span that held only
    whitespace disappears.
    """
    writer = _Writer(lead)
    marks: list[_Span] = []
    position = start
    for span_start, span_end in spans:
        writer.write(text[position:span_start])
        mark = writer.write(text[span_start:span_end])
        if mark[0] < mark[1]:
            marks.append(mark)
        position = span_end
    writer.write(text[position:end])
    if not writer.started:
        return Snippet("", (), "")
    plain = "".join(writer.parts) + trail
    return Snippet(plain, tuple(marks), _to_html(plain, marks))


def _to_html(text: str, spans: list[_Span]) -> str:
    """Escape ``text`` and wrap each span in ``<mark>``."""
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts += [html.escape(text[position:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        position = end
    parts.append(html.escape(text[position:]))
    return "".join(parts)
