"""Notification rules, shopper preferences, one-click unsubscribe, webhook endpoints, and
the order's notification history."""

from __future__ import annotations

import html
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.responses import HTMLResponse

from rumbo.config import SettingsDep
from rumbo.db import SessionDep
from rumbo.errors import RumboError
from rumbo.kit.clock import ClockDep
from rumbo.kit.schemas import RowId
from rumbo.merchants.deps import MerchantDep
from rumbo.models import OutboxMessage, ShopperPreference, WebhookEndpoint
from rumbo.notifications import service
from rumbo.notifications.destinations import DestinationPolicy, webhook_destinations
from rumbo.notifications.schemas import (
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    RulesIn,
    RulesOut,
    UnsubscribeOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)
from rumbo.notifications.texts import UNSUBSCRIBE_DONE, UNSUBSCRIBE_QUESTION, UNSUBSCRIBE_TITLE
from rumbo.public.deps import TrackTokensDep
from rumbo.public.service import find_order
from rumbo.shared.i18n import translations

log = logging.getLogger(__name__)


router = APIRouter()

TokenHeader = Annotated[
    str | None, Header(alias="X-Tracking-Token", description="The token from /verify.")
]


@router.get(
    "/api/v1/notification-rules",
    response_model=RulesOut,
    tags=["notifications"],
    summary="Which channels announce which news",
)
def get_rules(session: SessionDep, merchant_id: MerchantDep) -> RulesOut:
    return service.get_rules(session, merchant_id)


@router.put(
    "/api/v1/notification-rules",
    response_model=RulesOut,
    tags=["notifications"],
    summary="Replace the rules (a kind left out notifies no one)",
)
def put_rules(body: RulesIn, session: SessionDep, merchant_id: MerchantDep) -> RulesOut:
    return service.put_rules(session, merchant_id, body)


@router.put(
    "/api/v1/track/{tracking_code}/preferences",
    response_model=PreferencesOut,
    tags=["public tracking"],
    summary="The shopper's channels and language for this order",
    responses={
        401: {"description": "A valid X-Tracking-Token is required."},
        404: {"description": "No order has this tracking code."},
        422: {"description": "WhatsApp turned on for an order without a phone number."},
    },
)
def put_preferences(
    tracking_code: str,
    body: PreferencesIn,
    tokens: TrackTokensDep,
    session: SessionDep,
    clock: ClockDep,
    token: TokenHeader = None,
) -> PreferencesOut:
    order = find_order(session, tracking_code)
    if not tokens.is_valid_for(token, order.tracking_code):
        raise RumboError(
            "Verify the order first (X-Tracking-Token from /verify).", 401, "unauthorized"
        )
    pref = service.set_preferences(session, order, body, clock.now())
    return preferences_out(pref)


def preferences_out(pref: ShopperPreference) -> PreferencesOut:
    return PreferencesOut(
        email=pref.email,
        sms=pref.sms,
        whatsapp=pref.whatsapp,
        push=pref.push,
        language=pref.language,
    )


_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto;">
{body}
</body></html>
"""


_UNSUBSCRIBE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "JSON, or a page for a browser."},
    404: {"description": "The link is not valid (altered, or signed with another key)."},
}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _unsubscribe_html(language: str, heading: str, body: str = "") -> HTMLResponse:
    """The page around ``heading`` (a message id of texts.py), in ``language``."""
    say = translations(language, "notifications").gettext
    return HTMLResponse(
        _PAGE.format(
            lang=language,
            title=html.escape(say(UNSUBSCRIBE_TITLE)),
            body=f"<h1>{html.escape(say(heading))}</h1>{body}",
        )
    )


@router.get(
    "/unsubscribe/{token}",
    response_model=UnsubscribeOut,
    tags=["notifications"],
    summary="Confirm an unsubscribe link (changes nothing)",
    responses=_UNSUBSCRIBE_RESPONSES,
)
def unsubscribe_page(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    # GET never unsubscribes: mail scanners follow links. The page POSTs (RFC 8058 §3.2).
    order_id, channel = service.UnsubscribeTokens(settings.secret_key).read(token)
    if not _wants_html(request):
        return Response(
            UnsubscribeOut(unsubscribed=False, channel=channel).model_dump_json(),
            media_type="application/json",
        )
    language = service.shopper_language(session, order_id)
    button = translations(language, "notifications").gettext(UNSUBSCRIBE_TITLE)
    form = (
        f'<form method="post" action="{html.escape(f"/unsubscribe/{token}")}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{html.escape(button)}</button></form>'
    )
    return _unsubscribe_html(language, UNSUBSCRIBE_QUESTION[channel.value], form)


@router.post(
    "/unsubscribe/{token}",
    response_model=UnsubscribeOut,
    tags=["notifications"],
    summary="One-click unsubscribe (RFC 8058)",
    responses=_UNSUBSCRIBE_RESPONSES,
)
def unsubscribe(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    order_id, channel = service.UnsubscribeTokens(settings.secret_key).read(token)
    service.unsubscribe(session, order_id, channel, clock.now())
    if _wants_html(request):
        language = service.shopper_language(session, order_id)
        return _unsubscribe_html(language, UNSUBSCRIBE_DONE[channel.value])
    return Response(
        UnsubscribeOut(unsubscribed=True, channel=channel).model_dump_json(),
        media_type="application/json",
    )


def _destinations(request: Request) -> DestinationPolicy:
    """The app's webhook destination policy (tests put one with a fake resolver there)."""
    state = request.app.state
    if getattr(state, "webhook_destinations", None) is None:
        state.webhook_destinations = webhook_destinations(state.settings)
    policy: DestinationPolicy = state.webhook_destinations
    return policy


DestinationsDep = Annotated[DestinationPolicy, Depends(_destinations)]
_URL_NOT_ALLOWED: dict[str, Any] = {
    "description": "Invalid body, or `webhook_url_not_allowed`: the URL's host resolves to a "
    "loopback, private, link-local, multicast or reserved address (see "
    "RUMBO_WEBHOOK_ALLOWED_NETWORKS).",
}


def webhook_out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut.model_validate(endpoint, from_attributes=True)


@router.post(
    "/api/v1/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    tags=["webhooks"],
    summary="Add an endpoint; its signing secret is shown only here",
    responses={422: _URL_NOT_ALLOWED},
)
def create_webhook(
    body: WebhookCreate,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    destinations: DestinationsDep,
) -> WebhookCreated:
    endpoint = service.create_webhook(
        session, merchant_id, str(body.url), body.event_types, clock.now(), destinations
    )
    return WebhookCreated(**webhook_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get(
    "/api/v1/webhooks", response_model=list[WebhookOut], tags=["webhooks"], summary="Endpoints"
)
def list_webhooks(session: SessionDep, merchant_id: MerchantDep) -> list[WebhookOut]:
    return [webhook_out(e) for e in service.list_webhooks(session, merchant_id)]


@router.patch(
    "/api/v1/webhooks/{endpoint_id}",
    response_model=WebhookOut,
    tags=["webhooks"],
    summary="Change an endpoint; enabled=true re-enables it after an automatic disable",
    responses={422: _URL_NOT_ALLOWED},
)
def update_webhook(
    endpoint_id: RowId,
    body: WebhookUpdate,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    destinations: DestinationsDep,
) -> WebhookOut:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return webhook_out(
        service.update_webhook(
            session, merchant_id, endpoint_id, changes, clock.now(), destinations
        )
    )


@router.delete(
    "/api/v1/webhooks/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["webhooks"],
    summary="Remove an endpoint",
)
def delete_webhook(endpoint_id: RowId, session: SessionDep, merchant_id: MerchantDep) -> Response:
    service.delete_webhook(session, merchant_id, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def notification_out(message: OutboxMessage) -> NotificationOut:
    return NotificationOut.model_validate(message, from_attributes=True)


@router.post(
    "/api/v1/webhooks/deliveries/{message_id}/replay",
    response_model=NotificationOut,
    tags=["webhooks"],
    summary="Send a webhook message again (same webhook-id)",
)
def replay(
    message_id: RowId, session: SessionDep, merchant_id: MerchantDep, clock: ClockDep
) -> NotificationOut:
    return notification_out(service.replay_delivery(session, merchant_id, message_id, clock.now()))


@router.get(
    "/api/v1/orders/{order_id}/notifications",
    response_model=list[NotificationOut],
    tags=["orders"],
    summary="Every notification of the order: sent, queued, failed or suppressed (and why)",
)
def order_notifications(
    order_id: RowId, session: SessionDep, merchant_id: MerchantDep
) -> list[NotificationOut]:
    return [
        notification_out(m) for m in service.order_notifications(session, merchant_id, order_id)
    ]
