"""Which channels announce which news, per merchant: stored rules or the defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from rumbo.models import NotificationRule
from rumbo.notifications.message import Kind
from rumbo.notifications.restraint import Channel

# Without rules of its own a merchant's shoppers hear about the milestones that
# matter to them (and the problems they may have to act on) by e-mail (or the
# WhatsApp / push they asked for), and the
# store's webhooks hear about every status.
DEFAULT_EMAIL_KINDS: frozenset[Kind] = frozenset(
    {
        Kind.PAYMENT_CONFIRMED,
        Kind.SHIPPED,
        Kind.OUT_FOR_DELIVERY,
        Kind.DELIVERED,
        Kind.DELIVERY_FAILED,
        Kind.EXCEPTION,
        Kind.MAY_BE_DELAYED,
        Kind.ARRIVAL_WINDOW,
    }
)
# News that is not a status still reaches the store's app by default.
_PROACTIVE = frozenset({Kind.MAY_BE_DELAYED, Kind.ARRIVING_SOON, Kind.ARRIVAL_WINDOW})

Rules = Mapping[Kind, frozenset[Channel]]


def default_rules() -> dict[Kind, frozenset[Channel]]:
    rules: dict[Kind, frozenset[Channel]] = {}
    for kind in Kind:
        channels: set[Channel] = set()
        if kind in DEFAULT_EMAIL_KINDS:
            # WhatsApp and push carry the same news, but only to shoppers who turned
            # them on (see restraint.choose_channels); then they replace e-mail.
            channels.update((Channel.EMAIL, Channel.WHATSAPP, Channel.PUSH))
        if kind.status is not None or kind in _PROACTIVE:
            channels.add(Channel.WEBHOOK)
        if channels:
            rules[kind] = frozenset(channels)
    return rules


# The merchant's stored rules (parameter ``merchant_id``; read them with :func:`rules_from`).
RULES = select(NotificationRule.kind, NotificationRule.channels).where(
    NotificationRule.merchant_id == bindparam("merchant_id")
)


def rules_from(stored: Sequence[Any]) -> tuple[dict[Kind, frozenset[Channel]], bool]:
    """The rules that rows of :data:`RULES` mean, and whether they are the
    defaults (no rule stored)."""
    if not stored:
        return default_rules(), True
    rules: dict[Kind, frozenset[Channel]] = {}
    for kind, channels in stored:
        try:
            rules[Kind(kind)] = frozenset(Channel(c) for c in channels)
        except ValueError:  # a kind or channel from a newer version: ignore, do not crash
            continue
    return rules, False


def effective_rules(
    conn: Connection, merchant_id: int
) -> tuple[dict[Kind, frozenset[Channel]], bool]:
    """The merchant's rules and whether they are the defaults (no rule stored)."""
    return rules_from(list(conn.execute(RULES, {"merchant_id": merchant_id})))
