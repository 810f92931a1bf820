"""Every answer text is in the "assistant" catalogue, translated in the three languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

import rumbo.assistant
from rumbo.shared.i18n import LANGUAGES, translations

SOURCE = Path(rumbo.assistant.__file__).parent
# Only singular messages (a plural comes back as a tuple of its forms).
MESSAGES = sorted(
    {
        m[2]
        for m in extract_from_dir(str(SOURCE), method_map=[("**.py", "python")])
        if isinstance(m[2], str)
    }
)


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_the_code_has_messages_to_translate() -> None:
    assert len(MESSAGES) > 40


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_has_a_translation_with_the_same_placeholders(lang: str) -> None:
    catalogue = translations(lang, domain="assistant")
    for message in MESSAGES:
        translated = catalogue.gettext(message)
        assert translated.strip(), message
        assert _placeholders(translated) == _placeholders(message), message
        if lang != "en":
            assert translated != message, f"untranslated in {lang}: {message}"
