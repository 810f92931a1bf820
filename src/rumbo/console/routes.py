"""The console's route pages: a depot's planned days, and per courier an SVG of stops,
planned path and actual track beside the stop list; lock, move and re-plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rumbo.console.auth import FormStaffDep, StaffDep
from rumbo.console.pages import render
from rumbo.db import SessionDep
from rumbo.kit.clock import ClockDep
from rumbo.kit.schemas import RowId
from rumbo.models import RouteDepot
from rumbo.routes import service
from rumbo.routes.drawing import fit
from rumbo.routes.schemas import CourierOut

router = APIRouter(prefix="/console/routes", include_in_schema=False)


@dataclass(frozen=True)
class CourierDrawing:
    courier: CourierOut
    depot: tuple[float, float]
    stops: list[tuple[float, float]]
    planned_path: str
    track_path: str


def _drawing(
    courier: CourierOut, depot: RouteDepot, track: list[tuple[float, float]]
) -> CourierDrawing:
    places = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in courier.stops), *track]
    points = fit(places)
    home, stops = points[0], points[1 : 1 + len(courier.stops)]
    actual = points[1 + len(courier.stops) :]
    planned = " ".join(f"{x},{y}" for x, y in [home, *stops, home])
    return CourierDrawing(courier, home, stops, planned, " ".join(f"{x},{y}" for x, y in actual))


@router.get("", response_class=HTMLResponse)
def plans_page(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    plans = service.list_plans(session, staff.merchant_id)
    return render(request, "routes.html", {"plans": plans}, staff)


@router.get("/{plan_id}", response_class=HTMLResponse)
def plan_page(request: Request, plan_id: RowId, staff: StaffDep, session: SessionDep) -> Response:
    plan = service.get_plan(session, staff.merchant_id, plan_id)
    out = service.plan_out(session, plan)
    depot = session.get_one(RouteDepot, plan.depot_id)
    tracks = service.tracks_of(session, plan)
    shift_ids = [shift.id for shift, _ in service.shifts_of(session, plan)]
    drawings = [
        _drawing(courier, depot, tracks.get(shift_id, []))
        for courier, shift_id in zip(out.couriers, shift_ids, strict=True)
    ]
    context: dict[str, Any] = {"plan": out, "depot": depot, "drawings": drawings}
    return render(request, "route_plan.html", context, staff)


def _back(plan_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/console/routes/{plan_id}?done={done}", status_code=303)


@router.post("/{plan_id}/stops/{shipment_id}/lock")
def lock_stop(
    plan_id: RowId,
    shipment_id: RowId,
    staff: FormStaffDep,
    session: SessionDep,
    locked: Annotated[bool, Form()] = True,
) -> Response:
    service.set_locked(session, staff.merchant_id, plan_id, shipment_id, locked)
    return _back(plan_id, "route_locked")


@router.post("/{plan_id}/stops/{shipment_id}/move")
def move_stop(
    plan_id: RowId,
    shipment_id: RowId,
    staff: FormStaffDep,
    session: SessionDep,
    clock: ClockDep,
    earlier: Annotated[bool, Form()] = True,
) -> Response:
    service.move_stop(session, staff.merchant_id, plan_id, shipment_id, earlier, clock.now())
    return _back(plan_id, "route_moved")


@router.post("/{plan_id}/replan")
def replan(plan_id: RowId, staff: FormStaffDep, session: SessionDep, clock: ClockDep) -> Response:
    service.replan(session, staff.merchant_id, plan_id, clock.now())
    return _back(plan_id, "route_replanned")
