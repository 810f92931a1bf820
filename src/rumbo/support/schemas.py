from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from rumbo.kit.schemas import RowId, StrictModel
from rumbo.orders.schemas import Email
from rumbo.support.service import InquirySource, InquiryStatus, InquiryType, TurnRole

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
MessageText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{6,31}$", max_length=32)
]


class Contact(StrictModel):
    email: Email | None = None
    phone: Phone | None = None


class InquiryCreate(StrictModel):
    """Name the order by one of ``order_id``, ``tracking_code`` or ``external_id``
    (or none, for a question about no order)."""

    order_id: RowId | None = None
    tracking_code: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    type: InquiryType
    subject: Subject
    message: MessageText | None = Field(
        None, description="The shopper's words; the first message of the inquiry."
    )
    contact: Contact | None = None
    assignee_id: RowId | None = Field(None, description="A staff member of the store.")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "external_id": "PED-000123",
                    "type": "damaged",
                    "subject": "Caixa chegou amassada",
                    "message": "A caixa chegou amassada e a camiseta rasgada.",
                    "contact": {"email": "ana@example.com", "phone": "+5511998765432"},
                },
                {"tracking_code": "RB7K-9Q2M-XW4T", "type": "where_is_it", "subject": "Atraso"},
            ]
        },
    }

    @model_validator(mode="after")
    def _one_reference(self) -> InquiryCreate:
        given = [v for v in (self.order_id, self.tracking_code, self.external_id) if v is not None]
        if len(given) > 1:
            raise ValueError("name the order by one of order_id, tracking_code or external_id")
        return self


class InquiryUpdate(StrictModel):
    """Only the fields sent change; ``assignee_id: null`` unassigns."""

    status: InquiryStatus | None = None
    assignee_id: RowId | None = None
    type: InquiryType | None = None

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"status": "resolved"},
                {"assignee_id": 3, "type": "delay"},
                {"assignee_id": None},
            ]
        },
    }

    @model_validator(mode="after")
    def _something(self) -> InquiryUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of status, assignee_id, type")
        for name in ("status", "type"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class MessageCreate(StrictModel):
    text: MessageText
    author_id: RowId | None = Field(
        None, description="The staff member who writes; none for the store itself."
    )

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"text": "Olá Ana, já pedimos a troca; chega em 3 dias úteis."}]
        },
    }


class TurnOut(BaseModel):
    id: int
    role: TurnRole
    text: str
    intent: str | None = Field(description="The assistant's reading of the shopper's question.")
    confidence: float | None
    author_id: int | None = Field(description="The staff member who wrote an agent reply.")
    created_at: datetime


class ConversationOut(BaseModel):
    id: int
    order_id: int | None
    lang: str
    handed_over: bool
    created_at: datetime
    updated_at: datetime
    turns: list[TurnOut]


class InquiryOut(BaseModel):
    id: int
    order_id: int | None
    conversation_id: int | None
    type: InquiryType
    status: InquiryStatus
    source: InquirySource
    subject: str
    contact: Contact
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 7,
                    "order_id": 120,
                    "conversation_id": 43,
                    "type": "where_is_it",
                    "status": "waiting",
                    "source": "assistant",
                    "subject": "quero falar com uma pessoa",
                    "contact": {"email": None, "phone": None},
                    "assignee_id": 3,
                    "created_at": "2026-11-23T12:00:00Z",
                    "updated_at": "2026-11-23T12:40:00Z",
                    "first_response_at": "2026-11-23T12:40:00Z",
                    "resolved_at": None,
                }
            ]
        }
    }


class InquiryDetail(InquiryOut):
    conversation: ConversationOut | None


class InquiryPage(BaseModel):
    items: list[InquiryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class DurationsOut(BaseModel):
    count: int
    p50_hours: float | None
    p90_hours: float | None


class SupportAnalyticsOut(BaseModel):
    start: date
    end: date
    orders: int = Field(description="Orders placed in the range.")
    inquiries: int = Field(description="Inquiries opened in the range.")
    inquiries_per_100_orders: float | None
    by_type: dict[str, int]
    by_source: dict[str, int]
    assistant_conversations: int = Field(description="Conversations the assistant answered in.")
    answered_without_agent: int = Field(description="Of those, never handed over to a person.")
    share_without_agent: float | None
    first_response: DurationsOut = Field(description="Opened → first agent reply.")
    resolution: DurationsOut = Field(description="Opened → resolved, of those resolved now.")
    open_backlog: int = Field(description="Inquiries open or waiting now (any age).")
    backlog_oldest_hours: float | None
    backlog_p50_age_hours: float | None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "start": "2026-08-25",
                    "end": "2026-11-24",
                    "orders": 1200,
                    "inquiries": 30,
                    "inquiries_per_100_orders": 2.5,
                    "by_type": {"where_is_it": 18, "delay": 7, "return": 5},
                    "by_source": {"assistant": 22, "api": 6, "agent": 2},
                    "assistant_conversations": 410,
                    "answered_without_agent": 388,
                    "share_without_agent": 0.9463,
                    "first_response": {"count": 28, "p50_hours": 1.5, "p90_hours": 6.2},
                    "resolution": {"count": 25, "p50_hours": 20.0, "p90_hours": 51.0},
                    "open_backlog": 5,
                    "backlog_oldest_hours": 30.5,
                    "backlog_p50_age_hours": 4.0,
                }
            ]
        }
    }
