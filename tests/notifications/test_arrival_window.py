"""The "arriving between …" notice: told once when the day's route is set, updated only
when the window moves materially, never after the delivery; "arriving soon" folds into it."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.models import Order, OutboxMessage, RoutePlan
from rumbo.notifications.arrival import (
    MAX_UPDATES,
    Window,
    enqueue_arrival_windows,
    moved_materially,
    next_notice,
)
from rumbo.notifications.channels.sms import sms_text
from rumbo.notifications.channels.whatsapp import WhatsAppSender, template_request
from rumbo.notifications.message import Kind
from rumbo.notifications.rendering import texts_for
from rumbo.notifications.schemas import PreferencesIn
from rumbo.notifications.service import set_preferences
from rumbo.routes.announce import StopWindow, WindowsSet
from rumbo.routes.tasks import announce_live_windows
from tests.conftest import NOW, Tenant
from tests.devices.conftest import DESTINATION, register
from tests.factories import event_body
from tests.routes.conftest import couriers, depot, parcel

from .conftest import SmtpHandler, make_message
from .outbox_support import rows, run_worker

DAY = date(2026, 11, 23)
SHIFT_START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 09:00 in São Paulo
BASE = datetime(2026, 11, 23, 17, 20, tzinfo=UTC)  # 14:20 in São Paulo


def window(start_minutes: int, width_minutes: int = 30) -> Window:
    start = BASE + timedelta(minutes=start_minutes)
    return Window(start, start + timedelta(minutes=width_minutes))


# ------------------------------------------------------------------------------ the rule


@pytest.mark.parametrize(
    ("told", "new", "material"),
    [
        (window(0), window(0), False),
        (window(0), window(10), False),  # 14:30–15:00 after 14:20–14:50: same afternoon
        (window(0), window(20), False),  # exactly the threshold: not more than it
        (window(0), window(21), True),
        (window(0), window(-25), True),
        (window(0, 30), window(0, 55), True),  # the end slips 25 minutes
        (window(0, 120), window(50, 120), False),  # a wide window tolerates half its width
        (window(0, 120), window(61, 120), True),
        (window(0, 10), window(15, 10), True),  # no longer overlapping, though < 20 min
    ],
)
def test_what_counts_as_a_material_move(told: Window, new: Window, material: bool) -> None:
    assert moved_materially(told, new) is material


def test_the_first_window_is_told_then_only_material_moves_up_to_the_daily_limit() -> None:
    assert next_notice([], window(0)) == 0
    assert next_notice([window(0)], window(5)) is None
    assert next_notice([window(0)], window(60)) == 1
    told = [window(60 * n) for n in range(MAX_UPDATES + 1)]
    assert next_notice(told, window(60 * (MAX_UPDATES + 1))) is None  # the limit is reached
    assert next_notice([window(0), window(60)], window(0)) is None  # told once already


windows = st.builds(
    window, st.integers(min_value=-180, max_value=180), st.sampled_from([10, 30, 60, 120])
)


@given(st.lists(windows, min_size=1, max_size=15))
def test_notices_follow_material_moves_only(sequence: list[Window]) -> None:
    told: list[Window] = []
    for new in sequence:
        number = next_notice(told, new)
        if number is None:
            # Skipped: not material against the last one told, already told, or the limit.
            assert told
            assert not moved_materially(told[-1], new) or new in told or len(told) > MAX_UPDATES
        else:
            assert number == len(told)
            assert not told or moved_materially(told[-1], new)
            told.append(new)
    assert 1 <= len(told) <= 1 + MAX_UPDATES
    assert len(set(told)) == len(told)  # never two identical notices


# ------------------------------------------------------------------------------- texts


@pytest.mark.parametrize(
    ("language", "subject", "sms"),
    [
        ("pt-BR", "Seu pedido K7Q4M2XP9R chega entre 14:20 e 14:50", "chega entre 14:20 e 14:50"),
        ("es", "Tu pedido K7Q4M2XP9R llega entre las 14:20 y las 14:50", "las 14:20 y las 14:50"),
        ("en", "Your order K7Q4M2XP9R arrives between 2:20 PM and 2:50 PM", "2:20 PM and 2:50 PM"),
    ],
)
def test_the_window_is_shown_on_the_destinations_clock_in_each_language(
    language: str, subject: str, sms: str
) -> None:
    message = make_message(kind=Kind.ARRIVAL_WINDOW, language=language)
    texts = texts_for(message)
    assert texts.subject % {"code": message.tracking_code} == subject
    assert "23" in texts.body  # the day of the route
    assert sms in sms_text(message)


def test_the_whatsapp_template_gets_the_window_as_its_fourth_and_fifth_variables() -> None:
    sender = WhatsAppSender("1", "t", templates={"arrival_window": {"pt-BR": "chega_entre"}})
    body = template_request(sender, make_message(kind=Kind.ARRIVAL_WINDOW))
    values = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert body["template"]["name"] == "chega_entre"
    assert values[3:] == ["14:20", "14:50"]
    shipped = template_request(
        WhatsAppSender("1", "t", templates={"shipped": {"pt-BR": "enviado"}}), make_message()
    )
    assert len(shipped["template"]["components"][0]["parameters"]) == 3


def test_an_arrival_window_notice_without_its_window_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="needs its window"):
        make_message(kind=Kind.ARRIVAL_WINDOW, window_start=None, window_end=None)


# ---------------------------------------------------------------------- through the outbox


def _hook(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/api/v1/webhooks", json={"url": "https://store.example/hooks"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text


def _plan(client: TestClient, tenant: Tenant, count: int) -> list[dict[str, Any]]:
    """``count`` parcels out for delivery, planned for the day on one courier."""
    depot_id = depot(client, tenant)
    orders = [
        parcel(client, tenant, (DESTINATION[0] + 0.003 * n, DESTINATION[1])) for n in range(count)
    ]
    response = client.post(
        "/api/v1/routes/plans",
        json={"depot_id": depot_id, "day": DAY.isoformat(), "shifts": couriers(client, tenant, 1)},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return orders


def _notices(db: Database, order_id: int) -> list[tuple[int, str, str, str | None]]:
    return [
        (r.payload["notice"], r.channel, r.status, r.suppressed_reason)
        for r in rows(db, order_id)
        if r.kind == Kind.ARRIVAL_WINDOW.value
    ]


def _announce(
    db: Database, tenant: Tenant, order: dict[str, Any], new: Window, *, at: datetime = NOW
) -> int:
    stop = StopWindow(
        order_id=order["id"],
        shipment_id=order["shipment_id"],
        number=1,
        stops=1,
        start=new.start,
        end=new.end,
        shift_starts_at=SHIFT_START,
    )
    with db.session() as session:
        return enqueue_arrival_windows(session, WindowsSet(tenant.merchant_id, 1, DAY, [stop], at))


def test_a_planned_day_tells_each_shopper_once_on_each_chosen_channel(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    _hook(client, tenant)
    orders = _plan(client, tenant, 2)
    for order in orders:
        notices = _notices(db, order["id"])
        assert sorted(notices) == [(0, "email", "queued", None), (0, "webhook", "queued", None)]
        [email] = [r for r in _rows(db, order["id"], "arrival_window") if r.channel == "email"]
        assert email.payload["stop"] in (1, 2)
        assert email.payload["stops"] == 2
        assert email.payload["window_start"] < email.payload["window_end"]
        # "Out for delivery", queued minutes before, merged into the window's notice.
        ofd = [r for r in _rows(db, order["id"], "out_for_delivery") if r.channel == "email"]
        assert [(r.status, r.suppressed_reason) for r in ofd] == [("suppressed", "superseded")]

    # Re-planning the day with nothing changed tells no one anything new.
    with db.session(write=False) as session:
        plan_id = session.scalars(select(RoutePlan.id)).one()
    replanned = client.post(f"/api/v1/routes/plans/{plan_id}/replan", headers=tenant.headers)
    assert replanned.status_code == 200, replanned.text
    for order in orders:
        assert len(_notices(db, order["id"])) == 2


def _rows(db: Database, order_id: int, kind: str) -> list[OutboxMessage]:
    return [r for r in rows(db, order_id) if r.kind == kind]


def test_the_worker_sends_the_window_on_the_destinations_clock(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    smtp_server: Callable[..., tuple[Controller, SmtpHandler]],
) -> None:
    controller, handler = smtp_server()
    settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": int(controller.port)}
    )
    [order] = _plan(client, tenant, 1)
    [notice] = _rows(db, order["id"], "arrival_window")
    zone = ZoneInfo("America/Sao_Paulo")
    start, end = (
        datetime.fromisoformat(notice.payload[f"window_{bound}"]).astimezone(zone)
        for bound in ("start", "end")
    )
    clock.advance(timedelta(minutes=6))
    assert run_worker(settings, db, clock) == 1  # "out for delivery" was merged into it
    [received] = handler.received
    mail = email.message_from_bytes(received.content, policy=email.policy.default)
    code = order["tracking_code"]
    assert mail["Subject"] == f"Seu pedido {code} chega entre {start:%H:%M} e {end:%H:%M}"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    assert "23 de novembro" in text.get_content()


def test_a_shopper_who_turned_email_off_is_not_told_by_email(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    [order] = [parcel(client, tenant, DESTINATION)]
    with db.session() as session:
        set_preferences(
            session, session.get_one(Order, order["id"]), PreferencesIn(email=False), NOW
        )
    assert _announce(db, tenant, order, window(0)) == 1
    assert _notices(db, order["id"]) == [(0, "email", "suppressed", "opted_out")]


def test_small_moves_tell_nothing_and_a_material_move_tells_once(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = parcel(client, tenant, DESTINATION)
    assert _announce(db, tenant, order, window(0)) == 1
    assert _announce(db, tenant, order, window(10)) == 0
    assert _announce(db, tenant, order, window(-15, 40)) == 0
    assert _announce(db, tenant, order, window(60), at=NOW + timedelta(minutes=30)) == 1
    assert _announce(db, tenant, order, window(60), at=NOW + timedelta(minutes=40)) == 0
    assert [(n, c) for n, c, _, _ in _notices(db, order["id"])] == [(0, "email"), (1, "email")]
    [update] = [r for r in _rows(db, order["id"], "arrival_window") if r.payload["notice"] == 1]
    assert datetime.fromisoformat(update.payload["window_start"]) == window(60).start


def test_an_update_minutes_after_the_first_notice_replaces_it(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = parcel(client, tenant, DESTINATION)
    _announce(db, tenant, order, window(0))
    _announce(db, tenant, order, window(60), at=NOW + timedelta(minutes=2))
    assert _notices(db, order["id"]) == [
        (0, "email", "suppressed", "superseded"),
        (1, "email", "queued", None),
    ]


def test_nothing_more_once_delivered_or_after_a_failed_attempt(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    delivered, failed = parcel(client, tenant, DESTINATION), parcel(client, tenant, DESTINATION)
    for order in (delivered, failed):
        assert _announce(db, tenant, order, window(0)) == 1
    for order, status in ((delivered, "delivered"), (failed, "delivery_failed")):
        body = event_body(
            None,
            carrier="correios",
            tracking_number=order["tracking_number"],
            status=status,
            occurred_at="2026-11-23T09:10:00-03:00",
        )
        response = client.post("/api/v1/events", json=[body], headers=tenant.headers)
        assert response.status_code < 300, response.text
        assert _announce(db, tenant, order, window(90), at=NOW + timedelta(hours=3)) == 0
        assert [n for n, _, _, _ in _notices(db, order["id"])] == [0]


def test_arriving_soon_folds_into_the_window_for_a_planned_parcel(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    _hook(client, tenant)
    [planned] = _plan(client, tenant, 1)
    unplanned = parcel(client, tenant, DESTINATION)  # came after the plan: not on it
    device_id = register(client, tenant)
    client.put(
        f"/api/v1/devices/{device_id}/route",
        json={"shipment_ids": [planned["shipment_id"], unplanned["shipment_id"]]},
        headers=tenant.headers,
    )
    at = int((NOW - timedelta(minutes=1)).timestamp())
    lat, lon = DESTINATION
    fix = client.get(f"/osmand?id={device_id}&lat={lat}&lon={lon}&timestamp={at}")
    assert fix.status_code == 200
    kinds_planned = {r.kind for r in rows(db, planned["id"])}
    kinds_unplanned = {r.kind for r in rows(db, unplanned["id"])}
    assert "arrival_window" in kinds_planned
    assert "arriving_soon" not in kinds_planned
    assert "arriving_soon" in kinds_unplanned


def test_a_courier_running_late_moves_the_live_window_and_the_shopper_is_told_once(
    client: TestClient, tenant: Tenant, db: Database, clock: FixedClock
) -> None:
    [order] = _plan(client, tenant, 1)
    with db.session(write=False) as session:
        plan_id = session.scalars(select(RoutePlan.id)).one()
    plan = client.get(f"/api/v1/routes/plans/{plan_id}", headers=tenant.headers).json()
    device_id = plan["couriers"][0]["device_id"]
    planned = plan["couriers"][0]["stops"][0]["window_start"]
    assert announce_live_windows(db, clock.now()) == 1  # not on the road yet: the plan's
    assert len(_notices(db, order["id"])) == 1

    # Half an hour into the shift the courier is still ~45 km away.
    clock.advance(timedelta(minutes=30))
    at = int((clock.now() - timedelta(minutes=1)).timestamp())
    lat, lon = DESTINATION[0] - 0.4, DESTINATION[1]
    fix = client.get(f"/osmand?id={device_id}&lat={lat}&lon={lon}&timestamp={at}")
    assert fix.status_code == 200
    for _ in range(3):  # the worker's passes: the same late window is told once
        assert announce_live_windows(db, clock.now()) == 1
    notices = _rows(db, order["id"], "arrival_window")
    assert [r.payload["notice"] for r in notices] == [0, 1]
    late = datetime.fromisoformat(notices[1].payload["window_start"])
    assert late > datetime.fromisoformat(planned) + timedelta(minutes=20)


# ---------------------------------------------------------------------------- property


@examples(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(windows, min_size=1, max_size=8))
def test_stored_notices_equal_the_material_moves_and_never_repeat(
    client: TestClient, tenant: Tenant, db: Database, sequence: list[Window]
) -> None:
    order = parcel(client, tenant, DESTINATION)
    expected: list[Window] = []
    for step, new in enumerate(sequence):
        if next_notice(expected, new) is not None:
            expected.append(new)
        # An hour apart: no two notices merge, each one stands as sent.
        _announce(db, tenant, order, new, at=NOW + timedelta(hours=step))
    stored = _rows(db, order["id"], "arrival_window")
    told = [
        Window(
            datetime.fromisoformat(r.payload["window_start"]),
            datetime.fromisoformat(r.payload["window_end"]),
        )
        for r in sorted(stored, key=lambda r: r.payload["notice"])
    ]
    assert told == expected  # one e-mail per material move, bounded by the daily limit
    assert len(set(told)) == len(told)
    assert len({r.idempotency_key for r in stored}) == len(stored)
