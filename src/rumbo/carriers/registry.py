"""Carrier adapters by the name used in webhook URLs and stored on events."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from rumbo.carriers.aggregators import AfterShipAdapter, EasyPostAdapter, ShippoAdapter
from rumbo.carriers.base import CarrierAdapter, SigningCarrierAdapter
from rumbo.carriers.correios import CorreiosAdapter
from rumbo.carriers.spain import correos_es, ctt_express, seur


class UnknownCarrier(LookupError):
    """No adapter is registered under that name."""


ADAPTERS: Mapping[str, CarrierAdapter] = MappingProxyType(
    {
        adapter.name: adapter
        for adapter in (
            CorreiosAdapter(),
            seur,
            ctt_express,
            correos_es,
            EasyPostAdapter(),
            ShippoAdapter(),
            AfterShipAdapter(),
        )
    }
)


def get_adapter(name: str) -> CarrierAdapter:
    """The adapter registered as ``name``; raises :class:`UnknownCarrier`."""
    try:
        return ADAPTERS[name]
    except KeyError:
        raise UnknownCarrier(f"no carrier adapter named {name!r}") from None


def signing_adapter(adapter: CarrierAdapter) -> SigningCarrierAdapter | None:
    """The adapter as a signature checker, or ``None`` when its sender does not sign."""
    return adapter if isinstance(adapter, SigningCarrierAdapter) else None
