"""HEAD answers as GET would, without the body (RFC 9110 §9.3.2), on a real server."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from tests.web.conftest import LiveServer, place_order

# Headers that differ between any two responses, whatever the method.
VARYING = {"date", "x-request-id", "set-cookie", "content-length", "transfer-encoding"}


def _stable(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in VARYING}


@pytest.mark.parametrize(
    "path",
    ["/", "/t/{code}", "/t/{code}?lang=es", "/t/{code}/fragment", "/console/login", "/healthz"],
)
def test_head_answers_like_get_without_a_body(
    server: LiveServer, tenant: Tenant, path: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        code = place_order(http, tenant)["tracking_code"]
        url = path.format(code=code)
        got = http.get(url, follow_redirects=False)
        head = http.head(url, follow_redirects=False)
    assert got.status_code == 200, got.text
    assert head.status_code == got.status_code
    assert head.content == b""
    assert _stable(head.headers) == _stable(got.headers)
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]


def test_head_of_a_missing_page_is_404_and_of_a_redirect_the_same_redirect(
    server: LiveServer,
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.head("/t/NOPE-NOPE").status_code == http.get("/t/NOPE-NOPE").status_code
        head = http.head("/console", follow_redirects=False)
        got = http.get("/console", follow_redirects=False)
    assert (head.status_code, head.headers["location"]) == (303, got.headers["location"])


def test_head_of_the_live_stream_returns_at_once(server: LiveServer, tenant: Tenant) -> None:
    with httpx.Client(base_url=server.url, timeout=5) as http:
        code = place_order(http, tenant)["tracking_code"]
        head = http.head(f"/t/{code}/events")
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/event-stream")
    assert head.content == b""
