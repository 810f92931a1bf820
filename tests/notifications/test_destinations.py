"""Webhooks reach public addresses only: checked at registration and at send time,
resolved once and connected to the address that was checked (resolvers that lie)."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from rumbo.notifications.channels.webhook import WebhookChannel, WebhookEndpoint, generate_secret
from rumbo.notifications.destinations import (
    DestinationPolicy,
    DestinationRefused,
    is_public,
    parse_networks,
)
from rumbo.notifications.errors import PermanentError, TransientError
from tests.conftest import Tenant

from .conftest import HttpServer, Reply, Responder, self_signed

OCCURRED = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)
DATA = {"order": {"id": "ord_1"}, "status": "shipped"}

INTERNAL = [
    "127.0.0.1",  # loopback
    "127.10.20.30",
    "10.0.0.1",  # RFC 1918
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "100.64.0.1",  # RFC 6598 carrier-grade NAT
    "169.254.169.254",  # RFC 3927 link-local: cloud metadata
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",  # link-local
    "fc00::1",  # RFC 4193 unique local
    "fd12:3456::1",
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
]


class Resolver:
    """Answers from a script, one answer per call, and counts the calls."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def url_for(address: str, path: str = "/") -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}{path}"


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(DestinationRefused, match="internal address"):
        DestinationPolicy().check(url_for(address))


@pytest.mark.parametrize("address", INTERNAL)
def test_a_name_resolving_to_an_internal_address_is_refused(address: str) -> None:
    policy = DestinationPolicy(resolver=Resolver(["93.184.215.14", address]))
    with pytest.raises(DestinationRefused, match="internal address"):
        policy.check("https://hooks.store.example/rumbo")


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    destination = DestinationPolicy().check(url_for(address, "/h?x=1"))
    assert str(destination.address) == address


def test_allowed_networks_open_listed_private_ranges_only() -> None:
    policy = DestinationPolicy(parse_networks("10.20.0.0/16, fd00:1::/64"))
    assert str(policy.check("http://10.20.3.4:8080/h").address) == "10.20.3.4"
    assert str(policy.check("http://[fd00:1::5]/h").address) == "fd00:1::5"
    with pytest.raises(DestinationRefused):
        policy.check("http://10.21.0.1/h")
    with pytest.raises(DestinationRefused):
        policy.check("http://127.0.0.1/h")


@pytest.mark.parametrize(
    "url",
    ["ftp://93.184.215.14/x", "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "http:///x"],
)
def test_only_http_urls_with_a_host_are_called(url: str) -> None:
    with pytest.raises(DestinationRefused):
        DestinationPolicy().check(url)


@given(st.ip_addresses())
def test_every_address_is_public_or_refused_consistently(address: ipaddress._BaseAddress) -> None:
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    policy = DestinationPolicy()
    if is_public(address):
        assert policy.check(url_for(str(address))).address == address
        if isinstance(address, ipaddress.IPv4Address):
            assert not address.is_private
            assert not address.is_link_local
    else:
        with pytest.raises(DestinationRefused):
            policy.check(url_for(str(address)))


# --- send time -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_name_that_turns_internal_after_registration_is_not_called(
    http_server: Callable[[Responder], HttpServer],
) -> None:
    """DNS rebinding: public at registration, loopback when the worker sends."""
    server = http_server(lambda request: Reply(204))
    port = server.url.rsplit(":", 1)[1]
    resolver = Resolver(["93.184.215.14"], ["127.0.0.1"])
    policy = DestinationPolicy(resolver=resolver)
    url = f"http://hooks.store.example:{port}/h"
    policy.check(url)  # registration: public
    with pytest.raises(PermanentError, match="internal address"):
        await WebhookChannel(policy=policy).send(
            WebhookEndpoint(url, generate_secret()), "m", "order.shipped", OCCURRED, DATA
        )
    assert server.requests == []


@pytest.mark.anyio
async def test_the_request_goes_to_the_checked_address_with_the_name_kept(
    http_server: Callable[[Responder], HttpServer],
) -> None:
    """Resolved once: a second answer (internal, refused) is never asked for, and the name,
    which no real resolver knows, reaches the receiver only in the Host header."""
    server = http_server(lambda request: Reply(204))
    port = server.url.rsplit(":", 1)[1]
    resolver = Resolver(["127.0.0.1"], ["10.9.9.9"])
    policy = DestinationPolicy(parse_networks("127.0.0.1/32"), resolver)
    url = f"http://hooks.rumbo-test.invalid:{port}/h"
    delivery = await WebhookChannel(policy=policy).send(
        WebhookEndpoint(url, generate_secret()), "m1", "order.shipped", OCCURRED, DATA
    )
    assert delivery.reference == "m1"
    assert resolver.calls == ["hooks.rumbo-test.invalid"]
    [request] = server.requests
    assert request.headers["host"] == f"hooks.rumbo-test.invalid:{port}"


@pytest.mark.anyio
async def test_redirects_to_internal_addresses_are_not_followed(
    http_server: Callable[[Responder], HttpServer],
) -> None:
    server = http_server(
        lambda request: Reply(307, b"", headers={"Location": "http://169.254.169.254/latest"})
    )
    policy = DestinationPolicy(parse_networks("127.0.0.1/32"))
    with pytest.raises(TransientError, match="307"):
        await WebhookChannel(policy=policy).send(
            WebhookEndpoint(server.url + "/h", generate_secret()),
            "m",
            "order.shipped",
            OCCURRED,
            DATA,
        )
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_a_name_that_does_not_resolve_now_is_retried() -> None:
    def nothing(host: str, port: int) -> Sequence[str]:
        return []

    with pytest.raises(TransientError, match="does not resolve"):
        await WebhookChannel(policy=DestinationPolicy(resolver=nothing)).send(
            WebhookEndpoint("https://gone.store.example/h", generate_secret()),
            "m",
            "order.shipped",
            OCCURRED,
            DATA,
        )


# --- registration (API, both databases) ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/metrics",
        "http://localhost:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://10.0.0.8/hook",
        "http://0.0.0.0:8000/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_registering_an_internal_url_is_refused(
    app: FastAPI, client: TestClient, tenant: Tenant, url: str
) -> None:
    app.state.webhook_destinations = DestinationPolicy()  # no networks allowed
    created = client.post("/api/v1/webhooks", json={"url": url}, headers=tenant.headers)
    assert created.status_code == 422, created.text
    assert created.json()["error"]["code"] == "webhook_url_not_allowed"
    assert client.get("/api/v1/webhooks", headers=tenant.headers).json() == []


def test_changing_a_url_to_an_internal_one_is_refused(
    app: FastAPI, client: TestClient, tenant: Tenant
) -> None:
    resolver = Resolver(["93.184.215.14"], ["192.168.0.10"])
    app.state.webhook_destinations = DestinationPolicy(resolver=resolver)
    created = client.post(
        "/api/v1/webhooks", json={"url": "https://hooks.store.example/h"}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    patched = client.patch(
        f"/api/v1/webhooks/{created.json()['id']}",
        json={"url": "https://rebound.store.example/h"},
        headers=tenant.headers,
    )
    assert patched.status_code == 422, patched.text
    assert patched.json()["error"]["code"] == "webhook_url_not_allowed"
    [listed] = client.get("/api/v1/webhooks", headers=tenant.headers).json()
    assert listed["url"] == "https://hooks.store.example/h"


# --- TLS: the name is checked, the address is called ------------------------------------------

TLS_NAME = "hooks.rumbo-test.invalid"


@pytest.fixture
def https_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[int, list[str]]]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names only ``TLS_NAME`` (no IP
    address), trusted through SSL_CERT_FILE as an operator would add a private CA."""
    cert_file, key_file, _ = self_signed(tmp_path, TLS_NAME, x509.DNSName(TLS_NAME))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hosts.append(self.headers.get("Host", ""))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server.server_address[1], hosts
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def _post(channel: WebhookChannel, host: str, port: int, webhook_id: str) -> Any:
    return await channel.send(
        WebhookEndpoint(f"https://{host}:{port}/h", generate_secret()),
        webhook_id,
        "order.shipped",
        OCCURRED,
        DATA,
    )


@pytest.mark.anyio
async def test_https_checks_the_urls_name_while_connecting_to_the_checked_address(
    https_receiver: tuple[int, list[str]],
) -> None:
    port, hosts = https_receiver
    policy = DestinationPolicy(parse_networks("127.0.0.1/32"), Resolver(["127.0.0.1"]))
    channel = WebhookChannel(policy=policy)
    try:
        delivery = await _post(channel, TLS_NAME, port, "m1")
    finally:
        await channel.aclose()
    assert delivery.detail == "204"
    assert hosts == [f"{TLS_NAME}:{port}"]


@pytest.mark.anyio
async def test_https_to_a_name_the_certificate_does_not_cover_is_not_delivered(
    https_receiver: tuple[int, list[str]],
) -> None:
    """Another name resolving to the same address: the certificate does not name it, so
    nothing is posted (the check is the name's, not the address's)."""
    port, hosts = https_receiver
    policy = DestinationPolicy(
        parse_networks("127.0.0.1/32"), Resolver(["127.0.0.1"], ["127.0.0.1"])
    )
    channel = WebhookChannel(policy=policy)
    try:
        assert (await _post(channel, TLS_NAME, port, "m1")).detail == "204"
        # A kept-alive connection to that address is not reused for the other name.
        with pytest.raises(TransientError, match="webhook not delivered"):
            await _post(channel, "other.rumbo-test.invalid", port, "m2")
    finally:
        await channel.aclose()
    assert hosts == [f"{TLS_NAME}:{port}"]
