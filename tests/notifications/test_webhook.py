"""Webhooks: Standard Webhooks signing, checked by the independent ``standardwebhooks``
package inside a real HTTP receiver, and the retry classification of its answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

from rumbo.notifications.channels.webhook import (
    WebhookChannel,
    WebhookConfig,
    WebhookEndpoint,
    generate_secret,
    payload,
    sign,
)
from rumbo.notifications.destinations import DestinationPolicy, parse_networks
from rumbo.notifications.errors import PermanentError, TransientError

from .conftest import HttpServer, Reply, Request, Responder, free_port

pytestmark = pytest.mark.anyio

StartHttp = Callable[[Responder], HttpServer]
# The receivers here listen on loopback, which webhooks may not reach by default.
LOOPBACK = DestinationPolicy(parse_networks("127.0.0.0/8"))
OCCURRED = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)
DATA = {
    "order": {"id": "ord_81", "tracking_code": "K7Q4M2XP9R", "external_id": "1001"},
    "event": {"id": "evt_9", "source": "correios", "occurred_at": "2026-11-23T13:05:00Z"},
    "status": "shipped",
}


def test_secrets_are_whsec_and_base64_of_32_random_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


def test_signature_matches_the_reference_implementation() -> None:
    secret = generate_secret()
    body = payload("order.shipped", OCCURRED, DATA)
    timestamp = datetime.fromtimestamp(1_763_903_100, UTC)
    reference = standardwebhooks.Webhook(secret).sign("msg_1", timestamp, body.decode())
    assert sign(secret, "msg_1", 1_763_903_100, body) == reference


def test_body_is_type_timestamp_and_the_callers_data() -> None:
    document = json.loads(payload("order.shipped", OCCURRED, DATA))
    assert document == {"type": "order.shipped", "timestamp": "2026-11-23T13:05:00Z", "data": DATA}


def verifying_receiver(secret: str, received: list[object]) -> Responder:
    """A store endpoint that verifies like a real integrator would, with the reference lib."""

    def respond(request: Request) -> Reply:
        try:
            received.append(standardwebhooks.Webhook(secret).verify(request.body, request.headers))
        except standardwebhooks.WebhookVerificationError as exc:
            return Reply(401, str(exc).encode(), "text/plain")
        return Reply(204)

    return respond


async def test_a_signed_webhook_verifies_at_a_real_receiver(http_server: StartHttp) -> None:
    secret = generate_secret()
    received: list[object] = []
    server = http_server(verifying_receiver(secret, received))
    endpoint = WebhookEndpoint(f"{server.url}/hooks/rumbo", secret)

    delivery = await WebhookChannel(policy=LOOPBACK).send(
        endpoint, "msg_outbox_81", "order.shipped", OCCURRED, DATA
    )

    assert delivery.reference == "msg_outbox_81"
    assert delivery.detail == "204"
    assert received == [
        {"type": "order.shipped", "timestamp": "2026-11-23T13:05:00Z", "data": DATA}
    ]
    [request] = server.requests
    assert request.path == "/hooks/rumbo"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_outbox_81"


async def test_a_webhook_signed_with_another_secret_is_rejected(http_server: StartHttp) -> None:
    server = http_server(verifying_receiver(generate_secret(), []))
    endpoint = WebhookEndpoint(server.url, generate_secret())

    with pytest.raises(TransientError, match="401"):
        await WebhookChannel(policy=LOOPBACK).send(
            endpoint, "msg_1", "order.shipped", OCCURRED, DATA
        )


async def test_a_retry_keeps_the_id_and_signs_a_fresh_timestamp(http_server: StartHttp) -> None:
    secret = generate_secret()
    server = http_server(lambda request: Reply(200, b"ok", "text/plain"))
    endpoint = WebhookEndpoint(server.url, secret)
    clock = iter([OCCURRED, OCCURRED + timedelta(minutes=5)])
    channel = WebhookChannel(policy=LOOPBACK, clock=lambda: next(clock))

    for _ in range(2):
        await channel.send(endpoint, "msg_1", "order.shipped", OCCURRED, DATA)

    first, retry = server.requests
    assert first.headers["webhook-id"] == retry.headers["webhook-id"] == "msg_1"
    assert int(retry.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 300
    assert first.body == retry.body
    for request in (first, retry):
        timestamp = int(request.headers["webhook-timestamp"])
        expected = sign(secret, "msg_1", timestamp, request.body)
        assert request.headers["webhook-signature"] == expected


async def test_410_gone_is_permanent_and_disables_the_endpoint(http_server: StartHttp) -> None:
    server = http_server(lambda request: Reply(410, b'{"error":"gone"}'))

    with pytest.raises(PermanentError) as raised:
        await WebhookChannel(policy=LOOPBACK).send(
            WebhookEndpoint(server.url, generate_secret()), "m", "order.shipped", OCCURRED, DATA
        )
    assert raised.value.disable_endpoint


@pytest.mark.parametrize("status", [500, 503, 400, 404, 429, 301])
async def test_other_failures_are_transient_with_the_body_truncated(
    http_server: StartHttp, status: int
) -> None:
    server = http_server(lambda request: Reply(status, b"x" * 5000, "text/plain"))

    with pytest.raises(TransientError) as raised:
        await WebhookChannel(policy=LOOPBACK).send(
            WebhookEndpoint(server.url, generate_secret()), "m", "order.shipped", OCCURRED, DATA
        )
    assert f"endpoint answered {status}" in raised.value.detail
    assert len(raised.value.detail) < 400


async def test_a_receiver_that_times_out_is_transient(http_server: StartHttp) -> None:
    holder: list[HttpServer] = []

    def slow(request: Request) -> Reply:
        holder[0].release.wait(timeout=5)  # released at teardown, long after the client gave up
        return Reply(200)

    server = http_server(slow)
    holder.append(server)
    channel = WebhookChannel(WebhookConfig(timeout=0.2), policy=LOOPBACK)

    with pytest.raises(TransientError, match="timed out"):
        await channel.send(
            WebhookEndpoint(server.url, generate_secret()), "m", "order.shipped", OCCURRED, DATA
        )


async def test_a_connection_closed_mid_request_is_transient(http_server: StartHttp) -> None:
    server = http_server(lambda request: None)

    with pytest.raises(TransientError, match="closed mid-request"):
        await WebhookChannel(policy=LOOPBACK).send(
            WebhookEndpoint(server.url, generate_secret()), "m", "order.shipped", OCCURRED, DATA
        )


async def test_a_receiver_that_is_down_is_transient() -> None:
    endpoint = WebhookEndpoint(f"http://127.0.0.1:{free_port()}/", generate_secret())
    with pytest.raises(TransientError, match="could not connect"):
        await WebhookChannel(policy=LOOPBACK).send(endpoint, "m", "order.shipped", OCCURRED, DATA)
