"""The shopper's tracking pages: server-rendered HTML over the public API's data.

``GET /`` asks for a code, ``GET /t/{code}`` shows the order (the same
``PublicTracking`` the public API sends, through the same cache), ``POST
/t/{code}/verify`` is the privacy gate, ``GET /t/{code}/fragment`` is the live part
of the page for the small script that follows ``GET /t/{code}/events`` (SSE).
Everything works without JavaScript.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from rumbo.config import Settings, settings_of
from rumbo.db import database_of
from rumbo.errors import NotFound
from rumbo.kit.clock import clock_of
from rumbo.kit.codes import (
    ALPHABET,
    LENGTH,
    CodeError,
    format_code,
    normalize,
    parse_tracking_code,
)
from rumbo.kit.ratelimit import StreamSlots, client_address, refuse_if_limited
from rumbo.kit.timezones import zone_for
from rumbo.models import Merchant, Order, ShopperPreference, WhatsAppAccount
from rumbo.public import service
from rumbo.public.deps import public_views, track_tokens
from rumbo.public.limits import answer_limits, count_lookup, count_lookup_on_loop
from rumbo.public.schemas import PublicTracking
from rumbo.shared.i18n import LANGUAGE_NAMES, LANGUAGES, N_, choose_language, translations
from rumbo.shared.live import LiveHub
from rumbo.web import content

WEB_DIR = Path(__file__).parent
HEARTBEAT_SECONDS = 15.0
_FORM_SALT = "rumbo.verify-form.v1"
_FORM_TTL = 2 * 3600


class _Static(StaticFiles):
    """Rumbo's own assets (no CDN), with the same no-sniff rule as the pages."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
        return response


router = APIRouter(include_in_schema=False)
router.mount("/static", _Static(directory=WEB_DIR / "static"), name="static")


# -- rendering ----------------------------------------------------------------------


@lru_cache(maxsize=len(LANGUAGES))
def _environment(language: str) -> Environment:
    """One Jinja environment per language, its catalogue installed (thread-safe)."""
    env = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language, "messages"), newstyle=True)  # type: ignore[attr-defined]
    return env


def _render(
    request: Request,
    template: str,
    language: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    accent = context.get("store_accent")
    env = _environment(language)
    html = env.get_template(template).render(
        language=language,
        html_lang=language,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        palette=content.palette(accent if isinstance(accent, str) else None),
        lang_url=lambda code: _with_query(
            str(context.get("page_path", request.url.path)),
            **context.get("page_params", {}),
            lang=code,
        ),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    # Security headers (CSP and the rest) come from rumbo.ops.middleware, for every page.
    headers = response.headers
    headers["Cache-Control"] = "private, no-store"
    headers["Content-Language"] = language
    headers["Vary"] = "Accept-Language, Cookie"
    return response


def _with_query(path: str, **params: str | None) -> str:
    query = {key: value for key, value in params.items() if value}
    return f"{path}?{urlencode(query)}" if query else path


def code_problem(typed: str, error: CodeError) -> tuple[str, dict[str, Any]]:
    """The (translatable) message of a typed code's mistake, with its values.

    The English text is the one ``rumbo.kit.codes`` raises."""
    code = normalize(typed)
    if error.reason == "wrong_length":
        return N_("A tracking code has %(expected)s characters; this one has %(got)s."), {
            "expected": LENGTH,
            "got": len(code),
        }
    if error.reason == "bad_characters":
        bad = "".join(sorted({ch for ch in code if ch not in ALPHABET}))
        return N_("A tracking code cannot contain %(characters)s."), {"characters": repr(bad)}
    return N_("This tracking code has a typo: its last character does not match the others."), {}


# -- data ---------------------------------------------------------------------------


def _cookie_name(code: str) -> str:
    return f"rumbo_t_{code}"


def _load(request: Request, code: str, token: str | None) -> tuple[PublicTracking, int, int]:
    """The public view (verified if ``token`` is valid), the order id and its version."""
    count_lookup(request)
    db = database_of(request)
    views = public_views(request)
    tokens = track_tokens(request)
    if token is None and (hit := views.cached_entry(code)) is not None:
        return PublicTracking.model_validate_json(hit.body), hit.order_id, hit.version
    with db.reader() as conn:
        # The version is read first: a change in between only costs one extra refresh.
        row = conn.execute(
            select(Order.id, Order.version).where(Order.tracking_code == code)
        ).first()
        if row is None:
            raise NotFound("No order has this tracking code.", "tracking_code_unknown")
        body = views.render(conn, code, tokens, token)
    return PublicTracking.model_validate_json(body), row.id, row.version


def _tracking_context(tracking: PublicTracking, version: int, language: str) -> dict[str, Any]:
    zone = zone_for(tracking.destination.country, tracking.destination.state)
    fmt = content.Formatter(language, zone)
    code = tracking.tracking_code
    return {
        "t": tracking,
        "code": code,
        "code_display": format_code(code),
        "version": version,
        "fmt": fmt,
        "steps": content.progress_steps(tracking),
        "labels": content.STATUS_LABEL,
        "sentences": content.STATUS_SENTENCE,
        "explanations": content.EXPLANATION,
        "explanation": content.EXPLANATION.get(tracking.status),
        "prediction": content.predicted_delivery(tracking, zone),
        "timeline": list(reversed(tracking.timeline)),
        "carrier_name": content.carrier_name,
        "place_text": content.place_text,
        "description_of": content.description_of,
        "shipment_steps": content.shipment_steps,
        "store_accent": tracking.store.accent_color,
        # Only Rumbo's own origin may be loaded (CSP img-src 'self'): no third party
        # learns who opens a tracking page. A logo hosted elsewhere is not shown.
        "store_logo": _own_path(tracking.store.logo_url),
        "fragment_url": _with_query(f"/t/{code}/fragment", lang=language),
        "events_url": _with_query(f"/t/{code}/events", v=str(version)),
        "verify_url": f"/t/{code}/verify",
        "page_path": f"/t/{code}",
    }


def _own_path(url: str | None) -> str | None:
    if url and url.startswith("/") and not url.startswith("//"):
        return url
    return None


def _form_token(settings: Settings, code: str) -> str:
    return URLSafeTimedSerializer(settings.secret_key, salt=_FORM_SALT).dumps(code)


def _form_token_ok(settings: Settings, token: str, code: str) -> bool:
    try:
        data = URLSafeTimedSerializer(settings.secret_key, salt=_FORM_SALT).loads(
            token, max_age=_FORM_TTL
        )
    except BadSignature:
        return False
    return bool(data == code)


def _same_origin(request: Request, settings: Settings) -> bool:
    """A form post from our own pages: Origin (or, without it, Referer) is ours."""
    allowed = {
        f"{request.url.scheme}://{request.url.netloc}",
        "{0.scheme}://{0.netloc}".format(urlsplit(settings.base_url)),
    }
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        return origin in allowed
    referer = request.headers.get("referer")
    if referer:
        return "{0.scheme}://{0.netloc}".format(urlsplit(referer)) in allowed
    return origin is None  # no header at all (privacy settings): the signed token decides


# -- routes -------------------------------------------------------------------------


@router.get("/theme/{accent}.css")
async def theme(accent: str) -> Response:
    """The store's colours as CSS variables: a stylesheet of its own, so that pages
    need no inline style (the Content-Security-Policy allows none)."""
    colours = content.palette(f"#{accent}")
    css = (
        f":root{{--accent:{colours.accent};--on-accent:{colours.on_accent};"
        f"--accent-text:{colours.accent_text}}}\n"
    )
    return Response(
        css,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=86400, immutable"},
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, code: str | None = None, lang: str | None = None) -> Response:
    language = choose_language(lang, None, request.headers.get("accept-language"))
    problem: tuple[str, dict[str, Any]] | None = None
    if code:
        try:
            canonical = parse_tracking_code(code)
        except CodeError as exc:
            problem = code_problem(code, exc)
        else:
            return RedirectResponse(_with_query(f"/t/{canonical}", lang=lang), status_code=303)
    return _render(
        request,
        "home.html",
        language,
        {
            "typed": code or "",
            "problem": problem,
            "page_path": "/",
            "page_params": {"code": code} if code else {},
        },
        422 if problem else 200,
    )


def _not_found(request: Request, typed: str, language: str, problem: tuple[str, Any]) -> Response:
    context = {"typed": typed, "problem": problem, "page_path": "/", "page_params": {"code": typed}}
    return _render(request, "home.html", language, context, status_code=404)


async def _tracking_page(
    request: Request,
    tracking_code: str,
    lang: str | None,
    *,
    form_error: tuple[str, dict[str, Any]] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    accept = request.headers.get("accept-language")
    try:
        code = parse_tracking_code(tracking_code)
    except CodeError as exc:
        return _not_found(
            request,
            tracking_code,
            choose_language(lang, None, accept),
            code_problem(tracking_code, exc),
        )
    if code != tracking_code:
        return RedirectResponse(_with_query(f"/t/{code}", lang=lang), status_code=301)
    token = request.cookies.get(_cookie_name(code))
    try:
        tracking, order_id, version = await run_in_threadpool(_load, request, code, token)
    except NotFound:
        return _not_found(
            request,
            code,
            choose_language(lang, None, accept),
            (N_("No order has this tracking code."), {}),
        )
    language = choose_language(lang, tracking.language, accept)
    settings = settings_of(request)
    context = _tracking_context(tracking, version, language)
    context.update(
        form_token=_form_token(settings, code),
        form_error=form_error,
        requested_lang=lang,
    )
    if tracking.private is not None:  # the channel choices exist only past the gate
        channels = await run_in_threadpool(_channel_choices, request, order_id)
        context.update(page_token=token, channels=channels)
    context.update(extra or {})
    response = _render(request, "track.html", language, context, status_code)
    _cache_policy(response, tracking)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


ANONYMOUS_CACHE = "private, no-cache"
VERIFIED_CACHE = "no-store, private"


def _cache_policy(response: Response, tracking: PublicTracking) -> None:
    """What a browser (and the page's service worker, /sw.js) may keep of a tracking page.

    The anonymous view — what anyone holding the code sees — may be kept, revalidated on
    every visit: it is the installed page's offline copy. A view past the privacy gate
    (name, address, items, the courier's stop) must never be written to any cache
    (RFC 9111 §5.2.2.5 ``no-store``); the service worker honours it too.
    """
    verified = tracking.private is not None
    response.headers["Cache-Control"] = VERIFIED_CACHE if verified else ANONYMOUS_CACHE


def _channel_choices(request: Request, order_id: int) -> list[tuple[str, bool]]:
    """The channels the page offers the shopper, each with whether it is on now.

    E-mail when the order has an address; SMS and WhatsApp when it has a phone and
    the channel can send (Twilio set up, the store's WhatsApp sender). E-mail counts
    as on while the shopper chose nothing, since it is then the default.
    """
    db = database_of(request)
    settings = settings_of(request)
    with db.reader() as conn:
        row = conn.execute(
            select(
                Order.customer_email,
                Order.customer_phone,
                WhatsAppAccount.id.label("whatsapp_sender"),
                ShopperPreference.email,
                ShopperPreference.sms,
                ShopperPreference.whatsapp,
                ShopperPreference.push,
            )
            .outerjoin(WhatsAppAccount, WhatsAppAccount.merchant_id == Order.merchant_id)
            .outerjoin(ShopperPreference, ShopperPreference.order_id == Order.id)
            .where(Order.id == order_id)
        ).first()
    if row is None:
        return []
    chosen_other = any(v is True for v in (row.sms, row.whatsapp, row.push))
    offered: list[tuple[str, bool]] = []
    if row.customer_email:
        offered.append(("email", row.email is True or (row.email is None and not chosen_other)))
    if row.customer_phone and settings.twilio_account_sid:
        offered.append(("sms", row.sms is True))
    if row.customer_phone and row.whatsapp_sender is not None:
        offered.append(("whatsapp", row.whatsapp is True))
    return offered


@router.get("/sw.js")
async def service_worker() -> Response:
    """The service worker, served from the root so that it may control ``/t/``."""
    return Response(
        (WEB_DIR / "static" / "sw.js").read_bytes(),
        media_type="text/javascript",
        # Browsers check for a new worker on navigation; never serve them a stale one.
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/t/{tracking_code}/manifest.webmanifest")
async def manifest(tracking_code: str, request: Request, lang: str | None = None) -> Response:
    """The order's page as an installable app (https://www.w3.org/TR/appmanifest/)."""
    try:
        code = parse_tracking_code(tracking_code)
    except CodeError:
        raise NotFound("No order has this tracking code.", "tracking_code_unknown") from None
    db = database_of(request)

    def read() -> Any:
        with db.reader() as conn:
            return conn.execute(
                select(Merchant.name, Merchant.accent_color, Order.customer_locale)
                .join(Merchant, Merchant.id == Order.merchant_id)
                .where(Order.tracking_code == code)
            ).first()

    row = await run_in_threadpool(read)
    if row is None:
        raise NotFound("No order has this tracking code.", "tracking_code_unknown")
    language = choose_language(lang, row.customer_locale, request.headers.get("accept-language"))
    colours = content.palette(row.accent_color)
    body = {
        "name": f"{row.name} · {format_code(code)}",
        "short_name": row.name[:12],
        "lang": language,
        "start_url": f"/t/{code}",
        "scope": "/t/",
        "id": f"/t/{code}",
        "display": "standalone",
        "theme_color": colours.accent,
        "background_color": "#ffffff",
        "icons": [{"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/t/{tracking_code}", response_class=HTMLResponse)
async def tracking_page(tracking_code: str, request: Request, lang: str | None = None) -> Response:
    return await _tracking_page(request, tracking_code, lang)


@router.get("/t/{tracking_code}/fragment", response_class=HTMLResponse)
async def tracking_fragment(
    tracking_code: str, request: Request, lang: str | None = None
) -> Response:
    """The live part of the page (status, progress, shipments, timeline) for the script."""
    try:
        code = parse_tracking_code(tracking_code)
        tracking, _, version = await run_in_threadpool(
            _load, request, code, request.cookies.get(_cookie_name(code))
        )
    except (CodeError, NotFound):
        return Response(status_code=404)
    language = choose_language(lang, tracking.language, request.headers.get("accept-language"))
    context = _tracking_context(tracking, version, language)
    response = _render(request, "_live.html", language, context)
    _cache_policy(response, tracking)
    response.headers["X-Rumbo-Version"] = str(version)
    return response


@router.post("/t/{tracking_code}/verify", response_class=HTMLResponse)
async def verify(
    tracking_code: str,
    request: Request,
    answer: Annotated[str, Form(max_length=320)] = "",
    form_token: Annotated[str, Form(max_length=500)] = "",
    lang: Annotated[str | None, Query()] = None,
) -> Response:
    """The privacy gate as a form: same check and rate limits as the API's /verify."""
    settings = settings_of(request)
    try:
        code = parse_tracking_code(tracking_code)
    except CodeError:
        return await _tracking_page(request, tracking_code, lang)
    if not (_same_origin(request, settings) and _form_token_ok(settings, form_token, code)):
        return await _tracking_page(
            request,
            code,
            lang,
            form_error=(N_("This form expired. Please try again."), {}),
            status_code=403,
        )
    db = database_of(request)
    limits = answer_limits(request)
    client = client_address(request)

    def check() -> bool | float:
        count_lookup(request)
        with db.session(write=False) as session:
            try:
                order = service.find_order(session, code)
            except NotFound:
                return False
            wait = limits.take(order.tracking_code, client)
            if wait > 0:
                return wait
            typed = answer.strip()
            email, postal = (typed, None) if "@" in typed else (None, typed)
            if typed and service.answer_matches(order, postal, email):
                limits.right(order.tracking_code, client)
                return True
            return False

    outcome = await run_in_threadpool(check)
    if outcome is True:
        tokens = track_tokens(request)
        clock = clock_of(request)
        token, _ = tokens.issue(code, clock.now())
        response = RedirectResponse(_with_query(f"/t/{code}", lang=lang), status_code=303)
        response.set_cookie(
            _cookie_name(code),
            token,
            max_age=tokens.ttl_seconds,
            path=f"/t/{code}",
            httponly=True,
            samesite="lax",
            secure=settings.base_url.startswith("https://"),
        )
        return response
    if outcome is False:
        return await _tracking_page(
            request,
            code,
            lang,
            form_error=(
                N_(
                    "That does not match this order. Check the postal code or e-mail and try again."
                ),
                {},
            ),
            status_code=403,
        )
    seconds = int(outcome) + 1
    return await _tracking_page(
        request,
        code,
        lang,
        form_error=(
            N_("Too many attempts. For your security, please try again in %(minutes)s min."),
            {"minutes": max(1, (seconds + 59) // 60)},
        ),
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


@router.get("/t/{tracking_code}/events")
async def tracking_events(
    tracking_code: str, request: Request, v: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0
) -> Response:
    """Server-sent events: ``changed`` whenever the order may have changed (any process)."""
    await count_lookup_on_loop(request)  # a stream names a code: guessing costs the same
    try:
        code = parse_tracking_code(tracking_code)
    except CodeError:
        return Response(status_code=404)
    db = database_of(request)

    def order_id() -> int | None:
        with db.reader() as conn:
            found = conn.execute(select(Order.id).where(Order.tracking_code == code)).scalar()
            return int(found) if found is not None else None

    found = await run_in_threadpool(order_id)
    if found is None:
        return Response(status_code=404)
    hub: LiveHub = request.app.state.live
    heartbeat: float = getattr(request.app.state, "live_heartbeat", HEARTBEAT_SECONDS)
    slots: StreamSlots = request.app.state.stream_slots
    client = client_address(request)
    full = slots.acquire(client)
    if full is not None:
        # A page reconnects by itself (``retry``); a minute is long enough for one
        # of this client's other streams to close.
        refuse_if_limited(60.0, "Too many live updates open. Close a tab and try again.", full)

    async def stream() -> AsyncIterator[str]:
        try:
            loop = asyncio.get_running_loop()
            subscription = await run_in_threadpool(hub.subscribe, found, v, loop)
        except BaseException:
            slots.release(client)
            raise
        try:
            yield "retry: 3000\n: connected\n\n"
            while True:
                try:
                    await asyncio.wait_for(subscription.changed.wait(), timeout=heartbeat)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                subscription.changed.clear()
                yield "event: changed\ndata: {}\n\n"
        finally:
            hub.unsubscribe(subscription)
            slots.release(client)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            "X-Content-Type-Options": "nosniff",
        },
    )
