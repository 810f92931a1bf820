"""``/api/v1/analytics``: every endpoint takes a purchase-date range and a grouping."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from rumbo.analytics import channels, service
from rumbo.analytics.schemas import (
    BottleneckOut,
    ChannelOut,
    ChannelsOut,
    FiguresOut,
    HeatCellOut,
    HistogramOut,
    LanesOut,
    OnTimeOut,
    OverviewOut,
    StageGroupOut,
    StageOut,
    StagesOut,
    StaleOut,
    WeekOut,
    WeekSeriesOut,
)
from rumbo.analytics.service import GroupBy
from rumbo.db import SessionDep
from rumbo.errors import RumboError
from rumbo.kit.clock import ClockDep
from rumbo.kit.ranges import DEFAULT_DAYS, date_range
from rumbo.merchants.deps import MerchantDep

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


@dataclass(frozen=True)
class Window:
    start: date
    end: date
    group_by: GroupBy | None


def window(
    clock: ClockDep,
    start: Annotated[
        date | None,
        Query(
            alias="from",
            description=f"First purchase day (default: {DEFAULT_DAYS} days before `to`).",
            examples=["2025-01-01"],
        ),
    ] = None,
    end: Annotated[
        date | None,
        Query(
            alias="to",
            description="Day after the last purchase day (default: tomorrow).",
            examples=["2025-04-01"],
        ),
    ] = None,
    group_by: Annotated[
        GroupBy | None,
        Query(description="Split the figures by carrier, lane, seller or destination state."),
    ] = None,
) -> Window:
    start, end = date_range(start, end, clock.now().date())
    return Window(start, end, group_by)


WindowDep = Annotated[Window, Depends(window)]
TopGroups = Annotated[int, Query(ge=1, le=100, description="How many groups, largest first.")]


def _frame(session: SessionDep, merchant_id: int, w: Window) -> service.OrderFrame:
    return service.load_frame(session, merchant_id, w.start, w.end)


def figures_out(fig: service.GroupFigures) -> FiguresOut:
    return FiguresOut(
        group=fig.group,
        orders=fig.orders,
        delivered=fig.delivered,
        on_time_judged=fig.on_time_judged,
        on_time_rate=fig.on_time_rate,
        exceptions=fig.exceptions,
        failed_attempts=fig.failed_attempts,
        stages={stage: StageOut(**asdict(s)) for stage, s in fig.stages.items()},
    )


def histogram_out(h: service.Histogram) -> HistogramOut:
    return HistogramOut(
        orders=h.orders,
        p50_days=h.p50_days,
        p90_days=h.p90_days,
        edges_days=h.edges,
        counts=h.counts,
    )


@router.get(
    "/overview",
    response_model=OverviewOut,
    summary="Volume, stage p50/p90, on-time rate, exceptions and failed attempts, per group",
)
def overview(
    session: SessionDep, merchant_id: MerchantDep, clock: ClockDep, w: WindowDep
) -> OverviewOut:
    frame = _frame(session, merchant_id, w)
    stale = service.stale_now(session, merchant_id, clock.now())
    return OverviewOut(
        start=w.start,
        end=w.end,
        group_by=w.group_by,
        total=figures_out(service.figures(frame)),
        groups=[figures_out(g) for g in service.grouped(frame, w.group_by)] if w.group_by else [],
        stale_now=StaleOut(open=stale.open, stale=stale.stale),
    )


@router.get(
    "/bottlenecks", response_model=list[BottleneckOut], summary="Where the most days are lost"
)
def bottlenecks(
    session: SessionDep,
    merchant_id: MerchantDep,
    w: WindowDep,
    min_orders: Annotated[
        int, Query(ge=1, le=10_000, description="Smallest group worth ranking.")
    ] = 5,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[BottleneckOut]:
    """(stage, group) pairs ranked by excess days above the median of all orders, times
    volume; over every grouping, or only `group_by` when given."""
    frame = _frame(session, merchant_id, w)
    ranked = service.bottlenecks(frame, group_by=w.group_by, min_orders=min_orders, limit=limit)
    return [BottleneckOut(**asdict(b)) for b in ranked]


def _weeks(frame: service.OrderFrame) -> list[WeekOut]:
    return [WeekOut(**asdict(week)) for week in service.weekly_on_time(frame)]


@router.get("/on-time", response_model=OnTimeOut, summary="On-time rate per purchase week")
def on_time(
    session: SessionDep, merchant_id: MerchantDep, w: WindowDep, top: TopGroups = 8
) -> OnTimeOut:
    frame = _frame(session, merchant_id, w)
    groups = service.largest_groups(frame, w.group_by, top) if w.group_by else []
    return OnTimeOut(
        start=w.start,
        end=w.end,
        group_by=w.group_by,
        total=_weeks(frame),
        groups=[WeekSeriesOut(group=name, weeks=_weeks(part)) for name, part in groups],
    )


@router.get("/stages", response_model=StagesOut, summary="Distribution of each stage's duration")
def stages(
    session: SessionDep, merchant_id: MerchantDep, w: WindowDep, top: TopGroups = 8
) -> StagesOut:
    """Histograms for charts: the whole range, and the largest groups binned alike."""
    frame = _frame(session, merchant_id, w)
    total = service.histograms(frame)
    edges = {stage: h.edges for stage, h in total.items()}
    groups = service.largest_groups(frame, w.group_by, top) if w.group_by else []
    return StagesOut(
        start=w.start,
        end=w.end,
        group_by=w.group_by,
        total={stage: histogram_out(h) for stage, h in total.items()},
        groups=[
            StageGroupOut(
                group=name,
                stages={s: histogram_out(h) for s, h in service.histograms(part, edges).items()},
            )
            for name, part in groups
        ],
    )


@router.get(
    "/lanes",
    response_model=LanesOut,
    summary="Lane heat map: origin state × destination state",
)
def lanes(
    session: SessionDep,
    merchant_id: MerchantDep,
    w: WindowDep,
    group: Annotated[
        str | None,
        Query(
            description="With `group_by`: only this group's orders (e.g. one carrier's lanes).",
            examples=["jadlog"],
        ),
    ] = None,
    min_orders: Annotated[int, Query(ge=1, le=10_000, description="Hide smaller lanes.")] = 1,
) -> LanesOut:
    """Volume, median delivery and transit days and on-time rate per lane."""
    frame = _frame(session, merchant_id, w)
    if group is not None:
        if w.group_by is None:
            raise RumboError("'group' needs 'group_by'.", 422, "validation_error")
        frame = service.only_group(frame, w.group_by, group)
    cells = service.heat_map(frame, min_orders=min_orders)
    return LanesOut(
        start=w.start,
        end=w.end,
        origins=sorted({c.origin for c in cells}),
        destinations=sorted({c.destination for c in cells}),
        cells=[HeatCellOut(**asdict(c)) for c in cells],
    )


@router.get(
    "/channels",
    response_model=ChannelsOut,
    summary="Per notification channel: sent, delivered, read, and WISMO inquiries per 100 orders",
)
def channel_figures(session: SessionDep, merchant_id: MerchantDep, w: WindowDep) -> ChannelsOut:
    return ChannelsOut(
        start=w.start,
        end=w.end,
        channels=[
            ChannelOut(**asdict(f))
            for f in channels.channel_figures(session, merchant_id, w.start, w.end)
        ],
    )
