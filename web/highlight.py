"""Mark a search query's matches inside a post's sanitized HTML.

A reader who arrives from a result (``/post/…?q=…``) sees the query's words
marked in the article, as in the snippet. The library gives the query's
needles (:meth:`SearchEngine.needles`, analysed as the index was built), which
match normalized text, so ``习近平`` also marks ``習近平`` and ``apec``
marks ``ＡＰＥＣ``. Only text nodes are touched, never tags or attributes; a
match that spans two elements (``莫斯<b>科</b>``) is not marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from searchengine.cjk import join_lines
from searchengine.engine import SearchEngine
from searchengine.snippets import Needle, match_spans

__all__ = ["query_needles", "mark_html"]

# Private-use characters stand for <mark> and </mark> while the tree is
# serialized, so the text around them is escaped by the serializer itself.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SKIPPED = frozenset(("mark", "script", "style", "template"))

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
        if "pre" not in ancestors:
            text = join_lines(text)
        spans = match_spans(text, needles) if needles else []
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
    return (body.inner_html or "").replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def _ancestors(node: Any) -> set[str]:
    found = set()
    parent = node.parent
    while parent is not None:
        found.add(parent.tag)
        parent = parent.parent
    return found
