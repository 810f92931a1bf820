"""Courier devices: the store's API (``/api/v1/devices``) and the OsmAnd endpoint
(``/osmand``) that Traccar Client and compatible trackers post positions to."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.routing import APIRoute

from rumbo.db import SessionDep
from rumbo.devices import service
from rumbo.devices.deps import device_limit, position_writer, unknown_device_limit
from rumbo.devices.osmand import parse_osmand_request
from rumbo.devices.positions import PositionError
from rumbo.devices.schemas import DeviceCreate, DeviceCreated, DeviceOut, RouteOut, RouteUpdate
from rumbo.errors import RumboError
from rumbo.kit.clock import ClockDep, clock_of
from rumbo.kit.ratelimit import client_address, refuse_if_limited, throttle
from rumbo.merchants.deps import MerchantDep

router = APIRouter(tags=["courier devices"])


@router.post(
    "/api/v1/devices",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceCreated,
    summary="Register a courier device (leave device_id out for a generated one)",
    responses={409: {"description": "This chosen device_id cannot be used."}},
)
def create_device(
    body: DeviceCreate, session: SessionDep, merchant_id: MerchantDep, clock: ClockDep
) -> DeviceCreated:
    return service.device_created(service.create_device(session, merchant_id, body, clock.now()))


@router.get(
    "/api/v1/devices",
    response_model=list[DeviceOut],
    summary="Your devices, with their latest position",
)
def list_devices(session: SessionDep, merchant_id: MerchantDep) -> list[DeviceOut]:
    return [service.device_out(d) for d in service.list_devices(session, merchant_id)]


@router.post(
    "/api/v1/devices/{device_id}/rotate",
    response_model=DeviceCreated,
    summary="Replace the device's identifier with a new generated one",
    responses={404: {"description": "No device of yours has this device_id."}},
)
def rotate_device(device_id: str, session: SessionDep, merchant_id: MerchantDep) -> DeviceCreated:
    """The old identifier stops working at once: set `secret` in the courier's app
    (Traccar Client: Device identifier) or MQTT topic. The handle changes with it;
    positions and route stay."""
    return service.device_created(service.rotate_device_id(session, merchant_id, device_id))


@router.get(
    "/api/v1/devices/{device_id}/route",
    response_model=RouteOut,
    summary="The shipments a device carries, with their 'arriving soon' facts",
)
def get_route(device_id: str, session: SessionDep, merchant_id: MerchantDep) -> RouteOut:
    return service.route_of(session, service.get_device(session, merchant_id, device_id))


@router.put(
    "/api/v1/devices/{device_id}/route",
    response_model=RouteOut,
    summary="Replace the shipments a device carries",
    responses={404: {"description": "Unknown device, or shipments that are not yours."}},
)
def put_route(
    device_id: str,
    body: RouteUpdate,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> RouteOut:
    return service.set_route(session, merchant_id, device_id, body.shipment_ids, clock.now())


class PlainRoute(APIRoute):
    """A documented route whose endpoint takes the ``Request`` and returns the
    ``Response`` itself: no dependency solving, body parsing or response validation
    per request. For the one hot path a device hits thousands of times a second."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return handler


_OSMAND_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}
    for name, kind, text in (
        ("id", "string", "The device's id (or `deviceid`); required."),
        ("lat", "number", "Latitude, decimal degrees (or `location=lat,lon`)."),
        ("lon", "number", "Longitude, decimal degrees."),
        ("timestamp", "string", "Unix seconds or ms, ISO-8601, or `yyyy-MM-dd HH:mm:ss` (UTC)."),
        ("speed", "number", "Knots."),
        ("bearing", "number", "Course, degrees (or `heading`)."),
        ("altitude", "number", "Metres."),
        ("accuracy", "number", "Metres."),
        ("batt", "number", "Battery, percent."),
    )
]
_OSMAND_OPENAPI: dict[str, Any] = {
    "parameters": _OSMAND_PARAMETERS,
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {
                    "device_id": "courier-7",
                    "location": {
                        "timestamp": "2026-11-23T14:05:09.000Z",
                        "coords": {
                            "latitude": -23.5614,
                            "longitude": -46.6559,
                            "speed": 8.3,
                            "heading": 91,
                            "accuracy": 6,
                        },
                        "battery": {"level": 0.81},
                    },
                },
            },
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    },
}


async def osmand(request: Request) -> Response:
    """Query parameters, a form body or Traccar Client's JSON body, as Traccar's
    OsmAndProtocolDecoder accepts them. The answer is Traccar's: 200 with an empty body."""
    clock = clock_of(request)
    content_type = request.headers.get("content-type")
    try:
        positions = parse_osmand_request(
            "/?" + request.scope["query_string"].decode("latin-1"),
            await request.body(),
            content_type,
            clock.now(),
        )
    except PositionError as exc:
        raise RumboError(exc.message, 400, "invalid_position") from None
    # An unknown id costs the client address one try: the id is the device's only
    # credential, so scanning ids must be slow. Counted before the lookup, taken back
    # when every id turns out known (a working courier never spends this budget).
    unknown = unknown_device_limit(request)
    client = client_address(request)
    refuse_if_limited(
        unknown.take(client), "Too many unknown device ids from this address.", unknown.name
    )
    per_device = device_limit(request)
    for device_id in {p.device_id for p in positions}:
        throttle(per_device, device_id, "Too many positions from this device.")
    outcome = await position_writer(request).submit(positions)
    if not outcome.unknown_devices:
        unknown.release(client)
    else:
        # The same answer for every id that is not accepted, whoever holds it.
        # Traccar: 400 for an unknown id in a query/form request, 404 in the JSON branch
        # (SPEC_SUMMARY.md). A fix that accept_fix drops (dated in the future, 0,0) is
        # still a 200: Traccar Client retries a refused fix forever, blocking its queue.
        is_json = (content_type or "").lower().startswith("application/json")
        raise RumboError(
            "This device is not registered.", 404 if is_json else 400, "unknown_device"
        )
    return Response(status_code=200)


for _method in ("GET", "POST"):  # one route per method: each its own operation id
    router.add_api_route(
        "/osmand",
        osmand,
        methods=[_method],
        operation_id=f"osmand_{_method.lower()}",
        route_class_override=PlainRoute,
        openapi_extra=_OSMAND_OPENAPI if _method == "POST" else {"parameters": _OSMAND_PARAMETERS},
        summary="OsmAnd protocol (Traccar Client): a device posts its position",
        responses={
            200: {"description": "Stored (or deliberately dropped: a fix dated in the future)."},
            400: {"description": "Bad input, or an unknown device id (query and form requests)."},
            404: {"description": "Unknown device id (JSON body requests)."},
            429: {
                "description": "Too many requests from this device, or too many unknown ids "
                "from this address (`Retry-After` says when)."
            },
        },
    )
