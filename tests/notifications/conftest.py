"""Real peers for the channel tests: an SMTP server (aiosmtpd) and HTTP servers on loopback.

Every server listens on 127.0.0.1 on a free port and is stopped when the test ends.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rumbo.events.status import Status
from rumbo.notifications.message import Branding, Kind, Message


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------ messages

BRANDING = Branding(
    name="Casa Aurora Móveis",
    logo_url="https://cdn.casaaurora.example/logo.png",
    accent_colour="#aa3300",
    support_email="ajuda@casaaurora.example",
    support_phone="+55 11 4000-1234",
    support_url="https://casaaurora.example/ajuda",
)


def make_message(**changes: Any) -> Message:
    """A realistic message; any field can be overridden."""
    base = Message(
        kind=Kind.SHIPPED,
        language="pt-BR",
        idempotency_key="outbox:7f3c2a",
        tracking_code="K7Q4M2XP9R",
        tracking_url="https://rastreio.casaaurora.example/t/K7Q4M2XP9R",
        status=Status.SHIPPED,
        status_at=datetime(2026, 11, 23, 13, 5, tzinfo=UTC),
        merchant=BRANDING,
        time_zone="America/Sao_Paulo",
        preferences_url="https://rastreio.casaaurora.example/p/Zx81",
        unsubscribe_url="https://rastreio.casaaurora.example/u/Zx81",
        customer_first_name="Ana",
        email="ana.souza@example.com",
        phone="+5511987654321",
        city="Campinas",
        promised_date=date(2026, 11, 28),
        predicted_earliest=date(2026, 11, 27),
        predicted_latest=date(2026, 11, 29),
        carrier="Correios",
        carrier_tracking_number="AA123456789BR",
        # 14:20–14:50 in São Paulo; only the arrival-window notice shows it.
        window_start=datetime(2026, 11, 23, 17, 20, tzinfo=UTC),
        window_end=datetime(2026, 11, 23, 17, 50, tzinfo=UTC),
    )
    return replace(base, **changes)


# ---------------------------------------------------------------------------------------- SMTP


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SmtpHandler:
    """Records accepted mail; refuses recipients listed in ``refuse`` with the given reply."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert envelope.mail_from is not None
        content = envelope.original_content or b""
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Controller, SmtpHandler]]]:
    """Start aiosmtpd on 127.0.0.1; keyword arguments go to the SMTP server (auth, TLS)."""
    started: list[Controller] = []

    def start(handler: SmtpHandler | None = None, **kwargs: Any) -> tuple[Controller, SmtpHandler]:
        handler = handler or SmtpHandler()
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        started.append(controller)
        return controller, handler

    yield start
    for controller in started:
        controller.stop()


# ---------------------------------------------------------------------------------------- HTTP


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


# A responder returns a Reply, or None to drop the connection without answering.
Responder = Callable[[Request], Reply | None]


@dataclass
class HttpServer:
    url: str
    requests: list[Request]
    release: threading.Event  # set at teardown so a deliberately slow responder returns


@pytest.fixture
def http_server() -> Iterator[Callable[[Responder], HttpServer]]:
    """Start a real HTTP/1.1 server on 127.0.0.1 that answers with ``responder``."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread, threading.Event]] = []

    def start(responder: Responder) -> HttpServer:
        requests: list[Request] = []
        release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                request = Request(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                requests.append(request)
                reply = responder(request)
                if reply is None:  # close mid-request: no status line at all
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        # A short poll keeps shutdown() (and so each test) fast.
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        servers.append((server, thread, release))
        host, port = server.server_address[:2]
        return HttpServer(f"http://{host!s}:{port}", requests, release)

    yield start
    for server, thread, release in servers:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------------ TLS


def self_signed(
    folder: Path, common_name: str, alternative: x509.GeneralName
) -> tuple[Path, Path, str]:
    """A self-signed certificate (its own CA) in ``folder``: (cert file, key file, PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (folder / "cert.pem").write_text(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem", pem


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A self-signed certificate for 127.0.0.1: (cert file, key file, PEM)."""
    return self_signed(
        tmp_path_factory.mktemp("tls"),
        "127.0.0.1",
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    )


def server_tls(certificate: tuple[Path, Path, str]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate[0], certificate[1])
    return context
