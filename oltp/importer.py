"""``stockyard import KIND PATH``: bulk-load your own master data and history from CSV or Parquet.

Every file is read with polars as text, validated row by row (required columns, types, ranges, allowed values,
references to existing rows, duplicate keys within the file), and the good rows are loaded through ``COPY`` into a
temporary staging table, then ``INSERT ... SELECT ... ON CONFLICT`` on the business key — so importing the same file
twice changes nothing the second time. Rejected rows are listed (file, row, column, reason, value) in a rejects CSV
beside the input (``<name>.rejects.csv``) unless another path is given. A missing required column or an unknown kind
is a :class:`~stockyard.errors.ValidationError` and nothing is loaded. The column reference is ``docs/import.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import psycopg

from oltp.models import ORDER_CHANNELS, ORDER_STATUSES, SHIPMENT_STATUSES, TEMPERATURE_CLASSES
from oltp.simulator.pgio import copy_frame, id_map, upsert_frame
from stockyard.errors import ValidationError
from stockyard.settings import Settings, get_settings

__all__ = ["ImportResult", "import_file", "KINDS", "COLUMNS"]


@dataclass
class ImportResult:
    """Outcome of one import."""

    loaded: int
    rejected: int
    warnings: list[str] = field(default_factory=list)
    rejects_path: Path | None = None


@dataclass(frozen=True)
class Col:
    """One column of an import file: its type, whether it is required, its checks and its default."""

    name: str
    type: str = "str"  # str | int | float | bool | date | datetime
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    default: Any = None
    doc: str = ""


LOCATION_TYPES = ("pick_face", "reserve", "staging", "dock")
MODES = ("parcel", "ltl", "ftl", "reefer", "courier")

COLUMNS: dict[str, list[Col]] = {
    "warehouses": [
        Col("warehouse", required=True, doc="business code"),
        Col("name", required=True),
        Col("lat", "float", True, -90, 90),
        Col("lon", "float", True, -180, 180),
        Col("region"),
        Col("storage_capacity_m3", "float", min=0),
        Col("throughput_capacity_units_per_day", "float", min=0),
    ],
    "suppliers": [
        Col("supplier", required=True),
        Col("name"),
        Col("lead_time_mean_days", "float", min=0, default=7.0),
        Col("lead_time_sd_days", "float", min=0, default=0.0),
        Col("capacity_units_per_week", "float", min=0),
    ],
    "items": [
        Col("item", required=True),
        Col("name", required=True),
        Col("category", required=True),
        Col("family", doc="default: the category"),
        Col("unit_length_cm", "float", min=0.001, default=10.0),
        Col("unit_width_cm", "float", min=0.001, default=10.0),
        Col("unit_height_cm", "float", min=0.001, default=10.0),
        Col("unit_weight_kg", "float", min=0, default=1.0),
        Col("unit_cost", "float", min=0, default=0.0),
        Col("list_price", "float", min=0, default=0.0),
        Col("shelf_life_days", "int", min=1),
        Col("temperature_class", choices=TEMPERATURE_CLASSES, default="ambient"),
        Col("is_hazmat", "bool", default=False),
        Col("is_serialised", "bool", default=False),
        Col("supplier", doc="supplier code; must exist"),
        Col("min_order_qty", "int", min=1, default=1),
        Col("order_multiple", "int", min=1, default=1),
    ],
    "customers": [
        Col("customer", required=True),
        Col("lat", "float", True, -90, 90),
        Col("lon", "float", True, -180, 180),
        Col("name", doc="default: the code"),
        Col("region"),
    ],
    "carriers": [
        Col("carrier", required=True),
        Col("name", doc="default: the code"),
        Col("service", doc="optional service of the carrier (one row per service)"),
        Col("mode", choices=MODES, default="parcel"),
        Col("promised_transit_days", "int", min=0, default=3),
        Col("origin_warehouse", doc="optional lane rate: warehouse code (needs service)"),
        Col("destination_region"),
        Col("base_rate", "float", min=0),
        Col("rate_per_kg", "float", min=0),
        Col("transit_days", "int", min=0),
    ],
    "locations": [
        Col("warehouse", required=True, doc="must exist"),
        Col("location", required=True),
        Col("zone", doc="zone code, created if missing (default: the temperature class)"),
        Col("temperature_class", choices=TEMPERATURE_CLASSES, default="ambient"),
        Col("aisle", "int", min=0, default=0),
        Col("bay", "int", min=0, default=0),
        Col("level", "int", min=0, default=0),
        Col("x", "float", default=0.0),
        Col("y", "float", default=0.0),
        Col("z", "float", default=0.0),
        Col("volume_capacity_m3", "float", min=0.000001, default=1.0),
        Col("weight_capacity_kg", "float", min=0.000001, default=500.0),
        Col("location_type", choices=LOCATION_TYPES, default="reserve"),
    ],
    "inventory": [
        Col("warehouse", required=True, doc="must exist"),
        Col("location", required=True, doc="must exist in the warehouse"),
        Col("item", required=True, doc="must exist"),
        Col("on_hand", "int", True, 0),
        Col("lot_code"),
        Col("expiry_date", "date"),
    ],
    "orders": [
        Col("order_id", required=True, doc="your order number (stored as order_number)"),
        Col("order_date", "datetime", True),
        Col("customer", required=True, doc="created if missing (warning)"),
        Col("warehouse", required=True, doc="created if missing (warning)"),
        Col("item", required=True, doc="created if missing (warning)"),
        Col("quantity", "int", True, 1),
        Col("line_number", "int", min=1, doc="default: position of the row within its order"),
        Col("unit_price", "float", min=0, doc="default: the item's list price"),
        Col("is_promo", "bool", default=False),
        Col("channel", choices=ORDER_CHANNELS, default="import"),
        Col("promised_date", "date"),
        Col("shipped_date", "datetime"),
        Col("delivered_date", "datetime"),
        Col("status", choices=ORDER_STATUSES, doc="default: derived from the dates"),
    ],
    "shipments": [
        Col("shipment_number", required=True),
        Col("warehouse", required=True, doc="must exist"),
        Col("shipped_at", "datetime", True),
        Col("order_id", doc="order number; must exist when given"),
        Col("carrier", doc="must exist when given"),
        Col("service", doc="service of the carrier; must exist when given"),
        Col("customer", doc="must exist when given"),
        Col("tracking_number"),
        Col("promised_delivery_at", "datetime"),
        Col("delivered_at", "datetime"),
        Col("destination_region"),
        Col("destination_lat", "float", min=-90, max=90),
        Col("destination_lon", "float", min=-180, max=180),
        Col("weight_kg", "float", min=0, default=0.0),
        Col("cost", "float", min=0, default=0.0),
        Col("status", choices=SHIPMENT_STATUSES, doc="default: delivered if delivered_at else shipped"),
    ],
}
KINDS = tuple(COLUMNS)
# Business key of each kind within a file (duplicates after the first are rejected).
KEYS: dict[str, tuple[str, ...]] = {
    "warehouses": ("warehouse",),
    "suppliers": ("supplier",),
    "items": ("item",),
    "customers": ("customer",),
    "carriers": ("carrier", "service"),
    "locations": ("warehouse", "location"),
    "inventory": ("warehouse", "location", "item", "lot_code"),
    "orders": ("order_id", "line_number"),
    "shipments": ("shipment_number",),
}

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


# ------------------------------------------------------------------------------------------------ reading, parsing
def _read(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        df = pl.read_parquet(path)
        df = df.with_columns(
            [
                pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S%z")
                if df.schema[c] == pl.Datetime or isinstance(df.schema[c], pl.Datetime)
                else pl.col(c).cast(pl.Utf8)
                for c in df.columns
            ]
        )
    elif suffix in (".csv", ".txt", ".tsv"):
        df = pl.read_csv(
            path,
            infer_schema=False,
            separator="\t" if suffix == ".tsv" else ",",
        )
    else:
        raise ValidationError(
            f"{path.name}: unsupported file type '{suffix}' (use .csv or .parquet)",
            field="path",
            value=str(path),
        )
    df = df.rename({c: c.strip().lower() for c in df.columns})
    # Blank strings are missing values.
    return df.with_columns([pl.col(c).str.strip_chars().replace("", None) for c in df.columns])


def _parse(df: pl.DataFrame, cols: list[Col]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed columns plus a frame of errors (``row``, ``column``, ``reason``, ``value``)."""
    typed: dict[str, pl.Expr] = {}
    val: pl.Expr
    errors: list[pl.DataFrame] = []
    for c in cols:
        if c.name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c.name))
        raw = pl.col(c.name)
        if c.type == "int":
            as_float = raw.cast(pl.Float64, strict=False)
            val = pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64, strict=False))
            what = "an integer"
        elif c.type == "float":
            val = raw.cast(pl.Float64, strict=False)
            val = pl.when(val.is_finite()).then(val)
            what = "a number"
        elif c.type == "bool":
            low = raw.str.to_lowercase()
            val = pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
            what = "true/false"
        elif c.type == "date":
            val = raw.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
            what = "a date (YYYY-MM-DD)"
        elif c.type == "datetime":
            # ISO 8601 with or without offset (naive = UTC), with or without seconds, or a bare date.
            iso = raw.str.replace(" ", "T").str.replace(r"Z$", "+00:00")
            val = pl.coalesce(
                iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us"),
                iso.str.to_datetime(
                    "%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us"
                ).dt.replace_time_zone("UTC"),
                iso.str.to_datetime("%Y-%m-%dT%H:%M", strict=False, time_unit="us").dt.replace_time_zone(
                    "UTC"
                ),
                pl.when(raw.str.len_chars() == 10)
                .then(raw.str.to_date("%Y-%m-%d", strict=False))
                .cast(pl.Datetime("us"))
                .dt.replace_time_zone("UTC"),
            )
            what = "a date or ISO timestamp"
        else:
            val = raw
            what = "text"
        checks: list[tuple[pl.Expr, str]] = []
        if c.required:
            checks.append((raw.is_null(), "required value is missing"))
        checks.append((raw.is_not_null() & val.is_null(), f"not {what}"))
        if c.min is not None:
            checks.append((val < c.min, f"must be >= {c.min:g}"))
        if c.max is not None:
            checks.append((val > c.max, f"must be <= {c.max:g}"))
        if c.choices is not None:
            checks.append(
                (raw.is_not_null() & ~raw.is_in(list(c.choices)), f"must be one of {', '.join(c.choices)}")
            )
        for cond, reason in checks:
            bad = (
                df.with_row_index("_i")
                .filter(cond.fill_null(False))
                .select(
                    pl.col("_i"),
                    pl.lit(c.name).alias("column"),
                    pl.lit(reason).alias("reason"),
                    raw.alias("value"),
                )
            )
            if bad.height:
                errors.append(bad)
        if c.default is not None:
            val = pl.coalesce(val, pl.lit(c.default))
        typed[c.name] = val.alias(c.name)
    out = df.select(list(typed.values()))
    err = pl.concat(errors) if errors else _no_errors()
    return out, err


def _no_errors() -> pl.DataFrame:
    return pl.DataFrame(schema={"_i": pl.UInt32, "column": pl.Utf8, "reason": pl.Utf8, "value": pl.Utf8})


def _err(df: pl.DataFrame, mask: pl.Expr, column: str, reason: str) -> pl.DataFrame:
    return (
        df.with_row_index("_i")
        .filter(mask.fill_null(False))
        .select(
            pl.col("_i"),
            pl.lit(column).alias("column"),
            pl.lit(reason).alias("reason"),
            pl.col(column).cast(pl.Utf8).alias("value"),
        )
    )


def _ref(df: pl.DataFrame, column: str, known: set, what: str) -> pl.DataFrame:
    return _err(
        df, pl.col(column).is_not_null() & ~pl.col(column).is_in(list(known)), column, f"unknown {what}"
    )


# ------------------------------------------------------------------------------------------------ loaders per kind
Loader = Callable[[psycopg.Connection, pl.DataFrame, list[str]], tuple[pl.DataFrame, int]]


def _load_warehouses(conn, df, _warnings):
    n = upsert_frame(conn, "warehouses", df.rename({"warehouse": "code"}), ["code"], update=True)
    return _no_errors(), n


def _load_suppliers(conn, df, _warnings):
    df = df.with_columns(pl.coalesce("name", "supplier").alias("name"))
    n = upsert_frame(conn, "suppliers", df.rename({"supplier": "code"}), ["code"], update=True)
    return _no_errors(), n


def _load_items(conn, df, _warnings):
    sup = id_map(conn, "suppliers")
    err = _ref(df, "supplier", set(sup), "supplier")
    good = _drop(df, err)
    good = good.with_columns(
        pl.coalesce("family", "category").alias("family"),
        pl.col("supplier").replace_strict(sup, default=None, return_dtype=pl.Int64).alias("supplier_id"),
    ).drop("supplier")
    n = upsert_frame(conn, "items", good.rename({"item": "code"}), ["code"], update=True)
    return err, n


def _load_customers(conn, df, _warnings):
    df = df.with_columns(pl.coalesce("name", "customer").alias("name"))
    n = upsert_frame(conn, "customers", df.rename({"customer": "code"}), ["code"], update=True)
    return _no_errors(), n


def _load_carriers(conn, df, _warnings):
    wh = id_map(conn, "warehouses")
    errs = [
        _ref(df, "origin_warehouse", set(wh), "warehouse"),
        _err(
            df,
            pl.col("origin_warehouse").is_not_null() & pl.col("service").is_null(),
            "service",
            "a lane rate needs a service",
        ),
        _err(
            df,
            pl.col("origin_warehouse").is_not_null()
            & (
                pl.col("destination_region").is_null()
                | pl.col("base_rate").is_null()
                | pl.col("rate_per_kg").is_null()
            ),
            "origin_warehouse",
            "a lane rate needs destination_region, base_rate and rate_per_kg",
        ),
    ]
    err = pl.concat(errs)
    good = _drop(df, err)
    carriers = good.group_by("carrier", maintain_order=True).agg(
        pl.coalesce("name", "carrier").first().alias("name")
    )
    n = upsert_frame(conn, "carriers", carriers.rename({"carrier": "code"}), ["code"], update=True)
    cmap = id_map(conn, "carriers")
    svc = good.filter(pl.col("service").is_not_null()).unique(
        ["carrier", "service"], keep="first", maintain_order=True
    )
    if svc.height:
        upsert_frame(
            conn,
            "carrier_services",
            svc.select(
                pl.col("carrier").replace_strict(cmap, return_dtype=pl.Int64).alias("carrier_id"),
                pl.col("service").alias("code"),
                "mode",
                "promised_transit_days",
            ),
            ["carrier_id", "code"],
            update=True,
        )
        smap = {
            (c, s): i
            for c, s, i in conn.execute(
                "select c.code, s.code, s.id from carrier_services s join carriers c on c.id = s.carrier_id"
            ).fetchall()
        }
        lanes = svc.filter(pl.col("origin_warehouse").is_not_null())
        if lanes.height:
            upsert_frame(
                conn,
                "lane_rates",
                lanes.select(
                    pl.Series(
                        "carrier_service_id",
                        [smap[(c, s)] for c, s in zip(lanes["carrier"], lanes["service"], strict=True)],
                    ),
                    pl.col("origin_warehouse")
                    .replace_strict(wh, return_dtype=pl.Int64)
                    .alias("origin_warehouse_id"),
                    "destination_region",
                    "base_rate",
                    "rate_per_kg",
                    pl.coalesce("transit_days", "promised_transit_days").alias("transit_days"),
                ),
                ["carrier_service_id", "origin_warehouse_id", "destination_region"],
                update=True,
            )
    return err, max(n, good.height)


def _load_locations(conn, df, _warnings):
    wh = id_map(conn, "warehouses")
    err = _ref(df, "warehouse", set(wh), "warehouse")
    good = _drop(df, err).with_columns(
        pl.col("warehouse").replace_strict(wh, return_dtype=pl.Int64).alias("warehouse_id"),
        pl.coalesce("zone", pl.col("temperature_class").str.to_uppercase()).alias("zone"),
    )
    zones = good.group_by("warehouse_id", "zone", maintain_order=True).agg(
        pl.col("temperature_class").first()
    )
    upsert_frame(
        conn,
        "zones",
        zones.select("warehouse_id", pl.col("zone").alias("code"), "temperature_class"),
        ["warehouse_id", "code"],
    )
    zmap = {(w, c): i for w, c, i in conn.execute("select warehouse_id, code, id from zones").fetchall()}
    good = good.with_columns(
        pl.Series(
            "zone_id",
            [zmap[(w, z)] for w, z in zip(good["warehouse_id"], good["zone"], strict=True)],
            dtype=pl.Int64,
        )
    )
    n = upsert_frame(
        conn,
        "locations",
        good.drop("warehouse", "zone", "temperature_class").rename({"location": "code"}),
        ["warehouse_id", "code"],
        update=True,
    )
    return err, n


def _load_inventory(conn, df, _warnings):
    wh = id_map(conn, "warehouses")
    items = id_map(conn, "items")
    locs = {
        (w, c): (i, t)
        for w, c, i, t in conn.execute(
            "select w.code, l.code, l.id, l.location_type from locations l join warehouses w on w.id = l.warehouse_id"
        ).fetchall()
    }
    err = pl.concat(
        [
            _ref(df, "warehouse", set(wh), "warehouse"),
            _ref(df, "item", set(items), "item"),
            _err(
                df,
                pl.col("warehouse").is_in(list(wh))
                & ~pl.concat_str("warehouse", pl.lit("\x1f"), "location").is_in(
                    [f"{w}\x1f{c}" for w, c in locs]
                ),
                "location",
                "unknown location in this warehouse",
            ),
        ]
    )
    good = _drop(df, err)
    # Lots first (one per item and lot code).
    lots = good.filter(pl.col("lot_code").is_not_null()).unique(
        ["item", "lot_code"], keep="first", maintain_order=True
    )
    if lots.height:
        upsert_frame(
            conn,
            "lots",
            lots.select(
                pl.col("item").replace_strict(items, return_dtype=pl.Int64).alias("item_id"),
                "lot_code",
                "expiry_date",
            ),
            ["item_id", "lot_code"],
            update=True,
        )
    lot_map = {(i, c): lid for i, c, lid in conn.execute("select item_id, lot_code, id from lots").fetchall()}
    rows = []
    for r in good.iter_rows(named=True):
        item_id = items[r["item"]]
        rows.append(
            (
                wh[r["warehouse"]],
                locs[(r["warehouse"], r["location"])][0],
                item_id,
                lot_map.get((item_id, r["lot_code"])) if r["lot_code"] else None,
                int(r["on_hand"]),
                r["warehouse"],
                r["location"],
                r["item"],
                r["lot_code"],
            )
        )
    stage = pl.DataFrame(
        rows,
        schema={
            "warehouse_id": pl.Int64,
            "location_id": pl.Int64,
            "item_id": pl.Int64,
            "lot_id": pl.Int64,
            "on_hand": pl.Int64,
            "wh": pl.Utf8,
            "loc": pl.Utf8,
            "it": pl.Utf8,
            "lot": pl.Utf8,
        },
        orient="row",
    )
    conn.execute(
        "create temp table _stage_inventory (rn int, warehouse_id bigint, location_id bigint, item_id bigint, "
        "lot_id bigint, on_hand int, wh text, loc text, it text, lot text) on commit drop"
    )
    copy_frame(conn, "_stage_inventory", stage.with_row_index("rn"))
    # Set each balance to the file's quantity: the difference is posted to the ledger (opening_balance) so the
    # ledger keeps summing to on_hand; re-importing the same file posts nothing. A quantity below what is
    # already reserved for orders is rejected.
    below = conn.execute(
        """
        select s.rn, s.on_hand, b.reserved from _stage_inventory s
        join inventory_balances b on b.location_id = s.location_id and b.item_id = s.item_id
         and b.lot_id is not distinct from s.lot_id
        where s.on_hand < b.reserved
        """
    ).fetchall()
    if below:
        keep = [int(r[0]) for r in below]
        conn.execute("delete from _stage_inventory where rn = any(%s)", (keep,))
        good.with_row_index("_g").filter(pl.col("_g").is_in(keep))
        err = pl.concat([err, _rows_error(good, keep, "on_hand", "below the quantity reserved for orders")])
    conn.execute(
        """
        insert into inventory_balances (warehouse_id, location_id, item_id, lot_id, on_hand, reserved)
        select warehouse_id, location_id, item_id, lot_id, 0, 0 from _stage_inventory
        on conflict (location_id, item_id, lot_id) do nothing
        """
    )
    conn.execute(
        """
        create temp table _inv_delta on commit drop as
        select b.id as balance_id, s.*, s.on_hand - b.on_hand as delta
        from _stage_inventory s
        join inventory_balances b on b.location_id = s.location_id and b.item_id = s.item_id
         and b.lot_id is not distinct from s.lot_id
        where s.on_hand <> b.on_hand
        """
    )
    conn.execute(
        """
        insert into inventory_ledger (occurred_at, warehouse_id, location_id, item_id, lot_id, quantity_delta, reason,
                                      reference_type, note)
        select now(), warehouse_id, location_id, item_id, lot_id, delta, 'opening_balance', 'import', 'stockyard import'
        from _inv_delta order by balance_id
        """
    )
    conn.execute(
        "update inventory_balances b set on_hand = d.on_hand from _inv_delta d where b.id = d.balance_id"
    )
    conn.execute(
        """
        insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at)
        select 'inventory', wh || '/' || loc || '/' || it, 'inventory.imported',
               jsonb_build_object('warehouse', wh, 'location', loc, 'item', it, 'lot_code', lot,
                                  'on_hand', on_hand, 'delta', delta),
               now()
        from _inv_delta order by balance_id
        """
    )
    return err, good.height - len(below)


def _rows_error(good: pl.DataFrame, positions: list[int], column: str, reason: str) -> pl.DataFrame:
    sel = good.with_row_index("_g").filter(pl.col("_g").is_in(positions))
    return sel.select(
        pl.col("_g").alias("_i"),
        pl.lit(column).alias("column"),
        pl.lit(reason).alias("reason"),
        pl.col(column).cast(pl.Utf8).alias("value"),
    )


def _ensure_refs(conn, df: pl.DataFrame, warnings: list[str]) -> tuple[dict, dict, dict]:
    """Create the customers, warehouses and items an orders file references but the database lacks."""
    wh = id_map(conn, "warehouses")
    new_wh = sorted(set(df["warehouse"].drop_nulls().to_list()) - set(wh))
    if new_wh:
        upsert_frame(
            conn,
            "warehouses",
            pl.DataFrame(
                {"code": new_wh, "name": new_wh, "lat": [0.0] * len(new_wh), "lon": [0.0] * len(new_wh)}
            ),
            ["code"],
        )
        warnings.append(
            f"created {len(new_wh)} missing warehouse(s) with unknown coordinates (0, 0): {', '.join(new_wh[:5])}"
            + (" ..." if len(new_wh) > 5 else "")
            + " — import warehouses to set them"
        )
        wh = id_map(conn, "warehouses")
    items = id_map(conn, "items")
    new_items = (
        df.filter(~pl.col("item").is_in(list(items)))
        .group_by("item", maintain_order=True)
        .agg(pl.col("unit_price").drop_nulls().median().alias("list_price"))
    )
    if new_items.height:
        upsert_frame(
            conn,
            "items",
            new_items.select(
                pl.col("item").alias("code"),
                pl.col("item").alias("name"),
                pl.lit("unknown").alias("category"),
                pl.lit("unknown").alias("family"),
                pl.col("list_price").fill_null(0.0),
            ),
            ["code"],
        )
        codes = new_items["item"].to_list()
        warnings.append(
            f"created {len(codes)} missing item(s) (category 'unknown'): {', '.join(codes[:5])}"
            + (" ..." if len(codes) > 5 else "")
        )
        items = id_map(conn, "items")
    cust = id_map(conn, "customers")
    wh_ll = {c: (la, lo) for c, la, lo in conn.execute("select code, lat, lon from warehouses").fetchall()}
    new_c = (
        df.filter(~pl.col("customer").is_in(list(cust)))
        .group_by("customer", maintain_order=True)
        .agg(pl.col("warehouse").first())
    )
    if new_c.height:
        upsert_frame(
            conn,
            "customers",
            pl.DataFrame(
                {
                    "code": new_c["customer"],
                    "name": new_c["customer"],
                    "lat": [wh_ll[w][0] for w in new_c["warehouse"]],
                    "lon": [wh_ll[w][1] for w in new_c["warehouse"]],
                }
            ),
            ["code"],
        )
        codes = new_c["customer"].to_list()
        warnings.append(
            f"created {len(codes)} missing customer(s) located at their warehouse: {', '.join(codes[:5])}"
            + (" ..." if len(codes) > 5 else "")
        )
        cust = id_map(conn, "customers")
    return wh, items, cust


def _load_orders(conn, df, warnings):
    # Line numbers: given, or the row's position within its order (stable for the same file).
    df = df.with_columns(
        pl.coalesce("line_number", pl.int_range(1, pl.len() + 1).over("order_id")).alias("line_number")
    )
    incons = _err(
        df,
        (pl.col("customer").n_unique().over("order_id") > 1)
        | (pl.col("warehouse").n_unique().over("order_id") > 1)
        | (pl.col("order_date").n_unique().over("order_id") > 1),
        "order_id",
        "lines of one order disagree on customer, warehouse or order_date",
    )
    bad_dates = pl.concat(
        [
            _err(df, pl.col("shipped_date") < pl.col("order_date"), "shipped_date", "before order_date"),
            _err(
                df, pl.col("delivered_date") < pl.col("shipped_date"), "delivered_date", "before shipped_date"
            ),
            _err(
                df,
                pl.col("delivered_date").is_not_null() & pl.col("shipped_date").is_null(),
                "shipped_date",
                "required when delivered_date is given",
            ),
        ]
    )
    err = pl.concat([incons, bad_dates])
    # A rejected line rejects its whole order (an order is loaded all or nothing).
    bad_orders = set(df.with_row_index("_i").join(err.select("_i").unique(), on="_i")["order_id"].to_list())
    extra = _err(
        df, pl.col("order_id").is_in(list(bad_orders)), "order_id", "another line of this order was rejected"
    )
    extra = extra.join(err.select("_i").unique(), on="_i", how="anti")
    err = pl.concat([err, extra])
    good = _drop(df, err)
    if good.height == 0:
        return err, 0
    wh, items, cust = _ensure_refs(conn, good, warnings)
    prices = dict(conn.execute("select code, list_price::float8 from items").fetchall())
    good = good.with_columns(
        pl.coalesce(
            "unit_price", pl.col("item").replace_strict(prices, default=0.0, return_dtype=pl.Float64)
        ).alias("unit_price")
    )
    orders = good.group_by("order_id", maintain_order=True).agg(
        pl.col("order_date").first(),
        pl.col("customer").first(),
        pl.col("warehouse").first(),
        pl.col("channel").first(),
        pl.col("promised_date").max(),
        pl.col("shipped_date").max(),
        pl.col("shipped_date").is_null().any().alias("unshipped"),
        pl.col("delivered_date").max(),
        pl.col("delivered_date").is_null().any().alias("undelivered"),
        pl.col("status").first(),
    )
    derived = (
        pl.when(~pl.col("undelivered"))
        .then(pl.lit("delivered"))
        .when(~pl.col("unshipped"))
        .then(pl.lit("shipped"))
        .when(pl.col("shipped_date").is_not_null())
        .then(pl.lit("shipped"))
        .otherwise(pl.lit("delivered"))
    )
    orders = orders.with_columns(pl.coalesce("status", derived).alias("status"))
    no_dates = orders.filter(pl.col("shipped_date").is_null() & (pl.col("status") == "delivered")).height
    if no_dates:
        warnings.append(
            f"{no_dates} order(s) have no shipped_date: imported as fulfilled history (status delivered, quantity "
            "shipped = ordered, no shipment); give status=new for orders that are still open"
        )
    conn.execute(
        "create temp table _stage_orders (order_number text, customer_id bigint, warehouse_id bigint, channel text, "
        "ordered_at timestamptz, promised_date date, status text, shipped_at timestamptz, delivered_at timestamptz) "
        "on commit drop"
    )
    copy_frame(
        conn,
        "_stage_orders",
        orders.select(
            pl.col("order_id").alias("order_number"),
            pl.col("customer").replace_strict(cust, return_dtype=pl.Int64).alias("customer_id"),
            pl.col("warehouse").replace_strict(wh, return_dtype=pl.Int64).alias("warehouse_id"),
            "channel",
            pl.col("order_date").alias("ordered_at"),
            "promised_date",
            "status",
            pl.col("shipped_date").alias("shipped_at"),
            pl.col("delivered_date").alias("delivered_at"),
        ),
    )
    inserted = conn.execute(
        """
        insert into orders (order_number, customer_id, warehouse_id, channel, ordered_at, promised_date, status)
        select order_number, customer_id, warehouse_id, channel, ordered_at, promised_date, status from _stage_orders
        order by ordered_at, order_number
        on conflict (order_number) do update set customer_id = excluded.customer_id,
            warehouse_id = excluded.warehouse_id, channel = excluded.channel, ordered_at = excluded.ordered_at,
            promised_date = excluded.promised_date, status = excluded.status
        where (orders.customer_id, orders.warehouse_id, orders.channel, orders.ordered_at, orders.promised_date,
               orders.status) is distinct from (excluded.customer_id, excluded.warehouse_id, excluded.channel,
               excluded.ordered_at, excluded.promised_date, excluded.status)
        returning id, order_number, (xmax = 0) as is_new
        """
    ).fetchall()
    new_ids = [r[0] for r in inserted if r[2]]
    omap = dict(
        conn.execute(
            "select o.order_number, o.id from orders o join _stage_orders s using (order_number)"
        ).fetchall()
    )
    status_of = dict(zip(orders["order_id"].to_list(), orders["status"].to_list(), strict=True))
    shipped_known = good.with_columns(
        pl.when(
            pl.col("order_id").replace_strict(status_of, return_dtype=pl.Utf8).is_in(["shipped", "delivered"])
        )
        .then(pl.col("quantity"))
        .otherwise(0)
        .alias("shipped_qty")
    )
    lines = shipped_known.select(
        pl.col("order_id").replace_strict(omap, return_dtype=pl.Int64).alias("order_id"),
        pl.col("line_number").cast(pl.Int32),
        pl.col("item").replace_strict(items, return_dtype=pl.Int64).alias("item_id"),
        pl.col("quantity").alias("quantity_ordered"),
        pl.col("shipped_qty").alias("quantity_picked"),
        pl.col("shipped_qty").alias("quantity_shipped"),
        pl.when(pl.col("order_id").replace_strict(status_of, return_dtype=pl.Utf8) == "cancelled")
        .then(pl.col("quantity") - pl.col("shipped_qty"))
        .otherwise(0)
        .alias("quantity_cancelled"),
        "unit_price",
        "is_promo",
    )
    upsert_frame(conn, "order_lines", lines, ["order_id", "line_number"], update=True)
    # History and outbox for new orders only (a re-import adds nothing).
    if new_ids:
        conn.execute(
            """
            insert into order_status_history (order_id, from_status, to_status, changed_at, reason)
            select o.id, null, 'new', s.ordered_at, 'import' from orders o join _stage_orders s using (order_number)
            where o.id = any(%(ids)s)
            union all
            select o.id, 'new', 'shipped', s.shipped_at, 'import' from orders o join _stage_orders s using (order_number)
            where o.id = any(%(ids)s) and s.shipped_at is not null and o.status in ('shipped', 'delivered')
            union all
            select o.id, case when s.shipped_at is null then 'new' else 'shipped' end, o.status,
                   coalesce(s.delivered_at, s.shipped_at, s.ordered_at), 'import'
            from orders o join _stage_orders s using (order_number)
            where o.id = any(%(ids)s) and o.status not in ('new', 'shipped')
            """,
            {"ids": new_ids},
        )
        conn.execute(
            """
            insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at)
            select 'order', o.id::text, 'order.imported',
                   jsonb_build_object('order_number', o.order_number, 'status', o.status,
                                      'lines', (select count(*) from order_lines l where l.order_id = o.id)),
                   o.ordered_at
            from orders o where o.id = any(%(ids)s) order by o.ordered_at, o.id
            """,
            {"ids": new_ids},
        )
    # Shipments for shipped lines: one per order and shipped date (number IMP-<order>-<yyyymmdd>).
    shipped = good.filter(pl.col("shipped_date").is_not_null())
    if shipped.height:
        weights = dict(conn.execute("select code, unit_weight_kg from items").fetchall())
        shp = shipped.with_columns(
            (
                pl.lit("IMP-")
                + pl.col("order_id")
                + pl.lit("-")
                + pl.col("shipped_date").dt.strftime("%Y%m%d")
            ).alias("shipment_number"),
            (
                pl.col("quantity")
                * pl.col("item").replace_strict(weights, default=0.0, return_dtype=pl.Float64)
            ).alias("kg"),
        )
        heads = shp.group_by("shipment_number", maintain_order=True).agg(
            pl.col("order_id").first(),
            pl.col("warehouse").first(),
            pl.col("customer").first(),
            pl.col("shipped_date").min(),
            pl.col("delivered_date").max(),
            pl.col("delivered_date").is_null().any().alias("open"),
            pl.col("kg").sum(),
        )
        ll = (
            dict(conn.execute("select code, lat from customers").fetchall()),
            dict(conn.execute("select code, lon from customers").fetchall()),
        )
        region = dict(conn.execute("select code, region from customers").fetchall())
        conn.execute(
            "create temp table _stage_ship (shipment_number text, order_id bigint, warehouse_id bigint, customer_id bigint, "
            "destination_region text, destination_lat float8, destination_lon float8, status text, planned_pickup_at timestamptz, "
            "picked_up_at timestamptz, delivered_at timestamptz, weight_kg float8) on commit drop"
        )
        copy_frame(
            conn,
            "_stage_ship",
            heads.select(
                "shipment_number",
                pl.col("order_id").replace_strict(omap, return_dtype=pl.Int64).alias("order_id"),
                pl.col("warehouse").replace_strict(wh, return_dtype=pl.Int64).alias("warehouse_id"),
                pl.col("customer").replace_strict(cust, return_dtype=pl.Int64).alias("customer_id"),
                pl.col("customer")
                .replace_strict(region, default=None, return_dtype=pl.Utf8)
                .alias("destination_region"),
                pl.col("customer").replace_strict(ll[0], return_dtype=pl.Float64).alias("destination_lat"),
                pl.col("customer").replace_strict(ll[1], return_dtype=pl.Float64).alias("destination_lon"),
                pl.when(pl.col("open"))
                .then(pl.lit("shipped"))
                .otherwise(pl.lit("delivered"))
                .alias("status"),
                pl.col("shipped_date").alias("planned_pickup_at"),
                pl.col("shipped_date").alias("picked_up_at"),
                pl.when(pl.col("open")).then(None).otherwise(pl.col("delivered_date")).alias("delivered_at"),
                pl.col("kg").round(3).alias("weight_kg"),
            ),
        )
        new_ships = conn.execute(
            """
            insert into shipments (shipment_number, order_id, warehouse_id, customer_id, destination_region,
                                   destination_lat, destination_lon, status, planned_pickup_at, picked_up_at,
                                   delivered_at, weight_kg)
            select * from _stage_ship order by picked_up_at, shipment_number
            on conflict (shipment_number) do nothing
            returning id, shipment_number
            """
        ).fetchall()
        if new_ships:
            smap = {n: i for i, n in new_ships}
            sl = shp.filter(pl.col("shipment_number").is_in(list(smap))).select(
                pl.col("shipment_number").replace_strict(smap, return_dtype=pl.Int64).alias("shipment_id"),
                pl.col("order_id").replace_strict(omap, return_dtype=pl.Int64).alias("_o"),
                pl.col("line_number").cast(pl.Int32).alias("_ln"),
                pl.col("item").replace_strict(items, return_dtype=pl.Int64).alias("item_id"),
                "quantity",
            )
            line_ids = {
                (o, ln): i
                for i, o, ln in conn.execute(
                    "select id, order_id, line_number from order_lines where order_id = any(%s)",
                    (list(set(sl["_o"].to_list())),),
                ).fetchall()
            }
            sl = sl.with_columns(
                pl.Series(
                    "order_line_id",
                    [line_ids[(o, n)] for o, n in zip(sl["_o"], sl["_ln"], strict=True)],
                    dtype=pl.Int64,
                )
            ).drop("_o", "_ln")
            copy_frame(conn, "shipment_lines", sl)
    return err, good.height


def _load_shipments(conn, df, _warnings):
    wh = id_map(conn, "warehouses")
    cust = id_map(conn, "customers")
    orders = id_map(conn, "orders", "order_number")
    svcs = {
        (c, s): i
        for c, s, i in conn.execute(
            "select c.code, s.code, s.id from carrier_services s join carriers c on c.id = s.carrier_id"
        ).fetchall()
    }
    carriers = {c for c, _ in svcs} | set(id_map(conn, "carriers"))
    err = pl.concat(
        [
            _ref(df, "warehouse", set(wh), "warehouse"),
            _ref(df, "customer", set(cust), "customer"),
            _ref(df, "order_id", set(orders), "order"),
            _ref(df, "carrier", carriers, "carrier"),
            _err(
                df,
                pl.col("service").is_not_null() & pl.col("carrier").is_null(),
                "carrier",
                "required with service",
            ),
            _err(
                df,
                pl.col("service").is_not_null()
                & pl.col("carrier").is_in(list(carriers))
                & ~pl.concat_str("carrier", pl.lit("\x1f"), "service").is_in(
                    [f"{c}\x1f{s}" for c, s in svcs]
                ),
                "service",
                "unknown service of this carrier",
            ),
            _err(df, pl.col("delivered_at") < pl.col("shipped_at"), "delivered_at", "before shipped_at"),
        ]
    )
    good = _drop(df, err)
    out = good.select(
        "shipment_number",
        pl.col("order_id").replace_strict(orders, default=None, return_dtype=pl.Int64).alias("order_id"),
        pl.col("warehouse").replace_strict(wh, return_dtype=pl.Int64).alias("warehouse_id"),
        pl.col("customer").replace_strict(cust, default=None, return_dtype=pl.Int64).alias("customer_id"),
        pl.Series(
            "carrier_service_id",
            [svcs.get((c, s)) for c, s in zip(good["carrier"], good["service"], strict=True)],
            dtype=pl.Int64,
        ),
        "destination_region",
        "destination_lat",
        "destination_lon",
        "tracking_number",
        pl.coalesce(
            "status",
            pl.when(pl.col("delivered_at").is_not_null())
            .then(pl.lit("delivered"))
            .otherwise(pl.lit("shipped")),
        ).alias("status"),
        pl.col("shipped_at").alias("planned_pickup_at"),
        pl.col("shipped_at").alias("picked_up_at"),
        "promised_delivery_at",
        "delivered_at",
        "weight_kg",
        "cost",
    )
    upsert_frame(conn, "shipments", out, ["shipment_number"], update=True)
    return err, good.height


def _drop(df: pl.DataFrame, err: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``df`` (which carries ``_src``) whose position is not in ``err``."""
    if err.height == 0:
        return df
    return (
        df.with_row_index("_pos")
        .join(err.select(pl.col("_i").alias("_pos")).unique(), on="_pos", how="anti")
        .drop("_pos")
    )


LOADERS: dict[str, Loader] = {
    "warehouses": _load_warehouses,
    "suppliers": _load_suppliers,
    "items": _load_items,
    "customers": _load_customers,
    "carriers": _load_carriers,
    "locations": _load_locations,
    "inventory": _load_inventory,
    "orders": _load_orders,
    "shipments": _load_shipments,
}


# ------------------------------------------------------------------------------------------------ entry point
def import_file(
    kind: str,
    path: Path | str,
    rejects_path: Path | str | None = None,
    settings: Settings | None = None,
) -> ImportResult:
    """Validate and load one CSV or Parquet file of ``kind``.

    Args:
        kind: One of :data:`KINDS`.
        path: The file (``.csv`` or ``.parquet``).
        rejects_path: Where to write rejected rows (default ``<name>.rejects.csv`` beside the input). Written only
            when something was rejected (a stale rejects file from an earlier run is removed).
        settings: Stockyard settings (default: :func:`stockyard.settings.get_settings`).

    Returns:
        Rows loaded, rows rejected, warnings and the rejects file.

    Raises:
        ValidationError: unknown kind, unreadable file, or a required column missing (nothing is loaded).
    """
    from oltp.migrate import upgrade
    from stockyard.pg import ensure_postgres

    if kind not in COLUMNS:
        raise ValidationError(
            f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}", field="kind", value=kind
        )
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"no such file: {path}", field="path", value=str(path))
    cols = COLUMNS[kind]
    try:
        raw = _read(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ValidationError(
            f"{path.name}: cannot read the file ({exc})", field="path", value=str(path)
        ) from None
    missing = [c.name for c in cols if c.required and c.name not in raw.columns]
    if missing:
        raise ValidationError(
            f"{path.name}: missing required column(s) {', '.join(missing)} for {kind}",
            field=missing[0],
            value=None,
        )
    known = {c.name for c in cols}
    warnings = [f"ignored unknown column '{c}'" for c in raw.columns if c not in known]
    typed, err = _parse(raw, cols)
    typed = typed.with_row_index("_src")
    # Duplicate business keys within the file: the first occurrence wins.
    key = [
        k
        for k in KEYS[kind]
        if k in typed.columns and (k != "line_number" or raw.get_column(k, default=None) is not None)
    ]
    if kind == "orders" and "line_number" not in raw.columns:
        key = []
    if key:
        dup = typed.with_row_index("_i").filter(
            pl.struct(key).is_duplicated() & ~pl.struct(key).is_first_distinct()
        )
        if dup.height:
            err = pl.concat(
                [
                    err,
                    dup.select(
                        pl.col("_i"),
                        pl.lit(key[0]).alias("column"),
                        pl.lit("duplicate key in file (first occurrence kept)").alias("reason"),
                        pl.col(key[0]).cast(pl.Utf8).alias("value"),
                    ),
                ]
            )
    # For orders, a bad line rejects its whole order: done in the loader; here drop rows that failed parsing.
    good = _drop(typed, err)
    uri = ensure_postgres(settings or get_settings())
    upgrade(uri)
    with psycopg.connect(uri) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('stockyard.import'))")
        if kind == "orders" and err.height:
            # Whole orders only: another line of an order with a rejected line is rejected too.
            bad = set(
                typed.join(err.select(pl.col("_i").alias("_src")).unique(), on="_src")["order_id"]
                .drop_nulls()
                .to_list()
            )
            more = good.filter(pl.col("order_id").is_in(list(bad)))
            if more.height:
                err = pl.concat(
                    [
                        err,
                        more.select(
                            pl.col("_src").cast(pl.UInt32).alias("_i"),
                            pl.lit("order_id").alias("column"),
                            pl.lit("another line of this order was rejected").alias("reason"),
                            pl.col("order_id").alias("value"),
                        ),
                    ]
                )
                good = good.filter(~pl.col("order_id").is_in(list(bad)))
        loader_err, loaded = LOADERS[kind](conn, good.drop("_src"), warnings)
        conn.commit()
    if loader_err.height:
        # Loader errors are positions within ``good``; map them back to file rows.
        src = good["_src"].to_numpy()
        loader_err = loader_err.with_columns(
            pl.Series("_i", src[loader_err["_i"].to_numpy()], dtype=pl.UInt32)
        )
        err = pl.concat([err.with_columns(pl.col("_i").cast(pl.UInt32)), loader_err])
    rejects = Path(rejects_path) if rejects_path else path.with_name(f"{path.stem}.rejects.csv")
    rejected = err["_i"].n_unique() if err.height else 0
    if err.height:
        # Row numbers are file lines for CSV (header = line 1) and 1-based rows for Parquet.
        offset = 2 if path.suffix.lower() in (".csv", ".txt", ".tsv") else 1
        out = err.sort("_i", "column").select(
            pl.lit(path.name).alias("file"),
            (pl.col("_i").cast(pl.Int64) + offset).alias("row"),
            "column",
            "reason",
            "value",
        )
        rejects.parent.mkdir(parents=True, exist_ok=True)
        out.write_csv(rejects)
    elif rejects.exists():
        rejects.unlink()
    return ImportResult(
        loaded=int(loaded),
        rejected=int(rejected),
        warnings=warnings,
        rejects_path=rejects if err.height else None,
    )
