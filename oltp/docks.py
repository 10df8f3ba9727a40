"""Dock appointments: book a door for an inbound purchase order or an outbound shipment, without overlaps.

A door is compatible when its type serves the direction (``inbound`` / ``outbound`` / ``both``) and, for a
load with chilled or frozen items, it is a reefer door. Active appointments (``booked``, ``arrived``) never
overlap on one door: the service locks the warehouse's candidate doors (one statement, ascending id), checks
the calendar and names the conflicting door and time; an exclusion constraint (migration 0002) is the last line
of defence. Intervals are half-open, so 08:00-09:00 and 09:00-10:00 do not overlap.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from oltp.events import emit, utcnow
from oltp.inventory import find_by_code
from oltp.models import Warehouse
from stockyard.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["book_appointment", "cancel_appointment", "get_appointment", "list_appointments"]

_DIRECTIONS = ("inbound", "outbound")
_ACTIVE = ("booked", "arrived")

_VIEW = """
    select a.id, w.code as warehouse, d.code as door, a.direction, a.purchase_order_id, a.shipment_id,
           a.starts_at, a.ends_at, a.status
    from dock_appointments a join dock_doors d on d.id = a.dock_door_id join warehouses w on w.id = a.warehouse_id
"""


def _fmt(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _aware(value: object, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError(f"{field} must be a timezone-aware datetime", field=field, value=value)
    return value


def get_appointment(*, session: Session, appointment_id: int) -> dict[str, Any]:
    """One appointment.

    Args:
        session: Open session.
        appointment_id: The appointment id.

    Returns:
        ``{id, warehouse, door, direction, purchase_order_id, shipment_id, starts_at, ends_at, status}``.

    Raises:
        NotFoundError: unknown appointment.
    """
    row = session.execute(text(_VIEW + " where a.id = :a"), {"a": appointment_id}).first()
    if row is None:
        raise NotFoundError(
            f"unknown dock appointment {appointment_id}", field="appointment_id", value=appointment_id
        )
    return dict(row._mapping)


def list_appointments(
    *, session: Session, warehouse: str, starts: dt.datetime, ends: dt.datetime
) -> list[dict[str, Any]]:
    """Active appointments of a warehouse that overlap ``[starts, ends)``, by door and start.

    Args:
        session: Open session.
        warehouse: Warehouse code.
        starts: Window start (timezone-aware).
        ends: Window end (timezone-aware).

    Returns:
        Appointments as in :func:`get_appointment`.

    Raises:
        NotFoundError: unknown warehouse.
        ValidationError: naive datetimes.
    """
    wh = find_by_code(session, Warehouse, warehouse, field="warehouse")
    rows = session.execute(
        text(
            _VIEW + " where a.warehouse_id = :w and a.status = any(:active) and a.starts_at < :e "
            "and a.ends_at > :s order by d.code, a.starts_at"
        ),
        {
            "w": wh.id,
            "active": list(_ACTIVE),
            "s": _aware(starts, "starts"),
            "e": _aware(ends, "ends"),
        },
    ).all()
    return [dict(r._mapping) for r in rows]


def _load(
    session: Session, warehouse: Warehouse, purchase_order_id: int | None, shipment_id: int | None
) -> bool:
    """Check the document being booked; returns whether its load holds chilled or frozen items."""
    if purchase_order_id is not None:
        row = session.execute(
            text(
                "select p.po_number, p.warehouse_id, p.status, exists (select 1 from purchase_order_lines l "
                "join items i on i.id = l.item_id where l.purchase_order_id = p.id "
                "and i.temperature_class in ('chilled', 'frozen')) as cold from purchase_orders p where p.id = :p"
            ),
            {"p": purchase_order_id},
        ).first()
        if row is None:
            raise NotFoundError(
                f"unknown purchase order {purchase_order_id}",
                field="purchase_order_id",
                value=purchase_order_id,
            )
        if row.warehouse_id != warehouse.id:
            raise ValidationError(
                f"purchase order {row.po_number} is not received in warehouse '{warehouse.code}'",
                field="purchase_order_id",
                value=purchase_order_id,
            )
        if row.status in ("received", "cancelled"):
            raise ConflictError(
                f"purchase order {row.po_number} is {row.status}",
                field="purchase_order_id",
                value=purchase_order_id,
            )
        return bool(row.cold)
    row = session.execute(
        text(
            """
            select s.shipment_number, s.warehouse_id, s.status,
                   exists (select 1 from shipment_lines sl join items i on i.id = sl.item_id
                           where sl.shipment_id = s.id and i.temperature_class in ('chilled', 'frozen'))
                   or exists (select 1 from order_lines l join items i on i.id = l.item_id
                              where l.order_id = s.order_id and i.temperature_class in ('chilled', 'frozen'))
                   as cold
            from shipments s where s.id = :s
            """
        ),
        {"s": shipment_id},
    ).first()
    if row is None:
        raise NotFoundError(f"unknown shipment {shipment_id}", field="shipment_id", value=shipment_id)
    if row.warehouse_id != warehouse.id:
        raise ValidationError(
            f"shipment {row.shipment_number} does not leave from warehouse '{warehouse.code}'",
            field="shipment_id",
            value=shipment_id,
        )
    if row.status in ("delivered", "cancelled"):
        raise ConflictError(
            f"shipment {row.shipment_number} is {row.status}", field="shipment_id", value=shipment_id
        )
    return bool(row.cold)


def book_appointment(
    *,
    session: Session,
    warehouse: str,
    direction: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None = None,
    duration_minutes: int = 60,
    purchase_order_id: int | None = None,
    shipment_id: int | None = None,
    door: str | None = None,
    reefer: bool | None = None,
    booked_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Book a dock door for an inbound purchase order or an outbound shipment.

    Without ``door``, the first free compatible door (by code) is taken; with it, that door or an error.

    Args:
        session: Open session (one transaction).
        warehouse: Warehouse code.
        direction: ``inbound`` (needs ``purchase_order_id``) or ``outbound`` (needs ``shipment_id``).
        starts_at: Start of the slot (timezone-aware).
        ends_at: End of the slot (exclusive); default ``starts_at + duration_minutes``.
        duration_minutes: Slot length when ``ends_at`` is not given (> 0).
        purchase_order_id: The purchase order arriving (inbound).
        shipment_id: The shipment leaving (outbound).
        door: Door code in the warehouse; None picks one.
        reefer: Whether the load needs a reefer door; None derives it from the load (chilled/frozen items).
        booked_at: Business time of the booking (the event's time); defaults to now.

    Returns:
        The appointment as in :func:`get_appointment`.

    Raises:
        NotFoundError: unknown warehouse, door, purchase order or shipment.
        ValidationError: bad direction, missing or mismatched document, naive or empty interval, or a door
            that cannot serve the load (type or reefer).
        ConflictError: the document is closed, or the door (every compatible door) is taken at that time; the
            message names the door and the conflicting slot.
    """
    if direction not in _DIRECTIONS:
        raise ValidationError("direction must be 'inbound' or 'outbound'", field="direction", value=direction)
    if direction == "inbound" and (purchase_order_id is None or shipment_id is not None):
        raise ValidationError(
            "an inbound appointment needs a purchase_order_id (and no shipment_id)",
            field="purchase_order_id",
            value=purchase_order_id,
        )
    if direction == "outbound" and (shipment_id is None or purchase_order_id is not None):
        raise ValidationError(
            "an outbound appointment needs a shipment_id (and no purchase_order_id)",
            field="shipment_id",
            value=shipment_id,
        )
    start = _aware(starts_at, "starts_at")
    if ends_at is None:
        if (
            isinstance(duration_minutes, bool)
            or not isinstance(duration_minutes, int)
            or duration_minutes <= 0
        ):
            raise ValidationError(
                "duration_minutes must be a positive integer",
                field="duration_minutes",
                value=duration_minutes,
            )
        end = start + dt.timedelta(minutes=duration_minutes)
    else:
        end = _aware(ends_at, "ends_at")
        if end <= start:
            raise ValidationError("ends_at must be after starts_at", field="ends_at", value=ends_at)
    wh = find_by_code(session, Warehouse, warehouse, field="warehouse")
    cold = _load(session, wh, purchase_order_id, shipment_id)
    needs_reefer = cold if reefer is None else bool(reefer)

    # Lock the warehouse's doors of this direction in one statement, ascending id: concurrent bookings of the
    # same doors queue here, so the calendar read below cannot be overtaken. NO KEY UPDATE does not block the
    # KEY SHARE locks of foreign-key checks (appointments inserted elsewhere).
    doors = session.execute(
        text(
            "select id, code, door_type, is_reefer from dock_doors where warehouse_id = :w "
            "and door_type in (:d, 'both') order by id for no key update"
        ),
        {"w": wh.id, "d": direction},
    ).all()
    if door is not None:
        chosen = [d for d in doors if d.code == door]
        if not chosen:
            exists = session.execute(
                text("select door_type from dock_doors where warehouse_id = :w and code = :c"),
                {"w": wh.id, "c": door},
            ).first()
            if exists is None:
                raise NotFoundError(
                    f"unknown door '{door}' in warehouse '{wh.code}'", field="door", value=door
                )
            raise ValidationError(
                f"door '{door}' of '{wh.code}' is an {exists.door_type} door, not {direction}",
                field="door",
                value=door,
            )
        if needs_reefer and not chosen[0].is_reefer:
            raise ValidationError(
                f"door '{door}' of '{wh.code}' is not a reefer door and the load needs one",
                field="door",
                value=door,
            )
        candidates = chosen
    else:
        candidates = sorted((d for d in doors if d.is_reefer or not needs_reefer), key=lambda d: d.code)
        if not candidates:
            kind = f"{direction} reefer" if needs_reefer else direction
            raise ValidationError(f"warehouse '{wh.code}' has no {kind} door", field="door", value=None)
    busy = session.execute(
        text(
            "select id, dock_door_id, starts_at, ends_at from dock_appointments where dock_door_id = any(:doors) "
            "and status = any(:active) and starts_at < :e and ends_at > :s order by starts_at, id"
        ),
        {"doors": [d.id for d in candidates], "active": list(_ACTIVE), "s": start, "e": end},
    ).all()
    taken: dict[int, Any] = {}
    for b in busy:
        taken.setdefault(b.dock_door_id, b)
    free = [d for d in candidates if d.id not in taken]
    if not free:
        clashes = "; ".join(
            f"door '{d.code}' has appointment {taken[d.id].id} "
            f"{_fmt(taken[d.id].starts_at)}-{_fmt(taken[d.id].ends_at)}"
            for d in candidates
        )
        raise ConflictError(
            f"no free {direction} door in '{wh.code}' for {_fmt(start)}-{_fmt(end)}: {clashes}",
            field="door" if door is not None else "starts_at",
            value=door if door is not None else start,
        )
    target = free[0]
    appointment_id = session.scalar(
        text(
            "insert into dock_appointments (warehouse_id, dock_door_id, direction, purchase_order_id, shipment_id, "
            "starts_at, ends_at, status) values (:w, :d, :dir, :po, :s, :start, :end, 'booked') returning id"
        ),
        {
            "w": wh.id,
            "d": target.id,
            "dir": direction,
            "po": purchase_order_id,
            "s": shipment_id,
            "start": start,
            "end": end,
        },
    )
    result = get_appointment(session=session, appointment_id=appointment_id)
    emit(
        session, "dock_appointment", appointment_id, "dock_appointment.booked", result, booked_at or utcnow()
    )
    return result


def cancel_appointment(
    *,
    session: Session,
    appointment_id: int,
    reason: str | None = None,
    cancelled_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Cancel a booked appointment, freeing its slot.

    Args:
        session: Open session (one transaction).
        appointment_id: The appointment.
        reason: Why (kept in the event).
        cancelled_at: Business time; defaults to now.

    Returns:
        The cancelled appointment.

    Raises:
        NotFoundError: unknown appointment.
        ConflictError: the appointment already arrived, completed or was cancelled.
    """
    row = session.execute(
        text("select id, status from dock_appointments where id = :a for update"), {"a": appointment_id}
    ).first()
    if row is None:
        raise NotFoundError(
            f"unknown dock appointment {appointment_id}", field="appointment_id", value=appointment_id
        )
    if row.status != "booked":
        raise ConflictError(
            f"dock appointment {appointment_id} is {row.status}", field="appointment_id", value=appointment_id
        )
    session.execute(
        text("update dock_appointments set status = 'cancelled' where id = :a"), {"a": appointment_id}
    )
    result = get_appointment(session=session, appointment_id=appointment_id)
    emit(
        session,
        "dock_appointment",
        appointment_id,
        "dock_appointment.cancelled",
        {**result, "reason": reason},
        cancelled_at or utcnow(),
    )
    return result
