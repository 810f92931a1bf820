"""Tracking codes: short to type, unguessable, and a typo is caught by the check character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rumbo.kit.codes import (
    ALPHABET,
    LENGTH,
    CodeError,
    check_character,
    format_code,
    new_tracking_code,
    parse_tracking_code,
)


def test_codes_have_the_documented_shape() -> None:
    code = new_tracking_code()
    assert len(code) == LENGTH == 13
    assert set(code) <= set(ALPHABET)
    assert parse_tracking_code(code) == code


def test_codes_carry_at_least_60_bits_of_randomness() -> None:
    # 12 random symbols from 32: 60 bits. 20,000 draws never collide and never repeat a prefix run.
    codes = {new_tracking_code() for _ in range(20_000)}
    assert len(codes) == 20_000
    assert (LENGTH - 1) * 5 >= 60


def test_consecutive_codes_are_not_sequential() -> None:
    a, b = new_tracking_code(), new_tracking_code()
    assert a[:-2] != b[:-2]


payloads = st.text(alphabet=ALPHABET, min_size=12, max_size=12)


@given(payloads, st.integers(0, 12), st.sampled_from(ALPHABET))
def test_every_single_mistyped_character_is_caught(
    payload: str, position: int, replacement: str
) -> None:
    code = payload + check_character(payload)
    typo = code[:position] + replacement + code[position + 1 :]
    if typo == code:
        return
    with pytest.raises(CodeError) as err:
        parse_tracking_code(typo)
    assert err.value.reason == "check_mismatch"


@given(payloads, st.integers(0, 11))
def test_swapped_neighbours_are_caught_except_0_and_z(payload: str, position: int) -> None:
    code = payload + check_character(payload)
    a, b = code[position], code[position + 1]
    if a == b or {a, b} == {"0", "Z"}:
        return
    swapped = code[:position] + b + a + code[position + 2 :]
    with pytest.raises(CodeError):
        parse_tracking_code(swapped)


def test_input_is_forgiving_about_case_separators_and_look_alikes() -> None:
    code = "0" + "1" * 11
    code += check_character(code)
    typed = format_code(code).lower().replace("0", "o").replace("1", "l")
    assert parse_tracking_code(f"  {typed} ") == code


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("ABC", "wrong_length"),
        ("ABCDEFGHJKMNPQRS", "wrong_length"),
        ("ABCDEFGHJKMN#", "bad_characters"),
    ],
)
def test_malformed_input_says_what_is_wrong(typed: str, reason: str) -> None:
    with pytest.raises(CodeError) as err:
        parse_tracking_code(typed)
    assert err.value.reason == reason
