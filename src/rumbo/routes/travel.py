"""Travel times from straight-line distance × a circuity factor ÷ a speed by hour of day,
both learnt from the couriers' own recorded tracks, with the error measured on tracks
held out of the learning.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rumbo.devices.positions import haversine_m

DEFAULT_CIRCUITY = 1.35  # a common urban road/straight-line ratio, used until tracks say better
DEFAULT_SPEED_KMH = 22.0
# A leg of a track: fixes at least this far apart in time, and this far in space, count as
# one trip; shorter ones are mostly GPS jitter or a courier standing at a door.
_MIN_LEG_SECONDS = 300
_MAX_LEG_SECONDS = 1800
_MIN_LEG_METRES = 400
_MIN_LEGS = 20


@dataclass(frozen=True)
class Fix:
    recorded_at: datetime  # local time of the depot: the hour of day is what traffic follows
    lat: float
    lon: float


@dataclass(frozen=True)
class Leg:
    hour: int
    straight_m: float
    path_m: float
    seconds: float


@dataclass(frozen=True)
class TravelModel:
    circuity: float = DEFAULT_CIRCUITY
    speed_kmh: tuple[float, ...] = (DEFAULT_SPEED_KMH,) * 24
    legs_learnt: int = 0
    heldout_legs: int = 0
    heldout_mae_seconds: float | None = None
    heldout_mape: float | None = None
    notes: list[str] = field(default_factory=list)

    def seconds(self, lat1: float, lon1: float, lat2: float, lon2: float, hour: int) -> float:
        metres = haversine_m(lat1, lon1, lat2, lon2) * self.circuity
        return metres / (self.speed_kmh[hour % 24] / 3.6)

    def seconds_for_leg(self, leg: Leg) -> float:
        return leg.straight_m * self.circuity / (self.speed_kmh[leg.hour] / 3.6)

    def as_dict(self) -> dict[str, Any]:
        return {
            "circuity": round(self.circuity, 3),
            "speed_kmh_by_hour": [round(v, 2) for v in self.speed_kmh],
            "legs_learnt": self.legs_learnt,
            "heldout_legs": self.heldout_legs,
            "heldout_mae_seconds": self.heldout_mae_seconds,
            "heldout_mape": self.heldout_mape,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TravelModel:
        return cls(
            circuity=float(data["circuity"]),
            speed_kmh=tuple(float(v) for v in data["speed_kmh_by_hour"]),
            legs_learnt=int(data.get("legs_learnt", 0)),
            heldout_legs=int(data.get("heldout_legs", 0)),
            heldout_mae_seconds=data.get("heldout_mae_seconds"),
            heldout_mape=data.get("heldout_mape"),
        )


def legs_of(track: Sequence[Fix]) -> list[Leg]:
    """Cut a time-ordered track into non-overlapping legs of 5–30 minutes."""
    legs: list[Leg] = []
    start = 0
    path = 0.0
    for i in range(1, len(track)):
        a, b = track[i - 1], track[i]
        path += haversine_m(a.lat, a.lon, b.lat, b.lon)
        seconds = (b.recorded_at - track[start].recorded_at).total_seconds()
        if seconds > _MAX_LEG_SECONDS:
            start, path = i, 0.0  # a gap in the track: start afresh
            continue
        if seconds >= _MIN_LEG_SECONDS:
            first = track[start]
            straight = haversine_m(first.lat, first.lon, b.lat, b.lon)
            if straight >= _MIN_LEG_METRES:
                legs.append(Leg(first.recorded_at.hour, straight, path, seconds))
            start, path = i, 0.0
    return legs


def _fit(legs: Sequence[Leg]) -> tuple[float, tuple[float, ...]]:
    """Circuity as the tracks show it, and per hour the speed that makes
    straight × circuity ÷ speed match the recorded leg times. Fitting the product, not
    the path speed, keeps predictions right when fixes are too sparse to show every
    corner (the path between two fixes is itself a straight line)."""
    circuity = statistics.median(max(1.0, leg.path_m / leg.straight_m) for leg in legs)

    def speed(these: Sequence[Leg]) -> float:
        return (
            circuity
            * sum(leg.straight_m for leg in these)
            / sum(leg.seconds for leg in these)
            * 3.6
        )

    overall = speed(legs)
    by_hour = [[leg for leg in legs if leg.hour == hour] for hour in range(24)]
    return circuity, tuple(speed(these) if len(these) >= 3 else overall for these in by_hour)


def learn(tracks: Sequence[Sequence[Fix]]) -> TravelModel:
    """Fit on four tracks in five, report the error on the fifth (whole tracks held out,
    so a courier's day never informs its own prediction)."""
    train: list[Leg] = []
    held: list[Leg] = []
    for number, track in enumerate(tracks):
        (held if number % 5 == 4 else train).extend(legs_of(track))
    if len(train) < _MIN_LEGS:
        return TravelModel(legs_learnt=len(train), notes=["too few recorded legs: defaults"])
    circuity, speeds = _fit(train)
    model = TravelModel(circuity=circuity, speed_kmh=speeds, legs_learnt=len(train))
    if not held:
        return model
    errors = [abs(model.seconds_for_leg(leg) - leg.seconds) for leg in held]
    return TravelModel(
        circuity=circuity,
        speed_kmh=speeds,
        legs_learnt=len(train),
        heldout_legs=len(held),
        heldout_mae_seconds=round(statistics.fmean(errors), 1),
        heldout_mape=round(
            statistics.fmean(e / leg.seconds for e, leg in zip(errors, held, strict=True)), 4
        ),
    )
