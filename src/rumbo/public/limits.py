"""The public side's abuse limits, shared by the API and the tracking pages."""

from __future__ import annotations

from fastapi import Request

from rumbo.kit.ratelimit import Limit, client_address, throttle
from rumbo.public import service


def count_lookup(request: Request) -> None:
    """Every request naming a tracking code counts against the client's lookup budget,
    found or not: the budget is what makes guessing codes slow."""
    lookups: Limit = request.app.state.lookup_limit
    throttle(lookups, client_address(request), "Too many lookups. Try again shortly.")


def answer_limits(request: Request) -> service.AnswerLimits:
    state = request.app.state
    return service.AnswerLimits(
        state.verify_limit_code, state.verify_limit_client, state.verify_delay_code
    )
