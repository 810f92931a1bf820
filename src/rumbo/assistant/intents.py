"""What a shopper can ask the assistant about, one value per answer the assistant composes."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    WHERE_IS_ORDER = "where_is_order"
    DELIVERY_DATE = "delivery_date"
    WHY_LATE = "why_late"
    DELIVERY_FAILED = "delivery_failed"
    CHANGE_ADDRESS = "change_address"
    CANCEL_ORDER = "cancel_order"
    RETURN_EXCHANGE = "return_exchange"
    CARRIER_TRACKING = "carrier_tracking"
    HUMAN_AGENT = "human_agent"
    GREETING = "greeting"
    THANKS = "thanks"
    # Never predicted by a classifier: the outcome when confidence is below the threshold.
    UNKNOWN = "unknown"


# The intents a classifier chooses between.
KNOWN_INTENTS: tuple[Intent, ...] = tuple(i for i in Intent if i is not Intent.UNKNOWN)
