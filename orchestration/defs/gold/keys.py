"""The gold export's asset key, importable without loading the dbt manifest (feature, model and alert assets, tests)."""

import dagster as dg

__all__ = ["GOLD_KEY"]

GOLD_KEY = dg.AssetKey(["marts", "gold_parquet"])
