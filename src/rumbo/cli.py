"""The ``rumbo`` command: each subcommand is a thin call into a service."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from rumbo.config import get_settings
from rumbo.errors import RumboError

if TYPE_CHECKING:  # the commands import what they use when they run: a fast --help
    from sqlalchemy.orm import Session

    from rumbo.config import Settings
    from rumbo.db import Database

Command = TypeVar("Command", bound=Callable[..., Any])


class UserMistake(Exception):
    """Something the person typing the command can fix; shown as one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OneLineErrors(typer.Typer):
    """A Typer whose commands answer a user's mistake (``UserMistake``, or a service's
    ``RumboError``) with one line on stderr and exit status 2: no traceback, and the
    command has written nothing by then (services refuse before they write)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Command], Command]:
        register = super().command(*args, **kwargs)

        def decorator(function: Command) -> Command:
            @functools.wraps(function)
            def one_line(*call_args: Any, **call_kwargs: Any) -> Any:
                try:
                    return function(*call_args, **call_kwargs)
                except (UserMistake, RumboError) as exc:
                    typer.echo(f"error: {exc.message}", err=True)
                    raise typer.Exit(2) from None

            register(one_line)
            return function

        return decorator


def _date(value: str, option: str) -> date:
    """``value`` as a calendar day, or a mistake that names the option it came from."""
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserMistake(f"{option} {value!r} is not a date (YYYY-MM-DD): {exc}") from None


def _window(from_: str, to: str) -> tuple[date, date]:
    start, end = _date(from_, "--from"), _date(to, "--to")
    if start >= end:
        raise UserMistake(f"--from {start} must be before --to {end}")
    return start, end


@contextmanager
def _database(settings: Settings | None = None) -> Iterator[Database]:
    """The database for one command, disposed of when the command is done with it."""
    from rumbo.db import Database

    db = Database(settings or get_settings())
    try:
        yield db
    finally:
        db.dispose()


@contextmanager
def _session(*, write: bool = True) -> Iterator[Session]:
    """One transaction of one command (committed on success), then the database closed."""
    with _database() as db, db.session(write=write) as session:
        yield session


app = OneLineErrors(help="Rumbo: self-hosted order tracking.", no_args_is_help=True)
merchant_app = OneLineErrors(help="Merchants and API keys.", no_args_is_help=True)
app.add_typer(merchant_app, name="merchant")


@app.callback()
def _wire() -> None:
    """Every command that stores events gets ingestion's reactions, as the server does."""
    from rumbo.reactions import subscribe_all

    subscribe_all(get_settings().notification_merge_seconds)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (SQLite or PostgreSQL)."""
    from rumbo.migrations import upgrade

    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    typer.echo(f"database at head: {_redact(settings.sqlalchemy_url)}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@merchant_app.command("create")
def merchant_create(name: str) -> None:
    """Create a merchant and print its first API key as JSON (shown only once)."""
    from rumbo.kit.clock import SystemClock
    from rumbo.merchants.service import create_merchant

    with _session() as session:
        created = create_merchant(session, name, SystemClock().now())
    typer.echo(json.dumps({"merchant_id": created.merchant_id, "api_key": created.api_key}))


@app.command("vapid-key")
def vapid_key() -> None:
    """Print a new Web Push VAPID key: set it as RUMBO_VAPID_PRIVATE_KEY (keep it: a new
    key invalidates every device's subscription)."""
    from rumbo.notifications.channels.push import VapidKey

    private = VapidKey.generate()
    public = VapidKey(private, "mailto:unused@localhost").public_key
    typer.echo(json.dumps({"private_key": private, "public_key": public}))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="API processes (PostgreSQL scales out; SQLite: 1–2).")
    ] = 1,
    demo: Annotated[
        bool, typer.Option("--demo", help="Also run the demo store against this server.")
    ] = False,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (off for load tests).")
    ] = True,
    graceful_timeout: Annotated[
        int | None,
        typer.Option(
            help="Seconds in-flight requests get on SIGTERM (RUMBO_SHUTDOWN_GRACE_SECONDS)."
        ),
    ] = None,
) -> None:
    """Start the HTTP server."""
    import uvicorn

    from rumbo.ops.logs import logging_config, secrets_of

    settings = get_settings()
    metrics_dir = _share_metrics_across_processes() if workers > 1 else None
    stop = threading.Event()
    if demo:
        thread = threading.Thread(
            target=_demo_after_start,
            args=(f"http://{_client_host(host)}:{port}", stop),
            daemon=True,
        )
        thread.start()
    database = _redact(settings.sqlalchemy_url)
    typer.echo(f"Rumbo on http://{host}:{port}  (docs: /docs, database: {database})")
    try:
        uvicorn.run(
            "rumbo.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level.lower(),
            # Each worker applies this config; Rumbo's middleware writes the access lines.
            log_config=logging_config(
                settings.log_level, settings.log_format, secrets_of(settings), access_log
            ),
            access_log=False,
            proxy_headers=True,
            timeout_graceful_shutdown=graceful_timeout or settings.shutdown_grace_seconds,
        )
    finally:
        stop.set()
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _share_metrics_across_processes() -> Path | None:
    """Prometheus multiprocess mode for the workers uvicorn is about to start: one
    shared, emptied directory (rumbo.shared.metrics). Returns the directory if it was
    made here (removed at exit)."""
    import os
    import tempfile

    from rumbo.shared.metrics import MULTIPROC_ENV

    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
        return None
    made = tempfile.mkdtemp(prefix="rumbo-metrics-")
    os.environ[MULTIPROC_ENV] = made
    return Path(made)


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def _demo_after_start(url: str, stop: threading.Event) -> None:
    import httpx

    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(200):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        run_demo(client, url, api_key=None, orders_per_minute=20.0, stop=stop)


def run_demo(
    client: object, url: str, api_key: str | None, orders_per_minute: float, stop: threading.Event
) -> None:
    from datetime import UTC, datetime

    from rumbo.demo.store import DemoStore
    from rumbo.kit.clock import SystemClock
    from rumbo.merchants.service import create_merchant, issue_key
    from rumbo.models import Merchant

    console: dict[str, str] = {}
    if api_key is None:
        with _session() as session:
            from sqlalchemy import select, update

            merchant_id = session.scalar(select(Merchant.id).where(Merchant.name == "Demo Store"))
            if merchant_id is None:
                api_key = create_merchant(session, "Demo Store", SystemClock().now()).api_key
            else:
                api_key = issue_key(session, merchant_id, SystemClock().now())
            session.execute(
                update(Merchant)
                .where(Merchant.name == "Demo Store")
                .values(accent_color="#0B6E4F", support_email="ajuda@demo-store.example")
            )
            from rumbo.console.service import ensure_demo_staff

            demo_id = session.scalar(select(Merchant.id).where(Merchant.name == "Demo Store"))
            console = ensure_demo_staff(session, demo_id or 0, SystemClock().now())
    store = DemoStore(client, api_key, orders_per_minute=orders_per_minute)  # type: ignore[arg-type]
    store.seed_orders(24, datetime.now(UTC), time.monotonic())
    past = None
    if console:  # this machine's database: give the store a year of history, once
        from rumbo.demo.past import seed_past

        settings = get_settings()
        with _database(settings) as db:
            past = seed_past(db, demo_id or 0, settings.models_dir, SystemClock().now())
    typer.echo("")
    typer.echo("Demo store is running.")
    typer.echo(f"  API key (new this run): {api_key}")
    typer.echo(f"  try: curl -H 'Authorization: Bearer {api_key}' {url}/api/v1/orders")
    if past is not None:
        typer.echo(
            f"  history: {past.orders} past orders, model {past.model_version} "
            f"({past.scored} open orders predicted)"
        )
    if console:
        typer.echo(f"  console: {url}/console  password (new this run): {console.pop('password')}")
        for email, role in console.items():
            typer.echo(f"    {role}: {email}")
    typer.echo("  tracking links:")
    for code in store.tracking_codes[:5]:
        typer.echo(f"    {url}/t/{code}   (API: {url}/api/v1/track/{code})")
    typer.echo("")
    store.run(stop)


assistant_app = OneLineErrors(help="The shopper assistant.", no_args_is_help=True)
app.add_typer(assistant_app, name="assistant")


@assistant_app.command("evaluate")
def assistant_evaluate() -> None:
    """Intent accuracy per language and intent on the held-out questions, and the
    wrong-facts check (exits 1 if any answer states a fact the order does not have)."""
    from rumbo.assistant.evaluation import main

    raise typer.Exit(main())


import_app = OneLineErrors(help="Load data exported by other systems.", no_args_is_help=True)
app.add_typer(import_app, name="import")
eta_app = OneLineErrors(help="Delivery-date prediction.", no_args_is_help=True)
app.add_typer(eta_app, name="eta")


def _merchant_named(name: str, *, create: bool = False) -> int:
    """The merchant called ``name``; an unknown name is a mistake unless ``create``."""
    from sqlalchemy import select

    from rumbo.kit.clock import SystemClock
    from rumbo.merchants.service import create_merchant
    from rumbo.models import Merchant

    with _session() as session:
        merchant_id = session.scalar(
            select(Merchant.id).where(Merchant.name == name).order_by(Merchant.id)
        )
        if merchant_id is None and not create:
            known = list(session.scalars(select(Merchant.name).order_by(Merchant.id)))
            raise UserMistake(
                f"no merchant named {name!r}"
                + (f" (there are: {', '.join(known)})" if known else " (there are none)")
            )
        if merchant_id is None:
            merchant_id = create_merchant(session, name, SystemClock().now()).merchant_id
    return merchant_id


def _merchant_with_id(merchant_id: int) -> int:
    from rumbo.models import Merchant

    with _session(write=False) as session:
        if session.get(Merchant, merchant_id) is None:
            raise UserMistake(f"No merchant has the id {merchant_id}.")
    return merchant_id


def _current_model(models_dir: Path) -> Any:
    """The current ETA model, or a mistake saying what is wrong with the models folder."""
    from rumbo.eta.model import EtaModel

    hint = "train one with: rumbo eta train --until YYYY-MM-DD"
    if not models_dir.is_dir():
        raise UserMistake(f"no models folder at {models_dir} (RUMBO_MODELS_DIR); {hint}")
    try:
        return EtaModel.load_current(models_dir)
    except FileNotFoundError as exc:
        missing = exc.filename or str(exc)
        raise UserMistake(f"the current ETA model is incomplete ({missing}); {hint}") from None
    except (KeyError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise UserMistake(f"the ETA model in {models_dir} is unreadable: {exc}; {hint}") from None


@import_app.command("olist")
def import_olist(
    folder: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="The Kaggle CSV files.")
    ],
    merchant: Annotated[str, typer.Option(help="Merchant to import into.")] = "Olist",
    create_merchant: Annotated[
        bool, typer.Option("--create-merchant", help="Create the merchant if it is new.")
    ] = False,
) -> None:
    """Import the Olist order history (Kaggle's files, unchanged) as one merchant's orders.

    Re-running it changes nothing."""
    from rich.progress import Progress

    from rumbo.eta.olist import read_olist
    from rumbo.eta.store import import_histories
    from rumbo.kit.clock import SystemClock

    if not (folder / "olist_orders_dataset.csv").is_file():
        raise UserMistake(f"{folder} has no olist_orders_dataset.csv (Kaggle's Olist files)")
    merchant_id = _merchant_named(merchant, create=create_merchant)
    total = sum(1 for _ in (folder / "olist_orders_dataset.csv").open(encoding="utf-8")) - 1
    with _database() as db, Progress() as progress:
        task = progress.add_task("importing orders", total=total)
        summary = import_histories(
            db,
            merchant_id,
            read_olist(folder),
            SystemClock().now(),
            progress=lambda n: progress.advance(task, n),
        )
    typer.echo(json.dumps({"merchant_id": merchant_id, **vars(summary)}))


@import_app.command("events")
def import_events(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV file.")],
    merchant_id: Annotated[int, typer.Option("--merchant-id", help="Whose events these are.")],
) -> None:
    """Import warehouse, payment or carrier events from a UTF-8 CSV file with a header
    row. Re-running it changes nothing.

    Columns (any order): event_id; source (warehouse, payment, store, carrier, device
    or agent); the order, as tracking_code, external_id, or carrier + tracking_number;
    status (a Rumbo status, or picking, packing, dispatch, approved, refused,
    refunded); occurred_at (ISO 8601 with a UTC offset); optional city, state,
    country, description. Example and details: docs/importing-events.md.
    """
    from rumbo.carriers.imports import import_file

    raise typer.Exit(import_file(get_settings(), str(file), _merchant_with_id(merchant_id)))


@eta_app.command("train")
def eta_train(
    until: Annotated[
        str, typer.Option(help="Train on orders purchased before this date (YYYY-MM-DD).")
    ],
    merchant: Annotated[str, typer.Option(help="Whose history to learn from.")] = "Olist",
) -> None:
    """Fit the delivery-date model and make it the current version."""
    from rumbo.eta.model import train
    from rumbo.eta.store import histories_from_db

    cutoff = _date(until, "--until")
    merchant_id = _merchant_named(merchant)
    settings = get_settings()
    with _session(write=False) as session:
        histories = histories_from_db(session, merchant_id)
    try:
        model = train(histories, cutoff)
    except ValueError as exc:  # too few delivered orders before the cutoff
        raise UserMistake(f"cannot train on {merchant!r} until {cutoff}: {exc}") from None
    folder = model.save(settings.models_dir)
    typer.echo(
        json.dumps(
            {"model_version": model.version, "path": str(folder), **model.metadata}, default=str
        )
    )


@eta_app.command("evaluate")
def eta_evaluate(
    from_: Annotated[str, typer.Option("--from", help="First purchase date of the window.")],
    to: Annotated[str, typer.Option("--to", help="End of the window (exclusive).")],
    merchant: Annotated[str, typer.Option(help="Whose orders to evaluate on.")] = "Olist",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Score the current model on orders purchased in a window, beside the store's promise."""
    from rumbo.eta.evaluation import evaluate, format_report
    from rumbo.eta.store import histories_from_db

    start, end = _window(from_, to)
    merchant_id = _merchant_named(merchant)
    settings = get_settings()
    model = _current_model(settings.models_dir)
    with _session(write=False) as session:
        histories = histories_from_db(session, merchant_id)
    try:
        report = evaluate(model, histories, start, end)
    except ValueError as exc:  # the window overlaps training, or no baseline
        raise UserMistake(str(exc)) from None
    if report.orders == 0:
        raise UserMistake(f"no delivered orders of {merchant!r} purchased from {start} to {end}")
    typer.echo(report.to_json() if as_json else format_report(report))


def _month_or_day(text: str) -> date:
    """``YYYY-MM-DD``, or ``YYYY-MM`` for the first day of that month."""
    try:
        return date.fromisoformat(text if len(text) > 7 else f"{text}-01")
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM or YYYY-MM-DD)") from None


@eta_app.command("backtest")
def eta_backtest(
    from_: Annotated[
        str, typer.Option("--from", help="First training cutoff (YYYY-MM; a month start).")
    ],
    to: Annotated[str, typer.Option("--to", help="No window ends after this (exclusive).")],
    horizon_months: Annotated[
        int, typer.Option("--horizon-months", min=1, help="Months evaluated after each cutoff.")
    ] = 3,
    merchant: Annotated[str, typer.Option(help="Whose history to walk through.")] = "Olist",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Walk forward month by month: train before each month, evaluate the next N months
    beside the store's promise and the simple guesses, then say how often each goal held."""
    from rumbo.eta.backtest import backtest, format_backtest
    from rumbo.eta.store import histories_from_db

    start, end = _month_or_day(from_), _month_or_day(to)
    merchant_id = _merchant_named(merchant)
    with _session(write=False) as session:
        histories = histories_from_db(session, merchant_id)
    try:
        result = backtest(histories, start, end, horizon_months)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(result.to_json() if as_json else format_backtest(result))


@eta_app.command("rescore")
def eta_rescore() -> None:
    """Predict every open order now with the current model (the worker does it periodically)."""
    from rumbo.eta.rescore import rescore_all
    from rumbo.eta.store import EtaService
    from rumbo.kit.clock import SystemClock

    settings = get_settings()
    with _database(settings) as db:
        summary = rescore_all(db, EtaService(db, settings.models_dir), SystemClock().now())
    typer.echo(json.dumps({"scored": summary.scored, "newly_at_risk": len(summary.newly_at_risk)}))


def _age(value: str | None, option: str) -> timedelta | None:
    from rumbo.ops.retention import parse_age

    if value is None:
        return None
    try:
        return parse_age(value)
    except ValueError as exc:
        raise UserMistake(f"{option} {value!r}: {exc}") from None


@app.command()
def prune(
    positions_older_than: Annotated[
        str | None,
        typer.Option(help="Delete courier track points older than this (30d, 12h, 2w)."),
    ] = None,
    payloads_older_than: Annotated[
        str | None,
        typer.Option(help="Blank the raw payload of events older than this; events stay."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count.")] = False,
) -> None:
    """Retention: delete old device positions and blank old raw payloads (see
    docs/operations.md). Prints what was (or, with --dry-run, would be) removed."""
    from rumbo.kit.clock import SystemClock
    from rumbo.ops.retention import prune as apply

    positions = _age(positions_older_than, "--positions-older-than")
    payloads = _age(payloads_older_than, "--payloads-older-than")
    if positions is None and payloads is None:
        raise UserMistake("say --positions-older-than and/or --payloads-older-than")
    with _database() as db:
        report = apply(
            db,
            SystemClock().now(),
            positions_older_than=positions,
            payloads_older_than=payloads,
            dry_run=dry_run,
        )
    typer.echo(json.dumps(vars(report), default=str))


staff_app = OneLineErrors(help="Console staff accounts.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


@staff_app.command("create")
def staff_create(
    email: str,
    role: Annotated[str, typer.Option(help="agent or admin.")] = "agent",
    merchant: Annotated[
        int | None, typer.Option(help="Merchant id; default: the only merchant there is.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Shown to colleagues.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a console account. The password is asked twice, or read from
    RUMBO_STAFF_PASSWORD or (--password-stdin) standard input for scripts."""
    import os
    import sys

    from rumbo.console.service import create_staff, only_merchant_id
    from rumbo.kit.clock import SystemClock

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif os.environ.get("RUMBO_STAFF_PASSWORD"):
        password = os.environ["RUMBO_STAFF_PASSWORD"]
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _session() as session:
        merchant_id = merchant if merchant is not None else only_merchant_id(session)
        if merchant_id is None:
            raise RumboError("Say which merchant with --merchant ID.", 422, "merchant_required")
        staff = create_staff(
            session, merchant_id, email, role, password, SystemClock().now(), name=name
        )
        created = {"staff_id": staff.id, "email": staff.email, "role": staff.role}
        created["merchant_id"] = merchant_id
    typer.echo(json.dumps(created))


@app.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics on this port.")
    ] = None,
) -> None:
    """Run the background services (notifications, device positions) until stopped."""
    from rumbo.ops import logs
    from rumbo.worker import main

    settings = get_settings()
    logs.configure(settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    main(settings)


@app.command()
def demo(
    url: Annotated[str, typer.Option(help="The Rumbo server to feed.")] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option(help="A merchant key; default: the Demo Store's.")
    ] = None,
    orders_per_minute: Annotated[float, typer.Option(help="New orders per minute.")] = 20.0,
    history: Annotated[
        int | None,
        typer.Option(
            help="Instead: write a generated history of N past orders (for ETA and analytics)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated history.")] = 7,
) -> None:
    """Run the demo store against a running server (Ctrl-C to stop), or with --history
    write a realistic past of N orders for the "Demo History" merchant."""
    if history is not None:
        _demo_history(history, seed)
        return
    import httpx

    stop = threading.Event()
    with httpx.Client(base_url=url, timeout=10) as client:
        try:
            run_demo(client, url, api_key, orders_per_minute, stop)
        except KeyboardInterrupt:
            stop.set()


def _demo_history(count: int, seed: int) -> None:
    from rich.progress import Progress

    from rumbo.eta.history import generate_history
    from rumbo.eta.store import import_histories
    from rumbo.kit.clock import SystemClock

    merchant_id = _merchant_named("Demo History", create=True)
    histories = generate_history(count, seed=seed)
    with _database() as db, Progress() as progress:
        task = progress.add_task("writing history", total=len(histories))
        summary = import_histories(
            db,
            merchant_id,
            histories,
            SystemClock().now(),
            progress=lambda n: progress.advance(task, n),
        )
    typer.echo(json.dumps({"merchant_id": merchant_id, **vars(summary)}))


@app.command()
def report(
    from_: Annotated[str, typer.Option("--from", help="First purchase day (YYYY-MM-DD).")],
    to: Annotated[str, typer.Option("--to", help="End of the range, exclusive (YYYY-MM-DD).")],
    merchant: Annotated[
        int | None, typer.Option(help="Merchant id (default: the only merchant).")
    ] = None,
    group_by: Annotated[
        str, typer.Option(help="Table per carrier, lane, seller or (destination) state.")
    ] = "carrier",
    lang: Annotated[str, typer.Option(help="Language of the report: pt-BR, es or en.")] = "en",
    out: Annotated[
        Path | None, typer.Option(help="Output file (default: rumbo-report-FROM-to-LAST.html).")
    ] = None,
) -> None:
    """Write the logistics report (figures, charts, bottlenecks) as one offline HTML file."""
    from rumbo.analytics.report import GROUPINGS, write_report
    from rumbo.kit.clock import SystemClock
    from rumbo.shared.i18n import LANGUAGES, normalize_language

    if group_by not in GROUPINGS:
        raise UserMistake(f"--group-by is one of {', '.join(GROUPINGS)}, not {group_by!r}")
    language = normalize_language(lang)
    if language is None:
        raise UserMistake(f"--lang is one of {', '.join(LANGUAGES)}, not {lang!r}")
    start, end = _date(from_, "--from"), _date(to, "--to")
    with _database() as db:
        path = write_report(
            db, start, end, SystemClock().now(), merchant_id=merchant,
            group_by=GROUPINGS[group_by], language=language, out=out,
        )  # fmt: skip
    typer.echo(f"report written to {path.resolve()}")


if __name__ == "__main__":
    app()


routes_app = typer.Typer(help="Courier routes.", no_args_is_help=True)
app.add_typer(routes_app, name="routes")


@routes_app.command("solve")
def routes_solve(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A Solomon-format instance.")
    ],
    seconds: Annotated[float, typer.Option(min=0.5, max=3600, help="Time budget.")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Vehicles, total distance and routes (fewest vehicles first, then shortest)."""
    # Loaded here: the solver and its dataframes are heavy and only this command needs them.
    from rumbo.routes.checker import check
    from rumbo.routes.solomon import InstanceError, read_instance
    from rumbo.routes.solver import solve

    try:
        problem = read_instance(file)
    except InstanceError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    solved = solve(problem, seconds=seconds)
    verdict = check(problem, solved.solution)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "instance": problem.name,
                    "vehicles": verdict.vehicles,
                    "distance": round(verdict.distance, 2),
                    "feasible": verdict.feasible,
                    "seconds": round(solved.seconds, 2),
                    "routes": solved.solution.routes,
                }
            )
        )
    else:
        typer.echo(f"{problem.name}: {verdict.vehicles} vehicles, distance {verdict.distance:.2f}")
        for number, route in enumerate(solved.solution.routes, start=1):
            typer.echo(f"Route {number} : {' '.join(map(str, route))}")
    if not verdict.feasible:
        raise typer.Exit(1)
