"""The logistics report: every analytics figure of a range in one object, and its HTML.

:func:`build_report` reads the range once and computes the overview, per-stage
p50/p90 and histograms, weekly on-time rate, lane heat map, bottlenecks, the chosen
grouping and the accuracy of the delivery dates shown (:mod:`rumbo.analytics.promises`);
:func:`render_standalone` writes it as one HTML file with its CSS inlined and its
charts as inline SVG, which opens anywhere, offline.

The partial ``analytics/_report.html`` renders the same object inside any page.
Its whole context is one variable, ``report`` (a :class:`Report`); it links nothing
and loads nothing. Its classes are styled by ``static/analytics.css``. Its text is
in the ``console`` gettext domain: the including environment's ``_()`` translates
the template, and ``report.words`` (the report's language) the names, numbers,
dates and charts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property, lru_cache
from pathlib import Path

from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.analytics import charts as svg
from rumbo.analytics import service
from rumbo.analytics.charts import Wording, wording
from rumbo.analytics.promises import PromiseAccuracy, PromiseFigures, promise_accuracy
from rumbo.analytics.service import (
    Bottleneck,
    GroupBy,
    GroupFigures,
    HeatCell,
    Histogram,
    Stage,
    Week,
)
from rumbo.db import Database
from rumbo.errors import NotFound, RumboError
from rumbo.events.stale import StaleCount
from rumbo.models import Merchant
from rumbo.shared.i18n import DEFAULT_LANGUAGE, normalize_language, template_environment

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
CSS_FILE = WEB_DIR / "static" / "analytics.css"
# The groupings as forms and the command line name them.
GROUPINGS = {
    "carrier": GroupBy.CARRIER,
    "lane": GroupBy.LANE,
    "seller": GroupBy.SELLER,
    "state": GroupBy.DESTINATION_STATE,
}


@dataclass(frozen=True)
class Charts:
    stages: Markup
    histograms: dict[Stage, Markup]
    weekly: Markup
    heat_map: Markup


@dataclass(frozen=True)
class Report:
    """The figures of a range, and the language its names, numbers and charts are in
    (:meth:`in_language` gives the same figures in another)."""

    merchant: str
    start: date
    end: date  # exclusive
    group_by: GroupBy
    generated_at: datetime
    total: GroupFigures
    groups: list[GroupFigures]
    histograms: dict[Stage, Histogram]
    weeks: list[Week]
    lanes: list[HeatCell]
    bottlenecks: list[Bottleneck]
    stale: StaleCount
    promises: PromiseAccuracy
    language: str = DEFAULT_LANGUAGE

    def in_language(self, language: str) -> Report:
        language = normalize_language(language) or DEFAULT_LANGUAGE
        return self if language == self.language else replace(self, language=language)

    @property
    def words(self) -> Wording:
        return wording(self.language)

    @cached_property
    def charts(self) -> Charts:
        w = self.words
        return Charts(
            stages=svg.stage_bars(self.total.stages, w),
            histograms={s: svg.histogram(h, w) for s, h in self.histograms.items()},
            weekly=svg.weekly_line(self.weeks, w),
            heat_map=svg.heat_map(self.lanes, w),
        )

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)

    @property
    def promise_groups(self) -> list[tuple[GroupBy, list[PromiseFigures]]]:
        """Promise accuracy per carrier, then per lane."""
        return [(GroupBy.CARRIER, self.promises.carriers), (GroupBy.LANE, self.promises.lanes)]

    @property
    def group_name(self) -> str:
        return self.words.group_names[self.group_by]


def build_report(
    session: Session,
    merchant_id: int,
    start: date,
    end: date,
    now: datetime,
    *,
    group_by: GroupBy = GroupBy.CARRIER,
    top_groups: int = 15,
    bottleneck_limit: int = 10,
    language: str = DEFAULT_LANGUAGE,
) -> Report:
    """Everything the report shows for orders purchased in ``[start, end)``, worded in
    ``language``."""
    frame = service.load_frame(session, merchant_id, start, end)
    total = service.figures(frame)
    histograms = service.histograms(frame)
    weeks = service.weekly_on_time(frame)
    lanes = service.heat_map(frame)
    name = session.scalar(select(Merchant.name).where(Merchant.id == merchant_id)) or ""
    return Report(
        merchant=name,
        start=start,
        end=end,
        group_by=group_by,
        generated_at=now,
        total=total,
        groups=service.grouped(frame, group_by)[:top_groups],
        histograms=histograms,
        weeks=weeks,
        lanes=sorted(lanes, key=lambda c: (-c.orders, c.origin, c.destination)),
        bottlenecks=service.bottlenecks(frame, limit=bottleneck_limit),
        stale=service.stale_now(session, merchant_id, now),
        promises=promise_accuracy(session, merchant_id, start, end, limit=top_groups),
        language=normalize_language(language) or DEFAULT_LANGUAGE,
    )


@lru_cache(maxsize=8)
def _environment(language: str) -> Environment:
    return template_environment(language, "console")


def render_standalone(report: Report, language: str | None = None) -> str:
    """The report as one self-contained HTML document (CSS inlined, no external file),
    in ``language`` (by default the report's own)."""
    report = report.in_language(language or report.language)
    template = _environment(report.language).get_template("analytics/report.html")
    return template.render(report=report, css=Markup(CSS_FILE.read_text(encoding="utf-8")))


def default_filename(start: date, end: date) -> str:
    """``rumbo-report-2025-01-01-to-2025-03-31.html``: the days the report covers."""
    last = date.fromordinal(end.toordinal() - 1)
    return f"rumbo-report-{start.isoformat()}-to-{last.isoformat()}.html"


def the_merchant(session: Session, merchant_id: int | None) -> int:
    """``merchant_id`` when it exists; without one, the only merchant there is."""
    ids = list(session.scalars(select(Merchant.id).order_by(Merchant.id).limit(2)))
    if merchant_id is None:
        if len(ids) != 1:
            raise NotFound(
                "Say which merchant with --merchant ID (there is not exactly one).",
                "merchant_required",
            )
        return ids[0]
    if session.get(Merchant, merchant_id) is None:
        raise NotFound(f"No merchant {merchant_id}.", "merchant_not_found")
    return merchant_id


def write_report(
    db: Database,
    start: date,
    end: date,
    now: datetime,
    *,
    merchant_id: int | None = None,
    group_by: GroupBy = GroupBy.CARRIER,
    language: str = DEFAULT_LANGUAGE,
    out: Path | None = None,
) -> Path:
    """Build the report of ``[start, end)`` in ``language`` and write it as one HTML file;
    returns its path."""
    if start >= end:
        raise RumboError("'from' must be before 'to'.", 422, "validation_error")
    with db.session(write=False) as session:
        report = build_report(
            session,
            the_merchant(session, merchant_id),
            start,
            end,
            now,
            group_by=group_by,
            language=language,
        )
    path = out or Path(default_filename(start, end))
    path.write_text(render_standalone(report), encoding="utf-8")
    return path
