"""Errors the API raises itself and how every error becomes a JSON answer.

Mapping: :class:`~stockyard.errors.ValidationError` 422, ``NotFoundError`` 404, ``ConflictError`` 409, request
validation 422 (naming the field), :class:`~serving.auth.AuthError` 401/403, :class:`RateLimitedError` 429 with
``Retry-After``, :class:`ServiceUnavailableError` and :class:`~serving.models.ModelUnavailableError` 503 with the
reason, a lost database connection 503. Anything else is a bug: the request middleware logs it with the request id
and answers a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.auth import AuthError
from serving.logging import get_request_id
from serving.models import ModelUnavailableError
from stockyard.errors import ConflictError, NotFoundError, StockyardError, ValidationError

__all__ = ["RateLimitedError", "ServiceUnavailableError", "error_response", "install_error_handlers"]

log = logging.getLogger(__name__)


class ServiceUnavailableError(Exception):
    """A dependency (database, plan file, feature store) cannot serve this request right now."""

    def __init__(self, message: str, *, code: str = "unavailable") -> None:
        """Create the error.

        Args:
            message: Reason shown to the client.
            code: Machine-readable kind.
        """
        super().__init__(message)
        self.message = message
        self.code = code


class RateLimitedError(Exception):
    """The key exceeded its rate limit."""

    def __init__(self, retry_after: str) -> None:
        """Create the error.

        Args:
            retry_after: Value of the ``Retry-After`` header (seconds).
        """
        super().__init__("rate limit exceeded")
        self.retry_after = retry_after


def error_response(
    status: int,
    detail: str,
    code: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON error answer in the :class:`serving.schemas.ErrorOut` shape.

    Args:
        status: HTTP status.
        detail: Message.
        code: Machine-readable kind.
        field: Offending field.
        errors: All validation problems.
        headers: Extra headers.

    Returns:
        The response.
    """
    body: dict[str, Any] = {"detail": detail, "code": code, "request_id": get_request_id()}
    if field is not None:
        body["field"] = field
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "lines", 0, "quantity") -> "lines.0.quantity"; keep "query"/"path"/"header" prefixes off too.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _status_of(exc: StockyardError) -> tuple[int, str]:
    if isinstance(exc, NotFoundError):
        return 404, "not_found"
    if isinstance(exc, ConflictError):
        return 409, "conflict"
    if isinstance(exc, ValidationError):
        return 422, "validation_error"
    return 400, "bad_request"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of every expected error on ``app``.

    Args:
        app: The application.
    """

    @app.exception_handler(StockyardError)
    async def _stockyard(_: Request, exc: StockyardError) -> JSONResponse:
        status, code = _status_of(exc)
        return error_response(status, exc.message, code, field=exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _loc(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return error_response(
            422,
            f"{first['field']}: {first['message']}",
            "validation_error",
            field=first["field"],
            errors=errors,
        )

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        code = "unauthorized" if exc.status_code == 401 else "forbidden"
        return error_response(exc.status_code, exc.message, code, headers=headers)

    @app.exception_handler(RateLimitedError)
    async def _rate(_: Request, exc: RateLimitedError) -> JSONResponse:
        return error_response(
            429, f"rate limit exceeded; retry after {exc.retry_after}s", "rate_limited",
            headers={"Retry-After": exc.retry_after},
        )  # fmt: skip

    @app.exception_handler(ModelUnavailableError)
    async def _model(_: Request, exc: ModelUnavailableError) -> JSONResponse:
        return error_response(503, str(exc), "model_unavailable", headers={"Retry-After": "30"})

    @app.exception_handler(ServiceUnavailableError)
    async def _unavailable(_: Request, exc: ServiceUnavailableError) -> JSONResponse:
        return error_response(503, exc.message, exc.code, headers={"Retry-After": "30"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        return error_response(
            exc.status_code, str(exc.detail), codes.get(exc.status_code, "http_error"), headers=exc.headers
        )

    @app.exception_handler(DBAPIError)
    async def _db(_: Request, exc: DBAPIError) -> JSONResponse:
        # Integrity/data errors mean a request slipped past validation (e.g. a concurrent duplicate); a lost
        # connection is an outage. Neither is answered with 500.
        if isinstance(exc, IntegrityError):
            log.warning("integrity error answered with 409: %s", exc.orig)
            return error_response(409, "the request conflicts with the current state", "conflict")
        if isinstance(exc, DataError):
            log.warning("data error answered with 422: %s", exc.orig)
            return error_response(
                422, f"value rejected by the database: {exc.orig}".strip(), "validation_error"
            )
        if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
            log.error("database unavailable: %s", exc.orig)
            return error_response(
                503, "database unavailable", "database_unavailable", headers={"Retry-After": "5"}
            )
        raise exc
