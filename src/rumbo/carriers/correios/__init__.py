"""Correios (Brazil): SRO event mapping and the SOAP tracking response parser."""

from rumbo.carriers.correios.codes import CORREIOS_PREFIXES, ObjectCode, parse_object_code
from rumbo.carriers.correios.mapping import CORREIOS_EVENTS, correios_status
from rumbo.carriers.correios.parser import CorreiosAdapter, SroObject, parse_sro_response

__all__ = [
    "CORREIOS_EVENTS",
    "CORREIOS_PREFIXES",
    "ObjectCode",
    "CorreiosAdapter",
    "SroObject",
    "correios_status",
    "parse_object_code",
    "parse_sro_response",
]
