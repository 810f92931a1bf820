"""Rules, shopper preferences, webhook endpoints and outbox messages, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from rumbo.kit.schemas import Language, StrictModel
from rumbo.notifications.message import Kind
from rumbo.notifications.restraint import Channel

WebhookType = Annotated[str, StringConstraints(pattern=r"^order\.[a-z_]+$", max_length=64)]


class Rule(StrictModel):
    kind: Kind
    channels: list[Channel] = Field(max_length=3)


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
    language: Language | None = None


class PreferencesOut(BaseModel):
    email: bool | None
    sms: bool | None
    language: str | None


class WebhookCreate(StrictModel):
    url: AnyHttpUrl
    event_types: list[WebhookType] = Field(
        default_factory=list, max_length=32, description="Empty: every type."
    )


class WebhookUpdate(StrictModel):
    url: AnyHttpUrl | None = None
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


class UnsubscribeOut(BaseModel):
    unsubscribed: bool
    channel: Channel
