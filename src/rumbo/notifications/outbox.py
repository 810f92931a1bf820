"""The transactional outbox: notifications written in the transaction of their events.

:func:`enqueue_for_changes` runs inside ingestion (subscribed to ``rumbo.events.pipeline``):
the rows it inserts commit or roll back with the events that triggered them, so an
acknowledged event can never lose its notification, and a rolled-back one never
sends one. Each row's ``idempotency_key`` names the news, not the event: the same
status reached twice, from two sources, or reached, undone and reached again
inserts nothing the second time (``ON CONFLICT DO NOTHING``).

Restraint is decided here, once: a burst of news for one order and channel is
coalesced (only the furthest is sent, the others are ``suppressed: superseded``)
and an SMS due in the shopper's quiet hours waits until morning — both only
move ``next_attempt_at`` or set a visible reason, never drop a row.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Integer, Select, Table, bindparam, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.expression import any_

from rumbo.events.pipeline import StatusChange
from rumbo.kit.setwise import arrays, batches_of, read_together, unnest
from rumbo.kit.timezones import zone_name_of
from rumbo.models import Order, OutboxMessage, PushSubscription, ShopperPreference, WebhookEndpoint
from rumbo.notifications.message import Kind
from rumbo.notifications.restraint import (
    OPT_IN_CHANNELS,
    Channel,
    Contact,
    Pending,
    Preference,
    QuietHours,
    Reason,
    ShopperPreferences,
    choose_channels,
    coalesce,
    release_time,
)
from rumbo.notifications.rules import RULES, rules_from

COALESCE_WINDOW = timedelta(minutes=5)
QUIET_HOURS = QuietHours()
_OUTBOX = cast(Table, OutboxMessage.__table__)

QUEUED, SENDING, SENT, FAILED, SUPPRESSED = "queued", "sending", "sent", "failed", "suppressed"
ENDPOINT_DISABLED = "endpoint_disabled"


def idempotency_key(
    merchant_id: int,
    order_id: int,
    kind: Kind,
    channel: Channel,
    *,
    endpoint_id: int | None = None,
    promise: date | None = None,
    occasion: str | None = None,
) -> str:
    """The name of one piece of news on one channel: at most one row ever has it.

    A "may be delayed" warning is about one promise: a new promised date may warn again.
    News that may rightly come more than once (the arrival window's updates) names its
    ``occasion``.
    """
    key = f"m{merchant_id}:o{order_id}:{kind.value}:{channel.value}"
    if endpoint_id is not None:
        key += f":e{endpoint_id}"
    if promise is not None:
        key += f":p{promise.isoformat()}"
    if occasion is not None:
        key += f":{occasion}"
    return key


def webhook_type(kind: Kind) -> str:
    return f"order.{kind.value}"


# A pure decision over a handful of possible inputs, made for every piece of news of a
# batch: remembered rather than recomputed.
_choose = functools.lru_cache(maxsize=1024)(choose_channels)


def _preference(value: bool | None) -> Preference:
    if value is None:
        return Preference.UNSET
    return Preference.ON if value else Preference.OFF


@dataclass(frozen=True, slots=True)
class News:
    """Something to tell about one order: a status reached, or proactive news.

    ``payload`` carries at least ``status`` (the order's status) and ``status_at``
    (ISO 8601); webhooks send it as their ``data``. ``promise`` is the promised
    date a "may be delayed" warning is about, ``occasion`` which of several notices
    of one kind this is (both part of its idempotency key).
    """

    order_id: int
    kind: Kind
    payload: dict[str, Any]
    promise: date | None = None
    occasion: str | None = None


def enqueue_for_changes(
    session: Session,
    merchant_id: int,
    changes: Sequence[StatusChange],
    now: datetime,
    *,
    window: timedelta = COALESCE_WINDOW,
) -> int:
    """Write the outbox rows the merchant's rules ask for ``changes``; only flushes.

    Returns how many rows were inserted (repeats of known news insert none).
    """
    news: list[News] = []
    for change in changes:
        kind = Kind.for_status(change.new)
        if kind is not None:
            payload = {
                "status": change.new.value,
                "previous_status": change.old.value,
                "status_at": (change.at or now).isoformat(),
            }
            news.append(News(change.order_id, kind, payload))
    return enqueue_news(session, merchant_id, news, now, window=window)


def enqueue_news(
    session: Session,
    merchant_id: int,
    news: Sequence[News],
    now: datetime,
    *,
    window: timedelta = COALESCE_WINDOW,
) -> int:
    """Write the outbox rows the merchant's rules ask for ``news`` (e.g. the ETA model's
    "may be delayed"); only flushes. Returns how many rows were inserted."""
    if not news:
        return 0
    conn = session.connection()
    # The rules, the store's webhook endpoints and the facts of every order with news
    # (contacts, the shopper's choices, whether a device subscribed to push) do not
    # depend on each other: read together, in one round trip on PostgreSQL.
    # So are the orders' untried messages that new news may coalesce with (read before
    # the insert: the new rows come back from it; these orders are locked by the
    # ingesting transaction, so no other one adds news for them meanwhile).
    order_ids = sorted({item.order_id for item in news})
    of_merchant = {"merchant_id": merchant_id}
    is_pg = conn.dialect.name == "postgresql"
    chunked = [{"order_ids": list(chunk)} for chunk in batches_of(conn, order_ids)]
    stored_rules, endpoints, *per_order = read_together(
        conn,
        [
            (RULES, of_merchant),
            (_ENDPOINTS, of_merchant),
            *((_FACTS[is_pg], ids) for ids in chunked),
            *((_UNTRIED[is_pg], ids) for ids in chunked),
        ],
    )
    order_rows, untried = per_order[: len(chunked)], per_order[len(chunked) :]
    rules, _ = rules_from(stored_rules)
    wanted = [item for item in news if rules.get(item.kind)]
    if not wanted:
        return 0
    orders: dict[int, Any] = {}
    preferences: dict[int, Any] = {}
    for row in itertools.chain.from_iterable(order_rows):
        orders[row.id] = row
        if row.preference_of is not None:
            preferences[row.id] = row

    rows: list[dict[str, Any]] = []
    for item in wanted:
        kind, payload = item.kind, item.payload
        order = orders[item.order_id]
        pref = preferences.get(order.id)
        chosen = ShopperPreferences(
            _preference(pref.wants_email if pref else None),
            _preference(pref.wants_sms if pref else None),
            _preference(pref.wants_whatsapp if pref else None),
            _preference(pref.wants_push if pref else None),
        )
        choice = _choose(
            rules[kind],
            chosen,
            Contact(
                has_email=bool(order.customer_email),
                has_phone=bool(order.customer_phone),
                has_push=bool(order.has_push),
            ),
        )

        for channel in choice.send:
            if channel is Channel.WEBHOOK:
                for endpoint in endpoints:
                    if endpoint.event_types and webhook_type(kind) not in endpoint.event_types:
                        continue
                    data = {
                        "order": {
                            "id": order.id,
                            "external_id": order.external_id,
                            "tracking_code": order.tracking_code,
                        },
                        **payload,
                    }
                    # A disabled endpoint's news stays visible, and replayable once re-enabled.
                    disabled = None if endpoint.enabled else ENDPOINT_DISABLED
                    rows.append(
                        _row(merchant_id, item, channel, now, data, endpoint.id, reason=disabled)
                    )
            else:
                rows.append(_row(merchant_id, item, channel, now, payload))
        for channel, reason in choice.suppressed:
            if channel in OPT_IN_CHANNELS and chosen.of(channel) is Preference.UNSET:
                continue  # WhatsApp or push the shopper never asked for: nothing to show
            rows.append(_row(merchant_id, item, channel, now, payload, reason=reason.value))
    if not rows:
        return 0
    for new in rows:  # shopper news waits out its coalescing window (alone: no update later)
        if new["status"] == QUEUED and new["channel"] != Channel.WEBHOOK.value:
            new["next_attempt_at"] = _send_at(
                new["channel"], now + window, orders[new["order_id"]].destination
            )
    inserted = _insert_new(conn, rows)
    to_coalesce = {(r.order_id, r.channel) for r in inserted if _untried(r)}
    if to_coalesce and window > timedelta(0):  # a zero window: every message on its own
        _restrain(
            conn,
            to_coalesce,
            [*itertools.chain.from_iterable(untried), *inserted],
            {oid: orders[oid].destination for oid in orders},
            window,
        )
    return len(inserted)


def _untried(row: Any) -> bool:
    """Shopper news not yet tried: what coalescing may still merge."""
    return bool(row.status == QUEUED and row.attempts == 0 and row.channel != Channel.WEBHOOK.value)


_ENDPOINTS = select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.enabled).where(
    WebhookEndpoint.merchant_id == bindparam("merchant_id")
)


def _facts(of_orders: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """What deciding an order's messages needs: contacts, the shopper's choices (NULL
    when never made), and whether a device of the shopper's subscribed to push."""
    return (
        select(
            Order.id,
            Order.external_id,
            Order.tracking_code,
            Order.customer_email,
            Order.customer_phone,
            Order.destination,
            exists().where(PushSubscription.order_id == Order.id).label("has_push"),
            ShopperPreference.order_id.label("preference_of"),
            ShopperPreference.email.label("wants_email"),
            ShopperPreference.sms.label("wants_sms"),
            ShopperPreference.whatsapp.label("wants_whatsapp"),
            ShopperPreference.push.label("wants_push"),
        )
        .outerjoin(ShopperPreference, ShopperPreference.order_id == Order.id)
        .where(of_orders)
    )


# The facts of the orders in parameter ``order_ids``: ``= ANY(array)`` on PostgreSQL (one
# parameter, any length), an expanding ``IN`` in chunks on SQLite. Keyed by "is PostgreSQL".
_FACTS = {
    True: _facts(Order.id == any_(bindparam("order_ids", type_=postgresql.ARRAY(Integer)))),
    False: _facts(Order.id.in_(bindparam("order_ids", expanding=True))),
}


# What coalescing needs of a message, as read before an insert and returned by it.
_MESSAGE = (
    _OUTBOX.c.id,
    _OUTBOX.c.order_id,
    _OUTBOX.c.channel,
    _OUTBOX.c.kind,
    _OUTBOX.c.created_at,
    _OUTBOX.c.status,
    _OUTBOX.c.attempts,
)


def _untried_of(of_orders: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    # By order alone (a few rows each, through the order index), filtered in Python:
    # with the status in the query SQLite's planner scans every queued message.
    return select(*_MESSAGE).where(of_orders)


# The messages of the orders in parameter ``order_ids``, keyed like ``_FACTS``.
_UNTRIED = {
    True: _untried_of(
        _OUTBOX.c.order_id == any_(bindparam("order_ids", type_=postgresql.ARRAY(Integer)))
    ),
    False: _untried_of(_OUTBOX.c.order_id.in_(bindparam("order_ids", expanding=True))),
}


def _row(
    merchant_id: int,
    news: News,
    channel: Channel,
    now: datetime,
    payload: dict[str, Any],
    endpoint_id: int | None = None,
    *,
    reason: str | None = None,
) -> dict[str, Any]:
    """An outbox row for ``news``: queued and due now, or suppressed with ``reason``."""
    return {
        "merchant_id": merchant_id,
        "order_id": news.order_id,
        "endpoint_id": endpoint_id,
        "channel": channel.value,
        "kind": news.kind.value,
        "idempotency_key": idempotency_key(
            merchant_id,
            news.order_id,
            news.kind,
            channel,
            endpoint_id=endpoint_id,
            promise=news.promise,
            occasion=news.occasion,
        ),
        "payload": payload,
        "status": SUPPRESSED if reason else QUEUED,
        "suppressed_reason": reason,
        "attempts": 0,
        "next_attempt_at": None if reason else now,
        "created_at": now,
    }


# Channels that make the shopper's phone buzz wait out the night; e-mail does not.
_QUIET_CHANNELS = frozenset({Channel.SMS.value, Channel.WHATSAPP.value, Channel.PUSH.value})


def _send_at(channel: str, settled: datetime, destination: Any) -> datetime:
    """When shopper news settled at ``settled`` may go: phone channels wait out quiet hours."""
    if channel in _QUIET_CHANNELS:
        return release_time(settled, zone_name_of(destination), QUIET_HOURS)
    return settled


# unnest() of one array per column on PostgreSQL: one statement text for every batch,
# planned once, instead of a multi-row VALUES list as long as the batch.
_INSERT_COLUMNS = {
    "merchant_id": "int[]",
    "order_id": "int[]",
    "endpoint_id": "int[]",
    "channel": "text[]",
    "kind": "text[]",
    "idempotency_key": "text[]",
    "payload": "text[]",
    "status": "text[]",
    "suppressed_reason": "text[]",
    "attempts": "int[]",
    "next_attempt_at": "timestamptz[]",
    "created_at": "timestamptz[]",
}
_PG_INSERT = (
    f"INSERT INTO outbox_messages ({', '.join(_INSERT_COLUMNS)})"
    f" SELECT {', '.join(c + '::json' if c == 'payload' else c for c in _INSERT_COLUMNS)}"
    f" FROM {unnest(_INSERT_COLUMNS)} AS u({', '.join(_INSERT_COLUMNS)})"
    " ON CONFLICT (idempotency_key) DO NOTHING"
    " RETURNING id, order_id, channel, kind, created_at, status, attempts"
)


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert the rows whose news is new; returns (id, order_id, channel, kind, created_at,
    status, attempts) of those inserted (a repeat conflicts on its idempotency key and is
    skipped)."""
    if conn.dialect.name == "postgresql":
        as_text = [row | {"payload": json.dumps(row["payload"])} for row in rows]
        return list(conn.exec_driver_sql(_PG_INSERT, arrays(as_text, _INSERT_COLUMNS)))
    stmt = (
        sqlite.insert(_OUTBOX)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(*_MESSAGE)
    )
    # SQLAlchemy's "insertmanyvalues": batched multi-row VALUES from one cached statement.
    return list(conn.execute(stmt, rows))


def _restrain(
    conn: Connection,
    groups: set[tuple[int, str]],
    messages: Sequence[Any],
    destinations: dict[int, Any],
    window: timedelta,
) -> None:
    """Coalesce each (order, channel)'s untried news and hold SMS through quiet hours;
    ``messages`` are the orders' messages (those stored before and those just added)."""
    pending: dict[tuple[int, str], list[Pending]] = defaultdict(list)
    for row in messages:
        if _untried(row) and (row.order_id, row.channel) in groups:
            pending[(row.order_id, row.channel)].append(
                Pending(row.created_at, Kind(row.kind), f"{row.id:012d}")
            )
    decided: list[dict[str, Any]] = []
    for (order_id, channel), items in pending.items():
        if len(items) == 1:  # nothing to merge: its time was set when inserted
            continue
        for burst in coalesce(items, window):
            send_at = _send_at(channel, burst.send_at, destinations.get(order_id))
            decided.append(_decision(int(burst.send.key), QUEUED, None, send_at))
            decided.extend(
                _decision(int(p.key), SUPPRESSED, Reason.SUPERSEDED.value, None)
                for p in burst.superseded
            )
    if not decided:
        return
    # One statement per message, by primary key, sent together (psycopg's executemany
    # pipelines them: one round trip); a message a worker already tried is left as it
    # is. Not one UPDATE … FROM unnest(…): its generic plan, with the queue's statistics
    # as stale as a busy queue's are, scanned every queued message once per decision.
    conn.execute(_DECIDE, decided)


_DECIDE = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == bindparam("row_id"),
        _OUTBOX.c.status == QUEUED,
        _OUTBOX.c.attempts == 0,
    )
    .values(
        status=bindparam("status"),
        suppressed_reason=bindparam("reason"),
        next_attempt_at=bindparam("send_at"),
    )
)


def _decision(row_id: int, status: str, reason: str | None, at: datetime | None) -> dict[str, Any]:
    return {"row_id": row_id, "status": status, "reason": reason, "send_at": at}
