"""GSM-7 alphabet, segment counting and transliteration (3GPP TS 23.038)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rumbo.notifications.gsm7 import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    fit_gsm7,
    is_gsm7,
    measure,
    transliterate,
)


def test_the_basic_alphabet_has_127_characters_and_the_extension_ten() -> None:
    # 128 positions, one of which (0x1B) is the escape to the extension table.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_single_and_multipart_limits_in_gsm7() -> None:
    assert measure("a" * 160) == measure("a" * 160).__class__(Encoding.GSM7, 160, 1)
    assert measure("a" * 161).segments == 2
    assert measure("a" * 306).segments == 2  # 2 × 153
    assert measure("a" * 307).segments == 3


def test_extension_characters_count_double() -> None:
    assert measure("€" * 80).units == 160
    assert measure("€" * 80).segments == 1
    assert measure("€" * 81).segments == 2


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 septets then "€" (2): the pair cannot straddle the 153-septet boundary.
    text = "a" * 152 + "€" + "a" * 10
    assert measure(text).units == 164
    assert measure(text).segments == 2
    assert measure("a" * 152 + "€" * 77).segments == 3


def test_one_character_outside_the_alphabet_forces_ucs2() -> None:
    assert measure("a" * 70 + "ã") == measure("x").__class__(Encoding.UCS2, 71, 2)
    assert measure("ã" * 70).segments == 1
    assert measure("ã" * 134).segments == 2  # 2 × 67
    assert measure("ã" * 135).segments == 3
    assert measure("😀").units == 2  # outside the BMP: a surrogate pair


def test_spanish_and_portuguese_letters_partly_belong_to_gsm7() -> None:
    assert is_gsm7("¿Qué? ¡Mañana! Über à")
    assert not is_gsm7("está")  # á is not in the alphabet
    assert not is_gsm7("não")
    assert not is_gsm7("ação")  # lowercase ç is not; uppercase Ç is
    assert is_gsm7("Ç")


def test_transliteration_drops_only_the_accents_it_must() -> None:
    assert transliterate("Não conseguimos: está à espera, ação! Qué, mañana") == (
        "Nao conseguimos: esta à espera, acao! Qué, mañana"
    )
    assert transliterate("“Ótimo” – já…") == '"Otimo" - ja...'
    assert transliterate("Loja 😀") is None  # no faithful fallback
    assert fit_gsm7("Loja 😀 não") == "Loja 😀 não"  # then sent as is, in UCS-2


@given(st.text())
def test_fit_gsm7_is_gsm7_or_unchanged(text: str) -> None:
    fitted = fit_gsm7(text)
    assert is_gsm7(fitted) or fitted == text
    assert measure(fitted).segments <= measure(text).segments or fitted == text
