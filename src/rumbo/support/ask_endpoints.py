"""``POST /api/v1/track/{code}/ask``: the shopper's question, answered by the assistant and
kept by support (:mod:`rumbo.support.handover`); here, above both, not in ``assistant``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from rumbo.assistant.schemas import AskRequest, AskResponse
from rumbo.db import SessionDep
from rumbo.kit.clock import ClockDep
from rumbo.kit.ratelimit import client_address, throttle
from rumbo.public.deps import TrackTokensDep
from rumbo.public.limits import count_lookup
from rumbo.public.service import find_order
from rumbo.support.deps import QuestionLimitDep, QuestionLimitPerCodeDep
from rumbo.support.handover import ask as ask_assistant

router = APIRouter(prefix="/api/v1/track", tags=["assistant"])


@router.post(
    "/{tracking_code}/ask",
    response_model=AskResponse,
    summary="Ask the assistant about this order (pt / es / en)",
    responses={
        404: {"description": "Unknown tracking code, or a conversation of another order."},
        429: {"description": "Too many questions from this address, or about this order."},
    },
)
def ask(
    tracking_code: str,
    body: AskRequest,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    questions: QuestionLimitDep,
    per_code: QuestionLimitPerCodeDep,
    tokens: TrackTokensDep,
    token: Annotated[str | None, Header(alias="X-Tracking-Token")] = None,
) -> AskResponse:
    """Answers from the order's real data only; personal details only with a valid
    `X-Tracking-Token`. Every question and answer is kept in a conversation: send the
    returned `conversation_id` with the next question. When unsure, or when asked for a
    person, `handover` is true and the conversation gets one inquiry for the store's
    team (`inquiry_id`), opened once however often the shopper asks."""
    throttle(questions, client_address(request), "Too many questions. Try again shortly.")
    count_lookup(request)
    order = find_order(session, tracking_code)
    throttle(per_code, order.tracking_code, "Too many questions about this order. Try later.")
    verified = tokens.is_valid_for(token, order.tracking_code)
    outcome = ask_assistant(
        session,
        order,
        body.question,
        now=clock.now(),
        lang=body.lang,
        verified=verified,
        conversation_id=body.conversation_id,
    )
    return AskResponse(
        answer=outcome.text,
        intent=outcome.intent,
        confidence=outcome.confidence,
        lang=outcome.lang,
        handover=outcome.handover,
        conversation_id=outcome.conversation_id,
        inquiry_id=outcome.inquiry_id,
        inquiry_opened=outcome.inquiry_opened,
    )
