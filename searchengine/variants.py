"""Regional forms of a query term: what the same thing is called elsewhere.

Normalization already makes 習近平 and 习近平 one string; this module goes
further, to *other words* for the same thing:

* **vocabulary**, from OpenCC's phrase tables: Taiwan and Hong Kong to the
  mainland (``tw2sp``, ``hk2sp``: 軟體 → 软件, 紐西蘭 → 新西兰) and back
  (``s2twp``, ``s2hkp``: 软件 → 軟體), so a term finds posts written either way;
* **names**, from an alias table (:mod:`searchengine.aliases`): 川普 → 特朗普,
  普丁 → 普京, and the reverse.

The forms are searched beside the term as typed (see
:mod:`searchengine.forgiving`); a quoted phrase is never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import opencc

from searchengine.aliases import AliasTable
from searchengine.analysis import CJK_RANGES
from searchengine.normalize import normalize

__all__ = ["regional_forms", "alias_forms", "load_tables", "MAX_FORMS"]

#: At most this many other forms per term (a term naming several people
#: could otherwise multiply into dozens).
MAX_FORMS = 6

#: OpenCC configurations: to the mainland's words from Taiwan's and Hong
#: Kong's (they read traditional characters), and from the mainland's to theirs.
_TO_MAINLAND = ("tw2sp", "hk2sp")
_FROM_MAINLAND = ("s2twp", "s2hkp")
_CJK = re.compile(f"[{CJK_RANGES}]")


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def load_tables() -> None:
    """Load OpenCC's regional tables now (about 50 MB, loaded at the first term otherwise)."""
    for config in ("s2t", *_TO_MAINLAND, *_FROM_MAINLAND):
        _converter(config)


def regional_forms(text: str) -> list[str]:
    """Other normalized forms of normalized ``text`` by OpenCC's regional phrase tables."""
    if not _CJK.search(text):
        return []
    traditional = _converter("s2t").convert(text)
    # The tables write Latin letters in capitals (B肝 for 乙肝); normalized text is lower case.
    sources = dict.fromkeys((traditional, traditional.upper()))
    converted = [_converter(config).convert(source) for config in _TO_MAINLAND for source in sources]
    converted += [_converter(config).convert(text) for config in _FROM_MAINLAND]
    return _others(text, (normalize(form) for form in converted))


def alias_forms(text: str, table: AliasTable) -> list[str]:
    """Other forms of normalized ``text`` with its names written as the alias table's other forms.

    First every name in its standard form, then each name in each of its
    other forms in turn.
    """
    found = list(table.find(text))
    if not found:
        return []

    def spelled(choices: dict[int, str]) -> str:
        parts, last = [], 0
        for index, (start, end, _) in enumerate(found):
            parts.append(text[last:start] + choices.get(index, text[start:end]))
            last = end
        return "".join(parts) + text[last:]

    forms = [spelled({index: group[0] for index, (_, _, group) in enumerate(found)})]
    forms += [spelled({index: form}) for index, (_, _, group) in enumerate(found) for form in group]
    return _others(text, forms)


def _others(text: str, forms: Iterable[str]) -> list[str]:
    """The distinct forms other than ``text``, at most :data:`MAX_FORMS`."""
    return [form for form in dict.fromkeys(forms) if form and form != text][:MAX_FORMS]
