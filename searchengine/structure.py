"""What a post's layout says about it, measured once when it is indexed.

News archives hold roundups of briefs (新闻联播's 国内联播快讯 and
国际联播快讯): one post, several unrelated items, each a short headline line
followed by its paragraph. A roundup mentions everything and is rarely what
a query wants, so the ranking gives it a prior (see
:mod:`searchengine.ranking`). It is told from the text's structure, never
from title words: an archive's roundups have many names, and a feature
article with a few subheadings is not one.
"""

from __future__ import annotations

import re

__all__ = ["brief_items", "letter_count", "MAX_COUNT"]

#: Counts are stored in 16 bits.
MAX_COUNT = 0xFFFF
#: A headline is a line at most this long ...
_HEADLINE = 40
#: ... that does not end as a sentence or a lead-in does.
_ENDS_SENTENCE = re.compile(r"[。！？!?…；;：:”\"）)]$")
_LETTERS = re.compile(r"[^\W_]")


def brief_items(text: str) -> int:
    """How many items of the body ``text`` are introduced by a headline line.

    A headline line is short, does not end like a sentence, and is followed
    by a longer line that does (the item it introduces). A roundup of briefs
    has several; an article has none, or a few subheadings.
    """
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    items = sum(
        1
        for line, following in zip(lines, lines[1:], strict=False)
        if len(line) <= _HEADLINE
        and not _ENDS_SENTENCE.search(line)
        and len(following) > len(line)
        and _ENDS_SENTENCE.search(following)
    )
    return min(items, MAX_COUNT)


def letter_count(text: str) -> int:
    """Letters and digits in ``text``: the length a title match covers."""
    return min(len(_LETTERS.findall(text)), MAX_COUNT)
