"""``MerchantDep``: the merchant whose API key signed the request, or a 401."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from rumbo.db import database_of
from rumbo.errors import RumboError
from rumbo.kit.ratelimit import SlidingWindow, throttle
from rumbo.merchants.service import KeyCache

bearer = HTTPBearer(
    auto_error=False, description="A merchant API key: `Authorization: Bearer rk_…`"
)


async def current_merchant_id(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> int:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise RumboError(
            "An API key is required: Authorization: Bearer <key>.", 401, "unauthorized"
        )
    cache: KeyCache = request.app.state.key_cache
    # A remembered key costs no thread hop; otherwise the query runs on a worker thread
    # in its own short read transaction (never holding a lock while the request goes on).
    merchant_id = cache.cached(credentials.credentials)
    if merchant_id is None:
        db = database_of(request)

        def look_up() -> int | None:
            with db.session(write=False) as session:
                return cache.merchant_for(session, credentials.credentials)

        merchant_id = await run_in_threadpool(look_up)
    if merchant_id is None:
        raise RumboError("This API key is not valid.", 401, "unauthorized")
    per_key: SlidingWindow = request.app.state.key_limit
    throttle(per_key, credentials.credentials, "Too many requests with this API key.")
    return merchant_id


MerchantDep = Annotated[int, Depends(current_merchant_id)]
