"""Small deterministic OLTP master data for tests: warehouses, zones, locations, items, customers, carriers, stock.

Codes are stable (``WH1``, ``ITEM001``, ``CUST001`` ...), so tests can name them directly; location codes carry the
warehouse code (``WH1-AMB-P1``) and are therefore unique across warehouses too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from oltp.bootstrap import load_reference_data
from oltp.inventory import adjust
from oltp.models import (
    Carrier,
    CarrierService,
    Customer,
    DockDoor,
    Item,
    LaneRate,
    Location,
    Supplier,
    Warehouse,
    Zone,
)

__all__ = ["seed_master_data", "ZONES", "ITEM_CLASSES", "OPENING_DATE"]

# zone code -> temperature class
ZONES = {"AMB": "ambient", "CHL": "chilled", "FRZ": "frozen", "HAZ": "hazmat"}
# items cycle through these classes: ITEM001 ambient, ITEM002 ambient, ITEM003 chilled, ITEM004 frozen, ITEM005 hazmat
ITEM_CLASSES = ("ambient", "ambient", "chilled", "frozen", "hazmat")
REGIONS = ("north", "south")
OPENING_DATE = dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC)
_WAREHOUSE_COORDS = [(52.37, 4.90), (48.14, 11.58), (45.46, 9.19), (50.85, 4.35), (41.39, 2.17)]


def seed_master_data(
    session: Session,
    warehouses: int = 2,
    items: int = 10,
    customers: int = 4,
    stock_per_item: int = 100,
    stocked_warehouses: int | None = None,
) -> dict[str, Any]:
    """Write master data and opening stock; the caller commits.

    Per warehouse: zones AMB/CHL/FRZ/HAZ, each with pick faces ``P1``, ``P2`` and reserves ``R1``, ``R2``
    (1 m³ pick faces, 20 m³ reserves), three dock doors. Items cycle through :data:`ITEM_CLASSES`. Opening stock
    (reason ``opening_balance``) of ``stock_per_item`` per item and stocked warehouse sits on the item's pick face;
    perishable (chilled/frozen) items get it as two lots: ``<item>-A`` (expires 2024-06-30, pick face) and
    ``<item>-B`` (expires 2024-03-31, reserve), so FEFO must take the reserve lot first.

    Args:
        session: Open session.
        warehouses: Number of warehouses (1..5).
        items: Number of items.
        customers: Number of customers (regions alternate north/south).
        stock_per_item: Opening units per item in each stocked warehouse (0: none).
        stocked_warehouses: How many warehouses (the first ones) get opening stock; None = all.

    Returns:
        ``{warehouses, items, items_by_class, customers, suppliers, carriers: {code: [service]}, regions,
        locations: {warehouse: {zone_code: {"pick_face": [...], "reserve": [...]}}}, pick_face: {(wh, item): loc}}``.
    """
    assert 1 <= warehouses <= len(_WAREHOUSE_COORDS)
    load_reference_data(session)
    suppliers = ["SUP1", "SUP2"]
    session.execute(
        insert(Supplier),
        [
            {"code": s, "name": f"Supplier {s}", "lead_time_mean_days": 5 + 2 * i, "lead_time_sd_days": 1}
            for i, s in enumerate(suppliers)
        ],
    )
    supplier_ids = dict(session.execute(select(Supplier.code, Supplier.id)).tuples().all())
    wh_codes = [f"WH{i + 1}" for i in range(warehouses)]
    locations: dict[str, dict[str, dict[str, list[str]]]] = {}
    for i, code in enumerate(wh_codes):
        lat, lon = _WAREHOUSE_COORDS[i]
        wh = Warehouse(
            code=code,
            name=f"Warehouse {code}",
            lat=lat,
            lon=lon,
            region=REGIONS[i % 2],
            storage_capacity_m3=5000,
        )
        session.add(wh)
        session.flush()
        locations[code] = {}
        for z, (zone_code, klass) in enumerate(ZONES.items()):
            zone = Zone(warehouse_id=wh.id, code=zone_code, temperature_class=klass)
            session.add(zone)
            session.flush()
            locations[code][zone_code] = {"pick_face": [], "reserve": []}
            for kind, prefix, capacity in (("pick_face", "P", 1.0), ("reserve", "R", 20.0)):
                for n in (1, 2):
                    loc_code = f"{code}-{zone_code}-{prefix}{n}"
                    session.add(
                        Location(
                            warehouse_id=wh.id,
                            zone_id=zone.id,
                            code=loc_code,
                            aisle=z + 1,
                            bay=n,
                            level=0 if kind == "pick_face" else 2,
                            x=float(z * 10),
                            y=float(n * 3),
                            z=0.0 if kind == "pick_face" else 3.0,
                            volume_capacity_m3=capacity,
                            weight_capacity_kg=capacity * 500,
                            location_type=kind,
                        )
                    )
                    locations[code][zone_code][kind].append(loc_code)
        session.add_all(
            [
                DockDoor(warehouse_id=wh.id, code="D1", door_type="inbound"),
                DockDoor(warehouse_id=wh.id, code="D2", door_type="outbound"),
                DockDoor(warehouse_id=wh.id, code="D3", door_type="both", is_reefer=True),
            ]
        )
    session.flush()

    item_codes = [f"ITEM{i + 1:03d}" for i in range(items)]
    items_by_class: dict[str, list[str]] = {k: [] for k in ("ambient", "chilled", "frozen", "hazmat")}
    for i, code in enumerate(item_codes):
        klass = ITEM_CLASSES[i % len(ITEM_CLASSES)]
        items_by_class[klass].append(code)
        session.add(
            Item(
                code=code,
                name=f"Item {code}",
                category=klass,
                family=f"fam{i % 3}",
                unit_weight_kg=0.5 + (i % 4),
                unit_cost=Decimal(5 + i),
                list_price=Decimal(10 + 2 * i),
                shelf_life_days=60 if klass in ("chilled", "frozen") else None,
                temperature_class=klass,
                is_hazmat=klass == "hazmat",
                supplier_id=supplier_ids[suppliers[i % 2]],
            )
        )
    cust_codes = [f"CUST{i + 1:03d}" for i in range(customers)]
    for i, code in enumerate(cust_codes):
        lat, lon = _WAREHOUSE_COORDS[i % warehouses]
        session.add(
            Customer(code=code, name=f"Customer {code}", region=REGIONS[i % 2], lat=lat + 0.3, lon=lon + 0.2)
        )
    session.flush()

    services = session.execute(
        select(Carrier.code, CarrierService.code, CarrierService.id, CarrierService.promised_transit_days)
        .join(Carrier, Carrier.id == CarrierService.carrier_id)
        .order_by(Carrier.code, CarrierService.code)
    ).all()
    carriers: dict[str, list[str]] = {}
    wh_ids = dict(session.execute(select(Warehouse.code, Warehouse.id)).tuples().all())
    rates = []
    for carrier, service, service_id, days in services:
        carriers.setdefault(carrier, []).append(service)
        for w in wh_codes:
            for r, region in enumerate(REGIONS):
                rates.append(
                    {
                        "carrier_service_id": service_id,
                        "origin_warehouse_id": wh_ids[w],
                        "destination_region": region,
                        "base_rate": Decimal("5.00") + r,
                        "rate_per_kg": Decimal("0.80"),
                        "transit_days": days + r,
                    }
                )
    session.execute(insert(LaneRate), rates)

    zone_of = {v: k for k, v in ZONES.items()}
    pick_face: dict[tuple[str, str], str] = {}
    for w in wh_codes:
        for klass, codes in items_by_class.items():
            for n, code in enumerate(codes):
                pick_face[(w, code)] = locations[w][zone_of[klass]]["pick_face"][n % 2]
    n_stocked = warehouses if stocked_warehouses is None else stocked_warehouses
    if stock_per_item > 0:
        for w in wh_codes[:n_stocked]:
            for i, code in enumerate(item_codes):
                klass = ITEM_CLASSES[i % len(ITEM_CLASSES)]
                if klass in ("chilled", "frozen"):
                    first = stock_per_item // 2
                    reserve = locations[w][zone_of[klass]]["reserve"][0]
                    _open(session, w, pick_face[(w, code)], code, first, f"{code}-A", dt.date(2024, 6, 30))
                    _open(
                        session, w, reserve, code, stock_per_item - first, f"{code}-B", dt.date(2024, 3, 31)
                    )
                else:
                    _open(session, w, pick_face[(w, code)], code, stock_per_item, None, None)
    return {
        "warehouses": wh_codes,
        "items": item_codes,
        "items_by_class": items_by_class,
        "customers": cust_codes,
        "suppliers": suppliers,
        "carriers": carriers,
        "regions": list(REGIONS),
        "locations": locations,
        "pick_face": pick_face,
    }


def _open(
    session: Session,
    warehouse: str,
    location: str,
    item: str,
    qty: int,
    lot: str | None,
    expiry: dt.date | None,
) -> None:
    if qty > 0:
        adjust(
            session=session,
            warehouse=warehouse,
            location=location,
            item=item,
            delta=qty,
            reason="opening_balance",
            lot_code=lot,
            expiry_date=expiry,
            occurred_at=OPENING_DATE,
        )
