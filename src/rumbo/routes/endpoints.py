"""The store's routes API: depots, a depot's planned day, locking stops and re-planning."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from rumbo.db import SessionDep
from rumbo.kit.clock import ClockDep
from rumbo.kit.schemas import RowId
from rumbo.merchants.deps import MerchantDep
from rumbo.routes import service
from rumbo.routes.schemas import DepotCreate, DepotOut, PlanCreate, PlanOut, ReplanIn, StopUpdate

router = APIRouter(prefix="/api/v1/routes", tags=["courier routes"])


@router.post(
    "/depots",
    status_code=status.HTTP_201_CREATED,
    response_model=DepotOut,
    summary="Register a depot (hub) couriers start from",
    responses={409: {"description": "A depot of yours has this name."}},
)
def create_depot(
    body: DepotCreate, session: SessionDep, merchant_id: MerchantDep, clock: ClockDep
) -> DepotOut:
    return service.depot_out(service.create_depot(session, merchant_id, body, clock.now()))


@router.get("/depots", response_model=list[DepotOut], summary="Your depots")
def list_depots(session: SessionDep, merchant_id: MerchantDep) -> list[DepotOut]:
    return [service.depot_out(d) for d in service.list_depots(session, merchant_id)]


@router.post(
    "/plans",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    summary="Plan a depot's day (idempotent per depot and day)",
    responses={
        200: {"description": "The depot already has a plan for this day: that plan, unchanged."},
        404: {"description": "Unknown depot, devices or shipments."},
    },
)
def create_plan(
    body: PlanCreate,
    response: Response,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> PlanOut:
    plan, created = service.create_plan(session, merchant_id, body, clock.now())
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.plan_out(session, plan)


@router.get(
    "/plans/{plan_id}",
    response_model=PlanOut,
    summary="A plan: each courier's stops with planned times and windows",
    responses={404: {"description": "No such plan of yours."}},
)
def get_plan(plan_id: RowId, session: SessionDep, merchant_id: MerchantDep) -> PlanOut:
    return service.plan_out(session, service.get_plan(session, merchant_id, plan_id))


@router.patch(
    "/plans/{plan_id}/stops/{shipment_id}",
    response_model=PlanOut,
    summary="Lock or unlock a stop (a locked stop keeps its courier on re-planning)",
    responses={404: {"description": "No such plan, or the shipment is not on it."}},
)
def update_stop(
    plan_id: RowId,
    shipment_id: RowId,
    body: StopUpdate,
    session: SessionDep,
    merchant_id: MerchantDep,
) -> PlanOut:
    plan = service.set_locked(session, merchant_id, plan_id, shipment_id, body.locked)
    return service.plan_out(session, plan)


@router.post(
    "/plans/{plan_id}/replan",
    response_model=PlanOut,
    summary="Re-plan the rest of the day, keeping delivered and locked stops",
    responses={404: {"description": "No such plan of yours."}},
)
def replan(
    plan_id: RowId,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    body: ReplanIn | None = None,
) -> PlanOut:
    seconds = body.seconds if body is not None else 5.0
    plan = service.replan(session, merchant_id, plan_id, clock.now(), seconds)
    return service.plan_out(session, plan)
