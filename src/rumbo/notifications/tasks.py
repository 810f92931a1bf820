"""The outbox worker: claims due messages, delivers them, records what happened.

Why ``SELECT … FOR UPDATE SKIP LOCKED`` on the outbox table and not a queue
library (Celery, RQ, Dramatiq, arq): the messages are *already* rows, written in
the transaction of the events that caused them — that is what makes them
impossible to lose or to send for a rolled-back event. A broker would need a
second hop (outbox → broker) with its own at-least-once relay, a second system
to run (Redis, RabbitMQ) and a second place to look when a shopper asks "did you
e-mail me?". Claiming straight from the table keeps one store of record:

- PostgreSQL: ``UPDATE … WHERE id IN (SELECT id … ORDER BY next_attempt_at LIMIT n
  FOR UPDATE SKIP LOCKED) RETURNING …`` — concurrent workers skip each other's
  rows instead of waiting, so any number of workers claim disjoint batches.
- SQLite: the same statement in a ``BEGIN IMMEDIATE`` transaction; the single
  writer lock makes the claim atomic.

A claim is a lease (``locked_by``, ``locked_until``): a worker that dies mid-
delivery leaves its rows ``sending`` until the lease runs out, then another
worker claims them again and re-sends with the same ``webhook-id`` / e-mail
``Message-ID`` (delivery is at least once; receivers deduplicate on the id).
Results are written only while the lease is still ours, so a slow worker whose
lease was taken over cannot overwrite the newer outcome. Each message succeeds
or fails on its own: a poisoned one (bad address, broken data) is failed or
retried with backoff and never blocks the rest of the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Connection, Table, and_, bindparam, delete, or_, select, update

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.events.status import Status
from rumbo.kit.clock import Clock, SystemClock
from rumbo.kit.timezones import zone_name_of
from rumbo.models import (
    Merchant,
    Order,
    OutboxMessage,
    PushSubscription,
    Shipment,
    ShopperPreference,
    WhatsAppAccount,
)
from rumbo.models import WebhookEndpoint as EndpointRow
from rumbo.notifications import backoff
from rumbo.notifications.channels.email import EmailChannel, SmtpConfig, SmtpSecurity
from rumbo.notifications.channels.push import Subscription, VapidKey, WebPushChannel
from rumbo.notifications.channels.sms import SmsChannel, TwilioConfig, TwilioSms
from rumbo.notifications.channels.webhook import (
    WebhookChannel,
    WebhookConfig,
    WebhookEndpoint,
)
from rumbo.notifications.channels.whatsapp import (
    TemplateUnusable,
    Unreachable,
    WhatsAppChannel,
    WhatsAppSender,
)
from rumbo.notifications.destinations import DestinationPolicy, webhook_destinations
from rumbo.notifications.errors import DeliveryError, PermanentError
from rumbo.notifications.message import Branding, Kind, Message
from rumbo.notifications.outbox import (
    ENDPOINT_DISABLED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    SUPPRESSED,
    webhook_type,
)
from rumbo.notifications.restraint import Channel, Reason
from rumbo.notifications.service import UnsubscribeTokens
from rumbo.orders.service import tracking_url
from rumbo.shared.metrics import NOTIFICATION_LAG, NOTIFICATIONS
from rumbo.shared.services import BackgroundService

log = logging.getLogger(__name__)

_OUTBOX = cast(Table, OutboxMessage.__table__)
POLL_SECONDS = 0.5
# An endpoint failing this long without one success is disabled until re-enabled.
DISABLE_AFTER = timedelta(days=5)
NOT_CONFIGURED = "channel_not_configured"
UNREACHABLE = "unreachable"  # the provider says this number or device cannot receive
ERROR_LIMIT = 1000


@dataclass
class Job:
    """One claimed row and what is needed to deliver it (loaded in the claim transaction)."""

    id: int
    channel: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    endpoint_id: int | None
    merchant_id: int = 0
    message: Message | None = None
    whatsapp: WhatsAppSender | None = None
    devices: list[Subscription] | None = None
    endpoint: WebhookEndpoint | None = None
    skip: str | None = None  # suppress with this reason instead of sending
    broken: str | None = None  # fail permanently: the message cannot be built
    created_at: datetime | None = None  # when the event's transaction queued it


@dataclass
class Outcome:
    job: Job
    status: str  # sent | retry | failed | suppressed
    reference: str | None = None
    error: str | None = None
    reason: str | None = None
    disable_endpoint: bool = False
    paused_template: str | None = None  # WhatsApp: Meta refused this template
    gone: Sequence[int] = ()  # push subscriptions the push service no longer knows


def smtp_config(settings: Settings) -> SmtpConfig | None:
    if not settings.smtp_host:
        return None
    return SmtpConfig(
        from_address=settings.smtp_from,
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=SmtpSecurity(settings.smtp_security),
        username=settings.smtp_username,
        password=settings.smtp_password,
    )


def twilio_config(settings: Settings) -> TwilioConfig | None:
    if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from):
        return None
    sender = settings.twilio_from
    is_service = sender.startswith("MG")
    return TwilioConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        from_number=None if is_service else sender,
        messaging_service_sid=sender if is_service else None,
        base_url=settings.twilio_base_url,
    )


class Notifier:
    """One worker: ``run_once`` claims a batch, delivers it concurrently and records it."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Clock | None = None,
        name: str | None = None,
        client: httpx.AsyncClient | None = None,
        webhook_timeout: float = 10.0,
        destination_policy: DestinationPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = settings.notification_batch_size
        self.lease = timedelta(seconds=settings.notification_lease_seconds)
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=settings.notification_concurrency)
        )
        smtp = smtp_config(settings)
        self.email = EmailChannel(smtp, clock=self.clock.now) if smtp else None
        twilio = twilio_config(settings)
        self.sms = SmsChannel(TwilioSms(twilio, self.client)) if twilio else None
        self.webhook = WebhookChannel(
            WebhookConfig(timeout=webhook_timeout),
            clock=self.clock.now,
            policy=destination_policy or webhook_destinations(settings),
            connections=settings.notification_concurrency,
        )
        self.whatsapp = WhatsAppChannel(
            base_url=settings.whatsapp_base_url, connections=settings.notification_concurrency
        )
        self.push = (
            WebPushChannel(
                VapidKey(settings.vapid_private_key, settings.vapid_subject),
                connections=settings.notification_concurrency,
                clock=self.clock.now,
            )
            if settings.vapid_private_key
            else None
        )
        self.tokens = UnsubscribeTokens(settings.secret_key)
        self._limit = asyncio.Semaphore(settings.notification_concurrency)

    async def aclose(self) -> None:
        await self.webhook.aclose()
        await self.whatsapp.aclose()
        if self.push is not None:
            await self.push.aclose()
        if self._own_client:
            await self.client.aclose()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    claimed = await self.run_once()
                except Exception:  # the database is away: keep the worker alive
                    log.exception("notification batch failed")
                    claimed = 0
                if claimed < self.batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        finally:
            # Stopped mid-batch (cancelled): hand the claimed rows back now rather
            # than leave them to wait out their lease.
            try:
                released = await asyncio.to_thread(self.release)
                if released:
                    log.info("released %s claimed outbox messages on stop", released)
            except Exception:
                log.exception("releasing claimed outbox messages failed")
            await self.aclose()

    def release(self) -> int:
        """Put the messages this worker holds back in the queue, due now; returns how
        many. Delivery is at least once: one may have gone out before the stop, and is
        sent again with the same id (receivers deduplicate on it)."""
        with self.db.session() as session:
            result = session.connection().execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.locked_by == self.name, _OUTBOX.c.status == SENDING)
                .values(
                    status=QUEUED,
                    locked_by=None,
                    locked_until=None,
                    next_attempt_at=self.clock.now(),
                )
            )
        return result.rowcount or 0

    async def run_once(self) -> int:
        """Claim, deliver and record one batch; returns how many messages it claimed.

        Each outcome is recorded as soon as it is known, together with those that
        became known while the previous write was in flight: a worker that dies
        mid-batch sends again only what it had sent but not yet recorded.
        """
        jobs = await asyncio.to_thread(self.claim)
        if not jobs:
            return 0
        known: asyncio.Queue[Outcome] = asyncio.Queue()

        async def deliver(job: Job) -> None:
            known.put_nowait(await self._deliver(job))

        async def deliver_to_endpoint(endpoint_jobs: list[Job]) -> None:
            # Once an endpoint answers 410 Gone it has asked for nothing more: the rest of
            # the batch for it is held back (suppressed as for a disabled endpoint,
            # replayable when re-enabled). The first message goes alone, so an endpoint
            # that is already gone receives exactly one request; the rest go concurrently
            # and none starts after a 410 is known.
            gone = False

            async def one(job: Job) -> None:
                nonlocal gone
                outcome = await self._deliver(job, still_wanted=lambda: not gone)
                gone = gone or outcome.disable_endpoint
                known.put_nowait(outcome)

            await one(endpoint_jobs[0])
            await asyncio.gather(*(one(job) for job in endpoint_jobs[1:]))

        by_endpoint: dict[int, list[Job]] = {}
        others: list[Job] = []
        for job in jobs:
            if job.endpoint is not None and job.endpoint_id is not None:
                by_endpoint.setdefault(job.endpoint_id, []).append(job)
            else:
                others.append(job)
        sending = asyncio.gather(
            *(deliver(job) for job in others),
            *(deliver_to_endpoint(group) for group in by_endpoint.values()),
        )
        try:
            recorded = 0
            while recorded < len(jobs):
                ready = [await known.get()]
                while not known.empty():
                    ready.append(known.get_nowait())
                await asyncio.to_thread(self.record, ready)
                recorded += len(ready)
        finally:
            if not sending.done():  # recording failed or the worker stops: stop sending
                sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        return len(jobs)

    # ------------------------------------------------------------------------------ claim

    def claim(self, limit: int | None = None) -> list[Job]:
        """Lease up to ``limit`` due messages (queued and due, or with an expired lease)."""
        now = self.clock.now()
        due = or_(
            and_(_OUTBOX.c.status == QUEUED, _OUTBOX.c.next_attempt_at <= now),
            and_(_OUTBOX.c.status == SENDING, _OUTBOX.c.locked_until < now),
        )
        # A plain read first: an idle worker never takes SQLite's write lock.
        with self.db.reader() as conn:
            if conn.execute(select(_OUTBOX.c.id).where(due).limit(1)).first() is None:
                return []
        with self.db.session() as session:
            conn = session.connection()
            pick = (
                select(_OUTBOX.c.id)
                .where(due)
                .order_by(_OUTBOX.c.next_attempt_at)
                .limit(limit or self.batch_size)
            )
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            rows = list(
                conn.execute(
                    update(_OUTBOX)
                    .where(_OUTBOX.c.id.in_(pick.scalar_subquery()))
                    .values(
                        status=SENDING,
                        locked_by=self.name,
                        locked_until=now + self.lease,
                        attempts=_OUTBOX.c.attempts + 1,
                    )
                    .returning(
                        _OUTBOX.c.id,
                        _OUTBOX.c.merchant_id,
                        _OUTBOX.c.order_id,
                        _OUTBOX.c.endpoint_id,
                        _OUTBOX.c.channel,
                        _OUTBOX.c.kind,
                        _OUTBOX.c.payload,
                        _OUTBOX.c.attempts,
                        _OUTBOX.c.created_at,
                    )
                )
            )
            if not rows:
                return []
            return self._prepare(conn, rows)

    def _prepare(self, conn: Connection, rows: Sequence[Any]) -> list[Job]:
        jobs = [
            Job(
                r.id,
                r.channel,
                r.kind,
                r.payload,
                r.attempts,
                r.endpoint_id,
                merchant_id=r.merchant_id,
                created_at=r.created_at,
            )
            for r in rows
        ]
        shopper = [r for r in rows if r.channel != Channel.WEBHOOK.value]
        hooks = [r for r in rows if r.channel == Channel.WEBHOOK.value]
        endpoints: dict[int, Any] = {}
        if hooks:
            ids = sorted({r.endpoint_id for r in hooks if r.endpoint_id is not None})
            endpoints = {
                e.id: e
                for e in conn.execute(
                    select(
                        EndpointRow.id, EndpointRow.url, EndpointRow.secret, EndpointRow.enabled
                    ).where(EndpointRow.id.in_(ids))
                )
            }
        orders: dict[int, Any] = {}
        prefs: dict[int, Any] = {}
        parcels: dict[int, Any] = {}
        if shopper:
            order_ids = sorted({r.order_id for r in shopper})
            orders = {
                o.id: o
                for o in conn.execute(
                    select(
                        Order.id,
                        Order.tracking_code,
                        Order.customer_name,
                        Order.customer_email,
                        Order.customer_phone,
                        Order.customer_locale,
                        Order.destination,
                        Order.promised_delivery_date,
                        Merchant.name.label("store_name"),
                        Merchant.logo_url,
                        Merchant.accent_color,
                        Merchant.support_email,
                        Merchant.support_phone,
                        Merchant.support_url,
                    )
                    .join(Merchant, Merchant.id == Order.merchant_id)
                    .where(Order.id.in_(order_ids))
                )
            }
            prefs = {
                p.order_id: p
                for p in conn.execute(
                    select(
                        ShopperPreference.order_id,
                        ShopperPreference.email,
                        ShopperPreference.sms,
                        ShopperPreference.whatsapp,
                        ShopperPreference.push,
                        ShopperPreference.language,
                    ).where(ShopperPreference.order_id.in_(order_ids))
                )
            }
            for s in conn.execute(
                select(Shipment.order_id, Shipment.carrier, Shipment.tracking_number)
                .where(Shipment.order_id.in_(order_ids))
                .order_by(Shipment.id.desc())
            ):
                parcels[s.order_id] = s  # the first parcel registered wins
        senders = self._whatsapp_senders(conn, rows)
        devices = self._devices(conn, rows)
        by_id = {r.id: r for r in rows}
        for job in jobs:
            if job.channel == Channel.WEBHOOK.value:
                endpoint = endpoints.get(job.endpoint_id) if job.endpoint_id else None
                if endpoint is None:
                    job.skip = "endpoint_deleted"
                elif not endpoint.enabled:
                    job.skip = ENDPOINT_DISABLED
                else:
                    job.endpoint = WebhookEndpoint(endpoint.url, endpoint.secret)
                continue
            order = orders.get(by_id[job.id].order_id)
            pref = prefs.get(by_id[job.id].order_id)
            configured = self._configured(job, senders, devices)
            if not configured:
                job.skip = NOT_CONFIGURED
            elif order is None:
                job.skip = "order_deleted"
            elif pref is not None and getattr(pref, job.channel) is False:
                job.skip = Reason.OPTED_OUT.value  # chosen after the message was queued
            else:
                try:
                    job.message = self._message(job, order, pref, parcels.get(order.id))
                except ValueError as exc:
                    job.broken = f"cannot build the message: {exc}"
        return jobs

    def _configured(
        self,
        job: Job,
        senders: dict[int, WhatsAppSender],
        devices: dict[int, list[Subscription]],
    ) -> bool:
        """Attach what the job's channel needs; False when that channel cannot send."""
        channel = job.channel
        if channel == Channel.EMAIL.value:
            return self.email is not None
        if channel == Channel.SMS.value:
            return self.sms is not None
        if channel == Channel.WHATSAPP.value:
            job.whatsapp = senders.get(job.merchant_id)
            return job.whatsapp is not None
        if channel == Channel.PUSH.value:
            job.devices = devices.get(job.id, [])
            return self.push is not None
        return False

    def _whatsapp_senders(self, conn: Connection, rows: Sequence[Any]) -> dict[int, WhatsAppSender]:
        merchants = sorted({r.merchant_id for r in rows if r.channel == Channel.WHATSAPP.value})
        if not merchants:
            return {}
        return {
            a.merchant_id: WhatsAppSender(
                phone_number_id=a.phone_number_id,
                access_token=a.access_token,
                api_version=a.api_version,
                templates=a.templates,
                paused=frozenset(a.paused_templates),
            )
            for a in conn.execute(
                select(
                    WhatsAppAccount.merchant_id,
                    WhatsAppAccount.phone_number_id,
                    WhatsAppAccount.access_token,
                    WhatsAppAccount.api_version,
                    WhatsAppAccount.templates,
                    WhatsAppAccount.paused_templates,
                ).where(WhatsAppAccount.merchant_id.in_(merchants))
            )
        }

    def _devices(self, conn: Connection, rows: Sequence[Any]) -> dict[int, list[Subscription]]:
        """Each push job's subscribed devices, by job id."""
        jobs_of: dict[int, list[int]] = {}
        for r in rows:
            if r.channel == Channel.PUSH.value:
                jobs_of.setdefault(r.order_id, []).append(r.id)
        found: dict[int, list[Subscription]] = {}
        if not jobs_of:
            return found
        for s in conn.execute(
            select(
                PushSubscription.id,
                PushSubscription.order_id,
                PushSubscription.endpoint,
                PushSubscription.p256dh,
                PushSubscription.auth,
                PushSubscription.language,
            )
            .where(PushSubscription.order_id.in_(sorted(jobs_of)))
            .order_by(PushSubscription.id)
        ):
            for job_id in jobs_of[s.order_id]:
                found.setdefault(job_id, []).append(
                    Subscription(s.id, s.endpoint, s.p256dh, s.auth, s.language)
                )
        return found

    def _message(self, job: Job, order: Any, pref: Any, parcel: Any) -> Message:
        base = self.settings.base_url.rstrip("/")
        destination = order.destination or {}
        name = (order.customer_name or "").split()
        channel = Channel(job.channel)
        return Message(
            kind=Kind(job.kind),
            language=(pref.language if pref and pref.language else None) or order.customer_locale,
            idempotency_key=f"outbox:{job.id}",
            tracking_code=order.tracking_code,
            tracking_url=tracking_url(base, order.tracking_code),
            status=Status(job.payload["status"]),
            status_at=datetime.fromisoformat(job.payload["status_at"]),
            merchant=Branding(
                name=order.store_name,
                logo_url=order.logo_url,
                accent_colour=order.accent_color,
                support_email=order.support_email,
                support_phone=order.support_phone,
                support_url=order.support_url,
            ),
            time_zone=zone_name_of(destination),
            preferences_url=tracking_url(base, order.tracking_code),
            unsubscribe_url=f"{base}/unsubscribe/{self.tokens.issue(order.id, channel)}",
            customer_first_name=name[0] if name else None,
            email=order.customer_email,
            phone=order.customer_phone,
            city=destination.get("city"),
            promised_date=order.promised_delivery_date,
            carrier=parcel.carrier if parcel else None,
            carrier_tracking_number=parcel.tracking_number if parcel else None,
            # Proactive news ("may be delayed") carries the model's predicted range.
            predicted_earliest=_date(job.payload.get("predicted_earliest")),
            predicted_latest=_date(job.payload.get("predicted_latest")),
            # The day's route's arrival window ("arriving between …").
            window_start=_instant(job.payload.get("window_start")),
            window_end=_instant(job.payload.get("window_end")),
        )

    # ---------------------------------------------------------------------------- deliver

    async def _deliver(self, job: Job, still_wanted: Callable[[], bool] = lambda: True) -> Outcome:
        if job.skip:
            return Outcome(job, SUPPRESSED, reason=job.skip)
        if job.broken:
            return Outcome(job, FAILED, error=job.broken)
        async with self._limit:
            if not still_wanted():  # the endpoint answered 410 while this one waited its turn
                return Outcome(job, SUPPRESSED, reason=ENDPOINT_DISABLED)
            try:
                if job.endpoint is not None:
                    kind = Kind(job.kind)
                    delivery = await self.webhook.send(
                        job.endpoint,
                        f"msg_{job.id}",
                        webhook_type(kind),
                        datetime.fromisoformat(job.payload["status_at"]),
                        job.payload,
                    )
                elif job.whatsapp is not None:
                    assert job.message is not None
                    delivery = await self.whatsapp.send(job.message, job.whatsapp)
                elif job.devices is not None:
                    return await self._push(job)
                else:
                    assert job.message is not None
                    channel = self.email if job.channel == Channel.EMAIL.value else self.sms
                    assert channel is not None
                    delivery = await channel.send(job.message)
            except TemplateUnusable as exc:
                return Outcome(job, FAILED, error=exc.detail, paused_template=exc.template)
            except Unreachable as exc:
                return Outcome(job, SUPPRESSED, error=exc.detail, reason=UNREACHABLE)
            except PermanentError as exc:
                return Outcome(job, FAILED, error=exc.detail, disable_endpoint=exc.disable_endpoint)
            except DeliveryError as exc:
                return Outcome(job, "retry", error=exc.detail)
            except Exception as exc:  # a bug must not stop the other messages
                log.exception("delivering outbox message %s failed", job.id)
                return Outcome(job, "retry", error=f"unexpected {type(exc).__name__}: {exc}")
        return Outcome(job, SENT, reference=delivery.reference)

    async def _push(self, job: Job) -> Outcome:
        assert self.push is not None
        assert job.message is not None
        assert job.devices is not None
        if not job.devices:
            return Outcome(job, SUPPRESSED, reason=Reason.NO_CONTACT.value)
        result = await self.push.send(job.message, job.devices)
        error = "; ".join(result.errors) or None
        if result.reference is not None:
            return Outcome(job, SENT, reference=result.reference, error=error, gone=result.gone)
        if len(result.gone) == len(job.devices):  # every device unsubscribed
            return Outcome(job, SUPPRESSED, reason=Reason.NO_CONTACT.value, gone=result.gone)
        return Outcome(job, FAILED, error=error, gone=result.gone)

    # ----------------------------------------------------------------------------- record

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Write the outcomes, only for rows still leased to this worker."""
        now = self.clock.now()
        rows: list[dict[str, Any]] = []
        for o in outcomes:
            status, next_at = o.status, None
            if status == "retry":
                next_at = backoff.next_attempt_at(o.job.attempts, now)
                status = QUEUED if next_at is not None else FAILED
            rows.append(
                {
                    "b_id": o.job.id,
                    "b_me": self.name,
                    "b_status": status,
                    "b_reason": o.reason,
                    "b_next": next_at,
                    "b_error": o.error[:ERROR_LIMIT] if o.error else None,
                    "b_reference": o.reference,
                    "b_sent": now if status == SENT else None,
                }
            )
        with self.db.session() as session:
            conn = session.connection()
            conn.execute(
                update(_OUTBOX)
                .where(
                    _OUTBOX.c.id == bindparam("b_id"),
                    _OUTBOX.c.locked_by == bindparam("b_me"),
                    _OUTBOX.c.status == SENDING,
                )
                .values(
                    status=bindparam("b_status"),
                    suppressed_reason=bindparam("b_reason"),
                    next_attempt_at=bindparam("b_next"),
                    last_error=bindparam("b_error"),
                    reference=bindparam("b_reference"),
                    sent_at=bindparam("b_sent"),
                    locked_by=None,
                    locked_until=None,
                ),
                rows,
            )
            self._track_endpoints(conn, outcomes, now)
            self._track_channels(conn, outcomes, now)
        for o in outcomes:
            NOTIFICATIONS.labels(o.job.channel, o.status).inc()
            if o.status == SENT and o.job.created_at is not None:
                NOTIFICATION_LAG.labels(o.job.channel).observe(
                    max((now - o.job.created_at).total_seconds(), 0.0)
                )

    def _track_endpoints(
        self, conn: Connection, outcomes: Sequence[Outcome], now: datetime
    ) -> None:
        ok: set[int] = set()
        failing: set[int] = set()
        gone: dict[int, str] = {}
        for o in outcomes:
            endpoint_id = o.job.endpoint_id
            if o.job.endpoint is None or endpoint_id is None:
                continue
            if o.status == SENT:
                ok.add(endpoint_id)
            elif o.disable_endpoint:
                gone[endpoint_id] = f"the endpoint answered 410 Gone: {o.error or ''}"[:300]
            elif o.status in ("retry", FAILED):
                failing.add(endpoint_id)
        table = cast(Table, EndpointRow.__table__)
        if ok:
            conn.execute(
                update(table)
                .where(table.c.id.in_(sorted(ok)), table.c.failing_since.is_not(None))
                .values(failing_since=None)
            )
        failing -= ok
        if failing:
            conn.execute(
                update(table)
                .where(table.c.id.in_(sorted(failing)), table.c.failing_since.is_(None))
                .values(failing_since=now)
            )
            conn.execute(
                update(table)
                .where(
                    table.c.id.in_(sorted(failing)),
                    table.c.enabled.is_(True),
                    table.c.failing_since <= now - DISABLE_AFTER,
                )
                .values(
                    enabled=False,
                    disabled_at=now,
                    disabled_reason=f"every delivery failed for {DISABLE_AFTER.days} days",
                )
            )
        for endpoint_id, reason in gone.items():
            conn.execute(
                update(table)
                .where(table.c.id == endpoint_id)
                .values(enabled=False, disabled_at=now, disabled_reason=reason)
            )

    def _track_channels(self, conn: Connection, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Forget dead push subscriptions; stop using a template Meta refused, visibly."""
        gone = sorted({sid for o in outcomes for sid in o.gone})
        if gone:
            conn.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
        for o in outcomes:
            if o.paused_template is None:
                continue
            account = conn.execute(
                select(WhatsAppAccount.id, WhatsAppAccount.paused_templates).where(
                    WhatsAppAccount.merchant_id == o.job.merchant_id
                )
            ).first()
            if account is None:
                continue
            paused = dict(account.paused_templates)
            paused[o.paused_template] = {"reason": o.error, "at": now.isoformat()}
            conn.execute(
                update(WhatsAppAccount)
                .where(WhatsAppAccount.id == account.id)
                .values(paused_templates=paused)
            )


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


async def run(settings: Settings, db: Database, stop: asyncio.Event) -> None:
    """The notifications service of ``rumbo worker`` (see :mod:`rumbo.worker`)."""
    await Notifier(settings, db).run(stop)


SERVICE = BackgroundService("notifications", run)
