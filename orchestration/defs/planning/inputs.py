"""Mapping marts to the optimisers' input contracts (column renames, unit conversions, aggregations).

Pure functions over Polars frames, so they are unit-tested without a warehouse; the assets read the frames
(:mod:`orchestration.defs.planning.frames`) and call these, then the ``ml.optimization`` solver. No planning logic
lives here: only which mart column feeds which solver column, and in which unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from ml.optimization.sop import SopInputs

__all__ = [
    "OPEN_ORDER_STATUSES",
    "OPEN_PO_STATUSES",
    "SopAssumptions",
    "dock_requests",
    "open_order_stops",
    "replenishment_inputs",
    "slotting_inputs",
    "sop_inputs",
]

#: Purchase-order statuses still to be received (their remaining quantity is on order).
OPEN_PO_STATUSES = ("draft", "open", "partially_received")
#: Order statuses not yet shipped: what outbound routes and loads are planned for.
OPEN_ORDER_STATUSES = ("new", "allocated", "backordered", "picking", "picked", "packed")


def replenishment_inputs(
    forecast: pl.DataFrame,
    health: pl.DataFrame,
    backorders: pl.DataFrame,
    items: pl.DataFrame,
    abc: pl.DataFrame,
    suppliers: pl.DataFrame,
    po_lines: pl.DataFrame,
    purchase_orders: pl.DataFrame,
    *,
    review_period_days: int = 7,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Frames for ``plan_replenishment(forecast, inventory, items, suppliers)``.

    Args:
        forecast: ``fct_demand_forecast`` rows (item, warehouse, date, p10, p50, p90).
        health: ``fct_inventory_health`` (item, warehouse, available).
        backorders: ``fct_backorders`` (item, warehouse, quantity_backordered).
        items: ``dim_items`` (item, supplier, unit_cost, min_order_qty, order_multiple).
        abc: ``dim_item_abc_xyz`` (item, warehouse, abc_class); an item's best class across warehouses is used.
        suppliers: ``stg_oltp__suppliers`` (code, lead_time_mean_days, lead_time_sd_days, capacity_units_per_week).
        po_lines: ``stg_oltp__purchase_order_lines`` (purchase_order_id, item_id, quantity_ordered,
            quantity_received).
        purchase_orders: ``stg_oltp__purchase_orders`` (purchase_order_id, warehouse_id, status).
        review_period_days: Ordering cycle the supplier's weekly capacity is scaled to.

    Returns:
        ``(forecast, inventory, items, suppliers)`` in the solver's contract. Items without a supplier or a
        positive unit cost cannot be bought and are left out of all four frames.
    """
    buyable = items.filter(pl.col("supplier").is_not_null() & (pl.col("unit_cost") > 0))
    classes = abc.group_by("item").agg(pl.col("abc_class").min())
    items_out = buyable.select(
        "item",
        "supplier",
        pl.col("unit_cost").cast(pl.Float64),
        pl.col("min_order_qty").cast(pl.Float64),
        pl.col("order_multiple").cast(pl.Float64),
    ).join(classes, on="item", how="left")
    items_out = items_out.with_columns(pl.col("abc_class").fill_null("C"))
    fc = forecast.filter(pl.col("item").is_in(items_out["item"].implode())).select(
        "item", "warehouse", "date", *[pl.col(c).cast(pl.Float64) for c in ("p10", "p50", "p90")]
    )
    # Open purchase orders: remaining quantity per item (by id) x warehouse (by id), mapped to codes.
    ids = items.select("item_id", "item")
    warehouses = (
        health.select("warehouse_id", "warehouse").unique() if "warehouse_id" in health.columns else None
    )
    on_order = (
        po_lines.join(
            purchase_orders.filter(pl.col("status").is_in(OPEN_PO_STATUSES)).select(
                "purchase_order_id", "warehouse_id"
            ),
            on="purchase_order_id",
        )
        .with_columns(
            (pl.col("quantity_ordered") - pl.col("quantity_received")).clip(lower_bound=0).alias("q")
        )
        .group_by("item_id", "warehouse_id")
        .agg(pl.col("q").sum().cast(pl.Float64).alias("on_order"))
        .join(ids, on="item_id")
    )
    if warehouses is not None:
        on_order = on_order.join(warehouses, on="warehouse_id").select("item", "warehouse", "on_order")
    else:
        on_order = pl.DataFrame(schema={"item": pl.Utf8, "warehouse": pl.Utf8, "on_order": pl.Float64})
    backlog = backorders.group_by("item", "warehouse").agg(
        pl.col("quantity_backordered").sum().cast(pl.Float64).alias("backorders")
    )
    inventory = (
        health.select("item", "warehouse", pl.col("available").cast(pl.Float64).clip(lower_bound=0))
        .join(on_order, on=["item", "warehouse"], how="left")
        .join(backlog, on=["item", "warehouse"], how="left")
        .with_columns(pl.col("on_order", "backorders").fill_null(0.0))
    )
    sup = suppliers.select(
        pl.col("code").alias("supplier"),
        pl.col("lead_time_mean_days").ceil().cast(pl.Int64).alias("lead_time_days"),
        pl.col("lead_time_sd_days").cast(pl.Float64).alias("lead_time_std_days"),
        (pl.col("capacity_units_per_week") * review_period_days / 7.0).alias("capacity"),
    ).filter(pl.col("supplier").is_in(items_out["supplier"].implode()))
    return fc, inventory, items_out, sup


@dataclass(frozen=True)
class SopAssumptions:
    """Cost and horizon assumptions turning marts into the S&OP model (not in any mart; set by planners).

    Attributes:
        months: Planning horizon in months (from the month after the forecast's first date).
        holding_rate: Annual holding cost as a fraction of unit cost.
        unmet_penalty_factor: Cost of a lost unit as a multiple of its list price.
        transport_cost_per_unit_km: Transfer cost per unit and km between warehouses.
        unlimited_capacity_factor: Suppliers without a capacity get this multiple of total monthly demand.
    """

    months: int = 12
    holding_rate: float = 0.25
    unmet_penalty_factor: float = 1.5
    transport_cost_per_unit_km: float = 0.002
    unlimited_capacity_factor: float = 10.0


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def sop_inputs(
    forecast: pl.DataFrame,
    items: pl.DataFrame,
    suppliers: pl.DataFrame,
    warehouses: pl.DataFrame,
    health: pl.DataFrame,
    assumptions: SopAssumptions | None = None,
) -> SopInputs:
    """The S&OP model's inputs by family x warehouse x month.

    Monthly demand is the forecast's mean daily P50 per family x warehouse times the days of each month: the
    28-day forecast is the best estimate of the run rate, and the history is too short for a yearly profile.

    Args:
        forecast: ``fct_demand_forecast`` (item, warehouse, date, p50).
        items: ``dim_items`` (item, family, supplier, unit_cost, list_price, unit_volume_m3).
        suppliers: ``stg_oltp__suppliers`` (code, lead_time_mean_days, capacity_units_per_week).
        warehouses: ``dim_warehouses`` (warehouse, lat, lon, storage_capacity_m3,
            throughput_capacity_units_per_day).
        health: ``fct_inventory_health`` (item, warehouse, on_hand) as the opening inventory.
        assumptions: Costs and horizon.

    Returns:
        :class:`~ml.optimization.sop.SopInputs` with months as ``YYYY-MM`` strings.
    """
    a = assumptions or SopAssumptions()
    start = forecast["date"].min()
    months: list[str] = []
    days: list[int] = []
    year, month = start.year, start.month
    for _ in range(a.months):
        month += 1
        if month > 12:
            year, month = year + 1, 1
        nxt = (year + (month == 12), month % 12 + 1)
        months.append(f"{year:04d}-{month:02d}")
        days.append((_date(*nxt) - _date(year, month)).days)
    fam = items.select("item", "family")
    rate = (
        forecast.join(fam, on="item")
        .group_by("family", "warehouse", "date")
        .agg(pl.col("p50").sum())
        .group_by("family", "warehouse")
        .agg(pl.col("p50").mean().alias("daily"))
    )
    calendar = pl.DataFrame({"month": months, "days": days})
    demand = rate.join(calendar, how="cross").select(
        "family", "warehouse", "month", (pl.col("daily") * pl.col("days")).alias("demand")
    )
    families = (
        items.filter(pl.col("supplier").is_not_null())
        .group_by("family")
        .agg(
            pl.col("supplier").mode().first(),
            pl.col("unit_cost").cast(pl.Float64).mean(),
            pl.col("list_price").cast(pl.Float64).mean().alias("list_price"),
            pl.col("unit_volume_m3").cast(pl.Float64).mean().alias("volume"),
        )
        .select(
            "family",
            "supplier",
            "unit_cost",
            (pl.col("unit_cost") * a.holding_rate / 12).alias("holding_cost"),
            (pl.max_horizontal("list_price", "unit_cost") * a.unmet_penalty_factor).alias("unmet_penalty"),
            "volume",
        )
    )
    demand = demand.filter(pl.col("family").is_in(families["family"].implode()))
    monthly_total = float(demand.group_by("month").agg(pl.col("demand").sum())["demand"].max() or 1.0)
    sup = suppliers.filter(pl.col("code").is_in(families["supplier"].implode())).select(
        pl.col("code").alias("supplier"),
        (pl.col("capacity_units_per_week") * 52 / 12)
        .fill_null(monthly_total * a.unlimited_capacity_factor)
        .alias("capacity"),
        (pl.col("lead_time_mean_days") / 30).round(0).cast(pl.Int64).alias("lead_time_months"),
    )
    wh = warehouses.select(
        "warehouse",
        pl.col("storage_capacity_m3").cast(pl.Float64).alias("storage_capacity"),
        (pl.col("throughput_capacity_units_per_day") * 30).cast(pl.Float64).alias("throughput_capacity"),
    )
    coords = {r["warehouse"]: (r["lat"], r["lon"]) for r in warehouses.iter_rows(named=True)}
    lanes = pl.DataFrame(
        [
            {
                "from_warehouse": x,
                "to_warehouse": y,
                "cost_per_unit": round(_haversine_km(*coords[x], *coords[y]) * a.transport_cost_per_unit_km, 4),
                "lead_time_months": 0,
            }
            for x in coords
            for y in coords
            if x != y
        ],
        schema={"from_warehouse": pl.Utf8, "to_warehouse": pl.Utf8, "cost_per_unit": pl.Float64,
                "lead_time_months": pl.Int64},
    )  # fmt: skip
    initial = (
        health.join(fam, on="item")
        .group_by("family", "warehouse")
        .agg(pl.col("on_hand").cast(pl.Float64).clip(lower_bound=0).sum().alias("inventory"))
        .filter(pl.col("family").is_in(families["family"].implode()))
    )
    return SopInputs(
        demand=demand, families=families, suppliers=sup, warehouses=wh, lanes=lanes, initial_inventory=initial
    )


def _date(year: int, month: int) -> object:
    import datetime as dt

    return dt.date(year, month, 1)


def slotting_inputs(
    items: pl.DataFrame,
    locations: pl.DataFrame,
    velocity: pl.DataFrame,
    forecast: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Items and locations for ``solve_slotting`` (call it per warehouse: an item is one row per warehouse).

    Pick frequency blends history and forecast: the trailing picks per day from ``fct_pick_velocity``, and the
    forecast's units per day divided by the item's historical units per pick; the mean of both when a forecast
    exists. The current slot is the item's most-picked pick face in that warehouse.

    Args:
        items: ``dim_items`` (item, unit_volume_m3, unit_weight_kg, temperature_class, is_hazmat).
        locations: ``dim_locations`` (location, warehouse, temperature_class, x, y, z, level, volume_capacity_m3,
            weight_capacity_kg, location_type, is_active).
        velocity: ``fct_pick_velocity`` (item, warehouse, location, pick_count, picks_per_day, units_per_day).
        forecast: Optional ``fct_demand_forecast`` (item, warehouse, p50).

    Returns:
        ``(items, locations)``; items carry ``warehouse`` and are unique per (item, warehouse).
    """
    per_item = velocity.group_by("item", "warehouse").agg(
        pl.col("picks_per_day").sum().cast(pl.Float64),
        pl.col("units_per_day").sum().cast(pl.Float64),
        pl.col("location").sort_by("pick_count", descending=True).first().alias("current_location"),
    )
    if forecast is not None and forecast.height:
        daily = forecast.group_by("item", "warehouse").agg(pl.col("p50").mean().alias("fc_units"))
        per_item = per_item.join(daily, on=["item", "warehouse"], how="left").with_columns(
            pl.when(pl.col("fc_units").is_not_null() & (pl.col("units_per_day") > 0))
            .then(
                (
                    pl.col("picks_per_day")
                    + pl.col("fc_units") * pl.col("picks_per_day") / pl.col("units_per_day")
                )
                / 2
            )
            .otherwise(pl.col("picks_per_day"))
            .alias("pick_frequency")
        )
    else:
        per_item = per_item.with_columns(pl.col("picks_per_day").alias("pick_frequency"))
    pick_faces = locations.filter(
        (pl.col("location_type") == "pick_face") & pl.col("is_active").fill_null(True)
    )
    slot_items = per_item.join(
        items.select(
            "item",
            pl.col("unit_volume_m3").cast(pl.Float64).alias("unit_volume"),
            pl.col("unit_weight_kg").cast(pl.Float64).alias("unit_weight"),
            "temperature_class",
            pl.col("is_hazmat").fill_null(False).alias("hazmat"),
        ),
        on="item",
    ).with_columns(
        # A current slot that is not a pick face of this warehouse is no slot: the solver treats it as a move.
        pl.when(pl.col("current_location").is_in(pick_faces["location"].implode()))
        .then(pl.col("current_location"))
        .alias("current_location")
    )
    locs = pick_faces.select(
        "location",
        "warehouse",
        pl.col("temperature_class").alias("zone_temperature"),
        pl.col("x").cast(pl.Float64),
        pl.col("y").cast(pl.Float64),
        pl.col("z").cast(pl.Float64),
        pl.col("level").cast(pl.Int64),
        pl.col("volume_capacity_m3").cast(pl.Float64).alias("volume_capacity"),
        pl.col("weight_capacity_kg").cast(pl.Float64).alias("weight_capacity"),
        pl.lit(True).alias("is_pick_face"),
        (pl.col("temperature_class") == "hazmat").alias("hazmat_allowed"),
    )
    return (
        slot_items.select(
            "item", "warehouse", "pick_frequency", "unit_volume", "unit_weight", "temperature_class", "hazmat",
            "current_location",
        ),
        locs,
    )  # fmt: skip


def open_order_stops(
    orders: pl.DataFrame, order_lines: pl.DataFrame, items: pl.DataFrame, customers: pl.DataFrame
) -> pl.DataFrame:
    """Open outbound orders as stops: one row per order with its customer's coordinates, weight and volume.

    Args:
        orders: ``fct_orders`` (order_number, customer, warehouse, order_status, promised_date).
        order_lines: ``fct_order_lines`` (order_number, item, quantity_ordered, quantity_shipped,
            quantity_cancelled).
        items: ``dim_items`` (item, unit_weight_kg, unit_volume_m3).
        customers: ``dim_customers`` (customer, lat, lon).

    Returns:
        ``order_id``, ``warehouse``, ``customer``, ``lat``, ``lon``, ``units``, ``weight``, ``volume``,
        ``promised_date`` for orders in :data:`OPEN_ORDER_STATUSES` with units left to ship.
    """
    open_orders = orders.filter(pl.col("order_status").is_in(OPEN_ORDER_STATUSES)).select(
        "order_number", "customer", "warehouse", "promised_date"
    )
    remaining = (
        order_lines.join(open_orders.select("order_number"), on="order_number")
        .join(items.select("item", "unit_weight_kg", "unit_volume_m3"), on="item", how="left")
        .with_columns(
            (
                pl.col("quantity_ordered")
                - pl.col("quantity_shipped")
                - pl.col("quantity_cancelled").fill_null(0)
            )
            .clip(lower_bound=0)
            .alias("units")
        )
        .group_by("order_number")
        .agg(
            pl.col("units").sum().cast(pl.Int64),
            (pl.col("units") * pl.col("unit_weight_kg").fill_null(1.0))
            .sum()
            .cast(pl.Float64)
            .alias("weight"),
            (pl.col("units") * pl.col("unit_volume_m3").fill_null(0.001))
            .sum()
            .cast(pl.Float64)
            .alias("volume"),
        )
    )
    return (
        open_orders.join(remaining, on="order_number")
        .join(customers.select("customer", "lat", "lon"), on="customer")
        .filter(pl.col("units") > 0)
        .select(
            pl.col("order_number").alias("order_id"), "warehouse", "customer", "lat", "lon", "units", "weight",
            "volume", "promised_date",
        )
        .sort("warehouse", "order_id")
    )  # fmt: skip


def dock_requests(
    trucks: pl.DataFrame,
    purchase_orders: pl.DataFrame,
    warehouses: pl.DataFrame,
    plan_date: object,
    *,
    inbound_minutes: int = 60,
    outbound_minutes: int = 45,
    day_minutes: int = 16 * 60,
) -> pl.DataFrame:
    """Dock appointment requests for one operating day: outbound trucks of the load plan, inbound open POs.

    Outbound trucks ask for staggered starts through the day (one per ``outbound_minutes``) so the schedule
    reflects the departure wave; inbound purchase orders expected on ``plan_date`` ask for the start of the day.

    Args:
        trucks: Load plan trucks (warehouse, truck).
        purchase_orders: ``stg_oltp__purchase_orders`` (po_number, warehouse_id, status, expected_at).
        warehouses: ``dim_warehouses`` (warehouse_id, warehouse).
        plan_date: The operating day (a ``datetime.date``).
        inbound_minutes: Unloading duration of a purchase order.
        outbound_minutes: Loading duration of a truck.
        day_minutes: Length of the operating day (window end).

    Returns:
        ``appointment_id``, ``warehouse``, ``direction``, ``duration``, ``earliest_start``, ``latest_end``.
    """
    out = trucks.select(
        (pl.col("warehouse") + pl.lit("/truck-") + pl.col("truck").cast(pl.Utf8)).alias("appointment_id"),
        "warehouse",
        pl.lit("outbound").alias("direction"),
        pl.lit(outbound_minutes, dtype=pl.Int64).alias("duration"),
        ((pl.col("truck").cast(pl.Int64) * outbound_minutes) % max(day_minutes - outbound_minutes, 1)).alias(
            "earliest_start"
        ),
        pl.lit(day_minutes, dtype=pl.Int64).alias("latest_end"),
    )
    inbound = (
        purchase_orders.filter(
            pl.col("status").is_in(("open", "partially_received"))
            & (pl.col("expected_at").dt.date() == plan_date)
        )
        .join(warehouses.select("warehouse_id", "warehouse"), on="warehouse_id")
        .select(
            pl.col("po_number").alias("appointment_id"),
            "warehouse",
            pl.lit("inbound").alias("direction"),
            pl.lit(inbound_minutes, dtype=pl.Int64).alias("duration"),
            pl.lit(0, dtype=pl.Int64).alias("earliest_start"),
            pl.lit(day_minutes, dtype=pl.Int64).alias("latest_end"),
        )
    )
    return pl.concat([out, inbound], how="vertical_relaxed")
