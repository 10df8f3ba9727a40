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
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from oltp.events import emit, encode_payload, utcnow
from oltp.models import (
    ORDER_CHANNELS,
    Customer,
    Item,
    Order,
    OrderLine,
    OrderStatusHistory,
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


def _request_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _positive_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer, got {value!r}", field=field, value=value)
    if value <= 0:
        raise ValidationError(f"{field} must be positive, got {value}", field=field, value=value)
    return value


# --------------------------------------------------------------------------------------------- statements
# place_order costs four statements whatever the number of lines (plus BEGIN/COMMIT): look-up, create,
# lock candidate balances, write the allocation. Each is a fixed SQL text over array parameters, so psycopg
# prepares it once per connection; lines, reservations and balances travel as parallel arrays (unnest).

# Master data and the idempotency key in one round trip. Codes map to ids through the unique ``code`` indexes;
# nothing is cached across transactions, so a price change or a new warehouse is seen by the next order.
_LOOKUP = text(
    """
    select
      (select json_build_array(id, lat, lon) from customers where code = :customer) as customer,
      (select coalesce(json_agg(json_build_array(code, id, list_price::text)), '[]'::json)
         from items where code = any(cast(:items as text[]))) as items,
      (select coalesce(json_agg(json_build_array(id, code, lat, lon) order by id), '[]'::json)
         from warehouses) as warehouses,
      (select json_build_array(id, request_hash) from orders where idempotency_key = :key) as existing
    """
)

# The order, its lines, the first status-history row and ``order.created`` in one statement. Everything hangs off
# the ``o`` CTE: when the insert hits a unique key (idempotency key or order number taken), ``o`` is empty and
# nothing else is written. The new order row is invisible to other transactions until commit, so creating it
# first keeps the lock order (orders before balances) without a separate ``FOR UPDATE``.
_CREATE = text(
    """
    with n as (select nextval(pg_get_serial_sequence('orders', 'id')) as id),
    o as (
      insert into orders (id, order_number, customer_id, warehouse_id, channel, priority, ordered_at,
                          promised_date, status, idempotency_key, request_hash)
      select n.id,
             coalesce(:order_number, 'SO-' || repeat('0', greatest(0, 8 - length(n.id::text))) || n.id::text),
             :customer_id, :warehouse_id, :channel, :priority, :ordered_at, :promised_date, 'new',
             :key, :request_hash
      from n
      on conflict do nothing
      returning id, order_number, ordered_at
    ),
    l as (
      insert into order_lines (order_id, line_number, item_id, quantity_ordered, quantity_backordered,
                               unit_price, is_promo)
      select o.id, u.n, u.item_id, u.qty, u.qty, u.price, u.promo
      from o, unnest(cast(:item_ids as int[]), cast(:qtys as int[]), cast(:prices as numeric[]),
                     cast(:promos as boolean[])) with ordinality as u(item_id, qty, price, promo, n)
      returning id, line_number, unit_price
    ),
    h as (
      insert into order_status_history (order_id, from_status, to_status, changed_at)
      select o.id, null, 'new', o.ordered_at from o
    ),
    e as (
      insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at)
      select 'order', o.id::text, 'order.created',
             cast(:payload as jsonb) || jsonb_build_object('order_number', o.order_number), o.ordered_at
      from o
    )
    select o.id, o.order_number, o.ordered_at, l.id as line_id, l.line_number, l.unit_price
    from o, l order by l.line_number
    """
)

# Candidate balances of the ordered items, locked in ONE statement in ascending id (the global lock order).
# Under READ COMMITTED a row changed by a concurrent transaction is re-checked against "on_hand > reserved"
# after the wait, so a balance drained meanwhile is skipped rather than oversold.
_LOCK_CANDIDATES = text(
    """
    select b.id, b.warehouse_id, b.item_id, b.on_hand - b.reserved as available,
           lot.expiry_date, loc.location_type, loc.code as location
    from inventory_balances b
    join locations loc on loc.id = b.location_id
    left join lots lot on lot.id = b.lot_id
    where b.item_id = any(cast(:items as int[])) and b.on_hand > b.reserved and loc.is_active
      and loc.location_type in ('pick_face', 'reserve')
    order by b.id
    for update of b
    """
)

# Every write of an allocation in one statement: reservations, reserved quantities of the (already locked)
# balances, line quantities, the order status with its history row, and ``order.allocated``. Each table is
# touched by one CTE only (PostgreSQL forbids changing a row twice in one statement); empty arrays write nothing.
_WRITE_ALLOCATION = text(
    """
    with r as (
      insert into reservations (order_line_id, balance_id, quantity)
      select * from unnest(cast(:r_lines as int[]), cast(:r_balances as int[]), cast(:r_qtys as int[]))
    ),
    b as (
      update inventory_balances b set reserved = b.reserved + u.qty
      from unnest(cast(:b_ids as int[]), cast(:b_qtys as int[])) as u(id, qty)
      where b.id = u.id
    ),
    l as (
      update order_lines l set quantity_allocated = l.quantity_allocated + u.alloc,
                               quantity_backordered = u.open - u.alloc
      from unnest(cast(:l_ids as int[]), cast(:l_allocs as int[]), cast(:l_opens as int[])) as u(id, alloc, open)
      where l.id = u.id
    ),
    o as (
      update orders set status = cast(:to_status as varchar) where id = :order_id and cast(:changed as boolean)
    ),
    h as (
      insert into order_status_history (order_id, from_status, to_status, changed_at)
      select :order_id, cast(:from_status as varchar), cast(:to_status as varchar), cast(:at as timestamptz)
      where cast(:changed as boolean)
    )
    insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at)
    values ('order', cast(:order_id as text), 'order.allocated', cast(:payload as jsonb), :at)
    """
)


def _rank_warehouses(
    warehouses: list[tuple[int, float, float]], lat: float, lon: float, first: int | None
) -> dict[int, int]:
    """Preference of each warehouse ``(id, lat, lon)``: the order's own first, the rest by distance."""
    ordered = sorted(warehouses, key=lambda w: (w[0] != first, _haversine_km(lat, lon, w[1], w[2]), w[0]))
    return {w[0]: i for i, w in enumerate(ordered)}


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

    Four SQL statements whatever the number of lines (look-up, create, lock balances, allocate); see
    ``oltp/locking.md`` for the lock order.

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

    # 1. look-ups (and the idempotency key) in one statement
    found = session.execute(
        _LOOKUP,
        {"customer": customer, "items": sorted({n["item"] for n in norm}), "key": idempotency_key},
    ).one()
    if found.existing is not None:
        return _replay(session, idempotency_key, found.existing[0], found.existing[1], request_hash)
    if found.customer is None:
        raise NotFoundError(f"unknown customer '{customer}' (customer)", field="customer", value=customer)
    customer_id, cust_lat, cust_lon = found.customer
    warehouses = [(w[0], w[2], w[3]) for w in found.warehouses]
    wh_codes = {w[0]: w[1] for w in found.warehouses}
    wh_id: int | None = None
    if warehouse is not None:
        wh_id = next((w_id for w_id, code in wh_codes.items() if code == warehouse), None)
        if wh_id is None:
            raise NotFoundError(
                f"unknown warehouse '{warehouse}' (warehouse)", field="warehouse", value=warehouse
            )
    items = {row[0]: (row[1], Decimal(row[2])) for row in found.items}
    for i, n in enumerate(norm):
        if n["item"] not in items:
            raise NotFoundError(
                f"unknown item '{n['item']}' (lines[{i}].item)", field=f"lines[{i}].item", value=n["item"]
            )
    rank = _rank_warehouses(warehouses, cust_lat, cust_lon, wh_id)
    warehouse_id = wh_id if wh_id is not None else (min(rank, key=rank.__getitem__) if rank else None)
    ordered_at = ordered_at or utcnow()

    # 2. order + lines + history + order.created
    created = session.execute(
        _CREATE,
        {
            "order_number": order_number,
            "customer_id": customer_id,
            "warehouse_id": warehouse_id,
            "channel": channel,
            "priority": priority,
            "ordered_at": ordered_at,
            "promised_date": promised_date,
            "key": idempotency_key,
            "request_hash": request_hash,
            "item_ids": [items[n["item"]][0] for n in norm],
            "qtys": [n["quantity"] for n in norm],
            "prices": [n["unit_price"] if n["unit_price"] is not None else items[n["item"]][1] for n in norm],
            "promos": [n["is_promo"] for n in norm],
            "payload": encode_payload(
                {
                    "customer": customer,
                    "warehouse": wh_codes.get(warehouse_id) if warehouse_id is not None else None,
                    "channel": channel,
                    "priority": priority,
                    "promised_date": promised_date,
                    "lines": [{"item": n["item"], "quantity": n["quantity"]} for n in norm],
                }
            ),
        },
    ).all()
    if not created:
        # A concurrent request with the same key committed first (the insert waited for it), or the order
        # number is taken: nothing of ours was written.
        if idempotency_key is not None:
            again = session.execute(
                select(Order.id, Order.request_hash).where(Order.idempotency_key == idempotency_key)
            ).first()
            if again is not None:
                return _replay(session, idempotency_key, again.id, again.request_hash, request_hash)
        number = order_number
        raise ConflictError(f"order number '{number}' already exists", field="order_number", value=number)
    order_id, number, stored_at = created[0].id, created[0].order_number, created[0].ordered_at
    # (id, item_id, open, held): a new order holds nothing yet.
    open_lines = [
        (row.line_id, items[n["item"]][0], n["quantity"], 0) for row, n in zip(created, norm, strict=True)
    ]
    status = "new"
    allocated: dict[int, int] = {}
    if allocate:
        status, allocated = _allocate_lines(session, order_id, number, "new", open_lines, rank, ordered_at)
    return OrderResult(
        id=order_id,
        order_number=number,
        status=status,
        customer=customer,
        warehouse=wh_codes.get(warehouse_id) if warehouse_id is not None else None,
        channel=channel,
        priority=priority,
        ordered_at=stored_at,
        promised_date=promised_date,
        lines=tuple(
            OrderLineResult(
                line_number=row.line_number,
                item=n["item"],
                quantity=n["quantity"],
                allocated_quantity=allocated.get(row.line_id, 0),
                backordered_quantity=n["quantity"] - allocated.get(row.line_id, 0),
                picked_quantity=0,
                shipped_quantity=0,
                cancelled_quantity=0,
                unit_price=float(row.unit_price),
            )
            for row, n in zip(created, norm, strict=True)
        ),
    )


def _replay(
    session: Session, key: str | None, order_id: int, stored_hash: str | None, request_hash: str
) -> OrderResult:
    if stored_hash != request_hash:
        raise ConflictError(
            f"idempotency key '{key}' was already used with a different request",
            field="idempotency_key",
            value=key,
        )
    return get_order(session=session, order_id=order_id)


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


def _allocate(session: Session, order: Order, at: dt.datetime) -> None:
    """Allocate the open quantity of a locked order (ORM row from :func:`lock_order`)."""
    # Lines after the order lock (lock order); the customer and warehouses for the ranking ride along.
    rows = session.execute(
        text(
            """
            select l.id, l.item_id,
                   l.quantity_ordered - l.quantity_allocated - l.quantity_shipped - l.quantity_cancelled as open,
                   l.quantity_allocated + l.quantity_shipped as held, c.lat, c.lon,
                   (select json_agg(json_build_array(id, lat, lon) order by id) from warehouses) as warehouses
            from order_lines l join orders o on o.id = l.order_id join customers c on c.id = o.customer_id
            where l.order_id = :o order by l.line_number for update of l
            """
        ),
        {"o": order.id},
    ).all()
    if not any(r.open > 0 for r in rows):
        return
    rank = _rank_warehouses(
        [(w[0], w[1], w[2]) for w in rows[0].warehouses or []], rows[0].lat, rows[0].lon, order.warehouse_id
    )
    status, _ = _allocate_lines(
        session,
        order.id,
        order.order_number,
        order.status,
        [(r.id, r.item_id, r.open, r.held) for r in rows],
        rank,
        at,
    )
    # The statement above already wrote the status; keep the ORM row in step without a second UPDATE.
    set_committed_value(order, "status", status)


def _allocate_lines(
    session: Session,
    order_id: int,
    order_number: str,
    current_status: str,
    lines: list[tuple[int, int, int, int]],
    rank: dict[int, int],
    at: dt.datetime,
) -> tuple[str, dict[int, int]]:
    """Reserve stock for ``lines`` ``[(line_id, item_id, open, held)]`` of a locked (or new) order.

    Two statements: lock the candidate balances, then write reservations, balances, lines, status and event.

    Returns:
        The order status afterwards and the units allocated now per line id.
    """
    need = {lid: open_ for lid, _, open_, _ in lines if open_ > 0}
    if not need:
        return current_status, {}
    balances = session.execute(
        _LOCK_CANDIDATES, {"items": sorted({item for lid, item, _, _ in lines if lid in need})}
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
    reservations: list[tuple[int, int, int]] = []
    line_alloc: dict[int, int] = {}
    for lid, item_id, _, _ in lines:
        want = need.get(lid, 0)
        for b in by_item.get(item_id, []):
            if want == 0:
                break
            take = min(want, available[b.id])
            if take <= 0:
                continue
            available[b.id] -= take
            want -= take
            reservations.append((lid, b.id, take))
            line_alloc[lid] = line_alloc.get(lid, 0) + take
    reserved: dict[int, int] = {}
    for _, bid, q in reservations:
        reserved[bid] = reserved.get(bid, 0) + q
    total_alloc = sum(line_alloc.values())
    total_need = sum(need.values())
    status = current_status
    if current_status in _ALLOCATION_STATUSES:
        has_alloc = total_alloc > 0 or any(held > 0 for _, _, _, held in lines)
        if total_alloc == total_need:
            status = "allocated"
        elif has_alloc:
            status = "partially_allocated"
        else:
            status = "backordered"
    need_ids = sorted(need)
    session.execute(
        _WRITE_ALLOCATION,
        {
            "r_lines": [r[0] for r in reservations],
            "r_balances": [r[1] for r in reservations],
            "r_qtys": [r[2] for r in reservations],
            "b_ids": sorted(reserved),
            "b_qtys": [reserved[k] for k in sorted(reserved)],
            "l_ids": need_ids,
            "l_allocs": [line_alloc.get(lid, 0) for lid in need_ids],
            "l_opens": [need[lid] for lid in need_ids],
            "order_id": order_id,
            "from_status": current_status,
            "to_status": status,
            "changed": status != current_status,
            "at": at,
            "payload": encode_payload(
                {
                    "order_number": order_number,
                    "status": status,
                    "allocated": total_alloc,
                    "backordered": total_need - total_alloc,
                    "reservations": [
                        {"order_line_id": lid, "balance_id": bid, "quantity": q}
                        for lid, bid, q in reservations
                    ],
                }
            ),
        },
    )
    return status, line_alloc


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
