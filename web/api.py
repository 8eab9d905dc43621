"""The JSON API: the library's results as JSON, the same fields as ``searchengine search --json``.

Errors are JSON too: ``{"status": 400, "error": "page must be …"}`` (see
:mod:`searchengine.web.errors`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from searchengine.web import get_engine
from searchengine.web.params import SearchParams, whole_number
from searchengine.web.posts import find_post
from searchengine.web.security import sanitize_html

bp = Blueprint("api", __name__, url_prefix="/api")

_SUGGEST_LIMIT = 8
_SUGGEST_PREFIX = 100


@bp.get("/search")
def search() -> dict[str, Any]:
    """``SearchResult.to_dict()`` for the page's parameters plus ``limit`` (1–100)."""
    params = SearchParams.from_args(request.args, current_app.config["PAGE_SIZE"], allow_limit=True)
    return get_engine().search(**params.search_kwargs()).to_dict()


@bp.get("/post/<path:post_path>")
def post(post_path: str) -> dict[str, Any]:
    """``Post.to_dict()`` plus ``html_sanitized``, the body as the post page shows it.

    ``source`` (where the file lies on the server) is left out: it is of no
    use to a client and tells the world about the server's disk.
    """
    found = find_post(post_path).to_dict()
    del found["source"]
    return {**found, "html_sanitized": sanitize_html(found["html"])}


@bp.get("/suggest")
def suggest() -> Response:
    """Titles containing ``q``, for completion: ``{"query": q, "suggestions": [...]}``.

    With ``format=opensearch``, the OpenSearch suggestions form
    ``[q, [titles]]`` that browsers ask for.
    """
    query = request.args.get("q") or ""
    limit = whole_number(request.args, "limit", _SUGGEST_LIMIT)
    prefix = query.strip()[:_SUGGEST_PREFIX]
    titles = get_engine().suggest(prefix, limit)  # type: ignore[arg-type]
    if request.args.get("format") == "opensearch":
        response = jsonify([query, titles])
        response.mimetype = "application/x-suggestions+json"
        return response
    return jsonify({"query": query, "suggestions": titles})
