"""Bodies that hold one item or a list of them (events, orders): one shape, one set of
refusals, each item then validated on its own so that a bad one never sinks the rest."""

from __future__ import annotations

from typing import Any

from rumbo.errors import RumboError


def one_or_list_schema(model: str, max_items: int) -> dict[str, Any]:
    """The OpenAPI schema of such a body (the endpoint parses it by hand)."""
    ref = {"$ref": f"#/components/schemas/{model}"}
    return {
        "oneOf": [
            ref,
            {"type": "array", "items": ref, "minItems": 1, "maxItems": max_items},
        ]
    }


def items_of(payload: Any, max_items: int, noun: str) -> tuple[list[Any], bool]:
    """The items of ``payload`` and whether it was a list; a clear 4xx for anything
    else, an empty list or more than ``max_items``."""
    if not isinstance(payload, list | dict):
        raise RumboError(f"Send one {noun} object or a list of them.", 422, "validation_error")
    if isinstance(payload, dict):
        return [payload], False
    if not payload:
        raise RumboError("The batch is empty.", 422, "empty_batch")
    if len(payload) > max_items:
        raise RumboError(
            f"A batch holds at most {max_items} {noun}s; this one has {len(payload)}.",
            413,
            "batch_too_large",
            {"max": max_items, "received": len(payload)},
        )
    return payload, True
