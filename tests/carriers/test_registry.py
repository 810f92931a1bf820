"""The registry and the adapter contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from rumbo.carriers.base import CarrierAdapter, CarrierEvent, PayloadError, derived_event_id
from rumbo.carriers.registry import ADAPTERS, UnknownCarrier, get_adapter, signing_adapter


def test_registry_names() -> None:
    assert set(ADAPTERS) == {
        "correios", "seur", "ctt_express", "correos_es", "easypost", "shippo", "aftership",
    }  # fmt: skip
    for name, adapter in ADAPTERS.items():
        assert adapter.name == name
        assert isinstance(adapter, CarrierAdapter)


def test_unknown_carrier() -> None:
    with pytest.raises(UnknownCarrier):
        get_adapter("dhl")


def test_which_adapters_sign() -> None:
    signing = {name for name, a in ADAPTERS.items() if signing_adapter(a) is not None}
    assert signing == {"easypost", "aftership", "seur", "ctt_express", "correos_es"}


def test_derived_event_id_is_stable_and_zone_independent() -> None:
    moment = datetime(2025, 1, 1, 12, tzinfo=UTC)
    same = moment.astimezone(timezone(timedelta(hours=-3)))
    assert derived_event_id("c", "N1", "BDE-01", moment) == derived_event_id(
        "c", "N1", "BDE-01", same
    )
    assert derived_event_id("c", "N1", "BDE-01", moment) != derived_event_id(
        "c", "N1", "BDE-02", moment
    )


def test_event_time_must_be_utc() -> None:
    with pytest.raises(PayloadError):
        CarrierEvent("c", "N", "id", None, datetime(2025, 1, 1), "X", "x")  # noqa: DTZ001
    with pytest.raises(PayloadError):
        CarrierEvent(
            "c",
            "N",
            "id",
            None,
            datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=1))),
            "X",
            "x",
        )


def test_raw_payload_takes_no_part_in_equality() -> None:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    first = CarrierEvent("c", "N", "id", None, moment, "X", "x", raw={"a": 1})
    second = CarrierEvent("c", "N", "id", None, moment, "X", "x", raw={"a": 2})
    assert first == second
    assert len({first, second}) == 1
