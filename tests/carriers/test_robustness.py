"""Every adapter fails on bad input with PayloadError and nothing else (Hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumbo.carriers.base import CarrierAdapter, PayloadError
from rumbo.carriers.registry import ADAPTERS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "event", "data", "result", "object", "msg", "tracking_number", "tracking_code",
        "events", "code", "occurred_at", "checkpoints", "tracking_details", "tracking_history",
        "tracking_status", "status", "status_date", "datetime", "checkpoint_time", "tag",
        "location", "event_id", "object_id", "substatus", "ts", "updated_at",
    ]
)  # fmt: skip
# Shapes close to the real ones, so fuzzing reaches past the first key check.
near_miss = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=25)
    | st.sampled_from(["Event", "Tracker", "track_updated", "2025-01-01T00:00:00Z", "LL001"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=6),
    max_leaves=30,
)

ADAPTER_LIST = sorted(ADAPTERS.values(), key=lambda a: a.name)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_only_fails_cleanly(adapter: CarrierAdapter, body: bytes) -> None:
    try:
        events = adapter.parse(body, {})
    except PayloadError:
        return
    assert isinstance(events, list)


@pytest.mark.parametrize("adapter", ADAPTER_LIST, ids=lambda a: a.name)
@FUZZ
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes(adapter: CarrierAdapter, body: bytes) -> None:
    parse_only_fails_cleanly(adapter, body)


@pytest.mark.parametrize("adapter", ADAPTER_LIST, ids=lambda a: a.name)
@FUZZ
@given(document=json_values)
def test_arbitrary_json(adapter: CarrierAdapter, document: Any) -> None:
    parse_only_fails_cleanly(adapter, json.dumps(document).encode())


@pytest.mark.parametrize("adapter", ADAPTER_LIST, ids=lambda a: a.name)
@FUZZ
@given(document=st.dictionaries(keys, near_miss, max_size=8))
def test_json_shaped_like_the_real_thing(adapter: CarrierAdapter, document: Any) -> None:
    parse_only_fails_cleanly(adapter, json.dumps(document).encode())


@FUZZ
@given(
    tipo=st.text(max_size=5),
    status=st.text(max_size=5),
    data=st.text(max_size=12),
    hora=st.text(max_size=6),
)
def test_correios_arbitrary_event_fields(tipo: str, status: str, data: str, hora: str) -> None:
    from xml.sax.saxutils import escape

    fields = "".join(
        f"<{k}>{escape(v)}</{k}>"
        for k, v in {"tipo": tipo, "status": status, "data": data, "hora": hora}.items()
    )
    body = (
        f"<e><return><objeto><numero>AB1BR</numero><evento>{fields}</evento></objeto></return></e>"
    )
    parse_only_fails_cleanly(ADAPTERS["correios"], body.encode())
