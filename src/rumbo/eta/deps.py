"""Typed dependencies of the ETA endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rumbo.eta.store import EtaService


async def _eta_service(request: Request) -> EtaService:
    service: EtaService = request.app.state.eta
    return service


# The process's predictor (the current model, reloaded when a new one is trained).
EtaServiceDep = Annotated[EtaService, Depends(_eta_service)]
