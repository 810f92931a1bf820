from __future__ import annotations

from fastapi import APIRouter

from rumbo.db import SessionDep
from rumbo.errors import RumboError
from rumbo.eta.days import history_zone
from rumbo.eta.deps import EtaServiceDep
from rumbo.eta.schemas import EtaOut
from rumbo.events.status import TERMINAL, Status
from rumbo.kit.clock import ClockDep
from rumbo.kit.schemas import RowId
from rumbo.merchants.deps import MerchantDep
from rumbo.orders.service import get_order

router = APIRouter(prefix="/api/v1/orders", tags=["delivery dates"])


@router.get(
    "/{order_id}/eta",
    response_model=EtaOut,
    summary="Predicted delivery date with a range and the risk of missing the promise",
    responses={
        404: {"description": "No such order, or no model trained yet (code no_model)."},
        409: {"description": "The order has ended (delivered, returned or cancelled)."},
    },
)
def order_eta(
    order_id: RowId,
    service: EtaServiceDep,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> EtaOut:
    order = get_order(session, merchant_id, order_id)
    if Status(order.status) in TERMINAL:
        raise RumboError(
            f"This order is {order.status}: there is no delivery date to predict.",
            409,
            "order_finished",
        )
    prediction, model = service.predict(session, order, clock.now())
    zone = history_zone((order.destination or {}).get("country"))
    return EtaOut(
        estimated_delivery=prediction.estimated_delivery.replace(tzinfo=zone),
        earliest=prediction.earliest.replace(tzinfo=zone),
        latest=prediction.latest.replace(tzinfo=zone),
        on_time_probability=prediction.on_time_probability,
        risk=prediction.risk.value,
        model_version=model.version,
    )
