"""Every text a shopper reads is in the ``notifications`` catalogue of every language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

import rumbo.notifications
from rumbo.notifications.rendering import catalogue
from rumbo.shared.i18n import catalogue_path

PACKAGE = Path(rumbo.notifications.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted_msgids() -> list[str]:
    """The message ids in the source, found the way ``pybabel extract`` finds them."""
    ids = [m[1] for m in extract_from_file("python", PACKAGE / "texts.py", keywords={"N_": None})]
    for template in sorted((PACKAGE / "templates").iterdir()):
        ids += [
            m[1]
            for m in extract_from_file("jinja2.ext:babel_extract", template, keywords={"_": None})
        ]
    return [i for i in dict.fromkeys(ids) if isinstance(i, str)]


MSGIDS = extracted_msgids()


def test_the_source_has_texts_to_translate() -> None:
    assert len(MSGIDS) > 50


@pytest.mark.parametrize("language", ["pt-BR", "es", "en"])
def test_catalogue_holds_every_msgid_with_the_same_placeholders(language: str) -> None:
    with catalogue_path(language, "notifications").open("rb") as fp:
        po = read_po(fp)
    for msgid in MSGIDS:
        entry = po.get(msgid)
        assert entry is not None, f"{language}: missing {msgid!r}"
        assert entry.string, f"{language}: untranslated {msgid!r}"
        assert not entry.fuzzy, f"{language}: fuzzy {msgid!r}"
        assert set(PLACEHOLDER.findall(str(entry.string))) == set(PLACEHOLDER.findall(msgid))
    assert {m.id for m in po if m.id} == set(MSGIDS), "stale entries in the catalogue"


@pytest.mark.parametrize("language", ["pt-BR", "es"])
def test_translations_are_loaded_through_rumbo_i18n(language: str) -> None:
    translated = catalogue(language)
    assert translated.gettext("Track your order") != "Track your order"
    changed = [m for m in MSGIDS if translated.gettext(m) != m]
    # Only ids that read the same in both languages ("Pedido %(code)s" is not one) may match.
    assert len(changed) >= len(MSGIDS) - 2
