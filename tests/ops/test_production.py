"""Production means production: strong secrets, a protected /metrics, no API map by default."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rumbo.app import create_app
from rumbo.config import DEVELOPMENT_SECRET, Settings

STRONG = secrets.token_urlsafe(32)
TOKEN = secrets.token_urlsafe(32)


def production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "production",
        "database_url": "sqlite:///:memory:",
        "secret_key": STRONG,
        "metrics_token": TOKEN,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "secret",
    [DEVELOPMENT_SECRET, "a", "x" * 64, "correct horse battery staple", "ab" * 32, "0123456789"],
)
def test_production_refuses_a_short_or_typed_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="RUMBO_SECRET_KEY"):
        production(secret_key=secret)


@pytest.mark.parametrize("token", [None, "", "metrics", "t" * 40])
def test_production_refuses_to_start_without_a_metrics_token(token: str | None) -> None:
    with pytest.raises(ValidationError, match="RUMBO_METRICS_TOKEN"):
        production(metrics_token=token)


def test_random_secrets_of_32_bytes_start() -> None:
    assert production().secret_key == STRONG
    assert production(secret_key=secrets.token_hex(32)).env == "production"


def test_development_still_starts_with_the_default_secret() -> None:
    assert Settings(database_url="sqlite:///:memory:").secret_key == DEVELOPMENT_SECRET


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_api_docs_are_off_in_production_unless_enabled(path: str) -> None:
    assert TestClient(create_app(production())).get(path).status_code == 404
    assert TestClient(create_app(production(api_docs=True))).get(path).status_code == 200


def test_metrics_need_the_token_in_production(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "rumbo.db")
    # Without the lifespan (no worker, no assistant warm-up): only the routes matter here.
    client = TestClient(create_app(production(database_url=f"sqlite:///{tmp_path}/rumbo.db")))
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
