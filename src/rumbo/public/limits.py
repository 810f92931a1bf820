"""The public side's abuse limits, shared by the API and the tracking pages."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from rumbo.kit.counters import SharedWindow
from rumbo.kit.ratelimit import Limit, client_address, throttle
from rumbo.public import service


def count_lookup(request: Request) -> None:
    """Every request naming a tracking code counts against the client's lookup budget,
    found or not: the budget is what makes guessing codes slow."""
    lookups: Limit = request.app.state.lookup_limit
    throttle(lookups, client_address(request), "Too many lookups. Try again shortly.")


async def count_lookup_on_loop(request: Request) -> None:
    """:func:`count_lookup` from an ``async`` endpoint: a shared counter is a database
    round trip, taken on a worker thread so that it never holds up the event loop."""
    if isinstance(request.app.state.lookup_limit, SharedWindow):
        await run_in_threadpool(count_lookup, request)
    else:
        count_lookup(request)


def answer_limits(request: Request) -> service.AnswerLimits:
    state = request.app.state
    return service.AnswerLimits(
        state.verify_limit_code, state.verify_limit_client, state.verify_delay_code
    )
