"""Merchants and their API keys."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.errors import NotFound
from rumbo.models import ApiKey, Merchant

KEY_PREFIX = "rk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewMerchant:
    merchant_id: int
    api_key: str


def create_merchant(session: Session, name: str, now: datetime) -> NewMerchant:
    merchant = Merchant(name=name, created_at=now)
    session.add(merchant)
    session.flush()
    return NewMerchant(merchant.id, issue_key(session, merchant.id, now))


def issue_key(session: Session, merchant_id: int, now: datetime) -> str:
    """A new secret key; only its hash is stored, so this is the one time it is seen."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(merchant_id=merchant_id, key_hash=hash_key(key), prefix=key[:10], created_at=now)
    )
    session.flush()
    return key


def get_merchant(session: Session, merchant_id: int) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("No such merchant.")
    return merchant


def update_merchant(session: Session, merchant_id: int, changes: dict[str, Any]) -> Merchant:
    merchant = get_merchant(session, merchant_id)
    for field, value in changes.items():
        setattr(merchant, field, value)
    session.flush()
    return merchant


class KeyCache:
    """Which merchant a key belongs to, remembered briefly to spare a query per request.

    A revoked key stops working within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[int, float]] = {}

    def cached(self, key: str) -> int | None:
        """The key's merchant if remembered and fresh, else ``None``; no I/O."""
        hit = self._entries.get(hash_key(key))
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def merchant_for(self, session: Session, key: str) -> int | None:
        digest = hash_key(key)
        hit = self._entries.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        merchant_id = session.scalar(
            select(ApiKey.merchant_id).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
        )
        if merchant_id is None:
            self._entries.pop(digest, None)
            return None
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[digest] = (merchant_id, now + self.ttl)
        return merchant_id
