"""Carrier connections, the webhook every carrier and aggregator posts to, unmapped codes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from rumbo.carriers import service
from rumbo.carriers.schemas import (
    ConnectionCreated,
    ConnectionIn,
    ConnectionOut,
    MappingIn,
    MappingOut,
    UnmappedCode,
)
from rumbo.carriers.service import WebhookTarget
from rumbo.config import SettingsDep
from rumbo.db import DatabaseDep, SessionDep
from rumbo.events.deps import IngestWriterDep
from rumbo.events.schemas import IngestResponse
from rumbo.events.service import IngestOutcome
from rumbo.kit.clock import ClockDep
from rumbo.merchants.deps import MerchantDep
from rumbo.shared.metrics import EVENTS

router = APIRouter(prefix="/api/v1/carriers", tags=["carriers"])

CarrierName = Annotated[
    str,
    Path(max_length=64, description="A registered adapter: " + ", ".join(service.known_carriers())),
]
Token = Annotated[str, Path(max_length=128, description="The secret token of the webhook URL.")]

_FORMATS = """
What each carrier posts, unchanged:

- `easypost`: an `Event` whose `result` is a `Tracker`, signed with
  `X-Hmac-Signature: hmac-sha256-hex=…`
  ([EasyPost webhooks](https://docs.easypost.com/docs/webhooks)).
- `aftership`: `{"event": "tracking_update", "msg": {…}}`, signed with
  `aftership-hmac-sha256` (base64)
  ([AfterShip](https://www.aftership.com/docs/tracking/webhook/webhook-signature)).
- `shippo`: `{"event": "track_updated", "data": Track}`, unsigned: the URL token is the
  credential ([Shippo webhooks](https://docs.goshippo.com/docs/tracking/webhooks/)).
- `correios`: the SRO `buscaEventosLista` SOAP response as your poller received it.
- `seur`, `ctt_express`, `correos_es`: Rumbo's relay JSON (example below), signed with
  `X-Rumbo-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.

Every event the body holds is stored through the same path as `POST /api/v1/events`
(idempotent: a replayed delivery reports its events as `duplicate`). The answer is
**200 with per-item outcomes** even when an item is rejected (for instance
`unknown_shipment`: register the parcel with `POST /api/v1/orders/{id}/shipments`,
carrier = the name in this URL), so that aggregators do not retry forever. A carrier
code Rumbo does not map is stored as an informational event (status `null`): see
`GET /api/v1/carriers/unmapped`.

**Warehouse and payment systems** are not carriers: they post to `POST /api/v1/events`
(or use `rumbo import events FILE.csv`) with these statuses:

| system | what happened | `source` | `status` |
|---|---|---|---|
| warehouse | picking started, packed | `warehouse` | `preparing` |
| warehouse | dispatched, handed to the carrier | `warehouse` | `shipped` |
| payment gateway | payment approved | `payment` | `payment_confirmed` |
| payment gateway | payment refused, refunded | `payment` | `cancelled` |

```json
{"event_id": "wms-77120-pick", "source": "warehouse", "external_id": "PED-100234",
 "status": "preparing", "occurred_at": "2026-11-23T14:05:00-03:00",
 "location": {"city": "Cajamar", "state": "SP", "country": "BR"},
 "description": "Picking started"}
{"event_id": "pay-ch_3Q9", "source": "payment", "external_id": "PED-100234",
 "status": "payment_confirmed", "occurred_at": "2026-11-23T13:58:00-03:00",
 "description": "Payment approved"}
{"event_id": "pay-re_81A", "source": "payment", "external_id": "PED-100235",
 "status": "cancelled", "occurred_at": "2026-11-24T09:00:00-03:00",
 "description": "Payment refunded"}
```
"""

_RELAY_EXAMPLE: dict[str, Any] = {
    "tracking_number": "ES0123456789",
    "events": [
        {
            "code": "LL001",
            "description": "Entregado",
            "occurred_at": "2026-11-25T10:15:00+01:00",
            "event_id": "seur-998877",
            "location": {"city": "Madrid", "state": "M", "country": "ES"},
        }
    ],
}


def _webhook_target(db: DatabaseDep, carrier: CarrierName, token: Token) -> WebhookTarget:
    # A short read transaction of its own: no lock is held while the writer stores events.
    with db.session(write=False) as session:
        return service.find_target(session, carrier, token)


WebhookTargetDep = Annotated[WebhookTarget, Depends(_webhook_target)]


@router.get("", response_model=list[ConnectionOut], summary="The merchant's carrier connections")
def list_connections(session: SessionDep, merchant_id: MerchantDep) -> list[ConnectionOut]:
    return service.list_connections(session, merchant_id)


@router.get(
    "/unmapped",
    response_model=list[UnmappedCode],
    summary="Carrier codes stored as informational, with a suggested status",
)
def unmapped_codes(
    session: SessionDep,
    merchant_id: MerchantDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[UnmappedCode]:
    """Events whose carrier code has no status, grouped by (carrier, code), most frequent
    first. The suggestion comes from the closest known descriptions; confirm it with
    `POST /api/v1/carriers/{carrier}/mappings`."""
    return service.unmapped_codes(session, merchant_id, limit)


@router.put(
    "/{carrier}",
    response_model=ConnectionCreated,
    summary="Connect a carrier, or rotate its webhook URL",
    responses={
        404: {"description": "No such carrier; `details.known` lists the registered ones."},
        422: {"description": "A signing secret for a carrier that does not sign."},
    },
)
def connect(
    carrier: CarrierName,
    body: ConnectionIn,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ConnectionCreated:
    """The webhook URL is shown only in this answer; calling again issues a new one and
    the old one stops working."""
    changes = body.model_dump(exclude_unset=True)
    return service.connect(session, merchant_id, carrier, changes, settings.base_url, clock.now())


@router.post(
    "/{carrier}/mappings",
    response_model=MappingOut,
    summary="Give a carrier code a status (past and future events)",
    responses={404: {"description": "No such carrier."}},
)
def add_mapping(
    carrier: CarrierName,
    body: MappingIn,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> MappingOut:
    """From now on events with this code get `status` when they arrive; the events already
    stored take it too and their orders' statuses are derived again, in one transaction."""
    return service.add_mapping(session, merchant_id, carrier, body.code, body.status, clock.now())


@router.post(
    "/{carrier}/webhook/{token}",
    response_model=IngestResponse,
    summary="Receive a carrier's or aggregator's webhook",
    description=_FORMATS,
    openapi_extra={
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": {"spanish_relay": {"value": _RELAY_EXAMPLE}},
                },
                "text/xml": {"schema": {"type": "string"}},
            },
        },
    },
    responses={
        400: {"description": "The body is not what this carrier sends (`invalid_payload`)."},
        401: {"description": "The signature does not match the body (`invalid_signature`)."},
        404: {"description": "Unknown carrier or URL token."},
    },
)
async def receive_webhook(
    request: Request, target: WebhookTargetDep, writer: IngestWriterDep
) -> IngestResponse:
    body = await request.body()
    delivery = service.read_delivery(target, body, request.headers)
    EVENTS.labels("rejected").inc(len(delivery.rejected))  # refused before the writer
    outcome = (
        await writer.submit(target.merchant_id, delivery.events)
        if delivery.events
        else IngestOutcome()
    )
    return service.ingest_response(outcome, delivery.rejected)
