"""What a shopper may see without an API key, and the privacy gate.

The public view never holds a name, e-mail, phone, street address or items. A
visitor who proves they own the order (destination postal code or e-mail) gets a
short-lived signed token that adds them.
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from rumbo.devices.service import courier_position
from rumbo.errors import NotFound
from rumbo.events.status import EXCEPTIONS, MILESTONES, RANK, TERMINAL, Status
from rumbo.kit.codes import CodeError, parse_tracking_code
from rumbo.kit.ratelimit import Limit, release_all, take_all
from rumbo.kit.setwise import read_together
from rumbo.models import Event, Merchant, Order, Shipment
from rumbo.orders.schemas import AddressOut, Item
from rumbo.public.schemas import (
    ArrivalOut,
    CourierPosition,
    Milestone,
    PrivateDetail,
    PublicEvent,
    PublicPlace,
    PublicPrediction,
    PublicShipment,
    PublicTracking,
    Store,
)
from rumbo.routes.arrival import shipment_arrival

_TOKEN_SALT = "rumbo.track.v1"


def canonical_code(typed_code: str) -> str:
    """The canonical form of a typed code, or a 404 that says what is wrong with it
    (a typo caught by the check character costs no database lookup)."""
    try:
        return parse_tracking_code(typed_code)
    except CodeError as exc:
        raise NotFound(str(exc), f"tracking_code_{exc.reason}") from None


def find_order(session: Session, typed_code: str) -> Order:
    """The order of a typed tracking code; a 404 that says whether it was a typo."""
    code = canonical_code(typed_code)
    order = session.scalar(select(Order).where(Order.tracking_code == code))
    if order is None:
        raise NotFound("No order has this tracking code.", "tracking_code_unknown")
    return order


def _place(city: str | None, state: str | None, country: str | None) -> PublicPlace | None:
    if city is None and state is None and country is None:
        return None
    return PublicPlace(city=city, state=state, country=country)


# Enough to tell whether a cached rendering is still current.
_VERSION_OF = select(Order.version).where(Order.tracking_code == bindparam("code"))

# Everything the public view needs of the order and its store, in one row.
_VIEW = (
    select(
        Order.id,
        Order.version,
        Order.tracking_code,
        Order.status,
        Order.status_at,
        Order.shipments_total,
        Order.shipments_delivered,
        Order.placed_at,
        Order.promised_delivery_date,
        Order.destination,
        Order.eta_estimated,
        Order.eta_earliest,
        Order.eta_latest,
        Order.customer_locale,
        Order.customer_name,
        Order.items,
        Merchant.name.label("store_name"),
        Merchant.logo_url,
        Merchant.accent_color,
        Merchant.support_email,
        Merchant.support_phone,
        Merchant.support_url,
    )
    .join(Merchant, Merchant.id == Order.merchant_id)
    .where(Order.tracking_code == bindparam("code"))
)
# The order's parcels and events by its code: with ``_VIEW``, three reads that do not
# wait for each other (one round trip on PostgreSQL, see ``read_together``).
_ORDER_OF_CODE = select(Order.id).where(Order.tracking_code == bindparam("code")).scalar_subquery()
_SHIPMENTS = (
    select(
        Shipment.id,
        Shipment.carrier,
        Shipment.tracking_number,
        Shipment.service,
        Shipment.status,
        Shipment.status_at,
    )
    .where(Shipment.order_id == _ORDER_OF_CODE)
    .order_by(Shipment.id)
)
_EVENTS = select(
    Event.status,
    Event.occurred_at,
    Event.description,
    Event.city,
    Event.state,
    Event.country,
    Event.source,
    Event.event_id,
    Event.shipment_id,
).where(Event.order_id == _ORDER_OF_CODE)


def public_tracking(
    conn: Connection, order: Any, shipments: list[Any], rows: list[Any], *, verified: bool
) -> PublicTracking:
    """The shopper's view of ``order`` (a row of ``_VIEW``, its rows of ``_SHIPMENTS`` and
    ``_EVENTS``); personal data only if ``verified``."""
    parcel_of = {s.id: s for s in shipments}
    rows.sort(
        key=lambda r: (
            r.occurred_at,
            RANK[Status(r.status)] if r.status else -1,
            f"{r.source}:{r.event_id}",
        )
    )
    timeline = []
    first_reached: dict[Status, Any] = {}
    for row in rows:
        shipment = parcel_of.get(row.shipment_id) if row.shipment_id else None
        status = Status(row.status) if row.status else None
        timeline.append(
            PublicEvent(
                status=status,
                occurred_at=row.occurred_at,
                description=row.description,
                place=_place(row.city, row.state, row.country),
                source=row.source,
                carrier=shipment.carrier if shipment else None,
                tracking_number=shipment.tracking_number if shipment else None,
            )
        )
        if status is not None and status not in first_reached:
            first_reached[status] = row
    current = Status(order.status)
    # How far along the happy path the order is; after a cancellation or a return,
    # the furthest milestone an event reported.
    if current in MILESTONES or current in EXCEPTIONS:
        progress = RANK[current]
    else:
        progress = max((RANK[s] for s in first_reached if s in MILESTONES), default=0)
    milestones = []
    for milestone in MILESTONES:
        hit = first_reached.get(milestone)
        if hit is not None:
            place = _place(hit.city, hit.state, hit.country)
            milestones.append(
                Milestone(status=milestone, reached=True, reached_at=hit.occurred_at, place=place)
            )
        else:
            # Passed without an event saying so (no warehouse integration, say).
            reached = RANK[milestone] <= progress
            milestones.append(Milestone(status=milestone, reached=reached, reached_at=None))
    destination = order.destination
    private = None
    if verified:
        # The courier's position is personal too (it leads to the door): verified only.
        courier = courier_position(
            conn, [s.id for s in shipments if s.status == Status.OUT_FOR_DELIVERY]
        )
        arrival = shipment_arrival(conn, [s.id for s in shipments])
        private = PrivateDetail(
            customer_name=order.customer_name,
            destination=AddressOut.model_validate(destination),
            items=[Item.model_validate(item) for item in order.items],
            courier=CourierPosition(
                lat=courier.lat, lon=courier.lon, recorded_at=courier.recorded_at
            )
            if courier
            else None,
            arrival=ArrivalOut(
                stop=arrival.number,
                stops=arrival.stops,
                window_start=arrival.start,
                window_end=arrival.end,
            )
            if arrival
            else None,
        )
    return PublicTracking(
        tracking_code=order.tracking_code,
        status=current,
        status_at=order.status_at,
        partially_delivered=0 < order.shipments_delivered < order.shipments_total,
        placed_at=order.placed_at,
        promised_delivery_date=order.promised_delivery_date,
        prediction=PublicPrediction(
            estimated_delivery=order.eta_estimated,
            earliest=order.eta_earliest,
            latest=order.eta_latest,
        )
        if order.eta_estimated is not None and current not in TERMINAL
        else None,
        destination=PublicPlace(
            city=destination.get("city"),
            state=destination.get("state"),
            country=destination.get("country"),
        ),
        language=order.customer_locale,
        store=Store(
            name=order.store_name,
            logo_url=order.logo_url,
            accent_color=order.accent_color,
            support_email=order.support_email,
            support_phone=order.support_phone,
            support_url=order.support_url,
        ),
        milestones=milestones,
        shipments=[
            PublicShipment(
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                service=s.service,
                status=Status(s.status),
                status_at=s.status_at,
            )
            for s in shipments
        ],
        timeline=timeline,
        verified=verified,
        private=private,
    )


@dataclass(frozen=True)
class _Rendered:
    order_id: int
    version: int
    expires: float  # monotonic
    read_at: int  # the views' change counter when the row was read
    body: bytes


class PublicViews:
    """Renders the public view of an order, reusing the last rendering while the
    order's ``version`` is unchanged.

    Entries also expire after ``ttl`` seconds, so a change of the store's branding
    shows within that time; the verified view (with personal data) is never cached.

    Watching the live hub (:meth:`rumbo.shared.live.LiveHub.watch`), the views also
    learn of every committed change while the hub hears them all (PostgreSQL's
    ``LISTEN``); then :meth:`cached` answers from memory with no query and no thread,
    and only orders that changed are read again. A rendering is trusted only if no
    change of its order was heard after its row was read, and none while the hub
    was deaf.
    """

    def __init__(self, max_entries: int = 20_000, ttl: float = 30.0) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[str, _Rendered] = OrderedDict()
        self._codes: dict[int, str] = {}  # order id -> code, for the entries held
        self._lock = threading.Lock()
        # Change counter: bumped by every change heard; renderings read before the
        # last change of their order, or before ``_trusted_from``, are not trusted.
        self._counter = 0
        self._changed_at: dict[int, int] = {}
        self._trusted_from = 1
        self._complete = False

    # -- the live hub's watcher protocol ----------------------------------------

    def changed(self, order_ids: Iterable[int]) -> None:
        with self._lock:
            self._counter += 1
            for order_id in order_ids:
                self._changed_at[order_id] = self._counter
                code = self._codes.pop(order_id, None)
                if code is not None:
                    self._entries.pop(code, None)
            if len(self._changed_at) > 4 * self.max_entries:
                # Forget old marks; renderings read before now are no longer trusted.
                self._changed_at.clear()
                self._trusted_from = self._counter + 1

    def listening(self, complete: bool) -> None:
        with self._lock:
            self._complete = complete
            self._counter += 1
            self._trusted_from = self._counter  # whatever was read before is suspect

    # -- lookups ------------------------------------------------------------------

    def cached(self, typed_code: str) -> bytes | None:
        """The anonymous view from memory if it is known to be current, else ``None``
        (then :meth:`render` on a connection). No I/O: safe on the event loop."""
        hit = self.cached_entry(typed_code)
        return hit.body if hit is not None else None

    def cached_entry(self, typed_code: str) -> _Rendered | None:
        """:meth:`cached` with the order's id and version."""
        code = canonical_code(typed_code)
        with self._lock:
            hit = self._entries.get(code)
            if (
                hit is None
                or not self._complete
                or hit.read_at < self._trusted_from
                or hit.expires <= time.monotonic()
            ):
                return None
            self._entries.move_to_end(code)
            return hit

    def render(
        self, conn: Connection, typed_code: str, tokens: TrackTokens, token: str | None
    ) -> bytes:
        code = canonical_code(typed_code)
        verified = tokens.is_valid_for(token, code)
        now = time.monotonic()
        with self._lock:
            read_at = self._counter
            held = None if verified else self._entries.get(code)
        if held is not None and held.expires > now:
            # A rendering is held: one narrow read tells whether it is still current.
            current = conn.execute(_VERSION_OF, {"code": code}).first()
            with self._lock:
                hit = self._entries.get(code)
                if (
                    current is not None
                    and hit is not None
                    and hit.version == current.version
                    and hit.expires > now
                ):
                    if hit.read_at < read_at and self._changed_at.get(hit.order_id, 0) <= read_at:
                        # Confirmed current as of ``read_at``: trusted from here on.
                        self._entries[code] = dataclasses.replace(hit, read_at=read_at)
                    self._entries.move_to_end(code)
                    return hit.body
        by_code = {"code": code}
        found, shipments, events = read_together(
            conn, [(_VIEW, by_code), (_SHIPMENTS, by_code), (_EVENTS, by_code)]
        )
        if not found:
            raise NotFound("No order has this tracking code.", "tracking_code_unknown")
        order = found[0]
        view = public_tracking(conn, order, shipments, events, verified=verified)
        body = view.model_dump_json().encode()
        if verified:
            return body
        with self._lock:
            # A change heard since the row was read: keep it untrusted (version checks).
            if self._changed_at.get(order.id, 0) > read_at:
                read_at = -1
            self._entries[code] = _Rendered(order.id, order.version, now + self.ttl, read_at, body)
            self._entries.move_to_end(code)
            self._codes[order.id] = code
            while len(self._entries) > self.max_entries:
                _, dropped = self._entries.popitem(last=False)
                self._codes.pop(dropped.order_id, None)
        return body


def _postal(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def answer_matches(order: Order, postal_code: str | None, email: str | None) -> bool:
    """Does the visitor's answer match the order? Compared in constant time."""
    candidates: list[tuple[str, str]] = []
    if postal_code:
        typed = _postal(postal_code)
        for known in (order.destination.get("postal_code"), order.customer_postal_code):
            if known:
                candidates.append((typed, _postal(known)))
    if email and order.customer_email:
        candidates.append((email.strip().lower(), order.customer_email.lower()))
    matched = False
    for typed, known in candidates:
        matched |= bool(typed) and hmac.compare_digest(typed.encode(), known.encode())
    return matched


class TrackTokens:
    """Signed, short-lived proof that the bearer verified one tracking code."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_TOKEN_SALT)
        self.ttl_seconds = ttl_seconds

    def issue(self, code: str, now: datetime) -> tuple[str, datetime]:
        return self._serializer.dumps({"c": code}), now + timedelta(seconds=self.ttl_seconds)

    def is_valid_for(self, token: str | None, code: str) -> bool:
        if not token:
            return False
        try:
            data = self._serializer.loads(token, max_age=self.ttl_seconds)
        except (BadSignature, SignatureExpired):
            return False
        return isinstance(data, dict) and data.get("c") == code


@dataclass(frozen=True, slots=True)
class AnswerLimits:
    """How many postal-code or e-mail answers a tracking code gets.

    Per (code, client) a window, so one client's wrong answers lock out only that
    client; per client across codes a window; per code from every client a growing
    delay, so many addresses together still guess slowly while the shopper is at worst
    asked to wait (never locked out for the window). Each answer is counted *before* it
    is checked, atomically, so answers sent at once cannot all slip in.
    """

    per_code_client: Limit
    per_client: Limit
    per_code: Limit

    def _keys(self, code: str, client: str) -> tuple[tuple[Limit, str], ...]:
        return (
            (self.per_code_client, f"{code}|{client}"),
            (self.per_client, client),
            (self.per_code, code),
        )

    def take(self, code: str, client: str) -> float:
        """Count one answer; 0 when it may be checked, else the seconds to wait."""
        return take_all(self._keys(code, client))

    def right(self, code: str, client: str) -> None:
        """The answer was right: it does not count against anyone."""
        release_all(self._keys(code, client))
