"""Signed webhooks to the store's own systems, per the Standard Webhooks specification.

(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md)

- Secret: ``whsec_`` + base64 of 24–64 random bytes; the bytes are the HMAC key.
- Headers: ``webhook-id`` (the same for every retry of one message, so receivers
  can deduplicate), ``webhook-timestamp`` (integer unix seconds of *this* attempt,
  so receivers can refuse replays), ``webhook-signature``:
  ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
- Body: JSON ``{"type": "order.shipped", "timestamp": ISO 8601, "data": {…}}``.
- The URL's host is resolved once and must be public (:mod:`rumbo.notifications.destinations`);
  the request goes to that checked address.
- Success is any 2xx; ``410 Gone`` means "disable this endpoint"; anything else,
  including redirects (which the spec says not to follow), is retried.
- Posted through a pooled aiohttp session (:mod:`rumbo.notifications.channels.pooled`),
  kept-alive connections per checked address and name: a connection made for one
  name is never reused for another.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from rumbo.notifications.channels.pooled import PooledSession
from rumbo.notifications.destinations import DestinationPolicy, DestinationRefused
from rumbo.notifications.errors import Delivery, PermanentError, TransientError

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ERROR_BODY_LIMIT = 300


def generate_secret() -> str:
    """A new endpoint secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_…`` secret stands for."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from exc


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one attempt."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def payload(event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> bytes:
    """The request body. ``data`` is the caller's (e.g. ``{"order", "event", "status"}``)
    and must be JSON-serialisable; ``occurred_at`` is when the event happened."""
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    document = {
        "type": event_type,
        "timestamp": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": dict(data),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    timeout: float = 10.0
    user_agent: str = "Rumbo-Webhooks/1"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebhookChannel:
    """Posts signed events to store endpoints."""

    name = "webhook"

    def __init__(
        self,
        config: WebhookConfig | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
        policy: DestinationPolicy | None = None,
        connections: int = 50,
    ) -> None:
        self.config = config or WebhookConfig()
        self._clock = clock
        self.policy = policy or DestinationPolicy()
        self._pool = PooledSession(connections)
        self._timeout = aiohttp.ClientTimeout(total=self.config.timeout)

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def send(
        self,
        endpoint: WebhookEndpoint,
        webhook_id: str,
        event_type: str,
        occurred_at: datetime,
        data: Mapping[str, Any],
    ) -> Delivery:
        """POST one event; ``webhook_id`` is the caller's idempotency key, stable across retries.

        Raises TransientError or PermanentError (``disable_endpoint`` set on 410, and
        PermanentError when the URL's host resolves to an address that is not allowed).
        """
        try:
            # Resolved here, at send time, once: the address checked is the one called.
            destination = await asyncio.to_thread(self.policy.check, endpoint.url)
        except DestinationRefused as exc:
            if exc.unresolved:
                raise TransientError(f"webhook not sent: {exc.reason}") from exc
            raise PermanentError(f"webhook not sent: {exc.reason}") from exc
        body = payload(event_type, occurred_at, data)
        timestamp = int(self._clock().timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": self.config.user_agent,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, webhook_id, timestamp, body),
            **destination.request_headers(),
        }
        try:
            async with self._pool.client().post(
                str(destination.request_url()),
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout,
                # TLS: the certificate is checked against the URL's name, not the address
                # (and pooled connections are keyed by it).
                server_hostname=destination.tls_name(),
            ) as response:
                status = response.status
                answer = await response.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"webhook not delivered: {_failure(exc)}") from exc
        return classify_response(status, answer, webhook_id)


def _failure(exc: BaseException) -> str:
    """What went wrong on the way, in words that do not depend on the HTTP library."""
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        reason = "timed out"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        reason = "could not connect"
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        reason = "the connection closed mid-request"
    else:
        reason = "transport error"
    return f"{reason} ({type(exc).__name__}: {exc})"


def classify_response(status: int, text: str, webhook_id: str) -> Delivery:
    if 200 <= status < 300:
        return Delivery("webhook", webhook_id, str(status))
    snippet = text[:ERROR_BODY_LIMIT]
    if len(text) > ERROR_BODY_LIMIT:
        snippet += "…"
    detail = f"endpoint answered {status}: {snippet}"
    if status == 410:
        raise PermanentError(detail, disable_endpoint=True)
    raise TransientError(detail)
