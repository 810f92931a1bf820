"""A courier's day as SVG coordinates: no map tiles, just the places projected to fit.

Equirectangular projection about the middle latitude (longitudes shrunk by its cosine):
at a city's scale the distortion is far below what a screen shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Point = tuple[float, float]


def fit(
    places: Sequence[Point], width: float = 640, height: float = 420, margin: float = 24
) -> list[Point]:
    """(lat, lon) pairs to (x, y) in a ``width`` × ``height`` box, north up, aspect kept."""
    if not places:
        return []
    middle = math.radians(sum(lat for lat, _ in places) / len(places))
    xs = [lon * math.cos(middle) for _, lon in places]
    ys = [lat for lat, _ in places]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = min(width - 2 * margin, height - 2 * margin) / span
    left = margin + (width - 2 * margin - (max(xs) - min(xs)) * scale) / 2
    top = margin + (height - 2 * margin - (max(ys) - min(ys)) * scale) / 2
    return [
        (round(left + (x - min(xs)) * scale, 1), round(top + (max(ys) - y) * scale, 1))
        for x, y in zip(xs, ys, strict=True)
    ]
