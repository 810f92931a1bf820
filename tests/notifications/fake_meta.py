"""A local WhatsApp Cloud API that checks each request as Meta documents it.

(https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages,
https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates)
It also writes status callbacks as Meta sends them, signed with the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .conftest import Reply, Request

PHONE_NUMBER_ID = "106540352242922"
TOKEN = "EAAGtestaccesstoken"
APP_SECRET = "1222e786b144d0e85b9f365372d93676"
VERSION = "v21.0"
LANGUAGES = {"pt_BR", "es", "en"}


def meta_error(code: int, message: str, status: int = 400, details: str = "") -> Reply:
    body = {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or message},
            "fbtrace_id": "AbCdEfGh123",
        }
    }
    return Reply(status, json.dumps(body).encode())


@dataclass
class FakeMeta:
    """Answers per template name or recipient; records every accepted body."""

    errors_by_to: dict[str, Reply] = field(default_factory=dict)
    errors_by_template: dict[str, Reply] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: Request) -> Reply:
        if request.path != f"/{VERSION}/{PHONE_NUMBER_ID}/messages":
            return meta_error(100, "Unsupported post request", 400)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return meta_error(190, "Invalid OAuth access token", 401)
        if request.headers.get("content-type") != "application/json":
            return meta_error(100, "Invalid parameter: content type", 400)
        body = json.loads(request.body)
        problem = self.check(body)
        if problem:
            return meta_error(100, "Invalid parameter", 400, problem)
        to = body["to"]
        if to in self.errors_by_to:
            return self.errors_by_to[to]
        name = body["template"]["name"]
        if name in self.errors_by_template:
            return self.errors_by_template[name]
        self.sent.append(body)
        wamid = f"wamid.HBgN{len(self.sent):06d}"
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid}],
        }
        return Reply(200, json.dumps(answer).encode())

    @staticmethod
    def check(body: dict[str, Any]) -> str | None:
        """What Meta would refuse in a template message; None when it is well formed."""
        expected = {"messaging_product", "recipient_type", "to", "type", "template"}
        if not expected <= set(body) <= expected | {"biz_opaque_callback_data"}:
            return f"unexpected fields {sorted(set(body) ^ expected)}"
        if body["messaging_product"] != "whatsapp" or body["recipient_type"] != "individual":
            return "messaging_product must be whatsapp, recipient_type individual"
        if body["type"] != "template" or not re.fullmatch(r"[1-9][0-9]{6,14}", body["to"]):
            return "type must be template and to a phone number in digits"
        template = body["template"]
        if set(template) != {"name", "language", "components"}:
            return "template needs name, language, components"
        if not re.fullmatch(r"[a-z0-9_]+", template["name"]):
            return "template name"
        if template["language"] != {
            "policy": "deterministic",
            "code": template["language"]["code"],
        }:
            return "language needs policy deterministic"
        if template["language"]["code"] not in LANGUAGES:
            return "language code"
        [component] = template["components"]
        if component["type"] != "body" or len(component["parameters"]) != 3:
            return "the approved templates take three body parameters"
        for parameter in component["parameters"]:
            if set(parameter) != {"type", "text"} or parameter["type"] != "text":
                return "text parameters only"
            if not parameter["text"] or "\n" in parameter["text"]:
                return "a parameter cannot be empty or hold new lines"
        if len(body.get("biz_opaque_callback_data", "")) > 512:
            return "biz_opaque_callback_data is at most 512 characters"
        return None


def status_callback(
    data: Path, wamid: str, status: str, timestamp: int, *, phone_number_id: str = PHONE_NUMBER_ID
) -> bytes:
    """A status webhook body from the recorded sample of ``status``, naming ``wamid``."""
    payload = json.loads(
        (data / "payloads/whatsapp/webhooks" / f"status_{status}.json").read_text()
    )
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = phone_number_id
    value["statuses"][0]["id"] = wamid
    value["statuses"][0]["timestamp"] = str(timestamp)
    return json.dumps(payload, separators=(",", ":")).encode()


def reply_callback(data: Path, wa_id: str, text: str) -> bytes:
    payload = json.loads((data / "payloads/whatsapp/webhooks/inbound_text.json").read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["from"] = wa_id
    message["text"]["body"] = text
    return json.dumps(payload).encode()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
