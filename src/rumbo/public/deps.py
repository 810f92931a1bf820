"""Typed dependencies of the shopper's side: tokens, cached views, lookup limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rumbo.public.service import PublicViews, TrackTokens


def track_tokens(request: Request) -> TrackTokens:
    tokens: TrackTokens = request.app.state.track_tokens
    return tokens


def public_views(request: Request) -> PublicViews:
    views: PublicViews = request.app.state.public_views
    return views


async def _track_tokens(request: Request) -> TrackTokens:
    return track_tokens(request)


async def _public_views(request: Request) -> PublicViews:
    return public_views(request)


# Signs and checks the token a verified visitor carries (postal code or e-mail proven).
TrackTokensDep = Annotated[TrackTokens, Depends(_track_tokens)]
# The process's cache of public tracking views (invalidated by the live hub).
PublicViewsDep = Annotated[PublicViews, Depends(_public_views)]
