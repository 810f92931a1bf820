"""Typed dependencies of the assistant's questions: the limits a shopper's chat obeys."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rumbo.kit.ratelimit import Limit


async def _question_limit(request: Request) -> Limit:
    limit: Limit = request.app.state.question_limit
    return limit


async def _question_limit_code(request: Request) -> Limit:
    limit: Limit = request.app.state.question_limit_code
    return limit


# Questions per client address (each costs a classification).
QuestionLimitDep = Annotated[Limit, Depends(_question_limit)]
# Questions about one order from everywhere (each handover reaches a person).
QuestionLimitPerCodeDep = Annotated[Limit, Depends(_question_limit_code)]
