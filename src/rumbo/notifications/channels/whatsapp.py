"""WhatsApp through the WhatsApp Business Platform Cloud API: one approved template per news.

Sending (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages,
https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates):

    POST {base}/{version}/{phone-number-id}/messages
    Authorization: Bearer {access token}
    Content-Type: application/json
    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "5511…",
     "type": "template", "template": {"name": …, "language": {"policy": "deterministic",
     "code": "pt_BR"}, "components": [{"type": "body", "parameters": [{"type": "text",
     "text": …}, …]}]}}

answered ``200`` with ``{"messages": [{"id": "wamid.…"}]}``, or an error object
``{"error": {"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}``
whose ``code`` decides what happens
(https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).

Templates are *utility* templates (https://developers.facebook.com/docs/whatsapp/
updates-to-pricing/new-template-guidelines): they name the order and nothing else, so
Meta does not reclassify them as marketing. Every template a store registers takes
the same three body variables, in this order: ``{{1}}`` the store's name, ``{{2}}``
the tracking code, ``{{3}}`` the tracking page's address; the arrival window's
template (kind ``arrival_window``) takes two more, ``{{4}}`` and ``{{5}}``, the
window's first and last time on the destination's clock ("14:20", "14:50").
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from rumbo.notifications.channels.pooled import PooledSession
from rumbo.notifications.errors import Delivery, PermanentError, TransientError
from rumbo.notifications.message import Message, is_e164
from rumbo.notifications.rendering import arrival_window

GRAPH_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
ERROR_BODY_LIMIT = 300
# Meta's language codes for the template languages Rumbo writes in
# (https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates/supported-languages).
TEMPLATE_LANGUAGE = {"pt-BR": "pt_BR", "es": "es", "en": "en"}

# The error codes that decide retry, suppress or stop
# (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
RETRY_CODES: frozenset[int] = frozenset(
    {
        1,  # API unknown: temporary
        2,  # API service: temporary downtime or overload
        4,  # API too many calls: app-level rate limit
        80007,  # WhatsApp Business Account rate limit
        130429,  # cloud API throughput reached
        131016,  # service unavailable
        131048,  # spam rate limit hit: back off
        131056,  # (business, consumer) pair rate limit
        133004,  # server temporarily unavailable
    }
)
# The shopper's number cannot receive this message: never retry, say why.
UNREACHABLE_CODES: frozenset[int] = frozenset(
    {
        131026,  # message undeliverable (not on WhatsApp, old app, terms not accepted)
        131030,  # recipient not in the allowed list (test numbers)
        131050,  # the user stopped marketing messages from the business
        130472,  # the user's number is part of an experiment
        100,  # invalid parameter (here: a malformed "to")
    }
)
# The template itself can no longer be used until the store fixes it in Meta's manager.
TEMPLATE_CODES: frozenset[int] = frozenset(
    {
        132000,  # number of parameters does not match the template
        132001,  # template does not exist (in this language) or is not approved
        132005,  # translated text too long
        132007,  # template format character policy violated
        132012,  # parameter format does not match the template
        132015,  # template paused for low quality
        132016,  # template disabled
    }
)
# The operator's credentials: wait for a fix instead of failing every message meanwhile.
CREDENTIAL_CODES: frozenset[int] = frozenset({0, 3, 10, 190, 200})


@dataclass(frozen=True, slots=True)
class WhatsAppSender:
    """One merchant's Cloud API sender, as the worker loads it for a batch."""

    phone_number_id: str
    access_token: str
    api_version: str = DEFAULT_VERSION
    # kind → Rumbo language ("pt-BR", "es", "en") → approved template name
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    paused: frozenset[str] = frozenset()


class TemplateUnusable(PermanentError):
    """Meta refused the template itself: the merchant must fix it; stop using it."""

    def __init__(self, detail: str, template: str) -> None:
        super().__init__(detail)
        self.template = template


class Unreachable(PermanentError):
    """The shopper's number cannot receive WhatsApp messages: suppress, do not retry."""


def recipient(phone: str) -> str:
    """The ``to`` of a message: the E.164 number's digits, as WhatsApp ids (``wa_id``) are."""
    if not is_e164(phone):
        raise Unreachable(f"phone number is not E.164: {phone!r}")
    return phone[1:]


def template_name(sender: WhatsAppSender, message: Message) -> str:
    by_language = sender.templates.get(message.kind.value) or {}
    name = by_language.get(message.language)
    if not name:
        raise PermanentError(f"no WhatsApp template for {message.kind.value} in {message.language}")
    if name in sender.paused:
        raise TemplateUnusable(f"the WhatsApp template {name!r} is paused", name)
    return name


def template_request(sender: WhatsAppSender, message: Message) -> dict[str, Any]:
    """The JSON body that sends ``message`` as the merchant's template; pure."""
    if not message.phone:
        raise Unreachable("no phone number for this shopper")
    values = [message.merchant.name, message.tracking_code, message.tracking_url]
    window = arrival_window(message)
    if window is not None:
        values += [window["start"], window["end"]]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient(message.phone),
        "type": "template",
        "template": {
            "name": template_name(sender, message),
            "language": {"policy": "deterministic", "code": TEMPLATE_LANGUAGE[message.language]},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": value} for value in values],
                }
            ],
        },
        # Echoed back in status webhooks: names the notification without a lookup.
        "biz_opaque_callback_data": message.idempotency_key,
    }


def classify(status: int, answer: str, template: str) -> PermanentError | TransientError:
    """Map the Cloud API's error answer (HTTP ``status``, body ``answer``) to retry,
    suppress or stop using the template."""
    code: int | None = None
    text = answer[:ERROR_BODY_LIMIT]
    try:
        error = json.loads(answer)["error"]
        code = int(error["code"])
        details = (error.get("error_data") or {}).get("details", "")
        text = f"{code} {error.get('message', '')} {details}".strip()
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    detail = f"WhatsApp answered {status}: {text}"[:ERROR_BODY_LIMIT]
    if code in RETRY_CODES or status == 429 or status >= 500:
        return TransientError(detail)
    if code in TEMPLATE_CODES:
        return TemplateUnusable(detail, template)
    if code in UNREACHABLE_CODES:
        return Unreachable(detail)
    if code in CREDENTIAL_CODES or status in (401, 403):
        return TransientError(detail)
    return PermanentError(detail)


class WhatsAppChannel:
    """Sends template messages through the Cloud API, on a pooled aiohttp session
    (``pooled``: httpx's async pool cost more than the sends themselves)."""

    name = "whatsapp"

    def __init__(self, *, base_url: str = GRAPH_URL, connections: int = 50) -> None:
        self.base_url = base_url.rstrip("/")
        self._pool = PooledSession(connections)

    def url(self, sender: WhatsAppSender) -> str:
        return f"{self.base_url}/{sender.api_version}/{sender.phone_number_id}/messages"

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def send(self, message: Message, sender: WhatsAppSender) -> Delivery:
        body = template_request(sender, message)
        try:
            async with self._pool.client().post(
                self.url(sender),
                json=body,
                headers={"Authorization": f"Bearer {sender.access_token}"},
                allow_redirects=False,
            ) as response:
                status = response.status
                answer = await response.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"WhatsApp unreachable: {type(exc).__name__}: {exc}") from exc
        if status == 200:
            try:
                wamid = str(json.loads(answer)["messages"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise TransientError(f"WhatsApp answered 200 without a message id: {exc}") from exc
            return Delivery(self.name, wamid)
        raise classify(status, answer, body["template"]["name"])


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``
    (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())
