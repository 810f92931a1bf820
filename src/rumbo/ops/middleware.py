"""One ASGI middleware around every request: request id, security headers, metrics
and the access log line. Pure ASGI (no ``BaseHTTPMiddleware``): it adds a few
header tuples and a counter increment to the hot path, nothing more.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rumbo.ops.logs import REQUEST_ID
from rumbo.shared.metrics import HTTP_DURATION, HTTP_EXCEPTIONS, HTTP_REQUESTS

access_log = logging.getLogger("rumbo.access")

REQUEST_ID_HEADER = b"x-request-id"
# A client's id is kept when it is short and plain (no spaces, quotes or control
# characters that could forge log lines); otherwise a new one is made.
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:@/+=-]{1,128}$")

# Content Security Policy level 3 (https://www.w3.org/TR/CSP3/): only Rumbo's own
# scripts, styles, images and connections; no inline code, no framing, no <base>,
# forms post only to Rumbo.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# The interactive API docs (Swagger UI, ReDoc) load their code from Rumbo itself (the
# fastapi-offline package's copies) but start it with an inline script and inline
# styles; they get a policy of their own that allows exactly that, and nothing remote.
DOCS_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
# RFC 6797: only sent over HTTPS (a browser ignores it over HTTP anyway).
HSTS = b"max-age=63072000; includeSubDomains"

_OWN = frozenset(
    {
        b"content-security-policy",
        b"x-content-type-options",
        b"referrer-policy",
        b"permissions-policy",
        b"x-frame-options",
        b"strict-transport-security",
        REQUEST_ID_HEADER,
    }
)


def _security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"permissions-policy", PERMISSIONS_POLICY.encode()),
        (b"x-frame-options", b"DENY"),
    ]


_PAGE_HEADERS = _security_headers(CONTENT_SECURITY_POLICY)
_DOCS_HEADERS = _security_headers(DOCS_POLICY)


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v1/track/{tracking_code}``), never the raw
    path: bounded label values, and no codes or ids in logs."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    mounted = scope.get("root_path", "")  # a mounted app (/static) extends the root path
    return f"{mounted}/{{path}}" if mounted else "<unmatched>"


class OpsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        path = scope.get("path", "")
        headers = _DOCS_HEADERS if path in DOCS_PATHS else _PAGE_HEADERS
        extra: list[tuple[bytes, bytes]] = [*headers, (REQUEST_ID_HEADER, request_id.encode())]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS))

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OWN]
                message["headers"] = kept + extra
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_headers)
        except BaseException:
            failed = True
            status = 500
            raise
        finally:
            REQUEST_ID.reset(token)
            _observe(scope, status, time.perf_counter() - started, request_id, failed)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            if _SANE_ID.match(value):
                return bytes(value).decode()
            break
    # Unique without a system call per request: 64 random bits drawn once per process,
    # then a counter (ids name requests in logs; they are not secrets).
    return f"{_id_prefix}{next(_ID_COUNTER):016x}"


_id_prefix = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def _new_prefix() -> None:
    global _id_prefix
    _id_prefix = os.urandom(8).hex()


os.register_at_fork(after_in_child=_new_prefix)  # a forked worker draws its own


# Labelled children, looked up once: (method, route, status) is a small, bounded set.
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _observe(scope: Scope, status: int, elapsed: float, request_id: str, failed: bool) -> None:
    route = route_template(scope)
    method = str(scope.get("method", ""))
    series = _SERIES.get((method, route, status))
    if series is None:
        series = _SERIES[(method, route, status)] = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_DURATION.labels(method, route),
        )
    series[0].inc()
    series[1].observe(elapsed)
    if failed:
        HTTP_EXCEPTIONS.labels(route).inc()
    if access_log.isEnabledFor(logging.INFO):
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
        }
        access_log.info("%s %s %s %.1fms", method, route, status, elapsed * 1000, extra=fields)
