"""The web front end: a search page, post pages and a JSON API over the library.

Installed as ``searchengine.web``. Build the app with :func:`create_app`; run
it with :func:`searchengine.web.server.serve` (``searchengine serve``), which
uses waitress, never Flask's development server::

    from searchengine.web import create_app
    app = create_app({"INDEX_DIR": "index"})

The views hold no search logic: they read parameters, call
:class:`~searchengine.engine.SearchEngine` and render what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g

from searchengine import __version__
from searchengine.engine import MAX_LIMIT, SearchEngine
from searchengine.errors import ParameterError
from searchengine.settings import setting

__all__ = ["create_app", "get_engine"]

_EXTENSION = "searchengine"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: defaults from the settings table, then ``config``.

    Config keys: ``INDEX_DIR`` (the index to open), ``TIMEZONE`` (for dates
    and the year filter), ``ALIASES`` (a user alias table, added to the
    bundled one; empty: none), ``PAGE_SIZE`` (results per page),
    ``IMAGE_HOSTS`` (where pages may load images from, as the
    ``image_hosts`` setting: ``none``, host names, or ``https``),
    ``RESPONSE_CACHE_BYTES`` (how many bytes of whole answers each process
    keeps, see :mod:`searchengine.web.response_cache`; 0: none), or
    ``ENGINE`` (a ready :class:`SearchEngine`, used instead of opening
    ``INDEX_DIR`` with ``TIMEZONE`` and ``ALIASES``).

    The engine is opened here, once per app, and shared read-only by every
    request and thread; a missing index raises
    :class:`~searchengine.errors.IndexMissingError` now rather than on the
    first request. It follows new builds of the index by itself.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        INDEX_DIR=setting("index"),
        TIMEZONE=setting("timezone"),
        ALIASES=setting("aliases"),
        PAGE_SIZE=setting("page_size"),
        IMAGE_HOSTS=setting("image_hosts"),
        ENGINE=None,
        SITE_NAME="新闻档案搜索",
        MAX_CONTENT_LENGTH=64 * 1024,  # nothing here takes a request body
    )
    if config:
        app.config.update(config)
    page_size = app.config["PAGE_SIZE"]
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_LIMIT:
        raise ParameterError(f"page_size must be a whole number from 1 to {MAX_LIMIT}, not {page_size!r}")
    app.config["DEBUG"] = False  # never the interactive debugger, whatever FLASK_DEBUG says
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the library's field order

    engine = app.config["ENGINE"]
    if engine is None:
        engine = SearchEngine(
            app.config["INDEX_DIR"], timezone=app.config["TIMEZONE"], aliases=app.config["ALIASES"] or None
        )
    app.extensions[_EXTENSION] = engine

    from searchengine.web import api, errors, feed, pages, posts, response_cache, security, templating

    security.init_app(app)
    posts.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    response_cache.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(feed.bp)
    app.jinja_env.globals["version"] = __version__
    return app


def get_engine() -> SearchEngine:
    """The app's shared engine, remembered in ``g`` for the rest of the request."""
    if "engine" not in g:
        g.engine = current_app.extensions[_EXTENSION]
    return g.engine
