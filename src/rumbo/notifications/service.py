"""Notification rules, shopper preferences, webhook endpoints, one-click unsubscribe and the
order's notification history. Only flushes: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rumbo.errors import NotFound, RumboError
from rumbo.models import NotificationRule, Order, OutboxMessage, ShopperPreference, WebhookEndpoint
from rumbo.notifications.channels.webhook import generate_secret
from rumbo.notifications.destinations import DestinationPolicy, DestinationRefused
from rumbo.notifications.message import Kind
from rumbo.notifications.outbox import FAILED, QUEUED, SUPPRESSED
from rumbo.notifications.restraint import Channel
from rumbo.notifications.rules import effective_rules
from rumbo.notifications.schemas import PreferencesIn, Rule, RulesIn, RulesOut
from rumbo.shared.i18n import DEFAULT_LANGUAGE, normalize_language

_UNSUBSCRIBE_SALT = "rumbo.unsubscribe.v1"

# ------------------------------------------------------------------------------------- rules


def get_rules(session: Session, merchant_id: int) -> RulesOut:
    rules, default = effective_rules(session.connection(), merchant_id)
    return RulesOut(
        rules=[
            Rule(kind=kind, channels=sorted(channels)) for kind, channels in sorted(rules.items())
        ],
        default=default,
    )


def put_rules(session: Session, merchant_id: int, data: RulesIn) -> RulesOut:
    """Replace the merchant's rules with ``data`` (a kind left out notifies no one)."""
    kinds = [rule.kind for rule in data.rules]
    if len(set(kinds)) != len(kinds):
        raise RumboError("Each kind may appear once.", 422, "validation_error")
    session.execute(delete(NotificationRule).where(NotificationRule.merchant_id == merchant_id))
    for rule in data.rules:
        session.add(
            NotificationRule(
                merchant_id=merchant_id,
                kind=rule.kind.value,
                channels=sorted({c.value for c in rule.channels}),
            )
        )
    session.flush()
    return get_rules(session, merchant_id)


# ------------------------------------------------------------------------------- preferences


def set_preferences(
    session: Session, order: Order, data: PreferencesIn, now: datetime
) -> ShopperPreference:
    """Store the shopper's choice for ``order``; fields not sent keep their value."""
    pref = session.scalar(select(ShopperPreference).where(ShopperPreference.order_id == order.id))
    if pref is None:
        pref = ShopperPreference(order_id=order.id, email=None, sms=None, updated_at=now)
        session.add(pref)
    for field in data.model_fields_set:
        setattr(pref, field, getattr(data, field))
    if data.whatsapp and "whatsapp" in data.model_fields_set:
        if not order.customer_phone:
            raise RumboError("The order has no phone number for WhatsApp.", 422, "no_phone_number")
        # The record of consent Meta's policy asks for: when, and that it was this page.
        pref.whatsapp_opt_in_at = now
        pref.whatsapp_opt_in_source = "page"
    pref.updated_at = now
    session.flush()
    return pref


class UnsubscribeTokens:
    """Signed ``(order, channel)`` pairs for RFC 8058 one-click unsubscribe links.

    They do not expire: an unsubscribe link in an old e-mail must keep working.
    """

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=_UNSUBSCRIBE_SALT)

    def issue(self, order_id: int, channel: Channel) -> str:
        return self._serializer.dumps({"o": order_id, "c": channel.value})

    def read(self, token: str) -> tuple[int, Channel]:
        try:
            data = self._serializer.loads(token)
            return int(data["o"]), Channel(data["c"])
        except (BadSignature, KeyError, TypeError, ValueError):
            raise NotFound("This unsubscribe link is not valid.", "unsubscribe_invalid") from None


def shopper_language(session: Session, order_id: int) -> str:
    """The language the shopper of ``order_id`` chose, else the order's, else English."""
    chosen = session.scalar(
        select(ShopperPreference.language).where(ShopperPreference.order_id == order_id)
    )
    order_locale = session.scalar(select(Order.customer_locale).where(Order.id == order_id))
    return normalize_language(chosen) or normalize_language(order_locale) or DEFAULT_LANGUAGE


def unsubscribe(session: Session, order_id: int, channel: Channel, now: datetime) -> None:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("This unsubscribe link is not valid.", "unsubscribe_invalid")
    set_preferences(session, order, PreferencesIn.model_validate({channel.value: False}), now)


# ---------------------------------------------------------------------------------- webhooks


def create_webhook(
    session: Session,
    merchant_id: int,
    url: str,
    event_types: list[str],
    now: datetime,
    destinations: DestinationPolicy,
) -> WebhookEndpoint:
    _check_types(event_types)
    _check_destination(url, destinations)
    endpoint = WebhookEndpoint(
        merchant_id=merchant_id,
        url=url,
        secret=generate_secret(),
        event_types=sorted(set(event_types)),
        enabled=True,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def _check_destination(url: str, destinations: DestinationPolicy) -> None:
    """Refuse at registration a URL the worker would refuse to call (checked again there:
    what a name resolves to can change)."""
    try:
        destinations.check(url)
    except DestinationRefused as exc:
        if exc.unresolved:  # a name set up after the endpoint is fine; sending checks again
            return
        raise RumboError(
            f"This webhook URL is not allowed: {exc.reason}.",
            422,
            "webhook_url_not_allowed",
            {"url": url, "reason": exc.reason},
        ) from exc


def _check_types(event_types: list[str]) -> None:
    known = {f"order.{kind.value}" for kind in Kind}
    unknown = sorted(set(event_types) - known)
    if unknown:
        raise RumboError(
            "Unknown event types.",
            422,
            "validation_error",
            {"unknown": unknown, "known": sorted(known)},
        )


def list_webhooks(session: Session, merchant_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.merchant_id == merchant_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def get_webhook(session: Session, merchant_id: int, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.merchant_id != merchant_id:
        raise NotFound("No webhook endpoint with this id.", "webhook_not_found")
    return endpoint


def update_webhook(
    session: Session,
    merchant_id: int,
    endpoint_id: int,
    changes: dict[str, Any],
    now: datetime,
    destinations: DestinationPolicy,
) -> WebhookEndpoint:
    endpoint = get_webhook(session, merchant_id, endpoint_id)
    if changes.get("url") is not None:
        _check_destination(str(changes["url"]), destinations)
        endpoint.url = str(changes["url"])
    if changes.get("event_types") is not None:
        _check_types(changes["event_types"])
        endpoint.event_types = sorted(set(changes["event_types"]))
    if changes.get("enabled") is True and not endpoint.enabled:
        # Back on: nothing about it is disabled any more, and the failure streak restarts.
        endpoint.enabled = True
        endpoint.failing_since = None
        endpoint.disabled_reason = None
        endpoint.disabled_at = None
    elif changes.get("enabled") is False and endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = "disabled by the merchant"
        endpoint.disabled_at = now
    session.flush()
    return endpoint


def delete_webhook(session: Session, merchant_id: int, endpoint_id: int) -> None:
    session.delete(get_webhook(session, merchant_id, endpoint_id))
    session.flush()


def replay_delivery(
    session: Session, merchant_id: int, message_id: int, now: datetime
) -> OutboxMessage:
    """Queue a webhook message again, with the same ``webhook-id`` (receivers deduplicate)."""
    message = session.get(OutboxMessage, message_id)
    if (
        message is None
        or message.merchant_id != merchant_id
        or message.channel != Channel.WEBHOOK.value
    ):
        raise NotFound("No webhook delivery with this id.", "delivery_not_found")
    if message.status not in (FAILED, SUPPRESSED, "sent"):
        raise RumboError("This delivery is still in progress.", 409, "delivery_in_progress")
    message.status = QUEUED
    message.suppressed_reason = None
    message.attempts = 0
    message.next_attempt_at = now
    message.locked_by = None
    message.locked_until = None
    session.flush()
    return message


# ------------------------------------------------------------------------------ visibility


def order_notifications(session: Session, merchant_id: int, order_id: int) -> list[OutboxMessage]:
    order = session.get(Order, order_id)
    if order is None or order.merchant_id != merchant_id:
        raise NotFound("No order with this id.", "order_not_found")
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.order_id == order_id)
            .order_by(OutboxMessage.id)
        )
    )
