from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from rumbo.kit.schemas import Language, StrictModel


class AskRequest(StrictModel):
    question: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    lang: Language | None = Field(None, description="Reply language; default: the question's.")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"question": "cadê meu pedido?"},
                {"question": "¿cuándo llega?", "lang": "es"},
            ]
        },
    }


class AskResponse(BaseModel):
    answer: str
    intent: str
    confidence: float
    lang: str
    handover: bool = Field(description="A person should take over (low confidence, or asked for).")
