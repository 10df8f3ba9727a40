"""Picking: release waves of pick tasks from active reservations and confirm (possibly short) picks.

Stock stays in its location until it ships (``oltp.shipments.ship`` posts the ledger movement); a pick records
what was taken off the shelf on the task, the reservation and the order line. A short pick releases the shortfall
from the reservation and backorders it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from oltp.events import emit, utcnow
from oltp.inventory import find_by_code, lock_balances
from oltp.models import Order, PickTask, Warehouse
from oltp.orders import lock_order, set_order_status
from stockyard.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["PickTaskResult", "WaveResult", "release_wave", "confirm_pick"]

_RELEASABLE = ("allocated", "partially_allocated", "released", "picked")


@dataclass(frozen=True)
class PickTaskResult:
    """One pick task: take ``quantity`` of ``item`` (lot) from ``location`` in ``zone`` for an order."""

    id: int
    order_id: int
    item: str
    zone: str
    location: str
    lot_code: str | None
    quantity: int
    quantity_picked: int
    status: str


@dataclass(frozen=True)
class WaveResult:
    """A released wave; ``tasks`` are sorted by zone then location (a pick path per zone)."""

    id: int
    warehouse: str
    released_at: dt.datetime
    order_ids: tuple[int, ...]
    tasks: tuple[PickTaskResult, ...]

    def tasks_by_zone(self) -> dict[str, list[PickTaskResult]]:
        """The tasks grouped by zone code."""
        out: dict[str, list[PickTaskResult]] = {}
        for task in self.tasks:
            out.setdefault(task.zone, []).append(task)
        return out


def _task_rows(session: Session, where: str, params: dict[str, Any]) -> list[PickTaskResult]:
    rows = session.execute(
        text(
            f"""
            select t.id, l.order_id, i.code as item, z.code as zone, loc.code as location, lot.lot_code,
                   t.quantity, t.quantity_picked, t.status
            from pick_tasks t
            join order_lines l on l.id = t.order_line_id
            join items i on i.id = t.item_id
            join zones z on z.id = t.zone_id
            join locations loc on loc.id = t.location_id
            left join lots lot on lot.id = t.lot_id
            where {where}
            order by z.code, loc.code, t.id
            """
        ),
        params,
    ).all()
    return [PickTaskResult(**r._mapping) for r in rows]


def release_wave(
    *,
    session: Session,
    warehouse: str,
    order_ids: list[int] | None = None,
    released_at: dt.datetime | None = None,
) -> WaveResult | None:
    """Create pick tasks for every active, not yet tasked reservation in ``warehouse``.

    Args:
        session: Open session (one transaction).
        warehouse: Warehouse code.
        order_ids: Only these orders (default: every allocated order with stock reserved in the warehouse).
        released_at: Business time; defaults to now.

    Returns:
        The wave with its tasks sorted by zone and location, or None when there was nothing to release
        (then nothing is written).

    Raises:
        NotFoundError: unknown warehouse or order id.
    """
    at = released_at or utcnow()
    wh = find_by_code(session, Warehouse, warehouse, field="warehouse")
    if order_ids is not None:
        wanted = sorted(set(order_ids))
        found = set(session.scalars(select(Order.id).where(Order.id.in_(wanted))).all())
        missing = [o for o in wanted if o not in found]
        if missing:
            raise NotFoundError(f"unknown order {missing[0]}", field="order_ids", value=missing[0])
    # Candidate orders first (no lock), then lock them in ascending id: the first step of the lock order.
    candidate_sql = """
        select distinct l.order_id from reservations r
        join order_lines l on l.id = r.order_line_id
        join inventory_balances b on b.id = r.balance_id
        join orders o on o.id = l.order_id
        where r.status = 'active' and b.warehouse_id = :w and o.status = any(:statuses)
          and r.quantity > r.quantity_picked
          and not exists (select 1 from pick_tasks t where t.reservation_id = r.id and t.status <> 'cancelled')
    """
    params: dict[str, Any] = {"w": wh.id, "statuses": list(_RELEASABLE)}
    if order_ids is not None:
        candidate_sql += " and l.order_id = any(:ids)"
        params["ids"] = sorted(set(order_ids))
    candidates = sorted(session.scalars(text(candidate_sql), params).all())
    if not candidates:
        return None
    orders = session.scalars(
        select(Order)
        .where(Order.id.in_(candidates))
        .order_by(Order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    # Re-read the reservations under the order locks: a concurrent cancel may have released some meanwhile.
    reservations = session.execute(
        text(
            """
            select r.id, r.order_line_id, r.quantity - r.quantity_picked as qty, b.location_id, b.item_id, b.lot_id,
                   loc.zone_id, l.order_id
            from reservations r
            join order_lines l on l.id = r.order_line_id
            join inventory_balances b on b.id = r.balance_id
            join locations loc on loc.id = b.location_id
            join orders o on o.id = l.order_id
            where r.status = 'active' and b.warehouse_id = :w and l.order_id = any(:ids) and o.status = any(:statuses)
              and r.quantity > r.quantity_picked
              and not exists (select 1 from pick_tasks t where t.reservation_id = r.id and t.status <> 'cancelled')
            order by r.id
            """
        ),
        {"w": wh.id, "ids": [o.id for o in orders], "statuses": list(_RELEASABLE)},
    ).all()
    if not reservations:
        return None
    wave_id = session.scalar(
        text(
            "insert into pick_waves (warehouse_id, released_at, status) values (:w, :at, 'released') returning id"
        ),
        {"w": wh.id, "at": at},
    )
    session.execute(
        text(
            "insert into pick_tasks (wave_id, reservation_id, order_line_id, zone_id, location_id, item_id, lot_id, "
            "quantity) values (:wave, :rid, :lid, :zone, :loc, :item, :lot, :qty)"
        ),
        [
            {
                "wave": wave_id,
                "rid": r.id,
                "lid": r.order_line_id,
                "zone": r.zone_id,
                "loc": r.location_id,
                "item": r.item_id,
                "lot": r.lot_id,
                "qty": r.qty,
            }
            for r in reservations
        ],
    )
    released_orders = sorted({r.order_id for r in reservations})
    for order in orders:
        if order.id in released_orders and order.status in ("allocated", "partially_allocated"):
            set_order_status(session, order, "released", at)
    tasks = _task_rows(session, "t.wave_id = :wave", {"wave": wave_id})
    emit(
        session,
        "wave",
        wave_id,
        "wave.released",
        {
            "warehouse": wh.code,
            "order_ids": released_orders,
            "tasks": len(tasks),
            "units": sum(t.quantity for t in tasks),
            "zones": sorted({t.zone for t in tasks}),
        },
        at,
    )
    return WaveResult(
        id=wave_id, warehouse=wh.code, released_at=at, order_ids=tuple(released_orders), tasks=tuple(tasks)
    )


def confirm_pick(
    *, session: Session, task_id: int, quantity: int, picked_at: dt.datetime | None = None
) -> PickTaskResult:
    """Confirm what was picked for a task; less than asked is a short pick.

    The shortfall is released from the reservation (and the balance's ``reserved``) and backordered on the
    order line. When no open task nor unpicked reservation is left, the order becomes ``picked``.

    Args:
        session: Open session (one transaction).
        task_id: The pick task.
        quantity: Units picked, 0..task quantity.
        picked_at: Business time; defaults to now.

    Returns:
        The task after confirmation.

    Raises:
        NotFoundError: unknown task.
        ValidationError: quantity negative, not an integer, or above the task quantity.
        ConflictError: the task is not open (already confirmed or cancelled).
    """
    at = picked_at or utcnow()
    head = session.execute(
        text(
            "select t.id, l.order_id from pick_tasks t join order_lines l on l.id = t.order_line_id where t.id = :t"
        ),
        {"t": task_id},
    ).first()
    if head is None:
        raise NotFoundError(f"unknown pick task {task_id}", field="task_id", value=task_id)
    order = lock_order(session, head.order_id)
    task = session.scalars(
        select(PickTask)
        .where(PickTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if task.status != "open":
        raise ConflictError(f"pick task {task_id} is {task.status}", field="task_id", value=task_id)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= task.quantity:
        raise ValidationError(
            f"picked quantity must be an integer between 0 and {task.quantity}, got {quantity!r}",
            field="quantity",
            value=quantity,
        )
    short = task.quantity - quantity
    task.quantity_picked = quantity
    task.status = "picked" if short == 0 else "short"
    task.picked_at = at
    res = session.execute(
        text("select id, balance_id, quantity, quantity_picked from reservations where id = :r for update"),
        {"r": task.reservation_id},
    ).one()
    if short:
        lock_balances(session, [res.balance_id])
        session.execute(
            text("update inventory_balances set reserved = reserved - :s where id = :b"),
            {"s": short, "b": res.balance_id},
        )
    if res.quantity - short == 0:
        session.execute(text("update reservations set status = 'released' where id = :r"), {"r": res.id})
    else:
        session.execute(
            text(
                "update reservations set quantity = quantity - :s, quantity_picked = quantity_picked + :q where id = :r"
            ),
            {"s": short, "q": quantity, "r": res.id},
        )
    session.execute(
        text(
            "update order_lines set quantity_picked = quantity_picked + :q, quantity_allocated = quantity_allocated - :s, "
            "quantity_backordered = quantity_backordered + :s where id = :l"
        ),
        {"q": quantity, "s": short, "l": task.order_line_id},
    )
    session.flush()
    remaining = session.scalar(
        text(
            """
            select count(*) from reservations r join order_lines l on l.id = r.order_line_id
            where l.order_id = :o and r.status = 'active' and r.quantity > r.quantity_picked
            """
        ),
        {"o": order.id},
    )
    if remaining == 0 and order.status in ("released", "allocated", "partially_allocated"):
        picked_any = session.scalar(
            text(
                "select coalesce(sum(quantity_picked - quantity_shipped), 0) from order_lines where order_id = :o"
            ),
            {"o": order.id},
        )
        set_order_status(session, order, "picked" if picked_any > 0 else "backordered", at)
    session.execute(
        text(
            "update pick_waves set status = 'completed' where id = :w and not exists "
            "(select 1 from pick_tasks where wave_id = :w and status = 'open')"
        ),
        {"w": task.wave_id},
    )
    result = _task_rows(session, "t.id = :t", {"t": task_id})[0]
    emit(
        session,
        "pick_task",
        task_id,
        "pick.confirmed",
        {
            "order_id": order.id,
            "item": result.item,
            "location": result.location,
            "lot_code": result.lot_code,
            "quantity": task.quantity,
            "picked": quantity,
            "short": short,
        },
        at,
    )
    return result
