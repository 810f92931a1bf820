"""EasyPost, Shippo and AfterShip bodies, replayed unchanged from ../shared/data/payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rumbo.carriers.aggregators import (
    AfterShipAdapter,
    EasyPostAdapter,
    ShippoAdapter,
    aftership,
    easypost,
)
from rumbo.carriers.aggregators.easypost import easypost_status
from rumbo.carriers.aggregators.shippo import shippo_status
from rumbo.carriers.base import PayloadError
from rumbo.events.status import Status


@pytest.fixture(scope="session")
def payloads(shared_data: Path) -> Path:
    return shared_data / "payloads"


# --- EasyPost -------------------------------------------------------------------------------


def test_easypost_signature_matches_the_published_test_vector(payloads: Path) -> None:
    vector = json.loads(
        (payloads / "easypost/fixtures__client-library-fixtures__webhooks.json").read_text("utf-8")
    )
    body = (payloads / "easypost/fixtures__event-body.json").read_bytes().rstrip(b"\n")
    headers = {"X-Hmac-Signature": vector["hmac_signature"]}
    assert EasyPostAdapter().verify(body, headers, vector["secret"])
    # The key is the NFKD form of "sécret": the composed form must give the same key.
    assert EasyPostAdapter().verify(body, {"x-hmac-signature": vector["hmac_signature"]}, "sécret")
    assert not EasyPostAdapter().verify(body + b"\n", headers, vector["secret"])
    assert not EasyPostAdapter().verify(body, headers, "secret")
    assert not EasyPostAdapter().verify(body, {}, vector["secret"])


def test_every_easypost_body_parses(payloads: Path) -> None:
    for path in sorted((payloads / "easypost").glob("*.json")):
        if "client-library-fixtures__webhooks" in path.name:
            continue  # the signing vector, not a body
        events = EasyPostAdapter().parse(path.read_bytes(), {})
        assert all(e.carrier == "easypost" for e in events), path.name


def test_easypost_event_without_tracker_has_no_events(payloads: Path) -> None:
    body = (payloads / "easypost/guides__webhooks-guide__event__event_example.json").read_bytes()
    assert EasyPostAdapter().parse(body, {}) == []


def test_easypost_tracker_updated_gives_the_journey(payloads: Path) -> None:
    body = (payloads / "easypost/guides__tracking-guide__json__tracking-webhook.json").read_bytes()
    events = EasyPostAdapter().parse(body, {})
    assert [e.status for e in events] == [
        Status.PREPARING,
        Status.IN_TRANSIT,
        Status.IN_TRANSIT,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERED,
    ]
    assert events[0].tracking_number == "EZ4000000004"
    assert events[1].location is not None
    assert events[1].location.city == "SOUTH SAN FRANCISCO"


def test_easypost_fedex_body_keeps_the_carrier_code(payloads: Path) -> None:
    events = EasyPostAdapter().parse(
        (payloads / "easypost/fixtures__event-body.json").read_bytes(), {}
    )
    assert events[1].code == "FedEx:PU"
    assert len({e.event_id for e in events}) == len(events)


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        ("pre_transit", "label_created", Status.PREPARING),
        ("in_transit", "arrived_at_facility", Status.IN_TRANSIT),
        ("in_transit", "received_at_origin_facility", Status.SHIPPED),
        ("out_for_delivery", None, Status.OUT_FOR_DELIVERY),
        ("delivered", "arrived_at_destination", Status.DELIVERED),
        ("available_for_pickup", None, Status.AVAILABLE_FOR_PICKUP),
        ("in_transit", "arrived_at_pickup_location", Status.AVAILABLE_FOR_PICKUP),
        ("failure", "delivery_exception", Status.DELIVERY_FAILED),
        ("failure", None, Status.EXCEPTION),
        ("in_transit", "weather_delay", Status.EXCEPTION),
        ("return_to_sender", "return", Status.EXCEPTION),
        ("cancelled", None, Status.CANCELLED),
        ("error", None, None),
        ("unknown", "lost", None),
    ],
)
def test_easypost_status_maps_to(status: str, detail: str | None, expected: Status | None) -> None:
    assert easypost_status(status, detail) is expected


# --- Shippo --------------------------------------------------------------------------------


def shippo_webhook(track: bytes) -> bytes:
    return json.dumps({"event": "track_updated", "test": True, "data": json.loads(track)}).encode()


def test_every_shippo_track_parses_bare_and_wrapped(payloads: Path) -> None:
    for path in sorted((payloads / "shippo").glob("*.json")):
        bare = ShippoAdapter().parse(path.read_bytes(), {})
        wrapped = ShippoAdapter().parse(shippo_webhook(path.read_bytes()), {})
        assert set(bare) == set(wrapped)
        assert len(wrapped) == 11  # the 11 history events; the current status repeats one


def test_shippo_usps_parcel_is_delivered_in_berkeley(payloads: Path) -> None:
    track = (
        payloads / "shippo/shippo-python-client__test_get_status__track_object.json"
    ).read_bytes()
    events = ShippoAdapter().parse(shippo_webhook(track), {})
    last = max(events, key=lambda e: e.occurred_at)
    assert last.status is Status.DELIVERED
    assert last.location is not None
    assert last.location.city == "Berkeley"
    assert events[0].status is None  # UNKNOWN: electronic info only
    assert events[0].event_id == "1b4212c588c84db2ba5ad86cb7470243"  # Shippo's object_id


def test_shippo_other_webhook_events_carry_nothing() -> None:
    assert ShippoAdapter().parse(b'{"event": "transaction_created", "data": {}}', {}) == []


@pytest.mark.parametrize(
    ("status", "substatus", "expected"),
    [
        ("PRE_TRANSIT", None, Status.PREPARING),
        ("TRANSIT", None, Status.IN_TRANSIT),
        ("TRANSIT", "out_for_delivery", Status.OUT_FOR_DELIVERY),
        ("TRANSIT", "pickup_available", Status.AVAILABLE_FOR_PICKUP),
        ("FAILURE", "delivery_attempted", Status.DELIVERY_FAILED),
        ("FAILURE", "package_lost", Status.EXCEPTION),
        ("RETURNED", None, Status.RETURNED),
        ("RETURNED", "return_to_sender", Status.EXCEPTION),
        ("DELIVERED", "delivered", Status.DELIVERED),
        ("UNKNOWN", None, None),
    ],
)
def test_shippo_status_maps_to(status: str, substatus: str | None, expected: Status | None) -> None:
    assert shippo_status(status, substatus) is expected


# --- AfterShip ------------------------------------------------------------------------------


def test_aftership_docs_sample_is_in_transit(payloads: Path) -> None:
    body = (
        payloads / "aftership/hookdeck_webhook-skills__aftership_docs_sample_trimmed.json"
    ).read_bytes()
    (event,) = AfterShipAdapter().parse(body, {})
    assert event.status is Status.IN_TRANSIT
    assert event.code == "usps:InTransit_001"
    assert event.text.startswith("Departed Shipping Partner Facility")


def test_aftership_delivered_without_checkpoints_gives_one_event(payloads: Path) -> None:
    body = (
        payloads / "aftership/vibrent__AfterShipCallbackResourceTest__tracking_update_raw.json"
    ).read_bytes()
    (event,) = AfterShipAdapter().parse(body, {})
    assert event.status is Status.DELIVERED
    assert event.tracking_number == "123456789"
    assert event.occurred_at.isoformat() == "2021-08-24T10:40:08+00:00"


def test_aftership_camel_case_sdk_rendering_is_rejected(payloads: Path) -> None:
    body = (
        payloads / "aftership/vibrent__GetTrackingJobTest__dhl_tracking_update_sdk_camelCase.json"
    ).read_bytes()
    with pytest.raises(PayloadError, match="camelCase"):
        AfterShipAdapter().parse(body, {})


def test_aftership_signature_is_base64_hmac_of_the_raw_body(payloads: Path) -> None:
    body = (
        payloads / "aftership/hookdeck_webhook-skills__aftership_docs_sample_trimmed.json"
    ).read_bytes()
    signature = aftership.sign(body, "whsec")
    assert AfterShipAdapter().verify(body, {"aftership-hmac-sha256": signature}, "whsec")
    assert AfterShipAdapter().verify(body, {"Aftership-Hmac-Sha256": signature}, "whsec")
    assert not AfterShipAdapter().verify(body[:-1], {"aftership-hmac-sha256": signature}, "whsec")
    assert not AfterShipAdapter().verify(body, {"aftership-hmac-sha256": "AAAA"}, "whsec")


@pytest.mark.parametrize(
    ("tag", "subtag", "expected"),
    [
        ("InfoReceived", "InfoReceived_001", Status.PREPARING),
        ("InTransit", "InTransit_007", Status.IN_TRANSIT),
        ("OutForDelivery", "OutForDelivery_001", Status.OUT_FOR_DELIVERY),
        ("AttemptFail", "AttemptFail_001", Status.DELIVERY_FAILED),
        ("Delivered", "Delivered_001", Status.DELIVERED),
        ("AvailableForPickup", "AvailableForPickup_001", Status.AVAILABLE_FOR_PICKUP),
        ("Exception", "Exception_010", Status.EXCEPTION),  # returning: not yet returned
        ("Exception", "Exception_011", Status.RETURNED),
        ("Exception", "Exception_013", Status.EXCEPTION),
        ("Expired", "Expired_001", None),
        ("Pending", "Pending_001", None),
    ],
)
def test_aftership_tag_maps_to(tag: str, subtag: str, expected: Status | None) -> None:
    assert aftership.aftership_status(tag, subtag) is expected


def test_signature_header_names() -> None:
    assert easypost.SIGNATURE_HEADER == "X-Hmac-Signature"
    assert aftership.SIGNATURE_HEADER == "aftership-hmac-sha256"


# --- order and duplicates never change the result --------------------------------------------


@pytest.mark.parametrize(
    ("adapter", "path", "key"),
    [
        (EasyPostAdapter(), "easypost/fixtures__event-body.json", ("result", "tracking_details")),
        (
            ShippoAdapter(),
            "shippo/shippo-python-client__test_create__track_object.json",
            ("tracking_history",),
        ),
    ],
    ids=["easypost", "shippo"],
)
def test_shuffled_and_duplicated_details_give_the_same_set(
    payloads: Path, adapter: EasyPostAdapter | ShippoAdapter, path: str, key: tuple[str, ...]
) -> None:
    import random

    document = json.loads((payloads / path).read_text("utf-8"))
    reference = set(adapter.parse(json.dumps(document).encode(), {}))
    container = document
    for part in key[:-1]:
        container = container[part]
    items = container[key[-1]]
    rng = random.Random(7)
    for _ in range(10):
        container[key[-1]] = rng.sample(items, len(items)) + rng.sample(items, rng.randint(0, 3))
        assert set(adapter.parse(json.dumps(document).encode(), {})) == reference
