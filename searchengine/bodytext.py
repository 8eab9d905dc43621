"""Post bodies (HTML or Markdown) as HTML, plain text, first heading and images.

A body whose first non-blank content is an HTML start tag (``<div>``, ``<p>``,
``<section>``...) or a doctype is HTML, as the scraped news posts are;
anything else is Markdown and is rendered with markdown-it-py (CommonMark,
raw HTML allowed). We do not run Markdown over HTML bodies: CommonMark ends an
HTML block at a blank line, and indented lines after it would turn into code.

Both kinds then go through one HTML → text walk over a real HTML5 parse
(selectolax / lexbor), so text never depends on regular expressions over
markup, and what the parser keeps as text (``<政府工作报告>``: a ``<`` before a
non-ASCII letter is not a tag) stays text. The text is meant for indexing and
snippets: one paragraph per line, whitespace collapsed the way a browser
collapses it, including the CSS rule that a line break between two Chinese
characters is no space at all. Otherwise a phrase that the source wraps across
lines (``阿富\\n汗``) could never be found.
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser, LexborNode

from searchengine.cjk import join_lines

__all__ = ["BodyText", "convert_body", "html_to_text", "is_html", "markdown_to_html"]

# Elements that end the current line when they open and when they close.
_BLOCKS = frozenset(
    "address article aside blockquote caption center dd details dialog dir div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend "
    "li main menu nav ol p pre section summary table tbody tfoot thead tr ul".split()
)
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# Table cells: inline in the row's line, but two cells' texts must not run together.
_CELLS = frozenset(("td", "th"))
# Content a reader never sees as text: code, styles, inert templates, and the
# fallback text of embedded media ("您的浏览器不支持 video 标签").
_DROPPED = frozenset(
    "script style template noscript iframe head object embed svg math canvas video audio "
    "-comment".split()
)

_MARKDOWN = MarkdownIt("commonmark")


@dataclass(frozen=True)
class BodyText:
    """A post body as the index and the web app need it."""

    html: str  # the body as HTML: Markdown rendered, HTML as written
    text: str  # plain text, one paragraph per line, no markup
    heading: str  # text of the first non-empty h1-h6, "" when there is none
    images: tuple[str, ...]  # <img src> in document order, unique, no data: URIs


def convert_body(body: str) -> BodyText:
    """Turn a post body, HTML or Markdown, into HTML, text, heading and images."""
    return html_to_text(body if is_html(body) else markdown_to_html(body))


def is_html(body: str) -> bool:
    """True when the first non-blank content of ``body`` is an HTML start tag or doctype.

    The tag name must be ASCII letters/digits/hyphens followed by a space, ``/``
    or ``>``, so a Markdown autolink (``<https://...>``) or ``<政府工作报告>`` is
    not taken for a tag.
    """
    start = body.lstrip()[:64]
    if start[:9].lower() == "<!doctype":
        return True
    if start[:1] != "<" or not (start[1:2].isascii() and start[1:2].isalpha()):
        return False
    end = 2
    while end < len(start) and start[end].isascii() and (start[end].isalnum() or start[end] == "-"):
        end += 1
    return end == len(start) or start[end] in " \t\n\f/>"


def markdown_to_html(markdown: str) -> str:
    """Render CommonMark (raw HTML passed through) to HTML."""
    return _MARKDOWN.render(markdown)


def html_to_text(html: str) -> BodyText:
    """Walk the HTML5 parse of ``html`` once, collecting text lines, heading and images."""
    walk = _TextWalk()
    body = LexborHTMLParser(html).body
    if body is not None:
        walk.run(body)
    return BodyText(html=html, text="\n".join(walk.lines), heading=walk.heading,
                    images=tuple(walk.images))


def _clean_line(raw: str) -> str:
    """Collapse whitespace in one line of text as a browser would render it.

    A whitespace run holding a line break between two CJK characters vanishes;
    every other run becomes one space; the ends are stripped. ``&nbsp;`` (already
    U+00A0 here) and the ideographic space count as whitespace.
    """
    return " ".join(join_lines(raw).split())


class _TextWalk:
    """State of one depth-first walk: finished lines, the line being built, images."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.parts: list[str] = []
        self.images: dict[str, None] = {}  # an ordered set
        self.heading = ""
        self._heading_from: int | None = None  # index in lines where the open heading began
        self._pre_depth = 0

    def run(self, parent: LexborNode) -> None:
        """Visit every node under ``parent`` in document order, without recursion."""
        stack: list[LexborNode] = []
        node = parent.child
        while node is not None:
            child = node.child if self._enter(node) else None
            if child is not None:
                stack.append(node)
                node = child
                continue
            self._leave(node)
            while (following := node.next) is None and stack:
                node = stack.pop()
                self._leave(node)
            node = following
        self._end_line()

    def _enter(self, node: LexborNode) -> bool:
        """Handle ``node`` opening; return whether its children are to be visited."""
        tag = node.tag
        if tag == "-text":
            self._add_text(node.text_content or "")
            return False
        if tag in _DROPPED:
            return False
        if tag == "img":
            self._add_image(node.attributes.get("src"))
        elif tag == "br":
            self._end_line()
        elif tag in _CELLS:
            self.parts.append(" ")
        elif tag in _BLOCKS:
            self._end_line()
            if tag == "pre":
                self._pre_depth += 1
            elif tag in _HEADINGS and not self.heading and self._heading_from is None:
                self._heading_from = len(self.lines)
        return True

    def _leave(self, node: LexborNode) -> None:
        """Handle ``node`` closing: a block ends its line, a heading may become the title."""
        tag = node.tag
        if tag not in _BLOCKS:
            return
        self._end_line()
        if tag == "pre":
            self._pre_depth -= 1
        elif tag in _HEADINGS and self._heading_from is not None:
            self.heading = " ".join(self.lines[self._heading_from:])
            self._heading_from = None

    def _add_text(self, text: str) -> None:
        """Add a text node; inside <pre> its line breaks are real line breaks."""
        if not self._pre_depth:
            self.parts.append(text)
            return
        first, *rest = text.split("\n")
        self.parts.append(first)
        for line in rest:
            self._end_line()
            self.parts.append(line)

    def _add_image(self, src: str | None) -> None:
        """Keep an image address; inline data: URIs are content, not addresses."""
        src = (src or "").strip()
        if src and src[:5].lower() != "data:":
            self.images[src] = None

    def _end_line(self) -> None:
        """Close the line being built; a line that is only whitespace is dropped."""
        if not self.parts:
            return
        line = _clean_line("".join(self.parts))
        self.parts.clear()
        if line:
            self.lines.append(line)
