"""Keyset (cursor) pagination: stable under inserts, O(1) per page at any depth."""

from __future__ import annotations

import base64
import binascii

from rumbo.errors import RumboError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id after which the next page starts; a 400 for anything we did not issue."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise RumboError("The cursor is not valid.", 400, "invalid_cursor") from None
