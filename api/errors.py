r"""Errors to HTTP responses, in one place: ``{"error": code, "detail": ...}`` with a 4xx status, 503 for a
read-only database, and a JSON 500 (no traceback; the request id to quote) for anything unexpected. The errors
``geo`` raises about its input (``geo.errors.GeoError``) are answered as the domain errors
``stations.errors.domain_error`` maps them to, the same mapping the CLI prints.

The OpenAPI document says so too: every operation documents its client errors (``4XX``) with that body, and
422 with the list of ``{field, value, reason[, valid]}`` it carries (FastAPI's default 422 schema, ``{loc, msg,
type}``, is not what this API sends).

Error bodies are always UTF-8: text that cannot be (a lone UTF-16 surrogate such as ``"\ud800"`` echoed
from a request) is sent as U+FFFD. JSON request bodies holding such surrogates never reach a route
(``JsonBodies``): they get 422, so no station, report or token name is half Unicode. A path that ends or lacks a
``/`` where a route has the other form gets 307 to it, with a relative ``Location`` (never built from
``Host``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import header, send_error
from api.security import url_path
from geo.errors import GeoError
from stations.errors import (
    Conflict,
    FileUnreadable,
    Forbidden,
    ImportRejected,
    InvalidDistrictFile,
    InvalidValue,
    LimitExceeded,
    NotFound,
    RateLimited,
    ReadOnly,
    RevisionRequired,
    StaleRevision,
    TooLarge,
    Unauthorized,
    UnpackedTooLarge,
    YizhanError,
    domain_error,
    jsonable,
    read_only_error,
)

STATUS: dict[type[YizhanError], int] = {
    InvalidValue: 422,
    NotFound: 404,
    FileUnreadable: 400,
    InvalidDistrictFile: 422,
    ImportRejected: 422,
    LimitExceeded: 422,
    UnpackedTooLarge: 413,
    Unauthorized: 401,
    Forbidden: 403,
    Conflict: 409,
    StaleRevision: 412,
    TooLarge: 413,
    RevisionRequired: 428,
    RateLimited: 429,
    ReadOnly: 503,
}
INTERNAL_ERROR = (
    "something went wrong on the server and nothing was reported back; quote the request id to the operator "
    "(服务器内部错误，请把 request_id 告诉管理员)"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_JSON_TYPE = re.compile(rb"^application/(?:[\w.+-]*\+)?json\s*(?:;|$)", re.IGNORECASE)


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
METHODS_TRIED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "title": "Error",
        "description": "Every error: a machine-readable code and a detail that names what was wrong.",
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "examples": ["not_found", "unauthorized", "unreadable_file"]},
            "detail": {"description": "a message, a list of fields, or an object with a message and more"},
        },
    },
    "FieldProblem": {
        "title": "FieldProblem",
        "type": "object",
        "required": ["field", "value", "reason"],
        "properties": {
            "field": {"type": "string", "examples": ["lon"]},
            "value": {"description": "the value received (text when JSON cannot carry it)"},
            "reason": {"type": "string", "examples": ["Input should be less than or equal to 180"]},
            "valid": {"type": "array", "items": {"type": "string"}, "description": "the valid values, if a fixed set"},
        },
    },
    "InvalidValueError": {
        "title": "InvalidValueError",
        "description": "Invalid input: every bad field (or, for an import, every bad row); nothing was changed.",
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "examples": ["invalid_value", "import_rejected"]},
            "detail": {
                "anyOf": [
                    {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}},
                    {"type": "object", "description": "an import's report: a message and every bad row"},
                ]
            },
        },
    },
}


def _json_body(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def document_errors(openapi: dict[str, Any]) -> dict[str, Any]:
    """``openapi`` (changed in place and returned) with the error bodies this module sends: ``4XX`` on every
    operation, 422 as ``InvalidValueError`` where FastAPI put its own validation schema, and the ``Error`` body
    on documented 4xx responses that name none."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(ERROR_SCHEMAS)
    fastapi_422 = {"$ref": "#/components/schemas/HTTPValidationError"}
    for path_item in openapi.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            invalid = responses.get("422")
            if (
                invalid is not None
                and invalid.get("content", {}).get("application/json", {}).get("schema") == fastapi_422
            ):
                responses["422"] = {"description": "Invalid input", "content": _json_body("InvalidValueError")}
            for status, response in responses.items():
                if status.startswith("4") and "content" not in response:
                    response["content"] = _json_body("Error")
            responses.setdefault("4XX", {"description": "Client error", "content": _json_body("Error")})
    if "HTTPValidationError" not in str(openapi.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return openapi


class ErrorResponse(JSONResponse):
    """A JSON error body that is always UTF-8: lone surrogates anywhere in it become U+FFFD."""

    def render(self, content: Any) -> bytes:
        """``content`` as compact UTF-8 JSON (no NaN or infinity), lone surrogates replaced."""
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return unicode_text(text).encode("utf-8")


def unicode_text(text: str) -> str:
    r"""``text`` with each lone UTF-16 surrogate (which UTF-8 cannot carry) replaced by U+FFFD.

    >>> unicode_text("a\ud800b") == "a\ufffdb", unicode_text("驿站")
    (True, '驿站')
    """
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def error_response(status: int, code: str, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    """The API's error answer: ``{"error": code, "detail": detail}`` with ``status``."""
    return ErrorResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def status_of(exc: YizhanError) -> int:
    """The HTTP status of a domain error (of its nearest class in ``STATUS``; 400 if none)."""
    return next((STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS), 400)


def _headers(exc: YizhanError) -> dict[str, str] | None:
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="yizhan"'}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


async def send_domain_error(send: Send, exc: YizhanError) -> None:
    """Answer with ``exc`` from ASGI middleware, as the exception handlers would (same status, body, headers)."""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (_headers(exc) or {}).items()]
    detail = json.loads(unicode_text(json.dumps(exc.detail(), ensure_ascii=False)))
    await send_error(send, status_of(exc), exc.code, detail, headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``, and document their responses in its OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(YizhanError)
    async def yizhan_error(_request: Request, exc: YizhanError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, exc.detail(), _headers(exc))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        read_only = read_only_error(exc)
        if read_only is None:
            raise exc  # a 500 (ServerErrors), logged with its traceback by the server
        return await yizhan_error(request, read_only)

    @app.exception_handler(GeoError)
    async def geo_error(request: Request, exc: GeoError) -> JSONResponse:
        mapped = domain_error(exc)  # the one mapping of geo's errors (stations.errors), as the CLI's
        if mapped is None:  # pragma: no cover - every GeoError has its domain error
            raise exc
        return await yizhan_error(request, mapped)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p not in ("query", "path", "body")),
                "value": jsonable(e.get("input")),
                "reason": e["msg"],
            }
            for e in exc.errors()
        ]
        return error_response(422, "invalid_value", detail)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and (location := slash_redirect(app, request.scope)) is not None:
            return Response(status_code=307, headers={"Location": location})
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        return error_response(exc.status_code, code, exc.detail, headers)


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods of the resource at the request's path, for the ``Allow`` of a 405 (RFC 9110 wants all of
    them; Starlette names only those of the first route with that path).

    A documented path answers with its documented methods, the most literal template winning as in routing
    (``/stations/nearby`` is GET only, although PATCH there would reach ``/stations/{station_id}``); any other
    path, with the methods some route of ``app`` takes there, asked of each route through ``matches``.
    """
    path = scope["path"]
    templates = [template for template in app.openapi().get("paths", {}) if _template(template).fullmatch(path)]
    if templates:
        item = app.openapi()["paths"][max(templates, key=lambda t: len(re.sub(r"\{[^}]*\}", "", t)))]
        return [method.upper() for method in item if method in HTTP_METHODS]
    return [
        method
        for method in METHODS_TRIED
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)
    ]


def _template(template: str) -> re.Pattern[str]:
    """A path template (``/stations/{station_id}``) as a pattern of the paths it matches."""
    return re.compile(re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template)))


def slash_redirect(app: FastAPI, scope: Scope) -> str | None:
    """Where a request that no route takes should go instead: its path with the trailing ``/`` removed (or
    added) when some route takes that, as a relative URL (path and query, percent-encoded); else None.

    Starlette's own ``redirect_slashes`` answers with an absolute URL built from the ``Host`` header, so a
    request with ``Host: evil.example`` was sent to ``http://evil.example/...``; this one never names a host.
    """
    path = scope["path"]
    other = path[:-1] if path.endswith("/") else f"{path}/"
    if not other.startswith("/") or other.startswith("//"):  # "//host" would be a network-path reference
        return None
    routes = app.router.routes
    if any(route.matches(scope)[0] != Match.NONE for route in routes):
        return None  # a route took the request and answered 404 itself
    if not any(route.matches({**scope, "path": other})[0] != Match.NONE for route in routes):
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    return url_path(other) + (f"?{quote(query, safe='=&+%/?:@!$()*,;~')}" if query else "")


class ServerErrors:
    """ASGI middleware: an exception nothing handled becomes a JSON 500 (``internal_error``, the request id, no
    traceback) that passes through the middleware outside this one — the access log's ``X-Request-ID``, the
    security headers — and is raised again for the server to log. Starlette's own last-resort 500 is sent
    from outside every middleware, without either."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, sending a JSON 500 if the app raises before its answer has started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if not started:
                request_id = scope.get("state", {}).get("request_id")
                await send_error(send, 500, "internal_error", {"message": INTERNAL_ERROR, "request_id": request_id})
            raise


class JsonBodies:
    r"""ASGI middleware: a JSON request body (``application/json`` or ``*+json``) that is not UTF-8, or whose
    text holds a lone UTF-16 surrogate (``"\ud800"``: JSON allows the escape, Unicode has no such
    character, and no database or UTF-8 answer can keep it), gets 422 before any route sees it.

    Bodies are looked at as they are, once the body limit has passed them; only one with a surrogate escape is
    decoded here (a pair, such as an emoji written as two escapes, is one character and passes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 422 to a JSON body that is not UTF-8 or holds a lone surrogate; pass the rest through."""
        bodiless = scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS")
        content_type = None if bodiless else header(scope, b"content-type")
        if content_type is None or _JSON_TYPE.match(content_type.encode("latin-1")) is None:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if messages[-1]["type"] == "http.request":
            problem = body_problem(b"".join(chunks))
            if problem is not None:
                await send_error(send, 422, "invalid_value", [problem])
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def body_problem(body: bytes) -> dict[str, Any] | None:
    r"""What makes a JSON body unusable as text (``{field, value, reason}``, value with U+FFFD for each lone
    surrogate), or None; JSON syntax is left to the route's parser.

    >>> body_problem(b'{"name": "a\\ud800"}')["field"], body_problem(b'{"name": "\\ud83d\\ude00"}')
    ('body.name', None)
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"the body is not UTF-8 (byte {error.start}); JSON is sent as UTF-8 (RFC 8259)"
        return {"field": "body", "value": None, "reason": reason}
    if _SURROGATE_ESCAPE.search(body) is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None  # malformed JSON: the route's parser names the problem
    found = _lone_surrogate(data, ("body",))
    if found is None:
        return None
    field, value = found
    reason = (
        "holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is no character: send the character itself, "
        "or both halves of a surrogate pair"
    )
    return {"field": field, "value": unicode_text(value), "reason": reason}


def _lone_surrogate(value: object, path: tuple[str, ...]) -> tuple[str, str] | None:
    """The field path and text of the first string (key or value) in decoded JSON holding a surrogate."""
    if isinstance(value, str):
        return (".".join(path), value) if _SURROGATE.search(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and _SURROGATE.search(key):
            return ".".join(path), key
        found = _lone_surrogate(item, (*path, str(key)))
        if found is not None:
            return found
    return None
