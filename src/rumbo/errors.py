"""One error type, rendered by one handler as ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class RumboError(Exception):
    """An error a client caused or must know about; carries its HTTP status."""

    def __init__(
        self,
        message: str,
        status_code: int = 400,
        code: str = "bad_request",
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.details = details
        self.headers = headers


class NotFound(RumboError):
    def __init__(self, message: str, code: str = "not_found", details: Any = None) -> None:
        super().__init__(message, 404, code, details)


class Conflict(RumboError):
    def __init__(self, message: str, code: str = "conflict", details: Any = None) -> None:
        super().__init__(message, 409, code, details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details), status_code=status_code, headers=headers
    )


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors, trimmed to what a client can act on (no echo of huge inputs)."""
    details = []
    for err in errors:
        details.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return details


_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RumboError)
    async def _rumbo_error(_: Request, exc: RumboError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return error_response(400, "invalid_json", "The request body is not valid JSON.")
        return error_response(
            422, "validation_error", "The request is not valid.", validation_details(errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL stores and compares no NUL in text; the driver refuses to send one.
        # Input models refuse it in bodies (StrictModel); a search term, a path segment or
        # a form field that reaches the database with one can match nothing stored.
        if "NUL" in str(exc.orig):
            return error_response(
                400,
                "nul_character",
                "Text here may not hold the NUL character (U+0000).",
            )
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "Something went wrong on our side.")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable.", examples=["validation_error"])
    message: str = Field(examples=["The request is not valid."])
    details: Any = Field(None, description="What a client can act on, when there is more.")


class ErrorOut(BaseModel):
    """The body of every 4xx and 5xx response."""

    error: ErrorDetail


# Answers an operation may give whatever its handler does: the key check (MerchantDep),
# lookups by path (a path names something stored), cursors (kit/pagination), the JSON
# body parser and BodySizeLimit.
_KEY_REQUIRED = {"description": "No API key, or one that is not valid."}
_NOT_FOUND = {"description": "Nothing by this name or id (for this merchant)."}
_BAD_CURSOR = "A cursor that no `next_cursor` gave."
_INVALID_JSON = "The request body is not valid JSON, or text in a form holds NUL (`%00`)."
_NUL_IN_ADDRESS = (
    "Text in the path or the query holds NUL (`%00`), which PostgreSQL cannot compare."
)
_TOO_LARGE = {"description": "The request body is larger than RUMBO_MAX_BODY_BYTES."}


def document_errors(schema: dict[str, Any]) -> None:
    """Give every operation the error answers it can give, each with the one error body."""
    model = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(model.pop("$defs", {}))
    components["ErrorOut"] = model
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            if any("HTTPBearer" in scheme for scheme in operation.get("security", [])):
                responses.setdefault("401", dict(_KEY_REQUIRED))
            parameters = operation.get("parameters", [])
            if any(p.get("in") == "path" for p in parameters):
                responses.setdefault("404", dict(_NOT_FOUND))
            bad_requests = []
            if any(p.get("in") == "query" and p.get("name") == "cursor" for p in parameters):
                bad_requests.append(_BAD_CURSOR)
            if "requestBody" in operation:
                bad_requests.append(_INVALID_JSON)
                responses.setdefault("413", dict(_TOO_LARGE))
            if any(p.get("in") in ("path", "query") for p in parameters):
                bad_requests.append(_NUL_IN_ADDRESS)
            if bad_requests:
                responses.setdefault("400", {"description": " ".join(bad_requests)})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
                    }
