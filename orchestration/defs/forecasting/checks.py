"""A blocking Great Expectations suite on the demand features: no model is trained on broken features."""

from typing import Any

from orchestration.defs.forecasting.assets import DEMAND_FEATURES_KEY
from orchestration.quality import Suite, gx_asset_check

__all__ = ["FEATURE_SUITES", "feature_checks"]


def _load(settings: Any) -> Any:
    import polars as pl

    from ml.feature_store import DEMAND_STATE_FILE

    return pl.read_parquet(settings.gold_dir / DEMAND_STATE_FILE).to_pandas()


def _expectations() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToNotBeNull(column="event_timestamp"),
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in ("mean_7", "mean_28", "mean_91")],
        *[
            e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1)
            for c in ("zero_frac_28", "stockout_frac_28")
        ],
        e.ExpectCompoundColumnsToBeUnique(column_list=["item", "warehouse", "date"]),
    ]


FEATURE_SUITES = [
    Suite(
        name="gx_demand_features",
        asset=DEMAND_FEATURES_KEY,
        load=_load,
        expectations=_expectations,
        id_columns=("item", "warehouse", "date"),
        description="Demand features: one row per series and day, non-negative means, shares within [0, 1].",
    )
]

feature_checks = [gx_asset_check(suite) for suite in FEATURE_SUITES]
