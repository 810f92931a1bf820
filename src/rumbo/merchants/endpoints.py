from __future__ import annotations

from fastapi import APIRouter

from rumbo.db import SessionDep
from rumbo.errors import RumboError
from rumbo.merchants import service
from rumbo.merchants.deps import MerchantDep
from rumbo.merchants.schemas import MerchantOut, MerchantUpdate
from rumbo.models import Merchant

router = APIRouter(prefix="/api/v1/merchant", tags=["merchant"])


def merchant_out(merchant: Merchant) -> MerchantOut:
    return MerchantOut.model_validate(merchant, from_attributes=True)


@router.get("", response_model=MerchantOut, summary="The merchant of this API key")
def get_merchant(session: SessionDep, merchant_id: MerchantDep) -> MerchantOut:
    return merchant_out(service.get_merchant(session, merchant_id))


@router.patch("", response_model=MerchantOut, summary="Update name and branding")
def update_merchant(
    body: MerchantUpdate, session: SessionDep, merchant_id: MerchantDep
) -> MerchantOut:
    changes = body.model_dump(mode="json", exclude_unset=True)
    if changes.get("name", "") is None:
        raise RumboError("A merchant must keep a name.", 422, "validation_error")
    return merchant_out(service.update_merchant(session, merchant_id, changes))
