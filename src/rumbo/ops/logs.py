"""Logging: one JSON object per line (or plain text), request ids, nothing secret.

Every record passes :class:`Redact` before it is written: configured secrets and
anything shaped like a credential (API keys, bearer tokens, passwords and tokens
in URLs or key=value text, cookies) become ``[secret]``; e-mail addresses, phone
numbers and precise coordinates become ``[email]``, ``[phone]`` and a rounded
value. Names and street addresses cannot be recognised by shape: Rumbo never
logs request bodies, query strings or raw paths (the access line carries the
route template), which is where they would come from.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import logging.config
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "rumbo_request_id", default=None
)
LogFormat = Literal["json", "text"]

_SECRET = "[secret]"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Credentials in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1" + _SECRET + "@"),
    # Authorization headers and bearer tokens.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + _SECRET),
    # Rumbo API keys (rk_…) wherever they appear.
    (re.compile(r"\brk_[A-Za-z0-9_-]{8,}"), _SECRET),
    # key=value / "key": "value" for names that hold secrets (query strings, dicts).
    (
        re.compile(
            r"(?i)([\"']?\b(?:password|passwd|secret|token|api[_-]?key|auth[_-]?token|"
            r"signing[_-]?secret|authorization|cookie|set-cookie|session)[\"']?\s*[=:]\s*[\"']?)"
            r"[^\s\"'&,;}]+"
        ),
        r"\1" + _SECRET,
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # Phone numbers: international (+…), "(11) 99876-5432", or 10–13 bare digits.
    (
        re.compile(
            r"(?<![\w.])(?:\+\d[\d ()-]{7,}\d|\(\d{2,3}\)\s?\d{4,5}-?\d{4}|\d{10,13})(?![\w.])"
        ),
        "[phone]",
    ),
]
# Coordinates with more than 2 decimals (~1 km): rounded, as a place not a doorstep.
_COORDINATE = re.compile(r"(?<![\w.])(-?\d{1,3}\.\d{2})\d+(?![\w.])")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets, credentials or personal data."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, _SECRET)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _COORDINATE.sub(r"\1", text)


class Redact(logging.Filter):
    """Rewrites each record's message (arguments merged) and exception text, redacted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first: a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        record.exc_info = None
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        return True


# LogRecord attributes that are not extras.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} rid={request_id}" if request_id else line


def logging_config(
    level: str = "INFO",
    fmt: LogFormat = "json",
    secrets: Iterable[str] = (),
    access_log: bool = True,
) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for every Rumbo process (uvicorn applies it
    in each worker it starts). Uvicorn's own access log is replaced by Rumbo's."""
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": Redact, "secrets": list(secrets)}},
        "formatters": {"rumbo": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["redact"],
                "formatter": "rumbo",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            "rumbo.access": {"level": "INFO" if access_log else "WARNING"},
            # At DEBUG these print SQL parameters and full URLs (names, addresses,
            # secrets in webhook paths): never below WARNING.
            "sqlalchemy.engine": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
    }


def secrets_of(settings: Any) -> list[str]:
    """The configured values that must never appear in a log."""
    found = [
        settings.secret_key,
        settings.smtp_password,
        settings.twilio_auth_token,
    ]
    for url in (settings.database_url, settings.mqtt_url):
        if url:
            with contextlib.suppress(ValueError):  # unparsable: nothing to pick out
                found.append(unquote(urlsplit(url).password or ""))
    return [str(s) for s in found if s]


def configure(settings: Any, *, access_log: bool = True) -> dict[str, Any]:
    """Apply :func:`logging_config` for ``settings`` in this process; returns it."""
    config = logging_config(
        settings.log_level, settings.log_format, secrets_of(settings), access_log
    )
    logging.config.dictConfig(config)
    return config
