"""The shopper-facing sentences of each kind, as gettext message ids.

The ids are English sentences (gettext's convention); translations live in the
``notifications`` catalogue under ``rumbo/web/locales``. ``N_`` only marks a
string for extraction (``pybabel extract -k N_``); it is translated when a
message is rendered, in the shopper's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from rumbo.notifications.message import Kind


def N_(msgid: str) -> str:  # noqa: N802 - gettext's conventional marker name
    return msgid


@dataclass(frozen=True, slots=True)
class KindTexts:
    subject: str  # e-mail subject; ``%(code)s``
    headline: str  # e-mail heading
    body: str  # e-mail paragraph
    sms: str  # one SMS; ``%(merchant)s``, ``%(code)s``, ``%(url)s``


TEXTS: dict[Kind, KindTexts] = {
    Kind.PAYMENT_CONFIRMED: KindTexts(
        N_("Payment confirmed for order %(code)s"),
        N_("Payment confirmed"),
        N_("We received your payment. We will let you know when your order ships."),
        N_("%(merchant)s: payment confirmed for order %(code)s. Track it: %(url)s"),
    ),
    Kind.SHIPPED: KindTexts(
        N_("Your order %(code)s has shipped"),
        N_("Your order has shipped"),
        N_("Your order left the warehouse and is now with the carrier."),
        N_("%(merchant)s: order %(code)s has shipped. Track it: %(url)s"),
    ),
    Kind.IN_TRANSIT: KindTexts(
        N_("Your order %(code)s is on its way"),
        N_("Your order is on its way"),
        N_("Your package is moving through the carrier's network."),
        N_("%(merchant)s: order %(code)s is on its way. Track it: %(url)s"),
    ),
    Kind.OUT_FOR_DELIVERY: KindTexts(
        N_("Your order %(code)s is out for delivery"),
        N_("Out for delivery today"),
        N_("Your package is on the courier's vehicle and should arrive today."),
        N_("%(merchant)s: order %(code)s is out for delivery today. Track it: %(url)s"),
    ),
    Kind.DELIVERED: KindTexts(
        N_("Your order %(code)s was delivered"),
        N_("Delivered"),
        N_("Your package was delivered. We hope you enjoy it!"),
        N_("%(merchant)s: order %(code)s was delivered. Details: %(url)s"),
    ),
    Kind.DELIVERY_FAILED: KindTexts(
        N_("We could not deliver your order %(code)s"),
        N_("Delivery attempt failed"),
        N_(
            "The courier tried to deliver your package but could not. "
            "The tracking page shows what happens next."
        ),
        N_("%(merchant)s: we could not deliver order %(code)s. What to do: %(url)s"),
    ),
    Kind.EXCEPTION: KindTexts(
        N_("There is a problem with your order %(code)s"),
        N_("There is a problem with your order"),
        N_("The carrier reported a problem with your package. The tracking page has the details."),
        N_("%(merchant)s: there is a problem with order %(code)s. Details: %(url)s"),
    ),
    Kind.AVAILABLE_FOR_PICKUP: KindTexts(
        N_("Your order %(code)s is ready for pickup"),
        N_("Ready for pickup"),
        N_("Your package is waiting for you at the pickup point."),
        N_("%(merchant)s: order %(code)s is ready for pickup. Where: %(url)s"),
    ),
    Kind.RETURNED: KindTexts(
        N_("Your order %(code)s is being returned"),
        N_("Your order is being returned"),
        N_("Your package is on its way back to the store, which will contact you."),
        N_("%(merchant)s: order %(code)s is going back to the store. Details: %(url)s"),
    ),
    Kind.CANCELLED: KindTexts(
        N_("Your order %(code)s was cancelled"),
        N_("Your order was cancelled"),
        N_("Your order was cancelled. If you did not expect this, please contact the store."),
        N_("%(merchant)s: order %(code)s was cancelled. Details: %(url)s"),
    ),
    Kind.MAY_BE_DELAYED: KindTexts(
        N_("Your order %(code)s may be delayed"),
        N_("Your order may be delayed"),
        N_("Your order may arrive later than promised. We are keeping an eye on it."),
        N_("%(merchant)s: order %(code)s may arrive late. New estimate: %(url)s"),
    ),
    Kind.ARRIVING_SOON: KindTexts(
        N_("Your order %(code)s arrives soon"),
        N_("Arriving soon"),
        N_("Your package is close and should arrive soon."),
        N_("%(merchant)s: order %(code)s arrives soon. Follow it: %(url)s"),
    ),
    # ``%(start)s``, ``%(end)s`` (times) and ``%(day)s`` are the window on the
    # destination's clock, filled in by ``rendering.texts_for``.
    Kind.ARRIVAL_WINDOW: KindTexts(
        N_("Your order %(code)s arrives between %(start)s and %(end)s"),
        N_("Arriving between %(start)s and %(end)s"),
        N_(
            "Your package is on the courier's route for %(day)s and should arrive "
            "between %(start)s and %(end)s. We will tell you if this changes."
        ),
        N_("%(merchant)s: order %(code)s arrives between %(start)s and %(end)s. Follow: %(url)s"),
    ),
}


# The unsubscribe link's pages (RFC 8058), in the shopper's language: the question,
# its button, and the answer once done; per channel.
UNSUBSCRIBE_TITLE = N_("Unsubscribe")
UNSUBSCRIBE_QUESTION = {
    "email": N_("Stop e-mails about this order?"),
    "sms": N_("Stop text messages about this order?"),
}
UNSUBSCRIBE_DONE = {
    "email": N_("Done: no more e-mails about this order."),
    "sms": N_("Done: no more text messages about this order."),
}
