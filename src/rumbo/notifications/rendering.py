"""Shopper-facing text in the shopper's language: the catalogue, the Jinja environment, dates.

Every string comes from the ``notifications`` gettext domain, loaded only through
:func:`rumbo.shared.i18n.translations`. Dates and times are shown in the
destination's time zone, formatted by Babel for the language.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2
from babel.dates import format_date, format_datetime, format_interval, format_skeleton, format_time
from babel.support import Translations

from rumbo.notifications.message import Kind, Message
from rumbo.notifications.texts import TEXTS, KindTexts
from rumbo.shared.i18n import babel_locale, translations

DOMAIN = "notifications"
TEMPLATES_DIR = Path(__file__).parent / "templates"


def catalogue(language: str) -> Translations:
    return translations(language, domain=DOMAIN)


@lru_cache(maxsize=8)
def environment(language: str) -> jinja2.Environment:
    """One environment per language: the i18n extension binds a single catalogue."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # newstyle: ``_("… %(x)s", x=…)`` formats and autoescapes in one step.
    env.install_gettext_translations(catalogue(language), newstyle=True)  # type: ignore[attr-defined]
    return env


@lru_cache(maxsize=8)
def translated_texts(language: str) -> dict[str, KindTexts]:
    t = catalogue(language)
    return {
        kind.value: KindTexts(*(t.gettext(s) for s in (v.subject, v.headline, v.body, v.sms)))
        for kind, v in TEXTS.items()
    }


def texts_for(message: Message) -> KindTexts:
    """The kind's texts in the shopper's language, the arrival window (if any) filled in.

    The window goes in by plain replacement, not ``%``: the texts keep their
    ``%(code)s`` & co. for the channel to fill.
    """
    texts = translated_texts(message.language)[message.kind.value]
    window = arrival_window(message)
    if window is None:
        return texts
    filled = []
    for text in (texts.subject, texts.headline, texts.body, texts.sms):
        for name, value in window.items():
            text = text.replace(f"%({name})s", value)
        filled.append(text)
    return KindTexts(*filled)


def arrival_window(message: Message) -> dict[str, str] | None:
    """The window's ``start`` and ``end`` times and its ``day``, on the destination's
    clock, in the shopper's language; ``None`` when the message carries no window."""
    if (
        message.kind is not Kind.ARRIVAL_WINDOW
        or message.window_start is None
        or message.window_end is None
    ):
        return None
    locale = babel_locale(message.language)
    start = message.window_start.astimezone(message.zone)
    values = {
        "start": format_time(start, format="short", locale=locale),
        "end": format_time(message.window_end.astimezone(message.zone), "short", locale=locale),
        "day": format_skeleton("MMMMd", start, locale=locale),
    }
    # CLDR puts a narrow no-break space before "PM": outside GSM-7, it would turn a
    # whole SMS into UCS-2 (70 characters a part).
    return {
        name: value.replace("\u202f", " ").replace("\xa0", " ") for name, value in values.items()
    }


def status_time(message: Message) -> str:
    """When the status happened, on the destination's clock, in the shopper's language."""
    return format_datetime(
        message.status_at,
        format="medium",
        tzinfo=message.zone,
        locale=babel_locale(message.language),
    )


def long_date(message: Message, value: date) -> str:
    return format_date(value, format="long", locale=babel_locale(message.language))


def predicted_range(message: Message) -> str | None:
    if message.predicted_earliest is None or message.predicted_latest is None:
        return None
    if message.predicted_earliest == message.predicted_latest:
        return long_date(message, message.predicted_earliest)
    return format_interval(
        message.predicted_earliest,
        message.predicted_latest,
        skeleton="yMMMMd",
        locale=babel_locale(message.language),
    )
