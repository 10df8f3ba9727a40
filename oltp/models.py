"""OLTP tables of Stockyard (SQLAlchemy 2.0 declarative).

These classes describe the schema for the domain services; the database itself is created only by the Alembic
migrations in ``oltp/migrations`` (never ``create_all``). Constraints make bad states impossible in the database:
non-negative quantities, valid statuses, foreign keys and unique business / idempotency keys.

Conventions:
- Every table has a surrogate ``id``; master data also has a unique business ``code`` used in files, CLI and API.
- Mutable tables carry ``created_at`` / ``updated_at``; a trigger maintains ``updated_at`` and a delete trigger
  records deletions in ``cdc_deletes`` so the lake can reflect them.
- Append-only tables (``events``, ``inventory_ledger``, ``tracking_events``, ``order_status_history``) and the
  ``cdc_deletes`` log carry ``txid`` (the writing transaction's id) so change capture can avoid reading past transactions that are still in flight.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "ORDER_STATUSES",
    "SHIPMENT_STATUSES",
    "TEMPERATURE_CLASSES",
    "LEDGER_REASONS",
    "TRACKING_EVENT_TYPES",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEMPERATURE_CLASSES = ("ambient", "chilled", "frozen", "hazmat")
ORDER_CHANNELS = ("web", "retail", "b2b", "marketplace", "api", "import")
ORDER_STATUSES = (
    "new",
    "allocated",
    "partially_allocated",
    "backordered",
    "released",
    "picked",
    "packed",
    "shipped",
    "delivered",
    "cancelled",
)
SHIPMENT_STATUSES = (
    "planned",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
    "cancelled",
)
TRACKING_EVENT_TYPES = (
    "picked_up",
    "departed_facility",
    "arrived_at_hub",
    "in_transit",
    "delayed",
    "out_for_delivery",
    "delivered",
    "exception",
)
LEDGER_REASONS = (
    "receipt",
    "putaway",
    "pick",
    "ship",
    "adjustment",
    "cycle_count",
    "transfer_out",
    "transfer_in",
    "return_restock",
    "scrap",
    "opening_balance",
)
PO_STATUSES = ("draft", "open", "partially_received", "received", "cancelled")
TRANSFER_STATUSES = ("open", "in_transit", "received", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB, Decimal: Numeric(14, 4)}


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --------------------------------------------------------------------------------------------------- master data
class Warehouse(Timestamps, Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    region: Mapped[str | None] = mapped_column(String(64))
    storage_capacity_m3: Mapped[float | None] = mapped_column(Float)
    throughput_capacity_units_per_day: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        CheckConstraint("lat between -90 and 90", name="lat_range"),
        CheckConstraint("lon between -180 and 180", name="lon_range"),
    )


class Zone(Timestamps, Base):
    __tablename__ = "zones"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    code: Mapped[str] = mapped_column(String(32))
    temperature_class: Mapped[str] = mapped_column(String(16))
    min_temp_c: Mapped[float | None] = mapped_column(Float)
    max_temp_c: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        UniqueConstraint("warehouse_id", "code"),
        CheckConstraint(_in("temperature_class", TEMPERATURE_CLASSES), name="temperature_class"),
    )


class Location(Timestamps, Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    code: Mapped[str] = mapped_column(String(64))
    aisle: Mapped[int] = mapped_column(Integer)
    bay: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    z: Mapped[float] = mapped_column(Float)
    volume_capacity_m3: Mapped[float] = mapped_column(Float)
    weight_capacity_kg: Mapped[float] = mapped_column(Float)
    location_type: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    __table_args__ = (
        UniqueConstraint("warehouse_id", "code"),
        CheckConstraint(
            _in("location_type", ("pick_face", "reserve", "staging", "dock")), name="location_type"
        ),
        CheckConstraint("volume_capacity_m3 > 0 and weight_capacity_kg > 0", name="capacity_positive"),
    )


class Supplier(Timestamps, Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lead_time_mean_days: Mapped[float] = mapped_column(Float)
    lead_time_sd_days: Mapped[float] = mapped_column(Float, server_default=text("0"))
    capacity_units_per_week: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        CheckConstraint("lead_time_mean_days >= 0 and lead_time_sd_days >= 0", name="lead_time"),
    )


class Item(Timestamps, Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(64))
    unit_length_cm: Mapped[float] = mapped_column(Float, server_default=text("10"))
    unit_width_cm: Mapped[float] = mapped_column(Float, server_default=text("10"))
    unit_height_cm: Mapped[float] = mapped_column(Float, server_default=text("10"))
    unit_weight_kg: Mapped[float] = mapped_column(Float, server_default=text("1"))
    unit_cost: Mapped[Decimal] = mapped_column(server_default=text("0"))
    list_price: Mapped[Decimal] = mapped_column(server_default=text("0"))
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    temperature_class: Mapped[str] = mapped_column(String(16), server_default=text("'ambient'"))
    is_hazmat: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_serialised: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    min_order_qty: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    order_multiple: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    __table_args__ = (
        CheckConstraint(_in("temperature_class", TEMPERATURE_CLASSES), name="temperature_class"),
        CheckConstraint(
            "unit_weight_kg >= 0 and unit_length_cm > 0 and unit_width_cm > 0 and unit_height_cm > 0",
            name="dimensions",
        ),
        CheckConstraint("unit_cost >= 0 and list_price >= 0", name="prices"),
        CheckConstraint("min_order_qty >= 1 and order_multiple >= 1", name="order_qty"),
    )


class Customer(Timestamps, Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    __table_args__ = (CheckConstraint("lat between -90 and 90 and lon between -180 and 180", name="coords"),)


class Carrier(Timestamps, Base):
    __tablename__ = "carriers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class CarrierService(Timestamps, Base):
    __tablename__ = "carrier_services"
    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"))
    code: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    promised_transit_days: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        UniqueConstraint("carrier_id", "code"),
        CheckConstraint(_in("mode", ("parcel", "ltl", "ftl", "reefer", "courier")), name="mode"),
        CheckConstraint("promised_transit_days >= 0", name="transit"),
    )


class LaneRate(Timestamps, Base):
    """Rate card of one carrier service on one lane (origin warehouse → destination region)."""

    __tablename__ = "lane_rates"
    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_service_id: Mapped[int] = mapped_column(ForeignKey("carrier_services.id"))
    origin_warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    destination_region: Mapped[str] = mapped_column(String(64))
    base_rate: Mapped[Decimal] = mapped_column()
    rate_per_kg: Mapped[Decimal] = mapped_column()
    transit_days: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        UniqueConstraint("carrier_service_id", "origin_warehouse_id", "destination_region"),
        CheckConstraint("base_rate >= 0 and rate_per_kg >= 0 and transit_days >= 0", name="rates"),
    )


class DockDoor(Timestamps, Base):
    __tablename__ = "dock_doors"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    code: Mapped[str] = mapped_column(String(32))
    door_type: Mapped[str] = mapped_column(String(16))
    is_reefer: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    __table_args__ = (
        UniqueConstraint("warehouse_id", "code"),
        CheckConstraint(_in("door_type", ("inbound", "outbound", "both")), name="door_type"),
    )


# ----------------------------------------------------------------------------------------------------- inventory
class Lot(Timestamps, Base):
    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_code: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)
    received_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (UniqueConstraint("item_id", "lot_code"),)


class InventoryBalance(Timestamps, Base):
    """Stock of one item (and lot) in one location. ``reserved`` is allocated to order lines, not yet picked."""

    __tablename__ = "inventory_balances"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    on_hand: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reserved: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_le_on_hand"),
        UniqueConstraint("location_id", "item_id", "lot_id", postgresql_nulls_not_distinct=True),
        Index("ix_inventory_balances_item_warehouse", "item_id", "warehouse_id"),
    )


class SerialNumber(Timestamps, Base):
    __tablename__ = "serial_numbers"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    serial: Mapped[str] = mapped_column(String(128))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'in_stock'"))
    __table_args__ = (
        UniqueConstraint("item_id", "serial"),
        CheckConstraint(_in("status", ("in_stock", "shipped", "returned", "scrapped")), name="status"),
    )


class InventoryLedger(Base):
    """Append-only record of every on-hand movement; the sum per balance key equals ``on_hand``."""

    __tablename__ = "inventory_ledger"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    quantity_delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    reference_type: Mapped[str | None] = mapped_column(String(32))
    reference_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("pg_current_xact_id()::text::bigint"))
    __table_args__ = (
        CheckConstraint(_in("reason", LEDGER_REASONS), name="reason"),
        CheckConstraint("quantity_delta <> 0", name="non_zero"),
        Index("ix_inventory_ledger_item_occurred", "item_id", "occurred_at"),
        # ingest's window (migration 0005)
        Index("ix_inventory_ledger_txid", "txid", postgresql_using="brin"),
    )


class Reservation(Timestamps, Base):
    __tablename__ = "reservations"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    balance_id: Mapped[int] = mapped_column(ForeignKey("inventory_balances.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_picked: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    __table_args__ = (
        CheckConstraint("quantity > 0 and quantity_picked >= 0 and quantity_picked <= quantity", name="qty"),
        CheckConstraint(_in("status", ("active", "released", "picked", "cancelled")), name="status"),
        Index("ix_reservations_order_line", "order_line_id"),
    )


# -------------------------------------------------------------------------------------------------------- orders
class Order(Timestamps, Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    channel: Mapped[str] = mapped_column(String(16), server_default=text("'web'"))
    priority: Mapped[int] = mapped_column(Integer, server_default=text("3"))
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    promised_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24), server_default=text("'new'"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint(_in("channel", ORDER_CHANNELS), name="channel"),
        CheckConstraint("priority between 1 and 5", name="priority"),
        Index("ix_orders_ordered_at", "ordered_at"),
    )


class OrderStatusHistory(Base):
    __tablename__ = "order_status_history"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("pg_current_xact_id()::text::bigint"))
    __table_args__ = (
        Index("ix_order_status_history_order", "order_id"),
        Index("ix_order_status_history_txid", "txid", postgresql_using="brin"),
    )


class OrderLine(Timestamps, Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    line_number: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_allocated: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    quantity_picked: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    quantity_shipped: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    quantity_backordered: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    quantity_cancelled: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    unit_price: Mapped[Decimal] = mapped_column(server_default=text("0"))
    is_promo: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    __table_args__ = (
        UniqueConstraint("order_id", "line_number"),
        CheckConstraint("quantity_ordered > 0", name="ordered_positive"),
        CheckConstraint(
            "quantity_allocated >= 0 and quantity_picked >= 0 and quantity_shipped >= 0 "
            "and quantity_backordered >= 0 and quantity_cancelled >= 0",
            name="non_negative",
        ),
        CheckConstraint(
            "quantity_picked <= quantity_allocated + quantity_shipped", name="picked_le_allocated"
        ),
        CheckConstraint("quantity_shipped <= quantity_ordered", name="shipped_le_ordered"),
        CheckConstraint("unit_price >= 0", name="price"),
        Index("ix_order_lines_item", "item_id"),
    )


class Return(Timestamps, Base):
    __tablename__ = "returns"
    id: Mapped[int] = mapped_column(primary_key=True)
    rma_number: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'open'"))
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint(_in("status", ("open", "received", "closed")), name="status"),)


class ReturnLine(Timestamps, Base):
    __tablename__ = "return_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        CheckConstraint("quantity > 0", name="qty"),
        CheckConstraint(_in("disposition", ("restock", "scrap")), name="disposition"),
    )


# -------------------------------------------------------------------------------------------------------- supply
class PurchaseOrder(Timestamps, Base):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    po_number: Mapped[str] = mapped_column(String(64), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(24), server_default=text("'open'"))
    source: Mapped[str] = mapped_column(String(24), server_default=text("'manual'"))
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(_in("status", PO_STATUSES), name="status"),
        CheckConstraint(
            _in("source", ("manual", "replenishment_plan", "simulator", "import")), name="source"
        ),
    )


class PurchaseOrderLine(Timestamps, Base):
    __tablename__ = "purchase_order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    unit_cost: Mapped[Decimal] = mapped_column(server_default=text("0"))
    __table_args__ = (
        CheckConstraint("quantity_ordered > 0 and quantity_received >= 0", name="qty"),
        CheckConstraint("quantity_received <= quantity_ordered", name="received_le_ordered"),
    )


class Receipt(Timestamps, Base):
    __tablename__ = "receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ReceiptLine(Timestamps, Base):
    __tablename__ = "receipt_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("quantity > 0", name="qty"),)


class Transfer(Timestamps, Base):
    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_number: Mapped[str] = mapped_column(String(64), unique=True)
    from_warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    to_warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'open'"))
    shipped_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(_in("status", TRANSFER_STATUSES), name="status"),
        CheckConstraint("from_warehouse_id <> to_warehouse_id", name="distinct_warehouses"),
    )


class TransferLine(Timestamps, Base):
    __tablename__ = "transfer_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_shipped: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    quantity_received: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    __table_args__ = (
        CheckConstraint(
            "quantity > 0 and quantity_shipped between 0 and quantity "
            "and quantity_received between 0 and quantity_shipped",
            name="qty",
        ),
    )


# ------------------------------------------------------------------------------------------------------- picking
class PickWave(Timestamps, Base):
    __tablename__ = "pick_waves"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    released_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'released'"))
    __table_args__ = (CheckConstraint(_in("status", ("released", "completed", "cancelled")), name="status"),)


class PickTask(Timestamps, Base):
    __tablename__ = "pick_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("pick_waves.id"))
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_picked: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'open'"))
    picked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("quantity > 0 and quantity_picked between 0 and quantity", name="qty"),
        CheckConstraint(_in("status", ("open", "picked", "short", "cancelled")), name="status"),
    )


# ----------------------------------------------------------------------------------------------------- shipments
class Shipment(Timestamps, Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_number: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    carrier_service_id: Mapped[int | None] = mapped_column(ForeignKey("carrier_services.id"))
    destination_region: Mapped[str | None] = mapped_column(String(64))
    destination_lat: Mapped[float | None] = mapped_column(Float)
    destination_lon: Mapped[float | None] = mapped_column(Float)
    tracking_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(24), server_default=text("'planned'"))
    planned_pickup_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    picked_up_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    promised_delivery_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    weight_kg: Mapped[float] = mapped_column(Float, server_default=text("0"))
    cost: Mapped[Decimal] = mapped_column(server_default=text("0"))
    __table_args__ = (
        CheckConstraint(_in("status", SHIPMENT_STATUSES), name="status"),
        CheckConstraint("weight_kg >= 0 and cost >= 0", name="weight_cost"),
        CheckConstraint(
            "delivered_at is null or picked_up_at is null or delivered_at >= picked_up_at", name="times"
        ),
        Index("ix_shipments_order", "order_id"),
    )


class ShipmentLine(Timestamps, Base):
    __tablename__ = "shipment_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("quantity > 0", name="qty"),)


class Package(Timestamps, Base):
    __tablename__ = "packages"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    package_number: Mapped[str] = mapped_column(String(64), unique=True)
    weight_kg: Mapped[float] = mapped_column(Float)
    volume_m3: Mapped[float] = mapped_column(Float, server_default=text("0"))
    __table_args__ = (CheckConstraint("weight_kg >= 0 and volume_m3 >= 0", name="dims"),)


class TrackingEvent(Base):
    __tablename__ = "tracking_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    event_type: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    location_text: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), server_default=text("'carrier'"))
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("pg_current_xact_id()::text::bigint"))
    __table_args__ = (
        CheckConstraint(_in("event_type", TRACKING_EVENT_TYPES), name="event_type"),
        Index("ix_tracking_events_shipment", "shipment_id"),
        Index("ix_tracking_events_txid", "txid", postgresql_using="brin"),
    )


class FreightCharge(Timestamps, Base):
    __tablename__ = "freight_charges"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    charge_type: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), server_default=text("'EUR'"))
    __table_args__ = (
        CheckConstraint(_in("charge_type", ("base", "weight", "fuel", "accessorial", "reefer")), name="type"),
    )


class DockAppointment(Timestamps, Base):
    __tablename__ = "dock_appointments"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    dock_door_id: Mapped[int] = mapped_column(ForeignKey("dock_doors.id"))
    direction: Mapped[str] = mapped_column(String(16))
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'booked'"))
    __table_args__ = (
        CheckConstraint(_in("direction", ("inbound", "outbound")), name="direction"),
        CheckConstraint("ends_at > starts_at", name="interval"),
        CheckConstraint(_in("status", ("booked", "arrived", "completed", "cancelled")), name="status"),
    )


# --------------------------------------------------------------------------------------------------- outbox / cdc
class Event(Base):
    """Transactional outbox: written in the same transaction as the change it describes."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    aggregate_type: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("pg_current_xact_id()::text::bigint"))
    __table_args__ = (
        CheckConstraint("event_type ~ '^[a-z_]+\\.[a-z_]+$'", name="event_type_format"),
        Index("ix_events_aggregate", "aggregate_type", "aggregate_id"),
        Index("ix_events_txid", "txid", postgresql_using="brin"),
    )


class CdcDelete(Base):
    """Deleted rows of mutable tables (filled by trigger) so the lake can tombstone them."""

    __tablename__ = "cdc_deletes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("pg_current_xact_id()::text::bigint"))
    __table_args__ = (
        Index("ix_cdc_deletes_table", "table_name", "id"),
        Index("ix_cdc_deletes_txid", "txid", postgresql_using="brin"),
    )


class ApiKey(Timestamps, Base):
    """API keys for the HTTP API; only a hash of the key is stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


MUTABLE_TABLES = tuple(
    t.name for t in Base.metadata.sorted_tables if "updated_at" in t.c and t.name not in ("api_keys",)
)
APPEND_ONLY_TABLES = ("inventory_ledger", "events", "tracking_events", "order_status_history", "cdc_deletes")
