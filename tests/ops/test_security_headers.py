"""Every page and static file: a strict CSP, the other security headers, and no
reference to another origin. The crawl starts from every GET route without
parameters and from a real order's pages, and follows every same-origin link."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rumbo.ops.middleware import DOCS_PATHS
from tests.conftest import Tenant
from tests.factories import event_body, order_body
from tests.ops.routes import every_route

ORIGIN = "http://testserver"
REQUIRED_CSP = {
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "frame-ancestors": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'self'"},
    "object-src": {"'none'"},
}
# Routes that are not pages: machine endpoints, streams, and the developer docs
# (Swagger UI / ReDoc start with inline scripts under a policy of their own, DOCS_POLICY).
NOT_PAGES = {"/openapi.json", "/metrics", "/readyz", "/healthz", *DOCS_PATHS}


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src", "action", "data-fragment", "data-events", "poster"):
            if values.get(name):
                self.urls.append(values[name] or "")
        if tag == "script" and not values.get("src"):
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        for name in values:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"{tag} {name}=")


def _policy(header: str) -> dict[str, set[str]]:
    directives: dict[str, set[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = set(words[1:])
    return directives


def _check_headers(url: str, headers: dict[str, str], https: bool) -> None:
    policy = _policy(headers["content-security-policy"])
    for directive, sources in REQUIRED_CSP.items():
        assert policy.get(directive) == sources, (url, directive, policy.get(directive))
    everything = " ".join(" ".join(v) for v in policy.values())
    assert "unsafe-inline" not in everything, url
    assert "unsafe-eval" not in everything, url
    assert not re.search(r"https?://|\*", everything), url  # no third-party source at all
    assert headers["x-content-type-options"] == "nosniff", url
    assert headers["referrer-policy"] == "same-origin", url
    assert "geolocation=()" in headers["permissions-policy"], url
    assert ("strict-transport-security" in headers) is https, url
    assert headers.get("x-request-id"), url


@pytest.fixture
def seeded(client: TestClient, tenant: Tenant) -> list[str]:
    client.patch(
        "/api/v1/merchant",
        json={"accent_color": "#FFD400", "logo_url": "https://cdn.example/logo.png"},
        headers=tenant.headers,
    )
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    code = order["tracking_code"]
    client.post(
        "/api/v1/events",
        json=event_body(order, carrier="correios", tracking_number="PN123456789BR"),
        headers=tenant.headers,
    )
    return [f"/t/{code}", f"/t/{code}?lang=pt-BR", f"/t/{code}/fragment", "/?code=XYZ"]


def _start_points(app: FastAPI) -> list[str]:
    return [
        route.path
        for route in every_route(app)
        if "GET" in (route.methods or set())
        and "{" not in route.path
        and route.path not in NOT_PAGES
    ]


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_page_and_asset_is_locked_to_its_own_origin(
    app: FastAPI, client: TestClient, seeded: list[str], https: bool
) -> None:
    origin = "https://testserver" if https else ORIGIN
    crawler = TestClient(app, base_url=origin, raise_server_exceptions=False)
    queue = deque([*_start_points(app), *seeded])
    assert "/" in queue
    visited: set[str] = set()
    kinds: set[str] = set()
    while queue:
        path = queue.popleft()
        if path in visited:
            continue
        visited.add(path)
        response = crawler.get(path, follow_redirects=False)
        assert response.status_code < 500, (path, response.status_code)
        _check_headers(path, dict(response.headers), https)
        kind = response.headers.get("content-type", "").split(";")[0]
        kinds.add(kind)
        if response.is_redirect:
            queue.append(urljoin(path, response.headers["location"]))
            continue
        if kind != "text/html":
            continue
        refs = _References()
        refs.feed(response.text)
        assert refs.inline == [], (path, refs.inline)
        for url in refs.urls:
            target = urlsplit(urljoin(origin + path, url))
            if target.scheme in ("mailto", "tel"):
                continue
            assert f"{target.scheme}://{target.netloc}" == origin, (path, url)
            if target.path.endswith("/events"):
                continue  # a server-sent events stream (never ends): not a page
            if (
                target.path.startswith(("/t/", "/static/", "/theme/", "/console"))
                or target.path == "/"
            ):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    assert {"text/html", "text/css"} <= kinds
    assert any(p.startswith("/static/") for p in visited)
    assert any(p.startswith("/theme/") for p in visited)
    assert len(visited) >= 8


def test_api_responses_carry_the_same_headers(client: TestClient) -> None:
    response = client.get("/api/v1/track/0000000000000")
    _check_headers("/api/v1/track", dict(response.headers), https=False)


def test_the_api_docs_have_a_policy_of_their_own(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    policy = _policy(docs.headers["content-security-policy"])
    assert policy["frame-ancestors"] == {"'none'"}
    assert policy["script-src"] == {"'self'", "'unsafe-inline'"}
    assert not [s for sources in policy.values() for s in sources if s.startswith("http")]
