"""CSV import of events from warehouse systems (and payment or carrier exports).

``rumbo import events FILE.csv --merchant-id N`` reads a UTF-8 CSV with a header row:

=================  ==========================================================================
column             meaning
=================  ==========================================================================
event_id           the source's own id; (source, event_id) is stored once, so re-running an
                   import changes nothing
source             ``warehouse``, ``payment``, ``store``, ``carrier``, ``device`` or ``agent``
tracking_code |    which order: Rumbo's tracking code, or the store's order id
external_id |      (``external_id``), or the parcel (``carrier`` + ``tracking_number``)
carrier +
tracking_number
status             a canonical status, or one of the warehouse and payment words below
occurred_at        ISO 8601 with a UTC offset: ``2026-11-23T14:05:00-03:00``
city, state,       where it happened (optional; country is ISO 3166 alpha-2)
country
description        free text shown in the timeline (optional)
=================  ==========================================================================

Warehouse and payment systems speak of what they did; these words are accepted in
``status`` and stored as the canonical milestone (the original word stays in the raw row):

====================================  =====================
warehouse ``picking``, ``packing``    ``preparing``
warehouse ``dispatch``, ``dispatched`` ``shipped``
payment ``approved``                  ``payment_confirmed``
payment ``refused``, ``refunded``     ``cancelled``
====================================  =====================

Example (only the columns a file needs; the order of columns is free)::

    event_id,source,external_id,status,occurred_at,city,state,country,description
    wms-77120-pick,warehouse,PED-100234,picking,2026-11-23T14:05:00-03:00,Cajamar,SP,BR,
    wms-77120-pack,warehouse,PED-100234,packing,2026-11-23T15:40:00-03:00,Cajamar,SP,BR,2 boxes
    wms-77120-out,warehouse,PED-100234,dispatch,2026-11-23T18:10:00-03:00,Cajamar,SP,BR,
    pay-ch_3Q9,payment,PED-100234,approved,2026-11-23T13:58:00-03:00,,,,Payment approved
    pay-re_81A,payment,PED-100235,refunded,2026-11-24T09:00:00-03:00,,,,Refund to the card

Rows are validated one by one (a bad row never sinks the file) and stored in batches of
500 through :func:`rumbo.events.service.ingest`, one transaction per batch.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from pydantic import TypeAdapter, ValidationError

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.errors import RumboError
from rumbo.events.schemas import EventIn
from rumbo.events.service import MAX_CLOCK_SKEW, NormalizedEvent, ingest, normalize_event
from rumbo.events.status import Status
from rumbo.kit.clock import Clock, SystemClock
from rumbo.models import Merchant

BATCH_SIZE = 500
REQUIRED = ("event_id", "source", "status", "occurred_at")
OPTIONAL = (
    "tracking_code",
    "external_id",
    "carrier",
    "tracking_number",
    "city",
    "state",
    "country",
    "description",
)

# What warehouse and payment systems call their steps, as canonical milestones.
STATUS_WORDS: dict[str, Status] = {
    "picking": Status.PREPARING,
    "packing": Status.PREPARING,
    "dispatch": Status.SHIPPED,
    "dispatched": Status.SHIPPED,
    "approved": Status.PAYMENT_CONFIRMED,
    "refused": Status.CANCELLED,
    "refunded": Status.CANCELLED,
}

_event = TypeAdapter(EventIn)


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    event_id: str | None
    reason: str


@dataclass
class ImportSummary:
    imported: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def row_event(row: dict[str, str]) -> NormalizedEvent:
    """One CSV row as an event; raises ValueError with a reason a person can act on."""
    if None in row:  # csv.DictReader files surplus fields under the key None
        raise ValueError("the row has more fields than the header")
    values = {key: (row.get(key) or "").strip() for key in (*REQUIRED, *OPTIONAL)}
    word = values["status"].lower()
    status = STATUS_WORDS[word].value if word in STATUS_WORDS else word
    place = {k: values[k] for k in ("city", "state", "country") if values[k]}
    item: dict[str, Any] = {
        "event_id": values["event_id"],
        "source": values["source"].lower(),
        "status": status,
        "occurred_at": values["occurred_at"],
    }
    for key in ("tracking_code", "external_id", "carrier", "tracking_number", "description"):
        if values[key]:
            item[key] = values[key]
    if place:
        item["location"] = place
    try:
        event = _event.validate_python(item)
    except ValidationError as exc:
        raise ValueError(_reason(exc)) from None
    return normalize_event(event, row)


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_input=False):
        loc = ".".join(str(p) for p in err["loc"] if p != "location")
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return "; ".join(parts)


def _rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number where the row starts, row); the header is line 1."""
    reader = csv.DictReader(stream)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
    if missing:
        raise RumboError(f"The CSV has no column {', '.join(missing)}.", 422, "invalid_csv")
    start = reader.line_num + 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def import_events(
    db: Database,
    merchant_id: int,
    stream: TextIO,
    now: datetime,
    *,
    on_batch: Callable[[ImportSummary], None] | None = None,
    max_skew: timedelta = MAX_CLOCK_SKEW,
) -> ImportSummary:
    """Store every valid row of ``stream`` for the merchant, 500 per transaction."""
    with db.session(write=False) as session:
        if session.get(Merchant, merchant_id) is None:
            raise RumboError(f"No merchant with id {merchant_id}.", 404, "merchant_not_found")
    summary = ImportSummary()
    batch: list[tuple[int, NormalizedEvent]] = []

    def store() -> None:
        if batch:
            with db.session() as session:
                outcome = ingest(session, merchant_id, batch, now, max_skew=max_skew)
            for result in outcome.results:
                if result.outcome == "accepted":
                    summary.imported += 1
                elif result.outcome == "duplicate":
                    summary.duplicates += 1
                else:
                    reason = result.error.message if result.error else "rejected"
                    summary.rejected.append(Rejection(result.index, result.event_id, reason))
            batch.clear()
        if on_batch is not None:
            on_batch(summary)

    for line, row in _rows(stream):
        try:
            # The line number is the item's index: results come back keyed by it.
            batch.append((line, row_event(row)))
        except ValueError as exc:
            summary.rejected.append(Rejection(line, row.get("event_id") or None, str(exc)))
        if len(batch) >= BATCH_SIZE:
            store()
    store()
    summary.rejected.sort(key=lambda r: r.line)
    return summary


def import_file(settings: Settings, path: str, merchant_id: int, clock: Clock | None = None) -> int:
    """The ``rumbo import events`` command: a progress bar, then the summary.

    Exit status: 0 all stored (or already there), 1 some rows rejected, 2 nothing read.
    """
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    console = Console()
    db = Database(settings)
    try:
        with Path(path).open("rb") as handle:
            size = Path(path).stat().st_size
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
            with Progress(
                TextColumn("importing"), BarColumn(), DownloadColumn(), console=console
            ) as progress:
                task = progress.add_task("events", total=size)

                def advance(_: ImportSummary) -> None:
                    progress.update(task, completed=handle.tell())

                summary = import_events(
                    db,
                    merchant_id,
                    text,
                    (clock or SystemClock()).now(),
                    on_batch=advance,
                    max_skew=settings.max_clock_skew,
                )
                progress.update(task, completed=size)
    except (OSError, UnicodeDecodeError, csv.Error, RumboError) as exc:
        console.print(f"[red]Import failed:[/red] {getattr(exc, 'message', exc)}")
        return 2
    finally:
        db.dispose()
    console.print(
        f"imported: {summary.imported}   duplicate: {summary.duplicates}   "
        f"rejected: {len(summary.rejected)}"
    )
    for rejection in summary.rejected:
        console.print(
            f"  line {rejection.line} ({rejection.event_id or 'no event_id'}): {rejection.reason}",
            markup=False,
            highlight=False,
        )
    return 1 if summary.rejected else 0
