"""Single posts for the page and the API: looked up in the index, made safe to show.

A post id is the path the index stores (``guancha/2021/x.txt``). It is only
ever a key into the index, never a file path, so ``../../etc/passwd`` is
simply an id that the index does not hold: a 404.
"""

from __future__ import annotations

from flask import abort
from markupsafe import escape

from searchengine.results import Hit, Post
from searchengine.web import get_engine
from searchengine.web.highlight import mark_html, query_needles
from searchengine.web.security import sanitize_html

__all__ = ["find_post", "related_posts", "marked"]

RELATED = 5


def find_post(path: str) -> Post:
    """The post indexed under ``path``; aborts with 404 when there is none."""
    post = get_engine().get(path)
    if post is None:
        abort(404, f"no post {path[:200]!r} in the index")
    return post


def related_posts(post: Post) -> list[Hit]:
    """Posts like ``post`` (the library's more-like-this), for the post page."""
    return get_engine().more_like_this(post.path, RELATED)


def marked(post: Post, query: str = "") -> tuple[str, str]:
    """The post's title and body as HTML: escaped and sanitized, with the matches of ``query`` marked."""
    needles = query_needles(get_engine(), query)
    return mark_html(str(escape(post.title)), needles), mark_html(sanitize_html(post.html), needles)
