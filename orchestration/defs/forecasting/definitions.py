"""The forecasting domain's definitions: demand and ETA features, the demand model and forecast, the ETA model."""

import dagster as dg

from orchestration.defs.forecasting.assets import demand_features, eta_features
from orchestration.defs.forecasting.checks import feature_checks
from orchestration.defs.forecasting.eta import shipment_eta
from orchestration.defs.forecasting.model import demand_forecast

__all__ = ["defs"]

defs = dg.Definitions(
    assets=[demand_features, eta_features, demand_forecast, shipment_eta], asset_checks=feature_checks
)
