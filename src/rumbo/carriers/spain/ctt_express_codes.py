"""CTT Express delivery states → Rumbo statuses.

Facts from ../shared/data/carriers/spain/cttexpress_delivery_states.csv (21 CTT Express
states with Spanish descriptions, extracted from an OCA delivery module, AGPL-3.0); the
mapping is Rumbo's own.
"""

from __future__ import annotations

from rumbo.events.status import Status

CTT_EXPRESS_CODES: dict[str, tuple[Status | None, str]] = {
    # Label recorded, parcel not yet in CTT's network: the warehouse is still on it.
    "0": (Status.PREPARING, "PENDIENTE DE ENTRADA EN RED"),
    "1": (Status.IN_TRANSIT, "EN TRANSITO"),
    "2": (Status.OUT_FOR_DELIVERY, "EN REPARTO"),
    "3": (Status.DELIVERED, "ENTREGADO"),
    "4": (Status.EXCEPTION, "INCIDENCIA"),
    # A return started is not yet a return completed ("9 RETORNADO").
    "5": (Status.EXCEPTION, "DEVOLUCION"),
    "6": (Status.AVAILABLE_FOR_PICKUP, "RECOGERAN EN AGENCIA"),
    "7": (Status.IN_TRANSIT, "RECANALIZADO"),
    "8": (Status.DELIVERY_FAILED, "NO REALIZADO"),
    "9": (Status.RETURNED, "RETORNADO"),
    "10": (Status.IN_TRANSIT, "EN ADUANA"),
    "11": (Status.IN_TRANSIT, "EN AGENCIA"),
    # Some parcels are missing: the shopper must know, so not "delivered".
    "12": (Status.EXCEPTION, "ENTREGA PARCIAL"),
    # Placed at a pick-up point (PER) for the shopper to collect.
    "13": (Status.AVAILABLE_FOR_PICKUP, "POSICIONADO EN PER"),
    "50": (Status.EXCEPTION, "DEVOLUCION DESDE PLATAFORMA"),
    "51": (Status.EXCEPTION, "DEVOLUCION SINIESTROS MERCANCIA YA EVALUADA"),
    "70": (Status.EXCEPTION, "RECANALIZADO A SINIESTROS POR PLATAFORMA"),
    "71": (Status.IN_TRANSIT, "REENCAMINADO"),
    "90": (Status.CANCELLED, "ANULADO"),
    "91": (Status.IN_TRANSIT, "REACTIVACION ENVIO (TOL)"),
    # A grouping record (several parcels composed into one); says nothing of progress.
    "99": (None, "COMPUESTO"),
}
