"""A real delivery day on VROOM: couriers with their own hours and capacity, parcels at
coordinates, travel times from the learnt :class:`TravelModel`.

Pure: plain data in, orders and arrival times out. Locked parcels stay with their
courier (a VROOM skill only that courier has); delivered ones are not given to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import vroom

from rumbo.routes.travel import TravelModel

# Shown to the shopper: wide enough to hold the usual error, on round five minutes.
WINDOW_BEFORE = timedelta(minutes=10)
WINDOW_WIDTH = timedelta(minutes=30)
MIN_LIVE_WIDTH = timedelta(minutes=10)
MAX_LIVE_WIDTH = timedelta(minutes=60)
# Until the couriers' tracks have measured it: leg times off by a quarter on average.
DEFAULT_RELATIVE_ERROR = 0.25


@dataclass(frozen=True)
class Courier:
    key: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    # Where the day (or the rest of it) starts: the depot, or the courier's last position.
    start: tuple[float, float] | None = None


@dataclass(frozen=True)
class Parcel:
    key: int
    lat: float
    lon: float
    service_seconds: int
    pinned_to: int | None = None


@dataclass(frozen=True)
class Visit:
    parcel: int
    arrival: datetime


@dataclass
class DayPlan:
    routes: dict[int, list[Visit]]
    unassigned: list[int]


def _floor5(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) - timedelta(minutes=moment.minute % 5)


def window_for(arrival: datetime) -> tuple[datetime, datetime]:
    """The window a plan promises before the courier sets off."""
    start = _floor5(arrival - WINDOW_BEFORE)
    return start, start + WINDOW_WIDTH


def live_window(
    predicted: datetime, seen_at: datetime, relative_error: float | None = None
) -> tuple[datetime, datetime]:
    """A window around a prediction made at ``seen_at``, as wide as the travel model's
    measured error over the time still to go (twice the held-out relative error, plus
    ten minutes at the door), between 10 and 60 minutes: it narrows as the courier
    approaches."""
    error = DEFAULT_RELATIVE_ERROR if relative_error is None else relative_error
    lead = max(timedelta(0), predicted - seen_at)
    width = min(MAX_LIVE_WIDTH, MIN_LIVE_WIDTH + 2 * error * lead)
    start = _floor5(predicted - width * 0.4)
    end = _floor5(predicted + width * 0.6 + timedelta(minutes=4, seconds=59))
    return start, min(max(end, start + MIN_LIVE_WIDTH), start + MAX_LIVE_WIDTH)


def timeline(
    depot: tuple[float, float],
    courier: Courier,
    parcels: list[Parcel],
    travel: TravelModel,
    zone: ZoneInfo,
    leaving: datetime | None = None,
) -> list[Visit]:
    """Arrival at each parcel in order, with the speed of the hour each leg starts in."""
    here = courier.start or depot
    clock = leaving or courier.starts_at
    visits = []
    for parcel in parcels:
        hour = clock.astimezone(zone).hour
        clock += timedelta(seconds=travel.seconds(*here, parcel.lat, parcel.lon, hour))
        visits.append(Visit(parcel.key, clock))
        clock += timedelta(seconds=parcel.service_seconds)
        here = (parcel.lat, parcel.lon)
    return visits


def plan_day(
    depot: tuple[float, float],
    couriers: list[Courier],
    parcels: list[Parcel],
    travel: TravelModel,
    zone: ZoneInfo,
    seconds: float = 5.0,
) -> DayPlan:
    """Assign and order parcels to minimise travel; parcels that fit nowhere are returned."""
    if not couriers or not parcels:
        return DayPlan({c.key: [] for c in couriers}, [p.key for p in parcels])
    places = [depot, *(c.start or depot for c in couriers), *((p.lat, p.lon) for p in parcels)]
    origin = min(c.starts_at for c in couriers)
    # One matrix at the speed of the busiest hours: VROOM has one per profile; each
    # courier's own hours scale it through speed_factor, and the stored times are
    # recomputed leg by leg afterwards.
    reference = min(travel.speed_kmh)
    durations = [
        [
            0 if a == b else math.ceil(travel.seconds(*pa, *pb, travel.speed_kmh.index(reference)))
            for b, pb in enumerate(places)
        ]
        for a, pa in enumerate(places)
    ]
    solver = vroom.Input()
    solver.set_durations_matrix(profile="car", matrix_input=durations)
    for number, courier in enumerate(couriers):
        hours = {
            (courier.starts_at + timedelta(hours=h)).astimezone(zone).hour
            for h in range(
                max(1, int((courier.ends_at - courier.starts_at).total_seconds() // 3600))
            )
        }
        speed = sum(travel.speed_kmh[h] for h in hours) / len(hours)
        solver.add_vehicle(
            vroom.Vehicle(
                id=number,
                start=1 + number,
                end=0,
                capacity=[courier.capacity],
                skills={number + 1},
                time_window=vroom.TimeWindow(
                    int((courier.starts_at - origin).total_seconds()),
                    int((courier.ends_at - origin).total_seconds()),
                ),
                speed_factor=min(5.0, max(0.2, speed / reference)),
            )
        )
    index_of = {c.key: n for n, c in enumerate(couriers)}
    base = 1 + len(couriers)
    for n, parcel in enumerate(parcels):
        skills = {index_of[parcel.pinned_to] + 1} if parcel.pinned_to in index_of else None
        solver.add_job(
            vroom.Job(
                id=n,
                location=base + n,
                default_service=parcel.service_seconds,
                delivery=vroom.Amount([1]),
                skills=skills,
            )
        )
    result = solver.solve(exploration_level=4, nb_threads=2, timeout=timedelta(seconds=seconds))
    ordered: dict[int, list[Parcel]] = {c.key: [] for c in couriers}
    for row in result.routes.itertuples():
        if row.type == "job":
            ordered[couriers[int(row.vehicle_id)].key].append(parcels[int(row.id)])
    served = {p.key for route in ordered.values() for p in route}
    by_key = {c.key: c for c in couriers}
    routes = {
        key: timeline(depot, by_key[key], route, travel, zone) for key, route in ordered.items()
    }
    return DayPlan(routes, [p.key for p in parcels if p.key not in served])
