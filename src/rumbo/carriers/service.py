"""Carrier connections, webhook deliveries into the one ingestion path, unmapped codes.

A merchant connects a carrier (or aggregator) and gets a secret webhook URL. What the
carrier posts there is verified (when the sender signs), parsed by the pure adapter,
given the merchant's own status for codes Rumbo leaves informational, and handed to
``rumbo.events.service.ingest`` through the group-commit writer like any REST event.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rumbo.carriers.base import CarrierAdapter, CarrierEvent, PayloadError
from rumbo.carriers.registry import ADAPTERS, UnknownCarrier, get_adapter, signing_adapter
from rumbo.carriers.schemas import (
    ConnectionCreated,
    ConnectionOut,
    MappingOut,
    Suggestion,
    UnmappedCode,
)
from rumbo.carriers.suggest import suggest_status
from rumbo.errors import NotFound, RumboError
from rumbo.events.schemas import EventResult, IngestResponse, ItemError
from rumbo.events.service import IngestOutcome, NormalizedEvent, react, rederive
from rumbo.events.status import Status
from rumbo.models import CarrierCodeMapping, CarrierConnection, Event, Shipment

SOURCE = "carrier"

# Column widths of ``events`` (rumbo.models.event): carrier text is clipped to fit
# rather than failing the whole delivery on PostgreSQL.
_EVENT_ID_MAX = 200
_CODE_MAX = 64
_TEXT_MAX = 1000
_CITY_MAX = 200
_STATE_MAX = 100
_RAW_DEPTH = 32
# A parcel event outside these years is a carrier's bug (a zero date, a swapped field),
# and times near datetime's limits overflow the status arithmetic: refuse the item.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def known_carriers() -> list[str]:
    return sorted(ADAPTERS)


def adapter_for(carrier: str) -> CarrierAdapter:
    """The registered adapter, or a 404 that lists the known names."""
    try:
        return get_adapter(carrier)
    except UnknownCarrier:
        raise NotFound(
            f"No carrier named {carrier[:64]!r}.",
            "unknown_carrier",
            {"known": known_carriers()},
        ) from None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def webhook_url(base_url: str, carrier: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/carriers/{carrier}/webhook/{token}"


# --- connections ----------------------------------------------------------------------------


def connect(
    session: Session,
    merchant_id: int,
    carrier: str,
    changes: Mapping[str, Any],
    base_url: str,
    now: datetime,
) -> ConnectionCreated:
    """Create the merchant's connection to ``carrier`` or rotate its URL token.

    ``changes`` holds ``signing_secret`` only when the client sent it (null removes it).
    The new token is returned here and never again: only its hash is stored.
    """
    adapter = adapter_for(carrier)
    signer = signing_adapter(adapter)
    secret = changes.get("signing_secret")
    if secret is not None and signer is None:
        raise RumboError(
            f"{carrier} does not sign its webhooks; its URL token is the credential.",
            422,
            "signing_not_supported",
        )
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    connection = _connection(session, merchant_id, carrier)
    if connection is None:
        connection = CarrierConnection(
            merchant_id=merchant_id,
            carrier=carrier,
            token_hash=digest,
            signing_secret=secret,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(connection)
                session.flush()
        except IntegrityError:
            # A concurrent PUT created it a moment ago: rotate that one instead.
            connection = _connection(session, merchant_id, carrier)
            if connection is None:
                raise
    if connection.token_hash != digest:  # an existing connection: rotate
        connection.token_hash = digest
        if "signing_secret" in changes:
            connection.signing_secret = secret
        session.flush()
    return ConnectionCreated(
        carrier=carrier,
        webhook_url=webhook_url(base_url, carrier, token),
        signature_header=signer.signature_header if signer else None,
        signs=bool(signer and connection.signing_secret),
    )


def _connection(session: Session, merchant_id: int, carrier: str) -> CarrierConnection | None:
    return session.scalar(
        select(CarrierConnection).where(
            CarrierConnection.merchant_id == merchant_id, CarrierConnection.carrier == carrier
        )
    )


def list_connections(session: Session, merchant_id: int) -> list[ConnectionOut]:
    rows = session.scalars(
        select(CarrierConnection)
        .where(CarrierConnection.merchant_id == merchant_id)
        .order_by(CarrierConnection.carrier)
    )
    out = []
    for row in rows:
        signer = signing_adapter(get_adapter(row.carrier)) if row.carrier in ADAPTERS else None
        out.append(
            ConnectionOut(
                carrier=row.carrier,
                signature_header=signer.signature_header if signer else None,
                signs=bool(signer and row.signing_secret),
                created_at=row.created_at,
            )
        )
    return out


# --- webhook deliveries ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Whose delivery this is, and what that merchant needs to read it."""

    merchant_id: int
    carrier: str
    signing_secret: str | None
    mappings: Mapping[str, Status]


def find_target(session: Session, carrier: str, token: str) -> WebhookTarget:
    """The connection the URL token names, or a 404.

    The token is looked up by its SHA-256, never compared as text: the database sees
    only the digest, so response timing says nothing about how much of a guess matched.
    """
    adapter_for(carrier)
    connection = session.scalar(
        select(CarrierConnection).where(CarrierConnection.token_hash == hash_token(token))
    )
    if connection is None or connection.carrier != carrier:
        raise NotFound("No webhook at this address.", "unknown_webhook")
    mappings = {
        code: Status(status)
        for code, status in session.execute(
            select(CarrierCodeMapping.code, CarrierCodeMapping.status).where(
                CarrierCodeMapping.merchant_id == connection.merchant_id,
                CarrierCodeMapping.carrier == carrier,
            )
        )
    }
    return WebhookTarget(connection.merchant_id, carrier, connection.signing_secret, mappings)


@dataclass
class Delivery:
    """A delivery's events by position, and the positions refused before ingestion."""

    events: list[tuple[int, NormalizedEvent]]
    rejected: list[EventResult]


def read_delivery(target: WebhookTarget, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """Verify, parse and normalise one delivery; raises RumboError 401 or 400."""
    adapter = adapter_for(target.carrier)
    signer = signing_adapter(adapter)
    # Verify before parsing: an unsigned body is never even read.
    secret = target.signing_secret
    if signer is not None and secret and not signer.verify(body, headers, secret):
        raise RumboError(
            f"The {signer.signature_header} header does not match this body.",
            401,
            "invalid_signature",
        )
    try:
        events = adapter.parse(body, headers)
    except PayloadError as exc:
        # The message may quote the body: clean it, or rendering the error would fail.
        message = _clean(exc.message, _TEXT_MAX) or "The body is not valid."
        raise RumboError(message, 400, "invalid_payload") from None
    delivery = Delivery([], [])
    for index, event in enumerate(events):
        if not EARLIEST <= event.occurred_at < LATEST:
            delivery.rejected.append(
                EventResult(
                    index=index,
                    event_id=_clean(event.event_id, _EVENT_ID_MAX),
                    outcome="rejected",
                    error=ItemError(
                        code="invalid_occurred_at",
                        message=f"occurred_at {event.occurred_at.isoformat()} is not plausible.",
                    ),
                )
            )
            continue
        delivery.events.append((index, normalize(event, target.mappings)))
    return delivery


def normalize(event: CarrierEvent, mappings: Mapping[str, Status]) -> NormalizedEvent:
    """A carrier event in ingestion's terms; the merchant's mapping fills a missing status.

    Carrier text is untrusted: it is cleaned (no NUL, no lone surrogates, which neither
    database stores) and clipped to the column widths.
    """
    code = _clean(event.code, _CODE_MAX) or "unknown"
    status = event.status if event.status is not None else mappings.get(code)
    event_id = _clean(event.event_id, None) or "none"
    if len(event_id) > _EVENT_ID_MAX:
        # Still deterministic, so a replay of the same long id deduplicates.
        event_id = "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()
    place = event.location
    country = _clean(place.country, None) if place else None
    return NormalizedEvent(
        source=SOURCE,
        event_id=event_id,
        status=status,
        occurred_at=event.occurred_at,
        raw=_raw_json(event.raw),
        carrier=event.carrier,
        tracking_number=_clean(event.tracking_number, None),
        code=code,
        description=_clean(event.text, _TEXT_MAX),
        city=_clean(place.city, _CITY_MAX) if place else None,
        state=_clean(place.state, _STATE_MAX) if place else None,
        # Events keep ISO 3166 alpha-2; an alpha-3 (AfterShip's country_iso3) stays in raw.
        country=country.upper() if country and len(country) == 2 and country.isalpha() else None,
        lat=place.lat if place else None,
        lon=place.lon if place else None,
    )


def _clean(value: str | None, limit: int | None) -> str | None:
    if value is None:
        return None
    text = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    if limit is not None:
        text = text[:limit]
    return text or None


def _raw_json(raw: Any) -> str:
    try:
        return orjson.dumps(raw).decode()
    except (orjson.JSONEncodeError, TypeError):
        return orjson.dumps(_json_safe(raw, 0)).decode()


def _json_safe(value: Any, depth: int) -> Any:
    """What orjson refuses, made storable: huge integers as text, lone surrogates replaced."""
    if depth > _RAW_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {str(_clean(str(k), None)): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v, depth + 1) for v in value]
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return str(value)
    return value


def ingest_response(outcome: IngestOutcome, rejected: list[EventResult]) -> IngestResponse:
    results = sorted([*outcome.results, *rejected], key=lambda r: r.index)
    return IngestResponse(
        accepted=sum(r.outcome == "accepted" for r in results),
        duplicates=sum(r.outcome == "duplicate" for r in results),
        rejected=sum(r.outcome == "rejected" for r in results),
        results=results,
    )


# --- unmapped codes and the merchant's mappings ----------------------------------------------


def unmapped_codes(session: Session, merchant_id: int, limit: int) -> list[UnmappedCode]:
    """Informational carrier events grouped by (carrier, code), most frequent first."""
    count = func.count(Event.id).label("count")
    rows = session.execute(
        select(
            Shipment.carrier,
            Event.code,
            count,
            func.min(Event.received_at).label("first_seen"),
            func.max(Event.received_at).label("last_seen"),
            func.max(Event.description).label("text"),
        )
        .join(Shipment, Shipment.id == Event.shipment_id)
        .where(
            Event.merchant_id == merchant_id,
            Event.source == SOURCE,
            Event.status.is_(None),
            Event.code.is_not(None),
        )
        .group_by(Shipment.carrier, Event.code)
        .order_by(count.desc(), Shipment.carrier, Event.code)
        .limit(limit)
    )
    out = []
    for row in rows:
        guess = suggest_status(row.text or row.code)
        out.append(
            UnmappedCode(
                carrier=row.carrier,
                code=row.code,
                text=row.text,
                count=row.count,
                first_seen=row.first_seen,
                last_seen=row.last_seen,
                suggestion=Suggestion(status=guess.status, confidence=guess.confidence),
            )
        )
    return out


def add_mapping(
    session: Session, merchant_id: int, carrier: str, code: str, status: Status, now: datetime
) -> MappingOut:
    """Store the merchant's status for ``code`` and give it to the events already stored.

    Past events of the code that are informational (or carry this code's previous
    mapping) take ``status``, and their orders are re-derived from all their events in
    this same transaction. Sending the same mapping again re-applies it (idempotent).
    """
    adapter_for(carrier)
    mapping = _mapping(session, merchant_id, carrier, code)
    previous = Status(mapping.status) if mapping else None
    if mapping is None:
        mapping = CarrierCodeMapping(
            merchant_id=merchant_id, carrier=carrier, code=code, status=status.value, created_at=now
        )
        try:
            with session.begin_nested():
                session.add(mapping)
                session.flush()
        except IntegrityError:
            mapping = _mapping(session, merchant_id, carrier, code)
            if mapping is None:
                raise
            previous = Status(mapping.status)
    mapping.status = status.value
    session.flush()

    carrier_parcels = select(Shipment.id).where(
        Shipment.merchant_id == merchant_id, Shipment.carrier == carrier
    )
    # Mappings only ever fill statuses the adapter left empty, so the events to change
    # are the informational ones plus, on a re-mapping, those holding the previous
    # mapping's status. (Caveat: an aggregator code whose status the adapter derives
    # from other fields may also carry that status on its own; it is re-mapped too.)
    eligible = (
        Event.status.is_(None)
        if previous is None or previous is status
        else or_(Event.status.is_(None), Event.status == previous.value)
    )
    order_ids = list(
        session.scalars(
            update(Event)
            .where(
                Event.merchant_id == merchant_id,
                Event.source == SOURCE,
                Event.code == code,
                Event.shipment_id.in_(carrier_parcels),
                eligible,
            )
            .values(status=status.value)
            .returning(Event.order_id)
            .execution_options(synchronize_session=False)
        )
    )
    touched = sorted(set(order_ids))
    if touched:
        changes = rederive(session, touched, now)
        # Announced like any ingestion: the outbox and live pages react.
        react(session, merchant_id, touched, changes, now)
    return MappingOut(
        carrier=carrier,
        code=code,
        status=status,
        created_at=mapping.created_at,
        events_updated=len(order_ids),
        orders_rederived=len(touched),
    )


def _mapping(
    session: Session, merchant_id: int, carrier: str, code: str
) -> CarrierCodeMapping | None:
    return session.scalar(
        select(CarrierCodeMapping).where(
            CarrierCodeMapping.merchant_id == merchant_id,
            CarrierCodeMapping.carrier == carrier,
            CarrierCodeMapping.code == code,
        )
    )
