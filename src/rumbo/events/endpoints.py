from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError

from rumbo.config import SettingsDep
from rumbo.errors import RumboError, error_body, validation_details
from rumbo.events.deps import IngestWriterDep
from rumbo.events.schemas import EventIn, EventResult, IngestResponse, ItemError
from rumbo.events.service import IngestOutcome, NormalizedEvent, normalize_event
from rumbo.kit.bulk import items_of, one_or_list_schema
from rumbo.merchants.deps import MerchantDep
from rumbo.shared.metrics import EVENTS

router = APIRouter(prefix="/api/v1/events", tags=["events"])

_event = TypeAdapter(EventIn)

# The body is parsed by hand so that one bad item never sinks a batch; this is its schema.
_BODY_SCHEMA = one_or_list_schema("EventIn", 1000)


def parse_items(
    payload: Any, max_batch: int
) -> tuple[list[tuple[int, NormalizedEvent]], dict[int, EventResult], bool]:
    """Validate each item on its own: (valid events with their index, rejections, was-a-list)."""
    items, is_list = items_of(payload, max_batch, "event")
    valid: list[tuple[int, NormalizedEvent]] = []
    rejected: dict[int, EventResult] = {}
    for index, item in enumerate(items):
        try:
            event = _event.validate_python(item)
        except ValidationError as exc:
            rejected[index] = EventResult(
                index=index,
                event_id=item.get("event_id")
                if isinstance(item, dict) and isinstance(item.get("event_id"), str)
                else None,
                outcome="rejected",
                error=ItemError(
                    code="validation_error",
                    message="This event is not valid.",
                    details=validation_details(exc.errors(include_input=False)),
                ),
            )
            continue
        valid.append((index, normalize_event(event, item)))
    return valid, rejected, is_list


_STATUS_FOR = {
    "unknown_order": 404,
    "unknown_shipment": 404,
    "invalid_tracking_code": 404,
    "conflict": 409,
}


@router.post(
    "",
    summary="Ingest one event or a batch of up to 1,000",
    response_model=IngestResponse,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
    responses={
        201: {"description": "A single event, accepted.", "model": IngestResponse},
        200: {"description": "A batch (per-item outcomes), or a single event already stored."},
        404: {"description": "A single event for an unknown order or shipment."},
        409: {
            "description": "A single event whose source and event_id were stored before"
            " with another order, parcel or content."
        },
        413: {"description": "More than 1,000 events in one batch."},
        422: {
            "description": "A single invalid event, or a batch in which every item was rejected."
        },
    },
)
async def ingest_events(
    request: Request, merchant_id: MerchantDep, settings: SettingsDep, writer: IngestWriterDep
) -> Response:
    """Store events idempotently. Each item's outcome is `accepted`, `duplicate` or
    `rejected` with a reason; a bad item never sinks the rest of the batch.

    An event is identified by `source` + `event_id`. Sent again with the same order (or
    parcel), `status`, `occurred_at` (the same instant, in any offset), `description`
    and `location`, it is a `duplicate` and changes nothing; the same key with anything
    of those different is rejected as `conflict` (409 for a single event) and the stored
    event stays as it was. `raw` is not compared. An event dated more than
    `RUMBO_MAX_CLOCK_SKEW_SECONDS` (15 minutes by default) after the server's clock is
    rejected as `occurred_in_future` and nothing of it is stored."""
    body = await request.body()
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RumboError("The request body is not valid JSON.", 400, "invalid_json") from None
    valid, rejected, is_list = parse_items(payload, settings.max_batch_size)
    EVENTS.labels("rejected").inc(len(rejected))  # refused before the writer
    if valid:
        outcome = await writer.submit(merchant_id, valid)
    else:
        outcome = IngestOutcome()
    results = sorted([*outcome.results, *rejected.values()], key=lambda r: r.index)
    response = IngestResponse(
        accepted=sum(r.outcome == "accepted" for r in results),
        duplicates=sum(r.outcome == "duplicate" for r in results),
        rejected=sum(r.outcome == "rejected" for r in results),
        results=results,
    )
    if not is_list:
        only = results[0]
        if only.outcome == "rejected" and only.error is not None:
            status = _STATUS_FOR.get(only.error.code, 422)
            return JSONResponse(
                error_body(only.error.code, only.error.message, only.error.details), status
            )
        return _json(response, 201 if only.outcome == "accepted" else 200)
    if response.rejected == len(results):
        return JSONResponse(
            error_body(
                "all_rejected",
                "Every event in the batch was rejected.",
                response.model_dump(mode="json")["results"],
            ),
            422,
        )
    return _json(response, 200)


def _json(response: IngestResponse, status: int) -> Response:
    # Serialised by pydantic-core in one step (no intermediate dicts for json.dumps).
    return Response(response.model_dump_json(), status, media_type="application/json")
