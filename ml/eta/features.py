"""Features for the shipment ETA model, from ``fct_shipments`` rows.

Every feature is known when the ETA is asked for: shipment attributes at booking, the
latest tracking state (``last_event_type``, ``days_since_ship``), which are optional — missing
state means "just booked" — and the lane and carrier delivery statistics known at booking
(Feast's ``eta_v1``, :mod:`ml.eta.lane_stats`), also optional: missing statistics are null,
which LightGBM treats as missing.
"""

from __future__ import annotations

import polars as pl

from ml.eta.lane_stats import STATS_COLUMNS

__all__ = ["CATEGORICAL_FEATURES", "FEATURE_COLUMNS", "REQUIRED_COLUMNS", "build_eta_features"]

REQUIRED_COLUMNS: tuple[str, ...] = (
    "shipment_id",
    "carrier",
    "service",
    "origin_warehouse",
    "destination_region",
    "lane",
    "ship_date",
    "weight_kg",
    "distance_km",
    "promised_transit_days",
)
CATEGORICAL_FEATURES: tuple[str, ...] = (
    "carrier",
    "service",
    "origin_warehouse",
    "destination_region",
    "lane",
    "last_event_type",
)
FEATURE_COLUMNS: tuple[str, ...] = (
    *CATEGORICAL_FEATURES,
    "weekday",
    "weight_kg",
    "distance_km",
    "promised_transit_days",
    "days_since_ship",
    "ship_month",
    *STATS_COLUMNS,
)


def build_eta_features(shipments: pl.DataFrame) -> pl.DataFrame:
    """Model input rows for shipments.

    Args:
        shipments: ``fct_shipments`` rows (at least :data:`REQUIRED_COLUMNS`; ``weekday``,
            ``last_event_type``, ``days_since_ship`` and the statistics of
            :data:`ml.eta.lane_stats.STATS_COLUMNS` optional).

    Returns:
        shipment_id, ship_date, the :data:`FEATURE_COLUMNS` and, when present,
        ``actual_transit_days``.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in shipments.columns]
    if missing:
        raise ValueError(f"shipments frame is missing columns {missing}")
    cols = shipments.columns
    out = shipments.select(
        pl.col("shipment_id").cast(pl.String),
        pl.col("ship_date").cast(pl.Date),
        *[pl.col(c).cast(pl.String) for c in CATEGORICAL_FEATURES if c != "last_event_type"],
        (pl.col("last_event_type").cast(pl.String) if "last_event_type" in cols else pl.lit(None, pl.String))
        .fill_null("label_created")
        .alias("last_event_type"),
        (pl.col("weekday") if "weekday" in cols else pl.col("ship_date").cast(pl.Date).dt.weekday() - 1)
        .cast(pl.Float64)
        .alias("weekday"),
        pl.col("weight_kg", "distance_km", "promised_transit_days").cast(pl.Float64),
        (pl.col("days_since_ship") if "days_since_ship" in cols else pl.lit(0.0))
        .cast(pl.Float64)
        .fill_null(0.0)
        .alias("days_since_ship"),
        pl.col("ship_date").cast(pl.Date).dt.month().cast(pl.Float64).alias("ship_month"),
        *[(pl.col(c) if c in cols else pl.lit(None)).cast(pl.Float64).alias(c) for c in STATS_COLUMNS],
        *([pl.col("actual_transit_days").cast(pl.Float64)] if "actual_transit_days" in cols else []),
    )
    return out
