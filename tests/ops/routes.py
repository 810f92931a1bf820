"""Every route of an app, through FastAPI's included routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from starlette.routing import Route


def every_route(app: FastAPI) -> Iterator[Route]:
    yield from _walk(app.router.routes)


def _walk(routes: list[Any]) -> Iterator[Route]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:  # an included router; Rumbo's routers carry their prefixes
            assert not route.include_context.prefix
            yield from _walk(inner.routes)
        elif isinstance(route, Route) and route.methods:
            yield route
