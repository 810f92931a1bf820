"""WhatsApp senders, opt-ins and status callbacks; Web Push subscriptions. Only flushes.

Status and inbound-message webhooks follow Meta's shapes
(https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components):
``entry[].changes[].value`` with ``statuses[]`` (``sent``, ``delivered``, ``read``,
``failed`` + ``errors[]``) or ``messages[]`` (what the shopper wrote).
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rumbo.errors import NotFound, RumboError
from rumbo.models import Order, OutboxMessage, PushSubscription, ShopperPreference, WhatsAppAccount
from rumbo.notifications.message import Kind
from rumbo.notifications.outbox import FAILED, SENT
from rumbo.notifications.restraint import Channel
from rumbo.notifications.schemas import PushSubscriptionIn, WhatsAppSettingsIn

# A reply with one of these words alone stops WhatsApp messages for the shopper's
# orders at this store (pt: SAIR, PARAR; es: BAJA; en/all: STOP).
STOP_WORDS = frozenset({"SAIR", "PARAR", "STOP", "BAJA"})
PAGE, STORE = "page", "store"

# ------------------------------------------------------------------------------ settings


def get_whatsapp(session: Session, merchant_id: int) -> WhatsAppAccount:
    account = session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.merchant_id == merchant_id)
    )
    if account is None:
        raise NotFound("WhatsApp is not set up for this store.", "whatsapp_not_configured")
    return account


def put_whatsapp(
    session: Session, merchant_id: int, data: WhatsAppSettingsIn, now: datetime
) -> WhatsAppAccount:
    """Create or replace the store's sender; templates put again are used again."""
    for kind in data.templates:
        try:
            Kind(kind)
        except ValueError:
            raise RumboError(
                "Unknown notification kind in templates.",
                422,
                "validation_error",
                {"unknown": kind, "known": sorted(k.value for k in Kind)},
            ) from None
    account = session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.merchant_id == merchant_id)
    )
    if account is None:
        account = WhatsAppAccount(
            merchant_id=merchant_id, verify_token=secrets.token_urlsafe(24), paused_templates={}
        )
        session.add(account)
    account.phone_number_id = data.phone_number_id
    account.access_token = data.access_token
    account.app_secret = data.app_secret
    account.api_version = data.api_version
    account.templates = {kind: dict(names) for kind, names in data.templates.items()}
    account.paused_templates = {}
    account.updated_at = now
    session.flush()
    return account


def delete_whatsapp(session: Session, merchant_id: int) -> None:
    session.delete(get_whatsapp(session, merchant_id))
    session.flush()


# -------------------------------------------------------------------------------- opt-in


def _preference(session: Session, order_id: int, now: datetime) -> ShopperPreference:
    pref = session.scalar(select(ShopperPreference).where(ShopperPreference.order_id == order_id))
    if pref is None:
        pref = ShopperPreference(order_id=order_id, updated_at=now)
        session.add(pref)
    return pref


def record_whatsapp_opt_in(
    session: Session, order: Order, opted_in: bool, source: str, now: datetime, at: datetime
) -> ShopperPreference:
    """Turn WhatsApp on (keeping when and where consent was given) or off."""
    if opted_in and not order.customer_phone:
        raise RumboError("The order has no phone number for WhatsApp.", 422, "no_phone_number")
    pref = _preference(session, order.id, now)
    pref.whatsapp = opted_in
    if opted_in:
        pref.whatsapp_opt_in_at = at
        pref.whatsapp_opt_in_source = source
    pref.updated_at = now
    session.flush()
    return pref


# ----------------------------------------------------------------------------- webhooks


def account_for_webhook(session: Session, merchant_id: int) -> WhatsAppAccount:
    account = session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.merchant_id == merchant_id)
    )
    if account is None:
        raise NotFound("No WhatsApp sender here.", "whatsapp_not_configured")
    return account


def _stamp(value: Any, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def is_stop(text: str) -> bool:
    """One opt-out word alone, whatever the case, accents or punctuation around it."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.strip().strip(".!¡ ").upper() in STOP_WORDS


def apply_webhook(
    session: Session, merchant_id: int, payload: dict[str, Any], now: datetime
) -> dict[str, int]:
    """Record statuses on the notifications they name and honour opt-out replies.

    Idempotent: Meta retries a delivery until it gets a 200, and statuses can come
    out of order (a ``read`` before its ``delivered``): each keeps the earliest time.
    """
    counts = {"statuses": 0, "opt_outs": 0, "templates": 0}
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            if not isinstance(value, dict):
                continue
            field = (change or {}).get("field")
            if field in ("message_template_status_update", "template_category_update"):
                counts["templates"] += _apply_template(session, merchant_id, value, now)
                continue
            for status in value.get("statuses") or []:
                if isinstance(status, dict) and _apply_status(session, merchant_id, status, now):
                    counts["statuses"] += 1
            for message in value.get("messages") or []:
                if not isinstance(message, dict) or message.get("type") != "text":
                    continue
                text = str((message.get("text") or {}).get("body", ""))
                if is_stop(text):
                    counts["opt_outs"] += _opt_out(
                        session, merchant_id, str(message.get("from")), now
                    )
    session.flush()
    return counts


# Template events that stop a template from carrying news
# (https://developers.facebook.com/docs/graph-api/webhooks/reference/whatsapp-business-account/):
# paused for low quality, disabled, rejected, flagged, or moved out of the utility category
# (a marketing template is billed and refused differently: not what a tracking update is).
_STOPPING_EVENTS = frozenset({"PAUSED", "DISABLED", "REJECTED", "FLAGGED", "PENDING_DELETION"})


def _apply_template(
    session: Session, merchant_id: int, value: dict[str, Any], now: datetime
) -> int:
    name = str(value.get("message_template_name") or "")
    account = session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.merchant_id == merchant_id)
    )
    if account is None or not name:
        return 0
    used = {n for names in account.templates.values() for n in names.values()}
    if name not in used:
        return 0
    paused = dict(account.paused_templates)
    event = str(value.get("event") or "").upper()
    category = str(value.get("new_category") or "").upper()
    if event in _STOPPING_EVENTS:
        reason = f"Meta: template {event.lower()} ({value.get('reason') or 'no reason given'})"
    elif category and category != "UTILITY":
        reason = f"Meta: template reclassified as {category}"
    elif event == "APPROVED" or category == "UTILITY":
        paused.pop(name, None)  # back in service
        reason = None
    else:
        return 0
    if reason is not None:
        paused[name] = {"reason": reason[:300], "at": now.isoformat()}
    account.paused_templates = paused
    return 1


def merge_receipt(
    delivered_at: datetime | None, read_at: datetime | None, state: str, at: datetime
) -> tuple[datetime | None, datetime | None]:
    """Fold one status into the known times: a "read" implies "delivered", and each time
    is the earliest reported, so repeats and any arrival order give the same result."""
    if state in ("delivered", "read") and (delivered_at is None or at < delivered_at):
        delivered_at = at
    if state == "read" and (read_at is None or at < read_at):
        read_at = at
    return delivered_at, read_at


def _apply_status(
    session: Session, merchant_id: int, status: dict[str, Any], now: datetime
) -> bool:
    wamid = str(status.get("id") or "")
    if not wamid:
        return False
    row = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.reference == wamid,
            OutboxMessage.merchant_id == merchant_id,
            OutboxMessage.channel == Channel.WHATSAPP.value,
        )
    )
    if row is None:
        return False
    at = _stamp(status.get("timestamp"), now)
    state = status.get("status")
    row.delivered_at, row.read_at = merge_receipt(row.delivered_at, row.read_at, str(state), at)
    if state == "failed" and row.status == SENT and row.delivered_at is None:
        errors = status.get("errors") or [{}]
        first = errors[0] if isinstance(errors[0], dict) else {}
        details = (first.get("error_data") or {}).get("details", "")
        row.status = FAILED
        row.last_error = f"WhatsApp: {first.get('code')} {first.get('title', '')} {details}"[:1000]
    return True


def _opt_out(session: Session, merchant_id: int, wa_id: str, now: datetime) -> int:
    orders = list(
        session.scalars(
            select(Order.id).where(
                Order.merchant_id == merchant_id, Order.customer_phone == f"+{wa_id}"
            )
        )
    )
    for order_id in orders:
        pref = _preference(session, order_id, now)
        pref.whatsapp = False
        pref.updated_at = now
    return len(orders)


# --------------------------------------------------------------------------------- push


def subscribe_push(
    session: Session, order: Order, data: PushSubscriptionIn, now: datetime
) -> PushSubscription:
    """Add (or refresh) this device's subscription and turn push on for the order."""
    endpoint = str(data.endpoint)
    sub = session.scalar(
        select(PushSubscription).where(
            PushSubscription.order_id == order.id, PushSubscription.endpoint == endpoint
        )
    )
    if sub is None:
        sub = PushSubscription(order_id=order.id, endpoint=endpoint, created_at=now)
        session.add(sub)
    sub.p256dh = data.keys.p256dh
    sub.auth = data.keys.auth
    sub.language = data.language
    pref = _preference(session, order.id, now)
    pref.push = True
    pref.updated_at = now
    session.flush()
    return sub


def unsubscribe_push(session: Session, order: Order, endpoint: str) -> None:
    result = session.execute(
        delete(PushSubscription).where(
            PushSubscription.order_id == order.id, PushSubscription.endpoint == endpoint
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("This device is not subscribed to the order.", "push_not_subscribed")
    session.flush()
