"""README's quick start, run exactly as written: the page then shows what README says."""

from __future__ import annotations

import re
import shlex
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from rumbo.kit.clock import FixedClock
from tests.conftest import Tenant
from tests.notifications.outbox_support import summary

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_start_requests() -> list[tuple[str, str, Any]]:
    """(method, path, JSON body) of every curl in README's quick start, in order."""
    section = README.read_text("utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = "\n".join(re.findall(r"```sh\n(.*?)```", section, flags=re.S))
    tokens = shlex.split(block, comments=True)
    starts = [n for n, token in enumerate(tokens) if token == "curl"]
    requests = []
    for start, end in zip(starts, [*starts[1:], len(tokens)], strict=True):
        words = tokens[start:end]
        method = words[words.index("-X") + 1] if "-X" in words else "GET"
        url = next(w for w in words if w.startswith("http://"))
        body = orjson.loads(words[words.index("-d") + 1]) if "-d" in words else None
        requests.append((method, url.split("127.0.0.1:8000", 1)[1], body))
    return requests


def test_readme_quick_start_moves_the_order_and_its_page_says_so(
    client: TestClient, tenant: Tenant, clock: FixedClock, db: Any
) -> None:
    requests = quick_start_requests()
    assert [(m, p) for m, p, _ in requests][:2] == [
        ("POST", "/api/v1/orders"),
        ("POST", "/api/v1/events"),
    ]
    # README's reader runs it after the dates it shows (the payment is at 10:00 -03:00).
    clock.advance(timedelta(days=1))
    created = client.post("/api/v1/orders", json=requests[0][2], headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert "placed_at" not in requests[0][2]  # stamped on receipt, after the payment
    event = client.post("/api/v1/events", json=requests[1][2], headers=tenant.headers)
    assert event.status_code == 201, event.text
    assert event.json()["results"][0]["outcome"] == "accepted"

    code = created.json()["tracking_code"]
    method, path, _ = requests[2]
    shopper = client.request(method, path.replace("<tracking_code>", code))
    assert shopper.status_code == 200
    assert shopper.json()["status"] == "payment_confirmed"
    page = client.get(f"/t/{code}")
    assert page.status_code == 200
    assert "Pagamento confirmado" in page.text
    assert ("payment_confirmed", "email") in {(k, c) for k, c, _, _ in summary(db)}
