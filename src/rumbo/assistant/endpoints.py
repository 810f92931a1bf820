from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from rumbo.assistant.orders import facts_for
from rumbo.assistant.schemas import AskRequest, AskResponse
from rumbo.assistant.service import answer
from rumbo.db import SessionDep
from rumbo.kit.ratelimit import SlidingWindow, refuse_if_limited
from rumbo.public.service import TrackTokens, find_order

router = APIRouter(prefix="/api/v1/track", tags=["assistant"])


@router.post(
    "/{tracking_code}/ask",
    response_model=AskResponse,
    summary="Ask the assistant about this order (pt / es / en)",
    responses={429: {"description": "Too many questions from this address."}},
)
def ask(
    tracking_code: str,
    body: AskRequest,
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Header(alias="X-Tracking-Token")] = None,
) -> AskResponse:
    """Answers from the order's real data only; personal details only with a valid
    `X-Tracking-Token`. When unsure, or when asked for a person, `handover` is true."""
    client = request.client.host if request.client else "unknown"
    questions: SlidingWindow = request.app.state.question_limit
    refuse_if_limited(questions.retry_after(client), "Too many questions. Try again shortly.")
    questions.hit(client)
    order = find_order(session, tracking_code)
    tokens: TrackTokens = request.app.state.track_tokens
    verified = tokens.is_valid_for(token, order.tracking_code)
    reply = answer(body.question, facts_for(session, order), body.lang, verified)
    return AskResponse(
        answer=reply.text,
        intent=reply.intent.value,
        confidence=round(reply.confidence, 3),
        lang=reply.lang,
        handover=reply.handover,
    )
