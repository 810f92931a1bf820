"""Migration 0015: devices registered before it keep working with the identifier they
send, which stays their handle, and only its hash is kept."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.merchants.service import create_merchant
from rumbo.migrations import alembic_config
from rumbo.models import Device
from tests.test_order_documents_migration import private_url

__all__ = ["private_url"]

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_devices_registered_before_keep_working(private_url: str) -> None:
    config = alembic_config(private_url)
    command.downgrade(config, "0015-1")
    settings = Settings(database_url=private_url, env="test", secret_key="test")
    db = Database(settings)
    with db.session() as session:
        created = create_merchant(session, "Loja", NOW)
        merchant_id, api_key = created.merchant_id, created.api_key
    with db.engine.begin() as conn:
        for device_id in ("902064", "courier-1970"):
            conn.execute(
                text(
                    "INSERT INTO devices (merchant_id, device_id, name, created_at) "
                    "VALUES (:m, :d, 'Moto', :now)"
                ),
                {"m": merchant_id, "d": device_id, "now": NOW},
            )
    db.dispose()
    command.upgrade(config, "heads")

    app = create_app(settings, clock=FixedClock(NOW))
    with TestClient(app, raise_server_exceptions=False) as client:
        at = int(NOW.timestamp()) - 60
        for device_id in ("902064", "courier-1970"):
            sent = client.post(f"/osmand?id={device_id}&lat=-23.56&lon=-46.65&timestamp={at}")
            assert sent.status_code == 200, sent.text
        auth = {"Authorization": f"Bearer {api_key}"}
        listed = client.get("/api/v1/devices", headers=auth).json()
        assert sorted(d["device_id"] for d in listed) == ["902064", "courier-1970"]
        rotated = client.post("/api/v1/devices/902064/rotate", headers=auth)
        assert rotated.status_code == 200, rotated.text
        assert (
            client.post(f"/osmand?id=902064&lat=-23.56&lon=-46.65&timestamp={at}").status_code
            == 400
        )
    with app.state.db.session(write=False) as session:
        kept = session.scalar(select(Device).where(Device.device_id == "courier-1970"))
    assert kept is not None
    assert kept.secret_hash == hashlib.sha256(b"courier-1970").hexdigest()
    app.state.db.dispose()
