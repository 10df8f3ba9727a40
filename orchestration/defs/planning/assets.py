"""Plan assets: each reads gold marts (and a few staging models), maps them to an ``ml.optimization`` solver's
input contract (:mod:`orchestration.defs.planning.inputs`), solves, gates and writes ``<lake_root>/gold/<name>.parquet``
with the metadata a planner looks at (row counts, previews, plots, key figures).

Solver limits are run config (``dg.Config``), so a test or an ad-hoc run can shorten them without code changes.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from orchestration.defs.gold.keys import GOLD_KEY
from orchestration.defs.planning.frames import read_gold, read_staging, write_gold
from orchestration.defs.planning.keys import (
    DOCK_KEY,
    FORECAST_KEY,
    LOAD_KEY,
    PLAN_KEYS,
    REPLENISHMENT_KEY,
    ROUTE_KEY,
    SLOTTING_KEY,
    SOP_PLAN_KEY,
    SOP_SCENARIOS_KEY,
    TRANSFERS_KEY,
)
from orchestration.quality import markdown_table
from orchestration.resources import StockyardResource

__all__ = [
    "DOCK_KEY",
    "LOAD_KEY",
    "PLAN_KEYS",
    "REPLENISHMENT_KEY",
    "ROUTE_KEY",
    "SLOTTING_KEY",
    "SOP_PLAN_KEY",
    "SOP_SCENARIOS_KEY",
    "TRANSFERS_KEY",
    "dock_schedule",
    "load_plan",
    "replenishment_plan",
    "route_plan",
    "slotting_plan",
    "sop_plan",
]


def _staging(name: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", name])


def _md(frame: pl.DataFrame, limit: int = 10) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table(frame.head(limit).to_pandas(), limit=limit))


def _round(frame: pl.DataFrame, digits: int = 2) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Float64).round(digits))


def _refuse(what: str, violations: pl.DataFrame) -> dg.Failure:
    """The failure raised instead of publishing, with the offending rows in its metadata."""
    return dg.Failure(
        description=f"{what} not published: {violations.height} violation(s), first: "
        + "; ".join(str(v) for v in violations["violation"].unique().to_list()[:3]),
        metadata={"violations": _md(violations, 20), "violation_count": violations.height},
    )


# ------------------------------------------------------------------------------------------------- replenishment
class ReplenishmentRunConfig(dg.Config):
    """Policy knobs of the replenishment plan (service levels by ABC class live in the solver's defaults)."""

    review_period_days: int = 7
    holding_rate: float = 0.25
    ordering_cost: float = 50.0


@dg.multi_asset(
    name="replenishment_plan",
    specs=[
        dg.AssetSpec(
            REPLENISHMENT_KEY,
            deps=[FORECAST_KEY, GOLD_KEY, *map(_staging, ("stg_oltp__suppliers", "stg_oltp__purchase_orders",
                                                            "stg_oltp__purchase_order_lines"))],
            group_name="replenishment",
            kinds={"parquet", "python"},
            description="Per item × warehouse: safety stock, reorder point, order-up-to, EOQ and a suggested "
            "purchase order with its reason (approve with `stockyard plan approve`).",
        ),
        dg.AssetSpec(
            TRANSFERS_KEY,
            deps=[REPLENISHMENT_KEY],
            group_name="replenishment",
            kinds={"parquet"},
            description="Suggested inter-warehouse rebalancing transfers (item, from, to, quantity, reason).",
        ),
    ],
)  # fmt: skip
def replenishment_plan(
    context: AssetExecutionContext, config: ReplenishmentRunConfig, stockyard: StockyardResource
) -> Iterator[dg.MaterializeResult]:
    """Plan purchase orders and transfers from the forecast; refuse to publish a plan over supplier capacity."""
    from ml.optimization.replenishment import ReplenishmentConfig, plan_replenishment
    from orchestration.defs.planning.gates import replenishment_violations
    from orchestration.defs.planning.inputs import replenishment_inputs

    settings = stockyard.settings()
    forecast = read_gold(settings, "fct_demand_forecast").filter(pl.col("horizon") >= 1)
    fc, inventory, items, suppliers = replenishment_inputs(
        forecast,
        read_gold(settings, "fct_inventory_health"),
        read_gold(settings, "fct_backorders"),
        read_gold(settings, "dim_items"),
        read_gold(settings, "dim_item_abc_xyz"),
        read_staging(settings, "stg_oltp__suppliers"),
        read_staging(settings, "stg_oltp__purchase_order_lines"),
        read_staging(settings, "stg_oltp__purchase_orders"),
        review_period_days=config.review_period_days,
    )
    plan_date = fc["date"].min()
    result = plan_replenishment(
        fc,
        inventory,
        items,
        suppliers,
        ReplenishmentConfig(
            review_period_days=config.review_period_days,
            holding_rate=config.holding_rate,
            ordering_cost=config.ordering_cost,
            plan_date=plan_date,
        ),
    )
    plan = result.plan.with_columns(
        pl.lit(plan_date).alias("plan_date"),
        pl.lit(str(forecast["model_version"][0]) if "model_version" in forecast.columns else None)
        .cast(pl.Utf8)
        .alias("model_version"),
        pl.lit(context.run.run_id).alias("run_id"),
    )
    violations = replenishment_violations(plan, result.supplier_load)
    if violations.height:
        raise _refuse("replenishment plan", violations)
    path = write_gold(settings, "fct_replenishment_plan", plan)
    write_gold(settings, "fct_replenishment_supplier_load", result.supplier_load)
    transfers = result.transfers.with_columns(pl.lit(plan_date).alias("plan_date"))
    transfers_path = write_gold(settings, "fct_replenishment_transfers", transfers)
    orders = plan.filter(pl.col("order_qty") > 0)
    value = float(orders.join(items.select("item", "unit_cost"), on="item").select(
        (pl.col("order_qty") * pl.col("unit_cost")).sum()
    ).item() or 0.0)  # fmt: skip
    context.log.info(
        f"{orders.height} purchase suggestion(s), {transfers.height} transfer(s) for {plan_date}"
    )
    yield dg.MaterializeResult(
        asset_key=REPLENISHMENT_KEY,
        metadata={
            "dagster/row_count": plan.height,
            "plan_date": str(plan_date),
            "suggested_orders": orders.height,
            "suggested_units": float(orders["order_qty"].sum()),
            "suggested_value": round(value, 2),
            "capacity_limited": int(plan["capacity_limited"].sum()),
            "below_reorder_point": int((plan["inventory_position"] <= plan["reorder_point"]).sum()),
            "path": dg.MetadataValue.path(str(path)),
            "suggestions": _md(
                _round(orders.sort("days_of_cover").select(
                    "item", "warehouse", "abc_class", "inventory_position", "reorder_point", "order_up_to",
                    "order_qty", "arrival_date", "days_of_cover", "reason",
                )),
                15,
            ),
            "supplier_load": _md(_round(result.supplier_load)),
        },
    )  # fmt: skip
    yield dg.MaterializeResult(
        asset_key=TRANSFERS_KEY,
        metadata={
            "dagster/row_count": transfers.height,
            "units": float(transfers["quantity"].sum()) if transfers.height else 0.0,
            "path": dg.MetadataValue.path(str(transfers_path)),
            "transfers": _md(_round(transfers)),
        },
    )


# ------------------------------------------------------------------------------------------------------ S&OP
class SopRunConfig(dg.Config):
    """Horizon, cost assumptions and solver limit of the S&OP plan and its scenarios."""

    months: int = 12
    holding_rate: float = 0.25
    unmet_penalty_factor: float = 1.5
    transport_cost_per_unit_km: float = 0.002
    capacity_loss: float = 0.3
    time_limit_s: float = 60.0


def _scenario_plot(comparison: pl.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from orchestration.plots import figure_markdown

    names = comparison["scenario"].to_list()
    figure, (cost, fill) = plt.subplots(1, 2, figsize=(10, 3.2))
    cost.barh(names, comparison["total_cost"].to_list(), color="tab:blue")
    cost.set_title("Total cost")
    cost.invert_yaxis()
    fill.barh(names, [100 * v for v in comparison["fill_rate"].to_list()], color="tab:green")
    fill.set_title("Fill rate (%)")
    fill.set_xlim(0, 100)
    fill.invert_yaxis()
    fill.set_yticklabels([])
    return figure_markdown(figure, "S&OP scenarios")


@dg.multi_asset(
    name="sop_plan",
    specs=[
        dg.AssetSpec(
            SOP_PLAN_KEY,
            deps=[FORECAST_KEY, GOLD_KEY, _staging("stg_oltp__suppliers")],
            group_name="sop",
            kinds={"parquet", "ortools"},
            description="Monthly S&OP plan by family × warehouse × month: supply, transfers, inventory, unmet "
            "demand and costs (LP minimising unmet demand, holding and transport).",
        ),
        dg.AssetSpec(
            SOP_SCENARIOS_KEY,
            deps=[SOP_PLAN_KEY],
            group_name="sop",
            kinds={"parquet"},
            description="Scenario comparison side by side: base, demand ±20%, a warehouse losing capacity, a "
            "supplier delayed one month (cost, fill rate, utilisation).",
        ),
    ],
)
def sop_plan(
    context: AssetExecutionContext, config: SopRunConfig, stockyard: StockyardResource
) -> Iterator[dg.MaterializeResult]:
    """Solve the base S&OP plan and the built-in scenarios; refuse to publish a plan over capacity."""
    from ml.optimization.sop import SopConfig, builtin_scenarios, run_scenarios
    from orchestration.defs.planning.gates import sop_violations
    from orchestration.defs.planning.inputs import SopAssumptions, sop_inputs

    settings = stockyard.settings()
    forecast = read_gold(settings, "fct_demand_forecast").filter(pl.col("horizon") >= 1)
    inputs = sop_inputs(
        forecast,
        read_gold(settings, "dim_items"),
        read_staging(settings, "stg_oltp__suppliers"),
        read_gold(settings, "dim_warehouses"),
        read_gold(settings, "fct_inventory_health"),
        SopAssumptions(
            months=config.months,
            holding_rate=config.holding_rate,
            unmet_penalty_factor=config.unmet_penalty_factor,
            transport_cost_per_unit_km=config.transport_cost_per_unit_km,
        ),
    )
    scenarios = builtin_scenarios(inputs, capacity_loss=config.capacity_loss)
    outcome = run_scenarios(inputs, scenarios, SopConfig(time_limit_s=config.time_limit_s))
    base = outcome.results["base"]
    violations = sop_violations(base.utilisation)
    if violations.height:
        raise _refuse("S&OP plan", violations)
    plan = base.plan.with_columns(pl.lit(context.run.run_id).alias("run_id"))
    path = write_gold(settings, "mart_sop_plan", plan)
    write_gold(settings, "mart_sop_utilisation", base.utilisation)
    comparison = outcome.comparison
    comparison_path = write_gold(settings, "mart_sop_scenarios", comparison)
    s = base.summary
    by_month = plan.group_by("month").agg(
        pl.col("demand", "supply", "ending_inventory", "unmet").sum()
    ).sort("month")  # fmt: skip
    from orchestration.plots import line_plot_markdown

    yield dg.MaterializeResult(
        asset_key=SOP_PLAN_KEY,
        metadata={
            "dagster/row_count": plan.height,
            "status": str(s["status"]),
            "total_cost": round(float(s["total_cost"]), 2),
            "fill_rate": round(float(s["fill_rate"]), 4),
            "unmet_units": round(float(s["unmet_units"]), 1),
            "peak_storage_utilisation": round(float(s["peak_storage_utilisation"]), 4),
            "solve_time_s": round(float(s["solve_time_s"]), 3),
            "path": dg.MetadataValue.path(str(path)),
            "plan_by_month": _md(_round(by_month), 18),
            "plan_plot": dg.MetadataValue.md(
                line_plot_markdown(
                    by_month.to_pandas(), "month", ["demand", "supply", "ending_inventory", "unmet"],
                    "S&OP base plan (all families and warehouses)", "units",
                )
            ),
        },
    )  # fmt: skip
    table = _round(comparison.select(
        "scenario", "status", "total_cost", "cost_vs_base_pct", "fill_rate", "unmet_units",
        "storage_utilisation", "throughput_utilisation", "peak_storage_utilisation",
    ), 3)  # fmt: skip
    context.log.info(f"S&OP: {comparison.height} scenario(s) solved")
    yield dg.MaterializeResult(
        asset_key=SOP_SCENARIOS_KEY,
        metadata={
            "dagster/row_count": comparison.height,
            "path": dg.MetadataValue.path(str(comparison_path)),
            "comparison": _md(table, 20),
            "comparison_plot": dg.MetadataValue.md(_scenario_plot(comparison)),
        },
    )


# -------------------------------------------------------------------------------------------------- slotting
class SlottingRunConfig(dg.Config):
    """Move budget per warehouse (None = unlimited) of the weekly re-slot."""

    move_budget: int | None = 50


@dg.asset(
    key=SLOTTING_KEY,
    deps=[GOLD_KEY, FORECAST_KEY],
    group_name="slotting",
    kinds={"parquet", "scipy"},
    description="Move list (item, from, to, expected saving) minimising picker travel under slot rules and a move "
    "budget; travel under current, ABC and optimised slotting in the metadata.",
)
def slotting_plan(
    context: AssetExecutionContext, config: SlottingRunConfig, stockyard: StockyardResource
) -> dg.MaterializeResult:
    """Re-slot each warehouse's pick faces and publish the move list."""
    from ml.optimization.slotting import SlottingConfig, solve_slotting
    from orchestration.defs.planning.inputs import slotting_inputs

    settings = stockyard.settings()
    forecast_path = settings.gold_dir / "fct_demand_forecast.parquet"
    forecast = (
        pl.read_parquet(forecast_path).filter(pl.col("horizon") >= 1) if forecast_path.exists() else None
    )
    items, locations = slotting_inputs(
        read_gold(settings, "dim_items"),
        read_gold(settings, "dim_locations"),
        read_gold(settings, "fct_pick_velocity"),
        forecast,
    )
    moves, summaries = [], []
    for warehouse in sorted(items["warehouse"].unique().to_list()):
        result = solve_slotting(
            items.filter(pl.col("warehouse") == warehouse),
            locations.filter(pl.col("warehouse") == warehouse),
            SlottingConfig(move_budget=config.move_budget),
        )
        moves.append(result.moves)
        s = result.summary
        summaries.append({
            "warehouse": warehouse, "items": s["items"], "moves": s["moves"],
            "travel_current": s["travel_current"], "travel_abc": s["travel_abc"],
            "travel_optimised": s["travel_optimised"], "saving_vs_current_pct": s["saving_vs_current_pct"],
            "saving_vs_abc_pct": s["saving_vs_abc_pct"], "solve_time_s": s["solve_time_s"],
        })  # fmt: skip
    plan = pl.concat(moves, how="vertical_relaxed") if moves else pl.DataFrame()
    plan = plan.with_columns(pl.lit(context.run.run_id).alias("run_id")) if plan.height else plan
    path = write_gold(settings, "fct_slotting_plan", plan)
    summary = pl.DataFrame(summaries)
    totals = (
        summary.select(pl.col("travel_current", "travel_abc", "travel_optimised").sum())
        if summaries
        else None
    )
    metadata: dict[str, Any] = {
        "dagster/row_count": plan.height,
        "path": dg.MetadataValue.path(str(path)),
        "travel_by_warehouse": _md(_round(summary), 20),
        "moves": _md(_round(plan.drop("run_id", strict=False)), 15),
    }
    if totals is not None and totals.height:
        current, abc, optimised = (
            float(totals[c][0]) for c in ("travel_current", "travel_abc", "travel_optimised")
        )
        metadata.update({
            "travel_current": round(current, 2), "travel_abc": round(abc, 2), "travel_optimised": round(optimised, 2),
            "saving_vs_current_pct": round(100 * (1 - optimised / current), 2) if current else 0.0,
            "saving_vs_abc_pct": round(100 * (1 - optimised / abc), 2) if abc else 0.0,
        })  # fmt: skip
    return dg.MaterializeResult(metadata=metadata)


# ------------------------------------------------------------------------------------- routes, loads, docks
class TransportRunConfig(dg.Config):
    """Fleet and time settings of the daily outbound plan (routes, loads, docks)."""

    van_capacity_kg: int = 1500
    speed_kmh: float = 50.0
    shift_hours: float = 10.0
    service_minutes: float = 10.0
    max_stops_per_warehouse: int = 150
    route_time_limit_s: float = 2.0
    truck_max_weight_kg: float = 24_000.0
    truck_max_volume_m3: float = 80.0
    load_time_limit_s: float = 2.0
    dock_time_limit_s: float = 2.0


def _operating_day(settings: Any) -> dt.date:
    """The day plans are made for: the day after the last day of demand history."""
    last = read_gold(settings, "fct_demand_daily", ["date"])["date"].max()
    return last + dt.timedelta(days=1)


def _stops(settings: Any) -> pl.DataFrame:
    from orchestration.defs.planning.inputs import open_order_stops

    return open_order_stops(
        read_gold(settings, "fct_orders"),
        read_gold(settings, "fct_order_lines"),
        read_gold(settings, "dim_items"),
        read_gold(settings, "dim_customers"),
    )


@dg.asset(
    key=ROUTE_KEY,
    deps=[GOLD_KEY],
    group_name="transport",
    kinds={"parquet", "pyvrp"},
    description="Daily outbound van routes per warehouse (capacitated VRP with a shift window) over open orders "
    "at their customers' coordinates.",
)
def route_plan(
    context: AssetExecutionContext, config: TransportRunConfig, stockyard: StockyardResource
) -> dg.MaterializeResult:
    """Route each warehouse's open orders that fit a van; orders heavier than a van go by truck (load plan)."""
    from ml.optimization.routing import RoutingProblem, build_distance_matrix, solve_routes

    settings = stockyard.settings()
    stops = _stops(settings)
    warehouses = read_gold(settings, "dim_warehouses")
    metres_per_minute = config.speed_kmh * 1000 / 60
    shift = int(config.shift_hours * 60 * metres_per_minute)
    service = int(config.service_minutes * metres_per_minute)
    rows, summary = [], []
    for wh in warehouses.sort("warehouse").iter_rows(named=True):
        vans = (
            stops.filter(
                (pl.col("warehouse") == wh["warehouse"]) & (pl.col("weight") <= config.van_capacity_kg)
            )
            .sort("promised_date", "order_id", nulls_last=True)
            .head(config.max_stops_per_warehouse)
        )
        coords = [[wh["lat"], wh["lon"]], *vans.select("lat", "lon").rows()]
        matrix = build_distance_matrix(coords, metric="haversine") if vans.height else None
        # Stops a van cannot reach and return from within a shift are not routable by van; they are reported.
        reachable = [
            i
            for i in range(1, len(coords))
            if matrix is not None and matrix[0][i] + matrix[i][0] + service <= shift
        ]
        unroutable = vans.height - len(reachable)
        if not reachable:
            summary.append({"warehouse": wh["warehouse"], "stops": 0, "routes": 0, "distance_km": 0.0,
                            "unroutable": unroutable, "feasible": True})  # fmt: skip
            continue
        nodes = [0, *reachable]
        sub = [[int(matrix[a][b]) for b in nodes] for a in nodes]
        kept = vans[[i - 1 for i in reachable]]
        demands = [0, *[max(1, int(round(w))) for w in kept["weight"].to_list()]]
        solution = solve_routes(
            RoutingProblem(
                demands=demands,
                vehicle_capacity=config.van_capacity_kg,
                distance_matrix=sub,
                time_windows=[[0, shift]] * len(nodes),
                service_times=[0, *[service] * kept.height],
                time_limit_s=config.route_time_limit_s,
            )
        )
        # Route nodes are positions in ``nodes``: node n is the (n-1)-th kept order.
        lookup = kept.select("order_id", "customer").with_row_index("node", offset=1)
        frame = (
            solution.to_frame()
            .join(lookup.with_columns(pl.col("node").cast(pl.Int64)), on="node", how="left")
            .with_columns(
                pl.lit(wh["warehouse"]).alias("warehouse"),
                (pl.col("route_distance") / 1000).alias("route_km"),
            )
        )
        rows.append(frame)
        summary.append({"warehouse": wh["warehouse"], "stops": kept.height, "routes": len(solution.routes),
                        "distance_km": solution.total_distance / 1000, "unroutable": unroutable,
                        "feasible": solution.feasible})  # fmt: skip
    plan = (
        pl.concat(rows, how="vertical_relaxed")
        if rows
        else pl.DataFrame(
            schema={"warehouse": pl.Utf8, "route": pl.Int64, "stop": pl.Int64, "order_id": pl.Utf8}
        )
    )
    plan = plan.with_columns(
        pl.lit(_operating_day(settings)).alias("plan_date"), pl.lit(context.run.run_id).alias("run_id")
    )
    infeasible = [s["warehouse"] for s in summary if not s["feasible"]]
    if infeasible:
        raise dg.Failure(
            description=f"route plan not published: infeasible routes for {', '.join(infeasible)}"
        )
    path = write_gold(settings, "fct_route_plan", plan)
    table = pl.DataFrame(summary)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": plan.height,
            "routes": int(table["routes"].sum()),
            "total_km": round(float(table["distance_km"].sum()), 1),
            "by_warehouse": _md(_round(table)),
            "preview": _md(
                plan.select("warehouse", "route", "stop", "order_id", "customer", "route_load", "route_km")
            ),
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    key=LOAD_KEY,
    deps=[GOLD_KEY],
    group_name="transport",
    kinds={"parquet", "ortools"},
    description="Open orders packed into trucks by weight and volume, per warehouse (fewest trucks).",
)
def load_plan(
    context: AssetExecutionContext, config: TransportRunConfig, stockyard: StockyardResource
) -> dg.MaterializeResult:
    """Build truck loads per warehouse from the open orders."""
    from ml.optimization.loads import LoadConfig, build_loads

    settings = stockyard.settings()
    stops = _stops(settings)
    parts, trucks = [], []
    cfg = LoadConfig(
        max_weight=config.truck_max_weight_kg, max_volume=config.truck_max_volume_m3,
        time_limit_s=config.load_time_limit_s,
    )  # fmt: skip
    for warehouse in sorted(stops["warehouse"].unique().to_list()):
        orders = stops.filter(pl.col("warehouse") == warehouse)
        result = build_loads(orders.select("order_id", "weight", "volume"), cfg)
        parts.append(
            result.assignment.join(orders.select("order_id", "customer"), on="order_id").with_columns(
                pl.lit(warehouse).alias("warehouse")
            )
        )
        trucks.append(result.trucks.with_columns(pl.lit(warehouse).alias("warehouse")))
    plan = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame(
        schema={"order_id": pl.Utf8, "truck": pl.Int64, "weight": pl.Float64, "volume": pl.Float64,
                "customer": pl.Utf8, "warehouse": pl.Utf8}
    )  # fmt: skip
    plan = plan.with_columns(pl.lit(context.run.run_id).alias("run_id"))
    truck_table = pl.concat(trucks, how="vertical_relaxed") if trucks else pl.DataFrame()
    over = (
        truck_table.filter(
            (pl.col("weight") > config.truck_max_weight_kg + 1e-6)
            | (pl.col("volume") > config.truck_max_volume_m3 + 1e-6)
        )
        if truck_table.height
        else truck_table
    )
    if over.height:
        raise dg.Failure(description=f"load plan not published: {over.height} truck(s) over capacity")
    path = write_gold(settings, "fct_load_plan", plan)
    write_gold(settings, "fct_load_trucks", truck_table)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": plan.height,
            "trucks": truck_table.height,
            "mean_weight_utilisation": round(float(truck_table["weight_utilisation"].mean()), 3)
            if truck_table.height
            else 0.0,
            "trucks_table": _md(_round(truck_table, 3), 15),
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    key=DOCK_KEY,
    deps=[LOAD_KEY, GOLD_KEY, _staging("stg_oltp__purchase_orders"), _staging("stg_oltp__dock_doors")],
    group_name="transport",
    kinds={"parquet", "ortools"},
    description="Tomorrow's dock schedule per warehouse: outbound trucks of the load plan and inbound purchase "
    "orders on compatible doors without overlap (CP-SAT).",
)
def dock_schedule(
    context: AssetExecutionContext, config: TransportRunConfig, stockyard: StockyardResource
) -> dg.MaterializeResult:
    """Schedule the day's dock appointments per warehouse."""
    from ml.optimization.docks import DockConfig, schedule_docks
    from orchestration.defs.planning.inputs import dock_requests

    settings = stockyard.settings()
    warehouses = read_gold(settings, "dim_warehouses")
    trucks = read_gold(settings, "fct_load_trucks")
    purchase_orders = read_staging(settings, "stg_oltp__purchase_orders")
    plan_date = _operating_day(settings)
    requests = dock_requests(
        trucks if trucks.height else pl.DataFrame(schema={"warehouse": pl.Utf8, "truck": pl.Int64}),
        purchase_orders,
        warehouses,
        plan_date,
    )
    doors = read_staging(settings, "stg_oltp__dock_doors").join(
        warehouses.select("warehouse_id", "warehouse"), on="warehouse_id"
    )
    parts, summary = [], []
    for warehouse in sorted(requests["warehouse"].unique().to_list()):
        apps = requests.filter(pl.col("warehouse") == warehouse).drop("warehouse")
        wh_doors = doors.filter(pl.col("warehouse") == warehouse).select(
            pl.col("code").alias("door"),
            pl.col("door_type").alias("kind"),
            pl.col("is_reefer").alias("reefer"),
        )
        result = schedule_docks(apps, wh_doors, DockConfig(time_limit_s=config.dock_time_limit_s))
        parts.append(result.schedule.with_columns(pl.lit(warehouse).alias("warehouse")))
        summary.append({"warehouse": warehouse, "appointments": apps.height, **{
            k: result.summary[k] for k in ("status", "makespan", "total_lateness")}})  # fmt: skip
    schedule = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
    if schedule.height:
        start = dt.datetime.combine(plan_date, dt.time(6, 0))
        schedule = schedule.with_columns(
            (pl.lit(start) + pl.duration(minutes=pl.col("start"))).alias("starts_at"),
            (pl.lit(start) + pl.duration(minutes=pl.col("end"))).alias("ends_at"),
            pl.lit(plan_date).alias("plan_date"),
            pl.lit(context.run.run_id).alias("run_id"),
        )
    path = write_gold(settings, "fct_dock_schedule", schedule)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": schedule.height,
            "plan_date": str(plan_date),
            "by_warehouse": _md(pl.DataFrame(summary)),
            "preview": _md(schedule.drop("run_id", strict=False), 15),
            "path": dg.MetadataValue.path(str(path)),
        }
    )
