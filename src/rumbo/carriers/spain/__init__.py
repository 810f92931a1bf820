"""Spanish carriers: SEUR, CTT Express and Correos (Spain), relayed as Rumbo JSON webhooks."""

from __future__ import annotations

from rumbo.carriers.spain.correos_es_codes import CORREOS_ES_PHASES
from rumbo.carriers.spain.ctt_express_codes import CTT_EXPRESS_CODES
from rumbo.carriers.spain.seur_codes import SEUR_CODES
from rumbo.carriers.spain.webhook import SIGNATURE_HEADER, SpanishCarrierWebhook, sign

_PHASE_BY_LABEL = {label: phase for phase, (_, label) in CORREOS_ES_PHASES.items()}


def _correos_es_phase(code: str) -> str:
    """Correos sends the phase number or its label; both name the same row."""
    return _PHASE_BY_LABEL.get(code, code)


def _ctt_code(code: str) -> str:
    # CTT codes are numbers; "03" and "3" are the same state.
    return str(int(code)) if code.isdigit() and len(code) < 6 else code


seur = SpanishCarrierWebhook("seur", SEUR_CODES)
ctt_express = SpanishCarrierWebhook("ctt_express", CTT_EXPRESS_CODES, _ctt_code)
correos_es = SpanishCarrierWebhook("correos_es", CORREOS_ES_PHASES, _correos_es_phase)

__all__ = [
    "CORREOS_ES_PHASES",
    "CTT_EXPRESS_CODES",
    "SEUR_CODES",
    "SIGNATURE_HEADER",
    "SpanishCarrierWebhook",
    "correos_es",
    "ctt_express",
    "seur",
    "sign",
]
