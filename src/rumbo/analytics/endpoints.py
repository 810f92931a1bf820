from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from rumbo.analytics import service
from rumbo.analytics.schemas import BottleneckOut, FiguresOut, OverviewOut, StageOut, WeekOut
from rumbo.analytics.service import GroupBy
from rumbo.db import SessionDep
from rumbo.errors import RumboError
from rumbo.kit.clock import ClockDep
from rumbo.merchants.deps import MerchantDep

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

From = Annotated[
    date | None, Query(alias="from", description="First purchase day (default: 90 days ago).")
]
To = Annotated[
    date | None,
    Query(alias="to", description="Day after the last purchase day (default: tomorrow)."),
]


def _range(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    end = end or today + timedelta(days=1)
    start = start or end - timedelta(days=91)
    if start >= end:
        raise RumboError("'from' must be before 'to'.", 422, "validation_error")
    if (end - start).days > 3 * 366:
        raise RumboError("A range covers at most three years.", 422, "validation_error")
    return start, end


def _figures(fig: service.GroupFigures) -> FiguresOut:
    return FiguresOut(
        group=fig.group,
        orders=fig.orders,
        delivered=fig.delivered,
        on_time_rate=fig.on_time_rate,
        exceptions=fig.exceptions,
        failed_attempts=fig.failed_attempts,
        stages={stage: StageOut(**asdict(s)) for stage, s in fig.stages.items()},
    )


@router.get(
    "/overview",
    response_model=OverviewOut,
    summary="Volume, stage durations, on-time rate, per group",
)
def overview(
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    start: From = None,
    end: To = None,
    group_by: GroupBy | None = None,
) -> OverviewOut:
    start, end = _range(start, end, clock.now().date())
    orders = service.order_times(session, merchant_id, start, end)
    groups = service.grouped(orders, group_by) if group_by else []
    return OverviewOut(
        start=start,
        end=end,
        group_by=group_by,
        total=_figures(service.figures(orders)),
        groups=[_figures(g) for g in groups],
    )


@router.get(
    "/bottlenecks", response_model=list[BottleneckOut], summary="Where the most days are lost"
)
def bottlenecks(
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    start: From = None,
    end: To = None,
    min_orders: Annotated[int, Query(ge=1, le=10_000)] = 5,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[BottleneckOut]:
    """(stage, group) pairs ranked by excess days above the median of all orders, times volume."""
    start, end = _range(start, end, clock.now().date())
    orders = service.order_times(session, merchant_id, start, end)
    return [
        BottleneckOut(**asdict(b))
        for b in service.bottlenecks(orders, min_orders=min_orders, limit=limit)
    ]


@router.get("/on-time", response_model=list[WeekOut], summary="On-time rate per purchase week")
def on_time(
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    start: From = None,
    end: To = None,
) -> list[WeekOut]:
    start, end = _range(start, end, clock.now().date())
    orders = service.order_times(session, merchant_id, start, end)
    return [
        WeekOut(week=w, delivered=n, on_time_rate=r) for w, n, r in service.weekly_on_time(orders)
    ]
