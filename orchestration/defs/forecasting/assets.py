"""Feature assets: the demand state and the ETA lane/carrier statistics, written for Feast, applied and materialised.

* ``features/item_warehouse_91d_stats`` from gold ``fct_demand_daily`` (``ml.forecasting.features``);
* ``features/lane_28d_stats`` and ``features/carrier_28d_stats`` from gold ``fct_shipments`` (``ml.eta.lane_stats``).

Asset bodies only call ``ml.feature_store``; they depend on the gold Parquet export, so they never read marts a
blocking check rejected.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.gold.keys import GOLD_KEY
from orchestration.quality import markdown_table
from orchestration.resources import StockyardResource

__all__ = [
    "CARRIER_STATS_KEY",
    "DEMAND_FEATURES_KEY",
    "ETA_FEATURE_KEYS",
    "LANE_STATS_KEY",
    "demand_features",
    "eta_features",
]

DEMAND_FEATURES_KEY = dg.AssetKey(["features", "item_warehouse_91d_stats"])
LANE_STATS_KEY = dg.AssetKey(["features", "lane_28d_stats"])
CARRIER_STATS_KEY = dg.AssetKey(["features", "carrier_28d_stats"])
ETA_FEATURE_KEYS = (LANE_STATS_KEY, CARRIER_STATS_KEY)


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


@dg.multi_asset(
    name="eta_features",
    specs=[
        dg.AssetSpec(
            LANE_STATS_KEY,
            deps=[GOLD_KEY],
            group_name="forecasting",
            kinds={"feast", "parquet"},
            description="Delivery statistics per lane × day over the trailing 28 days (deliveries, transit mean and "
            "P90, late share, mean delay vs promise) in Feast (eta_v1).",
        ),
        dg.AssetSpec(
            CARRIER_STATS_KEY,
            deps=[GOLD_KEY],
            group_name="forecasting",
            kinds={"feast", "parquet"},
            description="Delivery statistics per carrier × day over the trailing 28 days (deliveries, late share, "
            "mean delay vs promise) in Feast (eta_v1).",
        ),
    ],
)
def eta_features(
    context: AssetExecutionContext, stockyard: StockyardResource
) -> Iterator[dg.MaterializeResult]:
    """Compute the lane and carrier statistics from gold fct_shipments, ``feast apply`` and materialise them."""
    import polars as pl

    from ml.feature_store import ETA_SERVICE, apply_repo, materialize_eta_stats, write_eta_stats
    from orchestration.defs.planning.frames import read_gold

    settings = stockyard.settings()
    paths = write_eta_stats(read_gold(settings, "fct_shipments"), settings)
    apply_repo(settings)
    materialize_eta_stats(settings)
    for key, path, entity in zip(ETA_FEATURE_KEYS, paths, ("lane", "carrier"), strict=True):
        stats = pl.read_parquet(path)
        latest = stats.filter(pl.col("date") == pl.col("date").max())
        context.log.info(f"wrote {stats.height} {entity} feature rows to {path}")
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": stats.height,
                "keys": latest.height,
                "feature_service": ETA_SERVICE,
                "path": dg.MetadataValue.path(str(path)),
                "latest_stats": dg.MetadataValue.md(
                    markdown_table(latest.drop("event_timestamp").head(20).to_pandas())
                ),
            },
        )
