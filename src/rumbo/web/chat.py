"""The chat box of the tracking page: a question to the assistant, answered server-side.

``POST /t/{code}/ask`` is a plain form: without JavaScript it renders the whole page
with the question and its answer; ``chat.js`` posts the same form with
``?partial=1`` and appends the returned exchange to the conversation on the page.
It takes the same path as ``POST /api/v1/track/{code}/ask`` (the conversation is
kept, a handover opens one inquiry) and the same privacy gate: personal details only
when the visitor's verification cookie is valid. Forms are signed and must come from
our own pages, as the verify form.

Without JavaScript only the latest exchange is shown: earlier turns are never read
back from the database by conversation id, so knowing a tracking code and a guessed
id never reveals another visitor's answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from rumbo.config import SettingsDep
from rumbo.db import database_of
from rumbo.errors import NotFound
from rumbo.kit.clock import clock_of
from rumbo.kit.codes import CodeError, parse_tracking_code
from rumbo.kit.ratelimit import take_all
from rumbo.public.deps import TrackTokensDep
from rumbo.public.service import find_order
from rumbo.shared.i18n import N_, choose_language
from rumbo.support.deps import QuestionLimitDep, QuestionLimitPerCodeDep
from rumbo.support.handover import AskOutcome, ask
from rumbo.web.pages import (
    _cookie_name,
    _form_token_ok,
    _render,
    _same_origin,
    _tracking_page,
)

router = APIRouter(include_in_schema=False)

QUESTION_MAX = 1000


def _conversation_id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < len(value) < 12 else None


def _answer(
    request: Request, code: str, question: str, conversation_id: int | None, verified: bool
) -> tuple[AskOutcome, str | None]:
    """The outcome and the order's customer locale, in one write transaction."""
    clock = clock_of(request)
    with database_of(request).session() as session:
        order = find_order(session, code)
        try:
            with session.begin_nested():
                outcome = ask(
                    session,
                    order,
                    question,
                    now=clock.now(),
                    verified=verified,
                    conversation_id=conversation_id,
                )
        except NotFound:
            # A stale or foreign conversation id in the form: start a new conversation.
            outcome = ask(session, order, question, now=clock.now(), verified=verified)
        return outcome, order.customer_locale


@router.post("/t/{tracking_code}/ask", response_class=HTMLResponse)
async def chat_ask(
    tracking_code: str,
    request: Request,
    settings: SettingsDep,
    tokens: TrackTokensDep,
    questions: QuestionLimitDep,
    per_code: QuestionLimitPerCodeDep,
    question: Annotated[str, Form(max_length=QUESTION_MAX)] = "",
    form_token: Annotated[str, Form(max_length=500)] = "",
    conversation_id: Annotated[str, Form(max_length=20)] = "",
    lang: Annotated[str | None, Query(max_length=16)] = None,
    partial: Annotated[bool, Query()] = False,
) -> Response:
    accept = request.headers.get("accept-language")
    try:
        code = parse_tracking_code(tracking_code)
    except CodeError:
        return await _tracking_page(request, tracking_code, lang)

    async def refuse(
        message: str, values: dict[str, Any], status_code: int, headers: dict[str, str] | None
    ) -> Response:
        if partial:
            language = choose_language(lang, None, accept)
            response = _render(
                request,
                "_chat_exchange.html",
                language,
                {"chat_error": (message, values), "chat_turns": []},
                status_code,
            )
            for name, value in (headers or {}).items():
                response.headers[name] = value
            return response
        return await _tracking_page(
            request,
            code,
            lang,
            status_code=status_code,
            headers=headers,
            extra={"chat_error": (message, values), "chat_question": question},
        )

    if not (_same_origin(request, settings) and _form_token_ok(settings, form_token, code)):
        return await refuse(N_("This form expired. Please try again."), {}, 403, None)
    if not question.strip():
        return await refuse(N_("Type a question first."), {}, 422, None)
    client = request.client.host if request.client else "unknown"
    wait = take_all(((questions, client), (per_code, code)))
    if wait > 0:
        seconds = int(wait) + 1
        return await refuse(
            N_("Too many questions. Please try again in %(seconds)s s."),
            {"seconds": seconds},
            429,
            {"Retry-After": str(seconds)},
        )
    verified = tokens.is_valid_for(request.cookies.get(_cookie_name(code)), code)
    try:
        outcome, locale = await run_in_threadpool(
            _answer, request, code, question.strip(), _conversation_id(conversation_id), verified
        )
    except NotFound:
        return await _tracking_page(request, code, lang)
    exchange = {
        "chat_turns": [("shopper", question.strip()), ("assistant", outcome.text)],
        "chat_conversation_id": outcome.conversation_id,
        "chat_inquiry_id": outcome.inquiry_id,
    }
    if partial:
        response = _render(
            request, "_chat_exchange.html", choose_language(lang, locale, accept), exchange
        )
        response.headers["X-Rumbo-Conversation"] = str(outcome.conversation_id)
        return response
    return await _tracking_page(request, code, lang, extra=exchange)
