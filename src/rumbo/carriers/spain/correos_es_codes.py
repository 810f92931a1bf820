"""Correos (Spain) public tracking phases → Rumbo statuses.

Facts from ../shared/data/NOTE.md: Correos' public tracking API reports a phase with the
labels PRE-ADMISIÓN, EN CAMINO, EN ENTREGA, ENTREGADO. We accept the label or its
position (1-4); phase 0 means "no information yet" and is informational. Correos' detailed
event codes are not in our data, so anything else is informational (``None``).
"""

from __future__ import annotations

from rumbo.events.status import Status

CORREOS_ES_PHASES: dict[str, tuple[Status | None, str]] = {
    "0": (None, "SIN INFORMACIÓN"),
    "1": (Status.PREPARING, "PRE-ADMISIÓN"),
    "2": (Status.IN_TRANSIT, "EN CAMINO"),
    "3": (Status.OUT_FOR_DELIVERY, "EN ENTREGA"),
    "4": (Status.DELIVERED, "ENTREGADO"),
}
