"""SMS encodings and segment counting (3GPP TS 23.038, formerly GSM 03.38).

An SMS carries 140 octets. Text that only uses the GSM 7-bit default alphabet
fits 160 characters (153 per part once split, the rest being the concatenation
header); characters of the extension table take two septets (an escape, then the
character). Any other character forces UCS-2 for the whole message: 70
characters, 67 per part. Carriers bill per part, so a Portuguese or Spanish
accent outside the alphabet can double or triple the cost of a message.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

# The default alphabet, TS 23.038 §6.2.1, in table order (0x00–0x7F; 0x1B is the
# escape to the extension table and is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The default alphabet extension table, TS 23.038 §6.2.1.1: two septets each.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

# Typography that has a plain equivalent in the alphabet.
_PUNCTUATION = {
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u00ba": "o", "\u00aa": "a",
}  # fmt: skip


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class SmsSize:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _split(units: list[int], per_part: int) -> int:
    """Parts needed when no character (an escape pair, a surrogate pair) may be split."""
    parts, used = 1, 0
    for width in units:
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts


def measure(text: str) -> SmsSize:
    """The encoding a phone network needs for ``text`` and how many parts it takes."""
    if is_gsm7(text):
        widths = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        total = sum(widths)
        parts = 1 if total <= GSM7_SINGLE else _split(widths, GSM7_MULTI)
        return SmsSize(Encoding.GSM7, total, parts)
    widths = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    total = sum(widths)
    parts = 1 if total <= UCS2_SINGLE else _split(widths, UCS2_MULTI)
    return SmsSize(Encoding.UCS2, total, parts)


def transliterate(text: str) -> str | None:
    """``text`` in the GSM-7 alphabet, or ``None`` if that would lose more than accents.

    Letters outside the alphabet lose their accent (``ã`` → ``a``, ``ç`` → ``c``,
    ``á`` → ``a``) while the ones inside are kept (``é``, ``ñ``, ``ü``, ``à``). Brazilian
    and Spanish SMS are commonly written that way and stay readable; a text with
    characters that have no such fallback (emoji, CJK) returns ``None`` so the
    caller sends it unchanged in UCS-2 rather than with question marks.
    """
    out: list[str] = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
            continue
        if ch in _PUNCTUATION:
            out.append(_PUNCTUATION[ch])
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if not base or not is_gsm7(base):
            return None
        out.append(base)
    return "".join(out)


def fit_gsm7(text: str) -> str:
    """The cheapest faithful form of ``text``: itself, its GSM-7 transliteration, or itself."""
    if is_gsm7(text):
        return text
    plain = transliterate(text)
    return plain if plain is not None else text
