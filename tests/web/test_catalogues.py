"""Every message a shopper reads exists in pt-BR, es and en."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from rumbo.web.i18n import LANGUAGES, catalogue_path, translations

WEB = Path(__file__).resolve().parents[2] / "src" / "rumbo" / "web"


def _extracted() -> set[str]:
    with (WEB / "babel.cfg").open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(WEB, method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    messages = _extracted()
    assert len(messages) > 50
    with catalogue_path(language, "messages").open("rb") as fp:
        catalogue = read_po(fp)
    translated = {m.id: m.string for m in catalogue if m.id}
    missing = sorted(m for m in messages if not translated.get(m))
    assert not missing, f"{language} lacks: {missing}"
    fuzzy = sorted(m.id for m in catalogue if m.id and m.fuzzy)
    assert not fuzzy, f"{language} has fuzzy entries: {fuzzy}"
    assert translations(language, "messages").gettext("History") == translated["History"]
