"""Migration 0012: orders stored under the old precedence are re-derived under the phase
rule; orders the rule does not change are left untouched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import select, update

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.events.service import NormalizedEvent, ingest
from rumbo.events.status import Status
from rumbo.merchants.service import create_merchant
from rumbo.migrations import alembic_config
from rumbo.models import Order, Shipment
from rumbo.orders.schemas import OrderCreate
from rumbo.orders.service import create_order
from tests.factories import order_body
from tests.test_order_documents_migration import private_url

__all__ = ["private_url"]

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _event(
    external_id: str, event_id: str, status: Status, hour: int, **extra: Any
) -> NormalizedEvent:
    return NormalizedEvent(
        source="carrier" if "carrier" in extra else "payment",
        event_id=event_id,
        status=status,
        occurred_at=datetime(2026, 11, 22, hour, tzinfo=UTC),
        raw="{}",
        external_id=external_id,
        **extra,
    )


def test_a_late_payment_stored_above_a_shipped_parcel_is_re_derived(private_url: str) -> None:
    db = Database(Settings(database_url=private_url, env="test", secret_key="test"))
    with db.session() as session:
        merchant = create_merchant(session, "Loja", NOW).merchant_id
        shipped, untouched = (
            create_order(session, merchant, OrderCreate.model_validate(order_body()), NOW)[0]
            for _ in range(2)
        )
        ingest(
            session,
            merchant,
            list(
                enumerate(
                    [
                        _event(
                            shipped.external_id,
                            "scan-1",
                            Status.SHIPPED,
                            10,
                            carrier="correios",
                            tracking_number="PN1BR",
                        ),
                        _event(shipped.external_id, "pay-1", Status.PAYMENT_CONFIRMED, 11),
                        _event(untouched.external_id, "pay-2", Status.PAYMENT_CONFIRMED, 11),
                    ]
                )
            ),
            NOW,
        )
        shipped_id, untouched_id = shipped.id, untouched.id
    # What the previous rule stored: the later payment won on time.
    paid_at = datetime(2026, 11, 22, 11, tzinfo=UTC)
    with db.session() as session:
        old = {"status": "payment_confirmed", "status_at": paid_at}
        session.execute(update(Shipment).where(Shipment.order_id == shipped_id).values(**old))
        session.execute(update(Order).where(Order.id == shipped_id).values(**old))
        before = session.execute(
            select(Order.id, Order.version, Order.status).order_by(Order.id)
        ).all()

    config = alembic_config(private_url)
    command.downgrade(config, "0012-1")
    command.upgrade(config, "heads")

    with db.session(write=False) as session:
        after = {
            row.id: row
            for row in session.execute(
                select(Order.id, Order.version, Order.status, Order.status_at)
            )
        }
        parcel = session.execute(
            select(Shipment.status).where(Shipment.order_id == shipped_id)
        ).one()
    versions = {row.id: row.version for row in before}
    assert after[shipped_id].status == "shipped"
    assert after[shipped_id].status_at == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert after[shipped_id].version == versions[shipped_id] + 1
    assert parcel.status == "shipped"
    assert after[untouched_id].status == "payment_confirmed"
    assert after[untouched_id].version == versions[untouched_id]
    db.dispose()
