"""The alerts domain's definitions: the forecast history and the operational alerts mart."""

import dagster as dg

from orchestration.defs.alerts.assets import demand_forecast_history, fct_alerts

__all__ = ["defs"]

defs = dg.Definitions(assets=[demand_forecast_history, fct_alerts])
