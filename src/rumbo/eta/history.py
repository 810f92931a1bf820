"""The plain record of one order's journey, and a realistic synthetic history of them.

:class:`OrderHistory` is what both the Olist reader and the generator produce and what
features, training and evaluation consume: timestamps of the four moments that matter
(placed, paid, handed to the carrier, delivered), the store's promise, and the few
facts about the order known when it was placed.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate

from rumbo.eta.brazil import (
    NORTH,
    NORTHEAST,
    STATES,
    UFS,
    black_friday,
    capital_distance_km,
    is_peak_season,
    is_working_day,
)
from rumbo.events.status import Status


@dataclass(frozen=True, slots=True)
class OrderHistory:
    """One order from purchase to its last known state; naive UTC-less local datetimes."""

    order_id: str
    purchased_at: datetime
    approved_at: datetime | None
    shipped_at: datetime | None  # handed over to the carrier
    delivered_at: datetime | None
    promised_at: datetime | None  # the store's promised delivery date (00:00 of that day)
    status: Status
    source_status: str  # the status as the source spelled it ("canceled", "invoiced" ...)
    seller_ids: tuple[str, ...] = ()
    seller_state: str | None = None
    customer_state: str | None = None
    customer_city: str | None = None
    customer_zip_prefix: str | None = None
    carrier: str | None = None
    freight: float | None = None  # total freight paid, BRL
    price: float | None = None  # total item price, BRL
    item_count: int = 0
    distance_km: float | None = None
    country: str | None = None  # ISO 3166-1 alpha-2 of the destination

    @property
    def lane(self) -> str | None:
        """``"SP>RJ"``: origin and destination state, or ``None`` when either is unknown."""
        if self.seller_state is None or self.customer_state is None:
            return None
        return f"{self.seller_state}>{self.customer_state}"

    @property
    def seller_id(self) -> str | None:
        """The first seller (Olist orders can hold several; almost all have one)."""
        return self.seller_ids[0] if self.seller_ids else None


# --- the synthetic history -------------------------------------------------------------

# Carriers: (name, km per business day on the trunk, business days of fixed overhead,
# log-normal spread, share of volume). Loosely shaped on Brazil's market: the post
# office's economy and express services, a parcel network and two regional couriers.
_CARRIERS: tuple[tuple[str, float, float, float, float], ...] = (
    ("correios-pac", 450.0, 2.5, 0.45, 0.40),
    ("correios-sedex", 1100.0, 1.0, 0.35, 0.20),
    ("jadlog", 650.0, 1.8, 0.40, 0.20),
    ("loggi", 900.0, 1.0, 0.30, 0.12),
    ("total-express", 700.0, 1.5, 0.50, 0.08),
)
# Sellers cluster in the South-East, as on every Brazilian marketplace.
_SELLER_STATE_WEIGHTS = {
    "SP": 60.0,
    "MG": 8.0,
    "PR": 8.0,
    "RJ": 5.0,
    "SC": 4.0,
    "RS": 3.0,
    "GO": 1.0,
    "DF": 1.0,
    "BA": 1.0,
    "ES": 1.0,
    "PE": 0.5,
    "CE": 0.3,
}


class _WorkingDays:
    """Adds business days to a moment, skipping weekends and national holidays, fast."""

    def __init__(self, first: date, last: date) -> None:
        self.first = first
        self.ordinals = [
            (first + timedelta(days=i)).toordinal()
            for i in range((last - first).days + 1)
            if is_working_day(first + timedelta(days=i))
        ]

    def add(self, start: datetime, days: float) -> datetime:
        """The moment ``days`` working days after ``start``; a working day runs 08:00-18:00.

        A parcel handed over on Saturday starts its clock on Monday morning.
        """
        ordinal = start.toordinal()
        i = bisect_left(self.ordinals, ordinal)
        done = 0.0
        if i < len(self.ordinals) and self.ordinals[i] == ordinal:
            done = min(1.0, max(0.0, (start.hour + start.minute / 60 - 8.0) / 10.0))
        position = i + done + days
        j = min(int(position), len(self.ordinals) - 1)
        day = date.fromordinal(self.ordinals[j])
        moment = datetime(day.year, day.month, day.day, 8) + timedelta(
            hours=10.0 * (position - int(position))
        )
        return max(moment, start)


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _daily_weights(first: date, days: int) -> list[float]:
    """Relative order volume per day: growth, weekly rhythm, Black Friday, Christmas."""
    weights = []
    for i in range(days):
        day = first + timedelta(days=i)
        w = (1.0 + 0.5 * i / max(days, 1)) * (0.8 if day.weekday() >= 5 else 1.05)
        bf = black_friday(day.year)
        if bf <= day <= bf + timedelta(days=3):
            w *= 3.5
        elif is_peak_season(day):
            w *= 1.5
        weights.append(w)
    return weights


def generate_history(
    n: int, seed: int = 0, start: date = date(2024, 1, 1), days: int = 730
) -> list[OrderHistory]:
    """``n`` realistic orders purchased over ``days`` days from ``start``, sorted by purchase.

    Deterministic for a given seed. Sellers have their own handling habits, carriers
    their own speed and spread per lane, working days skip weekends and holidays, the
    peak season congests the network, a few orders fail a delivery attempt, are
    cancelled before shipping or returned, and the last few weeks' orders are still on
    their way. The store promises conservatively: the carrier's published lane SLA plus
    its own handling allowance plus a buffer, in working days.
    """
    rng = random.Random(seed)
    end = start + timedelta(days=days)
    cal = _WorkingDays(start - timedelta(days=7), end + timedelta(days=150))
    as_of = datetime(end.year, end.month, end.day)  # the history is exported "now"

    n_sellers = max(20, n // 150)
    seller_states = rng.choices(
        list(_SELLER_STATE_WEIGHTS), weights=list(_SELLER_STATE_WEIGHTS.values()), k=n_sellers
    )
    # (median handling in working days, spread, share of boleto-paying buyers' delays)
    seller_habits = [(_lognormal(rng, 1.3, 0.5), rng.uniform(0.3, 0.8)) for _ in range(n_sellers)]
    # Cumulative weights: ``choices`` would otherwise re-sum them for every order.
    seller_cum = list(accumulate(rng.paretovariate(1.2) for _ in range(n_sellers)))
    dest_cum = list(accumulate(STATES[uf][3] for uf in UFS))
    carrier_cum = list(accumulate(c[4] for c in _CARRIERS))
    # Lane-level quirks a carrier has (a bad hub, a good contract): fixed per history.
    lane_quirk: dict[tuple[str, str, str], float] = {}

    day_weights = _daily_weights(start, days)
    # Shoppers buy mostly in the afternoon and evening; ids follow purchase order.
    purchases = sorted(
        (d, min(23.99, max(0.0, rng.gauss(15.0, 4.5))))
        for d in rng.choices(range(days), weights=day_weights, k=n)
    )
    out: list[OrderHistory] = []
    for k, (day_index, hour) in enumerate(purchases):
        day = start + timedelta(days=day_index)
        purchased = datetime(day.year, day.month, day.day) + timedelta(hours=hour)
        s = rng.choices(range(n_sellers), cum_weights=seller_cum)[0]
        origin = seller_states[s]
        dest = rng.choices(UFS, cum_weights=dest_cum)[0]
        ci = rng.choices(range(len(_CARRIERS)), cum_weights=carrier_cum)[0]
        carrier, speed, overhead, spread, _ = _CARRIERS[ci]
        centroid = capital_distance_km(origin, dest)
        # Within a state a parcel still travels: 20-500 km from the seller's city.
        distance = centroid if centroid is not None else rng.uniform(20.0, 500.0)
        distance = round(distance * rng.uniform(0.9, 1.25), 1)  # cities, not capitals
        items = 1 + int(rng.expovariate(3.0))
        price = round(sum(_lognormal(rng, 90.0, 0.9) for _ in range(items)), 2)
        freight = round(items * (9.0 + distance * 0.008) * rng.uniform(0.8, 1.3), 2)
        peak = is_peak_season(day)

        # Payment: cards clear in minutes; a fifth pay by boleto and take 1-3 days.
        status = Status.DELIVERED
        approved: datetime | None
        if rng.random() < 0.2:
            approved = purchased + timedelta(hours=rng.uniform(20, 72))
        else:
            approved = purchased + timedelta(minutes=rng.expovariate(1 / 25))
        if rng.random() < 0.015:  # payment never approved; the store cancels
            approved, status = None, Status.CANCELLED

        median_h, spread_h = seller_habits[s]
        handling = _lognormal(rng, median_h * (1.6 if peak else 1.0), spread_h)
        shipped = cal.add(approved, handling) if approved else None
        if shipped is not None and rng.random() < 0.015:  # out of stock: cancelled
            shipped, status = None, Status.CANCELLED

        quirk = lane_quirk.setdefault((carrier, origin, dest), _lognormal(rng, 1.0, 0.15))
        remote = 1.5 if dest in NORTH else (0.7 if dest in NORTHEAST else 0.0)
        transit_median = (overhead + distance / speed + remote) * quirk * (1.35 if peak else 1.0)
        delivered: datetime | None = None
        if shipped is not None:
            transit = _lognormal(rng, transit_median, spread)
            roll = rng.random()
            if roll < 0.04:  # a failed attempt: the courier comes back 1-4 working days later
                transit += rng.uniform(1, 4)
            elif roll < 0.05:  # held at a hub (exception) for up to two weeks
                transit += rng.uniform(3, 14)
            delivered = cal.add(shipped, transit)
            if rng.random() < 0.005:
                status = Status.RETURNED
                delivered = None

        # The promise: carrier's published SLA (its slow-ish day count for the distance)
        # + the store's handling allowance + a safety buffer, all in working days.
        sla = math.ceil(overhead + distance / speed * 1.3 + remote + 1)
        promise_days = sla + 3 + (2 if peak else 0) + 3
        promised_moment = cal.add(purchased, promise_days)
        promised = datetime(promised_moment.year, promised_moment.month, promised_moment.day)

        # Censor what had not happened yet when the history was exported.
        source_status = status.value
        if status is Status.DELIVERED:
            if approved is not None and approved > as_of:
                approved, status = None, Status.PENDING
            if shipped is not None and shipped > as_of:
                shipped = None
                status = Status.PAYMENT_CONFIRMED if approved else Status.PENDING
            if delivered is not None and delivered > as_of:
                delivered = None
                if shipped is not None:
                    status = Status.IN_TRANSIT
            source_status = status.value
        if purchased > as_of:
            continue
        zip_lo, zip_hi = STATES[dest][4], STATES[dest][5]
        out.append(
            OrderHistory(
                order_id=f"syn-{seed}-{k:07d}",
                purchased_at=purchased,
                approved_at=approved,
                shipped_at=shipped,
                delivered_at=delivered,
                promised_at=promised,
                status=status,
                source_status=source_status,
                seller_ids=(f"seller-{s:05d}",),
                seller_state=origin,
                customer_state=dest,
                customer_city=STATES[dest][0] if rng.random() < 0.4 else f"interior-{dest.lower()}",
                customer_zip_prefix=f"{rng.randint(zip_lo, zip_hi):05d}",
                carrier=carrier,
                freight=freight,
                price=price,
                item_count=items,
                distance_km=distance,
                country="BR",
            )
        )
    return out
