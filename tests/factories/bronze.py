"""Bronze test data: a seeded operations history, loaded into the OLTP and snapshotted into bronze Delta tables.

Until the ingest (``ingest.run.run_ingest``) and the simulator (``oltp.simulator``) land, dbt is developed and tested
against this factory:

- :func:`synthesize_history` generates a coherent history (master data, orders with allocation against simulated
  stock, replenishment purchase orders and receipts, pick tasks, shipments with carrier transit times, tracking
  events, returns, the inventory ledger, simulator ground truth and the two external feeds) as Arrow tables whose
  columns are the OLTP columns. :meth:`History.as_of` cuts it at a point in time, with mutable rows (shipments,
  orders, purchase orders, balances) in the state they had then.
- :func:`load_oltp` writes those tables into a migrated OLTP database (so the data passes every OLTP constraint)
  and :func:`snapshot_bronze` copies every OLTP table into ``<lake_root>/bronze/oltp__<table>`` via
  ``SELECT *`` -> Arrow -> ``write_deltalake`` with the bronze contract's ingest columns added.
- :func:`write_bronze` writes (merges) Arrow tables straight into bronze without PostgreSQL: the benchmark's path
  for a million order lines and its 1% increments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stockyard.feeds import TELEMETRY_SCHEMA, TRACKING_SCHEMA

__all__ = [
    "HistoryConfig",
    "History",
    "BRONZE_FEEDS",
    "oltp_arrow_schema",
    "bronze_tables",
    "synthesize_history",
    "load_oltp",
    "snapshot_bronze",
    "write_bronze",
    "changed_rows",
    "tombstone_bronze",
]

APPEND_TABLES = ("events", "inventory_ledger", "tracking_events", "order_status_history")
BRONZE_FEEDS = ("feeds__tracking_events", "feeds__telemetry")
_EXCLUDED = ("api_keys", "cdc_deletes")
_CATEGORIES = ("grocery", "beverage", "household", "electronics", "chilled")
_REGIONS = ("north", "south", "east", "west", "central")
_UTC = pa.timestamp("us", tz="UTC")

FEED_SCHEMAS: dict[str, pa.Schema] = {
    # The landing-feed contract plus the file each row came from, as ingest lands it.
    "feeds__tracking_events": TRACKING_SCHEMA.append(pa.field("_source_file", pa.string())),
    "feeds__telemetry": TELEMETRY_SCHEMA.append(pa.field("_source_file", pa.string())),
    "sim__expected_demand": pa.schema(
        [
            ("item", pa.string()),
            ("warehouse", pa.string()),
            ("date", pa.date32()),
            ("expected_demand", pa.float64()),
        ]
    ),
    "sim__lane_transit": pa.schema(
        [
            ("carrier", pa.string()),
            ("service", pa.string()),
            ("origin_warehouse", pa.string()),
            ("destination_region", pa.string()),
            ("distribution", pa.string()),
            ("mean_transit_days", pa.float64()),
            ("sd_transit_days", pa.float64()),
            ("reliability", pa.float64()),
        ]
    ),
}


def bronze_tables() -> list[str]:
    """Names of every bronze table of the contract (``oltp__<table>``, ``sim__*``, ``feeds__*``)."""
    from oltp.models import Base

    names = [
        f"oltp__{t.name}" for t in Base.metadata.sorted_tables if t.name not in _EXCLUDED and t.schema is None
    ]
    return [*names, "sim__expected_demand", "sim__lane_transit", *BRONZE_FEEDS]


def oltp_arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema an OLTP table has in bronze (before the ingest columns).

    Args:
        table: OLTP table name, e.g. ``orders``.

    Returns:
        Arrow schema with the table's columns in order.
    """
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import JSONB

    from oltp.models import Base

    fields = []
    for col in Base.metadata.tables[table].columns:
        t = col.type
        if isinstance(t, sa.BigInteger):
            at = pa.int64()
        elif isinstance(t, sa.Integer):
            at = pa.int32()
        elif isinstance(t, sa.Numeric) and not isinstance(t, sa.Float):
            at = pa.decimal128(14, 4)
        elif isinstance(t, sa.Float):
            at = pa.float64()
        elif isinstance(t, sa.Boolean):
            at = pa.bool_()
        elif isinstance(t, sa.DateTime):
            at = _UTC
        elif isinstance(t, sa.Date):
            at = pa.date32()
        elif isinstance(t, JSONB | sa.String | sa.Text):
            at = pa.string()
        else:  # pragma: no cover - a new column type must be mapped explicitly
            raise TypeError(f"unmapped column type {t!r} of {table}.{col.name}")
        fields.append(pa.field(col.name, at))
    return pa.schema(fields)


@dataclasses.dataclass(frozen=True)
class HistoryConfig:
    """Size and seed of a synthetic history."""

    start: dt.date = dt.date(2024, 1, 1)
    days: int = 60
    items: int = 12
    warehouses: int = 2
    customers: int = 30
    orders_per_day: float = 6.0
    seed: int = 7


@dataclasses.dataclass
class History:
    """A generated history: full-horizon rows with the timestamps needed to cut it at any point in time."""

    config: HistoryConfig
    tables: dict[str, dict[str, np.ndarray]]
    end: dt.datetime

    def as_of(self, cutoff: dt.datetime | None = None) -> dict[str, pa.Table]:
        """Every table as it stood at ``cutoff`` (default: the end of the history).

        Args:
            cutoff: Naive UTC timestamp; rows created later are dropped and mutable rows revert.

        Returns:
            ``{table: Arrow table}`` for OLTP tables (plain names), ``sim__*`` and ``feeds__*``.
        """
        c = np.datetime64(cutoff or self.end, "us")
        t = self.tables
        out: dict[str, pa.Table] = {}
        for name, cols in t.items():
            if name in (
                "shipments",
                "orders",
                "purchase_orders",
                "purchase_order_lines",
                "inventory_balances",
            ):
                continue
            keep = cols["_t"] <= c
            out[name] = _to_arrow(name, {k: v[keep] for k, v in cols.items() if k != "_t"})

        # Shipments: delivered only once delivered_at has passed.
        s = t["shipments"]
        keep = s["_t"] <= c
        s = {k: v[keep] for k, v in s.items()}
        delivered = s["delivered_at"] <= c
        s["status"] = np.where(delivered, "delivered", "in_transit").astype(object)
        s["delivered_at"] = np.where(delivered, s["delivered_at"], np.datetime64("NaT"))
        s["updated_at"] = np.where(delivered, s["delivered_at"], s["picked_up_at"])
        out["shipments"] = _to_arrow("shipments", {k: v for k, v in s.items() if k != "_t"})

        o = t["orders"]
        keep = o["_t"] <= c
        o = {k: v[keep] for k, v in o.items()}
        shipped = o["_shipped_at"] <= c
        delivered = o["_delivered_at"] <= c
        o["status"] = np.where(delivered, "delivered", np.where(shipped, "shipped", o["status"])).astype(
            object
        )
        o["updated_at"] = np.where(
            delivered, o["_delivered_at"], np.where(shipped, o["_shipped_at"], o["created_at"])
        )
        out["orders"] = _to_arrow("orders", {k: v for k, v in o.items() if not k.startswith("_")})

        po = t["purchase_orders"]
        keep = po["_t"] <= c
        po = {k: v[keep] for k, v in po.items()}
        received = po["_received_at"] <= c
        po["status"] = np.where(received, "received", "open").astype(object)
        po["updated_at"] = np.where(received, po["_received_at"], po["created_at"])
        out["purchase_orders"] = _to_arrow(
            "purchase_orders", {k: v for k, v in po.items() if not k.startswith("_")}
        )
        pol = t["purchase_order_lines"]
        keep = pol["_t"] <= c
        pol = {k: v[keep] for k, v in pol.items()}
        received = pol["_received_at"] <= c
        pol["quantity_received"] = np.where(received, pol["quantity_ordered"], 0)
        pol["updated_at"] = np.where(received, pol["_received_at"], pol["created_at"])
        out["purchase_order_lines"] = _to_arrow(
            "purchase_order_lines", {k: v for k, v in pol.items() if not k.startswith("_")}
        )

        # Balances are the ledger summed per location as of the cutoff.
        led = t["inventory_ledger"]
        keep = led["_t"] <= c
        loc = led["location_id"][keep]
        uniq, inv = np.unique(loc, return_inverse=True)
        on_hand = np.bincount(inv, weights=led["quantity_delta"][keep]).astype(np.int64)
        first = np.full(len(uniq), np.datetime64("2262-01-01", "us"))
        last = np.full(len(uniq), np.datetime64("1970-01-01", "us"))
        np.minimum.at(first, inv, led["occurred_at"][keep])
        np.maximum.at(last, inv, led["occurred_at"][keep])
        locs = t["locations"]
        pos = np.searchsorted(locs["id"], uniq)
        out["inventory_balances"] = _to_arrow(
            "inventory_balances",
            {
                "id": uniq,
                "warehouse_id": locs["warehouse_id"][pos],
                "location_id": uniq,
                "item_id": locs["_item_id"][pos],
                "lot_id": np.full(len(uniq), None, dtype=object),
                "on_hand": on_hand,
                "reserved": np.zeros(len(uniq), dtype=np.int64),
                "created_at": first,
                "updated_at": last,
            },
        )
        for name, schema in FEED_SCHEMAS.items():
            if name not in out:
                out[name] = schema.empty_table()
        for name in bronze_tables():
            plain = name.removeprefix("oltp__")
            if name.startswith("oltp__") and plain not in out:
                out[plain] = oltp_arrow_schema(plain).empty_table()
        return out


def _to_arrow(name: str, cols: dict[str, np.ndarray]) -> pa.Table:
    arrays = {}
    if name in FEED_SCHEMAS:
        schema = FEED_SCHEMAS[name]
    else:
        schema = oltp_arrow_schema(name)
    n = len(next(iter(cols.values()))) if cols else 0
    for field in schema:
        if field.name not in cols:
            # Columns the generator leaves to the database (txid, unused references) are null in bronze.
            arrays[field.name] = pa.nulls(n, type=field.type)
            continue
        v = cols[field.name]
        if pa.types.is_timestamp(field.type):
            arr = pa.array(v.astype("datetime64[us]"), type=pa.timestamp("us")).cast(field.type)
        elif pa.types.is_decimal(field.type):
            arr = pa.array(np.round(v.astype(float), 4), type=pa.float64()).cast(field.type)
        elif pa.types.is_date(field.type):
            arr = pa.array(v.astype("datetime64[D]"), type=pa.date32())
        else:
            arr = pa.array(v, from_pandas=True).cast(field.type)
        arrays[field.name] = arr
    return pa.table(arrays)


def synthesize_history(config: HistoryConfig | None = None) -> History:
    """Generate a coherent, seeded operations history.

    Args:
        config: Size and seed; defaults to a small history for tests.

    Returns:
        The history; call :meth:`History.as_of` for Arrow tables.
    """
    cfg = config or HistoryConfig()
    rng = np.random.default_rng(cfg.seed)
    n_w, n_i, n_c = cfg.warehouses, cfg.items, cfg.customers
    t0 = np.datetime64(cfg.start, "us")
    day_us = np.timedelta64(86_400_000_000, "us")
    hour_us = np.timedelta64(3_600_000_000, "us")
    created = np.full  # alias for readability below
    T: dict[str, dict[str, np.ndarray]] = {}

    def objs(values: list[str] | np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=object)

    # ---------------------------------------------------------------- master data
    wh_ids = np.arange(1, n_w + 1)
    wh_codes = objs([f"WH{k:02d}" for k in wh_ids])
    wh_region = objs([_REGIONS[(k - 1) % len(_REGIONS)] for k in wh_ids])
    T["warehouses"] = {
        "id": wh_ids,
        "code": wh_codes,
        "name": objs([f"Warehouse {k}" for k in wh_ids]),
        "lat": rng.uniform(45, 55, n_w),
        "lon": rng.uniform(0, 15, n_w),
        "region": wh_region,
        "storage_capacity_m3": np.full(n_w, 5000.0),
        "throughput_capacity_units_per_day": np.full(n_w, 2000.0 * max(cfg.orders_per_day, 1) / 6),
        "created_at": created(n_w, t0),
        "updated_at": created(n_w, t0),
        "_t": created(n_w, t0),
    }
    # Two zones per warehouse: ambient (id 2w-1) and chilled (id 2w).
    z_wh = np.repeat(wh_ids, 2)
    z_kind = np.tile([0, 1], n_w)
    T["zones"] = {
        "id": np.arange(1, 2 * n_w + 1),
        "warehouse_id": z_wh,
        "code": objs(np.where(z_kind == 1, "CHL", "AMB")),
        "temperature_class": objs(np.where(z_kind == 1, "chilled", "ambient")),
        "min_temp_c": np.where(z_kind == 1, 2.0, np.nan),
        "max_temp_c": np.where(z_kind == 1, 8.0, np.nan),
        "created_at": created(2 * n_w, t0),
        "updated_at": created(2 * n_w, t0),
        "_t": created(2 * n_w, t0),
    }
    T["suppliers"] = {
        "id": np.arange(1, 4),
        "code": objs(["SUP01", "SUP02", "SUP03"]),
        "name": objs(["Supplier 1", "Supplier 2", "Supplier 3"]),
        "lead_time_mean_days": np.array([3.0, 5.0, 8.0]),
        "lead_time_sd_days": np.array([0.5, 1.0, 2.0]),
        "capacity_units_per_week": np.full(3, 1e6),
        "created_at": created(3, t0),
        "updated_at": created(3, t0),
        "_t": created(3, t0),
    }
    item_ids = np.arange(1, n_i + 1)
    cat = rng.integers(0, len(_CATEGORIES), n_i)
    chilled = objs(_CATEGORIES)[cat] == "chilled"
    unit_cost = np.round(rng.lognormal(2.0, 0.7, n_i), 2)
    list_price = np.round(unit_cost * rng.uniform(1.2, 1.8, n_i), 2)
    weight = np.round(rng.uniform(0.1, 8.0, n_i), 3)
    supplier = rng.integers(1, 4, n_i)
    T["items"] = {
        "id": item_ids,
        "code": objs([f"SKU{k:05d}" for k in item_ids]),
        "name": objs([f"Item {k}" for k in item_ids]),
        "category": objs(_CATEGORIES)[cat],
        "family": objs([f"{_CATEGORIES[c]}-{k % 3}" for k, c in zip(item_ids, cat, strict=True)]),
        "unit_length_cm": rng.uniform(5, 60, n_i),
        "unit_width_cm": rng.uniform(5, 40, n_i),
        "unit_height_cm": rng.uniform(2, 30, n_i),
        "unit_weight_kg": weight,
        "unit_cost": unit_cost,
        "list_price": list_price,
        "shelf_life_days": np.where(chilled, 21, None).astype(object),
        "temperature_class": objs(np.where(chilled, "chilled", "ambient")),
        "is_hazmat": np.zeros(n_i, dtype=bool),
        "is_serialised": np.zeros(n_i, dtype=bool),
        "supplier_id": supplier,
        "min_order_qty": np.full(n_i, 10),
        "order_multiple": np.ones(n_i, dtype=np.int64),
        "created_at": created(n_i, t0),
        "updated_at": created(n_i, t0),
        "_t": created(n_i, t0),
    }
    # One pick-face location per item per warehouse, in the zone of its temperature class.
    n_loc = n_w * n_i
    loc_w = np.repeat(wh_ids, n_i)
    loc_i = np.tile(item_ids, n_w)
    loc_zone = 2 * (loc_w - 1) + 1 + np.tile(chilled.astype(int), n_w)
    aisle = (loc_i - 1) // 20 + 1
    bay = (loc_i - 1) % 20 + 1
    T["locations"] = {
        "id": np.arange(1, n_loc + 1),
        "warehouse_id": loc_w,
        "zone_id": loc_zone,
        "code": objs([f"A{a:02d}-B{b:02d}-L1" for a, b in zip(aisle, bay, strict=True)]),
        "aisle": aisle,
        "bay": bay,
        "level": np.ones(n_loc, dtype=np.int64),
        "x": aisle * 3.0,
        "y": bay * 1.5,
        "z": np.zeros(n_loc),
        "volume_capacity_m3": np.full(n_loc, 2.0),
        "weight_capacity_kg": np.full(n_loc, 500.0),
        "location_type": objs(np.full(n_loc, "pick_face")),
        "is_active": np.ones(n_loc, dtype=bool),
        "created_at": created(n_loc, t0),
        "updated_at": created(n_loc, t0),
        "_item_id": loc_i,
        "_t": created(n_loc, t0),
    }
    cust_ids = np.arange(1, n_c + 1)
    cust_wh = rng.integers(1, n_w + 1, n_c)
    cust_region = objs(_REGIONS)[rng.integers(0, len(_REGIONS), n_c)]
    T["customers"] = {
        "id": cust_ids,
        "code": objs([f"CUST{k:05d}" for k in cust_ids]),
        "name": objs([f"Customer {k}" for k in cust_ids]),
        "region": cust_region,
        "lat": rng.uniform(40, 60, n_c),
        "lon": rng.uniform(-5, 20, n_c),
        "created_at": created(n_c, t0),
        "updated_at": created(n_c, t0),
        "_t": created(n_c, t0),
    }
    T["carriers"] = {
        "id": np.array([1, 2]),
        "code": objs(["FASTX", "SLOWY"]),
        "name": objs(["Fast Express", "Slow Freight"]),
        "created_at": created(2, t0),
        "updated_at": created(2, t0),
        "_t": created(2, t0),
    }
    promised = np.array([2, 4])
    T["carrier_services"] = {
        "id": np.array([1, 2]),
        "carrier_id": np.array([1, 2]),
        "code": objs(["EXP", "STD"]),
        "mode": objs(["parcel", "ltl"]),
        "promised_transit_days": promised,
        "created_at": created(2, t0),
        "updated_at": created(2, t0),
        "_t": created(2, t0),
    }
    lr_s = np.repeat([1, 2], n_w * len(_REGIONS))
    lr_w = np.tile(np.repeat(wh_ids, len(_REGIONS)), 2)
    lr_r = objs(np.tile(_REGIONS, 2 * n_w))
    n_lr = len(lr_s)
    base_rate = np.where(lr_s == 1, 12.0, 6.0)
    rate_kg = np.where(lr_s == 1, 0.9, 0.4)
    T["lane_rates"] = {
        "id": np.arange(1, n_lr + 1),
        "carrier_service_id": lr_s,
        "origin_warehouse_id": lr_w,
        "destination_region": lr_r,
        "base_rate": base_rate,
        "rate_per_kg": rate_kg,
        "transit_days": promised[lr_s - 1],
        "created_at": created(n_lr, t0),
        "updated_at": created(n_lr, t0),
        "_t": created(n_lr, t0),
    }
    # True mean transit per lane: the slow carrier is late more often.
    lane_mean = promised[lr_s - 1] + np.where(lr_s == 1, -0.4, 0.3) + rng.normal(0, 0.2, n_lr)
    lane_sd = np.where(lr_s == 1, 0.4, 0.9)
    T["sim__lane_transit"] = {
        "carrier": objs(["FASTX", "SLOWY"])[lr_s - 1],
        "service": objs(["EXP", "STD"])[lr_s - 1],
        "origin_warehouse": wh_codes[lr_w - 1],
        "destination_region": lr_r,
        "distribution": objs(np.full(n_lr, "normal")),
        "mean_transit_days": lane_mean,
        "sd_transit_days": lane_sd,
        "reliability": np.where(lr_s == 1, 0.92, 0.75),
        "_t": created(n_lr, t0),
    }
    T["dock_doors"] = {
        "id": wh_ids,
        "warehouse_id": wh_ids,
        "code": objs(np.full(n_w, "D01")),
        "door_type": objs(np.full(n_w, "both")),
        "is_reefer": np.zeros(n_w, dtype=bool),
        "created_at": created(n_w, t0),
        "updated_at": created(n_w, t0),
        "_t": created(n_w, t0),
    }

    # ---------------------------------------------------------------- daily simulation
    popularity = rng.dirichlet(np.full(n_i, 0.8))
    qty_mean = rng.uniform(0.5, 3.0, n_i)
    weekly = np.array([1.0, 0.95, 1.0, 1.05, 1.2, 0.8, 0.6])
    promo_days = rng.random((cfg.days, n_i)) < 0.03
    lines_per_order = 1.8  # 1 + Poisson(0.8)
    orders_share = np.bincount(cust_wh, minlength=n_w + 1)[1:] / n_c
    lead = np.array([3, 5, 8])[supplier - 1]
    # Expected daily units per (warehouse, item) without promotion.
    base_mu = (
        cfg.orders_per_day
        * n_w
        * orders_share[:, None]
        * lines_per_order
        * popularity[None, :]
        * (1 + qty_mean)
    )
    rop = np.ceil(base_mu * (lead[None, :] + 2)) + 5
    target = rop + np.ceil(base_mu * 10) + 10
    stock = (rop * 1.5).astype(np.int64)
    on_order = np.zeros((n_w, n_i), dtype=np.int64)
    arrivals: dict[int, list[tuple[int, int, int, int]]] = {}

    lines: dict[str, list[np.ndarray]] = {
        k: [] for k in ("order", "item", "wh", "qty", "alloc", "t", "promo", "num")
    }
    orders: dict[str, list[np.ndarray]] = {k: [] for k in ("id", "cust", "wh", "t")}
    led: dict[str, list[np.ndarray]] = {
        k: [] for k in ("t", "wh", "item", "delta", "reason", "ref_type", "ref")
    }
    pos_rows: dict[str, list] = {k: [] for k in ("id", "wh", "item", "qty", "t", "arr", "sup")}
    exp_rows: list[np.ndarray] = []
    next_order = 1
    next_po = 1

    def ledger(
        t: np.ndarray, w: np.ndarray, i: np.ndarray, d: np.ndarray, reason: str, ref_type: str | None, ref
    ):
        led["t"].append(t)
        led["wh"].append(w)
        led["item"].append(i)
        led["delta"].append(d)
        led["reason"].append(np.full(len(t), reason, dtype=object))
        led["ref_type"].append(np.full(len(t), ref_type, dtype=object))
        led["ref"].append(ref)

    ww, ii = np.meshgrid(wh_ids, item_ids, indexing="ij")
    ledger(
        np.full(n_w * n_i, t0),
        ww.ravel(),
        ii.ravel(),
        stock.ravel().copy(),
        "opening_balance",
        None,
        np.full(n_w * n_i, None, dtype=object),
    )

    for d in range(cfg.days):
        day = t0 + d * day_us
        dow = (np.datetime64(cfg.start, "D") + d).astype("datetime64[D]").astype(int)
        dow = (dow + 3) % 7  # 1970-01-01 was a Thursday -> Monday = 0
        # Receipts arrive at 07:00.
        for po_id, w, i, q in arrivals.pop(d, []):
            stock[w - 1, i - 1] += q
            on_order[w - 1, i - 1] -= q
            ledger(
                np.array([day + 7 * hour_us]),
                np.array([w]),
                np.array([i]),
                np.array([q]),
                "receipt",
                "purchase_order",
                np.array([po_id], dtype=object),
            )
        uplift = np.where(promo_days[d], 2.0, 1.0)
        p = popularity * uplift
        p = p / p.sum()
        exp_rows.append(base_mu * weekly[dow] * (p / popularity)[None, :])
        n_orders = rng.poisson(cfg.orders_per_day * n_w * weekly[dow])
        if n_orders:
            o_ids = np.arange(next_order, next_order + n_orders)
            next_order += n_orders
            o_cust = rng.integers(1, n_c + 1, n_orders)
            o_wh = cust_wh[o_cust - 1]
            o_t = day + np.sort(rng.integers(8 * 3600, 20 * 3600, n_orders)) * np.timedelta64(1_000_000, "us")
            n_lines = 1 + rng.poisson(lines_per_order - 1, n_orders)
            l_order = np.repeat(o_ids, n_lines)
            l_num = np.concatenate([np.arange(1, k + 1) for k in n_lines])
            l_item = rng.choice(item_ids, size=len(l_order), p=p)
            l_qty = 1 + rng.poisson(qty_mean[l_item - 1])
            l_wh = np.repeat(o_wh, n_lines)
            l_t = np.repeat(o_t, n_lines)
            # Allocate in arrival order against the stock of the warehouse.
            key = (l_wh - 1) * n_i + (l_item - 1)
            order_idx = np.lexsort((l_t, key))
            k_s, q_s = key[order_idx], l_qty[order_idx]
            cs = np.cumsum(q_s)
            start = np.r_[True, k_s[1:] != k_s[:-1]]
            start_pos = np.maximum.accumulate(np.where(start, np.arange(len(k_s)), 0))
            before = (cs - q_s) - (cs - q_s)[start_pos]
            alloc_s = np.clip(stock.ravel()[k_s] - before, 0, q_s)
            alloc = np.empty_like(alloc_s)
            alloc[order_idx] = alloc_s
            flat = stock.reshape(-1)
            np.subtract.at(flat, key, alloc)
            for k, v in (
                ("order", l_order),
                ("item", l_item),
                ("wh", l_wh),
                ("qty", l_qty),
                ("alloc", alloc),
                ("t", l_t),
                ("promo", promo_days[d][l_item - 1]),
                ("num", l_num),
            ):
                lines[k].append(v)
            for k, v in (("id", o_ids), ("cust", o_cust), ("wh", o_wh), ("t", o_t)):
                orders[k].append(v)
        # Reorder at 18:00 when the inventory position drops under the reorder point.
        need = (stock + on_order) < rop
        for w, i in zip(*np.nonzero(need), strict=True):
            q = int(target[w, i] - stock[w, i] - on_order[w, i])
            q = max(q, 10)
            arr = d + int(max(1, round(rng.normal(lead[i], 1.0))))
            on_order[w, i] += q
            pos_rows["id"].append(next_po)
            pos_rows["wh"].append(w + 1)
            pos_rows["item"].append(i + 1)
            pos_rows["qty"].append(q)
            pos_rows["t"].append(day + 18 * hour_us)
            pos_rows["arr"].append(day + arr * day_us + 7 * hour_us)
            pos_rows["sup"].append(supplier[i])
            arrivals.setdefault(arr, []).append((next_po, w + 1, i + 1, q))
            next_po += 1

    L = {k: np.concatenate(v) for k, v in lines.items()}
    O = {k: np.concatenate(v) for k, v in orders.items()}  # noqa: E741 - orders columns, beside L (lines)
    n_l, n_o = len(L["order"]), len(O["id"])
    l_ids = np.arange(1, n_l + 1)
    price = np.asarray(list_price)[L["item"] - 1] * np.where(L["promo"], 0.8, 1.0)
    L_pick_t = L["t"] + 2 * hour_us
    T["order_lines"] = {
        "id": l_ids,
        "order_id": L["order"],
        "line_number": L["num"],
        "item_id": L["item"],
        "quantity_ordered": L["qty"],
        "quantity_allocated": L["alloc"],
        "quantity_picked": L["alloc"],
        "quantity_shipped": L["alloc"],
        "quantity_backordered": L["qty"] - L["alloc"],
        "quantity_cancelled": np.zeros(n_l, dtype=np.int64),
        "unit_price": np.round(price, 2),
        "is_promo": L["promo"].astype(bool),
        "created_at": L["t"],
        "updated_at": L["t"],
        "_t": L["t"],
    }
    # Per order: shipped units, weight, shipment timing.
    o_pos = O["id"] - 1
    alloc_units = np.bincount(L["order"] - 1, weights=L["alloc"], minlength=n_o)
    short_units = np.bincount(L["order"] - 1, weights=L["qty"] - L["alloc"], minlength=n_o)
    o_weight = np.bincount(L["order"] - 1, weights=L["alloc"] * weight[L["item"] - 1], minlength=n_o)
    has_ship = alloc_units[o_pos] > 0
    o_status = np.where(
        ~has_ship, "backordered", np.where(short_units[o_pos] > 0, "partially_allocated", "allocated")
    )
    o_cust_region = cust_region[O["cust"] - 1]
    service = rng.integers(1, 3, n_o)
    region_idx = np.array([_REGIONS.index(r) for r in o_cust_region], dtype=np.int64)
    lane_idx = (service - 1) * n_w * len(_REGIONS) + (O["wh"] - 1) * len(_REGIONS) + region_idx
    pickup = (
        O["t"]
        - (O["t"] - t0) % day_us
        + day_us
        + 10 * hour_us
        + rng.integers(0, 4 * 3600, n_o) * np.timedelta64(1_000_000, "us")
    )
    transit_days = np.maximum(0.3, rng.normal(lane_mean[lane_idx], lane_sd[lane_idx]))
    delivered = pickup + (transit_days * 86_400_000_000).astype(np.int64) * np.timedelta64(1, "us")
    promised_at = pickup - (pickup - t0) % day_us + promised[service - 1] * day_us + 23 * hour_us
    never = np.datetime64("2262-01-01", "us")
    ship_ids = O["id"][has_ship]
    n_s = len(ship_ids)
    sp = has_ship
    T["orders"] = {
        "id": O["id"],
        "order_number": objs([f"SO{k:08d}" for k in O["id"]]),
        "customer_id": O["cust"],
        "warehouse_id": O["wh"],
        "channel": objs(np.array(["web", "retail", "b2b", "marketplace"])[O["id"] % 4]),
        "priority": 1 + O["id"] % 5,
        "ordered_at": O["t"],
        "promised_date": (O["t"].astype("datetime64[D]") + 3),
        "status": objs(o_status),
        "created_at": O["t"],
        "updated_at": O["t"],
        "_shipped_at": np.where(sp, pickup, never),
        "_delivered_at": np.where(sp, delivered, never),
        "_t": O["t"],
    }
    # Status history: new, allocation outcome, shipped, delivered (rows appear when they happen).
    h_order = np.concatenate([O["id"], O["id"], ship_ids, ship_ids])
    h_from = objs(
        np.concatenate([np.full(n_o, None), np.full(n_o, "new"), o_status[sp], np.full(n_s, "shipped")])
    )
    h_to = objs(
        np.concatenate([np.full(n_o, "new"), o_status, np.full(n_s, "shipped"), np.full(n_s, "delivered")])
    )
    h_t = np.concatenate([O["t"], O["t"] + np.timedelta64(60_000_000, "us"), pickup[sp], delivered[sp]])
    T["order_status_history"] = {
        "id": np.arange(1, len(h_order) + 1),
        "order_id": h_order,
        "from_status": h_from,
        "to_status": h_to,
        "changed_at": h_t,
        "reason": np.full(len(h_order), None, dtype=object),
        "_t": h_t,
    }
    carrier_codes = objs(["FASTX", "SLOWY"])
    tracking = objs([f"TRK{k:09d}" for k in ship_ids])
    ship_cost = base_rate[lane_idx[sp]] + rate_kg[lane_idx[sp]] * o_weight[o_pos][sp]
    T["shipments"] = {
        "id": ship_ids,
        "shipment_number": objs([f"SH{k:08d}" for k in ship_ids]),
        "order_id": ship_ids,
        "warehouse_id": O["wh"][sp],
        "customer_id": O["cust"][sp],
        "carrier_service_id": service[sp],
        "destination_region": o_cust_region[sp],
        "destination_lat": np.asarray(T["customers"]["lat"])[O["cust"][sp] - 1],
        "destination_lon": np.asarray(T["customers"]["lon"])[O["cust"][sp] - 1],
        "tracking_number": tracking,
        "status": objs(np.full(n_s, "delivered")),
        "planned_pickup_at": pickup[sp],
        "picked_up_at": pickup[sp],
        "promised_delivery_at": promised_at[sp],
        "delivered_at": delivered[sp],
        "weight_kg": np.round(o_weight[o_pos][sp], 3),
        "cost": np.round(ship_cost, 2),
        "created_at": O["t"][sp],
        "updated_at": delivered[sp],
        "_t": pickup[sp],
    }
    ls = L["alloc"] > 0
    n_ls = int(ls.sum())
    T["shipment_lines"] = {
        "id": l_ids[ls],
        "shipment_id": L["order"][ls],
        "order_line_id": l_ids[ls],
        "item_id": L["item"][ls],
        "lot_id": np.full(n_ls, None, dtype=object),
        "quantity": L["alloc"][ls],
        "created_at": pickup[L["order"][ls] - 1],
        "updated_at": pickup[L["order"][ls] - 1],
        "_t": pickup[L["order"][ls] - 1],
    }
    loc_of = (L["wh"] - 1) * n_i + L["item"]  # location id of (warehouse, item)
    T["reservations"] = {
        "id": l_ids[ls],
        "order_line_id": l_ids[ls],
        "balance_id": loc_of[ls],
        "quantity": L["alloc"][ls],
        "quantity_picked": L["alloc"][ls],
        "status": objs(np.full(n_ls, "picked")),
        "created_at": L["t"][ls],
        "updated_at": L_pick_t[ls],
        "_t": L["t"][ls],
    }
    day_idx = ((L["t"] - t0) // day_us).astype(np.int64)
    wave = day_idx * n_w + L["wh"]
    waves = np.unique(wave)
    wave_day = (waves - 1) // n_w
    wave_wh = (waves - 1) % n_w + 1
    T["pick_waves"] = {
        "id": waves,
        "warehouse_id": wave_wh,
        "released_at": t0 + wave_day * day_us + 6 * hour_us,
        "status": objs(np.full(len(waves), "completed")),
        "created_at": t0 + wave_day * day_us + 6 * hour_us,
        "updated_at": t0 + wave_day * day_us + 6 * hour_us,
        "_t": t0 + wave_day * day_us,
    }
    T["pick_tasks"] = {
        "id": l_ids[ls],
        "wave_id": wave[ls],
        "reservation_id": l_ids[ls],
        "order_line_id": l_ids[ls],
        "zone_id": np.asarray(T["locations"]["zone_id"])[loc_of[ls] - 1],
        "location_id": loc_of[ls],
        "item_id": L["item"][ls],
        "lot_id": np.full(n_ls, None, dtype=object),
        "quantity": L["alloc"][ls],
        "quantity_picked": L["alloc"][ls],
        "status": objs(np.full(n_ls, "picked")),
        "picked_at": L_pick_t[ls],
        "created_at": L["t"][ls],
        "updated_at": L_pick_t[ls],
        "_t": L["t"][ls],
    }
    ledger(
        L_pick_t[ls],
        L["wh"][ls],
        L["item"][ls],
        -L["alloc"][ls],
        "pick",
        "order_line",
        l_ids[ls].astype(object),
    )

    # Tracking: picked up, out for delivery (4 h before), delivered.
    te_ship = np.concatenate([ship_ids, ship_ids, ship_ids])
    te_type = objs(np.repeat(["picked_up", "out_for_delivery", "delivered"], n_s))
    te_t = np.concatenate([pickup[sp], delivered[sp] - 4 * hour_us, delivered[sp]])
    te_t = np.maximum(te_t, np.concatenate([pickup[sp]] * 3))
    T["tracking_events"] = {
        "id": np.arange(1, 3 * n_s + 1),
        "shipment_id": te_ship,
        "event_type": te_type,
        "occurred_at": te_t,
        "location_text": np.full(3 * n_s, None, dtype=object),
        "lat": np.full(3 * n_s, np.nan),
        "lon": np.full(3 * n_s, np.nan),
        "source": objs(np.full(3 * n_s, "carrier")),
        "recorded_at": te_t,
        "_t": te_t,
    }
    # Carrier feed: an in-transit scan for every fifth shipment, plus a delay scan when the lane runs late.
    feed = ship_ids % 5 == 0
    late = delivered[sp] > promised_at[sp]
    f_idx = np.nonzero(feed | late)[0]
    f_type = objs(np.where(late[f_idx], "delayed", "in_transit"))
    f_t = pickup[sp][f_idx] + (delivered[sp][f_idx] - pickup[sp][f_idx]) // 2
    T["feeds__tracking_events"] = {
        "event_id": objs([f"EV{k:09d}" for k in ship_ids[f_idx]]),
        "carrier": carrier_codes[service[sp][f_idx] - 1],
        "tracking_number": tracking[f_idx],
        "event_type": f_type,
        "occurred_at": f_t,
        "location": objs(np.full(len(f_idx), "HUB")),
        "lat": rng.uniform(45, 55, len(f_idx)),
        "lon": rng.uniform(0, 15, len(f_idx)),
        "_source_file": objs(np.full(len(f_idx), "carrier_feed.jsonl")),
        "_t": f_t,
    }

    # Returns: 3% of shipped orders, one unit of their first shipped line, restocked 3 days after delivery.
    first_line = np.r_[True, L["order"][1:] != L["order"][:-1]]
    cand = np.nonzero(first_line & ls)[0]
    ret = cand[rng.random(len(cand)) < 0.03]
    r_order = L["order"][ret]
    r_t = delivered[r_order - 1] + 3 * day_us
    n_r = len(ret)
    T["returns"] = {
        "id": np.arange(1, n_r + 1),
        "rma_number": objs([f"RMA{k:08d}" for k in range(1, n_r + 1)]),
        "order_id": r_order,
        "warehouse_id": L["wh"][ret],
        "status": objs(np.full(n_r, "received")),
        "reason": objs(np.full(n_r, "damaged")),
        "received_at": r_t,
        "created_at": r_t,
        "updated_at": r_t,
        "_t": r_t,
    }
    T["return_lines"] = {
        "id": np.arange(1, n_r + 1),
        "return_id": np.arange(1, n_r + 1),
        "order_line_id": l_ids[ret],
        "item_id": L["item"][ret],
        "quantity": np.ones(n_r, dtype=np.int64),
        "disposition": objs(np.full(n_r, "restock")),
        "created_at": r_t,
        "updated_at": r_t,
        "_t": r_t,
    }
    ledger(
        r_t,
        L["wh"][ret],
        L["item"][ret],
        np.ones(n_r, dtype=np.int64),
        "return_restock",
        "return",
        np.arange(1, n_r + 1).astype(object),
    )

    # Purchase orders and their receipts.
    P = {k: np.asarray(v) for k, v in pos_rows.items()}
    n_p = len(P["id"])
    if n_p == 0:
        P = {k: np.zeros(0, dtype=np.int64) for k in pos_rows}
        P["t"] = P["arr"] = np.zeros(0, dtype="datetime64[us]")
    T["purchase_orders"] = {
        "id": P["id"],
        "po_number": objs([f"PO{k:07d}" for k in P["id"]]),
        "supplier_id": P["sup"],
        "warehouse_id": P["wh"],
        "status": objs(np.full(n_p, "received")),
        "source": objs(np.full(n_p, "simulator")),
        "ordered_at": P["t"],
        "expected_at": P["arr"],
        "created_at": P["t"],
        "updated_at": P["t"],
        "_received_at": P["arr"],
        "_t": P["t"],
    }
    T["purchase_order_lines"] = {
        "id": P["id"],
        "purchase_order_id": P["id"],
        "item_id": P["item"],
        "quantity_ordered": P["qty"],
        "quantity_received": P["qty"],
        "unit_cost": unit_cost[P["item"] - 1] if n_p else np.zeros(0),
        "created_at": P["t"],
        "updated_at": P["t"],
        "_received_at": P["arr"],
        "_t": P["t"],
    }
    T["receipts"] = {
        "id": P["id"],
        "purchase_order_id": P["id"],
        "warehouse_id": P["wh"],
        "received_at": P["arr"],
        "created_at": P["arr"],
        "updated_at": P["arr"],
        "_t": P["arr"],
    }
    p_loc = (P["wh"] - 1) * n_i + P["item"]
    lot_rows = chilled[P["item"] - 1] if n_p else np.zeros(0, dtype=bool)
    lot_ids = np.cumsum(lot_rows) * lot_rows
    T["lots"] = {
        "id": lot_ids[lot_rows],
        "item_id": P["item"][lot_rows],
        "lot_code": objs([f"LOT{k:07d}" for k in P["id"][lot_rows]]),
        "expiry_date": (P["arr"][lot_rows].astype("datetime64[D]") + 21),
        "received_on": P["arr"][lot_rows].astype("datetime64[D]"),
        "created_at": P["arr"][lot_rows],
        "updated_at": P["arr"][lot_rows],
        "_t": P["arr"][lot_rows],
    }
    T["receipt_lines"] = {
        "id": P["id"],
        "receipt_id": P["id"],
        "item_id": P["item"],
        "lot_id": np.where(lot_rows, lot_ids, None).astype(object),
        "location_id": p_loc,
        "quantity": P["qty"],
        "created_at": P["arr"],
        "updated_at": P["arr"],
        "_t": P["arr"],
    }

    # The ledger (ids in time order) and the simulator's ground truth.
    G = {k: np.concatenate(v) for k, v in led.items()}
    order_t = np.argsort(G["t"], kind="stable")
    G = {k: v[order_t] for k, v in G.items()}
    n_g = len(G["t"])
    T["inventory_ledger"] = {
        "id": np.arange(1, n_g + 1),
        "occurred_at": G["t"],
        "warehouse_id": G["wh"],
        "location_id": (G["wh"] - 1) * n_i + G["item"],
        "item_id": G["item"],
        "lot_id": np.full(n_g, None, dtype=object),
        "quantity_delta": G["delta"],
        "reason": G["reason"],
        "reference_type": G["ref_type"],
        "reference_id": G["ref"],
        "note": np.full(n_g, None, dtype=object),
        "recorded_at": G["t"],
        "_t": G["t"],
    }
    exp = np.stack(exp_rows)  # days x warehouses x items
    dd, ew, ei = np.meshgrid(np.arange(cfg.days), np.arange(n_w), np.arange(n_i), indexing="ij")
    e_date = np.datetime64(cfg.start, "D") + dd.ravel()
    T["sim__expected_demand"] = {
        "item": np.asarray(T["items"]["code"])[ei.ravel()],
        "warehouse": wh_codes[ew.ravel()],
        "date": e_date,
        "expected_demand": exp.ravel(),
        "_t": e_date.astype("datetime64[us]"),
    }
    # Telemetry: one sensor per chilled zone, a reading every 2 hours, a few excursions above 8 °C.
    n_read = cfg.days * 12
    tel_t = t0 + np.arange(n_read) * 2 * hour_us
    tel: dict[str, list[np.ndarray]] = {k: [] for k in ("device_id", "warehouse", "ts", "temperature_c")}
    for w in range(n_w):
        temp = rng.normal(5.0, 0.7, n_read)
        for s0 in rng.integers(0, max(n_read - 4, 1), max(1, cfg.days // 20)):
            temp[s0 : s0 + 3] = rng.uniform(9.0, 12.0, len(temp[s0 : s0 + 3]))
        tel["device_id"].append(np.full(n_read, f"TEMP-{wh_codes[w]}-CHL", dtype=object))
        tel["warehouse"].append(np.full(n_read, wh_codes[w], dtype=object))
        tel["ts"].append(tel_t)
        tel["temperature_c"].append(np.round(temp, 2))
    TL = {k: np.concatenate(v) for k, v in tel.items()}
    n_t = len(TL["ts"])
    T["feeds__telemetry"] = {
        **TL,
        "device_type": objs(np.full(n_t, "zone_sensor")),
        "reading_type": objs(np.full(n_t, "temperature")),
        "zone": objs(np.full(n_t, "CHL")),
        "shipment_number": np.full(n_t, None, dtype=object),
        "lat": np.full(n_t, np.nan),
        "lon": np.full(n_t, np.nan),
        "speed_kmh": np.full(n_t, np.nan),
        "_source_file": objs(np.full(n_t, "telemetry.csv")),
        "_t": TL["ts"],
    }
    end = (np.datetime64(cfg.start, "D") + cfg.days).astype("datetime64[us]") - np.timedelta64(1, "us")
    return History(config=cfg, tables=T, end=end.astype(dt.datetime))


# ------------------------------------------------------------------------------------------------ writers
def load_oltp(pg_uri: str, tables: dict[str, pa.Table]) -> None:
    """Insert OLTP tables (from :meth:`History.as_of`) into a migrated, empty OLTP database with COPY.

    Args:
        pg_uri: libpq URI of the database.
        tables: ``{table: Arrow}``; ``sim__*`` go to the ``sim`` schema, ``feeds__*`` are skipped.
    """
    import psycopg

    from oltp.models import Base

    order = [t.name for t in Base.metadata.sorted_tables]
    with psycopg.connect(pg_uri) as conn:
        for name in [*order, "sim__expected_demand", "sim__lane_transit"]:
            if name not in tables or tables[name].num_rows == 0:
                continue
            data = tables[name]
            # All-null columns are left to the database (defaults such as txid, nullable references).
            data = data.select([c for c in data.column_names if data[c].null_count < data.num_rows])
            target = f"sim.{name.removeprefix('sim__')}" if name.startswith("sim__") else name
            cols = ", ".join(data.column_names)
            with conn.cursor() as cur, cur.copy(f"copy {target} ({cols}) from stdin") as copy:
                for row in data.to_pylist():
                    copy.write_row(tuple(row.values()))


def _with_ingest_columns(data: pa.Table, ingested_at: dt.datetime, *, partition: str | None) -> pa.Table:
    n = data.num_rows
    ts = pa.array([ingested_at] * n, type=_UTC) if n else pa.array([], type=_UTC)
    data = data.append_column("_ingested_at", ts)
    data = data.append_column("_op", pa.array(["c"] * n, type=pa.string()))
    data = data.append_column("_is_deleted", pa.array([False] * n, type=pa.bool_()))
    data = data.append_column("_watermark", pa.array([ingested_at.isoformat()] * n, type=pa.string()))
    if partition is not None:
        col = data[partition]
        dates = pc.cast(col, pa.date32()) if n else pa.array([], type=pa.date32())
        data = data.append_column("_partition_date", dates)
    return data


_PARTITION = {
    "events": "occurred_at",
    "inventory_ledger": "occurred_at",
    "tracking_events": "occurred_at",
    "order_status_history": "changed_at",
    "feeds__tracking_events": "occurred_at",
}
_KEYS = {
    "feeds__tracking_events": ["event_id"],
    "feeds__telemetry": ["device_id", "reading_type", "ts"],
    "sim__expected_demand": ["item", "warehouse", "date"],
    "sim__lane_transit": ["carrier", "service", "origin_warehouse", "destination_region"],
}


def _bronze_name(name: str) -> str:
    return name if "__" in name else f"oltp__{name}"


def write_bronze(
    lake_root: Path | str,
    tables: dict[str, pa.Table],
    *,
    ingested_at: dt.datetime | None = None,
    mode: str = "overwrite",
) -> None:
    """Write Arrow tables into ``<lake_root>/bronze/<name>`` with the ingest columns of the bronze contract.

    Args:
        lake_root: Root of the lake.
        tables: ``{OLTP table or bronze name: Arrow}`` (OLTP names get the ``oltp__`` prefix).
        ingested_at: Ingestion timestamp stamped on every row (default: now, UTC).
        mode: ``overwrite`` replaces each table; ``merge`` upserts on its key (``id`` for OLTP tables).
    """
    from deltalake import DeltaTable, write_deltalake

    ingested_at = ingested_at or dt.datetime.now(dt.UTC)
    bronze = Path(lake_root) / "bronze"
    for name, data in tables.items():
        bname = _bronze_name(name)
        plain = bname.removeprefix("oltp__")
        data = _with_ingest_columns(data, ingested_at, partition=_PARTITION.get(plain, _PARTITION.get(bname)))
        path = bronze / bname
        if mode == "merge" and (path / "_delta_log").exists():
            if data.num_rows == 0:
                continue
            keys = _KEYS.get(bname, ["id"])
            pred = " and ".join(f"t.{k} = s.{k}" for k in keys)
            (
                DeltaTable(str(path))
                .merge(data, predicate=pred, source_alias="s", target_alias="t")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        else:
            write_deltalake(str(path), data, mode="overwrite", schema_mode="overwrite")


def tombstone_bronze(
    lake_root: Path | str, deleted: dict[str, Sequence[int]], *, ingested_at: dt.datetime | None = None
) -> None:
    """Mark rows of bronze tables deleted, as the ingest does for rows deleted in the OLTP.

    The row keeps its last values; ``_is_deleted``, ``_op`` (``d``), ``_ingested_at`` and ``_watermark`` change.

    Args:
        lake_root: Root of the lake.
        deleted: ``{OLTP table: ids}`` of the rows to delete.
        ingested_at: Ingestion timestamp of the tombstones (default: now, UTC).
    """
    from deltalake import DeltaTable

    ingested_at = ingested_at or dt.datetime.now(dt.UTC)
    for name, ids in deleted.items():
        if not ids:
            continue
        path = Path(lake_root) / "bronze" / _bronze_name(name)
        n = len(ids)
        marks = pa.table(
            {
                "id": pa.array(list(ids), pa.int64()),
                "_is_deleted": pa.array([True] * n, pa.bool_()),
                "_op": pa.array(["d"] * n, pa.string()),
                "_ingested_at": pa.array([ingested_at] * n, _UTC),
                "_watermark": pa.array([ingested_at.isoformat()] * n, pa.string()),
            }
        )
        columns = ("_is_deleted", "_op", "_ingested_at", "_watermark")
        (
            DeltaTable(str(path))
            .merge(marks, predicate="t.id = s.id", source_alias="s", target_alias="t")
            .when_matched_update({c: f"s.{c}" for c in columns})
            .execute()
        )


def changed_rows(before: dict[str, pa.Table], after: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Rows of ``after`` that are new or differ from ``before`` (what an incremental ingest would deliver).

    Args:
        before: Tables at the earlier cutoff.
        after: Tables at the later cutoff.

    Returns:
        ``{table: changed rows}`` for tables with changes.
    """
    import polars as pl

    out = {}
    for name, new in after.items():
        old = before.get(name)
        if old is None or old.num_rows == 0:
            if new.num_rows:
                out[name] = new
            continue
        diff = pl.from_arrow(new).join(pl.from_arrow(old), on=new.column_names, how="anti", nulls_equal=True)
        if diff.height:
            out[name] = diff.to_arrow().cast(new.schema)
    return out


def snapshot_bronze(
    pg_uri: str, lake_root: Path | str, *, feeds: dict[str, pa.Table] | None = None
) -> list[str]:
    """Copy every OLTP table (``SELECT *``) and the simulator tables into bronze Delta tables.

    A stand-in for ``ingest.run.run_ingest`` while that is being written: a full snapshot each call, with the
    contract's ingest columns (``_ingested_at``, ``_op``, ``_is_deleted``, ``_watermark``, ``_partition_date``).

    Args:
        pg_uri: libpq URI of the OLTP database.
        lake_root: Root of the lake; tables land in ``<lake_root>/bronze``.
        feeds: Feed tables (``feeds__tracking_events``, ``feeds__telemetry``) to write alongside; empty ones
            with the contract's schema are written for any not given.

    Returns:
        Names of the bronze tables written.
    """
    import adbc_driver_postgresql.dbapi as adbc

    from oltp.models import Base

    tables: dict[str, pa.Table] = {}
    with adbc.connect(pg_uri) as conn, conn.cursor() as cur:
        for t in Base.metadata.sorted_tables:
            if t.name in _EXCLUDED:
                continue
            cols = ", ".join(
                f"{c.name}::text as {c.name}" if c.type.__class__.__name__ == "JSONB" else c.name
                for c in t.columns
            )
            cur.execute(f"select {cols} from {t.name} order by id")
            tables[t.name] = cur.fetch_arrow_table().cast(oltp_arrow_schema(t.name))
        for name in ("expected_demand", "lane_transit"):
            cur.execute(f"select * from sim.{name}")
            tables[f"sim__{name}"] = cur.fetch_arrow_table().cast(FEED_SCHEMAS[f"sim__{name}"])
    for name, schema in FEED_SCHEMAS.items():
        if name.startswith("feeds__"):
            tables[name] = (feeds or {}).get(name, schema.empty_table()).cast(schema)
    write_bronze(lake_root, tables)
    return [_bronze_name(n) for n in tables]


def write_landing(landing_dir: Path | str, tables: dict[str, pa.Table]) -> list[Path]:
    """Write the feed tables as landing files the ingest reads (tracking JSON lines, telemetry CSV).

    Args:
        landing_dir: ``settings.landing_dir``.
        tables: Tables from :meth:`History.as_of` (``feeds__tracking_events``, ``feeds__telemetry``).

    Returns:
        The files written.
    """
    import csv
    import json

    from ingest.feeds import TELEMETRY_COLUMNS

    landing = Path(landing_dir)
    written = []
    tracking = tables.get("feeds__tracking_events")
    if tracking is not None and tracking.num_rows:
        path = landing / "tracking" / "carrier_feed.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as f:
            for row in tracking.drop_columns(["_source_file"]).to_pylist():
                row["occurred_at"] = row["occurred_at"].isoformat()
                f.write(json.dumps(row) + "\n")
        written.append(path)
    telemetry = tables.get("feeds__telemetry")
    if telemetry is not None and telemetry.num_rows:
        path = landing / "telemetry" / "sensors.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(TELEMETRY_COLUMNS)
            for row in telemetry.select(list(TELEMETRY_COLUMNS)).to_pylist():
                row["ts"] = row["ts"].isoformat()
                out.writerow(["" if v is None or v != v else v for v in row.values()])
        written.append(path)
    return written
