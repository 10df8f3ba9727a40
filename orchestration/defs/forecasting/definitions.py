"""The forecasting domain's definitions."""

import dagster as dg

from orchestration.defs.forecasting.assets import demand_features
from orchestration.defs.forecasting.checks import feature_checks

__all__ = ["defs"]

defs = dg.Definitions(assets=[demand_features], asset_checks=feature_checks)
