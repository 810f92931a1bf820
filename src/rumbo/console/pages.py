"""The console's pages: server-rendered, working without JavaScript.

Every page needs a signed-in staff member (``StaffDep``) and shows only their
merchant's data; every form posts with the session's CSRF token (``FormStaffDep``)
and answers with a redirect back to a page (POST/redirect/GET).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from rumbo.analytics.report import GROUPINGS, build_report
from rumbo.config import settings_of
from rumbo.console import auth, queries, service
from rumbo.console.auth import AdminDep, FormAdminDep, FormStaffDep, StaffDep
from rumbo.console.service import SignedIn
from rumbo.db import SessionDep, database_of
from rumbo.errors import RumboError, error_response
from rumbo.kit.clock import ClockDep, clock_of
from rumbo.kit.codes import format_code
from rumbo.kit.ranges import date_range
from rumbo.kit.schemas import RowId
from rumbo.models.staff import STAFF_ROLES
from rumbo.models.support import INQUIRY_STATUSES, INQUIRY_TYPES
from rumbo.shared.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    babel_locale,
    choose_language,
    normalize_language,
    template_environment,
    translations,
)
from rumbo.support import service as support
from rumbo.support.analytics import support_figures

router = APIRouter(prefix="/console", include_in_schema=False, lifespan=auth.lifespan)

# Staff-facing text lives in the "console" gettext catalogues (see console/babel.cfg);
# these labels are English source text, translated where the language is known.
INQUIRY_TYPE_LABELS = {
    "where_is_it": N_("Where is it?"),
    "delay": N_("Delay"),
    "damaged": N_("Damaged"),
    "wrong_item": N_("Wrong item"),
    "return": N_("Return"),
    "address_change": N_("Address change"),
    "other": N_("Other"),
}
INQUIRY_STATUS_LABELS = {"open": N_("Open"), "waiting": N_("Waiting"), "resolved": N_("Resolved")}
INQUIRY_SOURCE_LABELS = {"assistant": N_("Assistant"), "agent": N_("Agent"), "api": N_("API")}
TURN_ROLE_LABELS = {"shopper": N_("Shopper"), "assistant": N_("Assistant"), "agent": N_("Agent")}
STAFF_ROLE_LABELS = {"agent": N_("Agent"), "admin": N_("Administrator")}
# An order's journey, its delivery risk and its notifications, as staff read them.
ORDER_STATUS_LABELS = {
    "pending": N_("Pending"),
    "payment_confirmed": N_("Payment confirmed"),
    "preparing": N_("Preparing"),
    "shipped": N_("Shipped"),
    "in_transit": N_("In transit"),
    "out_for_delivery": N_("Out for delivery"),
    "delivered": N_("Delivered"),
    "delivery_failed": N_("Delivery attempt failed"),
    "available_for_pickup": N_("Available for pickup"),
    "exception": N_("Problem"),
    "returned": N_("Returned"),
    "cancelled": N_("Cancelled"),
}
RISK_LABELS = {"on_track": N_("On track"), "at_risk": N_("At risk"), "late": N_("Late")}
EVENT_SOURCE_LABELS = {
    "store": N_("store"),
    "payment": N_("payment"),
    "warehouse": N_("warehouse"),
    "carrier": N_("carrier"),
    "device": N_("courier's device"),
    "agent": N_("agent"),
    "rumbo": N_("Rumbo"),
}
NOTIFICATION_KIND_LABELS = {
    **ORDER_STATUS_LABELS,
    "may_be_delayed": N_("May be delayed"),
    "arriving_soon": N_("Arriving soon"),
}
CHANNEL_LABELS = {"email": N_("E-mail"), "sms": N_("SMS"), "webhook": N_("Webhook")}
NOTIFICATION_STATE_LABELS = {
    "queued": N_("Queued"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "suppressed": N_("Not sent"),
}
NOTIFICATION_REASON_LABELS = {
    "superseded": N_("newer news replaced it"),
    "opted_out": N_("the shopper turned this channel off"),
    "no_contact": N_("no e-mail address or phone number"),
    "duplicate": N_("another channel says the same"),
    "channel_not_configured": N_("this channel is not set up"),
    "endpoint_disabled": N_("the webhook endpoint is disabled"),
    "endpoint_deleted": N_("the webhook endpoint was deleted"),
    "order_deleted": N_("the order was deleted"),
}
# What a search hit matched by, as rumbo.console.queries names it.
SEARCH_MATCH_LABELS = {
    "external id": N_("external id"),
    "tracking code": N_("tracking code"),
    "e-mail": N_("e-mail"),
    "phone": N_("phone"),
    "carrier tracking number": N_("carrier tracking number"),
}
NOTICES = {
    "note": N_("Note added."),
    "reply": N_("Reply sent."),
    "assigned": N_("Assignee changed."),
    "status": N_("Status changed."),
    "opened": N_("Inquiry opened."),
    "route_locked": N_("Stop updated."),
    "route_moved": N_("Stop moved; times recomputed."),
    "route_replanned": N_("The rest of the day was planned again."),
    "staff": N_("Staff member added."),
    "active": N_("Staff member updated."),
}
# A staff member's language choice (the header's switcher, ``?lang=``), kept a year.
LANGUAGE_COOKIE = "rumbo_console_lang"
_LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

# -- rendering ----------------------------------------------------------------------


@lru_cache(maxsize=len(LANGUAGES))
def _environment(language: str) -> Environment:
    """The console's templates in ``language``: its ``console`` catalogue, dates and
    numbers in its conventions, every label already translated."""
    env = template_environment(language, "console")
    catalogue = translations(language, "console")
    locale = babel_locale(language)

    def when(moment: datetime | None) -> str:
        return _when(moment, locale)

    def decimal(value: float | None, digits: int = 1) -> str:
        if value is None:
            return "—"
        return format_decimal(value, format="#,##0." + "0" * digits, locale=locale)

    def labels(source: dict[str, str]) -> dict[str, str]:
        return {key: catalogue.gettext(text) for key, text in source.items()}

    def day(value: date | None) -> str:
        return "—" if value is None else format_date(value, "long", locale=locale)

    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["decimal"] = decimal
    env.filters["duration"] = _duration
    env.globals.update(
        html_lang=language,
        language=language,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        type_labels=labels(INQUIRY_TYPE_LABELS),
        status_labels=labels(INQUIRY_STATUS_LABELS),
        source_labels=labels(INQUIRY_SOURCE_LABELS),
        turn_role_labels=labels(TURN_ROLE_LABELS),
        role_labels=labels(STAFF_ROLE_LABELS),
        match_labels=labels(SEARCH_MATCH_LABELS),
        order_status_labels=labels(ORDER_STATUS_LABELS),
        risk_labels=labels(RISK_LABELS),
        event_source_labels=labels(EVENT_SOURCE_LABELS),
        kind_labels=labels(NOTIFICATION_KIND_LABELS),
        channel_labels=labels(CHANNEL_LABELS),
        notification_state_labels=labels(NOTIFICATION_STATE_LABELS),
        reason_labels=labels(NOTIFICATION_REASON_LABELS),
        inquiry_types=INQUIRY_TYPES,
        inquiry_statuses=INQUIRY_STATUSES,
        staff_roles=STAFF_ROLES,
        format_code=format_code,
    )
    return env


def _when(moment: datetime | None, locale: Locale) -> str:
    """``23 de nov. de 2026 14:05 UTC``: the day as ``locale`` writes it, a 24-hour time.
    (Stored times without a zone are UTC.)"""
    if moment is None:
        return "—"
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    day = format_date(moment, "medium", locale=locale)
    return f"{day} {format_time(moment, 'HH:mm', tzinfo=UTC, locale=locale)} UTC"


def console_language(request: Request) -> str:
    """``?lang=``, else the staff member's cookie, else Accept-Language, else English."""
    return choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def _language_url(request: Request, language: str) -> str:
    """This page in ``language``: its query kept, except a one-time notice."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "done")]
    return f"{request.url.path}?{urlencode([*params, ('lang', language)])}"


def _duration(delta: timedelta | None) -> str:
    """``3d 4h``, ``2h 05m``, ``12m``: how long, to the useful precision."""
    if delta is None:
        return "—"
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)


# A refusal a staff member can meet in the browser, said in their language; any other
# error on a console page is said by its status.
PAGE_ERRORS = {
    "admin_only": N_("Only an administrator may open this page."),
    "csrf_failed": N_("This form was sent from another site."),
}
STATUS_ERRORS = {
    403: N_("You may not open this page."),
    404: N_("There is nothing here."),
}
DEFAULT_ERROR = N_("This request could not be completed.")


async def error_page(request: Request, exc: Exception) -> Response:
    """A ``RumboError`` on a console page a browser asked for, as a page in the staff
    member's language; anywhere else, the API's JSON error."""
    assert isinstance(exc, RumboError)
    wants_page = "text/html" in request.headers.get("accept", "")
    if not (request.url.path.startswith("/console") and wants_page):
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)
    message = PAGE_ERRORS.get(exc.code) or STATUS_ERRORS.get(exc.status_code, DEFAULT_ERROR)
    staff = getattr(request.state, "staff", None)
    return render(
        request,
        "error.html",
        {"message": message, "code": exc.code},
        staff=staff,
        status_code=exc.status_code,
        headers=exc.headers,
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    staff: SignedIn | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    clock = clock_of(request)
    language = console_language(request)
    html = (
        _environment(language)
        .get_template(f"console/{template}")
        .render(
            staff=staff,
            csrf_token=staff.csrf_token if staff else "",
            now=clock.now(),
            path=request.url.path,
            notice=NOTICES.get(request.query_params.get("done", "")),
            lang_url=lambda code: _language_url(request, code),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language, Cookie"
    chosen = normalize_language(request.query_params.get("lang"))
    if chosen is not None and chosen != request.cookies.get(LANGUAGE_COOKIE):
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=_LANGUAGE_COOKIE_AGE,
            path="/console",
            secure=True,
            httponly=True,
            samesite="lax",
        )
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _back(path: str, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'done': done})}{anchor}", status_code=303)


# -- signing in ---------------------------------------------------------------------


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    error_params: dict[str, Any] | None = None,
    email: str = "",
    next_url: str = "/console",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    settings = settings_of(request)
    return render(
        request,
        "login.html",
        {
            "error": error,
            "error_params": error_params or {},
            "email": email,
            "next_url": next_url,
            "form_token": auth.login_form_token(settings),
        },
        status_code=status_code,
        headers=headers,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_url=auth.safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    form_token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console",
) -> Response:
    settings = settings_of(request)
    db = database_of(request)
    clock = clock_of(request)
    target = auth.safe_next(next)
    auth.check_origin(request)
    if not auth.login_form_token_ok(settings, form_token):
        return _login_page(
            request,
            error=N_("This form expired. Please sign in again."),
            email=email,
            next_url=target,
            status_code=403,
        )
    address = email.strip().lower()
    limits = auth.login_limits(request)
    client = auth.client_address(request)
    wait = limits.take(address, client)
    if wait > 0:
        seconds = int(wait) + 1
        return _login_page(
            request,
            error=N_("Too many attempts. Try again in %(minutes)s min."),
            error_params={"minutes": max(1, (seconds + 59) // 60)},
            email=email,
            next_url=target,
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )
    # Read, then verify with no transaction open, then write: Argon2's work never
    # holds a database lock.
    with db.session(write=False) as session:
        staff = service.find_for_sign_in(session, address)
        staff_id = staff.id if staff is not None else None
    token: str | None = None
    if service.password_matches(staff, password) and staff_id is not None:
        with db.session() as session:
            token = service.record_sign_in(
                session, staff_id, password, clock.now(), request.cookies.get(auth.COOKIE)
            )
    if token is None:
        return _login_page(
            request,
            error=N_("The e-mail or password is not right."),
            email=email,
            next_url=target,
            status_code=401,
        )
    limits.succeeded(address, client)
    response = RedirectResponse(target, status_code=303)
    auth.set_session_cookie(response, token)
    return response


@router.post("/logout")
def logout(request: Request, staff: FormStaffDep, session: SessionDep) -> Response:
    token = request.cookies.get(auth.COOKIE)
    if token:
        service.end_session(session, token)
    response = RedirectResponse("/console/login", status_code=303)
    auth.clear_session_cookie(response)
    return response


# -- home and search ----------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def home(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    mine = queries.queue(
        session, staff.merchant_id, queries.QueueFilter(assignee=str(staff.staff_id))
    )
    unassigned = queries.queue(session, staff.merchant_id, queries.QueueFilter(assignee="none"))
    return render(
        request,
        "home.html",
        {"mine": mine, "unassigned": unassigned, "q": ""},
        staff,
    )


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    hits = queries.search(session, staff.merchant_id, q)
    if len(hits) == 1:
        return RedirectResponse(f"/console/orders/{hits[0].order.id}", status_code=303)
    return render(
        request,
        "search.html",
        {"q": q, "hits": hits, "limit": queries.SEARCH_LIMIT},
        staff,
    )


# -- orders -------------------------------------------------------------------------


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: RowId, staff: StaffDep, session: SessionDep) -> Response:
    picture = queries.order_picture(session, staff.merchant_id, order_id)
    return render(request, "order.html", {"p": picture, "o": picture.order}, staff)


@router.post("/orders/{order_id}/notes")
def add_note(
    order_id: RowId,
    staff: FormStaffDep,
    session: SessionDep,
    clock: ClockDep,
    text: Annotated[str, Form(max_length=5000)] = "",
    inquiry_id: Annotated[RowId | None, Form()] = None,
) -> Response:
    support.add_note(
        session,
        staff.merchant_id,
        order_id,
        text=text,
        now=clock.now(),
        author_id=staff.staff_id,
        inquiry_id=inquiry_id,
    )
    if inquiry_id is not None:
        return _back(f"/console/inquiries/{inquiry_id}", "note", "#notes")
    return _back(f"/console/orders/{order_id}", "note", "#notes")


@router.post("/orders/{order_id}/inquiries")
def open_inquiry(
    order_id: RowId,
    staff: FormStaffDep,
    session: SessionDep,
    clock: ClockDep,
    type: Annotated[support.InquiryType, Form()],
    subject: Annotated[str, Form(max_length=300)] = "",
    message: Annotated[str, Form(max_length=5000)] = "",
    assign_to_me: Annotated[bool, Form()] = False,
) -> Response:
    inquiry = support.create_inquiry(
        session,
        staff.merchant_id,
        order_id=order_id,
        type=type,
        source="agent",
        subject=subject,
        message=message if message.strip() else None,
        now=clock.now(),
        assignee_id=staff.staff_id if assign_to_me else None,
    )
    return _back(f"/console/inquiries/{inquiry.id}", "opened")


# -- inquiries ----------------------------------------------------------------------


@router.get("/inquiries", response_class=HTMLResponse)
def inquiry_queue(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    status: Annotated[str, Query(max_length=16)] = "active",
    assignee: Annotated[str, Query(max_length=16)] = "",
    type: Annotated[str, Query(max_length=32)] = "",
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    if assignee == "me":
        assignee = str(staff.staff_id)
    flt = queries.QueueFilter(status=status, assignee=assignee, type=type)
    page = queries.queue(session, staff.merchant_id, flt, cursor)
    next_url = None
    if page.next_cursor:
        params = {"status": status, "assignee": assignee, "type": type, "cursor": page.next_cursor}
        next_url = f"/console/inquiries?{urlencode({k: v for k, v in params.items() if v})}"
    return render(
        request,
        "inquiries.html",
        {
            "page": page,
            "flt": flt,
            "people": queries.active_staff(session, staff.merchant_id),
            "next_url": next_url,
        },
        staff,
    )


@router.get("/inquiries/{inquiry_id}", response_class=HTMLResponse)
def inquiry_page(
    request: Request, inquiry_id: RowId, staff: StaffDep, session: SessionDep
) -> Response:
    picture = queries.inquiry_picture(session, staff.merchant_id, inquiry_id)
    return render(request, "inquiry.html", {"p": picture, "i": picture.inquiry}, staff)


@router.post("/inquiries/{inquiry_id}/reply")
def reply(
    inquiry_id: RowId,
    staff: FormStaffDep,
    session: SessionDep,
    clock: ClockDep,
    text: Annotated[str, Form(max_length=5000)] = "",
    resolve: Annotated[bool, Form()] = False,
) -> Response:
    now = clock.now()
    support.reply(
        session, staff.merchant_id, inquiry_id, text=text, now=now, author_id=staff.staff_id
    )
    if resolve:
        support.update_inquiry(session, staff.merchant_id, inquiry_id, now=now, status="resolved")
    return _back(f"/console/inquiries/{inquiry_id}", "reply", "#conversation")


@router.post("/inquiries/{inquiry_id}/assign")
def assign(
    inquiry_id: RowId,
    staff: FormStaffDep,
    session: SessionDep,
    clock: ClockDep,
    assignee: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """``assignee``: ``me``, a staff id, or empty to unassign."""
    if assignee == "me":
        assignee_id: int | None = staff.staff_id
    elif assignee == "":
        assignee_id = None
    elif assignee.isdigit():
        assignee_id = int(assignee)
    else:
        raise RumboError("Unknown assignee.", 422, "invalid_assignee", {"assignee": assignee})
    support.update_inquiry(
        session, staff.merchant_id, inquiry_id, now=clock.now(), assignee_id=assignee_id
    )
    return _back(f"/console/inquiries/{inquiry_id}", "assigned")


@router.post("/inquiries/{inquiry_id}/status")
def change_status(
    inquiry_id: RowId,
    staff: FormStaffDep,
    session: SessionDep,
    clock: ClockDep,
    status: Annotated[support.InquiryStatus, Form()],
    type: Annotated[support.InquiryType | Literal[""], Form()] = "",
) -> Response:
    if type:
        support.update_inquiry(
            session, staff.merchant_id, inquiry_id, now=clock.now(), status=status, type=type
        )
    else:
        support.update_inquiry(
            session, staff.merchant_id, inquiry_id, now=clock.now(), status=status
        )
    return _back(f"/console/inquiries/{inquiry_id}", "status")


# -- staff (admins) -----------------------------------------------------------------


@router.get("/staff", response_class=HTMLResponse)
def staff_page(request: Request, staff: AdminDep, session: SessionDep) -> Response:
    people = service.list_staff(session, staff.merchant_id)
    return render(request, "staff.html", {"people": people}, staff)


@router.post("/staff")
def add_staff(
    staff: FormAdminDep,
    session: SessionDep,
    clock: ClockDep,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[Literal["agent", "admin"], Form()],
    password: Annotated[str, Form(max_length=1024)],
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    service.create_staff(
        session, staff.merchant_id, email, role, password, clock.now(), name=name or None
    )
    return _back("/console/staff", "staff")


@router.post("/staff/{staff_id}/active")
def set_staff_active(
    staff_id: RowId,
    staff: FormAdminDep,
    session: SessionDep,
    active: Annotated[bool, Form()],
) -> Response:
    service.set_active(session, staff.merchant_id, staff_id, active, staff.staff_id)
    return _back("/console/staff", "active")


# -- analytics (admins) -------------------------------------------------------------

MAX_RANGE_DAYS = 366


@router.get("/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    staff: AdminDep,
    session: SessionDep,
    clock: ClockDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    group_by: Annotated[Literal["carrier", "lane", "seller", "state"], Query()] = "carrier",
) -> Response:
    """The logistics report and the support figures of the orders purchased in
    ``[from, to)``; the last 91 days by default.

    Admins only, as the rest of the store-wide views: the report ranks sellers,
    carriers and lanes of the whole store, which is the operation's business, not the
    work of an agent answering one order."""
    now = clock.now()
    start, end = date_range(start, end, now.date(), max_days=MAX_RANGE_DAYS)
    report = build_report(
        session,
        staff.merchant_id,
        start,
        end,
        now,
        group_by=GROUPINGS[group_by],
        language=console_language(request),
    )
    figures = support_figures(session, staff.merchant_id, start, end, now)
    return render(
        request,
        "analytics.html",
        {
            "report": report,
            "f": figures,
            "start": start,
            "end": end,
            "group_by": group_by,
            "groupings": GROUPINGS,
        },
        staff,
    )
