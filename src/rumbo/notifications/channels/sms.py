"""SMS: one short text per kind and language, sent through a provider's HTTP API.

:class:`SmsProvider` is what the channel needs from a provider; :class:`TwilioSms`
implements it with Twilio's Programmable Messaging REST API:

    POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json
    Authorization: Basic base64(AccountSid:AuthToken)
    Content-Type: application/x-www-form-urlencoded
    To=+E164&From=+E164 (or MessagingServiceSid=MG…)&Body=…[&StatusCallback=https://…]

answered ``201 Created`` with the Message resource (``"sid": "SM…"``,
``"status": "queued"`` or ``"accepted"`` with a Messaging Service), or an error
``{"code", "message", "more_info", "status"}``.
(https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource,
https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions)

Twilio's create-message call takes no idempotency key: a request whose answer is
lost may have been sent. The outbox worker records the SID it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from rumbo.notifications.errors import Delivery, PermanentError, TransientError
from rumbo.notifications.gsm7 import fit_gsm7
from rumbo.notifications.message import Message, is_e164
from rumbo.notifications.rendering import texts_for

# Error codes after which the same message can never go through
# (https://www.twilio.com/docs/api/errors/<code>).
PERMANENT_TWILIO_CODES: frozenset[int] = frozenset(
    {
        21211,  # invalid 'To' phone number
        21408,  # permission to send an SMS has not been enabled for the region of 'To'
        21610,  # the recipient replied STOP: attempt to send to an unsubscribed recipient
        21612,  # the 'To' number is not currently reachable via SMS
        21614,  # 'To' number is not a valid mobile number
        21617,  # the concatenated message body exceeds the 1600 character limit
    }
)
# 20429: "Too Many Requests", Twilio's rate limit (returned with HTTP 429).
TRANSIENT_TWILIO_CODES: frozenset[int] = frozenset({20429})
# The merchant name heads every SMS; longer names are cut so the text stays one part.
MAX_SENDER_NAME = 20
ERROR_BODY_LIMIT = 300


def sms_text(message: Message) -> str:
    """The SMS for ``message``: short, in the shopper's language, GSM-7 where readable.

    Accented letters outside the GSM-7 alphabet would switch the whole text to
    UCS-2 (70 characters per part instead of 160); they lose their accent instead
    (see :func:`rumbo.notifications.gsm7.fit_gsm7`).
    """
    merchant = message.merchant.name.strip()
    if len(merchant) > MAX_SENDER_NAME:
        merchant = merchant[: MAX_SENDER_NAME - 1].rstrip() + "."
    text = texts_for(message).sms % {
        "merchant": merchant,
        "code": message.tracking_code,
        "url": message.tracking_url,
    }
    return fit_gsm7(text)


class SmsProvider(Protocol):
    """Hands one text to an SMS provider; raises TransientError or PermanentError."""

    async def send_text(self, to: str, body: str) -> Delivery: ...


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    """Twilio credentials and sender. Exactly one of ``from_number`` and
    ``messaging_service_sid`` (``MG…``) must be set."""

    account_sid: str
    auth_token: str
    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    base_url: str = "https://api.twilio.com"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if (self.from_number is None) == (self.messaging_service_sid is None):
            raise ValueError("set exactly one of from_number and messaging_service_sid")


class TwilioSms:
    """:class:`SmsProvider` backed by Twilio's Programmable Messaging API."""

    def __init__(self, config: TwilioConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client

    @property
    def url(self) -> str:
        base = self.config.base_url.rstrip("/")
        return f"{base}/2010-04-01/Accounts/{self.config.account_sid}/Messages.json"

    def form(self, to: str, body: str) -> dict[str, str]:
        cfg = self.config
        fields = {"To": to, "Body": body}
        if cfg.messaging_service_sid:
            fields["MessagingServiceSid"] = cfg.messaging_service_sid
        elif cfg.from_number:
            fields["From"] = cfg.from_number
        if cfg.status_callback:
            fields["StatusCallback"] = cfg.status_callback
        return fields

    async def send_text(self, to: str, body: str) -> Delivery:
        if not is_e164(to):
            raise PermanentError(f"phone number is not E.164: {to!r}")
        cfg = self.config
        try:
            if self._client is not None:
                response = await self._post(self._client, to, body)
            else:
                async with httpx.AsyncClient(timeout=cfg.timeout) as client:
                    response = await self._post(client, to, body)
        except httpx.TransportError as exc:  # connect errors, timeouts, dropped connections
            raise TransientError(f"Twilio unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 201:
            resource = response.json()
            return Delivery("sms", str(resource["sid"]), str(resource.get("status", "")))
        raise classify_twilio_error(response)

    async def _post(self, client: httpx.AsyncClient, to: str, body: str) -> httpx.Response:
        cfg = self.config
        return await client.post(
            self.url,
            data=self.form(to, body),
            auth=(cfg.account_sid, cfg.auth_token),
            headers={"Accept": "application/json"},
            timeout=cfg.timeout,
        )


def classify_twilio_error(response: httpx.Response) -> TransientError | PermanentError:
    """Map Twilio's error answer to retry-or-fail.

    Rate limits and server errors pass; authentication failures (401/403, code
    20003) are the operator's credentials, so they wait for a fix instead of
    failing every SMS meanwhile. Any other 4xx rejects this very request.
    """
    code: int | None = None
    text = response.text[:ERROR_BODY_LIMIT]
    try:
        payload = response.json()
        code = int(payload["code"]) if payload.get("code") is not None else None
        text = f"{code} {payload.get('message', '')} ({payload.get('more_info', '')})"
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    detail = f"Twilio answered {response.status_code}: {text}"
    status = response.status_code
    if code in TRANSIENT_TWILIO_CODES or status == 429 or status >= 500:
        return TransientError(detail)
    if code in PERMANENT_TWILIO_CODES:
        return PermanentError(detail)
    if status in (401, 403):
        return TransientError(detail)
    return PermanentError(detail)


class SmsChannel:
    """Renders a message as one SMS and sends it through a provider."""

    name = "sms"

    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    async def send(self, message: Message) -> Delivery:
        if not message.phone:
            raise PermanentError("no phone number for this shopper")
        return await self.provider.send_text(message.phone, sms_text(message))
