"""Background services: what a domain with periodic or streaming work declares, and
``rumbo.worker`` runs (``rumbo worker``, or in-process beside ``rumbo serve``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from rumbo.config import Settings
from rumbo.db import Database

Run = Callable[[Settings, Database, asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class BackgroundService:
    """``run(settings, db, stop)`` works until ``stop`` is set; ``name`` names its task."""

    name: str
    run: Run
