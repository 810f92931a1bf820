"""The store's WhatsApp sender, Meta's webhooks, opt-ins, and Web Push subscriptions."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import PlainTextResponse

from rumbo.config import SettingsDep
from rumbo.db import SessionDep
from rumbo.errors import NotFound, RumboError
from rumbo.kit.clock import ClockDep
from rumbo.kit.schemas import RowId
from rumbo.merchants.deps import MerchantDep
from rumbo.models import Order, WhatsAppAccount
from rumbo.notifications import channel_settings as service
from rumbo.notifications.channels.push import VapidKey
from rumbo.notifications.channels.whatsapp import signature_valid
from rumbo.notifications.endpoints import TokenHeader, preferences_out
from rumbo.notifications.schemas import (
    PreferencesOut,
    PushKeyOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    WhatsAppOptIn,
    WhatsAppSettingsIn,
    WhatsAppSettingsOut,
)
from rumbo.public.deps import track_tokens
from rumbo.public.service import find_order

router = APIRouter()

_NOT_SET_UP: dict[int | str, dict[str, Any]] = {
    404: {"description": "WhatsApp is not set up for this store."}
}


def settings_out(account: WhatsAppAccount) -> WhatsAppSettingsOut:
    return WhatsAppSettingsOut(
        phone_number_id=account.phone_number_id,
        api_version=account.api_version,
        templates=account.templates,
        paused_templates=account.paused_templates,
        webhook_path=f"/webhooks/whatsapp/{account.merchant_id}",
        verify_token=account.verify_token,
        updated_at=account.updated_at,
    )


@router.put(
    "/api/v1/whatsapp",
    response_model=WhatsAppSettingsOut,
    tags=["whatsapp"],
    summary="Set the store's WhatsApp Cloud API sender and templates (clears pauses)",
)
def put_whatsapp(
    body: WhatsAppSettingsIn, session: SessionDep, merchant_id: MerchantDep, clock: ClockDep
) -> WhatsAppSettingsOut:
    return settings_out(service.put_whatsapp(session, merchant_id, body, clock.now()))


@router.get(
    "/api/v1/whatsapp",
    response_model=WhatsAppSettingsOut,
    tags=["whatsapp"],
    summary="The store's WhatsApp sender (secrets not shown) and paused templates",
    responses=_NOT_SET_UP,
)
def get_whatsapp(session: SessionDep, merchant_id: MerchantDep) -> WhatsAppSettingsOut:
    return settings_out(service.get_whatsapp(session, merchant_id))


@router.delete(
    "/api/v1/whatsapp",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["whatsapp"],
    summary="Stop sending WhatsApp messages (queued ones are suppressed, visibly)",
    responses=_NOT_SET_UP,
)
def delete_whatsapp(session: SessionDep, merchant_id: MerchantDep) -> Response:
    service.delete_whatsapp(session, merchant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/api/v1/orders/{order_id}/whatsapp-opt-in",
    response_model=PreferencesOut,
    tags=["whatsapp"],
    summary="Record the shopper's WhatsApp opt-in (or opt-out) collected by the store",
    responses={
        404: {"description": "No order with this id."},
        422: {"description": "The order has no phone number."},
    },
)
def put_opt_in(
    order_id: RowId,
    body: WhatsAppOptIn,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> PreferencesOut:
    order = session.get(Order, order_id)
    if order is None or order.merchant_id != merchant_id:
        raise NotFound("No order with this id.", "order_not_found")
    now = clock.now()
    pref = service.record_whatsapp_opt_in(
        session, order, body.opted_in, service.STORE, now, body.recorded_at or now
    )
    return preferences_out(pref)


# ------------------------------------------------------------------- Meta's webhooks


@router.get(
    "/webhooks/whatsapp/{merchant_id}",
    response_class=PlainTextResponse,
    tags=["whatsapp"],
    summary="Meta's verification handshake: echoes hub.challenge for the right verify token",
    responses={403: {"description": "Wrong mode or verify token."}, 404: _NOT_SET_UP[404]},
)
def verify_webhook(
    merchant_id: RowId,
    session: SessionDep,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=200)] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token", max_length=200)] = None,
) -> PlainTextResponse:
    # https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
    account = service.account_for_webhook(session, merchant_id)
    if mode != "subscribe" or verify_token != account.verify_token or challenge is None:
        raise RumboError("Verification refused.", 403, "verification_refused")
    return PlainTextResponse(challenge)


@router.post(
    "/webhooks/whatsapp/{merchant_id}",
    tags=["whatsapp"],
    summary="Meta's event notifications: statuses and replies, signed X-Hub-Signature-256",
    responses={
        401: {"description": "Missing or wrong X-Hub-Signature-256."},
        404: _NOT_SET_UP[404],
        422: {"description": "Signed, but not a JSON object."},
    },
)
async def receive_webhook(
    merchant_id: RowId,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> dict[str, int]:
    body = await request.body()  # the HMAC is over these exact bytes, never re-serialised
    account = service.account_for_webhook(session, merchant_id)
    if not signature_valid(account.app_secret, body, signature):
        raise RumboError("Invalid X-Hub-Signature-256.", 401, "invalid_signature")
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise RumboError("The body is not a JSON object.", 422, "invalid_payload")
    return service.apply_webhook(session, merchant_id, payload, clock.now())


# -------------------------------------------------------------------------- Web Push


@router.get(
    "/api/v1/push/key",
    response_model=PushKeyOut,
    tags=["public tracking"],
    summary="The VAPID public key a page subscribes with (applicationServerKey)",
)
def push_key(settings: SettingsDep) -> PushKeyOut:
    if not settings.vapid_private_key:
        return PushKeyOut(public_key=None)
    return PushKeyOut(
        public_key=VapidKey(settings.vapid_private_key, settings.vapid_subject).public_key
    )


def _verified_order(
    request: Request, session: SessionDep, tracking_code: str, token: str | None
) -> Order:
    order = find_order(session, tracking_code)
    if not track_tokens(request).is_valid_for(token, order.tracking_code):
        raise RumboError(
            "Verify the order first (X-Tracking-Token from /verify).", 401, "unauthorized"
        )
    return order


_GATED: dict[int | str, dict[str, Any]] = {
    401: {"description": "A valid X-Tracking-Token is required."},
    404: {"description": "No order has this tracking code (or no such subscription)."},
}


@router.post(
    "/api/v1/track/{tracking_code}/push-subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=PushSubscriptionOut,
    tags=["public tracking"],
    summary="Get notified on this device: store its push subscription for the order",
    responses=_GATED,
)
def subscribe_push(
    tracking_code: str,
    body: PushSubscriptionIn,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    token: TokenHeader = None,
) -> PushSubscriptionOut:
    order = _verified_order(request, session, tracking_code, token)
    sub = service.subscribe_push(session, order, body, clock.now())
    return PushSubscriptionOut.model_validate(sub, from_attributes=True)


@router.delete(
    "/api/v1/track/{tracking_code}/push-subscriptions",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["public tracking"],
    summary="Stop notifications on this device",
    responses=_GATED,
)
def unsubscribe_push(
    tracking_code: str,
    request: Request,
    session: SessionDep,
    endpoint: Annotated[str, Query(min_length=1, max_length=1000)],
    token: TokenHeader = None,
) -> Response:
    order = _verified_order(request, session, tracking_code, token)
    service.unsubscribe_push(session, order, endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
