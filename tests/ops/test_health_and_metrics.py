"""/readyz names what is down; /metrics counts what happened, across processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.kit.clock import FixedClock
from tests.conftest import Tenant
from tests.devices.conftest import mqtt_url  # noqa: F401 - the broker fixture
from tests.factories import event_body, order_body


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ready_when_the_database_answers(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True


def test_not_ready_names_the_database_when_it_is_away(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "rumbo.db"
    app = create_app(Settings(database_url=f"sqlite:///{missing}", env="test"))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # the process itself is up
    assert answer.status_code == 503
    assert answer.json()["failed"] == ["database"]


def test_the_broker_is_checked_when_this_process_subscribes(
    settings: Settings,
    clock: FixedClock,
    mqtt_url: str,  # noqa: F811
) -> None:
    up = settings.model_copy(update={"mqtt_url": mqtt_url, "run_worker_in_process": True})
    down = up.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{_closed_port()}"})
    elsewhere = down.model_copy(update={"run_worker_in_process": False})
    for config, status, failed in ((up, 200, None), (down, 503, ["mqtt"]), (elsewhere, 200, None)):
        # Checked without starting the app: the in-process worker would subscribe too.
        client = TestClient(create_app(config, clock=clock), raise_server_exceptions=False)
        answer = client.get("/readyz")
        assert answer.status_code == status, answer.text
        assert answer.json().get("failed") == failed
        assert ("mqtt" in answer.json()["checks"]) is (config is not elsewhere)


def test_metrics_count_events_by_outcome_and_requests_by_route(
    client: TestClient, tenant: Tenant
) -> None:
    before = client.get("/metrics").text
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    first = event_body(order)
    client.post("/api/v1/events", json=[first, first, event_body(None)], headers=tenant.headers)
    client.post("/api/v1/events", json=first, headers=tenant.headers)
    client.get(f"/api/v1/track/{order['tracking_code']}")
    client.get("/api/v1/track/0000000000000")
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return _value(text, name, **labels) - _value(before, name, **labels)

    assert grew("rumbo_events_total", outcome="accepted") == 1
    assert grew("rumbo_events_total", outcome="duplicate") == 2
    assert grew("rumbo_events_total", outcome="rejected") == 1
    route = "/api/v1/track/{tracking_code}"
    assert grew("rumbo_http_requests_total", method="GET", route=route, status="200") == 1
    assert grew("rumbo_http_requests_total", method="GET", route=route, status="404") == 1
    assert grew("rumbo_http_request_duration_seconds_count", method="GET", route=route) == 2
    # Order creation queued notifications in the outbox: the gauge reads the database.
    assert _value(text, "rumbo_outbox_messages", status="queued") >= 0
    assert ("rumbo_outbox_messages", (("status", "sending"),)) in _samples(text)


def test_metrics_can_require_a_token(settings: Settings, clock: FixedClock) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-me"}), clock=clock)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200


_CHILD = """
import sys
from rumbo.shared.metrics import EVENTS, HTTP_REQUESTS
EVENTS.labels("accepted").inc(int(sys.argv[1]))
HTTP_REQUESTS.labels("GET", "/x", "200").inc()
"""


def test_metrics_of_several_processes_are_summed(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count in ("3", "4"):
        subprocess.run([sys.executable, "-c", _CHILD, count], env=env, check=True)
    scrape = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rumbo.shared.metrics import exposition; "
            "import sys; sys.stdout.write(exposition()[0].decode())",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert _value(scrape, "rumbo_events_total", outcome="accepted") == 7
    assert _value(scrape, "rumbo_http_requests_total", method="GET", route="/x", status="200") == 2
