"""Facts about Brazil the ETA code needs: states, where they are, and which days nobody works.

Sources (facts only; the tables are ours):

- State capitals' coordinates: IBGE, "Áreas Territoriais / Sedes municipais" (rounded
  to 0.01°, ~1 km — plenty for a lane distance).
- Population shares: IBGE Censo Demográfico 2022 (millions, rounded), used only to
  draw realistic destinations in the synthetic history.
- CEP (postal code) ranges: Correios, "Faixas de CEP por UF" (first range of each state).
- National holidays: Lei 662/1949 and Lei 6.802/1980 (fixed dates), Lei 14.759/2023
  (20 November, from 2024); Good Friday and Corpus Christi follow Easter. Carnival
  Monday/Tuesday are officially "ponto facultativo", but carriers and warehouses stop,
  so they count here as non-working days.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import lru_cache

# UF -> (capital, latitude, longitude, population in millions, first CEP prefix, last)
STATES: dict[str, tuple[str, float, float, float, int, int]] = {
    "AC": ("rio branco", -9.97, -67.81, 0.83, 69900, 69999),
    "AL": ("maceio", -9.67, -35.74, 3.13, 57000, 57999),
    "AM": ("manaus", -3.12, -60.02, 3.94, 69000, 69299),
    "AP": ("macapa", 0.03, -51.07, 0.73, 68900, 68999),
    "BA": ("salvador", -12.97, -38.50, 14.14, 40000, 48999),
    "CE": ("fortaleza", -3.73, -38.52, 8.79, 60000, 63999),
    "DF": ("brasilia", -15.79, -47.88, 2.82, 70000, 72799),
    "ES": ("vitoria", -20.32, -40.34, 3.83, 29000, 29999),
    "GO": ("goiania", -16.68, -49.25, 7.06, 72800, 76799),
    "MA": ("sao luis", -2.53, -44.30, 6.78, 65000, 65999),
    "MG": ("belo horizonte", -19.92, -43.94, 20.54, 30000, 39999),
    "MS": ("campo grande", -20.47, -54.62, 2.76, 79000, 79999),
    "MT": ("cuiaba", -15.60, -56.10, 3.66, 78000, 78899),
    "PA": ("belem", -1.46, -48.49, 8.12, 66000, 68899),
    "PB": ("joao pessoa", -7.12, -34.86, 3.97, 58000, 58999),
    "PE": ("recife", -8.05, -34.88, 9.06, 50000, 56999),
    "PI": ("teresina", -5.09, -42.80, 3.27, 64000, 64999),
    "PR": ("curitiba", -25.43, -49.27, 11.44, 80000, 87999),
    "RJ": ("rio de janeiro", -22.91, -43.17, 16.05, 20000, 28999),
    "RN": ("natal", -5.79, -35.21, 3.30, 59000, 59999),
    "RO": ("porto velho", -8.76, -63.90, 1.58, 76800, 76999),
    "RR": ("boa vista", 2.82, -60.67, 0.64, 69300, 69399),
    "RS": ("porto alegre", -30.03, -51.23, 10.88, 90000, 99999),
    "SC": ("florianopolis", -27.60, -48.55, 7.61, 88000, 89999),
    "SE": ("aracaju", -10.91, -37.07, 2.21, 49000, 49999),
    "SP": ("sao paulo", -23.55, -46.63, 44.41, 1000, 19999),
    "TO": ("palmas", -10.18, -48.33, 1.51, 77000, 77999),
}

UFS: tuple[str, ...] = tuple(sorted(STATES))
UF_CODE: dict[str, int] = {uf: i for i, uf in enumerate(UFS)}

# IBGE macro-regions: the North is where roads end and transit times stretch.
NORTH: frozenset[str] = frozenset({"AC", "AM", "AP", "PA", "RO", "RR", "TO"})
NORTHEAST: frozenset[str] = frozenset({"AL", "BA", "CE", "MA", "PB", "PE", "PI", "RN", "SE"})

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def capital_distance_km(origin: str | None, destination: str | None) -> float | None:
    """Distance between two states' capitals; ``None`` when unknown or within one state.

    Within a state the capitals coincide, and 0 km would be a lie (an order from the
    capital to the interior can travel 600 km), so the honest answer is "unknown".
    """
    if origin is None or destination is None or origin == destination:
        return None
    a, b = STATES.get(origin), STATES.get(destination)
    if a is None or b is None:
        return None
    return round(haversine_km(a[1], a[2], b[1], b[2]), 1)


def easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def national_holidays(year: int) -> frozenset[date]:
    """Brazil's national holidays (plus Carnival) in ``year``; see the module docstring."""
    fixed = [(1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25)]
    days = {date(year, m, d) for m, d in fixed}
    if year >= 2024:
        days.add(date(year, 11, 20))  # Dia Nacional de Zumbi e da Consciência Negra
    sunday = easter(year)
    for offset in (-48, -47, -2, 60):  # Carnival Mon, Tue; Good Friday; Corpus Christi
        days.add(sunday + timedelta(days=offset))
    return frozenset(days)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a national holiday: when warehouses and carriers move."""
    return day.weekday() < 5 and day not in national_holidays(day.year)


def days_off_ahead(day: date, horizon: int = 7) -> int:
    """How many of the ``horizon`` days starting at ``day`` nobody works."""
    return sum(not is_working_day(day + timedelta(days=i)) for i in range(horizon))


def black_friday(year: int) -> date:
    """The fourth Friday of November — Brazil's biggest online shopping day."""
    first = date(year, 11, 1)
    first_friday = first + timedelta(days=(4 - first.weekday()) % 7)
    return first_friday + timedelta(days=21)


def is_peak_season(day: date) -> bool:
    """From the Monday before Black Friday to Christmas Eve: volume peaks, networks jam."""
    start = black_friday(day.year) - timedelta(days=4)
    return start <= day <= date(day.year, 12, 24)
