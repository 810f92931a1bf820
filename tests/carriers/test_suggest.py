"""Suggestions for codes we have not mapped, learnt from the ones we have."""

from __future__ import annotations

import pytest

from rumbo.carriers.suggest import known_examples, leave_one_out_accuracy, suggest_status
from rumbo.events.status import Status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Objeto entregue ao destinatário na portaria", Status.DELIVERED),  # Portuguese
        ("Objeto saiu para entrega ao destinatário - 2a tentativa", Status.OUT_FOR_DELIVERY),
        ("EN REPARTO CONFIRMADO URGENTE", Status.OUT_FOR_DELIVERY),  # Spanish
        ("ENTREGADO EN CONSERJERÍA", Status.DELIVERED),
        ("MERCANCÍA EN GETAFE", Status.IN_TRANSIT),
        ("Objeto roubado durante o transporte", Status.EXCEPTION),
        ("Out for delivery today", Status.OUT_FOR_DELIVERY),  # English
        ("Parcel lost by the carrier", Status.EXCEPTION),
        ("Delivery attempted, nobody home", Status.DELIVERY_FAILED),
    ],
)
def test_suggests(text: str, expected: Status) -> None:
    suggestion = suggest_status(text)
    assert suggestion.status is expected
    assert 0 < suggestion.confidence <= 1
    assert suggestion.nearest  # the examples behind the guess, for the human who decides


def test_empty_or_alien_text_gives_no_confident_guess() -> None:
    assert suggest_status("").confidence == 0
    assert suggest_status("qqqq zzzz").confidence == 0


def test_leave_one_out_accuracy_beats_the_majority_class_by_far() -> None:
    examples = known_examples()
    majority = max(sum(e.status is s for e in examples) for s in {e.status for e in examples})
    accuracy, n = leave_one_out_accuracy()
    assert n == len(examples) > 500
    assert accuracy > 0.70
    assert accuracy > majority / n + 0.25
