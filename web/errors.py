"""Errors as pages in the site's design, or as JSON under ``/api/``.

Every error ends here, so no request ever shows a traceback or Flask's
debugger: a :class:`~searchengine.errors.ParameterError` from the library
(or from parsing parameters) is a 400 with its message, HTTP errors keep
their status (404 unknown post or route, 405 wrong method), any other
library error is a 503 and anything unexpected a 500, both logged.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from searchengine.errors import ParameterError, SearchEngineError

__all__ = ["init_app", "TITLES"]

# Title and advice for each status, in the page's language.
TITLES = {
    400: ("请求参数有误", "请检查链接中的参数，或回到首页重新搜索。"),
    404: ("页面不存在", "您要找的文章或页面不在索引中，可能链接有误或文章已被移除。"),
    405: ("不支持的请求方法", "这个地址只能用浏览器正常打开（GET）。"),
    413: ("请求过大", "请求内容超出了允许的大小。"),
    414: ("链接过长", "请缩短搜索词后重试。"),
    431: ("请求头过大", "请求头超出了允许的大小。"),
    500: ("服务器出错了", "处理请求时发生了意外错误，请稍后再试。"),
    503: ("搜索暂时不可用", "索引暂时无法读取，请稍后再试。"),
}


def _wants_json() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def _respond(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    if _wants_json():
        response = jsonify({"status": status, "error": message})
    else:
        title, advice = TITLES.get(status, (f"错误 {status}", ""))
        html = render_template("error.html", status=status, title=title, advice=advice, message=message)
        response = Response(html, mimetype="text/html")
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_parameter_error(error: ParameterError) -> Response:
    return _respond(400, str(error))


def handle_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if error.response is not None:  # an abort() with a ready response
        return error.response  # type: ignore[return-value]
    message = error.description or ""
    if message == type(error).description:  # werkzeug's generic English sentence
        message = HTTP_STATUS_CODES.get(status, "error").lower() if _wants_json() else ""
    return _respond(status, message, error.get_headers())


def handle_library_error(error: SearchEngineError) -> Response:
    current_app.logger.error("library error on %s: %s", request.path, error)
    return _respond(503, "the index cannot be read right now")


def handle_unexpected(error: Exception) -> Response:
    current_app.logger.exception("unexpected error on %s", request.path)
    return _respond(500, "internal server error")


def init_app(app: Flask) -> None:
    app.register_error_handler(ParameterError, handle_parameter_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(SearchEngineError, handle_library_error)
    app.register_error_handler(Exception, handle_unexpected)
