from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from rumbo.kit.schemas import ShortText, StrictModel, WebAddress

HexColour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


class MerchantOut(BaseModel):
    id: int
    name: str
    logo_url: str | None
    accent_color: str | None
    support_email: str | None
    support_phone: str | None
    support_url: str | None


class MerchantUpdate(StrictModel):
    """Only the fields sent change; send null to clear one."""

    name: ShortText | None = None
    logo_url: WebAddress | None = None
    accent_color: HexColour | None = None
    support_email: (
        Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]
        | None
    ) = None
    support_phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()\-.]{6,25}$")] | None = (
        None
    )
    support_url: WebAddress | None = None

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Loja Aurora",
                    "accent_color": "#0B6E4F",
                    "support_email": "ajuda@aurora.example",
                }
            ]
        },
    }
