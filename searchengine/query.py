"""The query language: what users type, turned into clauses and filters.

Syntax (documented in the README and on the search page)::

    莫斯科模式            a run of text: posts containing it, or all of its words
    "莫斯科模式"          a quoted phrase: exactly this string (after normalization)
    阿富汗 塔利班         terms are ANDed
    中国 OR 俄罗斯        OR between two terms
    -美国                 exclude posts containing the term
    title:卡布洛夫        only in titles
    category:国际 author:观察者网 tag:一带一路 year:2021   (every facet, see searchengine.facets)
    date:2021-10  date:2021  after:2021-01-01  before:2022-01-01
    date:2020-03..2021-06  date:2020..  date:..2019   (a range: both ends included)

Chinese quotes (“…”) and full-width forms (＂, ：, －) work like their ASCII
counterparts. Nothing here raises: unbalanced quotes, a lone ``OR`` or
``-``, control characters and over-long queries are handled as plain text
or dropped, each with a :class:`~searchengine.results.Hint` for the user.

The helpers at the end (:func:`broader_queries`, :func:`plain_words`,
:func:`has_phrase`) read a query with the same scanner, for front ends that
offer other queries when one finds nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from searchengine.analysis import CJK_RANGES, RUN_START, Analyzer, char_runs, is_cjk
from searchengine.facets import FACETS, facet
from searchengine.normalize import is_traditional, normalize
from searchengine.results import Hint
from searchengine.snippets import Needle

__all__ = [
    "Element",
    "Clause",
    "Group",
    "Filters",
    "ParsedQuery",
    "parse_query",
    "make_clause",
    "MAX_QUERY_CHARS",
    "broader_queries",
    "plain_words",
    "has_phrase",
    "without_filter",
    "date_range",
    "Term",
    "query_terms",
    "rewrite",
]

MAX_QUERY_CHARS = 500

_QUOTES = {'"': '"”', "“": '”"'}
_SPACE = re.compile(r"[\s\u3000]+")
_FIELD = re.compile(r"([A-Za-z]+):(?=\S)")
_DATE_FIELDS = ("date", "after", "before")
_FIELDS = ("title", *(f.name for f in FACETS), *_DATE_FIELDS)
_OR = {"OR", "|"}
_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")
_GAP = r"[\W_]*"


@dataclass(frozen=True)
class Element:
    """One position of a character-layer phrase.

    Any of ``terms`` may stand there; with ``prefix``, any term starting
    with the one given. ``at`` is its position relative to the phrase's
    first element: one per character, more across a sentence end (see
    :data:`searchengine.analysis.SENTENCE_GAP`).
    """

    terms: tuple[str, ...]
    prefix: bool = False
    at: int = 0


@dataclass(frozen=True)
class Clause:
    """One unit of a query: a run of text or a quoted phrase.

    ``elements`` is the character-layer phrase that finds the exact string;
    ``words`` the word-layer terms that find its words scattered (empty for
    a quoted phrase, which only matches exactly). ``verify`` is set when the
    phrase contains punctuation or spaces, which tokens do not see, so the
    candidates are checked against the stored text.
    """

    text: str
    quoted: bool
    elements: tuple[Element, ...]
    words: tuple[str, ...]
    title_only: bool = False
    verify: bool = False
    #: For another form of a term the reader typed (see :mod:`searchengine.forgiving`): that term's text.
    variant_of: str = ""
    #: The reader wrote it in traditional characters (and so, likely, in Taiwan's or Hong Kong's words).
    traditional: bool = False

    @property
    def family(self) -> str:
        """The text of the term as typed, for the clause and each of its other forms."""
        return self.variant_of or self.text

    def needles(self) -> list[Needle]:
        """Highlight patterns: the whole string (weighted), then its words."""
        found = [Needle(re.compile(self._exact_pattern()), 3.0)]
        for word in self.words:
            if word != self.text and (len(word) > 1 or not is_cjk(word)):
                found.append(Needle(re.compile(_word_pattern(word)), 1.0))
        return found

    def _exact_pattern(self) -> str:
        if self.verify:
            return _SPACE.sub(" ", re.escape(self.text).replace("\\ ", " ")).replace(" ", r"\s+")
        return _GAP.join(re.escape(run) for run, _, _ in char_runs(self.text))


@dataclass(frozen=True)
class Group:
    """Clauses joined by OR (usually just one)."""

    clauses: tuple[Clause, ...]


@dataclass
class Filters:
    """Metadata restrictions: per facet, values a post must have (all of them)
    and values it must not have; dates are epoch seconds."""

    include: dict[str, set[str]] = field(default_factory=dict)
    exclude: dict[str, set[str]] = field(default_factory=dict)
    after: int | None = None  # inclusive
    before: int | None = None  # exclusive

    def add(self, facet_name: str, value: str, *, negated: bool = False) -> None:
        """Require (or with ``negated``, forbid) a facet value, as :meth:`Facet.value_of` gives it."""
        (self.exclude if negated else self.include).setdefault(facet_name, set()).add(value)

    def is_empty(self) -> bool:
        return not self.include and not self.exclude and self.after is None and self.before is None

    def narrow_dates(self, start: int | None, end: int | None) -> None:
        if start is not None:
            self.after = start if self.after is None else max(self.after, start)
        if end is not None:
            self.before = end if self.before is None else min(self.before, end)


@dataclass
class ParsedQuery:
    """A query ready to evaluate: ANDed groups, exclusions, filters, hints."""

    text: str
    groups: list[Group] = field(default_factory=list)
    excluded: list[Clause] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    hints: list[Hint] = field(default_factory=list)

    def clauses(self) -> list[Clause]:
        """Every clause searched for (not the exclusions)."""
        return [clause for group in self.groups for clause in group.clauses]

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to match: no clause and no filter."""
        return not self.groups and self.filters.is_empty()

    def needles(self) -> list[Needle]:
        return [needle for clause in self.clauses() for needle in clause.needles()]


@dataclass
class _Item:
    text: str
    quoted: bool = False
    negated: bool = False
    field: str | None = None
    start: int = 0  # where the item (with its quotes) starts and ends in the cleaned query
    end: int = 0


def parse_query(query: str, analyzer: Analyzer, timezone: str = "Asia/Shanghai") -> ParsedQuery:
    """Parse ``query``; never raises, reports problems as hints."""
    parsed = ParsedQuery(text=query)
    cleaned = _clean(query, parsed.hints)
    items = _scan(cleaned, parsed.hints)
    pending: list[Clause] = []
    join_next = False
    for index, item in enumerate(items):
        if _is_or(item):
            if pending and index + 1 < len(items) and not _is_or(items[index + 1]):
                join_next = True
            else:
                parsed.hints.append(Hint("or_without_term"))
            continue
        clause = _apply(item, parsed, analyzer, timezone)
        if clause is None:
            join_next = False
            continue
        if join_next and pending:
            pending.append(clause)
        else:
            _flush(pending, parsed)
            pending = [clause]
        join_next = False
    _flush(pending, parsed)
    if not parsed.groups and parsed.excluded and parsed.filters.is_empty():
        parsed.hints.append(Hint("only_exclusions"))
    if parsed.is_empty and not parsed.excluded and query.strip():
        parsed.hints.append(Hint("nothing_searchable"))
    return parsed


def _flush(pending: list[Clause], parsed: ParsedQuery) -> None:
    """End a group; a group the query already has (``阿富汗 阿富汗``) adds nothing, so it is not kept."""
    if pending:
        group = Group(tuple(pending))
        if group not in parsed.groups:
            parsed.groups.append(group)
        pending.clear()


def _is_or(item: _Item) -> bool:
    return not item.quoted and not item.negated and item.field is None and item.text in _OR


def _clean(query: str, hints: list[Hint]) -> str:
    """NFKC (so full-width syntax works), no control characters, at most
    :data:`MAX_QUERY_CHARS` characters."""
    query = unicodedata.normalize("NFKC", query)
    cleaned = "".join(
        (" " if ch.isspace() else "") if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") else ch for ch in query
    )
    if len(cleaned) > MAX_QUERY_CHARS:
        hints.append(Hint("shortened", {"limit": str(MAX_QUERY_CHARS)}))
        cleaned = cleaned[:MAX_QUERY_CHARS]
    return cleaned


def _scan(text: str, hints: list[Hint]) -> list[_Item]:
    """Split the query into items: quoted phrases and whitespace-separated terms."""
    items: list[_Item] = []
    i, n = 0, len(text)
    while i < n:
        if _SPACE.match(text[i]):
            i += 1
            continue
        item = _Item("", start=i)
        if text[i] == "-" and i + 1 < n and not _SPACE.match(text[i + 1]):
            item.negated = True
            i += 1
        match = _FIELD.match(text, i)
        if match and match.group(1).lower() in _FIELDS:
            item.field = match.group(1).lower()
            i = match.end()
        if text[i] in _QUOTES:
            close = next((j for j in range(i + 1, n) if text[j] in _QUOTES[text[i]]), -1)
            if close >= 0:
                item.text, item.quoted, item.end = text[i + 1 : close], True, close + 1
                items.append(item)
                i = close + 1
                continue
            hints.append(Hint("unbalanced_quote"))
            i += 1
        start = i
        while i < n and not _SPACE.match(text[i]) and (i == start or text[i] not in _QUOTES):
            i += 1
        item.text, item.end = text[start:i].lstrip('"“'), i
        if item.text or item.field:
            items.append(item)
    return _keyword_operators(items)


def _keyword_operators(items: list[_Item]) -> list[_Item]:
    """``AND`` and ``NOT`` in capitals between terms, as every other engine reads them.

    ``AND`` is what a space already means, so it is dropped; ``NOT x`` is
    ``-x``. Anywhere else (``AND`` first or last, a quoted "NOT") they are
    plain words.
    """
    found: list[_Item] = []
    negate = False
    for index, item in enumerate(items):
        bare = not item.quoted and not item.negated and item.field is None
        if bare and item.text == "AND" and found and index + 1 < len(items):
            continue
        if bare and item.text == "NOT" and index + 1 < len(items):
            negate = True
            continue
        item.negated = item.negated or negate
        negate = False
        found.append(item)
    return found


def _apply(item: _Item, parsed: ParsedQuery, analyzer: Analyzer, timezone: str) -> Clause | None:
    """Turn one item into a clause, or record it as a filter or exclusion."""
    if item.field is not None and facet(item.field) is not None:
        _add_filter(parsed, item)
        return None
    if item.field in _DATE_FIELDS:
        _add_date(parsed, item, timezone)
        return None
    clause = make_clause(item.text, item.quoted, analyzer, title_only=item.field == "title")
    if clause is None:
        return None
    if item.negated:
        parsed.excluded.append(clause)
        return None
    return clause


def make_clause(text: str, quoted: bool, analyzer: Analyzer, title_only: bool = False) -> Clause | None:
    """The clause for ``text``, or None when it holds nothing searchable."""
    normalized = _SPACE.sub(" ", normalize(text)).strip()
    traditional = is_traditional(text)
    runs = list(char_runs(normalized))
    if not runs:
        return None
    elements = _elements(runs)
    words = () if quoted else tuple(dict.fromkeys(analyzer.segment(normalized)))
    # Tokens skip punctuation and spaces; a quoted phrase containing some
    # must be checked against the text itself to be exact. Unquoted text is
    # the runs, without punctuation around them.
    verify = quoted and "".join(run for run, _, _ in runs) != normalized
    last_run, last_start, _ = runs[-1]
    text = normalized if quoted else normalized[runs[0][1] : last_start + len(last_run)]
    return Clause(text, quoted, tuple(elements), words, title_only, verify, traditional=traditional)


def _elements(runs: Sequence[tuple[str, int, int]]) -> list[Element]:
    """The character-layer phrase of a query string (see :mod:`searchengine.analysis`).

    A run followed by more query text must end where it ends in the post, so
    it keeps its closing single character; the last run may go on in the
    post, so it has none. A last run of one character that follows other
    text must begin a run in the post (its start marker, or a run of just
    that character); a query of one character alone matches it anywhere.
    """
    elements: list[Element] = []
    origin = runs[0][2]
    for index, (run, _, position) in enumerate(runs):
        first, last = index == 0, index == len(runs) - 1
        at = position - origin
        if len(run) == 1:
            if not last:
                elements.append(Element((run,), at=at))
            elif first:
                elements.append(Element((run,), prefix=True))
            else:
                elements.append(Element((RUN_START + run, run), at=at))
        else:
            elements.extend(Element((run[i : i + 2],), at=at + i) for i in range(len(run) - 1))
            if not last:
                elements.append(Element((run[-1],), at=at + len(run) - 1))
    return elements


def _word_pattern(word: str) -> str:
    """A Latin/digit word matches whole words only; a CJK word anywhere.

    "Whole" as the character layer sees it: ``apec`` matches in ``apec会议``
    (a CJK character ends a Latin word) but not in ``apecs``.
    """
    escaped = re.escape(word)
    if is_cjk(word):
        return escaped
    return rf"(?<![^\W_{CJK_RANGES}]){escaped}(?![^\W_{CJK_RANGES}])"


def _add_filter(parsed: ParsedQuery, item: _Item) -> None:
    found = facet(item.field or "")
    assert found is not None
    if not item.text.strip():
        return
    value = found.value_of(item.text)
    if value is None:
        parsed.hints.append(Hint("not_a_value", {"field": found.name, "value": item.text}))
        return
    parsed.filters.add(found.name, value, negated=item.negated)


def _add_date(parsed: ParsedQuery, item: _Item, timezone: str) -> None:
    text = item.text.strip()
    span = date_range(text, timezone) if item.field == "date" else _date_span(text, timezone)
    if span is None:
        parsed.hints.append(Hint("not_a_date", {"field": item.field or "", "value": item.text}))
        return
    start, end = span
    if item.field == "after":
        parsed.filters.narrow_dates(start, None)
    elif item.field == "before":
        parsed.filters.narrow_dates(None, start)
    else:
        parsed.filters.narrow_dates(start, end)


def date_range(text: str, timezone: str) -> tuple[int | None, int | None] | None:
    """``date:``'s value as [start, end) epoch seconds, None when it is not one.

    A period (``2021``, ``2021-10``, ``2021-10-21``) or a range of them with
    both ends included (``2020-03..2021-06``); either end may be left open
    (``2020..``, ``..2019``). What a date-range control and a timeline bar
    ask for.
    """
    if ".." not in text:
        return _date_span(text, timezone)
    low, _, high = text.partition("..")
    start = _date_span(low.strip(), timezone) if low.strip() else (None, None)
    end = _date_span(high.strip(), timezone) if high.strip() else (None, None)
    if start is None or end is None or not (low.strip() or high.strip()):
        return None
    return start[0], end[1]


def _date_span(text: str, timezone: str) -> tuple[int, int] | None:
    """``2021`` / ``2021-10`` / ``2021-10-21`` as [start, end) epoch seconds."""
    match = _DATE.match(text)
    if not match:
        return None
    year = int(match.group(1))
    month, day = (int(g) if g else None for g in match.groups()[1:])
    zone = ZoneInfo(timezone)
    try:
        if month is None:
            start, end = datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
        elif day is None:
            start = datetime(year, month, 1, tzinfo=zone)
            end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
        else:
            start = datetime(year, month, day, tzinfo=zone)
            end = start + timedelta(days=1)
    except ValueError:
        return None
    return int(start.timestamp()), int(end.timestamp())


# --- reading a query for other queries to offer ----------------------------


def plain_words(query: str) -> list[str]:
    """The words of ``query`` to look up on their own: no operators, filters or exclusions.

    A quoted phrase gives its space-separated parts.
    """
    return _plain_words(_items(query))


def has_phrase(query: str) -> bool:
    """True when ``query`` holds a quoted phrase (which only matches exactly)."""
    return any(item.quoted for item in _items(query))


def broader_queries(query: str, limit: int = 3) -> list[str]:
    """Broader queries to offer when ``query`` found nothing.

    Without its quotes, then (for several words) each of its first ``limit``
    plain words alone; the library decides what they match.
    """
    items = _items(query)
    found: list[str] = []
    if any(item.quoted for item in items):
        found.append(" ".join(_unquoted(item) for item in items))
    words = _plain_words(items)
    if len(words) > 1:
        found.extend(word for word in dict.fromkeys(words[:limit]) if word not in found)
    return found[: limit + 1]


@dataclass(frozen=True)
class Term:
    """A search term as the reader typed it, and where it stands in the cleaned query."""

    text: str
    quoted: bool
    start: int  # (of the term with its quotes)
    end: int


def query_terms(query: str) -> tuple[str, list[Term]]:
    """The cleaned query (what the parser reads) and its plain search terms:
    no operators, filters or exclusions. For rewriting a term, as corrections do."""
    cleaned = _clean(query, [])
    terms = [Term(item.text, item.quoted, item.start, item.end) for item in _scan(cleaned, []) if _is_plain(item)]
    return cleaned, terms


def rewrite(cleaned: str, replacements: Sequence[tuple[Term, str]]) -> str:
    """``cleaned`` with each term's text replaced (a quoted term keeps its quotes)."""
    parts, last = [], 0
    for term, text in sorted(replacements, key=lambda pair: pair[0].start):
        parts.append(cleaned[last : term.start] + (f'"{text}"' if term.quoted else text))
        last = term.end
    return "".join(parts) + cleaned[last:]


def without_filter(query: str, name: str) -> str:
    """``query`` without the ``name:value`` filters written in it (not the
    excluded ones): what a link that removes a filter typed in the query
    searches."""
    cleaned = _clean(query, [])
    typed = [item for item in _scan(cleaned, []) if item.field == name and not item.negated]
    return " ".join(rewrite(cleaned, [(Term(item.text, False, item.start, item.end), "") for item in typed]).split())


def _items(query: str) -> list[_Item]:
    """The query's items as the parser sees them (its hints are not needed here)."""
    return _scan(_clean(query, []), [])


def _is_plain(item: _Item) -> bool:
    """A search term: not an operator, a filter or an exclusion."""
    return not _is_or(item) and not item.negated and item.field is None


def _plain_words(items: list[_Item]) -> list[str]:
    return [word for item in items if _is_plain(item) for word in item.text.split()]


def _unquoted(item: _Item) -> str:
    """An item written back as query text, without quotes."""
    prefix = ("-" if item.negated else "") + (f"{item.field}:" if item.field else "")
    return prefix + " ".join(item.text.split())
