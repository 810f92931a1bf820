"""Typed access to what the devices endpoints use from the application: the position
writer and the limits. Plain functions, not dependencies: ``/osmand`` is the hottest
path and takes nothing it does not need."""

from __future__ import annotations

from fastapi import Request

from rumbo.devices.writer import PositionWriter
from rumbo.kit.ratelimit import Limit


def position_writer(request: Request) -> PositionWriter:
    """The process's group-commit writer of positions."""
    writer: PositionWriter = request.app.state.position_writer
    return writer


def unknown_device_limit(request: Request) -> Limit:
    """Fixes from unregistered devices, per client address."""
    limit: Limit = request.app.state.unknown_device_limit
    return limit


def device_limit(request: Request) -> Limit:
    """Positions per registered device."""
    limit: Limit = request.app.state.device_limit
    return limit
