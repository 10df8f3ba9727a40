"""``features/item_warehouse_91d_stats``: the demand-state features, written for Feast, applied and materialised.

The asset body only calls ``ml.feature_store`` (feature logic lives there and in ``ml.forecasting.features``); it
depends on the gold Parquet export, so it never reads marts a blocking check rejected.
"""

from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.gold.assets import GOLD_KEY
from orchestration.quality import markdown_table
from orchestration.resources import StockyardResource

__all__ = ["DEMAND_FEATURES_KEY", "demand_features"]

DEMAND_FEATURES_KEY = dg.AssetKey(["features", "item_warehouse_91d_stats"])


@dg.asset(
    key=DEMAND_FEATURES_KEY,
    deps=[GOLD_KEY],
    group_name="forecasting",
    kinds={"feast", "parquet"},
    description="Demand state per item × warehouse × day (lags, 7/28/91-day means, zero and stockout shares) in Feast.",
)
def demand_features(context: AssetExecutionContext, stockyard: StockyardResource) -> dg.MaterializeResult:
    """Compute the demand state from gold fct_demand_daily, ``feast apply`` and materialise the online store."""
    import polars as pl

    from ml.feature_store import DEMAND_SERVICE, apply_repo, materialize, write_demand_state

    settings = stockyard.settings()
    demand = pl.read_parquet(settings.gold_dir / "fct_demand_daily.parquet")
    path = write_demand_state(demand, settings)
    apply_repo(settings)
    materialize(settings)
    state = pl.read_parquet(path)
    context.log.info(f"wrote {state.height} feature rows to {path} and materialised the online store")
    latest = state.filter(pl.col("date") == pl.col("date").max())
    preview_columns = [
        c
        for c in ("item", "warehouse", "date", "mean_7", "mean_28", "mean_91", "zero_frac_28")
        if c in state.columns
    ]
    metadata: dict[str, Any] = {
        "dagster/row_count": state.height,
        "series": latest.height,
        "feature_service": DEMAND_SERVICE,
        "path": dg.MetadataValue.path(str(path)),
        "latest_state": dg.MetadataValue.md(markdown_table(latest.select(preview_columns).to_pandas())),
    }
    return dg.MaterializeResult(metadata=metadata)
