"""Web Push: the RFC examples byte for byte, and a local push service that verifies the VAPID
token and decrypts each message with the subscription's keys."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from rumbo.notifications.channels.push import (
    Subscription,
    VapidKey,
    WebPushChannel,
    b64url_decode,
    b64url_encode,
    encrypt,
)
from rumbo.notifications.errors import TransientError

from .conftest import HttpServer, Reply, Responder, free_port, make_message, server_tls
from .fake_push import FakePushService, VapidRefused, verify_vapid

StartHttp = Callable[[Responder], HttpServer]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.anyio


def test_rfc8291_example_is_reproduced_byte_for_byte(shared_data: Path) -> None:
    example = json.loads((shared_data / "webpush/rfc8291_example.json").read_text())
    given = example["inputs"]
    server_key = ec.derive_private_key(
        int.from_bytes(b64url_decode(given["as_private"]), "big"), ec.SECP256R1()
    )
    subscription = Subscription(
        1, "https://push.example.net/p/x", given["ua_public"], given["auth_secret"]
    )

    body = encrypt(
        b64url_decode(given["plaintext"]),
        subscription,
        private_key=server_key,
        salt=b64url_decode(given["salt"]),
    )

    assert b64url_encode(body) == example["output"]["body"]
    assert len(body) == 144


def test_rfc8292_example_token_verifies_at_its_time_and_not_after(shared_data: Path) -> None:
    example = json.loads((shared_data / "webpush/rfc8292_vapid_example.json").read_text())
    header = f"vapid t={example['t']}, k={example['k']}"
    issued = datetime.fromtimestamp(1453523768, UTC) - timedelta(hours=1)
    claims = verify_vapid(header, "https://push.example.net", issued)
    assert claims["sub"] == "mailto:push@example.com"
    with pytest.raises(VapidRefused, match="expired"):
        verify_vapid(header, "https://push.example.net", issued + timedelta(hours=2))
    with pytest.raises(VapidRefused, match="aud"):
        verify_vapid(header, "https://other.example.net", issued)
    tampered = example["t"][:-4] + ("AAAA" if not example["t"].endswith("AAAA") else "BBBB")
    with pytest.raises(VapidRefused):
        verify_vapid(f"vapid t={tampered}, k={example['k']}", "https://push.example.net", issued)


def start(http_server: StartHttp) -> FakePushService:
    service = FakePushService(clock=lambda: NOW)
    server = http_server(service)
    service.url = server.url
    return service


def as_subscription(n: int, data: dict[str, object]) -> Subscription:
    keys = data["keys"]
    assert isinstance(keys, dict)
    return Subscription(n, str(data["endpoint"]), keys["p256dh"], keys["auth"])


@pytest.mark.parametrize(
    ("language", "body"),
    [
        ("pt-BR", "Seu pedido K7Q4M2XP9R foi enviado"),
        ("es", "Tu pedido K7Q4M2XP9R fue enviado"),
        ("en", "Your order K7Q4M2XP9R has shipped"),
    ],
)
async def test_the_push_service_verifies_vapid_and_decrypts_the_notification(
    http_server: StartHttp, language: str, body: str
) -> None:
    service = start(http_server)
    devices = [as_subscription(n, service.subscribe()) for n in (1, 2)]
    key = VapidKey(VapidKey.generate(), "mailto:ops@rumbo.example")
    async with WebPushChannel(key, clock=lambda: NOW) as channel:
        result = await channel.send(make_message(language=language), devices)

    assert service.refused == []
    assert [path for path, _ in service.received] == [
        d.endpoint.removeprefix(service.url) for d in devices
    ]
    _, shown = service.received[0]
    assert shown["title"] == "Casa Aurora Móveis"
    assert shown["body"] == body
    assert shown["url"] == "https://rastreio.casaaurora.example/t/K7Q4M2XP9R"
    assert shown["lang"] == language
    assert result.reference == f"{service.url}/m/1"
    assert result.gone == []


async def test_a_gone_subscription_is_reported_and_the_others_still_get_it(
    http_server: StartHttp,
) -> None:
    service = start(http_server)
    alive, dead, unknown = (as_subscription(n, service.subscribe()) for n in (1, 2, 3))
    service.gone.add(dead.endpoint.removeprefix(service.url))
    del service.devices[unknown.endpoint.removeprefix(service.url)]
    key = VapidKey(VapidKey.generate(), "mailto:ops@rumbo.example")
    async with WebPushChannel(key, clock=lambda: NOW) as channel:
        result = await channel.send(make_message(), [alive, dead, unknown])
    assert result.gone == [2, 3]
    assert len(service.received) == 1


async def test_an_overloaded_push_service_is_retried(http_server: StartHttp) -> None:
    server = http_server(lambda request: Reply(429, b"slow down", "text/plain"))
    key = VapidKey(VapidKey.generate(), "mailto:ops@rumbo.example")
    device = Subscription(1, server.url + "/p/x", *_keys())
    async with WebPushChannel(key, clock=lambda: NOW) as channel:
        with pytest.raises(TransientError, match="429"):
            await channel.send(make_message(), [device])


async def test_an_unreachable_push_service_is_retried() -> None:
    key = VapidKey(VapidKey.generate(), "mailto:ops@rumbo.example")
    device = Subscription(1, f"http://127.0.0.1:{free_port()}/p/x", *_keys())  # nobody listens
    async with WebPushChannel(key, clock=lambda: NOW) as channel:
        with pytest.raises(TransientError, match="unreachable"):
            await channel.send(make_message(), [device])


async def test_a_push_service_whose_certificate_nobody_vouches_for_gets_nothing(
    certificate: tuple[Path, Path, str],
) -> None:
    served: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            served.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls(certificate))
    port = server.sockets[0].getsockname()[1]
    device = Subscription(1, f"https://127.0.0.1:{port}/p/x", *_keys())
    key = VapidKey(VapidKey.generate(), "mailto:ops@rumbo.example")
    async with server, WebPushChannel(key, clock=lambda: NOW) as channel:
        with pytest.raises(TransientError, match="CertificateError"):
            await channel.send(make_message(), [device])
    assert served == []


async def test_a_device_with_broken_keys_is_dropped_without_a_request(
    http_server: StartHttp,
) -> None:
    service = start(http_server)
    good = as_subscription(1, service.subscribe())
    broken = Subscription(2, good.endpoint, b64url_encode(b"\x04" + b"\x00" * 64), good.auth)
    key = VapidKey(VapidKey.generate(), "mailto:ops@rumbo.example")
    async with WebPushChannel(key, clock=lambda: NOW) as channel:
        result = await channel.send(make_message(), [broken, good])
    assert result.gone == [2]
    assert len(service.received) == 1
    assert result.errors[0].startswith("invalid subscription keys")


def _keys() -> tuple[str, str]:
    service = FakePushService(clock=lambda: NOW)
    keys = service.subscribe()["keys"]
    assert isinstance(keys, dict)
    return keys["p256dh"], keys["auth"]


def test_the_vapid_token_is_reused_per_origin_until_an_hour_before_it_expires() -> None:
    now = [NOW]
    key = VapidKey(VapidKey.generate(), "mailto:ops@rumbo.example")
    channel = WebPushChannel(key, clock=lambda: now[0])
    first = channel.authorization("https://fcm.googleapis.com/fcm/send/abc")
    assert channel.authorization("https://fcm.googleapis.com/fcm/send/def") == first
    assert channel.authorization("https://updates.push.services.mozilla.com/wpush/v2/x") != first
    now[0] += timedelta(hours=11, minutes=30)
    renewed = channel.authorization("https://fcm.googleapis.com/fcm/send/abc")
    assert renewed != first
    claims = verify_vapid(renewed, "https://fcm.googleapis.com", now[0])
    assert claims["exp"] - now[0].timestamp() <= 24 * 3600
    assert claims["k"] == key.public_key
