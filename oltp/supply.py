"""Inbound supply: purchase orders and their receipts, inter-warehouse transfers.

Received stock is put away by :func:`oltp.inventory.putaway_location` (zone of the item's temperature class; the
item's pick face first, else a reserve location with room). A transfer ships as a shipment (``transfer_id`` set)
whose lines keep the lots, so the receiving warehouse books the same lots.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from oltp.events import emit, utcnow
from oltp.inventory import (
    ensure_balance,
    ensure_lot,
    find_by_code,
    find_many_by_code,
    lock_balances,
    post_movements,
    putaway_location,
)
from oltp.models import Item, PurchaseOrder, PurchaseOrderLine, Supplier, Transfer, TransferLine, Warehouse
from oltp.serials import check_serials, controlled_items, mark_shipped, register_serials, select_serials
from stockyard.errors import ConflictError, NotFoundError, ValidationError

__all__ = [
    "create_purchase_order",
    "receive_purchase_order",
    "create_transfer",
    "ship_transfer",
    "receive_transfer",
    "get_purchase_order",
    "get_transfer",
    "cancel_purchase_order",
    "cancel_transfer",
]

_PO_SOURCES = ("manual", "replenishment_plan", "simulator", "import")


def _qty(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{field} must be a positive integer, got {value!r}", field=field, value=value)
    return value


def _next_id(session: Session, table: str) -> int:
    return int(session.scalar(text(f"select nextval(pg_get_serial_sequence('{table}', 'id'))")))


def get_purchase_order(*, session: Session, po_id: int) -> dict[str, Any]:
    """A purchase order with lines ``[{item, quantity_ordered, quantity_received, unit_cost}]``.

    Raises:
        NotFoundError: unknown purchase order.
    """
    head = session.execute(
        text(
            "select p.id, p.po_number, s.code as supplier, w.code as warehouse, p.status, p.source, p.ordered_at, "
            "p.expected_at from purchase_orders p join suppliers s on s.id = p.supplier_id "
            "join warehouses w on w.id = p.warehouse_id where p.id = :p"
        ),
        {"p": po_id},
    ).first()
    if head is None:
        raise NotFoundError(f"unknown purchase order {po_id}", field="po_id", value=po_id)
    lines = session.execute(
        text(
            "select i.code as item, l.quantity_ordered, l.quantity_received, l.unit_cost from purchase_order_lines l "
            "join items i on i.id = l.item_id where l.purchase_order_id = :p order by l.id"
        ),
        {"p": po_id},
    ).all()
    return {**head._mapping, "lines": [{**r._mapping, "unit_cost": float(r.unit_cost)} for r in lines]}


def create_purchase_order(
    *,
    session: Session,
    supplier: str,
    warehouse: str,
    lines: list[dict[str, Any]],
    expected_at: dt.datetime | None = None,
    source: str = "manual",
    ordered_at: dt.datetime | None = None,
    po_number: str | None = None,
) -> dict[str, Any]:
    """Order stock from a supplier into a warehouse.

    Args:
        session: Open session (one transaction).
        supplier: Supplier code.
        warehouse: Receiving warehouse code.
        lines: ``[{item, quantity, unit_cost?}]`` (``unit_cost`` defaults to the item's cost).
        expected_at: Expected arrival; default ordered_at + the supplier's mean lead time.
        source: ``manual``, ``replenishment_plan``, ``simulator`` or ``import``.
        ordered_at: Business time; defaults to now.
        po_number: External number; default ``PO-<id>``.

    Returns:
        The purchase order (see :func:`get_purchase_order`).

    Raises:
        NotFoundError: unknown supplier, warehouse or item.
        ValidationError: no lines, non-positive quantity, negative cost, bad source.
        ConflictError: ``po_number`` taken.
    """
    if not lines:
        raise ValidationError("a purchase order needs at least one line", field="lines", value=lines)
    if source not in _PO_SOURCES:
        raise ValidationError(f"source must be one of {', '.join(_PO_SOURCES)}", field="source", value=source)
    sup = find_by_code(session, Supplier, supplier, field="supplier")
    wh = find_by_code(session, Warehouse, warehouse, field="warehouse")
    for i, ln in enumerate(lines):
        _qty(ln.get("quantity"), f"lines[{i}].quantity")
        if ln.get("unit_cost") is not None and Decimal(str(ln["unit_cost"])) < 0:
            raise ValidationError(
                "unit_cost must be >= 0", field=f"lines[{i}].unit_cost", value=ln["unit_cost"]
            )
    items = find_many_by_code(
        session, Item, [str(ln.get("item")) for ln in lines], [f"lines[{i}].item" for i in range(len(lines))]
    )
    at = ordered_at or utcnow()
    pid = _next_id(session, "purchase_orders")
    number = po_number or f"PO-{pid:08d}"
    if session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.po_number == number)) is not None:
        raise ConflictError(f"purchase order '{number}' already exists", field="po_number", value=number)
    session.execute(
        insert(PurchaseOrder).values(
            id=pid,
            po_number=number,
            supplier_id=sup.id,
            warehouse_id=wh.id,
            status="open",
            source=source,
            ordered_at=at,
            expected_at=expected_at or at + dt.timedelta(days=sup.lead_time_mean_days),
        )
    )
    session.execute(
        insert(PurchaseOrderLine),
        [
            {
                "purchase_order_id": pid,
                "item_id": items[ln["item"]].id,
                "quantity_ordered": ln["quantity"],
                "unit_cost": Decimal(str(ln["unit_cost"]))
                if ln.get("unit_cost") is not None
                else items[ln["item"]].unit_cost,
            }
            for ln in lines
        ],
    )
    result = get_purchase_order(session=session, po_id=pid)
    emit(session, "purchase_order", pid, "purchase_order.created", result, at)
    return result


def _put_away(
    session: Session,
    wh: Warehouse,
    entries: list[tuple[Item, int | None, int]],
    reason: str,
    at: dt.datetime,
    reference_type: str,
    reference_id: int,
) -> list[tuple[int, int, int | None, int]]:
    """Book ``[(item, lot_id, qty)]`` into ``wh``; returns ``[(location_id, item_id, lot_id, qty)]``."""
    placed = []
    for item, lot_id, qty in entries:
        loc = putaway_location(session, wh, item, qty)
        placed.append((loc.id, item.id, lot_id, qty))
    # New balance keys in sorted key order, then one lock of all balances in id order (oltp/locking.md).
    ids = {}
    for key in sorted({(p[0], p[1], p[2] or 0, p[2]) for p in placed}):
        ids[(key[0], key[1], key[3])] = ensure_balance(session, wh.id, key[0], key[1], key[3])
    lock_balances(session, ids.values())
    post_movements(
        session,
        [(ids[(loc_id, item_id, lot_id)], qty, 0) for loc_id, item_id, lot_id, qty in placed],
        reason,
        at,
        reference_type=reference_type,
        reference_id=reference_id,
    )
    return placed


def receive_purchase_order(
    *,
    session: Session,
    po_id: int,
    lines: list[dict[str, Any]],
    received_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Receive (part of) a purchase order and put it away.

    Args:
        session: Open session (one transaction).
        po_id: The purchase order.
        lines: ``[{item, quantity, lot_code?, expiry_date?, serials?}]``; ``serials`` (one per unit) only for
            serialised items. Without them, a serialised item under serial control in the warehouse gets
            generated serials ``<item>-R<receipt>-<n>`` (see :mod:`oltp.serials`).
        received_at: Business time; defaults to now.

    Returns:
        ``{receipt_id, po_id, po_number, status, lines: [{item, quantity, lot_code, location, serials}]}``.

    Raises:
        NotFoundError: unknown purchase order, or an item not on it.
        ValidationError: non-positive quantity, more than is still open on the line, no compatible location,
            serials for an item that is not serialised or not one per unit.
        ConflictError: the purchase order is cancelled or fully received, or a serial is already recorded.
    """
    at = received_at or utcnow()
    po = session.scalars(
        select(PurchaseOrder)
        .where(PurchaseOrder.id == po_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if po is None:
        raise NotFoundError(f"unknown purchase order {po_id}", field="po_id", value=po_id)
    if po.status in ("cancelled", "received"):
        raise ConflictError(f"purchase order {po.po_number} is {po.status}", field="po_id", value=po_id)
    if not lines:
        raise ValidationError("a receipt needs at least one line", field="lines", value=lines)
    po_lines = session.execute(
        text(
            "select l.id, l.item_id, i.code, i.is_serialised, l.quantity_ordered - l.quantity_received as open "
            "from purchase_order_lines l "
            "join items i on i.id = l.item_id where l.purchase_order_id = :p order by l.id for update of l"
        ),
        {"p": po_id},
    ).all()
    by_item = {r.code: r for r in po_lines}
    asked: dict[str, int] = {}
    for i, ln in enumerate(lines):
        code = str(ln.get("item"))
        if code not in by_item:
            raise NotFoundError(
                f"item '{code}' is not on purchase order {po.po_number}", field=f"lines[{i}].item", value=code
            )
        qty = _qty(ln.get("quantity"), f"lines[{i}].quantity")
        asked[code] = asked.get(code, 0) + qty
        if asked[code] > by_item[code].open:
            raise ValidationError(
                f"cannot receive {asked[code]} of '{code}': only {by_item[code].open} still open",
                field=f"lines[{i}].quantity",
                value=qty,
            )
        if ln.get("serials") is not None:
            if not by_item[code].is_serialised:
                raise ValidationError(
                    f"item '{code}' is not serialised", field=f"lines[{i}].serials", value=ln["serials"]
                )
            check_serials(ln["serials"], qty, f"lines[{i}].serials")
    wh = session.get(Warehouse, po.warehouse_id)
    assert wh is not None
    receipt_id = session.scalar(
        text(
            "insert into receipts (purchase_order_id, warehouse_id, received_at) values (:p, :w, :at) returning id"
        ),
        {"p": po_id, "w": wh.id, "at": at},
    )
    entries = []
    for ln in lines:
        item = session.get(Item, by_item[ln["item"]].item_id)
        assert item is not None
        lot_id = ensure_lot(session, item.id, ln.get("lot_code"), ln.get("expiry_date"), at.date())
        entries.append((item, lot_id, ln["quantity"]))
    # Serial control is decided before this receipt's serials are recorded (they may start it).
    controlled = controlled_items(
        session, [by_item[ln["item"]].item_id for ln in lines if by_item[ln["item"]].is_serialised], wh.id
    )
    placed = _put_away(session, wh, entries, "receipt", at, "receipt", receipt_id)
    line_serials: list[list[str]] = []
    for i, (ln, p) in enumerate(zip(lines, placed, strict=True)):
        row = by_item[ln["item"]]
        serials = ln.get("serials")
        if serials is None and row.item_id in controlled:
            serials = [f"{row.code}-R{receipt_id}-{k + 1:04d}" for k in range(ln["quantity"])]
        serials = list(serials or [])
        register_serials(
            session,
            item_id=row.item_id,
            item_code=row.code,
            lot_id=p[2],
            location_id=p[0],
            serials=serials,
            field=f"lines[{i}].serials",
        )
        line_serials.append(serials)
    session.execute(
        text(
            "insert into receipt_lines (receipt_id, item_id, lot_id, location_id, quantity) "
            "values (:r, :i, :lot, :loc, :q)"
        ),
        [{"r": receipt_id, "i": p[1], "lot": p[2], "loc": p[0], "q": p[3]} for p in placed],
    )
    session.execute(
        text("update purchase_order_lines set quantity_received = quantity_received + :q where id = :l"),
        [{"q": q, "l": by_item[code].id} for code, q in asked.items()],
    )
    remaining = session.scalar(
        text(
            "select sum(quantity_ordered - quantity_received) from purchase_order_lines where purchase_order_id = :p"
        ),
        {"p": po_id},
    )
    po.status = "received" if remaining == 0 else "partially_received"
    session.flush()
    loc_codes: dict[int, str] = {
        r.id: r.code
        for r in session.execute(
            text("select id, code from locations where id = any(:ids)"), {"ids": [p[0] for p in placed]}
        )
    }
    result = {
        "receipt_id": receipt_id,
        "po_id": po_id,
        "po_number": po.po_number,
        "status": po.status,
        "lines": [
            {
                "item": ln["item"],
                "quantity": ln["quantity"],
                "lot_code": ln.get("lot_code"),
                "location": loc_codes[p[0]],
                "serials": serials,
            }
            for ln, p, serials in zip(lines, placed, line_serials, strict=True)
        ],
    }
    emit(session, "purchase_order", po_id, "purchase_order.received", result, at)
    return result


def get_transfer(*, session: Session, transfer_id: int) -> dict[str, Any]:
    """A transfer with lines ``[{item, quantity, quantity_shipped, quantity_received}]``.

    Raises:
        NotFoundError: unknown transfer.
    """
    head = session.execute(
        text(
            "select t.id, t.transfer_number, f.code as from_warehouse, w.code as to_warehouse, t.status, t.shipped_at, "
            "t.received_at from transfers t join warehouses f on f.id = t.from_warehouse_id "
            "join warehouses w on w.id = t.to_warehouse_id where t.id = :t"
        ),
        {"t": transfer_id},
    ).first()
    if head is None:
        raise NotFoundError(f"unknown transfer {transfer_id}", field="transfer_id", value=transfer_id)
    lines = session.execute(
        text(
            "select i.code as item, l.quantity, l.quantity_shipped, l.quantity_received from transfer_lines l "
            "join items i on i.id = l.item_id where l.transfer_id = :t order by l.id"
        ),
        {"t": transfer_id},
    ).all()
    return {**head._mapping, "lines": [dict(r._mapping) for r in lines]}


def create_transfer(
    *,
    session: Session,
    from_warehouse: str,
    to_warehouse: str,
    lines: list[dict[str, Any]],
    created_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Plan moving stock between two warehouses.

    Args:
        session: Open session (one transaction).
        from_warehouse: Source warehouse code.
        to_warehouse: Destination warehouse code (different from the source).
        lines: ``[{item, quantity}]``.
        created_at: Business time; defaults to now.

    Returns:
        The transfer (see :func:`get_transfer`).

    Raises:
        NotFoundError: unknown warehouse or item.
        ValidationError: same warehouse twice, no lines, non-positive quantity.
    """
    src = find_by_code(session, Warehouse, from_warehouse, field="from_warehouse")
    dst = find_by_code(session, Warehouse, to_warehouse, field="to_warehouse")
    if src.id == dst.id:
        raise ValidationError(
            "a transfer needs two different warehouses", field="to_warehouse", value=to_warehouse
        )
    if not lines:
        raise ValidationError("a transfer needs at least one line", field="lines", value=lines)
    for i, ln in enumerate(lines):
        _qty(ln.get("quantity"), f"lines[{i}].quantity")
    items = find_many_by_code(
        session, Item, [str(ln.get("item")) for ln in lines], [f"lines[{i}].item" for i in range(len(lines))]
    )
    at = created_at or utcnow()
    tid = _next_id(session, "transfers")
    session.execute(
        insert(Transfer).values(
            id=tid,
            transfer_number=f"TR-{tid:08d}",
            from_warehouse_id=src.id,
            to_warehouse_id=dst.id,
            status="open",
        )
    )
    session.execute(
        insert(TransferLine),
        [{"transfer_id": tid, "item_id": items[ln["item"]].id, "quantity": ln["quantity"]} for ln in lines],
    )
    result = get_transfer(session=session, transfer_id=tid)
    emit(session, "transfer", tid, "transfer.created", result, at)
    return result


def _lock_transfer(session: Session, transfer_id: int) -> Transfer:
    tr = session.scalars(
        select(Transfer)
        .where(Transfer.id == transfer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if tr is None:
        raise NotFoundError(f"unknown transfer {transfer_id}", field="transfer_id", value=transfer_id)
    return tr


def ship_transfer(
    *, session: Session, transfer_id: int, shipped_at: dt.datetime | None = None
) -> dict[str, Any]:
    """Ship a transfer from the source warehouse: FEFO from unreserved stock, as much as is available.

    Args:
        session: Open session (one transaction).
        transfer_id: The transfer.
        shipped_at: Business time; defaults to now.

    Returns:
        The transfer after shipping (``quantity_shipped`` may be below ``quantity``).

    Raises:
        NotFoundError: unknown transfer.
        ConflictError: not open.
        ValidationError: nothing of it is available in the source warehouse.
    """
    at = shipped_at or utcnow()
    tr = _lock_transfer(session, transfer_id)
    if tr.status != "open":
        raise ConflictError(
            f"transfer {tr.transfer_number} is {tr.status}", field="transfer_id", value=transfer_id
        )
    tlines = session.execute(
        text("select id, item_id, quantity from transfer_lines where transfer_id = :t order by id"),
        {"t": transfer_id},
    ).all()
    cands = session.execute(
        text(
            """
            select b.id, b.item_id, b.lot_id, b.location_id, b.on_hand - b.reserved as available, lot.expiry_date,
                   loc.code, i.code as item
            from inventory_balances b join locations loc on loc.id = b.location_id join items i on i.id = b.item_id
            left join lots lot on lot.id = b.lot_id
            where b.warehouse_id = :w and b.item_id = any(:items) and b.on_hand > b.reserved
            order by b.id for update of b
            """
        ),
        {"w": tr.from_warehouse_id, "items": sorted({t.item_id for t in tlines})},
    ).all()
    cands = sorted(cands, key=lambda b: (b.expiry_date is None, b.expiry_date or dt.date.max, b.code, b.id))
    avail = {b.id: b.available for b in cands}
    moves: list[tuple[Any, Any, int]] = []
    for tl in tlines:
        want = tl.quantity
        for b in cands:
            if b.item_id != tl.item_id or want == 0:
                continue
            n = min(want, avail[b.id])
            if n > 0:
                avail[b.id] -= n
                want -= n
                moves.append((tl, b, n))
    if not moves:
        raise ValidationError(
            f"nothing of transfer {tr.transfer_number} is available to ship",
            field="transfer_id",
            value=transfer_id,
        )
    # Serialised units under control leave with their serials (chosen before anything is written).
    controlled = controlled_items(session, [b.item_id for _, b, _ in moves], tr.from_warehouse_id)
    serials: list[tuple[int, str]] = []
    for _, b, n in moves:
        if b.item_id in controlled:
            chosen = select_serials(
                session,
                item_id=b.item_id,
                item_code=b.item,
                location_id=b.location_id,
                location_code=b.code,
                lot_id=b.lot_id,
                quantity=n,
                wanted=None,
                field="transfer_id",
            )
            serials += [(b.item_id, x) for x in chosen]
    sid = _next_id(session, "shipments")
    dst = session.get(Warehouse, tr.to_warehouse_id)
    assert dst is not None
    session.execute(
        text(
            "insert into shipments (id, shipment_number, transfer_id, warehouse_id, destination_region, destination_lat, "
            "destination_lon, status, planned_pickup_at, picked_up_at) values (:id, :n, :t, :w, :r, :lat, :lon, "
            "'shipped', :at, :at)"
        ),
        {
            "id": sid,
            "n": f"SH-{sid:08d}",
            "t": transfer_id,
            "w": tr.from_warehouse_id,
            "r": dst.region,
            "lat": dst.lat,
            "lon": dst.lon,
            "at": at,
        },
    )
    post_movements(
        session,
        [(b.id, -n, 0) for _, b, n in moves],
        "transfer_out",
        at,
        reference_type="transfer",
        reference_id=transfer_id,
    )
    mark_shipped(session, serials, sid)
    session.execute(
        text("insert into shipment_lines (shipment_id, item_id, lot_id, quantity) values (:s, :i, :lot, :q)"),
        [{"s": sid, "i": b.item_id, "lot": b.lot_id, "q": n} for _, b, n in moves],
    )
    shipped: dict[int, int] = {}
    for tl, _, n in moves:
        shipped[tl.id] = shipped.get(tl.id, 0) + n
    session.execute(
        text("update transfer_lines set quantity_shipped = :q where id = :l"),
        [{"q": q, "l": lid} for lid, q in shipped.items()],
    )
    tr.status = "in_transit"
    tr.shipped_at = at
    session.flush()
    result = get_transfer(session=session, transfer_id=transfer_id)
    emit(session, "transfer", transfer_id, "transfer.shipped", {**result, "shipment_id": sid}, at)
    return result


def receive_transfer(
    *, session: Session, transfer_id: int, received_at: dt.datetime | None = None
) -> dict[str, Any]:
    """Receive everything a transfer shipped into the destination warehouse, keeping the lots.

    Args:
        session: Open session (one transaction).
        transfer_id: The transfer.
        received_at: Business time; defaults to now.

    Returns:
        The transfer after receipt (status ``received``).

    Raises:
        NotFoundError: unknown transfer.
        ConflictError: the transfer is not in transit.
        ValidationError: the destination has no compatible location for an item.
    """
    at = received_at or utcnow()
    tr = _lock_transfer(session, transfer_id)
    if tr.status != "in_transit":
        raise ConflictError(
            f"transfer {tr.transfer_number} is {tr.status}", field="transfer_id", value=transfer_id
        )
    shipped = session.execute(
        text(
            "select sl.item_id, sl.lot_id, sl.quantity, s.id as shipment_id from shipment_lines sl "
            "join shipments s on s.id = sl.shipment_id where s.transfer_id = :t order by sl.id"
        ),
        {"t": transfer_id},
    ).all()
    dst = session.get(Warehouse, tr.to_warehouse_id)
    assert dst is not None
    receipt_id = session.scalar(
        text(
            "insert into receipts (transfer_id, warehouse_id, received_at) values (:t, :w, :at) returning id"
        ),
        {"t": transfer_id, "w": dst.id, "at": at},
    )
    entries = []
    for s in shipped:
        item = session.get(Item, s.item_id)
        assert item is not None
        entries.append((item, s.lot_id, s.quantity))
    placed = _put_away(session, dst, entries, "transfer_in", at, "transfer", transfer_id)
    # Serials that left on the transfer's shipment arrive where their item and lot were put away.
    session.execute(
        text(
            """
            update serial_numbers s set status = 'in_stock', location_id = p.location_id, shipment_id = null
            from unnest(cast(:items as int[]), cast(:lots as int[]), cast(:locs as int[])) as p(item_id, lot_id, location_id)
            where s.shipment_id = any(:shipments) and s.status = 'shipped' and s.item_id = p.item_id
              and s.lot_id is not distinct from p.lot_id
            """
        ),
        {
            "items": [p[1] for p in placed],
            "lots": [p[2] for p in placed],
            "locs": [p[0] for p in placed],
            "shipments": sorted({x.shipment_id for x in shipped}),
        },
    )
    session.execute(
        text(
            "insert into receipt_lines (receipt_id, item_id, lot_id, location_id, quantity) "
            "values (:r, :i, :lot, :loc, :q)"
        ),
        [{"r": receipt_id, "i": p[1], "lot": p[2], "loc": p[0], "q": p[3]} for p in placed],
    )
    session.execute(
        text("update transfer_lines set quantity_received = quantity_shipped where transfer_id = :t"),
        {"t": transfer_id},
    )
    session.execute(
        text(
            "update shipments set status = 'delivered', delivered_at = greatest(:at, picked_up_at) "
            "where transfer_id = :t"
        ),
        {"t": transfer_id, "at": at},
    )
    tr.status = "received"
    tr.received_at = at
    session.flush()
    result = get_transfer(session=session, transfer_id=transfer_id)
    emit(session, "transfer", transfer_id, "transfer.received", {**result, "receipt_id": receipt_id}, at)
    return result


def cancel_purchase_order(
    *,
    session: Session,
    po_id: int,
    reason: str | None = None,
    cancelled_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Cancel a purchase order (its open remainder when partly received) and its booked dock appointments.

    What was already received stays on hand and on the lines (``quantity_received``).

    Args:
        session: Open session (one transaction).
        po_id: The purchase order.
        reason: Why (kept in the event).
        cancelled_at: Business time; defaults to now.

    Returns:
        The purchase order (see :func:`get_purchase_order`), status ``cancelled``.

    Raises:
        NotFoundError: unknown purchase order.
        ConflictError: the purchase order is fully received or already cancelled.
    """
    at = cancelled_at or utcnow()
    row = session.execute(
        text("select id, po_number, status from purchase_orders where id = :p for update"), {"p": po_id}
    ).first()
    if row is None:
        raise NotFoundError(f"unknown purchase order {po_id}", field="po_id", value=po_id)
    if row.status in ("received", "cancelled"):
        raise ConflictError(f"purchase order {row.po_number} is {row.status}", field="po_id", value=po_id)
    session.execute(text("update purchase_orders set status = 'cancelled' where id = :p"), {"p": po_id})
    freed = session.scalars(
        text(
            "update dock_appointments set status = 'cancelled' where purchase_order_id = :p and status = 'booked' "
            "returning id"
        ),
        {"p": po_id},
    ).all()
    result = get_purchase_order(session=session, po_id=po_id)
    emit(
        session,
        "purchase_order",
        po_id,
        "purchase_order.cancelled",
        {
            **result,
            "reason": reason,
            "previous_status": row.status,
            "dock_appointments_cancelled": sorted(freed),
        },
        at,
    )
    return result


def cancel_transfer(
    *,
    session: Session,
    transfer_id: int,
    reason: str | None = None,
    cancelled_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Cancel a transfer that has not shipped yet (no stock has moved, so nothing is posted).

    Args:
        session: Open session (one transaction).
        transfer_id: The transfer.
        reason: Why (kept in the event).
        cancelled_at: Business time; defaults to now.

    Returns:
        The transfer (see :func:`get_transfer`), status ``cancelled``.

    Raises:
        NotFoundError: unknown transfer.
        ConflictError: the transfer is in transit, received or already cancelled (stock in transit must be
            received, not cancelled).
    """
    at = cancelled_at or utcnow()
    tr = _lock_transfer(session, transfer_id)
    if tr.status != "open":
        raise ConflictError(
            f"transfer {tr.transfer_number} is {tr.status} and cannot be cancelled",
            field="transfer_id",
            value=transfer_id,
        )
    tr.status = "cancelled"
    session.flush()
    result = get_transfer(session=session, transfer_id=transfer_id)
    emit(session, "transfer", transfer_id, "transfer.cancelled", {**result, "reason": reason}, at)
    return result
