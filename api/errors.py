"""Domain errors to HTTP responses, in one place: ``{"error": code, "detail": ...}`` with a 4xx status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from geo.districts import DistrictFileError
from stations.errors import (
    Conflict,
    FileUnreadable,
    Forbidden,
    ImportRejected,
    InvalidValue,
    NotFound,
    RateLimited,
    RevisionRequired,
    StaleRevision,
    TooLarge,
    Unauthorized,
    YizhanError,
    jsonable,
)

STATUS: dict[type[YizhanError], int] = {
    InvalidValue: 422,
    NotFound: 404,
    FileUnreadable: 400,
    ImportRejected: 422,
    Unauthorized: 401,
    Forbidden: 403,
    Conflict: 409,
    StaleRevision: 412,
    TooLarge: 413,
    RevisionRequired: 428,
    RateLimited: 429,
}


def error_response(status: int, code: str, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _headers(exc: YizhanError) -> dict[str, str] | None:
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="yizhan"'}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(YizhanError)
    async def domain_error(_request: Request, exc: YizhanError) -> JSONResponse:
        return error_response(STATUS.get(type(exc), 400), exc.code, exc.detail(), _headers(exc))

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
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, exc.detail)
