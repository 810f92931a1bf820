from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rumbo.db import SessionDep, database_of
from rumbo.errors import RumboError
from rumbo.kit.clock import ClockDep
from rumbo.kit.ratelimit import client_address, refuse_if_limited
from rumbo.public import service
from rumbo.public.deps import public_views, track_tokens
from rumbo.public.limits import answer_limits, count_lookup, count_lookup_on_loop
from rumbo.public.schemas import PublicTracking, VerifyRequest, VerifyResponse

router = APIRouter(prefix="/api/v1/track", tags=["public tracking"])

TokenHeader = Annotated[
    str | None,
    Header(alias="X-Tracking-Token", description="The token from /verify, to see full detail."),
]


@router.get(
    "/{tracking_code}",
    response_model=PublicTracking,
    summary="Track an order (no API key)",
    responses={
        404: {"description": "Unknown code, or a typo caught by the check character."},
        429: {"description": "Too many lookups from this address (`Retry-After` says when)."},
    },
)
async def track(tracking_code: str, request: Request, token: TokenHeader = None) -> Response:
    """Milestones, timeline, carrier and promised date. Name, address and items appear
    only with a valid `X-Tracking-Token` from `/verify`."""
    await count_lookup_on_loop(request)
    code = service.canonical_code(tracking_code)
    # The hottest public path: a rendering known to be current is sent from memory;
    # otherwise all database work in one trip to a worker thread, on a bare connection.
    # Plain typed look-ups rather than dependencies: nothing more on this path.
    db, views, tokens = database_of(request), public_views(request), track_tokens(request)
    if token is None and (body := views.cached(code)) is not None:
        # Known current (the live hub hears every commit): no query, no thread.
        return Response(body, media_type="application/json")

    def render() -> bytes:
        with db.reader() as conn:
            return views.render(conn, code, tokens, token)

    return Response(await run_in_threadpool(render), media_type="application/json")


@router.post(
    "/{tracking_code}/verify",
    response_model=VerifyResponse,
    summary="Prove ownership with the postal code or e-mail",
    responses={
        403: {"description": "The answer does not match."},
        429: {"description": "Too many wrong answers for this code or from this address."},
    },
)
def verify(
    tracking_code: str, body: VerifyRequest, request: Request, session: SessionDep, clock: ClockDep
) -> VerifyResponse:
    count_lookup(request)
    order = service.find_order(session, tracking_code)
    limits = answer_limits(request)
    client = client_address(request)
    refuse_if_limited(
        limits.take(order.tracking_code, client),
        "Too many wrong answers. Try again later.",
        "verify",
    )
    if not service.answer_matches(order, body.postal_code, body.email):
        raise RumboError("That does not match this order.", 403, "verification_failed")
    limits.right(order.tracking_code, client)
    token, expires_at = track_tokens(request).issue(order.tracking_code, clock.now())
    return VerifyResponse(token=token, expires_at=expires_at)
