"""What the tracking page says, in English source text marked for translation.

Pure data and formatting: the page builds its view from ``PublicTracking`` (the
public API's model, the one source of truth) and these words. Messages are marked
with :func:`N_` so Babel extracts them into the ``messages`` catalogues; the
templates translate them with ``_()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, get_timezone_name

from rumbo.events.status import RANK, Status
from rumbo.orders.service import PLACED_EVENT_SOURCE
from rumbo.public.schemas import PublicEvent, PublicPlace, PublicShipment, PublicTracking
from rumbo.shared.i18n import LANGUAGES, N_, babel_locale, translations

# The progress bar: the happy path after the order was placed.
PROGRESS_STEPS: tuple[Status, ...] = (
    Status.PAYMENT_CONFIRMED,
    Status.PREPARING,
    Status.SHIPPED,
    Status.IN_TRANSIT,
    Status.OUT_FOR_DELIVERY,
    Status.DELIVERED,
)

STATUS_LABEL: dict[Status, str] = {
    Status.PENDING: N_("Order placed"),
    Status.PAYMENT_CONFIRMED: N_("Payment confirmed"),
    Status.PREPARING: N_("Preparing"),
    Status.SHIPPED: N_("Shipped"),
    Status.IN_TRANSIT: N_("In transit"),
    Status.OUT_FOR_DELIVERY: N_("Out for delivery"),
    Status.DELIVERED: N_("Delivered"),
    Status.DELIVERY_FAILED: N_("Delivery attempt failed"),
    Status.AVAILABLE_FOR_PICKUP: N_("Ready for pickup"),
    Status.EXCEPTION: N_("Delivery problem"),
    Status.RETURNED: N_("Returned to the store"),
    Status.CANCELLED: N_("Cancelled"),
}

STATUS_SENTENCE: dict[Status, str] = {
    Status.PENDING: N_("We have your order and are waiting for the payment to be confirmed."),
    Status.PAYMENT_CONFIRMED: N_(
        "Your payment is confirmed. The store will start preparing your order soon."
    ),
    Status.PREPARING: N_("The store is picking and packing your order."),
    Status.SHIPPED: N_("Your order has left the warehouse and is with the carrier."),
    Status.IN_TRANSIT: N_("Your order is on its way through the carrier's network."),
    Status.OUT_FOR_DELIVERY: N_("Your order is on the courier's vehicle and should arrive today."),
    Status.DELIVERED: N_("Your order has been delivered. Enjoy!"),
    Status.DELIVERY_FAILED: N_("The courier tried to deliver your order but could not."),
    Status.AVAILABLE_FOR_PICKUP: N_("Your order is waiting for you at a pickup point."),
    Status.EXCEPTION: N_("The carrier reported a problem with your order."),
    Status.RETURNED: N_("Your order is going back to the store."),
    Status.CANCELLED: N_("This order was cancelled."),
}


@dataclass(frozen=True)
class Explanation:
    """An interruption of the journey, in a shopper's words."""

    what_happened: str
    what_next: str


EXPLANATION: dict[Status, Explanation] = {
    Status.DELIVERY_FAILED: Explanation(
        N_(
            "The courier could not hand over the parcel: nobody was there to receive it, "
            "or the address could not be reached."
        ),
        N_(
            "The carrier usually tries again on the next working day. Make sure someone "
            "can receive it, or contact the store to arrange another delivery."
        ),
    ),
    Status.AVAILABLE_FOR_PICKUP: Explanation(
        N_("The parcel is waiting for you at a pickup point of the carrier."),
        N_(
            "Take an identity document and your tracking code to collect it. It is kept "
            "for a limited time before it goes back to the store."
        ),
    ),
    Status.EXCEPTION: Explanation(
        N_(
            "The parcel is held up: it may be delayed, held at customs, damaged, or "
            "have a problem with the address."
        ),
        N_(
            "The carrier and the store are working on it. If they need something from "
            "you, the store will contact you; you can also get in touch with them."
        ),
    ),
    Status.RETURNED: Explanation(
        N_("The parcel could not be delivered and is on its way back to the store."),
        N_("The store will contact you to send it again or to refund you."),
    ),
    Status.CANCELLED: Explanation(
        N_("The order was cancelled before it reached you."),
        N_(
            "If you already paid, the store will refund you. Contact the store if you did "
            "not expect this."
        ),
    ),
}

CARRIER_NAMES = {
    "correios": "Correios",
    "jadlog": "Jadlog",
    "loggi": "Loggi",
    "total_express": "Total Express",
    "azul_cargo": "Azul Cargo Express",
    "dhl": "DHL",
    "fedex": "FedEx",
    "ups": "UPS",
    "usps": "USPS",
    "seur": "SEUR",
    "mrw": "MRW",
    "correos": "Correos",
    "ctt": "CTT",
    "estafeta": "Estafeta",
    "andreani": "Andreani",
    "servientrega": "Servientrega",
    "chilexpress": "Chilexpress",
}

DEFAULT_ACCENT = "#0B6E4F"
PLACED_DESCRIPTION = "Order placed"  # rumbo.orders.service writes it on every new order
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def carrier_name(carrier: str | None) -> str:
    if not carrier:
        return ""
    return CARRIER_NAMES.get(carrier.lower(), carrier.replace("_", " ").title())


def place_text(place: PublicPlace | None) -> str:
    if place is None:
        return ""
    parts = [part for part in (place.city, place.state) if part]
    if not parts and place.country:
        parts = [place.country]
    return ", ".join(parts)


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text).strip().casefold()


@lru_cache(maxsize=len(Status))
def _names_of(status: Status) -> frozenset[str]:
    """What ``status`` is called in each of Rumbo's languages, plainly written."""
    return frozenset(
        _plain(translations(language).gettext(STATUS_LABEL[status])) for language in LANGUAGES
    ) | {_plain(status.value)}


def description_of(event: PublicEvent) -> str | None:
    """The source's own words for an event, unless the heading above them already says
    it: Rumbo's "order placed" note, or a description that is only the status's name in
    any language ("Entregue" over "Delivered")."""
    if event.source == PLACED_EVENT_SOURCE and event.description == PLACED_DESCRIPTION:
        return None
    if event.description and event.status and _plain(event.description) in _names_of(event.status):
        return None
    return event.description


# -- colour: the store's accent, made safe and legible -------------------------------


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _darken(hex_colour: str, factor: float) -> str:
    channels = [round(int(hex_colour[i : i + 2], 16) * factor) for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in channels)


@dataclass(frozen=True)
class Palette:
    accent: str  # bars and buttons
    on_accent: str  # text on the accent
    accent_text: str  # the accent as text or links on white (>= 4.5:1)


def palette(accent_color: str | None) -> Palette:
    """The store's colour if it is a valid ``#rrggbb``, else Rumbo's; never unreadable."""
    accent = accent_color if accent_color and _HEX.fullmatch(accent_color) else DEFAULT_ACCENT
    accent = accent.lower()
    on_accent = (
        "#ffffff" if contrast(accent, "#ffffff") >= contrast(accent, "#111111") else "#111111"
    )
    text = accent
    factor = 1.0
    while contrast(text, "#ffffff") < 4.5 and factor > 0:
        factor -= 0.1
        text = _darken(accent, max(factor, 0))
    return Palette(accent, on_accent, text)


# -- the view: PublicTracking plus what the page needs to say it ----------------------


@dataclass(frozen=True)
class Step:
    status: Status
    state: str  # "done", "current" or "todo"


@dataclass(frozen=True)
class Prediction:
    """A predicted delivery date with its range (from ``rumbo.eta``)."""

    expected: date
    earliest: date
    latest: date


def predicted_delivery(tracking: PublicTracking, zone: ZoneInfo) -> Prediction | None:
    """The predicted delivery day and range, as calendar days on the destination's clock."""
    predicted = tracking.prediction
    if predicted is None:
        return None
    expected = predicted.estimated_delivery.astimezone(zone).date()
    earliest = predicted.earliest.astimezone(zone).date() if predicted.earliest else expected
    latest = predicted.latest.astimezone(zone).date() if predicted.latest else expected
    return Prediction(
        expected=expected, earliest=min(earliest, expected), latest=max(latest, expected)
    )


def progress_steps(tracking: PublicTracking) -> list[Step]:
    reached = {m.status: m.reached for m in tracking.milestones}
    done = [s for s in PROGRESS_STEPS if reached.get(s, False)]
    last = done[-1] if done else None
    steps = []
    for status in PROGRESS_STEPS:
        if status == last:
            steps.append(Step(status, "current" if status is not Status.DELIVERED else "done"))
        elif reached.get(status, False):
            steps.append(Step(status, "done"))
        else:
            steps.append(Step(status, "todo"))
    return steps


def shipment_steps(shipment: PublicShipment) -> tuple[int, int]:
    """How many progress steps one parcel has passed, of how many."""
    rank = RANK[shipment.status]
    passed = sum(1 for status in PROGRESS_STEPS if RANK[status] <= rank)
    return passed, len(PROGRESS_STEPS)


class Formatter:
    """Dates and times in the shopper's language and the destination's time zone."""

    def __init__(self, language: str, zone: ZoneInfo) -> None:
        self.locale = babel_locale(language)
        self.zone = zone

    def when(self, moment: datetime) -> str:
        day = format_skeleton("yMMMd", moment, tzinfo=self.zone, locale=self.locale)
        hour = format_skeleton("Hm", moment, tzinfo=self.zone, locale=self.locale)
        return f"{day} · {hour}"

    def hour(self, moment: datetime) -> str:
        return format_skeleton("Hm", moment, tzinfo=self.zone, locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, "full", locale=self.locale)

    def short_day(self, value: date) -> str:
        return format_skeleton("MMMEd", value, locale=self.locale)

    def zone_name(self) -> str:
        if self.zone.key == "UTC":
            return "UTC"
        return str(get_timezone_name(self.zone, "long", locale=self.locale))

    def iso(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).isoformat()
