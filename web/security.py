"""What keeps the site safe: the sanitizer for post bodies, the image policy and the response headers.

Post bodies are scraped HTML or Markdown with raw HTML allowed, so they are
untrusted. :func:`sanitize_html` keeps a fixed list of harmless tags and
attributes, drops scripts, styles, event handlers, frames, objects, embeds
and forms, keeps only ``http``/``https`` links, adds
``rel="noopener noreferrer nofollow"`` to links, and keeps only the images
the site's ``image_hosts`` setting allows (lazily loaded, no referrer).
Everything else on a page is rendered by Jinja with autoescaping on; the
only markup passed through ``|safe`` is this sanitizer's output and the
library's highlighted titles and snippets (escaped text plus ``<mark>``).

The security headers (:func:`security_headers`) go on every response, error
pages included. The Content-Security-Policy allows no inline script or style
at all, so even a sanitizer bug could not run script, and images only from
this site, ``data:`` and the hosts ``image_hosts`` allows: with the default,
``none``, a page asks no other host for anything.
"""

from __future__ import annotations

import nh3
from flask import Flask, Response, current_app
from selectolax.lexbor import LexborHTMLParser

from searchengine.pictures import ImageHosts

__all__ = ["content_security_policy", "security_headers", "sanitize_html", "image_hosts", "init_app"]

_IMAGE_HOSTS = "searchengine.image_hosts"


def content_security_policy(images: ImageHosts) -> str:
    """The Content-Security-Policy of a site that shows the images ``images`` allows."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(("img-src 'self' data:", *images.csp_sources())),
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


def security_headers(images: ImageHosts) -> dict[str, str]:
    """The headers every response of a site that shows the images ``images`` allows carries."""
    return {
        "Content-Security-Policy": content_security_policy(images),
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
    set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async", "referrerpolicy": "no-referrer"}},
    strip_comments=True,
)


def sanitize_html(html: str, images: ImageHosts) -> str:
    """Return ``html`` (a post body) reduced to harmless markup, with the images ``images`` allows.

    Other images (``javascript:``, relative, ``data:``, or from a host not
    allowed) are dropped rather than left as broken images or as requests
    that the Content-Security-Policy blocks.
    """
    cleaned = _CLEANER.clean(html or "")
    if "<img" not in cleaned:
        return cleaned
    tree = LexborHTMLParser(cleaned)
    for image in tree.css("img"):
        src = images.allowed(image.attributes.get("src"))
        if src is None:
            image.decompose()
        else:
            image.attrs["src"] = src
    return (tree.body.inner_html or "") if tree.body is not None else ""


def image_hosts() -> ImageHosts:
    """The current app's ``image_hosts`` setting, read once when the app was made."""
    images: ImageHosts = current_app.extensions[_IMAGE_HOSTS]
    return images


def init_app(app: Flask) -> None:
    """Read ``IMAGE_HOSTS`` and put the headers it implies on every response.

    A bad ``IMAGE_HOSTS`` raises :class:`~searchengine.errors.ParameterError`
    (naming ``image_hosts``) now, not on the first request. Templates get
    the filter ``allowed_image``: an address as the page may load it, or None.
    """
    images = ImageHosts.parse(app.config["IMAGE_HOSTS"])
    app.extensions[_IMAGE_HOSTS] = images
    headers = security_headers(images)

    def add_security_headers(response: Response) -> Response:
        """``after_request`` hook: the security headers, on every response."""
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    app.after_request(add_security_headers)
    app.add_template_filter(images.allowed, "allowed_image")
