"""``rumbo import events``: warehouse and payment CSVs, idempotent, every row accounted for."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rumbo.carriers.imports import BATCH_SIZE, import_events
from rumbo.cli import app
from rumbo.config import get_settings
from rumbo.db import Database
from tests.carriers.factories import order_status, order_with_parcel
from tests.conftest import NOW, Tenant
from tests.factories import order_body

# The rows are dated up to a day after NOW; the import runs once they have happened.
LATER = NOW + timedelta(days=2)

HEADER = "event_id,source,external_id,tracking_code,carrier,tracking_number,status,occurred_at,city,state,country,description\n"  # noqa: E501


def new_order(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    response = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_warehouse_and_payment_rows_move_orders_and_bad_rows_are_reported_by_line(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    paid = new_order(client, tenant)
    refunded = new_order(client, tenant)
    parcel = order_with_parcel(client, tenant, "correios", "PN123456789BR")
    csv = HEADER + (
        f"pay-1,payment,{paid['external_id']},,,,approved,2026-11-23T13:58:00-03:00,,,,Approved\n"
        f"wms-1,warehouse,{paid['external_id']},,,,picking,2026-11-23T14:05:00-03:00,Cajamar,SP,BR,\n"  # noqa: E501
        f"wms-2,warehouse,,{paid['tracking_code']},,,dispatch,2026-11-23T18:10:00-03:00,,,,\n"
        f"pay-2,payment,{refunded['external_id']},,,,refunded,2026-11-24T09:00:00-03:00,,,,\n"
        "sro-1,carrier,,,correios,PN123456789BR,in_transit,2026-11-24T08:00:00-03:00,,,,\n"
        f"bad-1,warehouse,{paid['external_id']},,,,teleported,2026-11-23T14:05:00-03:00,,,,\n"
        f"bad-2,warehouse,{paid['external_id']},,,,preparing,2026-11-23T14:05:00,,,,\n"
        "bad-3,warehouse,NO-SUCH-ORDER,,,,preparing,2026-11-23T14:05:00-03:00,,,,\n"
        f"wms-1,warehouse,{paid['external_id']},,,,picking,2026-11-23T14:05:00-03:00,,,,again\n"
    )
    summary = import_events(db, tenant.merchant_id, io.StringIO(csv), LATER)
    assert (summary.imported, summary.duplicates) == (5, 0)
    assert [(r.line, r.event_id) for r in summary.rejected] == [
        (7, "bad-1"),
        (8, "bad-2"),
        (9, "bad-3"),
        (10, "wms-1"),  # the same id as line 3 with another place and text: a conflict
    ]
    assert "status" in summary.rejected[0].reason
    assert "occurred_at" in summary.rejected[1].reason
    assert summary.rejected[2].reason == "No order matches this event."
    assert "conflict" not in summary.rejected[3].reason  # a readable sentence, not a code
    assert "only an identical event is a duplicate" in summary.rejected[3].reason
    assert order_status(client, tenant, paid["id"]) == "shipped"
    assert order_status(client, tenant, refunded["id"]) == "cancelled"
    assert order_status(client, tenant, parcel["id"]) == "in_transit"
    timeline = client.get(f"/api/v1/orders/{paid['id']}/events", headers=tenant.headers).json()
    picking = next(e for e in timeline if e["event_id"] == "wms-1")
    assert picking["status"] == "preparing"
    assert picking["raw"]["status"] == "picking"  # the warehouse's own word is kept
    assert picking["location"]["city"] == "Cajamar"

    again = import_events(db, tenant.merchant_id, io.StringIO(csv), LATER)
    assert (again.imported, again.duplicates, len(again.rejected)) == (0, 5, 4)
    assert order_status(client, tenant, paid["id"]) == "shipped"


def test_a_large_file_streams_in_batches(client: TestClient, tenant: Tenant, db: Database) -> None:
    order = new_order(client, tenant)
    rows = [
        f"scan-{n},warehouse,{order['external_id']},,,,preparing,2026-11-23T14:{n % 60:02d}:00-03:00,,,,\n"  # noqa: E501
        for n in range(BATCH_SIZE * 2 + 7)
    ]
    batches: list[int] = []
    summary = import_events(
        db,
        tenant.merchant_id,
        io.StringIO(HEADER + "".join(rows)),
        LATER,
        on_batch=lambda s: batches.append(s.imported),
    )
    assert summary.imported == len(rows)
    assert batches == [BATCH_SIZE, BATCH_SIZE * 2, len(rows)]


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RUMBO_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_command_prints_a_summary_and_rerunning_changes_nothing(
    client: TestClient, tenant: Tenant, cli_env: None, tmp_path: Path
) -> None:
    order = new_order(client, tenant)
    path = tmp_path / "wms.csv"
    path.write_text(
        HEADER
        + f"wms-9,warehouse,{order['external_id']},,,,packing,2026-11-23T15:40:00-03:00,,,,\n"
        + f"wms-10,warehouse,{order['external_id']},,,,nope,2026-11-23T15:40:00-03:00,,,,\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["import", "events", str(path), "--merchant-id", str(tenant.merchant_id)]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output  # a row was rejected
    assert "imported: 1   duplicate: 0   rejected: 1" in first.output
    assert "line 3 (wms-10)" in first.output
    second = runner.invoke(app, args)
    assert "imported: 0   duplicate: 1   rejected: 1" in second.output
    assert order_status(client, tenant, order["id"]) == "preparing"


def test_an_unknown_merchant_or_a_file_without_the_columns_imports_nothing(
    tenant: Tenant, cli_env: None, tmp_path: Path
) -> None:
    runner = CliRunner()
    path = tmp_path / "x.csv"
    path.write_text("id,what\n1,2\n", encoding="utf-8")
    no_columns = runner.invoke(
        app, ["import", "events", str(path), "--merchant-id", str(tenant.merchant_id)]
    )
    assert no_columns.exit_code == 2
    assert "event_id" in no_columns.output
    no_merchant = runner.invoke(app, ["import", "events", str(path), "--merchant-id", "999"])
    assert no_merchant.exit_code == 2
    assert "No merchant" in no_merchant.output
