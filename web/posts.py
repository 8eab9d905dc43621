"""Single posts for the page and the API: looked up in the index, made safe to show.

A post id is the path the index stores (``guancha/2021/x.txt``). It is only
ever a key into the index, never a file path, so ``../../etc/passwd`` is
simply an id that the index does not hold: a 404.

A post's pictures show as the site's ``image_hosts`` setting allows: the
front-matter ones above the body (:func:`lead_pictures`), the inline ones
where they stand (:func:`~searchengine.web.security.sanitize_html`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, abort, current_app
from markupsafe import escape
from selectolax.lexbor import LexborHTMLParser

from searchengine.pictures import image_address
from searchengine.results import Hit, Post
from searchengine.versioned_cache import VersionedCache
from searchengine.web import get_engine
from searchengine.web.highlight import mark_html, query_needles
from searchengine.web.security import image_hosts, sanitize_html

__all__ = ["find_post", "related_posts", "marked", "Pictures", "lead_pictures", "init_app"]

RELATED = 5
#: Posts whose related posts each process keeps: some 10 KB each (five hits with snippets), 10 MB at most.
RELATED_KEPT = 1024
_RELATED_CACHE = "searchengine.related_posts"


def find_post(path: str) -> Post:
    """The post indexed under ``path``; aborts with 404 when there is none."""
    post = get_engine().get(path)
    if post is None:
        abort(404, f"no post {path[:200]!r} in the index")
    return post


def related_posts(post: Post) -> list[Hit]:
    """Posts like ``post`` (the library's more-like-this), for the post page.

    Kept per post for the index's current version: finding them is most of
    a post page's cost (tens of ms on a large archive), and the same post is
    opened from many searches, each its own URL (``?q=``) for the page cache.
    """
    engine = get_engine()
    cache: VersionedCache[str, list[Hit]] = current_app.extensions[_RELATED_CACHE]
    version = engine.version()
    found = cache.get(version, post.path)
    if found is None:
        found = engine.more_like_this(post.path, RELATED)
        cache.put(version, post.path, found)
    return found


def marked(post: Post, query: str = "") -> tuple[str, str]:
    """The post's title and body as HTML: escaped and sanitized, with the matches of ``query`` marked."""
    needles = query_needles(get_engine(), query)
    return mark_html(str(escape(post.title)), needles), mark_html(sanitize_html(post.html, image_hosts()), needles)


@dataclass(frozen=True)
class Pictures:
    """What the post page shows of a post's pictures besides those in its body."""

    lead: list[str]  # front-matter pictures the site may load, shown above the body
    hidden: int  # pictures, in front matter or body, that the site may not load


def lead_pictures(post: Post) -> Pictures:
    """The pictures to show above ``post``'s body, and how many of all its pictures cannot be shown.

    ``post.images`` holds front-matter pictures and then the body's, in one
    list; those that are not in the body are the front matter's. A picture
    that is both shows once, in the body.
    """
    allowed = image_hosts().allowed
    in_body = {image_address(img.attributes.get("src")) for img in LexborHTMLParser(post.html).css("img")}
    return Pictures(
        lead=[src for image in post.images if image not in in_body and (src := allowed(image)) is not None],
        hidden=sum(1 for image in post.images if allowed(image) is None),
    )


def init_app(app: Flask) -> None:
    """Give the app its cache of related posts (:data:`RELATED_KEPT` posts' worth)."""
    app.extensions[_RELATED_CACHE] = VersionedCache[str, list[Hit]](RELATED_KEPT, lambda path, hits: 1)
