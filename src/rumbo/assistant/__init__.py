"""The shopper assistant: answers questions about an order in pt-BR, es and en, offline.

Pure core: no database, no HTTP. ``answer(question, facts, lang, verified)`` classifies
the question (character n-gram model + keyword rules, see ``classifier``), composes a
reply from the order's facts only (``compose``, texts in the ``assistant`` gettext
domain), and says when a person should take over. ``evaluation.main()`` prints the
accuracy table.
"""

from rumbo.assistant.facts import (
    Answer,
    DeliveryPrediction,
    LastEvent,
    OrderFacts,
    ShipmentFacts,
    SupportContact,
)
from rumbo.assistant.intents import Intent
from rumbo.assistant.service import CONFIDENCE_THRESHOLD, answer

__all__ = [
    "CONFIDENCE_THRESHOLD",
    "Answer",
    "DeliveryPrediction",
    "Intent",
    "LastEvent",
    "OrderFacts",
    "ShipmentFacts",
    "SupportContact",
    "answer",
]
