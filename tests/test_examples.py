"""Every example a reader is shown finds something in the bundled sample posts.

A new user tries the examples first: on the home page, in the query-syntax
help and in the README's query syntax. Each is read from where it is shown
(not copied here), so an example edited into something the samples lack
fails this test.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from searchengine import SearchEngine

REPO = Path(__file__).resolve().parents[1]
#: Code spans that name syntax or a command, not a query.
_NOT_QUERIES = {"OR", "AND", "NOT", "-", "after", "before", "stats"}


def readme_examples() -> list[str]:
    """The code spans of the README's query-syntax section that hold a query."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Query syntax") : text.index("### Forgiving search")]
    return [span for span in re.findall(r"`([^`]+)`", section) if _is_query(span)]


def page_examples() -> list[str]:
    """The home page's example queries and the syntax help's code spans."""
    templates = REPO / "web" / "templates"
    home = re.search(r"{% for example in (\[.*?\]) %}", (templates / "search.html").read_text(encoding="utf-8"))
    assert home is not None, "the home page lists its examples in one for loop"
    help_text = (templates / "_syntax.html").read_text(encoding="utf-8")
    spans = [span.replace("&quot;", '"') for span in re.findall(r"<code>([^<]+)</code>", help_text)]
    return [*ast.literal_eval(home.group(1)), *(span for span in spans if _is_query(span))]


def _is_query(span: str) -> bool:
    return span not in _NOT_QUERIES and re.search(r"\w", span) is not None


@pytest.mark.parametrize("example", sorted(set(readme_examples() + page_examples())))
def test_every_example_finds_something_in_the_samples(sample_engine: SearchEngine, example: str) -> None:
    result = sample_engine.search(example)
    assert result.total > 0, f"{example!r} finds nothing in the sample posts; hints: {result.hints}"


def test_the_examples_the_issue_named_are_among_them() -> None:
    """The ones a new user found empty (issue #12) are shown, and so checked above."""
    shown = set(readme_examples() + page_examples())
    assert {'"一带一路"', "tag:一带一路", "習近平"} <= shown
