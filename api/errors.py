"""Domain errors to HTTP responses, in one place: ``{"error": code, "detail": ...}`` with a 4xx status.

The OpenAPI document says so too: every operation documents its client errors (``4XX``) with that body, and
422 with the list of ``{field, value, reason[, valid]}`` it carries (FastAPI's default 422 schema, ``{loc, msg,
type}``, is not what this API sends).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

from geo.districts import DistrictFileError
from stations.errors import (
    Conflict,
    FileUnreadable,
    Forbidden,
    ImportRejected,
    InvalidValue,
    LimitExceeded,
    NotFound,
    RateLimited,
    RevisionRequired,
    StaleRevision,
    TooLarge,
    Unauthorized,
    UnpackedTooLarge,
    YizhanError,
    jsonable,
)

STATUS: dict[type[YizhanError], int] = {
    InvalidValue: 422,
    NotFound: 404,
    FileUnreadable: 400,
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
}


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


def error_response(status: int, code: str, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _headers(exc: YizhanError) -> dict[str, str] | None:
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="yizhan"'}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``, and document their responses in its OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(YizhanError)
    async def domain_error(_request: Request, exc: YizhanError) -> JSONResponse:
        status = next((STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS), 400)  # subclasses too
        return error_response(status, exc.code, exc.detail(), _headers(exc))

    @app.exception_handler(DistrictFileError)
    async def district_error(_request: Request, exc: DistrictFileError) -> JSONResponse:
        return error_response(422, "invalid_district_file", str(exc))

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
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
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
