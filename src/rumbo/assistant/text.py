"""Normalisation shared by every classifier: what shoppers type varies more than what they mean."""

from __future__ import annotations

import re
import unicodedata

# Beyond this many characters a message is rambling; its start carries the question and
# bounding the length keeps classification time constant for huge inputs.
MAX_CHARS = 2000

_REPEATS = re.compile(r"(.)\1{2,}")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower-case, accent-free, digit-masked, whitespace-collapsed form of ``text``.

    Accents are dropped because shoppers often omit them ("cade", "direccion"); runs of a
    letter are cut to two ("holaaaa" -> "holaa") because stretching is emphasis, not
    meaning; numbers become ``0`` because an order number says nothing about intent.
    """
    text = text[:MAX_CHARS]
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        ch
        for ch in decomposed
        if not unicodedata.combining(ch) and unicodedata.category(ch)[0] in "LNPZS"
    )
    kept = _DIGITS.sub("0", kept)
    kept = _REPEATS.sub(r"\1\1", kept)
    return _SPACES.sub(" ", kept).strip()


def tokens(text: str) -> list[str]:
    """Words of an already normalised text (punctuation dropped)."""
    return re.findall(r"[a-z0-9]+", text)
