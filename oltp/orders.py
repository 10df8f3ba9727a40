"""Customer orders: place (with idempotency), allocate (FEFO, split, backorder), cancel, read.

Lock order (``oltp/locking.md``): the ``orders`` row first, then balances in ascending id in one statement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oltp.events import emit, utcnow
from oltp.inventory import find_by_code, find_many_by_code
from oltp.models import (
    ORDER_CHANNELS,
    Customer,
    Item,
    Order,
    OrderLine,
    OrderStatusHistory,
    Reservation,
    Warehouse,
)
from stockyard.errors import ConflictError, NotFoundError, ValidationError

__all__ = [
    "OrderLineResult",
    "OrderResult",
    "place_order",
    "allocate",
    "cancel_order",
    "get_order",
    "lock_order",
    "set_order_status",
]

# Statuses from which allocation may move an order to allocated / partially_allocated / backordered.
_ALLOCATION_STATUSES = ("new", "allocated", "partially_allocated", "backordered")
_CLOSED_STATUSES = ("packed", "shipped", "delivered", "cancelled")


@dataclass(frozen=True)
class OrderLineResult:
    """One order line as callers see it (business codes, no database ids)."""

    line_number: int
    item: str
    quantity: int
    allocated_quantity: int
    backordered_quantity: int
    picked_quantity: int
    shipped_quantity: int
    cancelled_quantity: int
    unit_price: float


@dataclass(frozen=True)
class OrderResult:
    """An order as the API returns it; ``to_dict()`` gives the JSON shape."""

    id: int
    order_number: str
    status: str
    customer: str
    warehouse: str | None
    channel: str
    priority: int
    ordered_at: dt.datetime
    promised_date: dt.date | None
    lines: tuple[OrderLineResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """The order as plain JSON-able types (dates as ISO strings)."""
        d = asdict(self)
        d["ordered_at"] = self.ordered_at.isoformat()
        d["promised_date"] = self.promised_date.isoformat() if self.promised_date else None
        d["lines"] = [dict(line) for line in d["lines"]]
        return d


# -------------------------------------------------------------------------------------------------- helpers
def lock_order(session: Session, order_id: int) -> Order:
    """Lock the order row ``FOR UPDATE`` (first lock of every order service) and return it.

    Raises:
        NotFoundError: no such order.
    """
    order = session.scalars(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if order is None:
        raise NotFoundError(f"unknown order {order_id}", field="order_id", value=order_id)
    return order


def set_order_status(
    session: Session, order: Order, status: str, at: dt.datetime, reason: str | None = None
) -> None:
    """Move ``order`` to ``status`` and record the transition in ``order_status_history`` (no-op if equal)."""
    if order.status == status:
        return
    session.execute(
        insert(OrderStatusHistory).values(
            order_id=order.id, from_status=order.status, to_status=status, changed_at=at, reason=reason
        )
    )
    order.status = status


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(a))


def _warehouse_rank(session: Session, customer: Customer, first: int | None) -> dict[int, int]:
    """Preference of each warehouse: the order's own first, the rest by distance from the customer."""
    rows = session.execute(select(Warehouse.id, Warehouse.lat, Warehouse.lon)).all()
    ordered = sorted(
        rows, key=lambda r: (r.id != first, _haversine_km(customer.lat, customer.lon, r.lat, r.lon), r.id)
    )
    return {r.id: i for i, r in enumerate(ordered)}


def _request_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _positive_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer, got {value!r}", field=field, value=value)
    if value <= 0:
        raise ValidationError(f"{field} must be positive, got {value}", field=field, value=value)
    return value


# ------------------------------------------------------------------------------------------------- services
def place_order(
    *,
    session: Session,
    customer: str,
    lines: list[dict[str, Any]],
    warehouse: str | None = None,
    channel: str = "api",
    priority: int = 3,
    promised_date: dt.date | None = None,
    ordered_at: dt.datetime | None = None,
    idempotency_key: str | None = None,
    order_number: str | None = None,
    allocate: bool = True,
) -> OrderResult:
    """Create an order (and by default allocate it) in the caller's transaction.

    Args:
        session: Open session (one transaction; nothing is written when this raises).
        customer: Customer code.
        lines: ``[{item, quantity, unit_price?, is_promo?}]``; ``unit_price`` defaults to the item's list price.
        warehouse: Preferred shipping warehouse code; None picks the warehouse nearest to the customer.
        channel: One of ``web, retail, b2b, marketplace, api, import``.
        priority: 1 (highest) .. 5.
        promised_date: Date promised to the customer.
        ordered_at: Business time of the order; defaults to now.
        idempotency_key: Retried requests with the same key and body return the original order.
        order_number: External order number; defaults to ``SO-<id>``.
        allocate: Reserve stock right away (default).

    Returns:
        The order as :class:`OrderResult`.

    Raises:
        NotFoundError: unknown customer, warehouse or item (``field`` names which, e.g. ``lines[1].item``).
        ValidationError: no lines, non-positive quantity, bad channel/priority/price.
        ConflictError: idempotency key reused with a different body, or order number already taken.
    """
    if not lines:
        raise ValidationError("an order needs at least one line", field="lines", value=lines)
    if channel not in ORDER_CHANNELS:
        raise ValidationError(
            f"channel must be one of {', '.join(ORDER_CHANNELS)}", field="channel", value=channel
        )
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
        raise ValidationError("priority must be an integer 1..5", field="priority", value=priority)
    norm: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        code = line.get("item")
        if not isinstance(code, str) or not code:
            raise ValidationError(f"lines[{i}].item is required", field=f"lines[{i}].item", value=code)
        qty = _positive_int(line.get("quantity"), f"lines[{i}].quantity")
        price = line.get("unit_price")
        if price is not None:
            price = Decimal(str(price))
            if price < 0:
                raise ValidationError(
                    "unit_price must be >= 0", field=f"lines[{i}].unit_price", value=line["unit_price"]
                )
        norm.append(
            {
                "item": code,
                "quantity": qty,
                "unit_price": price,
                "is_promo": bool(line.get("is_promo", False)),
            }
        )

    body = {
        "customer": customer,
        "warehouse": warehouse,
        "channel": channel,
        "priority": priority,
        "promised_date": promised_date,
        "order_number": order_number,
        "lines": [
            {**n, "unit_price": None if n["unit_price"] is None else str(n["unit_price"])} for n in norm
        ],
    }
    request_hash = _request_hash(body)
    if idempotency_key is not None:
        existing = _by_idempotency_key(session, idempotency_key, request_hash)
        if existing is not None:
            return existing

    cust = find_by_code(session, Customer, customer, field="customer")
    wh = find_by_code(session, Warehouse, warehouse, field="warehouse") if warehouse is not None else None
    items = find_many_by_code(
        session, Item, [n["item"] for n in norm], [f"lines[{i}].item" for i in range(len(norm))]
    )
    rank = _warehouse_rank(session, cust, wh.id if wh is not None else None)
    warehouse_id = wh.id if wh is not None else (min(rank, key=rank.__getitem__) if rank else None)
    ordered_at = ordered_at or utcnow()

    order_id = session.scalar(text("select nextval(pg_get_serial_sequence('orders', 'id'))"))
    number = order_number or f"SO-{order_id:08d}"
    inserted = session.scalar(
        pg_insert(Order)
        .values(
            id=order_id,
            order_number=number,
            customer_id=cust.id,
            warehouse_id=warehouse_id,
            channel=channel,
            priority=priority,
            ordered_at=ordered_at,
            promised_date=promised_date,
            status="new",
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
        .on_conflict_do_nothing()
        .returning(Order.id)
    )
    if inserted is None:
        # A concurrent request with the same key committed first (the insert waited for it), or the order
        # number is taken: nothing of ours was written.
        if idempotency_key is not None:
            existing = _by_idempotency_key(session, idempotency_key, request_hash)
            if existing is not None:
                return existing
        raise ConflictError(f"order number '{number}' already exists", field="order_number", value=number)

    session.execute(
        insert(OrderLine),
        [
            {
                "order_id": order_id,
                "line_number": i + 1,
                "item_id": items[n["item"]].id,
                "quantity_ordered": n["quantity"],
                "quantity_backordered": n["quantity"],
                "unit_price": n["unit_price"] if n["unit_price"] is not None else items[n["item"]].list_price,
                "is_promo": n["is_promo"],
            }
            for i, n in enumerate(norm)
        ],
    )
    session.execute(
        insert(OrderStatusHistory).values(
            order_id=order_id, from_status=None, to_status="new", changed_at=ordered_at
        )
    )
    wh_code = (
        wh.code
        if wh is not None
        else session.scalar(select(Warehouse.code).where(Warehouse.id == warehouse_id))
    )
    emit(
        session,
        "order",
        order_id,
        "order.created",
        {
            "order_number": number,
            "customer": customer,
            "warehouse": wh_code,
            "channel": channel,
            "priority": priority,
            "promised_date": promised_date,
            "lines": [{"item": n["item"], "quantity": n["quantity"]} for n in norm],
        },
        ordered_at,
    )
    if allocate:
        _allocate(session, lock_order(session, order_id), ordered_at, customer=cust, rank=rank)
    return get_order(session=session, order_id=order_id)


def _by_idempotency_key(session: Session, key: str, request_hash: str) -> OrderResult | None:
    row = session.execute(select(Order.id, Order.request_hash).where(Order.idempotency_key == key)).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise ConflictError(
            f"idempotency key '{key}' was already used with a different request",
            field="idempotency_key",
            value=key,
        )
    return get_order(session=session, order_id=row.id)


def allocate(*, session: Session, order_id: int, allocated_at: dt.datetime | None = None) -> OrderResult:
    """Reserve stock for the order's open quantity.

    FEFO: lots expiring first (no expiry last), pick faces before reserve; the order's warehouse first, then the
    other warehouses by distance from the customer. A line may be split over locations, lots and warehouses;
    what cannot be reserved stays backordered. Calling it again allocates backorders from new stock.

    Args:
        session: Open session (one transaction).
        order_id: The order.
        allocated_at: Business time; defaults to now.

    Returns:
        The order after allocation.

    Raises:
        NotFoundError: unknown order.
        ConflictError: the order is cancelled, packed, shipped or delivered.
    """
    order = lock_order(session, order_id)
    if order.status in _CLOSED_STATUSES:
        raise ConflictError(f"order {order_id} is {order.status}", field="order_id", value=order_id)
    _allocate(session, order, allocated_at or utcnow())
    return get_order(session=session, order_id=order_id)


def _allocate(
    session: Session,
    order: Order,
    at: dt.datetime,
    *,
    customer: Customer | None = None,
    rank: dict[int, int] | None = None,
) -> None:
    lines = session.execute(
        text(
            "select id, item_id, quantity_ordered - quantity_allocated - quantity_shipped - quantity_cancelled as open, "
            "quantity_allocated + quantity_shipped as held "
            "from order_lines where order_id = :o order by line_number for update"
        ),
        {"o": order.id},
    ).all()
    need = {ln.id: ln.open for ln in lines if ln.open > 0}
    if not need:
        return
    items = sorted({ln.item_id for ln in lines if ln.id in need})
    if rank is None:
        customer = customer or session.get(Customer, order.customer_id)
        assert customer is not None
        rank = _warehouse_rank(session, customer, order.warehouse_id)
    # One statement locks every candidate balance in ascending id (the global lock order); rows changed by a
    # concurrent transaction are re-checked against "on_hand > reserved" after the wait (READ COMMITTED).
    balances = session.execute(
        text(
            """
            select b.id, b.warehouse_id, b.item_id, b.on_hand - b.reserved as available,
                   lot.expiry_date, loc.location_type, loc.code as location
            from inventory_balances b
            join locations loc on loc.id = b.location_id
            left join lots lot on lot.id = b.lot_id
            where b.item_id = any(:items) and b.on_hand > b.reserved and loc.is_active
              and loc.location_type in ('pick_face', 'reserve')
            order by b.id
            for update of b
            """
        ),
        {"items": items},
    ).all()
    by_item: dict[int, list[Any]] = {}
    for b in balances:
        by_item.setdefault(b.item_id, []).append(b)
    for cands in by_item.values():
        cands.sort(
            key=lambda b: (
                rank.get(b.warehouse_id, 1 << 30),
                b.expiry_date is None,
                b.expiry_date or dt.date.max,
                b.location_type != "pick_face",
                b.location,
                b.id,
            )
        )
    available = {b.id: b.available for b in balances}
    reservations: list[dict[str, int]] = []
    line_alloc: dict[int, int] = {}
    for ln in lines:
        want = need.get(ln.id, 0)
        for b in by_item.get(ln.item_id, []):
            if want == 0:
                break
            take = min(want, available[b.id])
            if take <= 0:
                continue
            available[b.id] -= take
            want -= take
            reservations.append({"order_line_id": ln.id, "balance_id": b.id, "quantity": take})
            line_alloc[ln.id] = line_alloc.get(ln.id, 0) + take
    if reservations:
        session.execute(insert(Reservation), reservations)
        reserved: dict[int, int] = {}
        for r in reservations:
            reserved[r["balance_id"]] = reserved.get(r["balance_id"], 0) + r["quantity"]
        session.execute(
            text("update inventory_balances set reserved = reserved + :q where id = :id"),
            [{"id": k, "q": v} for k, v in sorted(reserved.items())],
        )
    session.execute(
        text(
            "update order_lines set quantity_allocated = quantity_allocated + :a, "
            "quantity_backordered = :open - :a where id = :id"
        ),
        [{"id": lid, "a": line_alloc.get(lid, 0), "open": open_} for lid, open_ in need.items()],
    )
    total_alloc = sum(line_alloc.values())
    total_need = sum(need.values())
    if order.status in _ALLOCATION_STATUSES:
        has_alloc = total_alloc > 0 or any(ln.held > 0 for ln in lines)
        if total_alloc == total_need:
            status = "allocated"
        elif has_alloc:
            status = "partially_allocated"
        else:
            status = "backordered"
        set_order_status(session, order, status, at)
    emit(
        session,
        "order",
        order.id,
        "order.allocated",
        {
            "order_number": order.order_number,
            "status": order.status,
            "allocated": total_alloc,
            "backordered": total_need - total_alloc,
            "reservations": [
                {
                    "order_line_id": r["order_line_id"],
                    "balance_id": r["balance_id"],
                    "quantity": r["quantity"],
                }
                for r in reservations
            ],
        },
        at,
    )


def cancel_order(
    *, session: Session, order_id: int, reason: str | None = None, cancelled_at: dt.datetime | None = None
) -> OrderResult:
    """Cancel an order that has not been packed: release every reservation and open pick task.

    Args:
        session: Open session (one transaction).
        order_id: The order.
        reason: Why (kept in the status history and the event).
        cancelled_at: Business time; defaults to now.

    Returns:
        The cancelled order.

    Raises:
        NotFoundError: unknown order.
        ConflictError: the order is already packed, shipped, delivered or cancelled.
    """
    at = cancelled_at or utcnow()
    order = lock_order(session, order_id)
    if order.status in _CLOSED_STATUSES:
        raise ConflictError(
            f"order {order_id} is {order.status} and cannot be cancelled", field="order_id", value=order_id
        )
    released = session.execute(
        text(
            "select r.id, r.balance_id, r.quantity from reservations r join order_lines l on l.id = r.order_line_id "
            "where l.order_id = :o and r.status = 'active'"
        ),
        {"o": order_id},
    ).all()
    per_balance: dict[int, int] = {}
    for r in released:
        per_balance[r.balance_id] = per_balance.get(r.balance_id, 0) + r.quantity
    if per_balance:
        session.execute(
            text("select id from inventory_balances where id = any(:ids) order by id for update"),
            {"ids": sorted(per_balance)},
        )
        session.execute(
            text("update inventory_balances set reserved = reserved - :q where id = :id"),
            [{"id": k, "q": v} for k, v in sorted(per_balance.items())],
        )
        session.execute(
            text("update reservations set status = 'cancelled' where id = any(:ids)"),
            {"ids": [r.id for r in released]},
        )
    session.execute(
        text(
            "update pick_tasks set status = 'cancelled' where status = 'open' and order_line_id in "
            "(select id from order_lines where order_id = :o)"
        ),
        {"o": order_id},
    )
    session.execute(
        text(
            "update order_lines set quantity_cancelled = quantity_ordered - quantity_shipped, quantity_allocated = 0, "
            "quantity_backordered = 0, quantity_picked = least(quantity_picked, quantity_shipped) where order_id = :o"
        ),
        {"o": order_id},
    )
    set_order_status(session, order, "cancelled", at, reason)
    emit(
        session,
        "order",
        order_id,
        "order.cancelled",
        {"order_number": order.order_number, "reason": reason, "released": sum(per_balance.values())},
        at,
    )
    return get_order(session=session, order_id=order_id)


def get_order(*, session: Session, order_id: int) -> OrderResult:
    """Read one order with its lines.

    Args:
        session: Open session.
        order_id: The order id (as returned by :func:`place_order`).

    Returns:
        The order.

    Raises:
        NotFoundError: unknown order.
    """
    head = session.execute(
        select(Order, Customer.code.label("customer"), Warehouse.code.label("warehouse"))
        .join(Customer, Customer.id == Order.customer_id)
        .outerjoin(Warehouse, Warehouse.id == Order.warehouse_id)
        .where(Order.id == order_id)
        .execution_options(populate_existing=True)
    ).first()
    if head is None:
        raise NotFoundError(f"unknown order {order_id}", field="order_id", value=order_id)
    order = head.Order
    lines = session.execute(
        select(OrderLine, Item.code.label("item"))
        .join(Item, Item.id == OrderLine.item_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.line_number)
        .execution_options(populate_existing=True)
    ).all()
    return OrderResult(
        id=order.id,
        order_number=order.order_number,
        status=order.status,
        customer=head.customer,
        warehouse=head.warehouse,
        channel=order.channel,
        priority=order.priority,
        ordered_at=order.ordered_at,
        promised_date=order.promised_date,
        lines=tuple(
            OrderLineResult(
                line_number=ln.OrderLine.line_number,
                item=ln.item,
                quantity=ln.OrderLine.quantity_ordered,
                allocated_quantity=ln.OrderLine.quantity_allocated,
                backordered_quantity=ln.OrderLine.quantity_backordered,
                picked_quantity=ln.OrderLine.quantity_picked,
                shipped_quantity=ln.OrderLine.quantity_shipped,
                cancelled_quantity=ln.OrderLine.quantity_cancelled,
                unit_price=float(ln.OrderLine.unit_price),
            )
            for ln in lines
        ),
    )
