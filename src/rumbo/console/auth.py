"""Signing in to the console: the session cookie, ``StaffDep``, CSRF and login limits.

- Cookie ``__Host-rumbo_console``: Secure, HttpOnly, SameSite=Lax, Path=/, no
  Domain. The ``__Host-`` prefix makes a browser refuse it unless set that way from
  a secure origin, so no subdomain or plain-HTTP page can plant or overwrite it
  (RFC 6265bis §4.1.3.2). Browsers treat http://localhost and 127.0.0.1 as secure,
  so ``make run`` signs in without TLS; anywhere else the console needs HTTPS.
- CSRF: every POST carries ``csrf_token``, an HMAC of the session's secret
  (synchronizer token), compared in constant time; a cross-site ``Origin`` or
  ``Sec-Fetch-Site: cross-site`` is refused even with a token (OWASP CSRF
  Prevention Cheat Sheet). The sign-in form, which has no session yet, carries a
  signed, short-lived token instead.
- Sign-in attempts are counted before the password is checked (atomically, so
  attempts sent at once are all counted): per (e-mail, client address) a window,
  per client address a window, and per e-mail from everywhere a growing delay
  (capped at a minute), so someone else's failures slow the owner down but never
  lock them out. Beyond a limit a 429 with ``Retry-After``; a right password takes
  its attempt back. On PostgreSQL the counters are shared by every process.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Engine

from rumbo.config import Settings, settings_of
from rumbo.console import service
from rumbo.console.service import SignedIn
from rumbo.db import database_of
from rumbo.errors import RumboError
from rumbo.kit.clock import clock_of
from rumbo.kit.counters import delay_for, window_for
from rumbo.kit.ratelimit import Limit, release_all, take_all

COOKIE = "__Host-rumbo_console"
LOGIN_FORM_SALT = "rumbo.console.login-form.v1"
LOGIN_FORM_TTL = 3600
# Failed sign-ins allowed per 15 minutes: a person mistyping, never a guessing run.
FAILURES_PER_EMAIL = 5  # per (e-mail, client address)
FAILURES_PER_CLIENT = 20
LOGIN_WINDOW = 15 * 60
# Per e-mail from all addresses: 5 free, then 1 s, 2 s, 4 s … at most 60 s between tries,
# forgotten a day after the last failure. At most 1,440 + 5 guesses a day per account.
ACCOUNT_FREE_FAILURES = 5
ACCOUNT_DELAY_BASE = 1.0
ACCOUNT_DELAY_CAP = 60.0
ACCOUNT_FORGET = 86_400


class SignInRequired(RumboError):
    """No valid session: a page is redirected to the sign-in form, anything else is a 401."""

    def __init__(self, request: Request) -> None:
        if request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            super().__init__(
                "Sign in to use the console.",
                303,
                "sign_in_required",
                headers={"Location": f"/console/login?next={quote(target, safe='')}"},
            )
        else:
            super().__init__("Sign in to use the console.", 401, "sign_in_required")


class LoginLimits:
    """Sign-in attempts per (e-mail, client), per client and per e-mail (see above)."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.per_email_client: Limit = window_for(
            engine, FAILURES_PER_EMAIL, LOGIN_WINDOW, "console_per_email_client"
        )
        self.per_client: Limit = window_for(
            engine, FAILURES_PER_CLIENT, LOGIN_WINDOW, "console_per_client"
        )
        self.per_email: Limit = delay_for(
            engine,
            ACCOUNT_FREE_FAILURES,
            ACCOUNT_DELAY_BASE,
            ACCOUNT_DELAY_CAP,
            ACCOUNT_FORGET,
            "console_per_email",
        )

    def _keys(self, email: str, client: str) -> tuple[tuple[Limit, str], ...]:
        return (
            (self.per_email_client, f"{email}|{client}"),
            (self.per_client, client),
            (self.per_email, email),
        )

    def take(self, email: str, client: str) -> float:
        """Count this attempt before the password is checked; 0, or the seconds to wait."""
        return take_all(self._keys(email, client))

    def succeeded(self, email: str, client: str) -> None:
        """The password was right: the attempt is not a failure."""
        release_all(self._keys(email, client))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.console_login_limits = LoginLimits(app.state.db.engine)
    yield


def login_limits(request: Request) -> LoginLimits:
    limits: LoginLimits | None = getattr(request.app.state, "console_login_limits", None)
    if limits is None:  # an app used without its lifespan
        limits = request.app.state.console_login_limits = LoginLimits(request.app.state.db.engine)
    return limits


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(service.ABSOLUTE.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def current_staff(request: Request) -> SignedIn:
    """The signed-in staff member, sliding the session's idle expiry when due."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired(request)
    db = database_of(request)
    clock = clock_of(request)
    now = clock.now()
    # Its own short transaction, like the API-key check: the page's session stays read-only.
    with db.session(write=False) as session:
        found = service.resolve_session(session, token, now)
    if found is None:
        raise SignInRequired(request)
    signed_in, due = found
    if due:
        with db.session() as session:
            service.touch_session(session, signed_in.session_id, now)
    request.state.staff = signed_in
    return signed_in


StaffDep = Annotated[SignedIn, Depends(current_staff)]


def current_admin(staff: StaffDep) -> SignedIn:
    if not staff.is_admin:
        raise RumboError("Only an admin may do this.", 403, "admin_only")
    return staff


AdminDep = Annotated[SignedIn, Depends(current_admin)]


def _origins(request: Request) -> set[str]:
    settings = settings_of(request)
    return {
        f"{request.url.scheme}://{request.url.netloc}",
        "{0.scheme}://{0.netloc}".format(urlsplit(settings.base_url)),
    }


def check_origin(request: Request) -> None:
    """Refuse a request a browser marked as coming from another site."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise RumboError("This form was sent from another site.", 403, "csrf_failed")
    origin = request.headers.get("origin")
    if origin is not None and origin not in _origins(request):
        raise RumboError("This form was sent from another site.", 403, "csrf_failed")


def checked_form(
    request: Request,
    staff: StaffDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> SignedIn:
    """``StaffDep`` for a POST: the form's CSRF token must be this session's."""
    check_origin(request)
    if not hmac.compare_digest(csrf_token.encode(), staff.csrf_token.encode()):
        raise RumboError(
            "This form expired or did not come from the console. Reload the page and try again.",
            403,
            "csrf_failed",
        )
    return staff


FormStaffDep = Annotated[SignedIn, Depends(checked_form)]


def checked_admin_form(staff: FormStaffDep) -> SignedIn:
    return current_admin(staff)


FormAdminDep = Annotated[SignedIn, Depends(checked_admin_form)]


def login_form_token(settings: Settings) -> str:
    return URLSafeTimedSerializer(settings.secret_key, salt=LOGIN_FORM_SALT).dumps("login")


def login_form_token_ok(settings: Settings, token: str) -> bool:
    try:
        value = URLSafeTimedSerializer(settings.secret_key, salt=LOGIN_FORM_SALT).loads(
            token, max_age=LOGIN_FORM_TTL
        )
    except BadSignature:
        return False
    return bool(value == "login")


def safe_next(target: str | None) -> str:
    """Only a path inside the console, never another host (open redirect)."""
    if not target or not target.startswith("/console") or target.startswith("//"):
        return "/console"
    if "\\" in target or any(ch in target for ch in "\r\n"):
        return "/console"
    return target
