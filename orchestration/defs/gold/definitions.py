"""The gold domain's definitions: mart quality gates and the Parquet publication."""

import dagster as dg

from orchestration.defs.gold.assets import gold_parquet
from orchestration.defs.gold.checks import mart_checks

__all__ = ["defs"]

defs = dg.Definitions(assets=[gold_parquet], asset_checks=mart_checks)
