"""The forecasting domain's definitions: demand features, the demand model and its forecast."""

import dagster as dg

from orchestration.defs.forecasting.assets import demand_features
from orchestration.defs.forecasting.checks import feature_checks
from orchestration.defs.forecasting.model import demand_forecast

__all__ = ["defs"]

defs = dg.Definitions(assets=[demand_features, demand_forecast], asset_checks=feature_checks)
