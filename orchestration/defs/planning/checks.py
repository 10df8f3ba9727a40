"""Blocking checks on the published plans: a plan over capacity stops what reads it and shows the offending rows.

The plan assets already refuse to write a violating plan (:mod:`orchestration.defs.planning.gates`); these checks
run the same gates on what is in gold, so the verdict is visible in the UI on every materialisation.
"""

from typing import Any

import dagster as dg
import polars as pl

from orchestration.defs.planning.keys import FORECAST_KEY, REPLENISHMENT_KEY, SOP_PLAN_KEY
from orchestration.quality import markdown_table
from orchestration.resources import StockyardResource

__all__ = ["forecast_quantiles", "plan_checks", "replenishment_capacity", "sop_capacity"]


def _result(violations: pl.DataFrame, rows: int, what: str) -> dg.AssetCheckResult:
    metadata: dict[str, Any] = {"rows": rows, "violations": violations.height}
    if violations.height:
        metadata["failing_rows_sample"] = dg.MetadataValue.md(
            markdown_table(violations.head(20).to_pandas(), 20)
        )
    return dg.AssetCheckResult(
        passed=violations.height == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=f"{what}: {violations.height} violation(s) in {rows} row(s)",
    )


@dg.asset_check(
    asset=FORECAST_KEY,
    name="quantiles_valid",
    blocking=True,
    description="Every forecast row has 0 ≤ p10 ≤ p50 ≤ p90 (no plan is made on a broken interval).",
)
def forecast_quantiles(stockyard: StockyardResource) -> dg.AssetCheckResult:
    """Run the quantile gate on the published forecast."""
    from orchestration.defs.planning.gates import quantile_violations

    forecast = pl.read_parquet(stockyard.settings().gold_dir / "fct_demand_forecast.parquet")
    return _result(quantile_violations(forecast), forecast.height, "quantiles")


@dg.asset_check(
    asset=REPLENISHMENT_KEY,
    name="within_supplier_capacity",
    blocking=True,
    description="Purchase suggestions stay within each supplier's capacity; no negative quantities.",
)
def replenishment_capacity(stockyard: StockyardResource) -> dg.AssetCheckResult:
    """Run the replenishment gate on the published plan."""
    from orchestration.defs.planning.gates import replenishment_violations

    gold = stockyard.settings().gold_dir
    plan = pl.read_parquet(gold / "fct_replenishment_plan.parquet")
    load = pl.read_parquet(gold / "fct_replenishment_supplier_load.parquet")
    return _result(replenishment_violations(plan, load), plan.height, "supplier capacity")


@dg.asset_check(
    asset=SOP_PLAN_KEY,
    name="within_warehouse_capacity",
    blocking=True,
    description="The S&OP plan uses no more storage or throughput than each warehouse has, every month.",
)
def sop_capacity(stockyard: StockyardResource) -> dg.AssetCheckResult:
    """Run the S&OP capacity gate on the published utilisation."""
    from orchestration.defs.planning.gates import sop_violations

    utilisation = pl.read_parquet(stockyard.settings().gold_dir / "mart_sop_utilisation.parquet")
    return _result(sop_violations(utilisation), utilisation.height, "warehouse capacity")


plan_checks = [forecast_quantiles, replenishment_capacity, sop_capacity]
