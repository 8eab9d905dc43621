"""The HTML pages: search, a post, and the OpenSearch description."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from searchengine.query import broader_queries, plain_words
from searchengine.results import Suggestion
from searchengine.web import get_engine
from searchengine.web.params import SearchParams
from searchengine.web.posts import find_post, lead_pictures, marked, related_posts

bp = Blueprint("pages", __name__)

_SUGGESTIONS = 5
_SUGGEST_PREFIX = 50


@bp.get("/")
def search() -> str:
    """The search page; results when there is query text or a filter.

    Bad parameters (``page=abc``, ``sort=x``) raise ParameterError, shown as
    the 400 page. With no results, the empty state offers broader queries and
    titles containing the query.
    """
    params = SearchParams.from_args(request.args, current_app.config["PAGE_SIZE"])
    engine = get_engine()
    result = engine.search(**params.search_kwargs()) if params.wants_results else None
    titles: list[Suggestion] = []
    if result is not None and result.total == 0 and params.q.strip():
        titles = _titles_like(params.q)
    return render_template(
        "search.html",
        params=params,
        result=result,
        titles=titles,
        simpler=broader_queries(params.q) if result is not None and result.total == 0 else [],
        stats=engine.stats() if result is None else None,
    )


def _titles_like(query: str) -> list[Suggestion]:
    """Posts whose titles hold the query, or one of its plain words, for an empty result page."""
    words = plain_words(query)[:4]
    found: dict[str, Suggestion] = {}
    for text in dict.fromkeys([query.strip(), *words]):
        for suggestion in get_engine().suggest_posts(text[:_SUGGEST_PREFIX], _SUGGESTIONS):
            found.setdefault(suggestion.title, suggestion)
        if len(found) >= _SUGGESTIONS:
            break
    return list(found.values())[:_SUGGESTIONS]


@bp.get("/post/<path:post_path>")
def post(post_path: str) -> str:
    """One post: metadata, its pictures, the sanitized body with ``?q=`` marked, related posts."""
    found = find_post(post_path)
    query = request.args.get("q") or ""
    title_html, body = marked(found, query)
    return render_template(
        "post.html",
        post=found,
        title_html=title_html,
        body=body,
        pictures=lead_pictures(found),
        q=query,
        related=related_posts(found),
    )


@bp.get("/opensearch.xml")
def opensearch() -> Response:
    """The OpenSearch description, so browsers can add the site as a search engine."""
    xml = render_template("opensearch.xml")
    return Response(xml, mimetype="application/opensearchdescription+xml")
