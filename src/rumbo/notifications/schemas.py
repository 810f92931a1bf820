"""Rules, shopper preferences, webhook endpoints and outbox messages, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from rumbo.kit.schemas import Language, PushEndpoint, StrictModel, WebAddress
from rumbo.notifications.message import Kind
from rumbo.notifications.restraint import Channel

WebhookType = Annotated[str, StringConstraints(pattern=r"^order\.[a-z_]+$", max_length=64)]


class Rule(StrictModel):
    kind: Kind
    channels: list[Channel] = Field(max_length=len(Channel))


class RulesIn(StrictModel):
    """The complete set of rules: a kind left out notifies no one."""

    rules: list[Rule] = Field(max_length=len(Kind))


class RulesOut(BaseModel):
    rules: list[Rule]
    default: bool = Field(description="True while the merchant has stored no rules.")


class PreferencesIn(StrictModel):
    """``null`` = no choice (the store's rules decide)."""

    email: bool | None = None
    sms: bool | None = None
    whatsapp: bool | None = Field(
        None, description="true records the shopper's WhatsApp opt-in (from this page)."
    )
    push: bool | None = Field(
        None, description="Devices subscribe with POST …/push-subscriptions; false stops push."
    )
    language: Language | None = None


class PreferencesOut(BaseModel):
    email: bool | None
    sms: bool | None
    whatsapp: bool | None
    push: bool | None
    language: str | None


class WebhookCreate(StrictModel):
    url: WebAddress
    event_types: list[WebhookType] = Field(
        default_factory=list, max_length=32, description="Empty: every type."
    )


class WebhookUpdate(StrictModel):
    url: WebAddress | None = None
    event_types: list[WebhookType] | None = Field(None, max_length=32)
    enabled: bool | None = Field(
        None,
        description="true re-enables a disabled endpoint and clears "
        "`disabled_reason` and `disabled_at`.",
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_…: shown only in this response.")


class NotificationOut(BaseModel):
    id: int
    channel: Channel
    kind: str
    status: Literal["queued", "sending", "sent", "failed", "suppressed"]
    suppressed_reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    reference: str | None
    endpoint_id: int | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None = Field(description="Reported by the provider (WhatsApp).")
    read_at: datetime | None = Field(description="Reported by the provider (WhatsApp).")


class UnsubscribeOut(BaseModel):
    unsubscribed: bool
    channel: Channel


# Meta's template names: lowercase letters, digits and underscores
# (https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates).
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")]
GraphId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[!-~]+$")]


class WhatsAppSettingsIn(StrictModel):
    """The store's Cloud API sender and its approved utility templates."""

    phone_number_id: GraphId
    access_token: Secret
    app_secret: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[!-~]+$")]
    api_version: Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,3}\.[0-9]{1,2}$")] = "v21.0"
    templates: dict[
        Annotated[str, StringConstraints(max_length=32)], dict[Language, TemplateName]
    ] = Field(
        max_length=len(Kind),
        description="kind → language → template name; each template's body takes "
        "{{1}} the store's name, {{2}} the tracking code, {{3}} the tracking page's address; "
        "arrival_window's also {{4}} and {{5}}, the window's first and last time.",
    )

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "phone_number_id": "106540352242922",
                    "access_token": "EAAG…",
                    "app_secret": "1222e786b144d0e85b9f365372d93676",
                    "api_version": "v21.0",
                    "templates": {
                        "shipped": {"pt-BR": "pedido_enviado", "es": "pedido_enviado_es"},
                        "delivered": {"pt-BR": "pedido_entregue", "en": "order_delivered"},
                    },
                }
            ]
        },
    }


class WhatsAppSettingsOut(BaseModel):
    phone_number_id: str
    api_version: str
    templates: dict[str, dict[str, str]]
    paused_templates: dict[str, dict[str, str | None]] = Field(
        description="Templates Meta refused (paused, disabled, reclassified) and why; "
        "put the settings again once fixed."
    )
    webhook_path: str = Field(description="The callback URL to give Meta (after the host).")
    verify_token: str = Field(description="The verify token to give Meta with it.")
    updated_at: datetime


class WhatsAppOptIn(StrictModel):
    """The shopper's consent, as the store recorded it (e.g. a checkout box)."""

    opted_in: bool = True
    recorded_at: datetime | None = Field(None, description="When consent was given; default now.")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"opted_in": True, "recorded_at": "2026-11-20T10:02:00-03:00"}]
        },
    }


class PushKeys(StrictModel):
    p256dh: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86,88}={0,2}$")]
    auth: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22,24}={0,2}$")]


class PushSubscriptionIn(StrictModel):
    """``PushSubscription.toJSON()`` from the browser, plus the page's language."""

    endpoint: PushEndpoint
    keys: PushKeys
    language: Language | None = None
    expirationTime: int | None = Field(None, ge=0, le=2**53)  # noqa: N815 - the browser's name

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "endpoint": "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bHq",
                    "expirationTime": None,
                    "keys": {
                        "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4"
                        "bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
                        "auth": "BTBZMqHH6r4Tts7J_aSIgg",
                    },
                    "language": "pt-BR",
                }
            ]
        },
    }


class PushSubscriptionOut(BaseModel):
    id: int
    endpoint: str
    language: str | None
    created_at: datetime


class PushKeyOut(BaseModel):
    public_key: str | None = Field(
        description="VAPID applicationServerKey (base64url); null: push is off on this server."
    )
