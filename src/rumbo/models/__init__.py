"""All tables, imported here so metadata is complete for Alembic and the app."""

from rumbo.models.api_key import ApiKey
from rumbo.models.carrier_code_mapping import CarrierCodeMapping
from rumbo.models.carrier_connection import CarrierConnection
from rumbo.models.device import Device
from rumbo.models.device_position import DevicePosition
from rumbo.models.device_route import DeviceRoute
from rumbo.models.eta_promise import EtaPromise
from rumbo.models.event import Event
from rumbo.models.merchant import Merchant
from rumbo.models.notification_rule import NotificationRule
from rumbo.models.order import Order
from rumbo.models.outbox_message import OutboxMessage
from rumbo.models.push_subscription import PushSubscription
from rumbo.models.rate_limit_counter import RateLimitCounter
from rumbo.models.route_depot import RouteDepot
from rumbo.models.route_plan import RoutePlan
from rumbo.models.route_shift import RouteShift
from rumbo.models.route_stop import RouteStop
from rumbo.models.shipment import Shipment
from rumbo.models.shopper_preference import ShopperPreference
from rumbo.models.staff import StaffSession, StaffUser
from rumbo.models.stale_threshold import StaleThreshold
from rumbo.models.support import Conversation, ConversationTurn, Inquiry, OrderNote
from rumbo.models.webhook_endpoint import WebhookEndpoint
from rumbo.models.whatsapp_account import WhatsAppAccount

__all__ = [
    "ApiKey",
    "CarrierCodeMapping",
    "CarrierConnection",
    "Conversation",
    "ConversationTurn",
    "Device",
    "DevicePosition",
    "DeviceRoute",
    "EtaPromise",
    "Event",
    "Inquiry",
    "Merchant",
    "NotificationRule",
    "Order",
    "OrderNote",
    "OutboxMessage",
    "PushSubscription",
    "RouteDepot",
    "RoutePlan",
    "RouteShift",
    "RouteStop",
    "RateLimitCounter",
    "Shipment",
    "ShopperPreference",
    "StaffSession",
    "StaffUser",
    "StaleThreshold",
    "WebhookEndpoint",
    "WhatsAppAccount",
]
