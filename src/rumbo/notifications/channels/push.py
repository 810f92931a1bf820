"""Web Push to the tracking page installed on the shopper's devices.

- Protocol (RFC 8030 §5): ``POST`` the encrypted message to the subscription's
  endpoint with a ``TTL`` header; ``201 Created`` accepts it, ``404``/``410`` say the
  subscription is gone for good (delete it), ``429`` and ``5xx`` are retried.
- Encryption (RFC 8291 over RFC 8188): ``Content-Encoding: aes128gcm``, a fresh
  ephemeral P-256 key and salt per message, keyed with the browser's ``p256dh`` and
  ``auth``; done by ``http_ece``.
- Sender identity (RFC 8292): ``Authorization: vapid t=<ES256 JWT>, k=<public key>``,
  ``aud`` the endpoint's origin, ``exp`` at most 24 h ahead; signed by ``py_vapid``
  once per push service origin and reused (RFC 8292 §2 allows it) until near expiry.

The channel posts through its own pooled aiohttp session (``pooled``), kept-alive
connections per push service origin.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import aiohttp
import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from rumbo.notifications.channels.pooled import PooledSession
from rumbo.notifications.errors import PermanentError, TransientError
from rumbo.notifications.message import Message
from rumbo.notifications.rendering import texts_for

# A push service must accept 4096 bytes of body (RFC 8030 §7.2); the RFC 8188 header
# (86 bytes), the padding delimiter and the GCM tag (16) leave the rest for the JSON.
MAX_PAYLOAD = 4096 - 86 - 1 - 16
# Held at the push service this long for a device that is off (RFC 8030 §5.2): news
# older than a day is on the page anyway.
TTL_SECONDS = 24 * 3600
# A token is good for 12 h (RFC 8292 §2: at most 24 h) and reused until 1 h before.
TOKEN_LIFETIME = timedelta(hours=12)
TOKEN_MARGIN = timedelta(hours=1)


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url_encode(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Subscription:
    """A browser's ``PushSubscription``: endpoint and keys (RFC 8291 §2)."""

    id: int
    endpoint: str
    p256dh: str
    auth: str
    language: str | None = None  # the page's language when it subscribed


@dataclass(slots=True)
class PushResult:
    """What happened per device: ``reference`` is a push message's ``Location``."""

    reference: str | None = None
    gone: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class VapidKey:
    """The server's VAPID key pair: a P-256 private key, base64url of its 32 raw bytes."""

    def __init__(self, private_key: str, subject: str) -> None:
        self._vapid = Vapid02.from_raw(private_key.encode())
        self.subject = subject
        raw = self._vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        # What the page passes as ``applicationServerKey`` to ``pushManager.subscribe``.
        self.public_key = b64url_encode(raw)

    @staticmethod
    def generate() -> str:
        key = ec.generate_private_key(ec.SECP256R1())
        return b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))

    def header(self, endpoint: str, expires: datetime) -> str:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(expires.timestamp()),
            "sub": self.subject,
        }
        # py_vapid writes "vapid t=…,k=…"; RFC 8292 §3's parameters are comma-separated
        # auth-params, and the example puts a space after the comma.
        value: str = self._vapid.sign(claims)["Authorization"]
        return value.replace(",k=", ", k=")


def payload(message: Message) -> bytes:
    """The notification the service worker shows, in the shopper's language; JSON."""
    texts = texts_for(message)
    body = {
        "title": message.merchant.name,
        "body": texts.subject % {"code": message.tracking_code},
        "url": message.tracking_url,
        # One notification per order on the device: news replaces older news.
        "tag": f"rumbo-{message.tracking_code}",
        "lang": message.language,
        "status": message.status.value,
        "status_at": message.status_at.isoformat(),
    }
    data = json.dumps(body, ensure_ascii=False).encode()
    if len(data) > MAX_PAYLOAD:
        raise PermanentError(f"push payload of {len(data)} bytes exceeds {MAX_PAYLOAD}")
    return data


def encrypt(
    plaintext: bytes,
    subscription: Subscription,
    *,
    private_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """The aes128gcm body for one subscription (RFC 8291 §4); fresh key and salt unless
    given (the RFC's example fixes them)."""
    return bytes(
        http_ece.encrypt(
            plaintext,
            salt=salt if salt is not None else os.urandom(16),
            private_key=private_key or ec.generate_private_key(ec.SECP256R1()),
            dh=b64url_decode(subscription.p256dh),
            auth_secret=b64url_decode(subscription.auth),
            version="aes128gcm",
        )
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebPushChannel:
    """Encrypts one notification per subscribed device and posts it to its push service."""

    name = "push"

    def __init__(
        self,
        key: VapidKey,
        *,
        connections: int = 50,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.key = key
        self._clock = clock
        self._tokens: dict[str, tuple[datetime, str]] = {}
        self._pool = PooledSession(connections)

    def _client(self) -> aiohttp.ClientSession:
        return self._pool.client()

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def __aenter__(self) -> WebPushChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def authorization(self, endpoint: str) -> str:
        """A VAPID header for the endpoint's origin, reused while it has an hour left."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(endpoint))
        now = self._clock()
        cached = self._tokens.get(origin)
        if cached is not None and cached[0] - TOKEN_MARGIN > now:
            return cached[1]
        expires = now + TOKEN_LIFETIME
        header = self.key.header(endpoint, expires)
        self._tokens[origin] = (expires, header)
        return header

    async def send(self, message: Message, subscriptions: Sequence[Subscription]) -> PushResult:
        """Push to every device; raises TransientError when none took it and some may later."""
        # Each device in the language its page was in when it subscribed.
        texts: dict[str | None, bytes] = {}
        result = PushResult()
        retry = False
        client = self._client()
        for sub in subscriptions:
            if sub.language not in texts:
                shown = message
                if sub.language and sub.language != message.language:
                    shown = replace(message, language=sub.language)
                texts[sub.language] = payload(shown)
            try:
                body = encrypt(texts[sub.language], sub)
            except ValueError as exc:  # keys that are not a P-256 point / 16 bytes
                result.gone.append(sub.id)
                result.errors.append(f"invalid subscription keys: {exc}")
                continue
            try:
                async with client.post(
                    sub.endpoint,
                    data=body,
                    headers={
                        "TTL": str(TTL_SECONDS),
                        "Urgency": "normal",
                        "Content-Encoding": "aes128gcm",
                        "Content-Type": "application/octet-stream",
                        "Authorization": self.authorization(sub.endpoint),
                    },
                    allow_redirects=False,
                ) as response:
                    status = response.status
                    location = response.headers.get("Location", "")
                    answer = (await response.read())[:200].decode(errors="replace")
            except (aiohttp.ClientError, TimeoutError) as exc:
                retry = True
                result.errors.append(f"push service unreachable: {type(exc).__name__}")
                continue
            if status in (200, 201, 202):
                result.reference = result.reference or location
            elif status in (404, 410):
                result.gone.append(sub.id)
            else:
                retry = retry or status == 429 or status >= 500
                result.errors.append(f"push service answered {status}: {answer}")
        if result.reference is None and retry:
            raise TransientError("; ".join(result.errors))
        return result
