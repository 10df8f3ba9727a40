"""``POST /v1/orders`` (idempotent with ``Idempotency-Key``) and ``GET /v1/orders/{order_id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from oltp.models import Order
from oltp.orders import OrderResult, get_order, place_order
from oltp.tx import run_in_transaction
from serving.api.deps import DbDep, OrdersRead, OrdersWrite
from serving.schemas import PG_INT_MAX, ErrorOut, OrderIn, OrderLineOut, OrderOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/orders", tags=["orders"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"},
    403: {"model": ErrorOut, "description": "The key lacks the scope"},
    404: {"model": ErrorOut, "description": "Unknown customer, warehouse, item or order"},
    429: {"model": ErrorOut, "description": "Rate limit exceeded (see Retry-After)"},
    503: {"model": ErrorOut, "description": "Database unavailable"},
}


def _out(result: OrderResult) -> OrderOut:
    return OrderOut(
        id=result.id,
        order_number=result.order_number,
        status=result.status,
        customer=result.customer,
        warehouse=result.warehouse,
        lines=[
            OrderLineOut(
                item=line.item,
                quantity=line.quantity,
                allocated_quantity=line.allocated_quantity,
                backordered_quantity=line.backordered_quantity,
            )
            for line in result.lines
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    responses={
        **_ERRORS,
        200: {
            "model": OrderOut,
            "description": "Replay: the order created earlier with this Idempotency-Key",
        },
        409: {"model": ErrorOut, "description": "Idempotency-Key reused with a different body"},
    },
)
def create_order(
    body: OrderIn,
    response: Response,
    _: OrdersWrite,
    db: DbDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=128,
            pattern=r"^[\x21-\x7e]+$",
            description="Retry-safe key: the same key and body return the original order (200).",
        ),
    ] = None,
) -> OrderOut:
    """Place an order and allocate stock (201); a retried request with the same key and body returns 200."""
    lines = [{"item": line.item, "quantity": line.quantity} for line in body.lines]

    def work(session: Session) -> tuple[OrderResult, bool]:
        replay = idempotency_key is not None and (
            session.scalar(select(Order.id).where(Order.idempotency_key == idempotency_key)) is not None
        )
        result = place_order(
            session=session,
            customer=body.customer,
            warehouse=body.warehouse,
            lines=lines,
            channel="api",
            idempotency_key=idempotency_key,
        )
        return result, replay

    result, replay = run_in_transaction(db.engine(), work)
    if replay:
        response.status_code = 200
    return _out(result)


@router.get("/{order_id}", response_model=OrderOut, responses=_ERRORS)
def read_order(order_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)], _: OrdersRead, db: DbDep) -> OrderOut:
    """One order with its lines."""
    with db.session() as session:
        return _out(get_order(session=session, order_id=order_id))
