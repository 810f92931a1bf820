"""The one settings object: every knob is a ``RUMBO_*`` environment variable.

Defaults make ``make run`` work on a laptop; in production (``RUMBO_ENV=production``)
Rumbo refuses to start with the development secret.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "rumbo-development-secret-change-me"
# 256 bits: HMAC-SHA256 keys shorter than the hash output weaken it (RFC 2104, section 3).
MIN_SECRET_BYTES = 32
# A random 32-byte secret in any text encoding (hex, base64) has far more distinct
# characters than this; "aaaa…" or a repeated word does not.
_MIN_DISTINCT_CHARACTERS = 12


def is_strong_secret(value: str) -> bool:
    """At least 32 bytes that do not look typed by hand (not the development default)."""
    return (
        value != DEVELOPMENT_SECRET
        and len(value.encode()) >= MIN_SECRET_BYTES
        and len(set(value)) >= _MIN_DISTINCT_CHARACTERS
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RUMBO_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = Field(
        "sqlite:///./rumbo.db",
        description="SQLAlchemy URL; postgresql://… runs on PostgreSQL (psycopg 3).",
    )
    base_url: str = Field("http://127.0.0.1:8000", description="Public URL for tracking links.")
    secret_key: str = Field(DEVELOPMENT_SECRET, description="Signs tracking tokens and cookies.")
    track_token_ttl_seconds: int = Field(1800, ge=60, description="Life of a verification token.")
    max_batch_size: int = Field(1000, ge=1, le=10_000)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Largest request body.")
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        "NORMAL",
        description="SQLite durability: NORMAL survives a process crash; FULL also a power cut.",
    )
    max_clock_skew_seconds: int = Field(
        900,
        ge=0,
        le=86_400,
        description="How far ahead of the server's clock an event or a device fix may be dated.",
    )
    writer_threads: int | None = Field(
        None,
        ge=1,
        le=32,
        description="Threads per API process that store events and new orders, each a"
        " transaction at a time; default 1 (measured: 4 on PostgreSQL gained nothing on"
        " 2 cores, benchmarks/README.md). SQLite has one write lock: more never help.",
    )
    mqtt_url: str | None = Field(
        None, description="mqtt://host:1883 of the device broker; unset: no MQTT subscriber."
    )
    arriving_soon_meters: float = Field(
        1000.0, gt=0, description="Courier this close to a destination: arriving soon."
    )
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = Field("json", description="Log lines as JSON or text.")
    metrics_token: str | None = Field(
        None,
        description="If set, GET /metrics needs `Authorization: Bearer <token>`; "
        "required in production.",
    )
    api_docs: bool | None = Field(
        None,
        description="Serve /docs, /redoc and /openapi.json; default: on except in production.",
    )
    shutdown_grace_seconds: int = Field(
        20, ge=1, description="On SIGTERM, in-flight requests get this long to finish."
    )
    # Abuse limits, per process (see rumbo.kit.ratelimit), per minute.
    limit_lookups_per_client: int = Field(
        600, ge=1, description="Tracking lookups (API and pages) per client address per minute."
    )
    limit_streams_per_client: int = Field(
        10, ge=1, description="Live tracking-page streams open at once per client address."
    )
    limit_streams_per_process: int = Field(
        1000, ge=1, description="Live tracking-page streams open at once in one process."
    )
    limit_lookups_shared: bool = Field(
        False,
        description="On PostgreSQL, count lookups in the shared table (one upsert per "
        "lookup; see benchmarks/limits.py). Off by default: the lookup budget sheds load "
        "(a 60-bit code is not guessed by lookups), so per process in memory keeps the "
        "hottest path free of database trips; the guessing limits (verify, sign-in, "
        "device ids) are always shared.",
    )
    limit_requests_per_key: int = Field(
        60_000, ge=1, description="Store API requests per API key per minute."
    )
    limit_positions_per_device: int = Field(
        600, ge=1, description="OsmAnd requests per device per minute."
    )
    limit_unknown_devices_per_client: int = Field(
        20, ge=1, description="OsmAnd requests naming an unknown device id, per address per hour."
    )
    limit_questions_per_client: int = Field(
        30, ge=1, description="Assistant questions per client address per minute."
    )
    limit_questions_per_code: int = Field(
        60, ge=1, description="Assistant questions about one tracking code per hour (all clients)."
    )
    models_dir: Path = Field(Path("models"), description="Delivery-date model versions (CURRENT).")
    rescore_seconds: float = Field(900.0, ge=10, description="How often open orders are re-scored.")

    # Notifications: channels left unset suppress their messages visibly
    # ("channel_not_configured"), they are never silently dropped.
    smtp_host: str | None = Field(None, description="SMTP server; unset: no e-mail.")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = Field("notificacoes@rumbo.localhost", description="Envelope and From.")
    twilio_account_sid: str | None = Field(None, description="Twilio account; unset: no SMS.")
    twilio_auth_token: str | None = None
    twilio_from: str | None = Field(None, description="Sender number (E.164) or MG… service.")
    twilio_base_url: str = "https://api.twilio.com"
    # WhatsApp senders are per merchant (PUT /api/v1/whatsapp); only the host is global.
    whatsapp_base_url: str = Field(
        "https://graph.facebook.com", description="Cloud API host (tests: a local server)."
    )
    vapid_private_key: str | None = Field(
        None,
        description="Web Push VAPID key: base64url of a P-256 private key's 32 bytes "
        "(`rumbo vapid-key` makes one); unset: no push.",
    )
    vapid_subject: str = Field(
        "mailto:notificacoes@rumbo.localhost", description="VAPID contact (RFC 8292 §2.1)."
    )
    webhook_allowed_networks: str = Field(
        "",
        description="Comma-separated CIDR networks webhooks may reach although not public "
        "(on-premises receivers), e.g. `10.20.0.0/16,fd00:1::/64`; unset: public addresses only.",
    )
    notification_batch_size: int = Field(100, ge=1, le=1000)
    notification_concurrency: int = Field(50, ge=1, le=1000)
    notification_lease_seconds: int = Field(120, ge=10)
    notification_merge_seconds: int = Field(
        300,
        ge=0,
        description="How long shopper e-mails and SMS wait so that news close together "
        "goes out as one message (the furthest status); 0 sends each at once.",
    )
    run_worker_in_process: bool | None = Field(
        None, description="Run `rumbo worker` inside `rumbo serve`; default: on with SQLite."
    )

    @property
    def worker_in_process(self) -> bool:
        if self.run_worker_in_process is not None:
            return self.run_worker_in_process
        return self.is_sqlite and self.env != "test"

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the entry
        return value

    @model_validator(mode="after")
    def _refuse_weak_production(self) -> Settings:
        if self.env != "production":
            return self
        if not is_strong_secret(self.secret_key):
            raise ValueError(
                f"RUMBO_SECRET_KEY must be at least {MIN_SECRET_BYTES} random bytes in "
                "production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if not self.metrics_token or not is_strong_secret(self.metrics_token):
            raise ValueError(
                f"RUMBO_METRICS_TOKEN must be set to at least {MIN_SECRET_BYTES} random bytes "
                "in production: /metrics tells traffic and queue sizes"
            )
        return self

    @property
    def serve_api_docs(self) -> bool:
        if self.api_docs is not None:
            return self.api_docs
        return self.env != "production"

    @property
    def max_clock_skew(self) -> timedelta:
        return timedelta(seconds=self.max_clock_skew_seconds)

    @property
    def writers(self) -> int:
        return 1 if self.is_sqlite else (self.writer_threads or 1)

    @property
    def sqlalchemy_url(self) -> str:
        return normalize_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


def normalize_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` and ``postgresql://`` forms and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_of(request: Request) -> Settings:
    """The application's settings (for helpers that hold the request: see SettingsDep)."""
    settings: Settings = request.app.state.settings
    return settings


async def _settings(request: Request) -> Settings:
    return settings_of(request)


# ``async``: FastAPI runs a plain ``def`` dependency on a worker thread, a hop per request.
SettingsDep = Annotated[Settings, Depends(_settings)]
