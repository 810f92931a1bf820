"""Charts as inline SVG, drawn on the server: no script, no external file, readable offline.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` naming what
it shows (https://www.w3.org/TR/svg-aam-1.0/ maps them to the accessible name and
description), text labels on every mark that carries a number, and colours given as
presentation attributes, which a Content-Security-Policy without ``'unsafe-inline'``
styles still allows. The report template puts a data table beside each one.

Every word drawn comes from the ``console`` gettext catalogue and every number and
date is written the way the reader's language writes it (:class:`Wording`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from functools import cached_property, lru_cache

from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from rumbo.analytics.service import GroupBy, HeatCell, Histogram, Stage, StageFigures, Week
from rumbo.shared.i18n import DEFAULT_LANGUAGE, babel_locale, normalize_language, translations


class Wording:
    """The report's words, numbers and dates in one of Rumbo's languages.

    Words come from the ``console`` catalogue; ``gettext`` formats every message with
    its ``%(name)s`` values, as the templates' new-style ``_()`` does. Numbers and dates
    follow the locale's CLDR conventions through Babel (decimal comma in pt-BR and es)."""

    def __init__(self, language: str) -> None:
        self.language = normalize_language(language) or DEFAULT_LANGUAGE
        self.locale = babel_locale(self.language)
        self._catalogue = translations(self.language, "console")

    def gettext(self, message: str, **values: object) -> str:
        return self._catalogue.gettext(message) % values

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """``%(num)s`` is ``n`` written in the locale."""
        return self._catalogue.ngettext(singular, plural, n) % {"num": self.number(n), **values}

    def pgettext(self, context: str, message: str) -> str:
        return str(self._catalogue.pgettext(context, message))

    @cached_property
    def stage_names(self) -> dict[Stage, str]:
        return {
            Stage.APPROVAL: self.gettext("Payment approval"),
            # "Handling" alone is support work in the console; this is the warehouse's.
            Stage.HANDLING: self.pgettext("logistics stage", "Handling"),
            Stage.TRANSIT: self.gettext("Transit"),
            Stage.LAST_MILE: self.gettext("Last mile"),
        }

    @cached_property
    def group_names(self) -> dict[GroupBy, str]:
        return {
            GroupBy.CARRIER: self.gettext("Carrier"),
            GroupBy.LANE: self.gettext("Lane"),
            GroupBy.SELLER: self.gettext("Seller"),
            GroupBy.DESTINATION_STATE: self.gettext("Destination state"),
        }

    @cached_property
    def group_headings(self) -> dict[GroupBy, str]:
        return {
            GroupBy.CARRIER: self.gettext("By carrier"),
            GroupBy.LANE: self.gettext("By lane"),
            GroupBy.SELLER: self.gettext("By seller"),
            GroupBy.DESTINATION_STATE: self.gettext("By destination state"),
        }

    def number(self, value: int) -> str:
        return format_decimal(value, "#,##0", locale=self.locale)

    def decimal(self, value: float, digits: int = 1) -> str:
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return format_decimal(value, pattern, locale=self.locale)

    def percent(self, rate: float | None, digits: int = 1) -> str:
        """``83.3%`` (en), ``83,3%`` (pt-BR, es); ``—`` for none."""
        return "—" if rate is None else f"{self.decimal(rate * 100, digits)}%"

    def days(self, days: float | None) -> str:
        """``2.4 d``; under a day ``5 h``, under an hour ``29 min``; ``—`` for none."""
        if days is None:
            return "—"
        if days == 0:
            return "0"
        if days < 1 / 24:
            return f"{self.decimal(days * 24 * 60, 0)} min"
        if days < 1:
            return f"{self.decimal(days * 24, 0)} h"
        return f"{self.decimal(days)} d"

    def day(self, value: date) -> str:
        """``Jan 5, 2026`` / ``5 de jan. de 2026`` / ``5 ene 2026``."""
        return format_date(value, "medium", locale=self.locale)

    def bin_label(self, h: Histogram, i: int) -> str:
        if i == len(h.edges) - 1:
            return self.gettext("%(low)s or more", low=self.days(h.edges[i]))
        return self.gettext(
            "%(low)s to %(high)s", low=self.days(h.edges[i]), high=self.days(h.edges[i + 1])
        )

    def bin_labels(self, h: Histogram) -> list[str]:
        return [self.bin_label(h, i) for i in range(len(h.counts))]


@lru_cache(maxsize=8)
def wording(language: str) -> Wording:
    return Wording(language)


INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#d9dee3"
P50 = "#1d5fa8"
P90 = "#9cc1ea"
BAR = "#2f7d6d"
LINE = "#1d5fa8"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
_ids = itertools.count(1)


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="chart-{n}-title chart-{n}-desc" {FONT} fill="{INK}">'
        f'<title id="chart-{n}-title">{escape(title)}</title>'
        f'<desc id="chart-{n}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, label: object, anchor: str = "start", fill: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">'
        f"{escape(str(label))}</text>"
    )


def _ticks(top: float) -> list[float]:
    """About five round steps from 0 to at least ``top``."""
    step = next((s for s in (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100) if top / s <= 6), top / 5 or 1.0)
    count = int(top // step) + 1
    return [round(i * step, 2) for i in range(count + 1)]


def stage_bars(stages: dict[Stage, StageFigures], w: Wording) -> Markup:
    """Per stage, a bar to the median and a lighter one on to the 90th percentile."""
    # Room for the longest stage name at about 7 px a character (12 px system font).
    longest = max((len(w.stage_names[s]) for s in stages), default=0)
    # And room right of the longest bar for its "p50 / p90" label, so it is never cut.
    widest_label = max(
        (len(f"{w.days(f.p50_days)} / {w.days(f.p90_days)}") for f in stages.values()),
        default=0,
    )
    width, left, right, row = 640, max(110, 7 * longest + 16), max(70, 7 * widest_label + 12), 34
    height = 40 + row * len(stages)
    top = max((s.p90_days or 0.0 for s in stages.values()), default=0.0) or 1.0
    ticks = _ticks(top)
    scale = (width - left - right) / ticks[-1]
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 14}" stroke="{GRID}"/>')
        axis = format_decimal(tick, "#,##0.##", locale=w.locale)
        body.append(_text(x, height - 2, f"{axis} d", "middle", MUTED))
    for i, (stage, fig) in enumerate(stages.items()):
        y = 24 + i * row
        body.append(_text(left - 8, y + 15, w.stage_names[stage], "end"))
        if fig.p50_days is None or fig.p90_days is None:
            body.append(_text(left + 4, y + 15, w.gettext("no orders"), fill=MUTED))
            continue
        p50_w, p90_w = fig.p50_days * scale, fig.p90_days * scale
        body.append(f'<rect x="{left}" y="{y + 3}" width="{p90_w:.1f}" height="18" fill="{P90}"/>')
        body.append(f'<rect x="{left}" y="{y + 3}" width="{p50_w:.1f}" height="18" fill="{P50}"/>')
        label = f"{w.days(fig.p50_days)} / {w.days(fig.p90_days)}"
        body.append(_text(left + p90_w + 6, y + 16, label))
    body.append(_text(left, 12, w.gettext("median (dark) / 90th percentile (light)"), fill=MUTED))
    desc = "; ".join(
        w.gettext(
            "%(stage)s: median %(p50)s, 90th percentile %(p90)s",
            stage=w.stage_names[s],
            p50=w.days(f.p50_days),
            p90=w.days(f.p90_days),
        )
        for s, f in stages.items()
    )
    return _svg(width, height, w.gettext("How long each stage takes"), desc, body)


def histogram(h: Histogram, w: Wording) -> Markup:
    """Orders per duration bin; the last, open-ended bin reads "≥ x"."""
    width, height, left, bottom = 640, 200, 48, 36
    counts = h.counts or [0]
    most = max(counts) or 1
    bar_w = (width - left - 8) / len(counts)
    plot_h = height - bottom - 16
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" '
        f'stroke="{MUTED}"/>',
        _text(left - 6, 20, w.number(most), "end", MUTED),
        _text(left - 6, height - bottom, "0", "end", MUTED),
    ]
    every = max(1, -(-len(counts) // 7))  # at most seven labels: they must not overlap
    for i, count in enumerate(counts):
        bar_h = plot_h * count / most
        x = left + i * bar_w
        tip = w.ngettext(
            "%(range)s: %(num)s order", "%(range)s: %(num)s orders", count, range=w.bin_label(h, i)
        )
        body.append(
            f'<rect x="{x + 1:.1f}" y="{height - bottom - bar_h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{bar_h:.1f}" fill="{BAR}"><title>{escape(tip)}</title></rect>'
        )
        if i == len(counts) - 1:
            label = f"≥{w.days(h.edges[i])}"
            body.append(_text(width - 8, height - bottom + 16, label, "end", MUTED))
        elif i % every == 0 and i < len(counts) - every // 2 - 1:
            body.append(_text(x + 1, height - bottom + 16, w.days(h.edges[i]), "start", MUTED))
    body.append(_text(width - 8, height - 4, w.gettext("duration"), "end", MUTED))
    title = w.gettext("%(stage)s: distribution of durations", stage=w.stage_names[h.stage])
    desc = (
        w.ngettext(
            "%(num)s order; median %(p50)s, 90th percentile %(p90)s.",
            "%(num)s orders; median %(p50)s, 90th percentile %(p90)s.",
            h.orders,
            p50=w.days(h.p50_days),
            p90=w.days(h.p90_days),
        )
        + " "
        + ", ".join(f"{w.bin_label(h, i)}: {w.number(c)}" for i, c in enumerate(counts))
    )
    return _svg(width, height, title, desc, body)


def weekly_line(weeks: Sequence[Week], w: Wording) -> Markup:
    """On-time rate per purchase week, as a line over a 0–100 % (or narrower) scale."""
    width, height, left, bottom = 640, 220, 48, 30
    title = w.gettext("On-time rate per purchase week")
    rated = [week for week in weeks if week.on_time_rate is not None]
    if not rated:
        empty = w.gettext("No delivered orders with a promise in this range.")
        return _svg(width, 40, title, empty, [_text(left, 24, empty, fill=MUTED)])
    low = min(week.on_time_rate or 0.0 for week in rated)
    floor = 0.0 if low < 0.5 else (0.5 if low < 0.8 else 0.8)
    plot_w, plot_h = width - left - 12, height - bottom - 14
    body = []
    for step in range(5):
        rate = floor + (1.0 - floor) * step / 4
        y = 14 + plot_h * (1 - (rate - floor) / (1 - floor))
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 12}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        body.append(_text(left - 6, y + 4, w.percent(rate, 0), "end", MUTED))
    n = len(rated)
    points = []
    for i, week in enumerate(rated):
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = 14 + plot_h * (1 - ((week.on_time_rate or 0.0) - floor) / (1 - floor))
        points.append(f"{x:.1f},{y:.1f}")
        tip = w.ngettext(
            "%(week)s: %(rate)s of %(num)s delivered order",
            "%(week)s: %(rate)s of %(num)s delivered orders",
            week.delivered,
            week=w.day(week.week),
            rate=w.percent(week.on_time_rate),
        )
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{LINE}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    body.insert(
        0,
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="2"/>',
    )
    for i in sorted({0, n // 3, 2 * n // 3, n - 1}):
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        # The end labels lean inwards: a long date ("5 de mai. de 2025") stays in view.
        anchor = "middle" if n == 1 or 0 < i < n - 1 else ("start" if i == 0 else "end")
        body.append(_text(x, height - 8, w.day(rated[i].week), anchor, MUTED))
    worst = min(rated, key=lambda week: (week.on_time_rate or 0.0, week.week))
    desc = w.ngettext(
        "%(num)s week from %(first)s to %(last)s; lowest %(rate)s in the week of %(worst)s.",
        "%(num)s weeks from %(first)s to %(last)s; lowest %(rate)s in the week of %(worst)s.",
        n,
        first=w.day(rated[0].week),
        last=w.day(rated[-1].week),
        rate=w.percent(worst.on_time_rate),
        worst=w.day(worst.week),
    )
    return _svg(width, height, title, desc, body)


def _heat_colour(value: float, low: float, high: float) -> str:
    """Pale yellow (fast) to deep red (slow)."""
    t = 0.0 if high <= low else max(0.0, min(1.0, (value - low) / (high - low)))
    stops = [(255, 247, 188), (254, 196, 79), (236, 112, 20), (153, 52, 4)]
    pos = t * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    f = pos - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(stops[i], stops[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _lane_tip(lane: HeatCell, median: float, w: Wording) -> str:
    values = {
        "origin": lane.origin,
        "destination": lane.destination,
        "days": w.decimal(median),
    }
    if lane.on_time_rate is None:
        return w.ngettext(
            "%(origin)s → %(destination)s: %(days)s days, %(num)s order",
            "%(origin)s → %(destination)s: %(days)s days, %(num)s orders",
            lane.orders,
            **values,
        )
    return w.ngettext(
        "%(origin)s → %(destination)s: %(days)s days, %(num)s order, %(rate)s on time",
        "%(origin)s → %(destination)s: %(days)s days, %(num)s orders, %(rate)s on time",
        lane.orders,
        rate=w.percent(lane.on_time_rate, 0),
        **values,
    )


def heat_map(cells: Sequence[HeatCell], w: Wording, max_origins: int = 12) -> Markup:
    """Median purchase-to-delivery days per lane: origins (rows, most orders first) ×
    destinations (columns); an empty cell had no delivered order."""
    title = w.gettext("Lane heat map: median delivery days")
    volume: dict[str, int] = {}
    for cell in cells:
        volume[cell.origin] = volume.get(cell.origin, 0) + cell.orders
    origins = sorted(volume, key=lambda o: (-volume[o], o))[:max_origins]
    destinations = sorted({c.destination for c in cells if c.origin in origins})
    values = [
        c.median_delivery_days
        for c in cells
        if c.median_delivery_days is not None and c.origin in origins
    ]
    if not values:
        empty = w.gettext("No delivered orders with a known origin and destination.")
        return _svg(640, 40, title, empty, [_text(8, 24, empty, fill=MUTED)])
    size, left, top = 30, 44, 34
    width = max(left + size * len(destinations) + 8, 360)
    height = top + size * len(origins) + 30
    by_lane = {(c.origin, c.destination): c for c in cells}
    low, high = min(values), max(values)
    legend = w.gettext("median days, purchase → delivery; rows: origin")
    body = [_text(left, 12, legend, fill=MUTED)]
    for j, dest in enumerate(destinations):
        body.append(_text(left + j * size + size / 2, top - 6, dest, "middle"))
    for i, origin in enumerate(origins):
        y = top + i * size
        body.append(_text(left - 6, y + size / 2 + 4, origin, "end"))
        for j, dest in enumerate(destinations):
            lane = by_lane.get((origin, dest))
            median = None if lane is None else lane.median_delivery_days
            if lane is None or median is None:
                continue
            x = left + j * size
            colour = _heat_colour(median, low, high)
            dark = (median - low) > 0.6 * (high - low)
            body.append(
                f'<rect x="{x}" y="{y}" width="{size - 1}" height="{size - 1}" fill="{colour}">'
                f"<title>{escape(_lane_tip(lane, median, w))}</title></rect>"
            )
            body.append(
                _text(
                    x + size / 2,
                    y + size / 2 + 4,
                    w.decimal(median, 0),
                    "middle",
                    "#ffffff" if dark else INK,
                )
            )
    body.append(_text(left, height - 8, f"{w.decimal(low)} d", fill=MUTED))
    for k in range(10):
        colour = _heat_colour(low + (high - low) * k / 9, low, high)
        x = left + 44 + k * 14
        body.append(f'<rect x="{x}" y="{height - 20}" width="14" height="14" fill="{colour}"/>')
    body.append(_text(left + 44 + 10 * 14 + 6, height - 8, f"{w.decimal(high)} d", fill=MUTED))
    slowest = max(
        (c for c in cells if c.median_delivery_days is not None and c.origin in origins),
        key=lambda c: (c.median_delivery_days or 0.0, c.orders),
    )
    desc = w.gettext(
        "%(origins)s origin states × %(destinations)s destination states; the slowest lane "
        "is %(origin)s → %(destination)s at %(days)s days median.",
        origins=w.number(len(origins)),
        destinations=w.number(len(destinations)),
        origin=slowest.origin,
        destination=slowest.destination,
        days=w.decimal(slowest.median_delivery_days or 0.0),
    )
    return _svg(width, height, title, desc, body)
