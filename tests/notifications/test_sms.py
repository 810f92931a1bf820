"""SMS: per-language texts that fit one part, and Twilio's Messages API against a local server
that checks each request exactly as Twilio documents it.

Twilio references:
https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
https://www.twilio.com/docs/usage/twilios-response (error body: code, message, more_info, status)
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from rumbo.notifications.channels.sms import (
    SmsChannel,
    TwilioConfig,
    TwilioSms,
    sms_text,
)
from rumbo.notifications.errors import PermanentError, TransientError
from rumbo.notifications.gsm7 import Encoding, measure
from rumbo.notifications.message import Branding, Kind

from .conftest import HttpServer, Reply, Request, Responder, free_port, make_message

pytestmark = pytest.mark.anyio

StartHttp = Callable[[Responder], HttpServer]
ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "f" * 32
FROM_NUMBER = "+15017122661"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


# ------------------------------------------------------------------------------------ texts

LANGUAGES = ("pt-BR", "es", "en")
# Realistic worst case we promise one part for: a 20-character store name (longer
# names are cut to 20), a 10-character code and a 50-character tracking URL.
LONG_STORE = "Casa Aurora Móveis e Decoração"
TRACKING_URL = "https://rastreio.casaaurora.com.br/t/K7Q4M2XP9R"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(Kind))
def test_every_sms_fits_one_gsm7_part(kind: Kind, language: str) -> None:
    message = make_message(
        kind=kind,
        language=language,
        merchant=Branding(name=LONG_STORE),
        tracking_url=TRACKING_URL,
    )
    text = sms_text(message)
    size = measure(text)
    assert size.encoding is Encoding.GSM7, text
    assert size.segments == 1, (size, text)
    assert TRACKING_URL in text
    assert "K7Q4M2XP9R" in text


def test_portuguese_sms_loses_accents_only_where_gsm7_lacks_them() -> None:
    text = sms_text(make_message(kind=Kind.DELIVERY_FAILED))
    assert text.startswith("Casa Aurora Moveis: nao conseguimos entregar o pedido K7Q4M2XP9R.")
    spanish = sms_text(make_message(kind=Kind.DELIVERY_FAILED, language="es"))
    assert "Qué hacer" in spanish  # é is GSM-7: kept


def test_a_store_name_outside_gsm7_is_sent_in_ucs2_rather_than_mangled() -> None:
    text = sms_text(make_message(kind=Kind.IN_TRANSIT, merchant=Branding(name="花店 Flores")))
    assert text.startswith("花店 Flores: seu pedido")
    assert "está" in text  # nothing transliterated: the message is UCS-2 anyway
    assert measure(text).encoding is Encoding.UCS2


# ----------------------------------------------------------------------------- fake Twilio


def twilio_error(code: int, message: str, status: int) -> Reply:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Reply(status, json.dumps(body).encode())


def created(form: dict[str, str]) -> Reply:
    """The documented 201 answer: the new Message resource."""
    sid = "SM" + "1" * 32
    body = {
        "account_sid": ACCOUNT,
        "api_version": "2010-04-01",
        "body": form["Body"],
        "date_created": "Mon, 23 Nov 2026 13:06:00 +0000",
        "date_sent": None,
        "date_updated": "Mon, 23 Nov 2026 13:06:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": None,
        "sid": sid,
        "status": "accepted" if "MessagingServiceSid" in form else "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media.json"},
        "to": form["To"],
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json",
    }
    return Reply(201, json.dumps(body).encode())


class FakeTwilio:
    """Validates requests like Twilio's API does and answers per ``To`` number."""

    def __init__(self, errors: dict[str, Reply] | None = None) -> None:
        self.errors = errors or {}
        self.forms: list[dict[str, str]] = []

    def __call__(self, request: Request) -> Reply:
        expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected_auth:
            return twilio_error(20003, "Authenticate", 401)
        if request.method != "POST" or request.path != MESSAGES_PATH:
            return twilio_error(20404, "The requested resource was not found", 404)
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return twilio_error(400, "Unsupported content type", 400)
        parsed = parse_qs(request.body.decode(), keep_blank_values=True, strict_parsing=True)
        form = {key: values[0] for key, values in parsed.items()}
        assert all(len(values) == 1 for values in parsed.values())
        self.forms.append(form)
        if "To" not in form:
            return twilio_error(21604, "A 'To' phone number is required.", 400)
        if not re.fullmatch(r"\+[1-9]\d{1,14}", form["To"]):
            return twilio_error(21211, f"Invalid 'To' Phone Number: {form['To']}", 400)
        if ("From" in form) == ("MessagingServiceSid" in form):
            return twilio_error(21603, "A 'From' or 'MessagingServiceSid' is required", 400)
        if not form.get("Body"):
            return twilio_error(21602, "Message body is required.", 400)
        if form["To"] in self.errors:
            return self.errors[form["To"]]
        return created(form)


def twilio(server: HttpServer, **changes: object) -> TwilioSms:
    settings: dict[str, object] = {
        "account_sid": ACCOUNT,
        "auth_token": TOKEN,
        "from_number": FROM_NUMBER,
        "base_url": server.url,
        "timeout": 2.0,
    }
    settings.update(changes)
    return TwilioSms(TwilioConfig(**settings))  # type: ignore[arg-type]


async def test_sms_is_created_exactly_as_twilio_documents(http_server: StartHttp) -> None:
    fake = FakeTwilio()
    server = http_server(fake)
    provider = twilio(server, status_callback="https://rumbo.example/hooks/twilio/status")

    delivery = await SmsChannel(provider).send(make_message())

    assert delivery.channel == "sms"
    assert delivery.reference == "SM" + "1" * 32
    assert delivery.detail == "queued"
    [form] = fake.forms
    assert form == {
        "To": "+5511987654321",
        "From": FROM_NUMBER,
        "Body": sms_text(make_message()),
        "StatusCallback": "https://rumbo.example/hooks/twilio/status",
    }
    [request] = server.requests
    assert request.headers["accept"] == "application/json"


async def test_a_messaging_service_replaces_the_from_number(http_server: StartHttp) -> None:
    fake = FakeTwilio()
    server = http_server(fake)
    service = "MG" + "a" * 32
    provider = twilio(server, from_number=None, messaging_service_sid=service)

    delivery = await provider.send_text("+5511987654321", "Oi")

    assert delivery.detail == "accepted"
    assert fake.forms[0] == {"To": "+5511987654321", "MessagingServiceSid": service, "Body": "Oi"}


def test_config_needs_exactly_one_sender() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TwilioConfig(account_sid=ACCOUNT, auth_token=TOKEN)
    with pytest.raises(ValueError, match="exactly one"):
        TwilioConfig(ACCOUNT, TOKEN, from_number=FROM_NUMBER, messaging_service_sid="MGx")


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (twilio_error(21211, "Invalid 'To' Phone Number: +5511987654321", 400), PermanentError),
        (twilio_error(21610, "Attempt to send to unsubscribed recipient", 400), PermanentError),
        (
            twilio_error(21408, "Permission to send an SMS has not been enabled", 400),
            PermanentError,
        ),
        (twilio_error(21614, "'To' number is not a valid mobile number", 400), PermanentError),
        (twilio_error(20429, "Too Many Requests", 429), TransientError),
        (twilio_error(20500, "Internal Server Error", 500), TransientError),
        (twilio_error(20003, "Authenticate", 401), TransientError),
        (Reply(503, b"<html>Service Unavailable</html>", "text/html"), TransientError),
    ],
)
async def test_twilio_errors_are_classified(
    http_server: StartHttp, reply: Reply, error: type[Exception]
) -> None:
    server = http_server(FakeTwilio(errors={"+5511987654321": reply}))

    with pytest.raises(error) as raised:
        await twilio(server).send_text("+5511987654321", "Oi")
    if reply.content_type == "application/json":
        code = json.loads(reply.body)["code"]
        assert f"https://www.twilio.com/docs/errors/{code}" in str(raised.value)


async def test_wrong_credentials_are_refused_by_the_fake_and_wait_for_a_fix(
    http_server: StartHttp,
) -> None:
    server = http_server(FakeTwilio())
    with pytest.raises(TransientError, match="20003"):
        await twilio(server, auth_token="wrong").send_text("+5511987654321", "Oi")


@pytest.mark.parametrize("phone", ["11987654321", "+0551198765", "+55 11 98765-4321", ""])
async def test_a_number_that_is_not_e164_fails_before_calling_twilio(
    http_server: StartHttp, phone: str
) -> None:
    server = http_server(FakeTwilio())
    with pytest.raises(PermanentError):
        await SmsChannel(twilio(server)).send(make_message(phone=phone or None))
    assert server.requests == []


async def test_twilio_unreachable_is_transient() -> None:
    provider = TwilioSms(
        TwilioConfig(
            ACCOUNT, TOKEN, from_number=FROM_NUMBER, base_url=f"http://127.0.0.1:{free_port()}"
        )
    )
    with pytest.raises(TransientError, match="unreachable"):
        await provider.send_text("+5511987654321", "Oi")


async def test_a_shared_client_is_used_when_given(http_server: StartHttp) -> None:
    server = http_server(FakeTwilio())
    async with httpx.AsyncClient() as client:
        cfg = TwilioConfig(ACCOUNT, TOKEN, from_number=FROM_NUMBER, base_url=server.url)
        delivery = await TwilioSms(cfg, client).send_text("+5511987654321", "Oi")
    assert delivery.reference.startswith("SM")
