"""Rules that keep notifications welcome: quiet hours, coalescing, one channel per news.

All pure: the caller passes the current time (the one injected clock) and plain data.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from rumbo.notifications.message import Kind

# ---------------------------------------------------------------------------------------------
# Quiet hours


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window on the shopper's local clock when SMS is held, [start, end).

    ``start > end`` spans midnight (the usual 21:00–08:00); ``start == end`` means
    no quiet hours at all.
    """

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def is_quiet(now_utc: datetime, tz: ZoneInfo | str, window: QuietHours) -> bool:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return window.contains(now_utc.astimezone(zone).time().replace(tzinfo=None))


def release_time(now_utc: datetime, tz: ZoneInfo | str, window: QuietHours) -> datetime:
    """The first moment at or after ``now_utc`` outside quiet hours, in UTC.

    A message due during quiet hours is held until then, never dropped. The end
    of the window is read on the local calendar, so a DST change overnight moves
    the release with the wall clock (08:00 stays 08:00).
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if not is_quiet(now_utc, zone, window):
        return now_utc
    local = now_utc.astimezone(zone)
    for days in (0, 1):
        day = local.date() + timedelta(days=days)
        candidate = datetime.combine(day, window.end, tzinfo=zone).astimezone(now_utc.tzinfo)
        # A window end inside a DST gap (e.g. 00:30 on a spring-forward night) maps
        # to a wall time that does not exist; zoneinfo resolves it to an instant
        # just after the gap, which is also outside the window.
        if candidate > now_utc:
            return candidate
    raise AssertionError("unreachable: a quiet window ends within a day")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Suppression reasons


class Reason(StrEnum):
    SUPERSEDED = "superseded"  # newer news about the same order replaces it
    OPTED_OUT = "opted_out"  # the shopper turned this channel off
    NO_CONTACT = "no_contact"  # no e-mail address / phone number for the shopper
    DUPLICATE = "duplicate"  # another channel already says the same thing
    NOT_OPTED_IN = "not_opted_in"  # WhatsApp / push: the shopper never asked for it


# ---------------------------------------------------------------------------------------------
# Coalescing


@dataclass(frozen=True, slots=True, order=True)
class Pending:
    """One not-yet-sent notification for an order on one channel.

    ``key`` is the caller's id for it (the outbox row id); it only breaks ties.
    """

    due_at: datetime
    kind: Kind
    key: str


@dataclass(frozen=True, slots=True)
class Coalesced:
    """One message to send for a burst of news, and the ones it replaces."""

    send: Pending
    send_at: datetime  # when the burst is settled: send no earlier
    superseded: tuple[Pending, ...]
    reason: Reason = Reason.SUPERSEDED


def coalesce(pending: Iterable[Pending], window: timedelta) -> list[Coalesced]:
    """Group news that arrives in bursts and keep only the furthest of each burst.

    A burst starts at the earliest pending message and takes every message due
    less than ``window`` after it; the next message starts the next burst. In each
    burst the kind with the greatest :attr:`Kind.precedence` is sent (ties: the
    later, then the greater key) at ``start + window``, so shopper sees "shipped"
    then "in transit" 5 minutes later as one message about "in transit", sent at
    most ``window`` late. The result depends only on the *set* of pending
    messages, never on the order they are given in.
    """
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    # Every field in the keys: two kinds may rank alike, and a caller's keys need not be
    # unique, so the kind's name breaks what is left of a tie.
    ordered = sorted(set(pending), key=lambda p: (p.due_at, p.kind.precedence, p.key, p.kind.value))
    bursts: list[list[Pending]] = []
    for item in ordered:
        if bursts and item.due_at < bursts[-1][0].due_at + window:
            bursts[-1].append(item)
        else:
            bursts.append([item])
    result: list[Coalesced] = []
    for burst in bursts:
        winner = max(burst, key=lambda p: (p.kind.precedence, p.due_at, p.key, p.kind.value))
        others = tuple(p for p in burst if p is not winner)
        result.append(Coalesced(winner, burst[0].due_at + window, others))
    return result


# ---------------------------------------------------------------------------------------------
# Channel choice


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"
    WHATSAPP = "whatsapp"
    PUSH = "push"


class Preference(StrEnum):
    ON = "on"
    OFF = "off"
    UNSET = "unset"


@dataclass(frozen=True, slots=True)
class ShopperPreferences:
    email: Preference = Preference.UNSET
    sms: Preference = Preference.UNSET
    whatsapp: Preference = Preference.UNSET
    push: Preference = Preference.UNSET

    def of(self, channel: Channel) -> Preference:
        return Preference(getattr(self, channel.value))


@dataclass(frozen=True, slots=True)
class Contact:
    has_email: bool
    has_phone: bool
    has_push: bool = False  # at least one device subscribed to this order

    def reaches(self, channel: Channel) -> bool:
        if channel is Channel.EMAIL:
            return self.has_email
        if channel is Channel.PUSH:
            return self.has_push
        return self.has_phone


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    send: tuple[Channel, ...]
    suppressed: tuple[tuple[Channel, Reason], ...]


# When the shopper has not chosen, e-mail is preferred: it costs nothing per
# message, carries the store's branding and a one-click unsubscribe.
SHOPPER_CHANNELS: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.PUSH)
# Channels that never carry news the shopper did not ask for on them: WhatsApp
# requires an opt-in (https://business.whatsapp.com/policy, "Opt-in"), and a push
# subscription exists only because the shopper asked on that device.
OPT_IN_CHANNELS: frozenset[Channel] = frozenset({Channel.WHATSAPP, Channel.PUSH})


def choose_channels(
    rule_channels: Collection[Channel], preferences: ShopperPreferences, contact: Contact
) -> ChannelChoice:
    """Which channels carry one notification, and why the others do not.

    - ``webhook`` goes to the store, not the shopper: sent whenever the rule has it.
    - A shopper channel the rule lacks is not considered at all.
    - Turned off by the shopper → ``opted_out``; no address, number or subscribed
      device → ``no_contact``; WhatsApp or push never turned on → ``not_opted_in``.
    - Of what remains, every channel the shopper turned on goes, and only those;
      when none was turned on, one goes (e-mail, else SMS) and the others are a
      ``duplicate``.
    """
    send: list[Channel] = []
    suppressed: list[tuple[Channel, Reason]] = []
    candidates: list[Channel] = []
    for channel in SHOPPER_CHANNELS:
        if channel not in rule_channels:
            continue
        preference = preferences.of(channel)
        if preference is Preference.OFF:
            suppressed.append((channel, Reason.OPTED_OUT))
        elif not contact.reaches(channel):
            suppressed.append((channel, Reason.NO_CONTACT))
        elif channel in OPT_IN_CHANNELS and preference is not Preference.ON:
            suppressed.append((channel, Reason.NOT_OPTED_IN))
        else:
            candidates.append(channel)
    chosen = [c for c in candidates if preferences.of(c) is Preference.ON]
    if not chosen and candidates:
        chosen = candidates[:1]
    send.extend(chosen)
    suppressed.extend((c, Reason.DUPLICATE) for c in candidates if c not in chosen)
    if Channel.WEBHOOK in rule_channels:
        send.append(Channel.WEBHOOK)
    return ChannelChoice(tuple(send), tuple(suppressed))
