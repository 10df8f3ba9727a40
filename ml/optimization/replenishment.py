"""Replenishment planning per item x warehouse: safety stock, reorder point, EOQ, purchase orders
and inter-warehouse rebalancing.

Policy: continuous review (s, S). For each item x warehouse:

* ``daily_demand`` = mean of the daily P50 forecast; lead-time demand ``mu_L`` = sum of the P50
  over the first ``lead_time_days`` forecast days (``daily_demand`` per day past the horizon).
* Demand spread from the forecast quantiles: daily ``sigma_d = (P90 - P10) / (2 * 1.2816)`` (the
  normal z of 0.9), aggregated over independent days ``sigma_L = sqrt(sum sigma_d^2)``, plus
  lead-time variability ``daily_demand^2 * lead_time_std_days^2`` when a supplier gives one.
* ``safety_stock = z(service) * sigma_L`` with the service level chosen by ABC class (config).
* ``reorder_point s = mu_L + safety_stock``.
* ``EOQ = sqrt(2 * annual_demand * ordering_cost / (holding_rate * unit_cost))``.
* ``order_up_to S = s + max(EOQ, daily_demand * review_period_days)``.

Rebalancing comes first (it is faster and cheaper than buying): a warehouse whose inventory
position is below its reorder point receives stock from warehouses of the same item holding more
than their order-up-to level (never below it), largest surplus first. Purchase orders then cover
the remaining gap ``S - position`` at warehouses still at or below ``s``, rounded up to the
minimum order quantity and order multiple. When a supplier's capacity cannot cover every order,
orders are served by priority (ABC class, then fewest days of cover) and the cut is stated in
``reason``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "ReplenishmentConfig",
    "ReplenishmentPlan",
    "plan_replenishment",
    "round_order_quantity",
]

_Z90 = NormalDist().inv_cdf(0.9)


@dataclass(frozen=True)
class ReplenishmentConfig:
    """Policy parameters for :func:`plan_replenishment`.

    Attributes:
        service_levels: Cycle service level per ABC class.
        default_service_level: Used for classes not in ``service_levels``.
        holding_rate: Annual holding cost as a fraction of unit cost.
        ordering_cost: Fixed cost per purchase order when the supplier gives none.
        review_period_days: Minimum order cycle; ``S - s >= daily_demand * review_period_days``.
        abc_cutoffs: Cumulative share of annual demand value bounding classes A and B when the
            items frame has no ``abc_class``.
        min_transfer_qty: Smallest transfer worth moving.
        plan_date: Date of the plan; arrival dates are ``plan_date + lead time``.
    """

    service_levels: Mapping[str, float] = field(default_factory=lambda: {"A": 0.98, "B": 0.95, "C": 0.90})
    default_service_level: float = 0.95
    holding_rate: float = 0.25
    ordering_cost: float = 50.0
    review_period_days: int = 7
    abc_cutoffs: tuple[float, float] = (0.8, 0.95)
    min_transfer_qty: float = 1.0
    plan_date: date | None = None


@dataclass
class ReplenishmentPlan:
    """Output of :func:`plan_replenishment`.

    Attributes:
        plan: One row per item x warehouse (see :func:`plan_replenishment` for columns).
        transfers: One row per suggested transfer: ``item`` (Utf8), ``from_warehouse`` (Utf8),
            ``to_warehouse`` (Utf8), ``quantity`` (Float64), ``reason`` (Utf8).
        supplier_load: One row per supplier: ``supplier``, ``requested`` (Float64, units before
            the capacity check), ``allocated`` (Float64), ``capacity`` (Float64, null =
            unlimited), ``binding`` (Boolean).
    """

    plan: pl.DataFrame
    transfers: pl.DataFrame
    supplier_load: pl.DataFrame


def round_order_quantity(qty: float, moq: float, multiple: float) -> float:
    """Smallest valid order quantity covering ``qty``.

    Args:
        qty: Units needed (> 0).
        moq: Minimum order quantity (0 = none).
        multiple: Order multiple (pack size; <= 0 = none).

    Returns:
        ``max(qty, moq)`` rounded up to a multiple of ``multiple``; 0 when ``qty <= 0``.
    """
    if qty <= 0:
        return 0.0
    q = max(qty, moq)
    if multiple and multiple > 0:
        q = math.ceil(q / multiple - 1e-9) * multiple
        if q < moq:  # MOQ not itself a multiple: the next multiple above it
            q = math.ceil(moq / multiple - 1e-9) * multiple
    return float(q)


def _require(frame: pl.DataFrame, cols: tuple[str, ...], name: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def _abc(value: np.ndarray, cutoffs: tuple[float, float]) -> np.ndarray:
    order = np.argsort(-value, kind="stable")
    total = value.sum()
    before = np.concatenate([[0.0], np.cumsum(value[order])[:-1]]) / (total if total > 0 else 1.0)
    cls = np.where(before < cutoffs[0], "A", np.where(before < cutoffs[1], "B", "C"))
    out = np.empty(value.size, dtype="<U1")
    out[order] = cls
    return out


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def plan_replenishment(
    forecast: pl.DataFrame,
    inventory: pl.DataFrame,
    items: pl.DataFrame,
    suppliers: pl.DataFrame,
    config: ReplenishmentConfig | None = None,
) -> ReplenishmentPlan:
    """Compute stock targets, purchase orders and transfers for every item x warehouse.

    Args:
        forecast: Daily demand forecast: ``item`` (Utf8), ``warehouse`` (Utf8), ``date`` (Date),
            ``p10``, ``p50``, ``p90`` (Float64, units/day, ``p10 <= p50 <= p90``). Rows are
            read in date order from the first date (the plan date).
        inventory: ``item``, ``warehouse``, ``available`` (Float64, on hand net of
            reservations); optional ``on_order`` (open purchase orders) and ``backorders``.
            Pairs present in the forecast but not here start at zero.
        items: ``item``, ``supplier`` (Utf8), ``unit_cost`` (Float64 > 0); optional
            ``abc_class`` (A/B/C; derived from annual demand value when absent),
            ``min_order_qty``, ``order_multiple`` (Float64), ``lead_time_days`` (Int64,
            overrides the supplier's).
        suppliers: ``supplier``, ``lead_time_days`` (Int64 >= 0); optional ``lead_time_std_days``,
            ``capacity`` (Float64 units per ordering cycle, null = unlimited), ``ordering_cost``.
        config: Policy parameters.

    Returns:
        A :class:`ReplenishmentPlan`. ``plan`` columns: ``item``, ``warehouse``, ``supplier``,
        ``abc_class``, ``service_level``, ``lead_time_days``, ``daily_demand``,
        ``lead_time_demand``, ``sigma_lead_time``, ``safety_stock``, ``reorder_point``, ``eoq``,
        ``order_up_to``, ``available``, ``on_order``, ``backorders``, ``inventory_position``,
        ``transfer_in``, ``transfer_out``, ``position_after_transfers``, ``suggested_qty`` (before
        supplier capacity), ``order_qty``, ``capacity_limited`` (Boolean), ``arrival_date``
        (Date, null without an order), ``days_of_cover`` and ``reason`` (Utf8: why an order,
        transfer or nothing).

    Raises:
        ValueError: Missing columns, negative quantities, quantiles out of order, unknown
            suppliers or items without a master row.
    """
    cfg = config or ReplenishmentConfig()
    _require(forecast, ("item", "warehouse", "date", "p10", "p50", "p90"), "forecast")
    _require(inventory, ("item", "warehouse", "available"), "inventory")
    _require(items, ("item", "supplier", "unit_cost"), "items")
    _require(suppliers, ("supplier", "lead_time_days"), "suppliers")
    for col in ("p10", "p50", "p90"):
        if forecast[col].null_count() or (forecast[col] < 0).any():
            raise ValueError(f"forecast: '{col}' must be non-negative and not null")
    if ((forecast["p10"] > forecast["p50"] + 1e-9) | (forecast["p50"] > forecast["p90"] + 1e-9)).any():
        bad = forecast.filter((pl.col("p10") > pl.col("p50")) | (pl.col("p50") > pl.col("p90"))).row(
            0, named=True
        )
        raise ValueError(
            f"forecast: quantiles out of order (p10 <= p50 <= p90) for item {bad['item']} on {bad['date']}"
        )
    if (items["unit_cost"] <= 0).any():
        raise ValueError("items: 'unit_cost' must be > 0")
    if (suppliers["lead_time_days"] < 0).any():
        raise ValueError("suppliers: 'lead_time_days' must be >= 0")
    for col in ("available", "on_order", "backorders"):
        if col in inventory.columns and (inventory[col] < 0).any():
            raise ValueError(f"inventory: '{col}' must be non-negative")

    it = items
    for col, default in (("min_order_qty", 0.0), ("order_multiple", 1.0)):
        if col not in it.columns:
            it = it.with_columns(pl.lit(default).alias(col))
    sup = suppliers
    sup_defaults: tuple[tuple[str, float | None], ...] = (
        ("lead_time_std_days", 0.0),
        ("capacity", None),
        ("ordering_cost", cfg.ordering_cost),
    )
    for sup_col, sup_default in sup_defaults:
        if sup_col not in sup.columns:
            sup = sup.with_columns(pl.lit(sup_default, dtype=pl.Float64).alias(sup_col))
    unknown = set(it["supplier"].to_list()) - set(sup["supplier"].to_list())
    if unknown:
        raise ValueError(f"items: supplier {sorted(unknown)[0]!r} is not in suppliers")
    it = it.join(sup.rename({"lead_time_days": "supplier_lead_time"}), on="supplier", how="left")
    lt_expr = pl.col("supplier_lead_time")
    if "lead_time_days" in it.columns:
        lt_expr = pl.coalesce(pl.col("lead_time_days"), lt_expr)
    it = it.with_columns(lt_expr.cast(pl.Int64).alias("lead_time_days"))

    inv = inventory
    for col in ("on_order", "backorders"):
        if col not in inv.columns:
            inv = inv.with_columns(pl.lit(0.0).alias(col))

    # ---- lead-time demand and spread, vectorised per item x warehouse
    fc = forecast.sort("item", "warehouse", "date").with_columns(
        pl.int_range(pl.len()).over("item", "warehouse").alias("day"),
        ((pl.col("p90") - pl.col("p10")) / (2 * _Z90)).alias("sigma_d"),
    )
    missing_items = set(fc["item"].unique().to_list()) - set(it["item"].to_list())
    if missing_items:
        raise ValueError(f"items: no master row for forecast item {sorted(missing_items)[0]!r}")
    fc = fc.join(it.select("item", "lead_time_days"), on="item", how="left")
    base = fc.group_by("item", "warehouse").agg(
        pl.col("p50").mean().alias("daily_demand"),
        pl.col("p50").filter(pl.col("day") < pl.col("lead_time_days")).sum().alias("_mu_in"),
        (pl.col("sigma_d") ** 2).filter(pl.col("day") < pl.col("lead_time_days")).sum().alias("_var_in"),
        (pl.col("sigma_d") ** 2).mean().alias("_var_day"),
        pl.len().alias("_days"),
        pl.col("date").min().alias("_first_date"),
    )
    df = base.join(
        it.select(
            "item",
            "supplier",
            "unit_cost",
            "min_order_qty",
            "order_multiple",
            "lead_time_days",
            "lead_time_std_days",
            "capacity",
            "ordering_cost",
            *([c for c in ("abc_class",) if c in it.columns]),
        ),
        on="item",
        how="left",
    )
    extra_days = (pl.col("lead_time_days") - pl.col("_days")).clip(lower_bound=0)
    df = df.with_columns(
        (pl.col("_mu_in") + extra_days * pl.col("daily_demand")).alias("lead_time_demand"),
        (
            pl.col("_var_in")
            + extra_days * pl.col("_var_day")
            + pl.col("daily_demand") ** 2 * pl.col("lead_time_std_days").fill_null(0.0) ** 2
        )
        .sqrt()
        .alias("sigma_lead_time"),
        (pl.col("daily_demand") * 365.0).alias("annual_demand"),
    )
    if "abc_class" not in df.columns:
        # Class by the item's total value across warehouses, so all its rows share one class.
        per_item = df.group_by("item").agg((pl.col("annual_demand") * pl.col("unit_cost")).sum().alias("v"))
        cls = _abc(per_item["v"].to_numpy(), cfg.abc_cutoffs)
        df = df.join(per_item.with_columns(pl.Series("abc_class", cls.tolist())).drop("v"), on="item")
    levels = dict(cfg.service_levels)
    df = df.with_columns(
        pl.col("abc_class")
        .replace_strict(levels, default=cfg.default_service_level, return_dtype=pl.Float64)
        .alias("service_level")
    )
    z = np.array([NormalDist().inv_cdf(min(max(s, 0.5), 0.9999)) for s in df["service_level"].to_list()])
    df = df.with_columns(pl.Series("_z", z))
    df = df.with_columns((pl.col("_z") * pl.col("sigma_lead_time")).alias("safety_stock"))
    df = df.with_columns(
        (pl.col("lead_time_demand") + pl.col("safety_stock")).alias("reorder_point"),
        (
            2
            * pl.col("annual_demand")
            * pl.col("ordering_cost").fill_null(cfg.ordering_cost)
            / (cfg.holding_rate * pl.col("unit_cost"))
        )
        .sqrt()
        .alias("eoq"),
    )
    df = df.with_columns(
        (
            pl.col("reorder_point")
            + pl.max_horizontal("eoq", pl.col("daily_demand") * cfg.review_period_days)
        ).alias("order_up_to")
    )
    df = df.join(
        inv.select("item", "warehouse", "available", "on_order", "backorders"),
        on=["item", "warehouse"],
        how="left",
    ).with_columns(pl.col("available", "on_order", "backorders").fill_null(0.0).cast(pl.Float64))
    df = df.with_columns(
        (pl.col("available") + pl.col("on_order") - pl.col("backorders")).alias("inventory_position")
    ).sort("item", "warehouse")

    rows = df.to_dicts()
    transfers = _rebalance(rows, cfg)
    _purchase(rows, cfg)
    # Every row decides the column types: arrival_date stays None until the first row that orders, which may be
    # past polars' default inference window of 100 rows.
    plan = pl.DataFrame(rows, infer_schema_length=None).select(
        "item",
        "warehouse",
        "supplier",
        "abc_class",
        "service_level",
        "lead_time_days",
        "daily_demand",
        "lead_time_demand",
        "sigma_lead_time",
        "safety_stock",
        "reorder_point",
        "eoq",
        "order_up_to",
        "available",
        "on_order",
        "backorders",
        "inventory_position",
        "transfer_in",
        "transfer_out",
        "position_after_transfers",
        "suggested_qty",
        "order_qty",
        "capacity_limited",
        "arrival_date",
        "days_of_cover",
        "reason",
    )
    plan = plan.with_columns(pl.col("arrival_date").cast(pl.Date))
    tr = pl.DataFrame(
        transfers,
        schema={
            "item": pl.Utf8,
            "from_warehouse": pl.Utf8,
            "to_warehouse": pl.Utf8,
            "quantity": pl.Float64,
            "reason": pl.Utf8,
        },
    )
    load = _supplier_load(rows, sup)
    return ReplenishmentPlan(plan=plan, transfers=tr, supplier_load=load)


def _rebalance(rows: list[dict[str, Any]], cfg: ReplenishmentConfig) -> list[dict[str, Any]]:
    for r in rows:
        r["transfer_in"] = 0.0
        r["transfer_out"] = 0.0
    by_item: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_item.setdefault(r["item"], []).append(r)
    out = []
    for item, group in by_item.items():
        short = sorted(
            (r for r in group if r["inventory_position"] < r["reorder_point"]),
            key=lambda r: r["inventory_position"] - r["reorder_point"],
        )
        for dst in short:
            need = dst["order_up_to"] - dst["inventory_position"] - dst["transfer_in"]
            donors = sorted(
                (r for r in group if r is not dst),
                key=lambda r: -(r["inventory_position"] - r["transfer_out"] - r["order_up_to"]),
            )
            for src in donors:
                if need < cfg.min_transfer_qty:
                    break
                # Only physical stock can move; the donor keeps its order-up-to level.
                surplus = min(
                    src["inventory_position"] - src["transfer_out"] - src["order_up_to"],
                    src["available"] - src["transfer_out"],
                )
                qty = math.floor(min(surplus, need))
                if qty < cfg.min_transfer_qty:
                    continue
                src["transfer_out"] += qty
                dst["transfer_in"] += qty
                need -= qty
                out.append(
                    {
                        "item": item,
                        "from_warehouse": src["warehouse"],
                        "to_warehouse": dst["warehouse"],
                        "quantity": float(qty),
                        "reason": (
                            f"{src['warehouse']} position {_fmt(src['inventory_position'])} > order-up-to "
                            f"{_fmt(src['order_up_to'])}; {dst['warehouse']} position {_fmt(dst['inventory_position'])} "
                            f"< reorder point {_fmt(dst['reorder_point'])}"
                        ),
                    }
                )
    return out


def _purchase(rows: list[dict[str, Any]], cfg: ReplenishmentConfig) -> None:
    for r in rows:
        pos = r["inventory_position"] + r["transfer_in"] - r["transfer_out"]
        r["position_after_transfers"] = pos
        r["days_of_cover"] = pos / r["daily_demand"] if r["daily_demand"] > 0 else float("inf")
        r["capacity_limited"] = False
        sl = f"service {r['service_level'] * 100:.0f}%"
        lt = f"lead time {r['lead_time_days']} d"
        if pos <= r["reorder_point"] and r["daily_demand"] > 0:
            need = r["order_up_to"] - pos
            r["suggested_qty"] = round_order_quantity(
                need, r["min_order_qty"] or 0.0, r["order_multiple"] or 0.0
            )
            r["reason"] = (
                f"position {_fmt(pos)} <= reorder point {_fmt(r['reorder_point'])} ({lt}, {sl}); order "
                f"{_fmt(r['suggested_qty'])} to reach order-up-to {_fmt(r['order_up_to'])}"
            )
            if r["suggested_qty"] > need + 1e-9:
                r["reason"] += (
                    f" (rounded from {_fmt(need)} for MOQ {_fmt(r['min_order_qty'] or 0)} / multiple "
                    f"{_fmt(r['order_multiple'] or 0)})"
                )
        else:
            r["suggested_qty"] = 0.0
            r["reason"] = (
                f"no order: position {_fmt(pos)} > reorder point {_fmt(r['reorder_point'])} ({lt}, {sl})"
                if r["daily_demand"] > 0
                else "no order: no forecast demand"
            )
        if r["transfer_in"]:
            r["reason"] = f"receives {_fmt(r['transfer_in'])} by transfer; " + r["reason"]
        if r["transfer_out"]:
            r["reason"] = f"sends {_fmt(r['transfer_out'])} by transfer; " + r["reason"]
        r["order_qty"] = r["suggested_qty"]

    # Supplier capacity: serve by ABC class, then fewest days of cover.
    by_sup: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["suggested_qty"] > 0:
            by_sup.setdefault(r["supplier"], []).append(r)
    for supplier, orders in by_sup.items():
        cap = orders[0]["capacity"]
        if cap is None or (isinstance(cap, float) and math.isnan(cap)):
            continue
        total = sum(r["suggested_qty"] for r in orders)
        if total <= cap + 1e-9:
            continue
        remaining = float(cap)
        for rank, r in enumerate(
            sorted(orders, key=lambda r: (r["abc_class"], r["days_of_cover"], r["item"])), 1
        ):
            want = r["suggested_qty"]
            mult = r["order_multiple"] or 0.0
            give = min(want, remaining)
            if mult > 0:
                give = math.floor(give / mult + 1e-9) * mult
            if give < (r["min_order_qty"] or 0.0):
                give = 0.0
            r["order_qty"] = float(give)
            remaining -= give
            if give < want:
                r["capacity_limited"] = True
                r["reason"] += (
                    f"; supplier {supplier} capacity {_fmt(cap)} < requested {_fmt(total)}: allocated {_fmt(give)} of "
                    f"{_fmt(want)} (priority {rank} of {len(orders)}: class {r['abc_class']}, "
                    f"{r['days_of_cover']:.1f} days of cover)"
                )
    for r in rows:
        start = r["_first_date"] if cfg.plan_date is None else cfg.plan_date
        r["arrival_date"] = start + timedelta(days=int(r["lead_time_days"])) if r["order_qty"] > 0 else None


def _supplier_load(rows: list[dict[str, Any]], sup: pl.DataFrame) -> pl.DataFrame:
    agg: dict[str, list[float]] = {}
    for r in rows:
        a = agg.setdefault(r["supplier"], [0.0, 0.0])
        a[0] += r["suggested_qty"]
        a[1] += r["order_qty"]
    cap = dict(zip(sup["supplier"].to_list(), sup["capacity"].to_list(), strict=True))
    recs = [
        {
            "supplier": s,
            "requested": v[0],
            "allocated": v[1],
            "capacity": cap.get(s),
            "binding": v[1] < v[0] - 1e-9,
        }
        for s, v in sorted(agg.items())
    ]
    return pl.DataFrame(
        recs,
        schema={
            "supplier": pl.Utf8,
            "requested": pl.Float64,
            "allocated": pl.Float64,
            "capacity": pl.Float64,
            "binding": pl.Boolean,
        },
    )
