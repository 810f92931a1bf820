"""E-mail: rendered per language and store, delivered to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from rumbo.notifications.channels.email import (
    EmailChannel,
    SmtpConfig,
    SmtpSecurity,
    build_email,
    message_id,
)
from rumbo.notifications.errors import PermanentError, TransientError
from rumbo.notifications.message import Kind

from .conftest import BRANDING, SmtpHandler, free_port, make_message, server_tls

pytestmark = pytest.mark.anyio

StartSmtp = Callable[..., tuple[Controller, SmtpHandler]]
NOW = dt.datetime(2026, 11, 23, 13, 6, tzinfo=dt.UTC)
FROM = "notificacoes@rumbo.example"


def config(controller: Controller, **changes: Any) -> SmtpConfig:
    return SmtpConfig(
        from_address=FROM, host="127.0.0.1", port=int(controller.port), timeout=5, **changes
    )


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


async def test_email_arrives_as_text_and_html_in_the_shoppers_language(
    smtp_server: StartSmtp,
) -> None:
    controller, handler = smtp_server()
    channel = EmailChannel(config(controller), clock=lambda: NOW)

    delivery = await channel.send(make_message())

    [received] = handler.received
    assert received.mail_from == FROM
    assert received.rcpt_tos == ["ana.souza@example.com"]
    mail = parse(received.content)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["From"].addresses[0].display_name == "Casa Aurora Móveis"
    assert mail["From"].addresses[0].addr_spec == FROM
    assert mail["Reply-To"] == "ajuda@casaaurora.example"
    assert mail["Subject"] == "Seu pedido K7Q4M2XP9R foi enviado"
    assert mail["Content-Language"] == "pt-BR"
    assert mail["Message-ID"] == delivery.reference
    text, html = parts(mail)
    assert text.startswith("Olá, Ana!")
    assert "Seu pedido saiu do armazém e já está com a transportadora." in text
    assert "Acompanhar pedido: https://rastreio.casaaurora.example/t/K7Q4M2XP9R" in text
    assert "Gerenciar notificações: https://rastreio.casaaurora.example/p/Zx81" in text
    assert "Transportadora: Correios (AA123456789BR)" in text
    assert "Localização: Campinas" in text
    # 13:05 UTC is 10:05 in São Paulo, written the Brazilian way.
    assert "Última atualização: 23 de nov" in text
    assert "10:05" in text
    assert '<html lang="pt-BR">' in html
    assert 'href="https://rastreio.casaaurora.example/t/K7Q4M2XP9R"' in html
    assert 'href="https://rastreio.casaaurora.example/p/Zx81"' in html
    assert "background:#aa3300" in html
    assert '<img src="https://cdn.casaaurora.example/logo.png" alt="Casa Aurora Móveis"' in html


async def test_email_carries_rfc8058_one_click_unsubscribe_and_auto_submitted(
    smtp_server: StartSmtp,
) -> None:
    controller, handler = smtp_server()
    cfg = config(controller, unsubscribe_mailto="unsubscribe@rumbo.example")

    await EmailChannel(cfg, clock=lambda: NOW).send(make_message())

    mail = parse(handler.received[0].content)
    assert mail["List-Unsubscribe"] == (
        "<https://rastreio.casaaurora.example/u/Zx81>, "
        "<mailto:unsubscribe@rumbo.example?subject=unsubscribe>"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Date"].datetime == NOW


@pytest.mark.parametrize(
    ("language", "subject", "greeting", "button"),
    [
        ("es", "Tu pedido K7Q4M2XP9R fue enviado", "Hola, Ana:", "Seguir mi pedido"),
        ("en", "Your order K7Q4M2XP9R has shipped", "Hello Ana,", "Track your order"),
    ],
)
async def test_email_is_written_in_each_language(
    smtp_server: StartSmtp, language: str, subject: str, greeting: str, button: str
) -> None:
    controller, handler = smtp_server()
    await EmailChannel(config(controller)).send(make_message(language=language))

    mail = parse(handler.received[0].content)
    text, html = parts(mail)
    assert mail["Subject"] == subject
    assert text.startswith(greeting)
    assert button in text
    assert button in html
    assert f'<html lang="{language}">' in html


def test_every_kind_renders_its_own_subject_in_every_language() -> None:
    cfg = SmtpConfig(from_address=FROM)
    for language in ("pt-BR", "es", "en"):
        subjects = {
            build_email(make_message(kind=kind, language=language), cfg, NOW)["Subject"]
            for kind in Kind
        }
        assert len(subjects) == len(Kind)


def test_a_resend_has_the_same_message_id_and_another_notification_does_not() -> None:
    cfg = SmtpConfig(from_address=FROM)
    first = build_email(make_message(), cfg, NOW)
    retry = build_email(make_message(), cfg, NOW + dt.timedelta(hours=2))
    other = build_email(make_message(idempotency_key="outbox:other"), cfg, NOW)

    assert first["Message-ID"] == retry["Message-ID"] == message_id("outbox:7f3c2a", FROM)
    assert first["Message-ID"] != other["Message-ID"]
    assert first["Message-ID"].endswith("@rumbo.example>")
    assert "outbox" not in first["Message-ID"]  # the key itself is not exposed


def test_shopper_supplied_text_is_escaped_in_html() -> None:
    message = make_message(customer_first_name="<script>x</script>", city="A & B")
    _, html = parts(build_email(message, SmtpConfig(from_address=FROM), NOW))
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "A &amp; B" in html


def test_optional_fields_are_left_out_when_unknown() -> None:
    message = make_message(
        customer_first_name=None,
        city=None,
        carrier=None,
        carrier_tracking_number=None,
        promised_date=None,
        predicted_earliest=None,
        predicted_latest=None,
        merchant=BRANDING.__class__(name="Loja Simples"),
        language="en",
    )
    mail = build_email(message, SmtpConfig(from_address=FROM), NOW)
    text, html = parts(mail)
    assert text.startswith("Hello,\n")
    for absent in ("Location", "Carrier", "Promised", "Estimated", "Questions"):
        assert absent not in text
    assert "<img" not in html
    assert "background:#2563eb" in html  # the default accent
    assert mail["Reply-To"] is None


@pytest.mark.parametrize("address", [None, "not-an-address", "ana@"])
def test_a_missing_or_invalid_address_is_permanent(address: str | None) -> None:
    with pytest.raises(PermanentError):
        build_email(make_message(email=address), SmtpConfig(from_address=FROM), NOW)


async def test_a_mailbox_refused_with_550_is_permanent(smtp_server: StartSmtp) -> None:
    refused = SmtpHandler(refuse={"ana.souza@example.com": "550 5.1.1 No such mailbox"})
    controller, handler = smtp_server(refused)

    with pytest.raises(PermanentError, match="550 5.1.1 No such mailbox"):
        await EmailChannel(config(controller)).send(make_message())
    assert handler.received == []


async def test_a_recipient_deferred_with_451_is_transient(smtp_server: StartSmtp) -> None:
    deferring = SmtpHandler(refuse={"ana.souza@example.com": "451 4.3.0 Try again later"})
    controller, _ = smtp_server(deferring)

    with pytest.raises(TransientError, match="451"):
        await EmailChannel(config(controller)).send(make_message())


async def test_a_server_that_is_down_is_transient() -> None:
    cfg = SmtpConfig(from_address=FROM, host="127.0.0.1", port=free_port(), timeout=2)
    with pytest.raises(TransientError, match="SMTP delivery failed"):
        await EmailChannel(cfg).send(make_message())


# ------------------------------------------------------------------------------ TLS and AUTH


def client_tls(certificate: tuple[Path, Path, str]) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=certificate[2])


class Authenticator:
    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        ok = (data.login, data.password) == (b"rumbo", b"s3cret")
        self.seen.append((mechanism, bool(session.ssl)))
        return AuthResult(success=ok, handled=False)


async def test_starttls_then_auth_delivers(
    smtp_server: StartSmtp, certificate: tuple[Path, Path, str]
) -> None:
    authenticator = Authenticator()
    controller, handler = smtp_server(
        tls_context=server_tls(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    cfg = config(
        controller,
        security=SmtpSecurity.STARTTLS,
        username="rumbo",
        password="s3cret",
        tls_context=client_tls(certificate),
    )

    await EmailChannel(cfg).send(make_message())

    assert len(handler.received) == 1
    assert [ssl_on for _, ssl_on in authenticator.seen] == [True]  # AUTH only after STARTTLS


async def test_wrong_credentials_are_transient_until_the_operator_fixes_them(
    smtp_server: StartSmtp, certificate: tuple[Path, Path, str]
) -> None:
    controller, handler = smtp_server(
        tls_context=server_tls(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=Authenticator(),
    )
    cfg = config(
        controller,
        security=SmtpSecurity.STARTTLS,
        username="rumbo",
        password="wrong",
        tls_context=client_tls(certificate),
    )

    with pytest.raises(TransientError, match="authentication failed"):
        await EmailChannel(cfg).send(make_message())
    assert handler.received == []


async def test_implicit_tls_delivers(
    smtp_server: StartSmtp, certificate: tuple[Path, Path, str]
) -> None:
    controller, handler = smtp_server(ssl_context=server_tls(certificate))
    cfg = config(controller, security=SmtpSecurity.TLS, tls_context=client_tls(certificate))

    await EmailChannel(cfg).send(make_message())

    assert len(handler.received) == 1


async def test_an_untrusted_certificate_is_transient(
    smtp_server: StartSmtp, certificate: tuple[Path, Path, str]
) -> None:
    controller, handler = smtp_server(ssl_context=server_tls(certificate))
    cfg = config(controller, security=SmtpSecurity.TLS)  # system trust store: self-signed fails

    with pytest.raises(TransientError):
        await EmailChannel(cfg).send(make_message())
    assert handler.received == []
