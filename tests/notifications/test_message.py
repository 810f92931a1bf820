"""What a notification carries, and the kinds it can be about."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from rumbo.events.status import Status
from rumbo.notifications.message import Branding, Kind, is_e164

from .conftest import make_message


def test_every_notifying_status_has_a_kind_and_back() -> None:
    for kind in Kind:
        if kind.status is not None:
            assert Kind.for_status(kind.status) is kind
    assert Kind.for_status(Status.PENDING) is None
    assert Kind.MAY_BE_DELAYED.status is None
    assert Kind.ARRIVING_SOON.status is None


def test_precedence_follows_the_journey() -> None:
    order = [Kind.SHIPPED, Kind.IN_TRANSIT, Kind.MAY_BE_DELAYED, Kind.OUT_FOR_DELIVERY]
    order += [Kind.ARRIVING_SOON, Kind.DELIVERED, Kind.RETURNED]
    assert sorted(order, key=lambda k: k.precedence) == order


def test_language_is_normalised_to_one_of_ours() -> None:
    assert make_message(language="pt_br").language == "pt-BR"
    assert make_message(language="es-AR").language == "es"
    with pytest.raises(ValueError, match="language"):
        make_message(language="fr")


@pytest.mark.parametrize(
    "changes",
    [
        {"status_at": datetime(2026, 11, 23, 13, 5)},
        {"time_zone": "Mars/Olympus_Mons"},
        {"idempotency_key": ""},
        {"predicted_earliest": date(2026, 11, 27), "predicted_latest": None},
    ],
)
def test_an_incomplete_message_is_refused_when_built(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="time zone|timezone-aware|idempotency|both ends"):
        make_message(**changes)


def test_accent_colour_must_be_a_hex_colour() -> None:
    assert Branding("Loja", accent_colour="#A1b2C3").accent_colour == "#A1b2C3"
    with pytest.raises(ValueError, match="rrggbb"):
        Branding("Loja", accent_colour="red;background:url(x)")
    with pytest.raises(ValueError, match="name"):
        Branding("  ")


def test_e164() -> None:
    assert is_e164("+5511987654321")
    assert is_e164("+34600123456")
    for wrong in ("5511987654321", "+0511987", "+55 11 98765-4321", "+1234567890123456"):
        assert not is_e164(wrong)
