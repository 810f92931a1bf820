from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from rumbo.config import SettingsDep
from rumbo.db import SessionDep
from rumbo.errors import RumboError, error_body, validation_details
from rumbo.events.schemas import EventOut, ItemError
from rumbo.events.status import Status
from rumbo.kit.bulk import items_of, one_or_list_schema
from rumbo.kit.clock import ClockDep
from rumbo.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from rumbo.kit.schemas import RowId
from rumbo.merchants.deps import MerchantDep
from rumbo.orders import views
from rumbo.orders.deps import OrderWriterDep
from rumbo.orders.schemas import (
    OrderBatchResponse,
    OrderCreate,
    OrderOut,
    OrderPage,
    OrderResult,
    ShipmentCreate,
    ShipmentOut,
)

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


_order = TypeAdapter(OrderCreate)

# One order or a list; parsed by hand so that one bad order never sinks the others.
_CREATE_SCHEMA = one_or_list_schema("OrderCreate", 1000)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    responses={
        200: {
            "description": "The same body was sent before: the existing order. For a list,"
            " one outcome per order (`created`, `existing` or `rejected` with a reason).",
            "model": OrderOut | OrderBatchResponse,
        },
        409: {"description": "This external_id exists with different content."},
        413: {"description": "More orders in one list than the server accepts."},
        422: {
            "description": "An invalid body, a placed_at in the future, or a list in which"
            " every order was rejected."
        },
    },
    summary="Create an order, or many (idempotent on external_id)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _CREATE_SCHEMA}},
        }
    },
)
async def create_order(
    request: Request, merchant_id: MerchantDep, settings: SettingsDep, writer: OrderWriterDep
) -> Response:
    """One order object creates one order: 201, or 200 with the existing order when the
    same body was sent before. A list of up to 1,000 creates them together and answers
    200 with one outcome per item; an invalid or conflicting order is `rejected` without
    sinking the others. Concurrent requests are stored together, a fixed number of
    statements per transaction, so a sale's burst of orders costs little each."""
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise RumboError("The request body is not valid JSON.", 400, "invalid_json") from None
    bodies, is_list = items_of(payload, settings.max_batch_size, "order")
    valid: list[tuple[int, OrderCreate]] = []
    results: dict[int, OrderResult] = {}
    for index, body in enumerate(bodies):
        try:
            valid.append((index, _order.validate_python(body)))
        except ValidationError as exc:
            if not is_list:
                raise RequestValidationError(
                    [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
                ) from None
            results[index] = _rejected(
                index,
                body,
                "validation_error",
                "This order is not valid.",
                validation_details(exc.errors(include_input=False)),
            )
    for outcome in await writer.submit(merchant_id, valid) if valid else []:
        if outcome.error is not None:
            if not is_list:
                raise outcome.error
            error = outcome.error
            results[outcome.index] = _rejected(
                outcome.index, bodies[outcome.index], error.code, error.message, error.details
            )
            continue
        assert outcome.order is not None
        if not is_list:
            return JSONResponse(
                outcome.order.model_dump(mode="json"), 201 if outcome.created else 200
            )
        results[outcome.index] = OrderResult(
            index=outcome.index,
            external_id=outcome.order.external_id,
            outcome="created" if outcome.created else "existing",
            order=outcome.order,
        )
    ordered = [results[index] for index in sorted(results)]
    batch = OrderBatchResponse(
        created=sum(r.outcome == "created" for r in ordered),
        existing=sum(r.outcome == "existing" for r in ordered),
        rejected=sum(r.outcome == "rejected" for r in ordered),
        results=ordered,
    )
    if batch.rejected == len(ordered):
        return JSONResponse(
            error_body(
                "all_rejected",
                "Every order in the list was rejected.",
                batch.model_dump(mode="json")["results"],
            ),
            422,
        )
    return JSONResponse(batch.model_dump(mode="json"), 200)


def _rejected(index: int, body: Any, code: str, message: str, details: Any) -> OrderResult:
    return OrderResult(
        index=index,
        external_id=_external_id_of(body),
        outcome="rejected",
        error=ItemError(code=code, message=message, details=details),
    )


def _external_id_of(body: Any) -> str | None:
    value = body.get("external_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


@router.get("", response_model=OrderPage, summary="List and search orders")
def list_orders(
    session: SessionDep,
    merchant_id: MerchantDep,
    settings: SettingsDep,
    clock: ClockDep,
    status: Status | None = None,
    risk: Annotated[
        Literal["on_track", "at_risk", "late"] | None,
        Query(description="Open orders by their latest delivery-date risk."),
    ] = None,
    stale: Annotated[
        bool | None,
        Query(
            description="true: orders with a shipment that has had no news for longer than "
            "its lane's usual gap; false: orders without one.",
            examples=[True],
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=320,
            description="External id, e-mail, tracking code or carrier tracking number.",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> OrderPage:
    return views.order_page(
        session,
        merchant_id,
        base_url=settings.base_url,
        now=clock.now(),
        status=status,
        risk=risk,
        stale=stale,
        q=q,
        cursor=cursor,
        limit=limit,
    )


@router.get("/{order_id}", response_model=OrderOut, summary="Get an order")
def get_order(
    order_id: RowId,
    session: SessionDep,
    merchant_id: MerchantDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> OrderOut:
    return views.order_view(
        session, merchant_id, order_id, base_url=settings.base_url, now=clock.now()
    )


@router.post(
    "/{order_id}/shipments",
    status_code=status.HTTP_201_CREATED,
    response_model=ShipmentOut,
    responses={
        200: {"description": "Already registered: the existing shipment.", "model": ShipmentOut}
    },
    summary="Add a shipment (split fulfilment)",
)
def add_shipment(
    order_id: RowId,
    body: ShipmentCreate,
    response: Response,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> ShipmentOut:
    shipment, created = views.added_shipment(session, merchant_id, order_id, body, clock.now())
    if not created:
        response.status_code = status.HTTP_200_OK
    return shipment


@router.get("/{order_id}/events", response_model=list[EventOut], summary="The order's timeline")
def order_events(order_id: RowId, session: SessionDep, merchant_id: MerchantDep) -> list[EventOut]:
    return views.timeline(session, merchant_id, order_id)
