"""Inquiries, conversations and order notes: the support domain's logic, by concern.

Every function is scoped by ``merchant_id``: an id that belongs to another merchant
is a 404, exactly like one that does not exist. Functions only ``flush()``; the
caller's transaction commits. Times come from the caller (``now``), read once from
the injected clock.

- :mod:`.rules`: the kinds, statuses and sources, and the status moves allowed;
- :mod:`.lookups`: a merchant's own orders, staff and inquiries;
- :mod:`.conversations`, :mod:`.inquiries`, :mod:`.notes`: each its own rows;
- :mod:`.exchanges`: the assistant's question and answer, and its handover.

This package's names below are the support domain's service API.
"""

from __future__ import annotations

from rumbo.support.service.conversations import (
    ConversationView,
    add_turn,
    conversation_of_order,
    conversations_for_order,
    get_conversation,
    start_conversation,
)
from rumbo.support.service.exchanges import (
    INQUIRY_TYPE_FOR_INTENT,
    Exchange,
    inquiry_type_for,
    record_exchange,
)
from rumbo.support.service.inquiries import create_inquiry, list_inquiries, reply, update_inquiry
from rumbo.support.service.lookups import find_order_by_reference, get_inquiry, order_of, staff_of
from rumbo.support.service.notes import add_note, notes_for_order
from rumbo.support.service.rules import (
    SUBJECT_MAX,
    TEXT_MAX,
    TRANSITIONS,
    UNSET,
    InquirySource,
    InquiryStatus,
    InquiryType,
    TurnRole,
)

__all__ = [
    "ConversationView",
    "Exchange",
    "INQUIRY_TYPE_FOR_INTENT",
    "InquirySource",
    "InquiryStatus",
    "InquiryType",
    "SUBJECT_MAX",
    "TEXT_MAX",
    "TRANSITIONS",
    "TurnRole",
    "UNSET",
    "add_note",
    "add_turn",
    "conversation_of_order",
    "conversations_for_order",
    "create_inquiry",
    "find_order_by_reference",
    "get_conversation",
    "get_inquiry",
    "inquiry_type_for",
    "list_inquiries",
    "notes_for_order",
    "order_of",
    "record_exchange",
    "reply",
    "staff_of",
    "start_conversation",
    "update_inquiry",
]
