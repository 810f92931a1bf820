"""Multi-carrier aggregators whose webhook bodies Rumbo accepts unchanged."""

from rumbo.carriers.aggregators.aftership import AfterShipAdapter
from rumbo.carriers.aggregators.easypost import EasyPostAdapter
from rumbo.carriers.aggregators.shippo import ShippoAdapter

__all__ = ["AfterShipAdapter", "EasyPostAdapter", "ShippoAdapter"]
