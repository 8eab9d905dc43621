"""What keeps the site safe: the sanitizer for post bodies and the response headers.

Post bodies are scraped HTML or Markdown with raw HTML allowed, so they are
untrusted. :func:`sanitize_html` keeps a fixed list of harmless tags and
attributes, drops scripts, styles, event handlers, frames, objects, embeds
and forms, keeps only ``http``/``https`` links and images, and adds
``rel="noopener noreferrer nofollow"`` to links and ``loading="lazy"`` to
images. Everything else on a page is rendered by Jinja with autoescaping on;
the only markup passed through ``|safe`` is this sanitizer's output and the
library's highlighted titles and snippets (escaped text plus ``<mark>``).

:data:`SECURITY_HEADERS` go on every response, error pages included. The
Content-Security-Policy allows no inline script or style at all, so even a
sanitizer bug could not run script.
"""

from __future__ import annotations

import nh3
from flask import Flask, Response
from selectolax.lexbor import LexborHTMLParser

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "sanitize_html", "add_security_headers"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# What a news article needs, and nothing that can act: no script, style,
# form, frame, object, embed, media or SVG (which can carry script).
_TAGS = frozenset(
    "a abbr b blockquote br caption cite code col colgroup dd del div dl dt em figcaption figure "
    "h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small span strong sub sup "
    "table tbody td tfoot th thead tr u ul".split()
)
# Removed with everything inside them: their content is code or fallback
# text, never part of the article.
_DROPPED_WITH_CONTENT = frozenset(
    "script style template noscript iframe frame frameset object embed applet form "
    "textarea select button svg math canvas video audio head title".split()
)
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "ol": {"start", "reversed"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "del": {"cite"},
    "ins": {"cite"},
}

_CLEANER = nh3.Cleaner(
    tags=set(_TAGS),
    clean_content_tags=set(_DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
    url_schemes={"http", "https"},
    url_relative="deny",  # a relative URL would point into this site, never at the post's assets
    link_rel="noopener noreferrer nofollow",
    set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"}},
    strip_comments=True,
)


def sanitize_html(html: str) -> str:
    """Return ``html`` (a post body) reduced to harmless markup.

    Images whose source was removed (``javascript:``, relative, ``data:``)
    are dropped rather than left as broken images.
    """
    cleaned = _CLEANER.clean(html or "")
    if "<img" not in cleaned:
        return cleaned
    tree = LexborHTMLParser(cleaned)
    broken = tree.css("img:not([src])")
    if not broken:
        return cleaned
    for image in broken:
        image.decompose()
    return (tree.body.inner_html or "") if tree.body is not None else ""


def add_security_headers(response: Response) -> Response:
    """``after_request`` hook: the security headers, on every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
