"""All tables, imported here so metadata is complete for Alembic and the app."""

from rumbo.models.api_key import ApiKey
from rumbo.models.carrier_code_mapping import CarrierCodeMapping
from rumbo.models.carrier_connection import CarrierConnection
from rumbo.models.device import Device
from rumbo.models.device_position import DevicePosition
from rumbo.models.device_route import DeviceRoute
from rumbo.models.event import Event
from rumbo.models.merchant import Merchant
from rumbo.models.notification_rule import NotificationRule
from rumbo.models.order import Order
from rumbo.models.outbox_message import OutboxMessage
from rumbo.models.rate_limit_counter import RateLimitCounter
from rumbo.models.shipment import Shipment
from rumbo.models.shopper_preference import ShopperPreference
from rumbo.models.staff import StaffSession, StaffUser
from rumbo.models.stale_threshold import StaleThreshold
from rumbo.models.support import Conversation, ConversationTurn, Inquiry, OrderNote
from rumbo.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "ApiKey",
    "CarrierCodeMapping",
    "CarrierConnection",
    "Conversation",
    "ConversationTurn",
    "Device",
    "DevicePosition",
    "DeviceRoute",
    "Event",
    "Inquiry",
    "Merchant",
    "NotificationRule",
    "Order",
    "OrderNote",
    "OutboxMessage",
    "RateLimitCounter",
    "Shipment",
    "ShopperPreference",
    "StaffSession",
    "StaffUser",
    "StaleThreshold",
    "WebhookEndpoint",
]
