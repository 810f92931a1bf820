"""Staff accounts and their console sessions. No HTTP objects here.

A session cookie carries a random token; the database keeps only its SHA-256. A
session ends when idle for ``IDLE`` or ``ABSOLUTE`` after sign-in, whichever is
first (OWASP Session Management Cheat Sheet, "Session Expiration").
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rumbo.console.passwords import PASSWORDS
from rumbo.errors import Conflict, NotFound, RumboError
from rumbo.models import Merchant, StaffSession, StaffUser
from rumbo.models.staff import STAFF_ROLES

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
# last_seen_at is written at most this often, so reading pages rarely takes a write lock.
TOUCH_EVERY = timedelta(minutes=1)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class SignedIn:
    """The staff member behind a valid session."""

    staff_id: int
    merchant_id: int
    email: str
    name: str
    role: str
    session_id: int
    csrf_secret: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def csrf_token(self) -> str:
        """The synchronizer token of this session's forms (OWASP CSRF Prevention Cheat
        Sheet, "Synchronizer Token Pattern"): an HMAC of the session's own secret."""
        return hmac.new(
            self.csrf_secret.encode(), b"rumbo.console.form.v1", hashlib.sha256
        ).hexdigest()


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        raise RumboError("This is not an e-mail address.", 422, "invalid_email")
    return value


def create_staff(
    session: Session,
    merchant_id: int,
    email: str,
    role: str,
    password: str,
    now: datetime,
    name: str | None = None,
) -> StaffUser:
    """A new active staff member; 409 if the e-mail is taken, 404 if the merchant is unknown."""
    address = normalize_email(email)
    if role not in STAFF_ROLES:
        raise RumboError(
            f"A role is one of {', '.join(STAFF_ROLES)}.", 422, "invalid_role", {"role": role}
        )
    # Hashed before the first query: the write lock is not held during Argon2's work.
    password_hash = PASSWORDS.hash(password)
    if session.get(Merchant, merchant_id) is None:
        raise NotFound("No merchant has this id.", "merchant_not_found")
    display = (name or "").strip() or address.split("@", 1)[0]
    if len(display) > 200:
        raise RumboError("A name has at most 200 characters.", 422, "invalid_name")
    if session.scalar(select(StaffUser.id).where(StaffUser.email == address)) is not None:
        raise Conflict("A staff member already signs in with this e-mail.", "staff_email_taken")
    staff = StaffUser(
        merchant_id=merchant_id,
        email=address,
        name=display,
        role=role,
        password_hash=password_hash,
        active=True,
        created_at=now,
        last_login_at=None,
    )
    session.add(staff)
    session.flush()
    return staff


def set_password(session: Session, staff: StaffUser, password: str) -> None:
    """A new password ends every session the staff member had."""
    staff.password_hash = PASSWORDS.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))


def list_staff(session: Session, merchant_id: int) -> list[StaffUser]:
    return list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.merchant_id == merchant_id)
            .order_by(StaffUser.active.desc(), StaffUser.name, StaffUser.id)
        )
    )


def get_staff(session: Session, merchant_id: int, staff_id: int) -> StaffUser:
    staff = session.get(StaffUser, staff_id)
    if staff is None or staff.merchant_id != merchant_id:
        raise NotFound("No staff member of this store has this id.", "staff_not_found")
    return staff


def set_active(
    session: Session, merchant_id: int, staff_id: int, active: bool, by_staff_id: int
) -> StaffUser:
    """Deactivate (ending their sessions) or reactivate one of the merchant's staff."""
    staff = get_staff(session, merchant_id, staff_id)
    if not active and staff.id == by_staff_id:
        raise RumboError("You cannot deactivate your own account.", 409, "cannot_deactivate_self")
    staff.active = active
    if not active:
        session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))
    session.flush()
    return staff


def find_for_sign_in(session: Session, email: str) -> StaffUser | None:
    """The active staff member who signs in with ``email``, if any."""
    staff = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    return staff if staff is not None and staff.active else None


def password_matches(staff: StaffUser | None, password: str) -> bool:
    """Whether ``password`` is ``staff``'s. Takes one Argon2 verification whether or
    not there is such an account, so timing does not tell which e-mails exist."""
    if staff is None:
        PASSWORDS.burn(password)
        return False
    return PASSWORDS.verify(staff.password_hash, password)


def record_sign_in(
    session: Session, staff_id: int, password: str, now: datetime, replacing: str | None = None
) -> str | None:
    """Start a session for a staff member whose password was just checked (``None``
    if they were deactivated meanwhile); upgrades an outdated hash."""
    staff = session.get(StaffUser, staff_id)
    if staff is None or not staff.active:
        return None
    if PASSWORDS.needs_rehash(staff.password_hash):
        staff.password_hash = PASSWORDS.hasher.hash(password)
    staff.last_login_at = now
    return start_session(session, staff, now, replacing)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, staff: StaffUser, now: datetime, replacing: str | None = None
) -> str:
    """A new session for ``staff``; returns the cookie token. The session the browser
    had before (``replacing``) is deleted, so a token planted before sign-in is
    worthless after it (session fixation)."""
    if replacing:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(replacing)))
    session.execute(
        delete(StaffSession).where(
            StaffSession.staff_id == staff.id, StaffSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            staff_id=staff.id,
            token_hash=_digest(token),
            csrf_secret=secrets.token_hex(32),
            created_at=now,
            last_seen_at=now,
            expires_at=min(now + IDLE, now + ABSOLUTE),
        )
    )
    session.flush()
    return token


def resolve_session(session: Session, token: str, now: datetime) -> tuple[SignedIn, bool] | None:
    """The staff member behind ``token`` and whether the session is due a touch, or
    ``None`` for an unknown, expired or deactivated one."""
    row = session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    stored, staff = row
    if stored.expires_at <= now or not staff.active:
        return None
    signed_in = SignedIn(
        staff_id=staff.id,
        merchant_id=staff.merchant_id,
        email=staff.email,
        name=staff.name,
        role=staff.role,
        session_id=stored.id,
        csrf_secret=stored.csrf_secret,
    )
    return signed_in, now - stored.last_seen_at >= TOUCH_EVERY


def touch_session(session: Session, session_id: int, now: datetime) -> None:
    """Slide the idle expiry, never past the absolute one."""
    stored = session.get(StaffSession, session_id)
    if stored is None:
        return
    stored.last_seen_at = now
    stored.expires_at = min(now + IDLE, stored.created_at + ABSOLUTE)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


def only_merchant_id(session: Session) -> int | None:
    """The merchant's id when there is exactly one (the usual self-hosted install)."""
    ids = list(session.scalars(select(Merchant.id).limit(2)))
    return ids[0] if len(ids) == 1 else None


def ensure_demo_staff(session: Session, merchant_id: int, now: datetime) -> dict[str, str]:
    """A demo agent and admin for ``merchant_id`` with a fresh shared password each run;
    returns ``{email: role}`` and the password under the key ``"password"``."""
    password = "demo-" + secrets.token_urlsafe(9)
    accounts = {"agent@demo-store.example": "agent", "admin@demo-store.example": "admin"}
    for email, role in accounts.items():
        staff = session.scalar(select(StaffUser).where(StaffUser.email == email))
        if staff is None:
            create_staff(session, merchant_id, email, role, password, now, name=f"Demo {role}")
        else:
            staff.active = True
            set_password(session, staff, password)
    session.flush()
    return {**accounts, "password": password}
