"""Serial numbers of serialised items: captured on receipt, consumed on shipment, brought back by returns.

Serial control of an item starts in a warehouse with its first recorded serial there (given at a receipt, or
carried in by a transfer). From then on every receipt of the item into that warehouse records serials (the
caller's, or generated ``<item>-R<receipt>-<n>``), and shipping needs one available serial per unit at the
shipping location and lot, else it fails with a :class:`ValidationError`. Stock of a serialised item booked
before control started (bulk history, ``stockyard import inventory``) ships untracked: serials cannot be
invented for units nobody scanned.

Statuses: ``in_stock`` and ``returned`` (restocked after a return) are available at ``location_id``;
``shipped`` rows carry the ``shipment_id``; ``scrapped`` rows are gone. Serial rows of (item, location) change
only under the lock of a balance of that key (``oltp/locking.md`` step 3), so they need no lock of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from oltp.inventory import find_by_code
from oltp.models import Item
from stockyard.errors import ConflictError, ValidationError

__all__ = [
    "AVAILABLE",
    "check_serials",
    "controlled_items",
    "get_serials",
    "register_serials",
    "mark_shipped",
    "select_serials",
]

AVAILABLE = ("in_stock", "returned")


def check_serials(value: object, quantity: int, field: str) -> list[str]:
    """Validate a caller's serial list: distinct non-empty strings, one per unit.

    Args:
        value: The ``serials`` entry of an input line.
        quantity: Units on the line.
        field: Input field named in the error (``lines[i].serials``).

    Returns:
        The serials.

    Raises:
        ValidationError: not a list of distinct non-empty strings, or not one per unit.
    """
    if not isinstance(value, list | tuple) or not all(isinstance(s, str) and s for s in value):
        raise ValidationError(f"{field} must be a list of serial numbers", field=field, value=value)
    if len(set(value)) != len(value):
        raise ValidationError(f"{field} repeats a serial number", field=field, value=value)
    if len(value) != quantity:
        raise ValidationError(
            f"{field} lists {len(value)} serial numbers for {quantity} units", field=field, value=value
        )
    return list(value)


def controlled_items(session: Session, item_ids: Sequence[int], warehouse_id: int) -> set[int]:
    """The serialised items among ``item_ids`` under serial control in the warehouse.

    Args:
        session: Open session.
        item_ids: Item ids to check.
        warehouse_id: The warehouse.

    Returns:
        Ids of the items with a serial recorded in the warehouse (in stock there or shipped from there).
    """
    if not item_ids:
        return set()
    rows = session.scalars(
        text(
            """
            select i.id from items i
            where i.id = any(:items) and i.is_serialised and exists (
              select 1 from serial_numbers s
              left join locations l on l.id = s.location_id
              left join shipments sh on sh.id = s.shipment_id
              where s.item_id = i.id and coalesce(l.warehouse_id, sh.warehouse_id) = :w)
            """
        ),
        {"items": sorted(set(item_ids)), "w": warehouse_id},
    ).all()
    return set(rows)


def register_serials(
    session: Session,
    *,
    item_id: int,
    item_code: str,
    lot_id: int | None,
    location_id: int,
    serials: Sequence[str],
    field: str,
) -> None:
    """Record received units' serials as in stock at a location (caller holds the balance lock).

    A serial seen before for the item (a returned unit comes back through :func:`oltp.returns.receive_return`)
    is a conflict.

    Raises:
        ConflictError: a serial of the item already exists.
    """
    if not serials:
        return
    inserted = set(
        session.scalars(
            text(
                "insert into serial_numbers (item_id, serial, lot_id, location_id, status) "
                "select :i, s, :lot, :loc, 'in_stock' from unnest(cast(:serials as text[])) as s "
                "on conflict (item_id, serial) do nothing returning serial"
            ),
            {"i": item_id, "lot": lot_id, "loc": location_id, "serials": list(serials)},
        ).all()
    )
    clash = next((s for s in serials if s not in inserted), None)
    if clash is not None:
        raise ConflictError(
            f"serial number '{clash}' of item '{item_code}' is already recorded", field=field, value=clash
        )


def select_serials(
    session: Session,
    *,
    item_id: int,
    item_code: str,
    location_id: int,
    location_code: str,
    lot_id: int | None,
    quantity: int,
    wanted: Sequence[str] | None,
    field: str,
) -> list[str]:
    """Choose ``quantity`` available serials at (item, location, lot) for shipping (nothing is written).

    Args:
        session: Session holding the balance lock of (location, item, lot).
        item_id: The item.
        item_code: Its code (for messages).
        location_id: Where the units are picked from.
        location_code: Its code (for messages).
        lot_id: Their lot.
        quantity: Units shipped.
        wanted: The serials the caller scanned (exactly ``quantity``), or None for the lowest available ones.
        field: Input field named in errors.

    Returns:
        The chosen serials (pass them to :func:`mark_shipped`).

    Raises:
        ValidationError: fewer serials available than units, or a wanted serial not available there.
    """
    rows = session.scalars(
        text(
            "select serial from serial_numbers where item_id = :i and location_id = :loc "
            "and lot_id is not distinct from :lot and status = any(:avail) "
            + ("and serial = any(:wanted) " if wanted is not None else "")
            + "order by serial limit :n"
        ),
        {
            "i": item_id,
            "loc": location_id,
            "lot": lot_id,
            "avail": list(AVAILABLE),
            "wanted": list(wanted or []),
            "n": quantity,
        },
    ).all()
    if len(rows) < quantity:
        if wanted is not None:
            missing = sorted(set(wanted) - set(rows))
            raise ValidationError(
                f"serial numbers {', '.join(missing[:5])} of item '{item_code}' are not in stock at "
                f"'{location_code}'",
                field=field,
                value=missing[0] if missing else None,
            )
        raise ValidationError(
            f"cannot ship {quantity} of serialised item '{item_code}' from '{location_code}': only {len(rows)} "
            "serial numbers in stock there",
            field=field,
            value=item_code,
        )
    return list(rows)


def mark_shipped(session: Session, shipped: Sequence[tuple[int, str]], shipment_id: int) -> None:
    """Mark ``[(item_id, serial)]`` shipped on ``shipment_id`` (they leave their location).

    Args:
        session: Session holding the balance locks the serials were chosen under.
        shipped: The serials, as chosen by :func:`select_serials`.
        shipment_id: The shipment.
    """
    if not shipped:
        return
    session.execute(
        text(
            "update serial_numbers s set status = 'shipped', shipment_id = :s, location_id = null "
            "from unnest(cast(:items as int[]), cast(:serials as text[])) as u(item_id, serial) "
            "where s.item_id = u.item_id and s.serial = u.serial"
        ),
        {"s": shipment_id, "items": [i for i, _ in shipped], "serials": [x for _, x in shipped]},
    )


def get_serials(*, session: Session, item: str, status: str | None = None) -> list[dict[str, Any]]:
    """Serial numbers of an item.

    Args:
        session: Open session.
        item: Item code.
        status: Only this status (``in_stock``, ``shipped``, ``returned``, ``scrapped``).

    Returns:
        ``[{serial, status, warehouse, location, lot_code, shipment_id}]`` sorted by serial.

    Raises:
        NotFoundError: unknown item.
    """
    it = find_by_code(session, Item, item, field="item")
    rows = session.execute(
        text(
            """
            select s.serial, s.status, w.code as warehouse, l.code as location, lot.lot_code, s.shipment_id
            from serial_numbers s
            left join locations l on l.id = s.location_id
            left join warehouses w on w.id = l.warehouse_id
            left join lots lot on lot.id = s.lot_id
            where s.item_id = :i and (cast(:st as varchar) is null or s.status = :st)
            order by s.serial
            """
        ),
        {"i": it.id, "st": status},
    ).all()
    return [dict(r._mapping) for r in rows]
