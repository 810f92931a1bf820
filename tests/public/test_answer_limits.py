"""Postal-code answers: counted before they are checked, per (code, client), and every
request that names a code costs a lookup, found or not."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.testclient import TestClient

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.kit.clock import FixedClock
from rumbo.kit.codes import new_tracking_code
from tests.conftest import Tenant, make_tenant
from tests.public.test_track_api import placed

RIGHT = {"postal_code": "01310-100"}
WRONG = {"postal_code": "99999-999"}


def from_address(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


def test_wrong_answers_sent_at_once_are_all_counted(
    app: FastAPI, client: TestClient, tenant: Tenant
) -> None:
    code = placed(client, tenant)["tracking_code"]

    def answer(_: int) -> int:
        guesser = from_address(app, "198.51.100.7")
        return int(guesser.post(f"/api/v1/track/{code}/verify", json=WRONG).status_code)

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(answer, range(25)))
    assert statuses.count(403) == 10
    assert statuses.count(429) == 15


def test_someone_elses_wrong_answers_do_not_lock_the_shopper_out(
    app: FastAPI, client: TestClient, tenant: Tenant
) -> None:
    code = placed(client, tenant)["tracking_code"]
    guesser = from_address(app, "198.51.100.7")
    for _ in range(10):
        assert guesser.post(f"/api/v1/track/{code}/verify", json=WRONG).status_code == 403
    assert guesser.post(f"/api/v1/track/{code}/verify", json=RIGHT).status_code == 429
    shopper = from_address(app, "203.0.113.20")
    verified = shopper.post(f"/api/v1/track/{code}/verify", json=RIGHT)
    assert verified.status_code == 200, verified.text


def test_verify_and_live_streams_for_unknown_codes_count_as_lookups(
    settings: Settings, clock: FixedClock
) -> None:
    app = create_app(settings.model_copy(update={"limit_lookups_per_client": 20}), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        make_tenant(app.state.db, "Loja Aurora")
        statuses = []
        for n in range(30):
            code = new_tracking_code()
            if n % 2:
                statuses.append(client.post(f"/api/v1/track/{code}/verify", json=RIGHT).status_code)
            else:
                statuses.append(client.get(f"/t/{code}/events").status_code)
    assert statuses[:20] == [404] * 20
    assert set(statuses[20:]) == {429}
