"""Name aliases: the forms one person, place or body goes by in Chinese.

Readers in Taiwan and Hong Kong write 川普 and 普丁 where the mainland press
writes 特朗普 and 普京; OpenCC converts vocabulary (軟體/软件) but not names.
An alias table lists each name's forms, one group per line, the mainland
standard form first::

    # comments and blank lines are ignored
    特朗普 川普
    普京 普丁 蒲亭

Forms are separated by spaces, tabs or commas and compared in normalized
form (:func:`searchengine.normalize.normalize`), so a traditional spelling
of a form is the same form. The table is applied when a query is parsed,
never at indexing: editing a user's table (the ``aliases`` setting) takes
effect at the next search, with no rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from searchengine.errors import SearchEngineError
from searchengine.normalize import normalize

__all__ = ["AliasTable", "parse_aliases", "load_aliases", "bundled_aliases", "BUNDLED_ALIASES"]

BUNDLED_ALIASES = Path(__file__).parent / "data" / "aliases.txt"

_SEPARATORS = re.compile(r"[\s,，、]+")
#: The longest form looked for in a query, in characters.
_LONGEST = 24


@dataclass(frozen=True)
class AliasTable:
    """Groups of normalized forms, standard first, and an index from form to group."""

    groups: tuple[tuple[str, ...], ...] = ()
    _by_form: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def group_of(self, form: str) -> tuple[str, ...] | None:
        """The group holding the normalized ``form``, or None."""
        index = self._by_form.get(form)
        return None if index is None else self.groups[index]

    def find(self, text: str) -> Iterator[tuple[int, int, tuple[str, ...]]]:
        """``(start, end, group)`` for each form in normalized ``text``: leftmost, then longest, not overlapping."""
        i, n = 0, len(text)
        while i < n:
            for end in range(min(n, i + _LONGEST), i + 1, -1):
                group = self.group_of(text[i:end])
                if group is not None:
                    yield i, end, group
                    i = end
                    break
            else:
                i += 1

    def merged(self, other: AliasTable) -> AliasTable:
        """This table with ``other``'s groups added; a group of ``other`` that
        shares a form with one of ours replaces it (a user's table overrides ours)."""
        replaced = {self._by_form[form] for group in other.groups for form in group if form in self._by_form}
        kept = [group for index, group in enumerate(self.groups) if index not in replaced]
        return _table(kept + list(other.groups))

    def __len__(self) -> int:
        return len(self.groups)


def _table(groups: list[tuple[str, ...]]) -> AliasTable:
    by_form = {form: index for index, group in enumerate(groups) for form in group}
    return AliasTable(tuple(groups), by_form)


def parse_aliases(text: str, source: str) -> AliasTable:
    """Parse an alias table; a bad line raises :class:`SearchEngineError` naming ``source`` and the line."""
    groups: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        forms = tuple(dict.fromkeys(normalize(form) for form in _SEPARATORS.split(line) if form))
        where = f"{source}:{number}"
        if len(forms) < 2:
            raise SearchEngineError(f"{where}: a group needs at least two different forms: {line!r}")
        for form in forms:
            if len(form) > _LONGEST:
                raise SearchEngineError(f"{where}: {form!r} is longer than {_LONGEST} characters")
            if form in seen:
                raise SearchEngineError(f"{where}: {form!r} is already in the group on line {seen[form]}")
            seen[form] = number
        groups.append(forms)
    return _table(groups)


def load_aliases(path: Path | str) -> AliasTable:
    """Read and parse the alias table at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SearchEngineError(f"alias table {path}: cannot read: {exc}") from None
    return parse_aliases(text, str(path))


@lru_cache(maxsize=1)
def bundled_aliases() -> AliasTable:
    """The table that ships with the library (``searchengine/data/aliases.txt``)."""
    return load_aliases(BUNDLED_ALIASES)
