"""Tracking codes: 12 random characters and a check character, e.g. ``7KQ29XWM4TCR-H``.

- Alphabet: Crockford's Base32 (``0-9 A-Z`` without ``I L O U``), so a code read
  aloud or copied by hand has no look-alikes; on input ``O`` is read as ``0`` and
  ``I``/``L`` as ``1`` (https://www.crockford.com/base32.html), case is ignored and
  spaces or dashes are dropped.
- 12 random characters × 5 bits = 60 bits from ``secrets``: never sequential, and
  guessing one among a billion live codes takes ~2^30 tries per hit.
- Check character: Luhn mod N over the same alphabet (N = 32). It catches every
  single mistyped character and every swap of two neighbours except the pair of
  characters with values 0 and 31 (``0`` ↔ ``Z``).
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 12
LENGTH = RANDOM_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


class CodeError(ValueError):
    """Why a typed code cannot be a tracking code (``reason`` is machine-readable)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_character(payload: str) -> str:
    """Luhn mod 32 check character for ``payload`` (characters of ALPHABET)."""
    n = len(ALPHABET)
    total = 0
    factor = 2
    for ch in reversed(payload):
        addend = factor * _VALUE[ch]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_tracking_code() -> str:
    payload = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return payload + check_character(payload)


def normalize(text: str) -> str:
    """Upper-case, drop separators, read look-alikes as Crockford does."""
    return "".join(ch for ch in text.upper() if ch not in " -_.\t").translate(_READ_AS)


_CANONICAL = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def parse_tracking_code(text: str) -> str:
    """The canonical code typed as ``text``, or :class:`CodeError` saying what is wrong."""
    # Integrations send codes exactly as issued: skip normalising those.
    code = text if _CANONICAL.fullmatch(text) else normalize(text)
    if len(code) != LENGTH:
        raise CodeError(
            "wrong_length", f"A tracking code has {LENGTH} characters; this one has {len(code)}."
        )
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        raise CodeError("bad_characters", f"A tracking code cannot contain {''.join(bad)!r}.")
    if check_character(code[:-1]) != code[-1]:
        raise CodeError(
            "check_mismatch",
            "This tracking code has a typo: its last character does not match the others.",
        )
    return code


def format_code(code: str) -> str:
    """Grouped for reading aloud: ``7KQ2-9XWM-4TCR-H``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
