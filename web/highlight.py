"""Mark a search query's matches inside a post's sanitized HTML.

A reader who arrives from a result (``/post/…?q=…``) sees the query's words
marked in the article, as in the snippet. The library gives the query's
needles (:meth:`SearchEngine.needles`, analysed as the index was built), which
match normalized text, so ``习近平`` also marks ``習近平`` and ``apec``
marks ``ＡＰＥＣ``. Only text nodes are touched, never tags or attributes; a
match that spans two elements (``莫斯<b>科</b>``) is not marked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from searchengine.engine import SearchEngine
from searchengine.normalize import normalize_with_offsets
from searchengine.snippets import Needle

__all__ = ["query_needles", "mark_html"]

# Private-use characters stand for <mark> and </mark> while the tree is
# serialized, so the text around them is escaped by the serializer itself.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SKIPPED = frozenset(("mark", "script", "style", "template"))
# CJK ideographs and punctuation (as in searchengine.bodytext): a source line
# break between two of them is no space at all.
_CJK = (
    "\u2e80-\u2fff\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3200-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff60\uffe0-\uffe6"
    "\U00020000-\U0003ffff\u2018\u2019\u201c\u201d\u2014\u2026\u00b7"
)
_CJK_LINE_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t\r]*\n\s*(?=[{_CJK}])")


def query_needles(engine: SearchEngine, query: str) -> list[Needle]:
    """The highlight patterns of ``query``, analysed as the index was built."""
    if not query or not query.strip():
        return []
    return engine.needles(query)


def mark_html(html: str, needles: Sequence[Needle]) -> str:
    """Return ``html`` with every match of ``needles`` in its text wrapped in ``<mark>``.

    ``html`` must already be sanitized; the result is as safe as the input
    (only ``<mark>`` elements are added, text stays escaped). Line breaks
    between two Chinese characters are removed first, outside ``<pre>``: the
    source wraps lines mid-phrase (``阿富\\n汗``), which a browser would show
    as a space and which would hide the phrase from the highlighter.
    """
    html = (html or "").replace(_OPEN, "").replace(_CLOSE, "")
    if not html:
        return html
    tree = LexborHTMLParser(html)
    body = tree.body
    if body is None:
        return html
    changed = False
    for node in list(body.traverse(include_text=True)):
        if node.tag != "-text":
            continue
        ancestors = _ancestors(node)
        if ancestors & _SKIPPED:
            continue
        text = original = node.text_content or ""
        if "pre" not in ancestors and "\n" in text:
            text = _CJK_LINE_BREAK.sub("", text)
        spans = _spans(text, needles) if needles else []
        if not spans and text == original:
            continue
        pieces, last = [], 0
        for start, end in spans:
            pieces += [text[last:start], _OPEN, text[start:end], _CLOSE]
            last = end
        pieces.append(text[last:])
        node.replace_with("".join(pieces))
        changed = True
    if not changed:
        return html
    return body.inner_html.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def _spans(text: str, needles: Sequence[Needle]) -> list[tuple[int, int]]:
    """Merged ``[start, end)`` spans of the matches in ``text`` (original offsets)."""
    normalized, offsets = normalize_with_offsets(text)
    found = sorted(
        (offsets[match.start()], offsets[match.end() - 1] + 1)
        for needle in needles
        for match in needle.pattern.finditer(normalized)
        if match.end() > match.start()
    )
    spans: list[tuple[int, int]] = []
    for start, end in found:
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


def _ancestors(node: Any) -> set[str]:
    found = set()
    parent = node.parent
    while parent is not None:
        found.add(parent.tag)
        parent = parent.parent
    return found
