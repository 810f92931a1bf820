"""A local push service (RFC 8030) that checks VAPID (RFC 8292) and decrypts (RFC 8291).

Every subscription it hands out has its own browser-side keys, so it can decrypt
what it receives exactly as the browser would.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .conftest import Reply, Request


def b64d(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64e(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


class VapidRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def verify_vapid(authorization: str | None, origin: str, now: datetime) -> dict[str, Any]:
    """The claims of a valid ``vapid t=…, k=…`` header (RFC 8292 §3, §4.2); raises otherwise."""
    if not authorization:
        raise VapidRefused(401, "no Authorization")
    match = re.fullmatch(r"vapid\s+(.*)", authorization)
    if not match:
        raise VapidRefused(401, "not the vapid scheme")
    params = dict(part.strip().split("=", 1) for part in match.group(1).split(",") if "=" in part)
    if set(params) != {"t", "k"}:
        raise VapidRefused(401, f"vapid needs t and k, got {sorted(params)}")
    header_b64, claims_b64, signature_b64 = params["t"].split(".")
    header = json.loads(b64d(header_b64))
    if header != {"typ": "JWT", "alg": "ES256"}:
        raise VapidRefused(403, f"JWT header {header}")
    signature = b64d(signature_b64)
    if len(signature) != 64:  # JWS ES256: raw r || s (RFC 7518 §3.4)
        raise VapidRefused(403, "ES256 signature must be 64 bytes")
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(params["k"]))
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VapidRefused(403, "bad signature") from None
    claims: dict[str, Any] = json.loads(b64d(claims_b64))
    if claims.get("aud") != origin:
        raise VapidRefused(403, f"aud {claims.get('aud')!r} is not {origin!r}")
    expires = int(claims["exp"])
    if expires < now.timestamp():
        raise VapidRefused(403, "expired")
    if expires - now.timestamp() > timedelta(hours=24).total_seconds():
        raise VapidRefused(403, "exp more than 24 h ahead")
    claims["k"] = params["k"]
    return claims


@dataclass
class Device:
    """A browser's subscription: its private key stays here, the rest goes to the server."""

    path: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        return b64e(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


@dataclass
class FakePushService:
    clock: Callable[[], datetime]
    url: str = ""
    devices: dict[str, Device] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)  # answer 410 for these paths
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def subscribe(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives the page."""
        path = f"/p/{b64e(os.urandom(12))}"
        device = Device(path, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.devices[path] = device
        return {
            "endpoint": self.url + path,
            "expirationTime": None,
            "keys": {"p256dh": device.p256dh, "auth": b64e(device.auth)},
        }

    def __call__(self, request: Request) -> Reply:
        device = self.devices.get(request.path)
        if device is None:
            return Reply(404)
        if request.path in self.gone:
            return Reply(410)
        if not re.fullmatch(r"[0-9]+", request.headers.get("ttl", "")):
            return self.refuse(400, "TTL is required (RFC 8030 §5.2)")
        if request.headers.get("content-encoding") != "aes128gcm":
            return self.refuse(400, "Content-Encoding must be aes128gcm")
        if len(request.body) > 4096:
            return self.refuse(413, "payload too large")
        try:
            verify_vapid(request.headers.get("authorization"), self.url, self.clock())
        except VapidRefused as exc:
            return self.refuse(exc.status, str(exc))
        plaintext = http_ece.decrypt(
            request.body, private_key=device.key, auth_secret=device.auth, version="aes128gcm"
        )
        self.received.append((request.path, json.loads(plaintext)))
        location = f"{self.url}/m/{len(self.received)}"
        return Reply(201, b"", "text/plain", {"Location": location, "TTL": request.headers["ttl"]})

    def refuse(self, status: int, reason: str) -> Reply:
        self.refused.append(reason)
        return Reply(status, reason.encode(), "text/plain")
