"""``marts/gold_parquet``: every mart published as ``<lake_root>/gold/<mart>.parquet`` for BI, Feast and ML.

It depends on every mart, so a failed blocking check on any key mart (or on the bronze below it) keeps the last good
Parquet in place instead of publishing bad data. Metadata: per-mart row counts, a preview of the daily demand and
plots of demand, inventory and OTIF a planner would look at first.
"""

from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.dbt.assets import stockyard_dbt_assets
from orchestration.defs.gold.keys import GOLD_KEY
from orchestration.quality import markdown_table
from orchestration.resources import StockyardResource

__all__ = ["GOLD_KEY", "MART_KEYS", "gold_parquet"]

MART_KEYS = sorted(k for k in stockyard_dbt_assets.keys if k.path[0] == "marts")


def _plots(settings: Any, names: set[str]) -> dict[str, Any]:
    import polars as pl

    from orchestration.plots import line_plot_markdown

    gold = settings.gold_dir
    plots: dict[str, Any] = {}
    if "fct_demand_daily" in names:
        demand = (
            pl.read_parquet(gold / "fct_demand_daily.parquet", columns=["date", "quantity", "is_stockout"])
            .group_by("date")
            .agg(pl.col("quantity").sum(), pl.col("is_stockout").cast(pl.Int64).sum().alias("stockouts"))
            .sort("date")
            .to_pandas()
        )
        plots["demand_plot"] = dg.MetadataValue.md(
            line_plot_markdown(demand, "date", ["quantity"], "Units demanded per day (all items)", "units")
        )
        plots["demand_preview"] = dg.MetadataValue.md(markdown_table(demand.tail(10)))
    if "fct_inventory_daily" in names:
        inventory = (
            pl.read_parquet(
                gold / "fct_inventory_daily.parquet", columns=["inventory_date", "on_hand", "available"]
            )
            .group_by("inventory_date")
            .agg(pl.col("on_hand").sum(), pl.col("available").sum())
            .sort("inventory_date")
            .to_pandas()
        )
        plots["inventory_plot"] = dg.MetadataValue.md(
            line_plot_markdown(
                inventory, "inventory_date", ["on_hand", "available"], "Units in stock", "units"
            )
        )
    if "fct_otif_weekly" in names:
        otif = pl.read_parquet(gold / "fct_otif_weekly.parquet")
        rate = next((c for c in otif.columns if "otif" in c and otif.schema[c].is_numeric()), None)
        week = next((c for c in otif.columns if "week" in c), None)
        if rate and week:
            weekly = otif.group_by(week).agg(pl.col(rate).mean()).sort(week).to_pandas()
            plots["otif_plot"] = dg.MetadataValue.md(line_plot_markdown(weekly, week, [rate], "OTIF by week"))
    return plots


@dg.asset(
    key=GOLD_KEY,
    deps=MART_KEYS,
    group_name="gold",
    kinds={"parquet"},
    description="Every mart as <lake_root>/gold/<mart>.parquet (BI, Feast and ML read these).",
)
def gold_parquet(context: AssetExecutionContext, stockyard: StockyardResource) -> dg.MaterializeResult:
    """Export every mart to gold Parquet (atomic per file) with row counts and planner plots."""
    import pyarrow.parquet as pq

    from stockyard.dbt import export_gold

    settings = stockyard.settings()
    paths = export_gold(settings)
    rows = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in paths}
    context.log.info(f"exported {len(paths)} mart(s) to {settings.gold_dir}")
    metadata: dict[str, Any] = {
        "marts": len(paths),
        "dagster/row_count": sum(rows.values()),
        "rows_per_mart": dg.MetadataValue.md(
            "| mart | rows |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in sorted(rows.items()))
        ),
        "path": dg.MetadataValue.path(str(settings.gold_dir)),
    }
    metadata.update(_plots(settings, set(rows)))
    return dg.MaterializeResult(metadata=metadata)
