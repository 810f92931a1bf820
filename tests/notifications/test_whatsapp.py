"""The WhatsApp channel against a local Cloud API that checks requests as Meta documents."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rumbo.notifications.channels.whatsapp import (
    TemplateUnusable,
    Unreachable,
    WhatsAppChannel,
    WhatsAppSender,
    classify,
    signature_valid,
    template_request,
)
from rumbo.notifications.errors import PermanentError, TransientError
from rumbo.notifications.message import Kind

from .conftest import HttpServer, Reply, Responder, make_message
from .fake_meta import APP_SECRET, PHONE_NUMBER_ID, TOKEN, VERSION, FakeMeta, meta_error

StartHttp = Callable[[Responder], HttpServer]
pytestmark = pytest.mark.anyio

TEMPLATES = {
    "shipped": {"pt-BR": "pedido_enviado", "es": "pedido_enviado_es", "en": "order_shipped"},
    "delivered": {"pt-BR": "pedido_entregue"},
}
SENDER = WhatsAppSender(PHONE_NUMBER_ID, TOKEN, VERSION, TEMPLATES)


async def send(server: HttpServer, **changes: object) -> str:
    channel = WhatsAppChannel(base_url=server.url)
    try:
        delivery = await channel.send(make_message(**changes), SENDER)
    finally:
        await channel.aclose()
    return delivery.reference


@pytest.mark.parametrize(
    ("language", "template", "code"),
    [
        ("pt-BR", "pedido_enviado", "pt_BR"),
        ("es", "pedido_enviado_es", "es"),
        ("en", "order_shipped", "en"),
    ],
)
async def test_a_template_message_is_sent_exactly_as_meta_documents(
    http_server: StartHttp, language: str, template: str, code: str
) -> None:
    fake = FakeMeta()
    server = http_server(fake)

    reference = await send(server, language=language)

    assert reference == "wamid.HBgN000001"
    [body] = fake.sent
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511987654321",
        "type": "template",
        "template": {
            "name": template,
            "language": {"policy": "deterministic", "code": code},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Casa Aurora Móveis"},
                        {"type": "text", "text": "K7Q4M2XP9R"},
                        {
                            "type": "text",
                            "text": "https://rastreio.casaaurora.example/t/K7Q4M2XP9R",
                        },
                    ],
                }
            ],
        },
        "biz_opaque_callback_data": "outbox:7f3c2a",
    }


def test_the_recorded_send_request_has_the_shape_rumbo_writes(shared_data: Path) -> None:
    recorded = json.loads(
        (shared_data / "payloads/whatsapp/api/send_template_request_body.json").read_text()
    )
    recorded.pop("_note")
    ours = template_request(SENDER, make_message())
    ours.pop("biz_opaque_callback_data")
    assert set(ours) == set(recorded)
    assert set(ours["template"]) == set(recorded["template"])
    assert ours["template"]["language"].keys() == recorded["template"]["language"].keys()
    assert FakeMeta.check(recorded | {"to": "5511987654321", "template": ours["template"]}) is None


def test_no_template_for_the_kind_and_language_fails_before_calling_meta() -> None:
    with pytest.raises(PermanentError, match="no WhatsApp template for delivered in es"):
        template_request(SENDER, make_message(kind=Kind.DELIVERED, language="es"))


def test_a_paused_template_is_not_sent() -> None:
    paused = WhatsAppSender(
        PHONE_NUMBER_ID, TOKEN, VERSION, TEMPLATES, frozenset({"pedido_enviado"})
    )
    with pytest.raises(TemplateUnusable):
        template_request(paused, make_message())


def test_a_number_that_is_not_e164_is_unreachable() -> None:
    with pytest.raises(Unreachable):
        template_request(SENDER, make_message(phone="11 98765-4321"))


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("error_130429_rate_limit_meta_docs.json", TransientError),
        ("error_131056_pair_rate_limit_ycloud_docs.json", TransientError),
        ("error_131047_reengagement_pywa_test.json", PermanentError),
    ],
)
def test_recorded_meta_errors_are_classified(
    shared_data: Path, file: str, expected: type[Exception]
) -> None:
    body = json.loads((shared_data / "payloads/whatsapp/api" / file).read_text())
    if "error" not in body:  # recorded as the webhook-style object alone
        body = {"error": body}
    error = classify(400, json.dumps(body), "pedido_enviado")
    assert type(error) is expected


async def test_errors_map_to_retry_suppress_or_pause(http_server: StartHttp) -> None:
    fake = FakeMeta(
        errors_by_to={
            "5511900000001": meta_error(130429, "Rate limit hit"),
            "5511900000002": meta_error(131026, "Message undeliverable"),
        },
        errors_by_template={"pedido_enviado": meta_error(132015, "Template is paused")},
    )
    server = http_server(fake)
    with pytest.raises(TransientError, match="130429"):
        await send(server, phone="+5511900000001")
    with pytest.raises(Unreachable, match="131026"):
        await send(server, phone="+5511900000002")
    with pytest.raises(TemplateUnusable) as paused:
        await send(server)
    assert paused.value.template == "pedido_enviado"


async def test_an_expired_token_waits_for_the_operator(http_server: StartHttp) -> None:
    server = http_server(lambda request: meta_error(190, "Error validating access token", 401))
    with pytest.raises(TransientError, match="190"):
        await send(server)


async def test_meta_unreachable_is_transient() -> None:
    channel = WhatsAppChannel(base_url="http://127.0.0.1:9")
    with pytest.raises(TransientError, match="unreachable"):
        await channel.send(make_message(), SENDER)
    await channel.aclose()


async def test_a_200_without_a_message_id_is_retried(http_server: StartHttp) -> None:
    server = http_server(lambda request: Reply(200, b'{"messages": []}'))
    with pytest.raises(TransientError):
        await send(server)


def test_signature_vectors(shared_data: Path) -> None:
    vectors = json.loads(
        (shared_data / "payloads/whatsapp/signature/x_hub_signature_256_vectors.json").read_text()
    )["vectors"]
    for vector in vectors:
        body = vector["raw_body"].encode()
        valid = signature_valid(vector["app_secret"], body, vector["x_hub_signature_256"])
        assert valid is vector["expected_valid"], vector["name"]
    raw = (shared_data / "payloads/whatsapp/signature/pywa_raw_body.json.bin").read_bytes()
    assert signature_valid(APP_SECRET, raw, vectors[0]["x_hub_signature_256"])
    assert not signature_valid(APP_SECRET, raw, None)
    assert not signature_valid(APP_SECRET, raw, vectors[0]["x_hub_signature_256"][7:])
