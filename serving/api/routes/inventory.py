"""``GET /v1/inventory?item=&warehouse=``: stock per item and warehouse."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from oltp.inventory import get_inventory
from serving.api.deps import DbDep, InventoryRead
from serving.api.routes.orders import _ERRORS
from serving.schemas import Code, InventoryRow

__all__ = ["router"]

router = APIRouter(prefix="/v1/inventory", tags=["inventory"])


@router.get("", response_model=list[InventoryRow], responses=_ERRORS)
def list_inventory(
    _: InventoryRead,
    db: DbDep,
    item: Annotated[Code | None, Query(description="Only this item code.")] = None,
    warehouse: Annotated[Code | None, Query(description="Only this warehouse code.")] = None,
) -> list[InventoryRow]:
    """On hand, reserved and available per item and warehouse (404 for an unknown item or warehouse)."""
    with db.session() as session:
        rows = get_inventory(session=session, item=item, warehouse=warehouse)
    return [InventoryRow(**row) for row in rows]
