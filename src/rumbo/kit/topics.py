"""Announce, don't call your listeners: a domain publishes what it changed on a
:class:`Topic`; the reactions (an outbox row, a live page) subscribe once at startup in
the composition roots (``rumbo.reactions``) and run inside the publisher's transaction,
so what they write commits with the change or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

N = TypeVar("N")


class Topic(Generic[N]):
    """One kind of news, and the reactions subscribed to it in this process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._reactions: list[Callable[[Session, N], None]] = []

    def subscribe(self, reaction: Callable[[Session, N], None]) -> None:
        """Run ``reaction`` on every publication in this process (idempotent)."""
        if reaction not in self._reactions:
            self._reactions.append(reaction)

    def subscribers(self) -> tuple[Callable[[Session, N], None], ...]:
        return tuple(self._reactions)

    def publish(self, session: Session, news: N) -> None:
        """Run every subscribed reaction, in subscription order, in ``session``'s transaction."""
        for reaction in self._reactions:
            reaction(session, news)
