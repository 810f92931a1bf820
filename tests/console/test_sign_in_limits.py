"""Sign-in limits that hold under concurrency and do not let others lock the owner out."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.console.auth import ACCOUNT_DELAY_CAP, ACCOUNT_FREE_FAILURES, FAILURES_PER_EMAIL
from rumbo.kit.clock import FixedClock
from tests.console.conftest import PASSWORD, Staff, sign_in


def from_address(app: FastAPI, address: str) -> TestClient:
    """Another client address on the same running app (no second lifespan)."""
    return TestClient(
        app, base_url="https://testserver", client=(address, 40000), raise_server_exceptions=False
    )


def form_token(client: TestClient) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', client.get("/console/login").text)
    assert found
    return found.group(1)


def test_wrong_passwords_sent_at_once_are_all_counted(
    app: FastAPI, client: TestClient, agent: Staff
) -> None:
    token = form_token(client)
    data = {"email": agent.email, "password": "wrong wrong wrong", "form_token": token}

    def attempt(_: int) -> int:
        attacker = from_address(app, "198.51.100.7")
        return int(attacker.post("/console/login", data=data, follow_redirects=False).status_code)

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(20)))
    assert statuses.count(401) == FAILURES_PER_EMAIL
    assert statuses.count(429) == 20 - FAILURES_PER_EMAIL


def test_an_attackers_failures_do_not_lock_the_owner_out(
    app: FastAPI, client: TestClient, agent: Staff
) -> None:
    attacker = from_address(app, "198.51.100.7")
    for _ in range(FAILURES_PER_EMAIL):
        assert sign_in(attacker, agent.email, "guess guess guess").status_code == 401
    assert sign_in(attacker, agent.email, "one more guess").status_code == 429
    owner = from_address(app, "203.0.113.20")
    assert sign_in(owner, agent.email, PASSWORD).status_code == 303


def test_failures_from_many_addresses_slow_the_account_down_but_never_for_long(
    app: FastAPI, agent: Staff
) -> None:
    statuses = []
    waits = []
    for n in range(ACCOUNT_FREE_FAILURES + 4):
        answer = sign_in(from_address(app, f"198.51.100.{n + 1}"), agent.email, f"guess {n}")
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            waits.append(int(answer.headers["Retry-After"]))
    # The free failures, one more that starts the delay, then refusals until it passes.
    assert statuses[: ACCOUNT_FREE_FAILURES + 1] == [401] * (ACCOUNT_FREE_FAILURES + 1)
    assert set(statuses[ACCOUNT_FREE_FAILURES + 1 :]) == {429}
    assert all(0 < wait <= ACCOUNT_DELAY_CAP + 1 for wait in waits)
    # The owner too is told to wait, but seconds, not the quarter hour of a lockout.
    owner = sign_in(from_address(app, "203.0.113.20"), agent.email, PASSWORD)
    assert owner.status_code == 429
    assert int(owner.headers["Retry-After"]) <= ACCOUNT_DELAY_CAP + 1


def test_a_right_password_is_not_counted_as_a_failure(client: TestClient, agent: Staff) -> None:
    for _ in range(FAILURES_PER_EMAIL + 3):
        assert sign_in(client, agent.email, PASSWORD).status_code == 303
    assert sign_in(client, agent.email, "a typo").status_code == 401


def test_a_restart_keeps_the_lockout_on_postgresql(
    client: TestClient, settings: Settings, clock: FixedClock, agent: Staff
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite runs one process; its limits live in that process's memory")
    for _ in range(FAILURES_PER_EMAIL):
        assert sign_in(client, agent.email, "guess guess guess").status_code == 401
    restarted = create_app(settings, clock=clock)
    with TestClient(
        restarted, base_url="https://testserver", raise_server_exceptions=False
    ) as again:
        assert sign_in(again, agent.email, "still guessing").status_code == 429
