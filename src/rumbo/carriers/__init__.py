"""Carrier integrations: pure parsers that turn what a carrier sends into canonical events.

Nothing here does I/O. An endpoint hands ``parse`` the raw body and headers it received
and stores the :class:`~rumbo.carriers.base.CarrierEvent` objects it gets back.
"""

from rumbo.carriers.base import CarrierAdapter, CarrierEvent, Location, PayloadError

__all__ = ["CarrierAdapter", "CarrierEvent", "Location", "PayloadError"]
