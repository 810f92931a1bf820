"""The two ways a delivery fails, shared by every channel, and what a success returns.

A worker needs one decision from a failed attempt: try again later (transient) or
mark the notification failed (permanent). Every channel raises exactly one of the
two exceptions below, so the worker never inspects SMTP codes, Twilio codes or
HTTP statuses itself.
"""

from __future__ import annotations

from dataclasses import dataclass


class DeliveryError(Exception):
    """A failed delivery attempt; ``detail`` is safe to store beside the outbox row."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TransientError(DeliveryError):
    """The same attempt may succeed later: schedule a retry (see :mod:`..backoff`)."""


class PermanentError(DeliveryError):
    """Retrying the same message cannot succeed: mark it failed, visibly.

    ``disable_endpoint`` is set when the receiver asked never to be called again
    (a webhook answering ``410 Gone``).
    """

    def __init__(self, detail: str, *, disable_endpoint: bool = False) -> None:
        super().__init__(detail)
        self.disable_endpoint = disable_endpoint


@dataclass(frozen=True, slots=True)
class Delivery:
    """A successful hand-over: ``reference`` is the peer's id for it.

    The SMTP ``Message-ID``, Twilio's message SID (``SM…``) or the webhook's
    ``webhook-id``; store it so support can trace the message at the provider.
    """

    channel: str
    reference: str
    detail: str = ""
