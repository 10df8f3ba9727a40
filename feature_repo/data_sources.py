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
