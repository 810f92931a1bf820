"""``rumbo import events`` on any file: every row is imported, a duplicate or rejected
with its line; a file it cannot read is refused with exit status 2. Nothing else escapes.

The carrier adapters, the OsmAnd decoder and the assistant have their own Hypothesis
tests beside them (tests/carriers/test_robustness.py, tests/devices/test_osmand.py,
tests/assistant/test_robustness.py); this fills in the CSV import.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumbo.carriers.imports import OPTIONAL, REQUIRED, STATUS_WORDS, import_events, import_file
from rumbo.config import Settings
from rumbo.db import Database
from rumbo.events.status import Status
from tests.conftest import NOW, Tenant
from tests.factories import order_body

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

COLUMNS = [*REQUIRED, *OPTIONAL, "notes"]
VALID_AT = "2026-11-23T14:05:00-03:00"
CODE = "PN123456789BR"  # replaced by a real order's tracking code
near_values = st.one_of(
    st.sampled_from([s.value for s in Status] + list(STATUS_WORDS) + ["PICKING", "lost"]),
    st.sampled_from(["warehouse", "payment", "carrier", "store", "psychic", ""]),
    st.sampled_from(
        [
            "2026-11-23T14:05:00-03:00",
            "2026-11-23T14:05:00",
            "2026-13-45T99:00:00Z",
            "0001-01-01T00:00:00+00:00",
            "yesterday",
        ]
    ),
    st.sampled_from(["BR", "br", "Brasil", "PN123456789BR", "correios"]),
    st.text(max_size=30),
)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


files = st.one_of(
    # Well-formed CSV: any subset of the columns, any values, rows too short or too long.
    st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=len(COLUMNS), unique=True).flatmap(
        lambda header: st.builds(
            csv_text,
            st.just(header),
            st.lists(st.lists(near_values, min_size=0, max_size=len(header) + 2), max_size=12),
        )
    ),
    # Valid rows for a real order (see ``aim``), some with fields the header lacks.
    st.builds(
        lambda rows: csv_text(list(REQUIRED) + ["tracking_code"], rows),
        st.lists(
            st.builds(
                lambda n, status, extra: [f"ev-{n}", "warehouse", status, VALID_AT, CODE, *extra],
                st.integers(0, 5),
                st.sampled_from(list(STATUS_WORDS)),
                st.lists(st.text(max_size=5), max_size=2),
            ),
            max_size=8,
        ),
    ),
    # Anything at all after a valid header.
    st.builds(lambda tail: ",".join(COLUMNS) + "\n" + tail, st.text(max_size=300)),
)


def _orders(client: TestClient, tenant: Tenant) -> list[dict[str, Any]]:
    made = []
    for _ in range(2):
        response = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers)
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


@FUZZ
@given(text=files, aim=st.integers(0, 2))
def test_every_row_is_accounted_for_and_a_rerun_changes_nothing(
    client: TestClient, tenant: Tenant, db: Database, text: str, aim: int
) -> None:
    orders = _orders(client, tenant) if aim else []
    # Point some rows at real orders, so valid rows reach ingestion.
    for order in orders:
        text = text.replace(CODE, order["tracking_code"], 1)
    rows = sum(1 for _ in csv.DictReader(io.StringIO(text, newline="")))
    if not set(REQUIRED) <= set(csv.DictReader(io.StringIO(text, newline="")).fieldnames or ()):
        return
    first = import_events(db, tenant.merchant_id, io.StringIO(text, newline=""), NOW)
    assert first.imported + first.duplicates + len(first.rejected) == rows
    again = import_events(db, tenant.merchant_id, io.StringIO(text, newline=""), NOW)
    assert again.imported == 0
    assert again.duplicates == first.imported + first.duplicates
    assert [r.line for r in again.rejected] == [r.line for r in first.rejected]


@FUZZ
@given(content=st.one_of(st.binary(max_size=400), files.map(str.encode)))
def test_the_command_never_crashes(
    settings: Settings, tenant: Tenant, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(content)
    assert import_file(settings, str(path), tenant.merchant_id) in (0, 1, 2)
