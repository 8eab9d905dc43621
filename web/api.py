"""The JSON API: the library's results as JSON, the same fields as ``searchengine search --json``.

What is sent back is bounded and safe by default: a query is echoed as
searched (at most :data:`~searchengine.query.MAX_QUERY_CHARS` characters),
and a post's unsanitized HTML only on request (``raw=1``).

Errors are JSON too: ``{"status": 400, "error": "page must be …"}`` (see
:mod:`searchengine.web.errors`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from searchengine.query import MAX_QUERY_CHARS
from searchengine.web import get_engine
from searchengine.web.params import SearchParams, whole_number, yes_or_no
from searchengine.web.posts import find_post
from searchengine.web.security import image_hosts, sanitize_html

bp = Blueprint("api", __name__, url_prefix="/api")

_SUGGEST_LIMIT = 8
_SUGGEST_PREFIX = 100


@bp.get("/search")
def search() -> dict[str, Any]:
    """``SearchResult.to_dict()`` for the page's parameters plus ``limit`` (1–100).

    ``query`` is what the library read of the query, its first
    :data:`~searchengine.query.MAX_QUERY_CHARS` characters (the ``shortened``
    hint says when it was cut): a 200 KB query is not sent back whole.
    """
    params = SearchParams.from_args(request.args, current_app.config["PAGE_SIZE"], allow_limit=True)
    return {**get_engine().search(**params.search_kwargs()).to_dict(), "query": params.link_q}


@bp.get("/post/<path:post_path>")
def post(post_path: str) -> dict[str, Any]:
    """``Post.to_dict()`` plus ``html_sanitized``, the body as the post page shows it.

    ``html``, the body as written, may hold scripts that a client showing it
    would run, so it is only sent when asked for (``raw=1``). ``source``
    (where the file lies on the server) is never sent: it is of no use to a
    client and tells the world about the server's disk.
    """
    raw = yes_or_no(request.args, "raw", False)
    found = find_post(post_path).to_dict()
    del found["source"]
    sanitized = sanitize_html(found["html"], image_hosts())
    if not raw:
        del found["html"]
    return {**found, "html_sanitized": sanitized}


@bp.get("/suggest")
def suggest() -> Response:
    """Posts whose titles hold ``q``, for completion: ``{"query": q, "suggestions": [{"title", "path"}]}``.

    ``path`` opens the post (``/post/<path>``). With ``format=opensearch``,
    the OpenSearch suggestions form ``[q, [titles]]`` that browsers ask for.
    ``q`` is echoed as at most :data:`~searchengine.query.MAX_QUERY_CHARS`
    characters, like the search's query.
    """
    query = (request.args.get("q") or "")[:MAX_QUERY_CHARS]
    limit = whole_number(request.args, "limit", _SUGGEST_LIMIT)
    prefix = query.strip()[:_SUGGEST_PREFIX]
    found = get_engine().suggest_posts(prefix, limit)  # type: ignore[arg-type]
    titles = [suggestion.title for suggestion in found]
    if request.args.get("format") == "opensearch":
        response = jsonify([query, titles])
        response.mimetype = "application/x-suggestions+json"
        return response
    return jsonify({"query": query, "suggestions": [suggestion.to_dict() for suggestion in found]})
