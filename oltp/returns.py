"""Customer returns: receive returned units of a shipped order, restock or scrap them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from oltp.events import emit, utcnow
from oltp.inventory import ensure_balance, lock_balances, post_movements, putaway_location
from oltp.models import Item, Return, ReturnLine, Warehouse
from oltp.orders import lock_order
from oltp.serials import check_serials
from stockyard.errors import NotFoundError, ValidationError

__all__ = ["receive_return"]


def receive_return(
    *,
    session: Session,
    order_id: int,
    lines: list[dict[str, Any]],
    received_at: dt.datetime | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Receive returned units of an order.

    ``restock`` units go back on hand (ledger ``return_restock``) in the warehouse they shipped from, at the item's
    putaway location, in the lot they shipped from; ``scrap`` units are recorded on the return only (they left
    the books when they shipped).

    Args:
        session: Open session (one transaction).
        order_id: The order the units were shipped on.
        lines: ``[{item, quantity, disposition: 'restock'|'scrap', serials?}]``. For a serialised item,
            ``serials`` names the returned units (they must have shipped on this order); without them the
            lowest serials shipped on the order are taken. Restocked serials become ``returned`` (available
            again at the putaway location), scrapped ones ``scrapped``.
        received_at: Business time; defaults to now.
        reason: Customer's reason.

    Returns:
        ``{id, rma_number, order_id, warehouse, lines: [{item, quantity, disposition, serials}]}``.

    Raises:
        NotFoundError: unknown order, or an item not shipped on it.
        ValidationError: no lines, non-positive quantity, bad disposition, or more than was shipped (minus
            earlier returns).
    """
    at = received_at or utcnow()
    order = lock_order(session, order_id)
    if not lines:
        raise ValidationError("a return needs at least one line", field="lines", value=lines)
    shipped = session.execute(
        text(
            """
            select i.code as item, sl.order_line_id, sl.item_id, sl.lot_id, s.warehouse_id, sl.quantity, sl.id,
                   i.is_serialised
            from shipment_lines sl join shipments s on s.id = sl.shipment_id join items i on i.id = sl.item_id
            where s.order_id = :o order by sl.id desc
            """
        ),
        {"o": order_id},
    ).all()
    returned: dict[str, int] = {
        r[0]: int(r[1])
        for r in session.execute(
            text(
                "select i.code, sum(rl.quantity) from return_lines rl join returns r on r.id = rl.return_id "
                "join items i on i.id = rl.item_id where r.order_id = :o group by i.code"
            ),
            {"o": order_id},
        )
    }
    shipped_qty: dict[str, int] = {}
    last: dict[str, Any] = {}
    for s in shipped:
        shipped_qty[s.item] = shipped_qty.get(s.item, 0) + s.quantity
        last.setdefault(s.item, s)  # most recent shipment line of the item
    asked: dict[str, int] = {}
    for i, line in enumerate(lines):
        code, qty, disp = line.get("item"), line.get("quantity"), line.get("disposition")
        if code not in shipped_qty:
            raise NotFoundError(
                f"item '{code}' was not shipped on order {order_id}", field=f"lines[{i}].item", value=code
            )
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise ValidationError(
                f"lines[{i}].quantity must be positive", field=f"lines[{i}].quantity", value=qty
            )
        if disp not in ("restock", "scrap"):
            raise ValidationError(
                "disposition must be 'restock' or 'scrap'", field=f"lines[{i}].disposition", value=disp
            )
        asked[code] = asked.get(code, 0) + qty
        allowed = shipped_qty[code] - int(returned.get(code, 0))
        if asked[code] > allowed:
            raise ValidationError(
                f"cannot return {asked[code]} of '{code}': {allowed} shipped and not yet returned",
                field=f"lines[{i}].quantity",
                value=qty,
            )
    # Serial numbers of the returned units: the caller's (checked against what shipped on this order), else
    # the lowest still out on the order (fewer when the order shipped untracked units).
    out_serials: dict[int, list[str]] = {}
    serialised = sorted(
        {last[str(ln["item"])].item_id for ln in lines if last[str(ln["item"])].is_serialised}
    )
    if serialised:
        for r in session.execute(
            text(
                "select sn.item_id, sn.serial from serial_numbers sn join shipments s on s.id = sn.shipment_id "
                "where s.order_id = :o and sn.status = 'shipped' and sn.item_id = any(:items) order by sn.serial"
            ),
            {"o": order_id, "items": serialised},
        ):
            out_serials.setdefault(r.item_id, []).append(r.serial)
    line_serials: list[list[str]] = []
    for i, line in enumerate(lines):
        src = last[str(line["item"])]
        pool = out_serials.get(src.item_id, [])
        if line.get("serials") is not None:
            if not src.is_serialised:
                raise ValidationError(
                    f"item '{line['item']}' is not serialised",
                    field=f"lines[{i}].serials",
                    value=line["serials"],
                )
            given = check_serials(line["serials"], line["quantity"], f"lines[{i}].serials")
            unknown = [x for x in given if x not in pool]
            if unknown:
                raise ValidationError(
                    f"serial number '{unknown[0]}' of '{line['item']}' did not ship on order {order_id}",
                    field=f"lines[{i}].serials",
                    value=unknown[0],
                )
        else:
            given = pool[: line["quantity"]]
        out_serials[src.item_id] = [x for x in pool if x not in given]
        line_serials.append(given)
    warehouse_id = last[lines[0]["item"]].warehouse_id
    rid = int(session.scalar(text("select nextval(pg_get_serial_sequence('returns', 'id'))")))
    rma = f"RMA-{rid:08d}"
    session.execute(
        insert(Return).values(
            id=rid,
            rma_number=rma,
            order_id=order_id,
            warehouse_id=warehouse_id,
            status="received",
            reason=reason,
            received_at=at,
        )
    )
    session.execute(
        insert(ReturnLine),
        [
            {
                "return_id": rid,
                "order_line_id": last[ln["item"]].order_line_id,
                "item_id": last[ln["item"]].item_id,
                "quantity": ln["quantity"],
                "disposition": ln["disposition"],
            }
            for ln in lines
        ],
    )
    restock = [ln for ln in lines if ln["disposition"] == "restock"]
    restock_loc: dict[str, int] = {}
    if restock:
        moves: list[tuple[int, int]] = []
        keys = []
        for ln in restock:
            src = last[ln["item"]]
            wh = session.get(Warehouse, src.warehouse_id)
            item = session.get(Item, src.item_id)
            assert wh is not None and item is not None
            loc = putaway_location(session, wh, item, ln["quantity"])
            restock_loc.setdefault(str(ln["item"]), loc.id)
            keys.append(
                (
                    (loc.id, src.item_id, src.lot_id or 0),
                    wh.id,
                    loc.id,
                    src.item_id,
                    src.lot_id,
                    ln["quantity"],
                )
            )
        for _, wid, lid, iid, lot, qty in sorted(keys, key=lambda k: k[0]):
            moves.append((ensure_balance(session, wid, lid, iid, lot), qty))
        lock_balances(session, [b for b, _ in moves])
        post_movements(
            session,
            [(balance_id, qty, 0) for balance_id, qty in moves],
            "return_restock",
            at,
            reference_type="return",
            reference_id=rid,
        )
    # Serials after the balance locks (lock order): restocked units are available again where they were put.
    serial_rows = [
        (last[str(ln["item"])].item_id, x, ln["disposition"], restock_loc.get(str(ln["item"])))
        for ln, serials in zip(lines, line_serials, strict=True)
        for x in serials
    ]
    if serial_rows:
        session.execute(
            text(
                """
                update serial_numbers s
                set status = case when u.disp = 'restock' then 'returned' else 'scrapped' end,
                    location_id = u.loc
                from unnest(cast(:items as int[]), cast(:serials as text[]), cast(:disps as text[]),
                            cast(:locs as int[])) as u(item_id, serial, disp, loc)
                where s.item_id = u.item_id and s.serial = u.serial
                """
            ),
            {
                "items": [r[0] for r in serial_rows],
                "serials": [r[1] for r in serial_rows],
                "disps": [r[2] for r in serial_rows],
                "locs": [r[3] if r[2] == "restock" else None for r in serial_rows],
            },
        )
    wh_code = session.scalar(text("select code from warehouses where id = :w"), {"w": warehouse_id})
    result = {
        "id": rid,
        "rma_number": rma,
        "order_id": order_id,
        "order_number": order.order_number,
        "warehouse": wh_code,
        "lines": [
            {
                "item": ln["item"],
                "quantity": ln["quantity"],
                "disposition": ln["disposition"],
                "serials": serials,
            }
            for ln, serials in zip(lines, line_serials, strict=True)
        ],
    }
    emit(session, "return", rid, "return.received", result, at)
    return result
