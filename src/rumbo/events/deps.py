"""Typed dependencies of the events endpoints (set up by ``rumbo.app.create_app``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rumbo.events.writer import IngestWriter


async def _ingest_writer(request: Request) -> IngestWriter:
    writer: IngestWriter = request.app.state.writer
    return writer


# The process's group-commit writer of events.
IngestWriterDep = Annotated[IngestWriter, Depends(_ingest_writer)]
