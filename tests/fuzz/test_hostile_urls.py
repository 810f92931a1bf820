"""Hostile webhook URLs: every spelling of an internal address is refused with a 422,
never stored and never a 500, on both databases. (A name that does not resolve is
accepted at registration and checked again when sending.)"""

from __future__ import annotations

import ipaddress

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumbo.notifications.destinations import DestinationPolicy
from tests.conftest import Tenant

HOSTILE = [
    "http://127.0.0.1:8000/metrics",
    "http://localhost:6379/",
    "http://LOCALHOST/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://0x7f000001/",
    "http://0177.0.0.1/",  # octal
    "http://127.1/",
    "http://0/",
    "http://[::]/",
    "http://[::1]:8000/metrics",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",  # 169.254.169.254 in IPv6
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://[fd00:ec2::254]/latest/meta-data/",  # AWS IMDS over IPv6
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata
    "http://93.184.215.14@127.0.0.1/",  # userinfo that looks like a host
    "http://user:pass@10.0.0.1:8080/",
    "https://192.168.0.1/",
    "https://172.20.0.5:9200/_cat",
    "http://[fe80::1%25eth0]/",
    "http://224.0.0.251/",
    "gopher://127.0.0.1:6379/_INFO",
    "file:///etc/passwd",
    "ftp://10.0.0.1/",
    "javascript:alert(1)",
]

INTERNAL_NETWORKS = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
]


@pytest.fixture
def strict(app: FastAPI, client: TestClient) -> TestClient:
    app.state.webhook_destinations = DestinationPolicy()  # no network allowed
    return client


def _refused(client: TestClient, tenant: Tenant, url: str) -> None:
    answer = client.post("/api/v1/webhooks", json={"url": url}, headers=tenant.headers)
    assert answer.status_code == 422, (url, answer.text)
    assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert client.get("/api/v1/webhooks", headers=tenant.headers).json() == []


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_webhook_urls_are_refused(strict: TestClient, tenant: Tenant, url: str) -> None:
    _refused(strict, tenant, url)


def _spellings(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> st.SearchStrategy[str]:
    assert isinstance(address, ipaddress.IPv4Address)  # drawn from IPv4 networks only
    number = int(address)
    return st.sampled_from(
        [
            f"http://{address}/h",
            f"http://{number}/h",
            f"http://{hex(number)}/h",
            f"http://[::ffff:{address}]/h",
            f"https://{address}:8443/h?x=1",
        ]
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    url=st.sampled_from(INTERNAL_NETWORKS)
    .flatmap(lambda net: st.ip_addresses(network=net))
    .flatmap(_spellings)
)
def test_any_spelling_of_an_internal_ipv4_address_is_refused(
    strict: TestClient, tenant: Tenant, url: str
) -> None:
    _refused(strict, tenant, url)
