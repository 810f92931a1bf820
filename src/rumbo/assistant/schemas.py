from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from rumbo.kit.schemas import Language, RowId, StrictModel


class AskRequest(StrictModel):
    question: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    lang: Language | None = Field(None, description="Reply language; default: the question's.")
    conversation_id: RowId | None = Field(
        None,
        description="Continue the conversation an earlier answer about this order returned.",
    )

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"question": "cadê meu pedido?"},
                {"question": "¿cuándo llega?", "lang": "es", "conversation_id": 42},
            ]
        },
    }


class AskResponse(BaseModel):
    answer: str
    intent: str
    confidence: float
    lang: str
    handover: bool = Field(description="A person should take over (low confidence, or asked for).")
    conversation_id: int = Field(description="Send it with the next question to continue.")
    inquiry_id: int | None = Field(
        None, description="The inquiry a person of the store answers, once handed over."
    )
    inquiry_opened: bool = Field(False, description="This question opened the inquiry.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "answer": "Seu pedido está em trânsito com a transportadora.",
                    "intent": "where_is_order",
                    "confidence": 0.93,
                    "lang": "pt-BR",
                    "handover": False,
                    "conversation_id": 42,
                    "inquiry_id": None,
                    "inquiry_opened": False,
                },
                {
                    "answer": "I am passing your request to a person from the store's support"
                    " team. We opened request #7 for you; the store's team will reply.",
                    "intent": "human_agent",
                    "confidence": 0.88,
                    "lang": "en",
                    "handover": True,
                    "conversation_id": 43,
                    "inquiry_id": 7,
                    "inquiry_opened": True,
                },
            ]
        }
    }
