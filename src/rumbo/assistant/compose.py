"""Turn an intent and an order's facts into the assistant's reply, in the shopper's language.

Every sentence is a message of the ``assistant`` gettext catalogue, filled only with
values taken from :class:`OrderFacts`. When a fact is missing the reply says so rather
than guessing, and each fact stated is recorded in ``Answer.facts_used`` so tests (and
:mod:`rumbo.assistant.evaluation`) can check the reply against the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from babel.support import Translations

from rumbo.assistant import formatting
from rumbo.assistant.facts import Answer, OrderFacts
from rumbo.assistant.intents import Intent
from rumbo.events.status import Status
from rumbo.shared.i18n import translations

DOMAIN = "assistant"

# Statuses before the parcel is handed to a carrier: the store can still act alone.
BEFORE_SHIPPING = frozenset({Status.PENDING, Status.PAYMENT_CONFIRMED, Status.PREPARING})


@dataclass
class Reply:
    """Sentences being assembled, with the facts they state."""

    facts: OrderFacts
    lang: str
    verified: bool
    tr: Translations
    sentences: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    handover: bool = False

    def say(self, message: str, *facts_used: str, **values: str) -> None:
        """Add one translated sentence; ``message`` is already a gettext msgid's translation."""
        self.sentences.append(message.format(**values) if values else message)
        self.used.update(facts_used)

    def day(self, value: date) -> str:
        return formatting.day(value, self.lang)

    def moment(self, value: datetime) -> tuple[str, str]:
        tz = self.facts.destination_timezone
        return formatting.moment_day(value, self.lang, tz), formatting.moment_time(
            value, self.lang, tz
        )

    def text(self) -> str:
        return " ".join(self.sentences)


def compose(
    intent: Intent, confidence: float, facts: OrderFacts, lang: str, verified: bool
) -> Answer:
    """The reply to a question of ``intent`` about the order described by ``facts``."""
    reply = Reply(facts, lang, verified, translations(lang, domain=DOMAIN))
    COMPOSERS[intent](reply)
    if reply.handover:
        _support_contact(reply)
    return Answer(
        text=reply.text(),
        intent=intent,
        confidence=confidence,
        lang=lang,
        handover=reply.handover,
        facts_used=frozenset(reply.used),
    )


# -- building blocks ------------------------------------------------------------------


def _status(r: Reply) -> None:
    _ = r.tr.gettext
    status = r.facts.status
    if status is Status.PENDING:
        r.say(_("Your order has been placed and is waiting for payment confirmation."), "status")
    elif status is Status.PAYMENT_CONFIRMED:
        r.say(
            _("Your payment has been confirmed and the store is getting your order ready."),
            "status",
        )
    elif status is Status.PREPARING:
        r.say(_("Your order is being prepared in the warehouse."), "status")
    elif status is Status.SHIPPED:
        r.say(_("Your order has left the warehouse and was handed to the carrier."), "status")
    elif status is Status.IN_TRANSIT:
        r.say(_("Your order is on its way through the carrier's network."), "status")
    elif status is Status.OUT_FOR_DELIVERY:
        r.say(_("Your order is out for delivery with the courier."), "status")
    elif status is Status.DELIVERED:
        r.say(_("Your order has been delivered."), "status")
    elif status is Status.DELIVERY_FAILED:
        r.say(_("The carrier tried to deliver your order, but the attempt failed."), "status")
    elif status is Status.AVAILABLE_FOR_PICKUP:
        r.say(_("Your order is waiting for you at a pickup point."), "status")
    elif status is Status.EXCEPTION:
        r.say(_("The carrier reported a problem with your order."), "status")
    elif status is Status.RETURNED:
        r.say(_("Your order is being returned to the store."), "status")
    else:
        r.say(_("Your order was cancelled."), "status")


def _status_since(r: Reply) -> None:
    if r.facts.status_changed_at is None:
        return
    on, at = r.moment(r.facts.status_changed_at)
    r.say(r.tr.gettext("Status updated on {day} at {time}."), "status_changed_at", day=on, time=at)


def _shipments(r: Reply) -> None:
    if r.facts.shipments_count > 1:
        r.say(
            r.tr.gettext("{delivered} of {total} packages have been delivered."),
            "shipments_count",
            "delivered_count",
            delivered=str(r.facts.delivered_count),
            total=str(r.facts.shipments_count),
        )


def _place(r: Reply) -> str | None:
    event = r.facts.last_event
    if event is None or not event.city:
        return None
    if event.state:
        r.used.add("last_event.state")
        return f"{event.city} - {event.state}"
    return event.city


def _last_event(r: Reply) -> None:
    _ = r.tr.gettext
    event = r.facts.last_event
    if event is None or not (event.description or event.occurred_at):
        r.say(_("There are no carrier updates yet."))
        return
    if event.description:
        r.say(
            _("Latest update: {description}."),
            "last_event.description",
            description=event.description.rstrip(". "),
        )
    place = _place(r)
    if place and event.occurred_at is not None:
        on, at = r.moment(event.occurred_at)
        r.say(
            _("Reported in {place} on {day} at {time}."),
            "last_event.city",
            "last_event.occurred_at",
            place=place,
            day=on,
            time=at,
        )
        return
    if place:
        r.say(_("Reported in {place}."), "last_event.city", place=place)
    else:
        r.say(_("The carrier has not reported a city."))
    if event.occurred_at is not None:
        on, at = r.moment(event.occurred_at)
        r.say(_("Reported on {day} at {time}."), "last_event.occurred_at", day=on, time=at)


def _exception(r: Reply) -> None:
    if r.facts.exception_description:
        r.say(
            r.tr.gettext("The carrier reported: {description}."),
            "exception_description",
            description=r.facts.exception_description.rstrip(". "),
        )


def _delivered_on(r: Reply) -> None:
    if r.facts.status_changed_at is not None:
        on, _at = r.moment(r.facts.status_changed_at)
        r.say(r.tr.gettext("It was delivered on {day}."), "status_changed_at", day=on)


def _prediction(r: Reply) -> None:
    _ = r.tr.gettext
    facts = r.facts
    if facts.prediction is None:
        r.say(_("There is no delivery prediction yet."))
    else:
        p = facts.prediction
        r.say(_("We expect it on {day}."), "prediction.estimated", day=r.day(p.estimated))
        if p.earliest is not None and p.latest is not None and p.earliest != p.latest:
            r.say(
                _("Most likely between {earliest} and {latest}."),
                "prediction.earliest",
                "prediction.latest",
                earliest=r.day(p.earliest),
                latest=r.day(p.latest),
            )
    if facts.promised_delivery_date is not None:
        r.say(
            _("The store promised delivery by {day}."),
            "promised_delivery_date",
            day=r.day(facts.promised_delivery_date),
        )


def _carriers(r: Reply) -> None:
    _ = r.tr.gettext
    said = False
    for shipment in r.facts.shipments:
        if shipment.carrier and shipment.tracking_number:
            r.say(
                _("Carrier: {carrier}, tracking number: {tracking_number}."),
                "shipments.carrier",
                "shipments.tracking_number",
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
            )
        elif shipment.carrier:
            r.say(
                _("Carrier: {carrier} (no tracking number yet)."),
                "shipments.carrier",
                carrier=shipment.carrier,
            )
        elif shipment.tracking_number:
            r.say(
                _("Tracking number: {tracking_number} (the carrier has not been reported)."),
                "shipments.tracking_number",
                tracking_number=shipment.tracking_number,
            )
        else:
            continue
        said = True
    if not said:
        r.say(_("No carrier has been assigned to your order yet."))


def _support_contact(r: Reply) -> None:
    _ = r.tr.gettext
    support = r.facts.support
    if support is None:
        return
    if support.email:
        r.say(_("Store support e-mail: {email}."), "support.email", email=support.email)
    if support.phone:
        r.say(_("Store support phone: {phone}."), "support.phone", phone=support.phone)
    if support.url:
        r.say(_("Store support page: {url}"), "support.url", url=support.url)


def _hand_over(r: Reply) -> None:
    r.say(r.tr.gettext("I am passing your request to a person from the store's support team."))
    r.handover = True


# -- one composer per intent ------------------------------------------------------------


def _where_is_order(r: Reply) -> None:
    _status(r)
    _status_since(r)
    _shipments(r)
    if r.facts.status not in BEFORE_SHIPPING:
        _last_event(r)
    _exception(r)


def _out_for_delivery(r: Reply) -> None:
    """Out for delivery means today, on the shopper's clock, with the courier's window
    when the route gives one."""
    _ = r.tr.gettext
    facts = r.facts
    went_out = facts.status_changed_at
    tz = facts.destination_timezone
    if (
        went_out is not None
        and facts.as_of is not None
        and formatting.local(went_out, tz).date() != formatting.local(facts.as_of, tz).date()
    ):
        on, _at = r.moment(went_out)
        r.say(
            _("It went out for delivery on {day} and should reach you soon."),
            "status",
            "status_changed_at",
            day=on,
        )
        return
    r.say(_("It is out for delivery with the courier: it should reach you today."), "status")
    window = facts.arrival_window
    if window is not None:
        _day, start = r.moment(window.start)
        _day, end = r.moment(window.end)
        r.say(
            _("The courier expects to reach you between {start} and {end}."),
            "arrival_window.start",
            "arrival_window.end",
            start=start,
            end=end,
        )


def _delivery_date(r: Reply) -> None:
    status = r.facts.status
    if status is Status.DELIVERED:
        _status(r)
        _delivered_on(r)
    elif status in (Status.CANCELLED, Status.RETURNED):
        _status(r)
        r.say(r.tr.gettext("So there is no delivery date for it."))
    elif status is Status.OUT_FOR_DELIVERY:
        _out_for_delivery(r)
        _shipments(r)
    else:
        _prediction(r)
        _shipments(r)


def _why_late(r: Reply) -> None:
    _ = r.tr.gettext
    facts = r.facts
    if facts.status in (Status.DELIVERED, Status.CANCELLED, Status.RETURNED):
        _status(r)
        if facts.status is Status.DELIVERED:
            _delivered_on(r)
        return
    if facts.risk == "late":
        r.say(_("Your order is running late."), "risk")
    elif facts.risk == "at_risk":
        r.say(_("Your order could be delayed."), "risk")
    elif facts.risk == "on_track":
        r.say(_("According to the latest data, your order is on track."), "risk")
    else:
        r.say(_("We have no information about a delay."))
    _exception(r)
    _last_event(r)
    _prediction(r)


def _delivery_failed(r: Reply) -> None:
    _ = r.tr.gettext
    status = r.facts.status
    if status is Status.DELIVERY_FAILED:
        _status(r)
        _exception(r)
        r.say(
            _(
                "Carriers usually try again or leave the parcel at a pickup point; "
                "the carrier can tell you which, with your tracking number."
            )
        )
        _carriers(r)
    elif status is Status.AVAILABLE_FOR_PICKUP:
        _status(r)
        _last_event(r)
        r.say(_("Bring your tracking number and an identity document to collect it."))
        _carriers(r)
    elif status is Status.DELIVERED:
        _status(r)
        _delivered_on(r)
        r.say(_("If you did not receive it, a person will look into it."))
        _hand_over(r)
    else:
        r.say(_("We have no record of a failed delivery attempt."))
        _where_is_order(r)


def _address_on_file(r: Reply) -> None:
    if r.verified and r.facts.destination_address:
        r.say(
            r.tr.gettext("The delivery address on file is: {address}."),
            "destination_address",
            address=r.facts.destination_address,
        )


def _change_address(r: Reply) -> None:
    _ = r.tr.gettext
    status = r.facts.status
    _address_on_file(r)
    if status in BEFORE_SHIPPING:
        r.say(
            _(
                "Your order has not left the warehouse yet, so the store may still be able "
                "to change the address."
            ),
            "status",
        )
        _hand_over(r)
    elif status in (Status.DELIVERED, Status.CANCELLED, Status.RETURNED):
        _status(r)
        r.say(_("The address can no longer be changed."))
    else:
        r.say(
            _(
                "Your order is already with the carrier, so only the carrier may be able to "
                "change the address."
            ),
            "status",
        )
        _carriers(r)
        _hand_over(r)


def _cancel_order(r: Reply) -> None:
    _ = r.tr.gettext
    status = r.facts.status
    if status in BEFORE_SHIPPING:
        r.say(_("Your order has not shipped yet, so it can still be cancelled."), "status")
        _hand_over(r)
    elif status in (Status.CANCELLED, Status.RETURNED):
        _status(r)
    elif status is Status.DELIVERED:
        _status(r)
        r.say(_("Instead of cancelling it, you can ask for a return."))
        _hand_over(r)
    else:
        r.say(
            _(
                "Your order has already shipped, so it can no longer simply be cancelled; "
                "you can refuse it at the door or return it after it arrives."
            ),
            "status",
        )
        _hand_over(r)


def _return_exchange(r: Reply) -> None:
    _ = r.tr.gettext
    status = r.facts.status
    if status is Status.DELIVERED or (r.facts.delivered_count > 0):
        if status is not Status.DELIVERED:
            _shipments(r)
        r.say(_("The store will guide you through the return or exchange."))
        _hand_over(r)
    elif status in (Status.CANCELLED, Status.RETURNED):
        _status(r)
    else:
        r.say(_("A return or exchange can start once your order has been delivered."))
        _status(r)


def _carrier_tracking(r: Reply) -> None:
    _carriers(r)


def _human_agent(r: Reply) -> None:
    _hand_over(r)


def _greeting(r: Reply) -> None:
    _ = r.tr.gettext
    if r.verified and r.facts.customer_first_name:
        r.say(_("Hello, {name}!"), "customer_first_name", name=r.facts.customer_first_name)
    else:
        r.say(_("Hello!"))
    r.say(_("Ask me where your order is, when it will arrive or anything else about it."))


def _thanks(r: Reply) -> None:
    r.say(r.tr.gettext("You're welcome! If you need anything else about your order, just ask."))


def _unknown(r: Reply) -> None:
    r.say(r.tr.gettext("I am not sure I understood your question."))
    _hand_over(r)


COMPOSERS = {
    Intent.WHERE_IS_ORDER: _where_is_order,
    Intent.DELIVERY_DATE: _delivery_date,
    Intent.WHY_LATE: _why_late,
    Intent.DELIVERY_FAILED: _delivery_failed,
    Intent.CHANGE_ADDRESS: _change_address,
    Intent.CANCEL_ORDER: _cancel_order,
    Intent.RETURN_EXCHANGE: _return_exchange,
    Intent.CARRIER_TRACKING: _carrier_tracking,
    Intent.HUMAN_AGENT: _human_agent,
    Intent.GREETING: _greeting,
    Intent.THANKS: _thanks,
    Intent.UNKNOWN: _unknown,
}
