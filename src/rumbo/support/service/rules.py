"""What an inquiry and a conversation turn may be, and the moves an inquiry's status may make."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal, get_args

from rumbo.errors import Conflict, RumboError
from rumbo.models import Inquiry
from rumbo.models.support import INQUIRY_SOURCES, INQUIRY_STATUSES, INQUIRY_TYPES, TURN_ROLES

InquiryType = Literal[
    "where_is_it", "delay", "damaged", "wrong_item", "return", "address_change", "other"
]


InquiryStatus = Literal["open", "waiting", "resolved"]


InquirySource = Literal["assistant", "agent", "api"]


TurnRole = Literal["shopper", "assistant", "agent"]


assert get_args(InquiryType) == INQUIRY_TYPES


assert get_args(InquiryStatus) == INQUIRY_STATUSES


assert get_args(InquirySource) == INQUIRY_SOURCES


assert get_args(TurnRole) == TURN_ROLES


# Moves an inquiry's status may make; staying put is always allowed (a no-op).
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "open": frozenset({"waiting", "resolved"}),
    "waiting": frozenset({"open", "resolved"}),
    "resolved": frozenset({"open"}),
}


SUBJECT_MAX = 300


TEXT_MAX = 5000


class _Unset:
    """Marks an argument that was not given, so ``None`` can mean "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def _clean(text: str, what: str, max_length: int) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise RumboError(f"The {what} is empty.", 422, "validation_error")
    if len(cleaned) > max_length:
        raise RumboError(
            f"The {what} is longer than {max_length} characters.", 422, "validation_error"
        )
    return cleaned


def _check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise RumboError(
            f"Unknown {what} {value!r}; one of: {', '.join(allowed)}.",
            422,
            "validation_error",
        )


def _check_move(inquiry: Inquiry, status: str) -> None:
    if status != inquiry.status and status not in TRANSITIONS[inquiry.status]:
        raise Conflict(
            f"An inquiry cannot go from {inquiry.status} to {status}.",
            "invalid_transition",
            {"from": inquiry.status, "to": status},
        )


def _move(inquiry: Inquiry, status: str, now: datetime) -> None:
    _check_move(inquiry, status)
    if status == inquiry.status:
        return
    inquiry.status = status
    inquiry.resolved_at = now if status == "resolved" else None
    inquiry.updated_at = now
