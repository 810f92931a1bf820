"""The routing problem and its solution as plain data, independent of any solver."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stop:
    """A place to visit: index 0 of a problem is the depot."""

    x: float
    y: float
    demand: int
    ready: float
    due: float
    service: float


@dataclass(frozen=True)
class Problem:
    """Vehicles leave the depot (stop 0) and return to it; every other stop is visited once.

    Travel time equals travel distance unless `travel` is given (a full matrix).
    """

    name: str
    vehicles: int
    capacity: int
    stops: tuple[Stop, ...]
    travel: tuple[tuple[float, ...], ...] | None = None

    def distance(self, a: int, b: int) -> float:
        if self.travel is not None:
            return self.travel[a][b]
        sa, sb = self.stops[a], self.stops[b]
        return math.hypot(sa.x - sb.x, sa.y - sb.y)

    def matrix(self) -> list[list[float]]:
        n = len(self.stops)
        return [[self.distance(a, b) for b in range(n)] for a in range(n)]


@dataclass
class Solution:
    """Routes as lists of stop indices (depot excluded); `unassigned` lists stops left out."""

    routes: list[list[int]]
    unassigned: list[int] = field(default_factory=list)

    @property
    def vehicles(self) -> int:
        return sum(1 for route in self.routes if route)
