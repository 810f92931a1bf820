"""Rumbo's languages and their gettext catalogues.

Every text a shopper or a staff member reads lives in standard gettext catalogues
under ``web/locales/<locale>/LC_MESSAGES/<domain>.po``, extracted with Babel: the
shopper's pages in ``messages`` (web/babel.cfg), the assistant's answers in
``assistant``, notifications in ``notifications``, and the staff console with the
logistics report in ``console`` (console/babel.cfg). A compiled
``.mo`` beside the ``.po`` is used when present and up to date; otherwise the
``.po`` is compiled in memory, so a source checkout works without a build step.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

# The catalogues and templates stay with the web assets they ship beside.
LOCALES_DIR = Path(__file__).parent.parent / "web" / "locales"
TEMPLATES_DIR = Path(__file__).parent.parent / "web" / "templates"

# Rumbo's languages, as shoppers' locales are written in the API (BCP 47), and the
# directory each one's catalogues live in (gettext/POSIX form).
LANGUAGES: tuple[str, ...] = ("pt-BR", "es", "en")
DEFAULT_LANGUAGE = "en"
_CATALOGUE_DIR = {"pt-BR": "pt_BR", "es": "es", "en": "en"}
# Each language in its own words, for the language menus of pages and console.
LANGUAGE_NAMES = {"pt-BR": "Português", "es": "Español", "en": "English"}


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark ``message`` for extraction; translated later, where the language is known."""
    return message


def normalize_language(value: str | None) -> str | None:
    """Map a loose language tag (``pt``, ``pt_br``, ``es-AR``, ``EN-gb``) to one of ours."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    primary = tag.split("-", 1)[0]
    for language in LANGUAGES:
        if language.lower() == tag or language.split("-", 1)[0] == primary:
            return language
    return None


def choose_language(
    requested: str | None, customer_locale: str | None, accept_language: str | None
) -> str:
    """``?lang=``, else the order's customer locale, else Accept-Language, else English."""
    for candidate in (requested, customer_locale):
        language = normalize_language(candidate)
        if language:
            return language
    if accept_language:
        weighted: list[tuple[float, int, str]] = []
        for position, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            weighted.append((-quality, position, tag))
        for _, _, tag in sorted(weighted):
            language = normalize_language(tag)
            if language:
                return language
    return DEFAULT_LANGUAGE


def babel_locale(language: str) -> Locale:
    return Locale.parse(_CATALOGUE_DIR.get(language, DEFAULT_LANGUAGE))


def catalogue_path(language: str, domain: str) -> Path:
    return LOCALES_DIR / _CATALOGUE_DIR[language] / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=64)
def translations(language: str, domain: str = "messages") -> Translations:
    """The catalogue of ``domain`` in ``language`` (an empty one if it does not exist)."""
    language = normalize_language(language) or DEFAULT_LANGUAGE
    po_path = catalogue_path(language, domain)
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and (
        not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime
    ):
        with mo_path.open("rb") as fp:
            return Translations(fp, domain=domain)
    if not po_path.exists():
        return Translations(domain=domain)
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=_CATALOGUE_DIR[language], domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def template_environment(language: str, domain: str) -> Environment:
    """A Jinja environment over ``web/templates`` whose ``_()``/``ngettext()`` speak
    ``language`` from ``domain``'s catalogue (new-style: ``_("Hi, %(name)s", name=n)``).

    A new environment each call: callers add their filters and keep one per language."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language, domain), newstyle=True)  # type: ignore[attr-defined]
    return env
