"""Inventory: stock primitives shared by every service, adjustments, cycle counts and stock queries.

Every on-hand change goes through :func:`post_movement`, which updates the balance and appends the matching
``inventory_ledger`` row in one place, so ``sum(quantity_delta)`` per (location, item, lot) equals ``on_hand``.
Balances are locked with :func:`lock_balances` (one statement, ascending id; see ``oltp/locking.md``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oltp.events import emit, utcnow
from oltp.models import (
    LEDGER_REASONS,
    Base,
    InventoryBalance,
    InventoryLedger,
    Item,
    Location,
    Lot,
    Warehouse,
    Zone,
)
from stockyard.errors import NotFoundError, ValidationError

__all__ = [
    "adjust",
    "cycle_count",
    "get_inventory",
    "ledger_balance_mismatches",
    "find_by_code",
    "find_many_by_code",
    "find_location",
    "ensure_lot",
    "ensure_balance",
    "lock_balances",
    "post_movement",
    "post_movements",
    "putaway_location",
]

M = TypeVar("M", bound=Base)

# Reasons a caller may pass to adjust(); the others are written by the services that own them.
ADJUST_REASONS = ("adjustment", "scrap", "opening_balance", "cycle_count")


# ----------------------------------------------------------------------------------------------- look-ups
def find_by_code(session: Session, model: type[M], code: str, *, field: str) -> M:
    """The row of ``model`` with business ``code``.

    Args:
        session: Open session.
        model: A master-data class with a unique ``code`` (Item, Warehouse, Customer, Carrier, Supplier).
        code: The business code.
        field: Input field named in the error (e.g. ``lines[0].item``).

    Returns:
        The row.

    Raises:
        NotFoundError: no such code.
    """
    row = session.scalars(select(model).where(model.code == code)).first()  # type: ignore[attr-defined]
    if row is None:
        label = model.__tablename__.rstrip("s").replace("_", " ")
        raise NotFoundError(f"unknown {label} '{code}' ({field})", field=field, value=code)
    return row


def find_many_by_code(
    session: Session, model: type[M], codes: Sequence[str], fields: Sequence[str]
) -> dict[str, M]:
    """Rows of ``model`` by code in one query; the first unknown code raises with its field name.

    Args:
        session: Open session.
        model: A master-data class with a unique ``code``.
        codes: Codes, in input order.
        fields: The input field of each code (same length as ``codes``).

    Returns:
        ``{code: row}``.

    Raises:
        NotFoundError: a code is unknown.
    """
    rows = session.scalars(select(model).where(model.code.in_(set(codes)))).all()  # type: ignore[attr-defined]
    found = {r.code: r for r in rows}  # type: ignore[attr-defined]
    for code, field in zip(codes, fields, strict=True):
        if code not in found:
            label = model.__tablename__.rstrip("s").replace("_", " ")
            raise NotFoundError(f"unknown {label} '{code}' ({field})", field=field, value=code)
    return found


def find_location(session: Session, code: str, warehouse: Warehouse | None = None) -> Location:
    """A location by code, within ``warehouse`` when given (codes are unique per warehouse).

    Raises:
        NotFoundError: no such location.
        ValidationError: the code exists in several warehouses and none was given.
    """
    query = select(Location).where(Location.code == code)
    if warehouse is not None:
        query = query.where(Location.warehouse_id == warehouse.id)
    rows = session.scalars(query).all()
    if not rows:
        where = f" in warehouse '{warehouse.code}'" if warehouse is not None else ""
        raise NotFoundError(f"unknown location '{code}'{where}", field="location", value=code)
    if len(rows) > 1:
        raise ValidationError(
            f"location '{code}' exists in several warehouses: name the warehouse",
            field="warehouse",
            value=None,
        )
    return rows[0]


# ------------------------------------------------------------------------------------------ stock primitives
def ensure_lot(
    session: Session,
    item_id: int,
    lot_code: str | None,
    expiry_date: dt.date | None = None,
    received_on: dt.date | None = None,
) -> int | None:
    """Id of the lot ``lot_code`` of the item, created when missing (None for stock without lot)."""
    if lot_code is None:
        return None
    session.execute(
        pg_insert(Lot)
        .values(item_id=item_id, lot_code=lot_code, expiry_date=expiry_date, received_on=received_on)
        .on_conflict_do_nothing(index_elements=["item_id", "lot_code"])
    )
    return session.scalar(select(Lot.id).where(Lot.item_id == item_id, Lot.lot_code == lot_code))


def ensure_balance(
    session: Session, warehouse_id: int, location_id: int, item_id: int, lot_id: int | None
) -> int:
    """Id of the balance row of (location, item, lot), inserted with zero stock when missing.

    Callers that create several keys must call this in a deterministic key order (see ``oltp/locking.md``).
    """
    session.execute(
        pg_insert(InventoryBalance)
        .values(warehouse_id=warehouse_id, location_id=location_id, item_id=item_id, lot_id=lot_id)
        .on_conflict_do_nothing()
    )
    balance_id = session.scalar(
        select(InventoryBalance.id).where(
            InventoryBalance.location_id == location_id,
            InventoryBalance.item_id == item_id,
            InventoryBalance.lot_id.is_not_distinct_from(lot_id),
        )
    )
    assert balance_id is not None
    return balance_id


def lock_balances(session: Session, ids: Iterable[int]) -> dict[int, Any]:
    """Lock balance rows ``FOR UPDATE`` in ascending id order (the global lock order) and return them by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        text(
            "select id, warehouse_id, location_id, item_id, lot_id, on_hand, reserved from inventory_balances "
            "where id = any(:ids) order by id for update"
        ),
        {"ids": wanted},
    ).all()
    return {r.id: r for r in rows}


def post_movement(
    session: Session,
    balance_id: int,
    delta: int,
    reason: str,
    occurred_at: dt.datetime,
    *,
    reserved_delta: int = 0,
    reference_type: str | None = None,
    reference_id: int | None = None,
    note: str | None = None,
) -> None:
    """Change ``on_hand`` (and optionally ``reserved``) of a locked balance and append the ledger row.

    Args:
        session: Session holding the balance lock.
        balance_id: The balance.
        delta: On-hand change (non-zero for a ledger row; zero changes only ``reserved``).
        reason: One of ``LEDGER_REASONS``.
        occurred_at: Business time of the movement.
        reserved_delta: Simultaneous change of ``reserved`` (e.g. shipping consumes the reservation).
        reference_type: Kind of document causing the movement (``order``, ``shipment``, ``receipt`` ...).
        reference_id: Its id.
        note: Free text.
    """
    if reason not in LEDGER_REASONS:
        raise ValidationError(f"unknown ledger reason '{reason}'", field="reason", value=reason)
    row = session.execute(
        text(
            "update inventory_balances set on_hand = on_hand + :d, reserved = reserved + :r where id = :id "
            "returning warehouse_id, location_id, item_id, lot_id"
        ),
        {"d": delta, "r": reserved_delta, "id": balance_id},
    ).one()
    if delta:
        session.execute(
            insert(InventoryLedger).values(
                occurred_at=occurred_at,
                warehouse_id=row.warehouse_id,
                location_id=row.location_id,
                item_id=row.item_id,
                lot_id=row.lot_id,
                quantity_delta=delta,
                reason=reason,
                reference_type=reference_type,
                reference_id=reference_id,
                note=note,
            )
        )


_POST_MOVEMENTS = text(
    """
    with u as (
      update inventory_balances b set on_hand = b.on_hand + a.d, reserved = b.reserved + a.r
      from unnest(cast(:b_ids as int[]), cast(:b_d as int[]), cast(:b_r as int[])) as a(id, d, r)
      where b.id = a.id
      returning b.id, b.warehouse_id, b.location_id, b.item_id, b.lot_id
    )
    insert into inventory_ledger (occurred_at, warehouse_id, location_id, item_id, lot_id, quantity_delta, reason,
                                  reference_type, reference_id, note)
    select cast(:at as timestamptz), u.warehouse_id, u.location_id, u.item_id, u.lot_id, m.d,
           cast(:reason as varchar), cast(:ref_type as varchar), cast(:ref_id as bigint), cast(:note as text)
    from unnest(cast(:m_ids as int[]), cast(:m_d as int[])) with ordinality as m(id, d, n)
    join u on u.id = m.id
    where m.d <> 0
    order by m.n
    """
)


def post_movements(
    session: Session,
    moves: Sequence[tuple[int, int, int]],
    reason: str,
    occurred_at: dt.datetime,
    *,
    reference_type: str | None = None,
    reference_id: int | None = None,
    note: str | None = None,
) -> None:
    """Batched :func:`post_movement`: one statement for any number of ``(balance_id, delta, reserved_delta)``.

    Every balance must already be locked by the caller (:func:`lock_balances`). A balance may appear several
    times: its changes are summed into one update, and each move with a non-zero delta gets its own ledger row
    (in input order).

    Args:
        session: Session holding the balance locks.
        moves: ``[(balance_id, delta, reserved_delta)]``.
        reason: One of ``LEDGER_REASONS`` (for every move).
        occurred_at: Business time of the movements.
        reference_type: Kind of document causing the movements.
        reference_id: Its id.
        note: Free text.
    """
    if reason not in LEDGER_REASONS:
        raise ValidationError(f"unknown ledger reason '{reason}'", field="reason", value=reason)
    if not moves:
        return
    per_balance: dict[int, list[int]] = {}
    for bid, d, r in moves:
        acc = per_balance.setdefault(bid, [0, 0])
        acc[0] += d
        acc[1] += r
    ids = sorted(per_balance)
    session.execute(
        _POST_MOVEMENTS,
        {
            "b_ids": ids,
            "b_d": [per_balance[i][0] for i in ids],
            "b_r": [per_balance[i][1] for i in ids],
            "m_ids": [m[0] for m in moves],
            "m_d": [m[1] for m in moves],
            "at": occurred_at,
            "reason": reason,
            "ref_type": reference_type,
            "ref_id": reference_id,
            "note": note,
        },
    )


def putaway_location(session: Session, warehouse: Warehouse, item: Item, quantity: int) -> Location:
    """Where received stock of ``item`` goes in ``warehouse``.

    Only zones of the item's temperature class qualify (hazmat items only in hazmat zones). The item's existing
    pick face wins; otherwise the first reserve location (by code) with free volume for the whole quantity;
    otherwise the compatible location with the most free volume (overflow is better than refusing a truck).

    Raises:
        ValidationError: the warehouse has no active location of the needed temperature class.
    """
    klass = "hazmat" if item.is_hazmat else item.temperature_class
    unit_m3 = item.unit_length_cm * item.unit_width_cm * item.unit_height_cm / 1e6
    pick_face = session.scalars(
        select(Location)
        .join(InventoryBalance, InventoryBalance.location_id == Location.id)
        .join(Zone, Zone.id == Location.zone_id)
        .where(
            Location.warehouse_id == warehouse.id,
            Location.is_active,
            Location.location_type == "pick_face",
            Zone.temperature_class == klass,
            InventoryBalance.item_id == item.id,
        )
        .order_by(Location.code)
    ).first()
    if pick_face is not None:
        return pick_face
    used = (
        select(
            InventoryBalance.location_id,
            func.sum(
                InventoryBalance.on_hand
                * Item.unit_length_cm
                * Item.unit_width_cm
                * Item.unit_height_cm
                / 1e6
            ).label("used_m3"),
        )
        .join(Item, Item.id == InventoryBalance.item_id)
        .where(InventoryBalance.warehouse_id == warehouse.id)
        .group_by(InventoryBalance.location_id)
        .subquery()
    )
    free = (Location.volume_capacity_m3 - func.coalesce(used.c.used_m3, 0)).label("free_m3")
    candidates = session.execute(
        select(Location, free)
        .join(Zone, Zone.id == Location.zone_id)
        .outerjoin(used, used.c.location_id == Location.id)
        .where(
            Location.warehouse_id == warehouse.id,
            Location.is_active,
            Location.location_type.in_(("reserve", "pick_face")),
            Zone.temperature_class == klass,
        )
        .order_by((Location.location_type == "reserve").desc(), Location.code)
    ).all()
    if not candidates:
        raise ValidationError(
            f"warehouse '{warehouse.code}' has no active {klass} location for item '{item.code}'",
            field="warehouse",
            value=warehouse.code,
        )
    for location, free_m3 in candidates:
        if location.location_type == "reserve" and free_m3 >= quantity * unit_m3:
            return location
    return max(candidates, key=lambda c: c[1])[0]


# ------------------------------------------------------------------------------------------------ services
def _check_quantity(value: object, field: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer", field=field, value=value)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(f"{field} must be positive, got {value}", field=field, value=value)
    return value


def adjust(
    *,
    session: Session,
    warehouse: str,
    location: str,
    item: str,
    delta: int,
    reason: str = "adjustment",
    lot_code: str | None = None,
    expiry_date: dt.date | None = None,
    occurred_at: dt.datetime | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Add or remove stock in one location (found stock, damage, opening balances).

    Args:
        session: Open session (one transaction).
        warehouse: Warehouse code.
        location: Location code in that warehouse.
        item: Item code.
        delta: Non-zero change of on-hand.
        reason: ``adjustment`` (default), ``scrap``, ``opening_balance`` or ``cycle_count``.
        lot_code: Lot of the stock (created on a positive delta when missing).
        expiry_date: Expiry of a new lot.
        occurred_at: Business time; defaults to now.
        note: Free text kept on the ledger row.

    Returns:
        ``{item, warehouse, location, lot_code, on_hand, reserved, available}`` after the change.

    Raises:
        NotFoundError: unknown warehouse, location, item or (on removal) lot.
        ValidationError: zero delta, bad reason, or removal below the reserved quantity.
    """
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ValidationError(f"delta must be a non-zero integer, got {delta!r}", field="delta", value=delta)
    if reason not in ADJUST_REASONS:
        raise ValidationError(
            f"reason must be one of {', '.join(ADJUST_REASONS)}, got '{reason}'", field="reason", value=reason
        )
    occurred_at = occurred_at or utcnow()
    wh = find_by_code(session, Warehouse, warehouse, field="warehouse")
    loc = find_location(session, location, wh)
    it = find_by_code(session, Item, item, field="item")
    if delta < 0 and lot_code is not None:
        if session.scalar(select(Lot.id).where(Lot.item_id == it.id, Lot.lot_code == lot_code)) is None:
            raise NotFoundError(
                f"unknown lot '{lot_code}' of item '{item}'", field="lot_code", value=lot_code
            )
    lot_id = ensure_lot(session, it.id, lot_code, expiry_date, occurred_at.date())
    balance_id = ensure_balance(session, wh.id, loc.id, it.id, lot_id)
    bal = lock_balances(session, [balance_id])[balance_id]
    if bal.on_hand + delta < bal.reserved:
        raise ValidationError(
            f"cannot remove {-delta} of '{item}' at '{location}': on hand {bal.on_hand}, reserved {bal.reserved}",
            field="delta",
            value=delta,
        )
    post_movement(session, balance_id, delta, reason, occurred_at, reference_type="adjustment", note=note)
    result = _balance_view(it.code, wh.code, loc.code, lot_code, bal.on_hand + delta, bal.reserved)
    emit(
        session,
        "inventory",
        f"{wh.code}/{loc.code}/{it.code}",
        "inventory.adjusted",
        {**result, "delta": delta, "reason": reason},
        occurred_at,
    )
    return result


def cycle_count(
    *,
    session: Session,
    location: str,
    item: str,
    counted_quantity: int,
    lot_code: str | None = None,
    warehouse: str | None = None,
    counted_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Record a physical count; the difference to the book quantity is posted with reason ``cycle_count``.

    Args:
        session: Open session (one transaction).
        location: Location code (add ``warehouse`` when the code is not unique across warehouses).
        item: Item code.
        counted_quantity: Units found (>= 0).
        lot_code: Lot counted (None: stock without lot).
        warehouse: Warehouse code, needed only to disambiguate the location.
        counted_at: Business time; defaults to now.

    Returns:
        ``{item, warehouse, location, lot_code, on_hand, reserved, available, delta}`` after the count.

    Raises:
        NotFoundError: unknown location, item, warehouse or lot.
        ValidationError: negative count, or a count below the reserved quantity (allocated stock must be
            released first).
    """
    counted = _check_quantity(counted_quantity, "counted_quantity", allow_zero=True)
    counted_at = counted_at or utcnow()
    wh = find_by_code(session, Warehouse, warehouse, field="warehouse") if warehouse is not None else None
    loc = find_location(session, location, wh)
    wh = wh or session.get(Warehouse, loc.warehouse_id)
    assert wh is not None
    it = find_by_code(session, Item, item, field="item")
    lot_id = None
    if lot_code is not None:
        lot_id = session.scalar(select(Lot.id).where(Lot.item_id == it.id, Lot.lot_code == lot_code))
        if lot_id is None:
            raise NotFoundError(
                f"unknown lot '{lot_code}' of item '{item}'", field="lot_code", value=lot_code
            )
    balance_id = ensure_balance(session, wh.id, loc.id, it.id, lot_id)
    bal = lock_balances(session, [balance_id])[balance_id]
    if counted < bal.reserved:
        raise ValidationError(
            f"counted {counted} of '{item}' at '{location}' is below the reserved {bal.reserved}",
            field="counted_quantity",
            value=counted,
        )
    delta = counted - bal.on_hand
    if delta:
        post_movement(session, balance_id, delta, "cycle_count", counted_at, reference_type="cycle_count")
    result = {**_balance_view(it.code, wh.code, loc.code, lot_code, counted, bal.reserved), "delta": delta}
    emit(session, "inventory", f"{wh.code}/{loc.code}/{it.code}", "inventory.counted", result, counted_at)
    return result


def _balance_view(
    item: str, warehouse: str, location: str, lot_code: str | None, on_hand: int, reserved: int
) -> dict[str, Any]:
    return {
        "item": item,
        "warehouse": warehouse,
        "location": location,
        "lot_code": lot_code,
        "on_hand": on_hand,
        "reserved": reserved,
        "available": on_hand - reserved,
    }


def get_inventory(
    *, session: Session, item: str | None = None, warehouse: str | None = None
) -> list[dict[str, Any]]:
    """Stock per item and warehouse (what ``GET /v1/inventory`` returns).

    Args:
        session: Open session.
        item: Only this item code.
        warehouse: Only this warehouse code.

    Returns:
        ``[{item, warehouse, on_hand, reserved, available}]`` sorted by item, warehouse; only pairs that have
        a balance row.

    Raises:
        NotFoundError: unknown item or warehouse code.
    """
    query = (
        select(
            Item.code.label("item"),
            Warehouse.code.label("warehouse"),
            func.sum(InventoryBalance.on_hand).label("on_hand"),
            func.sum(InventoryBalance.reserved).label("reserved"),
        )
        .join(Item, Item.id == InventoryBalance.item_id)
        .join(Warehouse, Warehouse.id == InventoryBalance.warehouse_id)
        .group_by(Item.code, Warehouse.code)
        .order_by(Item.code, Warehouse.code)
    )
    if item is not None:
        query = query.where(InventoryBalance.item_id == find_by_code(session, Item, item, field="item").id)
    if warehouse is not None:
        wh = find_by_code(session, Warehouse, warehouse, field="warehouse")
        query = query.where(InventoryBalance.warehouse_id == wh.id)
    return [
        {
            "item": r.item,
            "warehouse": r.warehouse,
            "on_hand": int(r.on_hand),
            "reserved": int(r.reserved),
            "available": int(r.on_hand - r.reserved),
        }
        for r in session.execute(query)
    ]


def ledger_balance_mismatches(session: Session) -> list[dict[str, Any]]:
    """Balance keys whose ledger sum differs from ``on_hand`` (empty when the books are consistent).

    Args:
        session: Open session.

    Returns:
        ``[{location_id, item_id, lot_id, on_hand, ledger_sum}]``; a key missing on one side counts as 0 there.
    """
    rows = session.execute(
        text(
            """
            with l as (
                select location_id, item_id, lot_id, sum(quantity_delta) as s
                from inventory_ledger group by location_id, item_id, lot_id
            )
            select coalesce(b.location_id, l.location_id) as location_id,
                   coalesce(b.item_id, l.item_id) as item_id,
                   coalesce(b.lot_id, l.lot_id) as lot_id,
                   coalesce(b.on_hand, 0) as on_hand, coalesce(l.s, 0) as ledger_sum
            from inventory_balances b
            full outer join l on l.location_id = b.location_id and l.item_id = b.item_id
                 and l.lot_id is not distinct from b.lot_id
            where coalesce(b.on_hand, 0) <> coalesce(l.s, 0)
            """
        )
    ).all()
    return [dict(r._mapping) for r in rows]
