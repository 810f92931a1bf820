"""``create_app()``: settings, database, writer, routers, error handling."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Receive, Scope, Send

from rumbo import __version__, worker
from rumbo.analytics import endpoints as analytics_endpoints
from rumbo.assistant.service import warm_up as warm_up_assistant
from rumbo.carriers import endpoints as carrier_endpoints
from rumbo.config import Settings, get_settings
from rumbo.console import pages as console_pages
from rumbo.console import routes as console_routes
from rumbo.db import Database
from rumbo.devices import endpoints as device_endpoints
from rumbo.devices.writer import PositionWriter
from rumbo.errors import RumboError, document_errors, error_body, install_error_handlers
from rumbo.eta import endpoints as eta_endpoints
from rumbo.eta.store import EtaService
from rumbo.events import endpoints as events_endpoints
from rumbo.events.schemas import EventIn
from rumbo.events.writer import IngestWriter
from rumbo.kit.clock import Clock, SystemClock
from rumbo.kit.counters import delay_for, window_for
from rumbo.kit.ratelimit import SlidingWindow, StreamSlots
from rumbo.merchants import endpoints as merchant_endpoints
from rumbo.merchants.service import KeyCache
from rumbo.notifications import channel_endpoints
from rumbo.notifications import endpoints as notification_endpoints
from rumbo.ops import endpoints as ops_endpoints
from rumbo.ops.middleware import OpsMiddleware
from rumbo.orders import endpoints as order_endpoints
from rumbo.orders.schemas import OrderCreate
from rumbo.orders.writer import OrderWriter
from rumbo.public import endpoints as public_endpoints
from rumbo.public.service import PublicViews, TrackTokens
from rumbo.reactions import subscribe_all
from rumbo.routes import endpoints as route_endpoints
from rumbo.shared.live import LiveHub
from rumbo.shared.metrics import process_stopped
from rumbo.support import ask_endpoints
from rumbo.support import endpoints as support_endpoints
from rumbo.web import chat as web_chat
from rumbo.web import pages as web_pages

DESCRIPTION = """
Rumbo follows an order from payment to the door.

* **Store API** (`Authorization: Bearer <api key>`): create orders and shipments,
  push events from any system, read timelines.
* **Public tracking** (no key): what a shopper may see, and the privacy gate that
  unlocks name, address and items.

Errors always look like `{"error": {"code": "...", "message": "...", "details": ...}}`.
"""


DOCS_ASSETS = "/docs-assets"


class HeadAsGet:
    """Answer ``HEAD`` as the same ``GET`` would, headers and all, without the body.

    RFC 9110 §9.3.2: the server "SHOULD send the same header fields in response to a
    HEAD request as it would have sent if the request method had been GET". FastAPI's
    routes only answer the methods they declare, so link checkers and monitors got 405.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Any) -> None:
            nonlocal finished
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body" and not finished:
                # The first body part ends the response; a stream's later parts go nowhere,
                # and the server then tells the stream the client has gone.
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes with a 413, before reading them whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _send_413(send, self.limit)
            return
        seen = 0
        exceeded = started = False

        async def limited_receive() -> Any:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if exceeded:
                # The app caught the cut-off and answers with an error of its own (form
                # and JSON parsing turn it into a 400): the client is told 413 instead.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _send_413(send, self.limit)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            if not started:
                await _send_413(send, self.limit)


class _TooLarge(Exception):
    pass


async def _send_413(send: Send, limit: int) -> None:
    import orjson

    body = orjson.dumps(
        error_body(
            "payload_too_large",
            f"The request body is larger than {limit} bytes.",
            {"max_bytes": limit},
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_startup_heap_frozen = False


def _freeze_startup_heap() -> None:
    """Once per process, move what startup built (~200k objects: routes, models,
    SQLAlchemy and Pydantic internals) out of the cyclic collector's reach. It lives
    as long as the process, and every full collection that scans it stalls all
    requests for a few hundred milliseconds
    (https://docs.python.org/3/library/gc.html#gc.freeze)."""
    global _startup_heap_frozen
    if not _startup_heap_frozen:
        _startup_heap_frozen = True
        gc.freeze()


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = Database(settings)
    # Ingestion's reactions: outbox rows and live pages, in its transaction.
    subscribe_all(settings.notification_merge_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The group-commit writers: events, then positions and orders.
        writers = (app.state.writer, app.state.position_writer, app.state.order_writer)
        for writer in writers:
            writer.start()
        _freeze_startup_heap()
        if settings.env != "test":  # tests train it only where they ask questions
            warm_up_assistant()
        try:
            # The background services (SQLite: in this process), then the live-update
            # listener that tracking pages and cached public views wait on.
            async with worker.in_process(settings):
                hub = LiveHub(db)
                app.state.live = hub
                hub.watch(app.state.public_views)
                hub.start()
                try:
                    yield
                finally:
                    hub.stop()
        finally:
            for writer in reversed(writers):
                writer.stop()
            db.dispose()
            process_stopped()

    metadata: dict[str, Any] = {
        "title": "Rumbo",
        "version": __version__,
        "description": DESCRIPTION,
        "lifespan": lifespan,
    }
    if settings.serve_api_docs:
        # Swagger UI and ReDoc from the fastapi-offline package's copies, not a CDN: a
        # self-hosted box may have no way out, and the docs must still render there.
        app: FastAPI = FastAPIOffline(static_url=DOCS_ASSETS, **metadata)
    else:
        # In production the schema is a map for attackers unless the operator opts in.
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **metadata)
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock = clock or SystemClock()
    app.state.key_cache = KeyCache()
    app.state.writer = IngestWriter(
        db, clock, max_skew=settings.max_clock_skew, threads=settings.writers
    )
    app.state.position_writer = PositionWriter(
        db, clock, arriving_soon_meters=settings.arriving_soon_meters
    )
    app.state.order_writer = OrderWriter(
        db,
        clock,
        base_url=settings.base_url,
        max_skew=settings.max_clock_skew,
        max_orders=settings.max_batch_size,
        threads=settings.writers,
    )
    app.state.track_tokens = TrackTokens(settings.secret_key, settings.track_token_ttl_seconds)
    app.state.public_views = PublicViews()
    app.state.eta = EtaService(db, settings.models_dir)
    # Limits that stop guessing are shared by every process on PostgreSQL and survive
    # restarts there (rumbo.kit.counters); throughput guards stay in memory.
    shared = db.engine
    # Postal-code answers: per (code, client), so one client's failures lock out only
    # itself; per client across codes; and per code from everywhere, a growing delay.
    app.state.verify_limit_code = window_for(shared, 10, 15 * 60, "verify_per_code_client")
    app.state.verify_limit_client = window_for(shared, 30, 15 * 60, "verify_per_client")
    app.state.verify_delay_code = delay_for(
        shared, free=20, base=1.0, cap=60.0, forget=86_400, name="verify_per_code"
    )
    # Questions cost a classification each; a shopper never needs more than this.
    app.state.question_limit = SlidingWindow(
        settings.limit_questions_per_client, 60, name="questions_per_client"
    )
    # Per code from every client: each handover reaches a person, so one order's chat
    # cannot become a channel for flooding the store's team.
    app.state.question_limit_code = window_for(
        shared, settings.limit_questions_per_code, 3600, "questions_per_code"
    )
    # In memory even on PostgreSQL: /osmand is the hottest path, and a shared counter
    # would cost it two round trips per fix. Per process, so --workers N allows N times.
    app.state.unknown_device_limit = SlidingWindow(
        settings.limit_unknown_devices_per_client, 3600, name="unknown_devices_per_client"
    )
    app.state.stream_slots = StreamSlots(
        settings.limit_streams_per_client, settings.limit_streams_per_process
    )
    app.state.lookup_limit = window_for(
        shared if settings.limit_lookups_shared else None,
        settings.limit_lookups_per_client,
        60,
        "lookups_per_client",
    )
    app.state.key_limit = SlidingWindow(
        settings.limit_requests_per_key, 60, name="requests_per_key"
    )
    app.state.device_limit = SlidingWindow(
        settings.limit_positions_per_device, 60, name="positions_per_device"
    )

    install_error_handlers(app)
    # Staff in a browser get a console page in their language instead of the JSON.
    app.add_exception_handler(RumboError, console_pages.error_page)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(OpsMiddleware)  # request ids, security headers, metrics, access log
    for module in (
        device_endpoints,  # first: routes are tried in order, and /osmand is the hottest path
        order_endpoints,
        events_endpoints,
        public_endpoints,
        merchant_endpoints,
        ask_endpoints,  # the assistant's questions (assistant + support's handover)
        eta_endpoints,
        analytics_endpoints,
        carrier_endpoints,
        route_endpoints,  # depots, day plans, re-planning
        notification_endpoints,  # rules, preferences, webhooks
        channel_endpoints,  # WhatsApp sender + Meta webhooks, Web Push subscriptions
        support_endpoints,  # inquiries API, support analytics
        web_pages,  # tracking pages, /static
        web_chat,  # the tracking page's chat box
        console_pages,  # /console: staff sign-in, search, orders, inquiries
        console_routes,  # /console/routes: couriers' days on a map, lock, move, re-plan
        ops_endpoints,  # /readyz, /metrics
    ):
        app.include_router(module.router)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        # On the event loop: liveness needs no worker thread, so it still answers when
        # every thread is busy (and benchmarks measure the HTTP stack, not a thread hop).
        return {"status": "ok"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            # The events and orders bodies are parsed by hand (one item or a list, with
            # per-item outcomes); publish their models.
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (EventIn, OrderCreate):
                extra = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(extra.pop("$defs", {}))
                components[model.__name__] = extra
            document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
