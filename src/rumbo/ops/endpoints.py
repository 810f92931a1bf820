"""``/readyz`` and ``/metrics``: what an orchestrator and Prometheus ask."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from rumbo.config import SettingsDep
from rumbo.db import DatabaseDep
from rumbo.errors import RumboError
from rumbo.kit.clock import ClockDep
from rumbo.ops.health import readiness
from rumbo.shared.metrics import OutboxCollector, exposition

router = APIRouter(tags=["operations"])

_READY_EXAMPLE = {
    "status": "ready",
    "checks": {"database": {"ok": True, "detail": "reachable", "ms": 0.4}},
}
_NOT_READY_EXAMPLE = {
    "status": "not_ready",
    "failed": ["mqtt"],
    "checks": {
        "database": {"ok": True, "detail": "reachable", "ms": 0.4},
        "mqtt": {"ok": False, "detail": "127.0.0.1:1883: ConnectionRefusedError", "ms": 1.2},
    },
}


@router.get(
    "/readyz",
    summary="Ready to serve: the database (and the MQTT broker, when subscribed) answer",
    responses={
        200: {"content": {"application/json": {"example": _READY_EXAMPLE}}},
        503: {
            "description": "A dependency is down; `failed` names it.",
            "content": {"application/json": {"example": _NOT_READY_EXAMPLE}},
        },
    },
)
async def readyz(settings: SettingsDep, db: DatabaseDep) -> JSONResponse:
    checks = await run_in_threadpool(readiness, settings, db)
    failed = [c.name for c in checks if not c.ok]
    body: dict[str, Any] = {"status": "not_ready" if failed else "ready"}
    if failed:
        body["failed"] = failed
    body["checks"] = {
        c.name: {"ok": c.ok, "detail": c.detail, "ms": round(c.seconds * 1000, 1)} for c in checks
    }
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": 'rumbo_events_total{outcome="accepted"} 1042.0\n'
                    'rumbo_outbox_messages{status="queued"} 3.0\n'
                }
            }
        },
        401: {"description": "RUMBO_METRICS_TOKEN is set and the bearer token is not it."},
    },
)
async def metrics(
    request: Request, settings: SettingsDep, clock: ClockDep, db: DatabaseDep
) -> Response:
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {settings.metrics_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise RumboError("A valid metrics token is required.", 401, "unauthorized")
    body, content_type = await run_in_threadpool(exposition, OutboxCollector(db, clock.now))
    return Response(body, media_type=content_type)
