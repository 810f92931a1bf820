"""Parse the Correios SRO tracking web service response (SOAP ``buscaEventosLista``).

What Correios actually returns (recorded in ../shared/data/carriers/correios/recorded/):
``<return><versao/><qtd/><objeto><numero/>…<evento>…</evento></objeto></return>`` inside a
SOAP envelope, one ``<objeto>`` per tracking number, newest event first. Each ``<evento>``
has ``tipo``, ``status`` (zero-padded), ``data`` (dd/mm/yyyy) and ``hora`` (HH:MM) in
Brazil's local time, ``descricao``, optional ``detalhe``, ``local``, ``codigo`` (CEP),
``cidade`` and ``uf`` (either may be missing) and, when forwarded, a ``<destino>``.
An unknown number comes back as ``<objeto><numero/><erro>Objeto não encontrado…</erro>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

from rumbo.carriers.base import CarrierEvent, JsonObject, PayloadError, derived_event_id, utc
from rumbo.carriers.correios.mapping import correios_status
from rumbo.carriers.payload import location

NAME = "correios"
# SRO times carry no offset; they are Brasília time. Using the zone database (not a fixed
# -03:00) keeps the historical daylight-saving periods right (e.g. Nov 2018-Feb 2019).
BRAZIL = ZoneInfo("America/Sao_Paulo")


@dataclass(frozen=True, slots=True)
class SroObject:
    """One tracked object in a response: its events, or Correios' error text."""

    tracking_number: str
    events: tuple[CarrierEvent, ...]
    error: str | None = None

    @property
    def found(self) -> bool:
        return self.error is None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_MAX_DEPTH = 4  # evento > destino > field is as deep as SRO goes


def _children(element: ET.Element, depth: int = 0) -> JsonObject:
    """An element's children as a JSON-able dict (nested elements become dicts)."""
    if depth > _MAX_DEPTH:
        raise PayloadError("correios: evento nested deeper than SRO ever nests")
    result: JsonObject = {}
    for child in element:
        key = _local(child.tag)
        if len(child):
            result[key] = _children(child, depth + 1)
        else:
            result[key] = " ".join((child.text or "").split())
    return result


def _text(fields: JsonObject, key: str) -> str | None:
    value = fields.get(key)
    return value if isinstance(value, str) and value else None


def _event(number: str, fields: JsonObject) -> CarrierEvent:
    what = f"correios {number}"
    event_type = _text(fields, "tipo")
    status_text = _text(fields, "status")
    date, hour = _text(fields, "data"), _text(fields, "hora")
    if event_type is None or status_text is None or date is None or hour is None:
        raise PayloadError(f"{what}: evento without tipo, status, data or hora")
    if not status_text.isdigit() or len(status_text) > 4:
        raise PayloadError(f"{what}: evento status '{status_text[:10]}' is not a number")
    status_number = int(status_text)
    try:
        local_time = datetime.strptime(f"{date} {hour}", "%d/%m/%Y %H:%M")
    except ValueError as exc:
        raise PayloadError(f"{what}: bad data/hora '{date} {hour}'") from exc
    occurred_at = utc(local_time.replace(tzinfo=BRAZIL))
    code = f"{event_type.upper()}-{status_number:02d}"
    text = _text(fields, "descricao") or code
    destination = fields.get("destino")
    if isinstance(destination, dict) and _text(destination, "local"):
        text = f"{text.removesuffix(' para')} para {_text(destination, 'local')}"
    detail = _text(fields, "detalhe")
    if detail:
        text = f"{text} — {detail}"
    return CarrierEvent(
        carrier=NAME,
        tracking_number=number,
        event_id=derived_event_id(NAME, number, code, occurred_at),
        status=correios_status(event_type, status_number),
        occurred_at=occurred_at,
        code=code,
        text=text,
        location=location(
            city=_text(fields, "cidade"),
            state=_text(fields, "uf"),
            country="BR",
        ),
        raw=fields,
    )


def parse_sro_response(body: bytes) -> list[SroObject]:
    """Every object in an SRO response, found or not. Raises :class:`PayloadError`."""
    # Correios never sends a DTD. defusedxml refuses one from the parser's own events,
    # after decoding, so a DTD hidden in UTF-16 or another encoding is refused too
    # (entity expansion, external entities: https://pypi.org/project/defusedxml/).
    try:
        root = parse_xml(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise PayloadError("correios: XML with a DTD or entities is not accepted") from exc
    except (ET.ParseError, ValueError, LookupError, RecursionError) as exc:
        raise PayloadError("correios: body is not well-formed XML") from exc
    fault = next((el for el in root.iter() if _local(el.tag) == "faultstring"), None)
    if fault is not None:
        raise PayloadError(f"correios: SOAP fault: {(fault.text or '').strip()[:200]}")
    returns = [el for el in root.iter() if _local(el.tag) == "return"]
    if not returns:
        raise PayloadError("correios: no <return> element in the response")
    objects: list[SroObject] = []
    for element in returns[0]:
        if _local(element.tag) != "objeto":
            continue
        number = " ".join((element.findtext("numero") or "").split()).upper()
        if not number:
            raise PayloadError("correios: objeto without numero")
        error = element.findtext("erro")
        if error is not None:
            objects.append(SroObject(number, (), " ".join(error.split())))
            continue
        events = tuple(
            _event(number, _children(child)) for child in element if _local(child.tag) == "evento"
        )
        objects.append(SroObject(number, events))
    return objects


class CorreiosAdapter:
    """Correios SRO: a polled SOAP response (Correios pushes nothing)."""

    name = NAME

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        """All events of all found objects; objects Correios does not know give none."""
        return [event for obj in parse_sro_response(body) for event in obj.events]
