"""Offline sources: gold Parquet files written by the pipeline (FEAST_GOLD_DIR is set by ml/feature_store.py)."""

import os

from feast import FileSource

GOLD = os.environ.get("FEAST_GOLD_DIR", "data/gold")

item_warehouse_daily_state_source = FileSource(
    name="item_warehouse_daily_state",
    path=f"{GOLD}/features/item_warehouse_daily_state.parquet",
    timestamp_field="event_timestamp",
    description="State of each item x warehouse demand series at the end of each day (ml.forecasting.features).",
)

lane_daily_stats_source = FileSource(
    name="lane_daily_stats",
    path=f"{GOLD}/features/lane_daily_stats.parquet",
    timestamp_field="event_timestamp",
    description="Delivery statistics of each lane over the 28 days up to each day, known when the day closes "
    "(ml.eta.lane_stats from gold fct_shipments).",
)

carrier_daily_stats_source = FileSource(
    name="carrier_daily_stats",
    path=f"{GOLD}/features/carrier_daily_stats.parquet",
    timestamp_field="event_timestamp",
    description="Delivery statistics of each carrier over the 28 days up to each day, known when the day closes "
    "(ml.eta.lane_stats from gold fct_shipments).",
)
