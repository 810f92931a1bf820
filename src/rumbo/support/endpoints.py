from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from rumbo.db import SessionDep
from rumbo.errors import RumboError
from rumbo.kit.clock import ClockDep
from rumbo.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from rumbo.kit.ranges import DEFAULT_DAYS, date_range
from rumbo.kit.schemas import RowId
from rumbo.merchants.deps import MerchantDep
from rumbo.models import ConversationTurn, Inquiry
from rumbo.support import service
from rumbo.support.analytics import support_figures
from rumbo.support.schemas import (
    Contact,
    ConversationOut,
    InquiryCreate,
    InquiryDetail,
    InquiryOut,
    InquiryPage,
    InquiryUpdate,
    MessageCreate,
    SupportAnalyticsOut,
    TurnOut,
)
from rumbo.support.service import InquirySource, InquiryStatus, InquiryType

router = APIRouter()

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such inquiry, order or staff member for this store."}
}


@router.post(
    "/api/v1/inquiries",
    status_code=status.HTTP_201_CREATED,
    response_model=InquiryDetail,
    tags=["support"],
    summary="Open an inquiry for the store's team",
    responses={
        **_NOT_FOUND,
        409: {"description": "The assignee is deactivated."},
    },
)
def create_inquiry(
    body: InquiryCreate, session: SessionDep, merchant_id: MerchantDep, clock: ClockDep
) -> InquiryDetail:
    """Opened with status `open` and source `api`. `message` becomes the first
    message of the inquiry's conversation."""
    order = service.find_order_by_reference(
        session,
        merchant_id,
        order_id=body.order_id,
        tracking_code=body.tracking_code,
        external_id=body.external_id,
    )
    inquiry = service.create_inquiry(
        session,
        merchant_id,
        order_id=order.id if order is not None else None,
        type=body.type,
        source="api",
        subject=body.subject,
        message=body.message,
        contact_email=body.contact.email if body.contact else None,
        contact_phone=body.contact.phone if body.contact else None,
        assignee_id=body.assignee_id,
        now=clock.now(),
    )
    return _detail(session, merchant_id, inquiry)


@router.get(
    "/api/v1/inquiries",
    response_model=InquiryPage,
    tags=["support"],
    summary="List inquiries, newest first",
)
def list_inquiries(
    session: SessionDep,
    merchant_id: MerchantDep,
    status: Annotated[
        list[InquiryStatus] | None,
        Query(description="One or more statuses, e.g. `?status=open&status=waiting`."),
    ] = None,
    assignee_id: RowId | None = None,
    unassigned: Annotated[bool, Query(description="Only those nobody is assigned to.")] = False,
    type: InquiryType | None = None,
    source: InquirySource | None = None,
    order_id: RowId | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> InquiryPage:
    if unassigned and assignee_id is not None:
        raise RumboError(
            "Ask for an assignee or for unassigned inquiries, not both.", 422, "validation_error"
        )
    inquiries, next_cursor = service.list_inquiries(
        session,
        merchant_id,
        status=status or None,
        assignee_id=assignee_id,
        unassigned=unassigned,
        type=type,
        source=source,
        order_id=order_id,
        cursor=cursor,
        limit=limit,
    )
    return InquiryPage(items=[inquiry_out(i) for i in inquiries], next_cursor=next_cursor)


@router.get(
    "/api/v1/inquiries/{inquiry_id}",
    response_model=InquiryDetail,
    tags=["support"],
    summary="An inquiry with its conversation",
    responses=_NOT_FOUND,
)
def get_inquiry(inquiry_id: RowId, session: SessionDep, merchant_id: MerchantDep) -> InquiryDetail:
    return _detail(session, merchant_id, service.get_inquiry(session, merchant_id, inquiry_id))


@router.patch(
    "/api/v1/inquiries/{inquiry_id}",
    response_model=InquiryDetail,
    tags=["support"],
    summary="Change an inquiry's status, assignee or type",
    responses={
        **_NOT_FOUND,
        409: {"description": "A move the life cycle does not allow, or a deactivated assignee."},
    },
)
def update_inquiry(
    inquiry_id: RowId,
    body: InquiryUpdate,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> InquiryDetail:
    """Status moves: open → waiting → resolved, waiting → open, resolved → open
    (reopen, clears `resolved_at`); open → resolved directly."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    inquiry = service.update_inquiry(session, merchant_id, inquiry_id, now=clock.now(), **changes)
    return _detail(session, merchant_id, inquiry)


@router.post(
    "/api/v1/inquiries/{inquiry_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=TurnOut,
    tags=["support"],
    summary="Reply to the shopper (by an agent or the store)",
    responses=_NOT_FOUND,
)
def reply(
    inquiry_id: RowId,
    body: MessageCreate,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> TurnOut:
    """The first reply sets `first_response_at`; an `open` inquiry becomes `waiting`."""
    turn = service.reply(
        session,
        merchant_id,
        inquiry_id,
        text=body.text,
        author_id=body.author_id,
        now=clock.now(),
    )
    return turn_out(turn)


From = Annotated[
    date | None,
    Query(alias="from", description=f"First day (default: {DEFAULT_DAYS} days before `to`)."),
]
To = Annotated[
    date | None, Query(alias="to", description="Day after the last (default: tomorrow).")
]


@router.get(
    "/api/v1/analytics/support",
    response_model=SupportAnalyticsOut,
    tags=["analytics"],
    summary="Support: inquiries per 100 orders, answered without an agent, response times",
)
def support_analytics(
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    start: From = None,
    end: To = None,
) -> SupportAnalyticsOut:
    now = clock.now()
    start, end = date_range(start, end, now.date())
    return SupportAnalyticsOut.model_validate(
        asdict(support_figures(session, merchant_id, start, end, now))
    )


def turn_out(turn: ConversationTurn) -> TurnOut:
    return TurnOut(
        id=turn.id,
        role=turn.role,
        text=turn.text,
        intent=turn.intent,
        confidence=turn.confidence,
        author_id=turn.author_id,
        created_at=turn.created_at,
    )


def inquiry_out(inquiry: Inquiry) -> InquiryOut:
    return InquiryOut(
        id=inquiry.id,
        order_id=inquiry.order_id,
        conversation_id=inquiry.conversation_id,
        type=inquiry.type,
        status=inquiry.status,
        source=inquiry.source,
        subject=inquiry.subject,
        contact=Contact(email=inquiry.contact_email, phone=inquiry.contact_phone),
        assignee_id=inquiry.assignee_id,
        created_at=inquiry.created_at,
        updated_at=inquiry.updated_at,
        first_response_at=inquiry.first_response_at,
        resolved_at=inquiry.resolved_at,
    )


def _detail(session: SessionDep, merchant_id: int, inquiry: Inquiry) -> InquiryDetail:
    conversation = None
    if inquiry.conversation_id is not None:
        view = service.get_conversation(session, merchant_id, inquiry.conversation_id)
        c = view.conversation
        conversation = ConversationOut(
            id=c.id,
            order_id=c.order_id,
            lang=c.lang,
            handed_over=c.handed_over,
            created_at=c.created_at,
            updated_at=c.updated_at,
            turns=[turn_out(t) for t in view.turns],
        )
    return InquiryDetail(**inquiry_out(inquiry).model_dump(), conversation=conversation)
