"""Shipments: pack, ship (stock leaves the building), carrier tracking events and delivery.

Shipping posts the on-hand movement (ledger reason ``ship``) and consumes the reservation; freight is priced from
the lane rate of (carrier service, origin warehouse, customer region) and the promised delivery follows the lane's
transit days (the service's promised transit days when the lane has no rate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oltp.events import emit, utcnow
from oltp.inventory import find_by_code, lock_balances, post_movements
from oltp.models import (
    TRACKING_EVENT_TYPES,
    Carrier,
    CarrierService,
    Customer,
    FreightCharge,
    LaneRate,
    Package,
    Shipment,
    ShipmentLine,
    TrackingEvent,
    Warehouse,
)
from oltp.orders import lock_order, set_order_status
from oltp.serials import check_serials, controlled_items, mark_shipped, select_serials
from stockyard.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["ShipmentResult", "pack", "ship", "record_tracking_event", "deliver", "get_shipment"]

# Progress of a shipment; tracking events never move it backwards.
_RANK = {"planned": 0, "shipped": 1, "in_transit": 2, "exception": 2, "out_for_delivery": 3, "delivered": 4}
_EVENT_STATUS = {
    "picked_up": "in_transit",
    "departed_facility": "in_transit",
    "arrived_at_hub": "in_transit",
    "in_transit": "in_transit",
    "delayed": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "exception": "exception",
    "delivered": "delivered",
}


@dataclass(frozen=True)
class ShipmentResult:
    """A shipment as callers see it."""

    id: int
    shipment_number: str
    order_id: int | None
    warehouse: str
    carrier: str | None
    service: str | None
    tracking_number: str | None
    status: str
    shipped_at: dt.datetime | None
    promised_delivery_at: dt.datetime | None
    delivered_at: dt.datetime | None
    weight_kg: float
    cost: float
    lines: tuple[dict[str, Any], ...]
    packages: int


def get_shipment(*, session: Session, shipment_id: int) -> ShipmentResult:
    """Read one shipment with its lines.

    Raises:
        NotFoundError: unknown shipment.
    """
    row = session.execute(
        text(
            """
            select s.id, s.shipment_number, s.order_id, w.code as warehouse, c.code as carrier, cs.code as service,
                   s.tracking_number, s.status, s.planned_pickup_at as shipped_at, s.promised_delivery_at,
                   s.delivered_at, s.weight_kg, s.cost,
                   (select count(*) from packages p where p.shipment_id = s.id) as packages
            from shipments s join warehouses w on w.id = s.warehouse_id
            left join carrier_services cs on cs.id = s.carrier_service_id
            left join carriers c on c.id = cs.carrier_id
            where s.id = :s
            """
        ),
        {"s": shipment_id},
    ).first()
    if row is None:
        raise NotFoundError(f"unknown shipment {shipment_id}", field="shipment_id", value=shipment_id)
    lines = session.execute(
        text(
            "select i.code as item, lot.lot_code, sl.quantity from shipment_lines sl join items i on i.id = sl.item_id "
            "left join lots lot on lot.id = sl.lot_id where sl.shipment_id = :s order by sl.id"
        ),
        {"s": shipment_id},
    ).all()
    d = dict(row._mapping)
    d["cost"] = float(d["cost"])
    return ShipmentResult(**d, lines=tuple(dict(r._mapping) for r in lines))


def _picked_unshipped(session: Session, order_id: int) -> list[Any]:
    return list(
        session.execute(
            text(
                """
            select r.id, r.balance_id, r.order_line_id, r.quantity, r.quantity_picked, b.warehouse_id, b.item_id,
                   b.lot_id, b.location_id, loc.code as location, i.code as item, i.is_serialised, i.unit_weight_kg,
                   i.unit_length_cm * i.unit_width_cm * i.unit_height_cm / 1e6 as unit_m3
            from reservations r
            join order_lines l on l.id = r.order_line_id
            join inventory_balances b on b.id = r.balance_id
            join items i on i.id = b.item_id
            join locations loc on loc.id = b.location_id
            where l.order_id = :o and r.status = 'active' and r.quantity_picked > 0
            order by r.id
            """
            ),
            {"o": order_id},
        ).all()
    )


def _choose_warehouse(session: Session, order: Any, rows: list[Any], warehouse: str | None) -> int:
    if warehouse is not None:
        return find_by_code(session, Warehouse, warehouse, field="warehouse").id
    present = {r.warehouse_id for r in rows}
    if order.warehouse_id in present:
        return int(order.warehouse_id)
    if present:
        return min(present)
    return int(order.warehouse_id) if order.warehouse_id is not None else 0


def _next_id(session: Session, table: str) -> int:
    return int(session.scalar(text(f"select nextval(pg_get_serial_sequence('{table}', 'id'))")))


def _new_shipment(session: Session, order: Any, warehouse_id: int, at: dt.datetime) -> int:
    customer = session.get(Customer, order.customer_id)
    assert customer is not None
    sid = _next_id(session, "shipments")
    session.execute(
        insert(Shipment).values(
            id=sid,
            shipment_number=f"SH-{sid:08d}",
            order_id=order.id,
            warehouse_id=warehouse_id,
            customer_id=customer.id,
            destination_region=customer.region,
            destination_lat=customer.lat,
            destination_lon=customer.lon,
            status="planned",
            planned_pickup_at=at,
        )
    )
    return sid


def pack(
    *,
    session: Session,
    order_id: int,
    packages: list[dict[str, float]] | None = None,
    warehouse: str | None = None,
    packed_at: dt.datetime | None = None,
) -> ShipmentResult:
    """Pack the picked, unshipped stock of an order into packages of a planned shipment.

    Args:
        session: Open session (one transaction).
        order_id: The order.
        packages: ``[{weight_kg, volume_m3}]``; default one package with the picked units' weight and volume.
        warehouse: Warehouse code to pack in (default: the order's warehouse, else where stock was picked).
        packed_at: Business time; defaults to now.

    Returns:
        The planned shipment (status ``planned``).

    Raises:
        NotFoundError: unknown order or warehouse.
        ValidationError: nothing picked, or a package with negative weight/volume.
        ConflictError: order cancelled/shipped/delivered, or already packed in that warehouse.
    """
    at = packed_at or utcnow()
    order = lock_order(session, order_id)
    if order.status in ("cancelled", "shipped", "delivered"):
        raise ConflictError(f"order {order_id} is {order.status}", field="order_id", value=order_id)
    rows = _picked_unshipped(session, order_id)
    wid = _choose_warehouse(session, order, rows, warehouse)
    rows = [r for r in rows if r.warehouse_id == wid]
    if not rows:
        raise ValidationError(
            f"order {order_id} has nothing picked to pack", field="order_id", value=order_id
        )
    planned = session.scalar(
        text("select id from shipments where order_id = :o and warehouse_id = :w and status = 'planned'"),
        {"o": order_id, "w": wid},
    )
    if planned is not None:
        raise ConflictError(f"order {order_id} is already packed", field="order_id", value=order_id)
    if packages is None:
        packages = [
            {
                "weight_kg": round(sum(r.quantity_picked * r.unit_weight_kg for r in rows), 3),
                "volume_m3": round(sum(r.quantity_picked * float(r.unit_m3) for r in rows), 6),
            }
        ]
    for i, p in enumerate(packages):
        for key in ("weight_kg", "volume_m3"):
            value = p.get(key, 0)
            if not isinstance(value, int | float) or value < 0:
                raise ValidationError(
                    f"packages[{i}].{key} must be >= 0", field=f"packages[{i}].{key}", value=value
                )
    sid = _new_shipment(session, order, wid, at)
    session.execute(
        insert(Package),
        [
            {
                "shipment_id": sid,
                "package_number": f"PK-{sid:08d}-{i + 1}",
                "weight_kg": p.get("weight_kg", 0),
                "volume_m3": p.get("volume_m3", 0),
            }
            for i, p in enumerate(packages)
        ],
    )
    weight = sum(p.get("weight_kg", 0) for p in packages)
    session.execute(text("update shipments set weight_kg = :w where id = :s"), {"w": weight, "s": sid})
    set_order_status(session, order, "packed", at)
    emit(
        session,
        "order",
        order_id,
        "order.packed",
        {
            "order_number": order.order_number,
            "shipment_id": sid,
            "packages": len(packages),
            "weight_kg": weight,
        },
        at,
    )
    return get_shipment(session=session, shipment_id=sid)


def ship(
    *,
    session: Session,
    order_id: int,
    carrier: str,
    service: str,
    shipped_at: dt.datetime | None = None,
    lines: list[dict[str, Any]] | None = None,
    warehouse: str | None = None,
) -> ShipmentResult:
    """Hand picked stock of an order to a carrier.

    Uses the order's planned (packed) shipment in that warehouse, or creates one with a single package. On-hand
    and reserved drop by the shipped units (ledger reason ``ship``), the reservations are consumed, freight
    charges come from the lane rate and ``promised_delivery_at`` from its transit days.

    Args:
        session: Open session (one transaction).
        order_id: The order.
        carrier: Carrier code.
        service: Service code of that carrier.
        shipped_at: Business time; defaults to now.
        lines: ``[{item, quantity, serials?}]`` to ship part of what was picked; default everything picked.
            ``serials`` (one per unit) names the scanned units of a serialised item; without them the lowest
            available serials at the picked locations are taken. A serialised item under serial control (see
            :mod:`oltp.serials`) cannot ship without serials available.
        warehouse: Ship from this warehouse code (default: the order's warehouse, else where stock was picked).

    Returns:
        The shipment.

    Raises:
        NotFoundError: unknown order, carrier, service, warehouse, or an item not on the order.
        ValidationError: nothing picked, non-positive quantity, more than was picked (``lines[i].quantity``), or
            serial numbers missing for a serialised item (``lines[i].serials``, or ``serials`` when no lines).
        ConflictError: order cancelled or delivered.
    """
    at = shipped_at or utcnow()
    order = lock_order(session, order_id)
    if order.status in ("cancelled", "delivered"):
        raise ConflictError(f"order {order_id} is {order.status}", field="order_id", value=order_id)
    car = find_by_code(session, Carrier, carrier, field="carrier")
    svc = session.scalars(
        select(CarrierService).where(CarrierService.carrier_id == car.id, CarrierService.code == service)
    ).first()
    if svc is None:
        raise NotFoundError(
            f"unknown service '{service}' of carrier '{carrier}'", field="service", value=service
        )
    rows = _picked_unshipped(session, order_id)
    wid = _choose_warehouse(session, order, rows, warehouse)
    rows = [r for r in rows if r.warehouse_id == wid]
    scanned: dict[str, tuple[int, list[str]]] = {}
    picked: dict[str, int] = {}
    for r in rows:
        picked[r.item] = picked.get(r.item, 0) + r.quantity_picked
    if lines is None:
        want = dict(picked)
    else:
        ordered_items = set(
            session.scalars(
                text(
                    "select i.code from order_lines l join items i on i.id = l.item_id where l.order_id = :o"
                ),
                {"o": order_id},
            ).all()
        )
        want = {}
        for i, line in enumerate(lines):
            if line.get("serials") is not None:
                scanned[str(line.get("item"))] = (i, line["serials"])
            code, qty = str(line.get("item")), line.get("quantity")
            if code not in ordered_items:
                raise NotFoundError(
                    f"item '{code}' is not on order {order_id}", field=f"lines[{i}].item", value=code
                )
            if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
                raise ValidationError(
                    f"lines[{i}].quantity must be positive", field=f"lines[{i}].quantity", value=qty
                )
            want[code] = want.get(code, 0) + qty
            if want[code] > picked.get(code, 0):
                raise ValidationError(
                    f"cannot ship {want[code]} of '{code}': only {picked.get(code, 0)} picked and not shipped",
                    field=f"lines[{i}].quantity",
                    value=qty,
                )
    if sum(want.values()) == 0:
        raise ValidationError(
            f"order {order_id} has nothing picked to ship", field="order_id", value=order_id
        )

    # Take the wanted units from the picked reservations, oldest first.
    takes: list[tuple[Any, int]] = []
    left = dict(want)
    for r in rows:
        n = min(left.get(r.item, 0), r.quantity_picked)
        if n > 0:
            takes.append((r, n))
            left[r.item] -= n

    for code, (i, serials) in scanned.items():
        if not any(r.item == code and r.is_serialised for r in rows):
            raise ValidationError(
                f"item '{code}' is not serialised", field=f"lines[{i}].serials", value=serials
            )
        scanned[code] = (i, check_serials(serials, want.get(code, 0), f"lines[{i}].serials"))

    sid = session.scalar(
        text(
            "select id from shipments where order_id = :o and warehouse_id = :w and status = 'planned' for update"
        ),
        {"o": order_id, "w": wid},
    )
    packed = sid is not None
    lock_balances(session, [r.balance_id for r, _ in takes])
    # Serials under the balance locks, before anything is written: a shortage fails the call cleanly.
    controlled = controlled_items(session, [r.item_id for r, _ in takes if r.is_serialised], wid)
    shipped_serials: list[tuple[int, str]] = []
    serials_of: dict[str, list[str]] = {}
    for r, n in takes:
        if r.item_id not in controlled and r.item not in scanned:
            continue
        line_no, wanted = scanned.get(r.item, (None, None))
        chosen = select_serials(
            session,
            item_id=r.item_id,
            item_code=r.item,
            location_id=r.location_id,
            location_code=r.location,
            lot_id=r.lot_id,
            quantity=n,
            wanted=wanted,
            field=f"lines[{line_no}].serials" if line_no is not None else "serials",
        )
        shipped_serials += [(r.item_id, x) for x in chosen]
        serials_of.setdefault(r.item, []).extend(chosen)
        if wanted is not None:
            assert line_no is not None  # a scanned entry always carries its line index
            # Units scanned for one picked location are not offered again for the next.
            scanned[r.item] = (line_no, [x for x in wanted if x not in chosen])
    for code, (i, rest) in scanned.items():
        if rest and code in serials_of:
            raise ValidationError(
                f"serial numbers {', '.join(rest[:5])} of item '{code}' are not at the picked locations",
                field=f"lines[{i}].serials",
                value=rest[0],
            )
    if sid is None:
        sid = _new_shipment(session, order, wid, at)
    post_movements(
        session,
        [(r.balance_id, -n, -n) for r, n in takes],
        "ship",
        at,
        reference_type="shipment",
        reference_id=sid,
    )
    mark_shipped(session, shipped_serials, sid)
    full = [r.id for r, n in takes if n == r.quantity]
    if full:
        session.execute(
            text("update reservations set status = 'picked' where id = any(:ids)"), {"ids": sorted(full)}
        )
    partial = [(r, n) for r, n in takes if n != r.quantity]
    if partial:
        # Partial shipment of a reservation: split off the shipped part as a consumed reservation.
        session.execute(
            text(
                """
                with u as (
                  update reservations r set quantity = r.quantity - p.n, quantity_picked = r.quantity_picked - p.n
                  from unnest(cast(:ids as int[]), cast(:ns as int[])) as p(id, n) where r.id = p.id
                  returning r.order_line_id, r.balance_id, p.n
                )
                insert into reservations (order_line_id, balance_id, quantity, quantity_picked, status)
                select order_line_id, balance_id, n, n, 'picked' from u
                """
            ),
            {"ids": [r.id for r, _ in partial], "ns": [n for _, n in partial]},
        )
    per_line_lot: dict[tuple[int, int, int | None], int] = {}
    for r, n in takes:
        key = (r.order_line_id, r.item_id, r.lot_id)
        per_line_lot[key] = per_line_lot.get(key, 0) + n
    session.execute(
        insert(ShipmentLine),
        [
            {"shipment_id": sid, "order_line_id": k[0], "item_id": k[1], "lot_id": k[2], "quantity": q}
            for k, q in per_line_lot.items()
        ],
    )
    per_line: dict[int, int] = {}
    for (line_id, _, _), q in per_line_lot.items():
        per_line[line_id] = per_line.get(line_id, 0) + q
    session.execute(
        text(
            "update order_lines set quantity_shipped = quantity_shipped + :q, quantity_allocated = quantity_allocated - :q "
            "where id = :l"
        ),
        [{"q": q, "l": lid} for lid, q in sorted(per_line.items())],
    )
    weight = round(sum(n * r.unit_weight_kg for r, n in takes), 3)
    if packed:
        weight = float(
            session.scalar(
                text("select coalesce(sum(weight_kg), 0) from packages where shipment_id = :s"), {"s": sid}
            )
        )
    else:
        volume = round(sum(n * float(r.unit_m3) for r, n in takes), 6)
        session.execute(
            insert(Package).values(
                shipment_id=sid, package_number=f"PK-{sid:08d}-1", weight_kg=weight, volume_m3=volume
            )
        )
    customer = session.get(Customer, order.customer_id)
    assert customer is not None
    lane = session.scalars(
        select(LaneRate).where(
            LaneRate.carrier_service_id == svc.id,
            LaneRate.origin_warehouse_id == wid,
            LaneRate.destination_region == customer.region,
        )
    ).first()
    transit_days = lane.transit_days if lane is not None else svc.promised_transit_days
    charges: list[tuple[str, Decimal]] = []
    if lane is not None:
        charges = [
            ("base", lane.base_rate),
            ("weight", (lane.rate_per_kg * Decimal(str(weight))).quantize(Decimal("0.01"))),
        ]
    if charges:
        session.execute(
            insert(FreightCharge), [{"shipment_id": sid, "charge_type": t, "amount": a} for t, a in charges]
        )
    cost = sum((a for _, a in charges), Decimal(0))
    session.execute(
        text(
            """
            update shipments set carrier_service_id = :svc, status = 'shipped', tracking_number = :trk,
                   planned_pickup_at = :at, picked_up_at = :at, promised_delivery_at = :promised,
                   weight_kg = :w, cost = :cost
            where id = :s
            """
        ),
        {
            "svc": svc.id,
            "trk": f"{car.code[:4]}{sid:010d}",
            "at": at,
            "promised": at + dt.timedelta(days=transit_days),
            "w": weight,
            "cost": cost,
            "s": sid,
        },
    )
    still_open = session.scalar(
        text(
            "select count(*) from reservations r join order_lines l on l.id = r.order_line_id "
            "where l.order_id = :o and r.status = 'active'"
        ),
        {"o": order_id},
    )
    if still_open == 0:
        set_order_status(session, order, "shipped", at)
    result = get_shipment(session=session, shipment_id=sid)
    emit(
        session,
        "shipment",
        sid,
        "shipment.shipped",
        {
            "order_id": order_id,
            "shipment_number": result.shipment_number,
            "warehouse": result.warehouse,
            "carrier": carrier,
            "service": service,
            "tracking_number": result.tracking_number,
            "promised_delivery_at": result.promised_delivery_at,
            "weight_kg": weight,
            "cost": cost,
            "lines": list(result.lines),
            "serials": serials_of,
        },
        at,
    )
    return result


def _lock_shipment(session: Session, shipment_id: int | None, tracking_number: str | None) -> Any:
    if shipment_id is None and tracking_number is None:
        raise ValidationError("give shipment_id or tracking_number", field="shipment_id", value=None)
    query = "select id, order_id from shipments where " + (
        "id = :k" if shipment_id is not None else "tracking_number = :k"
    )
    key = shipment_id if shipment_id is not None else tracking_number
    head = session.execute(text(query), {"k": key}).first()
    if head is None:
        field = "shipment_id" if shipment_id is not None else "tracking_number"
        raise NotFoundError(f"unknown shipment {key}", field=field, value=key)
    order = lock_order(session, head.order_id) if head.order_id is not None else None
    shipment = session.scalars(
        select(Shipment)
        .where(Shipment.id == head.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return order, shipment


def _mark_delivered(session: Session, order: Any, shipment: Shipment, at: dt.datetime) -> None:
    if shipment.picked_up_at is not None and at < shipment.picked_up_at:
        raise ValidationError("delivered_at is before the pick-up", field="delivered_at", value=at)
    shipment.status = "delivered"
    shipment.delivered_at = at
    session.flush()
    if order is not None and order.status == "shipped":
        undelivered = session.scalar(
            text("select count(*) from shipments where order_id = :o and status <> 'delivered'"),
            {"o": order.id},
        )
        if undelivered == 0:
            set_order_status(session, order, "delivered", at)
    emit(
        session,
        "shipment",
        shipment.id,
        "shipment.delivered",
        {
            "order_id": shipment.order_id,
            "shipment_number": shipment.shipment_number,
            "promised_delivery_at": shipment.promised_delivery_at,
            "delivered_at": at,
        },
        at,
    )


def deliver(*, session: Session, shipment_id: int, delivered_at: dt.datetime | None = None) -> ShipmentResult:
    """Mark a shipment delivered (and its order, once all its shipments are).

    Args:
        session: Open session (one transaction).
        shipment_id: The shipment.
        delivered_at: Business time; defaults to now.

    Returns:
        The delivered shipment.

    Raises:
        NotFoundError: unknown shipment.
        ConflictError: the shipment has not shipped yet or is already delivered.
        ValidationError: ``delivered_at`` before the pick-up.
    """
    at = delivered_at or utcnow()
    order, shipment = _lock_shipment(session, shipment_id, None)
    if shipment.status in ("planned", "delivered", "cancelled"):
        raise ConflictError(
            f"shipment {shipment_id} is {shipment.status}", field="shipment_id", value=shipment_id
        )
    _mark_delivered(session, order, shipment, at)
    return get_shipment(session=session, shipment_id=shipment.id)


def record_tracking_event(
    *,
    session: Session,
    event_type: str,
    occurred_at: dt.datetime,
    shipment_id: int | None = None,
    tracking_number: str | None = None,
    location_text: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    external_id: str | None = None,
    source: str = "carrier",
) -> dict[str, Any]:
    """Record a carrier scan; idempotent on ``external_id``. Moves the shipment's status forward only.

    A ``delivered`` event delivers the shipment (as :func:`deliver`) unless it already is.

    Args:
        session: Open session (one transaction).
        event_type: One of ``TRACKING_EVENT_TYPES``.
        occurred_at: When the carrier saw it.
        shipment_id: The shipment (or give ``tracking_number``).
        tracking_number: The carrier's tracking number.
        location_text: Where, as text.
        lat: Latitude of the scan.
        lon: Longitude of the scan.
        external_id: The carrier's event id; a repeated id is ignored.
        source: Who reported it (``carrier``, ``iot``, ``import``...).

    Returns:
        ``{id, shipment_id, event_type, occurred_at, status, duplicate}``.

    Raises:
        NotFoundError: unknown shipment / tracking number.
        ValidationError: unknown event type, or neither id nor tracking number given.
    """
    if event_type not in TRACKING_EVENT_TYPES:
        raise ValidationError(
            f"unknown tracking event type '{event_type}'", field="event_type", value=event_type
        )
    if external_id is not None:
        seen = session.execute(
            text(
                "select id, shipment_id, event_type, occurred_at from tracking_events where external_id = :x"
            ),
            {"x": external_id},
        ).first()
        if seen is not None:
            return _tracking_view(session, seen, duplicate=True)
    order, shipment = _lock_shipment(session, shipment_id, tracking_number)
    event_id = session.scalar(
        pg_insert(TrackingEvent)
        .values(
            shipment_id=shipment.id,
            event_type=event_type,
            occurred_at=occurred_at,
            location_text=location_text,
            lat=lat,
            lon=lon,
            source=source,
            external_id=external_id,
        )
        .on_conflict_do_nothing()
        .returning(TrackingEvent.id)
    )
    if event_id is None:  # the same external id committed concurrently
        seen = session.execute(
            text(
                "select id, shipment_id, event_type, occurred_at from tracking_events where external_id = :x"
            ),
            {"x": external_id},
        ).one()
        return _tracking_view(session, seen, duplicate=True)
    if (
        event_type == "picked_up"
        and shipment.picked_up_at is None
        and (shipment.delivered_at is None or occurred_at <= shipment.delivered_at)
    ):
        shipment.picked_up_at = occurred_at
    target = _EVENT_STATUS[event_type]
    emit(
        session,
        "shipment",
        shipment.id,
        "shipment.tracking_event",
        {
            "tracking_event_id": event_id,
            "event_type": event_type,
            "location_text": location_text,
            "lat": lat,
            "lon": lon,
            "external_id": external_id,
        },
        occurred_at,
    )
    if target == "delivered":
        if shipment.status not in ("delivered", "planned", "cancelled"):
            _mark_delivered(session, order, shipment, occurred_at)
    elif (
        shipment.status != "planned"
        and _RANK[target] > _RANK.get(shipment.status, 0)
        or (target == "exception" and shipment.status in ("shipped", "in_transit", "out_for_delivery"))
    ):
        shipment.status = target
    session.flush()
    return {
        "id": event_id,
        "shipment_id": shipment.id,
        "event_type": event_type,
        "occurred_at": occurred_at,
        "status": shipment.status,
        "duplicate": False,
    }


def _tracking_view(session: Session, row: Any, *, duplicate: bool) -> dict[str, Any]:
    status = session.scalar(text("select status from shipments where id = :s"), {"s": row.shipment_id})
    return {
        "id": row.id,
        "shipment_id": row.shipment_id,
        "event_type": row.event_type,
        "occurred_at": row.occurred_at,
        "status": status,
        "duplicate": duplicate,
    }
