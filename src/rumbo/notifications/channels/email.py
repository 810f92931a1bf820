"""E-mail over SMTP: a multipart/alternative message (text + HTML) per language and store.

Headers that matter to mailbox providers:

- ``List-Unsubscribe`` + ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
  (RFC 8058): a one-click HTTPS unsubscribe that the mail client POSTs to. RFC 8058
  §4 also requires a DKIM signature covering both headers; signing is the relay's
  job (the configured SMTP server), not this module's.
- ``Message-ID`` derived from the notification's idempotency key (RFC 5322 §3.6.4):
  a retry after a lost reply carries the same id, so a re-send is recognisable.
- ``Auto-Submitted: auto-generated`` (RFC 3834 §5): no vacation auto-replies.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from enum import StrEnum

import aiosmtplib

from rumbo.notifications.errors import Delivery, PermanentError, TransientError
from rumbo.notifications.message import Message
from rumbo.notifications.rendering import (
    environment,
    long_date,
    predicted_range,
    status_time,
    texts_for,
)

DEFAULT_ACCENT = "#2563eb"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SmtpSecurity(StrEnum):
    NONE = "none"  # plain SMTP; only for a relay on the same host or network
    STARTTLS = "starttls"  # RFC 3207 upgrade on port 587; required, never opportunistic
    TLS = "tls"  # implicit TLS from the first byte (RFC 8314, port 465)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to submit mail; the lead maps ``RUMBO_SMTP_*`` settings onto it."""

    from_address: str
    host: str = "localhost"
    port: int = 25
    security: SmtpSecurity = SmtpSecurity.NONE
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    # Optional second List-Unsubscribe target (RFC 2369), e.g. "unsubscribe@store.example".
    unsubscribe_mailto: str | None = None
    # A context trusting a private CA (tests, internal relays); None = system trust store.
    tls_context: ssl.SSLContext | None = None


def message_id(idempotency_key: str, from_address: str) -> str:
    """A stable, opaque ``Message-ID`` for one notification (the key itself may be personal)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<{digest}@{domain}>"


def build_email(message: Message, config: SmtpConfig, now: datetime) -> EmailMessage:
    """The complete MIME message for ``message`` as sent at ``now``; pure (no I/O)."""
    if not message.email:
        raise PermanentError("no e-mail address for this shopper")
    try:
        recipient = Address(addr_spec=message.email)
    except (ValueError, IndexError) as exc:  # the email package's parser raises both
        raise PermanentError(f"invalid e-mail address: {exc}") from exc
    if not recipient.domain:
        raise PermanentError("invalid e-mail address: no domain")

    texts = texts_for(message)
    subject = texts.subject % {"code": message.tracking_code}
    env = environment(message.language)
    context = {
        "m": message,
        "texts": texts,
        "subject": subject,
        "status_time": status_time(message),
        "promised": long_date(message, message.promised_date) if message.promised_date else None,
        "predicted": predicted_range(message),
        "accent": message.merchant.accent_colour or DEFAULT_ACCENT,
    }

    email = EmailMessage()
    # The store's name as display name, Rumbo's (authenticated) address as sender:
    # sending "as" the store's own domain would fail its SPF/DMARC.
    email["From"] = formataddr((message.merchant.name, config.from_address))
    email["To"] = str(recipient)
    if message.merchant.support_email:
        email["Reply-To"] = message.merchant.support_email
    email["Subject"] = subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message_id(message.idempotency_key, config.from_address)
    email["Auto-Submitted"] = "auto-generated"
    unsubscribe = f"<{message.unsubscribe_url}>"
    if config.unsubscribe_mailto:
        unsubscribe += f", <mailto:{config.unsubscribe_mailto}?subject=unsubscribe>"
    email["List-Unsubscribe"] = unsubscribe
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps both parts legible in the raw source (links stay greppable).
    email.set_content(env.get_template("email.txt").render(context), cte="quoted-printable")
    email.add_alternative(
        env.get_template("email.html").render(context), subtype="html", cte="quoted-printable"
    )
    # After set_content, which drops every Content-* header (RFC 3282).
    email["Content-Language"] = message.language
    return email


def _classify(exc: Exception) -> TransientError | PermanentError:
    """SMTP reply classes (RFC 5321 §4.2.1): 4yz try later, 5yz do not repeat as is.

    Authentication and TLS problems are the operator's configuration, not the
    shopper's address: they stay transient so the queue drains once fixed,
    instead of failing every message sent meanwhile.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentError(f"recipient refused: {detail}")
        return TransientError(f"recipient deferred: {detail}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return TransientError(f"SMTP authentication failed: {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        detail = f"{exc.code} {exc.message}"
        if 500 <= exc.code < 600:
            return PermanentError(f"SMTP server refused: {detail}")
        return TransientError(f"SMTP server deferred: {detail}")
    # Refused or dropped connections, timeouts, TLS failures, missing extensions.
    return TransientError(f"SMTP delivery failed: {type(exc).__name__}: {exc}")


class EmailChannel:
    """Submits notifications to one SMTP server."""

    name = "email"

    def __init__(self, config: SmtpConfig, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.config = config
        self._clock = clock

    async def send(self, message: Message) -> Delivery:
        """Deliver ``message`` to its shopper; raises TransientError or PermanentError."""
        email = build_email(message, self.config, self._clock())
        cfg = self.config
        try:
            await aiosmtplib.send(
                email,
                sender=cfg.from_address,
                hostname=cfg.host,
                port=cfg.port,
                username=cfg.username,
                password=cfg.password,
                use_tls=cfg.security is SmtpSecurity.TLS,
                # True = refuse to go on in clear text if the server lacks STARTTLS.
                start_tls=cfg.security is SmtpSecurity.STARTTLS,
                tls_context=cfg.tls_context,
                timeout=cfg.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise _classify(exc) from exc
        return Delivery(self.name, email["Message-ID"])
