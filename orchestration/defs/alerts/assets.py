"""``marts/fct_demand_forecast_history`` and ``marts/fct_alerts``: operational alerts in one gold table.

The history keeps every published forecast by issue date so demand can be tested against the forecast that was
out before the day (see :mod:`orchestration.defs.alerts.frames`); ``fct_alerts`` then joins the three alert kinds
of ``ml.anomalies`` (``ALERT_SCHEMA``) and publishes them as ``<lake_root>/gold/fct_alerts.parquet``.
"""

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from orchestration.defs.forecasting.eta import ETA_KEY
from orchestration.defs.gold.keys import GOLD_KEY
from orchestration.defs.planning.keys import FORECAST_KEY
from orchestration.quality import markdown_table
from orchestration.resources import StockyardResource

__all__ = ["ALERTS_KEY", "FORECAST_HISTORY_KEY", "demand_forecast_history", "fct_alerts"]

FORECAST_HISTORY_KEY = dg.AssetKey(["marts", "fct_demand_forecast_history"])
ALERTS_KEY = dg.AssetKey(["marts", "fct_alerts"])


@dg.asset(
    key=FORECAST_HISTORY_KEY,
    deps=[FORECAST_KEY],
    group_name="alerts",
    kinds={"parquet"},
    description="Every published demand forecast, keyed by issue date (date - horizon): the out-of-sample "
    "intervals demand alerts test against (gold fct_demand_forecast_history).",
)
def demand_forecast_history(
    context: AssetExecutionContext, stockyard: StockyardResource
) -> dg.MaterializeResult:
    """Append tonight's forecast to the history (replacing a re-run of the same issue date)."""
    from orchestration.defs.alerts.frames import forecast_history
    from orchestration.defs.planning.frames import read_gold, write_gold

    settings = stockyard.settings()
    previous = settings.gold_dir / "fct_demand_forecast_history.parquet"
    history = forecast_history(
        pl.read_parquet(previous) if previous.exists() else None, read_gold(settings, "fct_demand_forecast")
    )
    path = write_gold(settings, "fct_demand_forecast_history", history)
    issues = history["issued_on"].unique().sort()
    context.log.info(f"forecast history: {issues.len()} issue(s), {history.height} rows")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": history.height,
            "issues": issues.len(),
            "first_issue": str(issues.min()),
            "last_issue": str(issues.max()),
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    key=ALERTS_KEY,
    deps=[GOLD_KEY, FORECAST_HISTORY_KEY, ETA_KEY],
    group_name="alerts",
    kinds={"parquet"},
    description="Operational alerts with severity and reason: demand outside the P10-P90 of the forecast issued "
    "before the day, cold-chain excursions, open shipments whose predicted arrival is past the promise "
    "(gold fct_alerts).",
)
def fct_alerts(context: AssetExecutionContext, stockyard: StockyardResource) -> dg.MaterializeResult:
    """Build the three alert kinds from gold and publish them."""
    from ml.eta.pipeline import eta_frame
    from orchestration.defs.alerts.frames import alert_counts, build_alerts
    from orchestration.defs.planning.frames import read_gold, write_gold

    settings = stockyard.settings()
    alerts = build_alerts(
        demand=read_gold(settings, "fct_demand_daily"),
        forecasts=read_gold(settings, "fct_demand_forecast_history"),
        excursions=read_gold(settings, "fct_cold_chain_excursions"),
        shipments=eta_frame(read_gold(settings, "fct_shipments")),
        eta=read_gold(settings, "fct_shipment_eta"),
    )
    path = write_gold(settings, "fct_alerts", alerts)
    counts = alert_counts(alerts)
    context.log.info(f"{alerts.height} alert(s)")
    severity = pl.col("severity").replace_strict({"high": 0, "medium": 1, "low": 2}, default=3)
    preview = alerts.sort(severity, pl.col("date"), descending=[False, True]).head(10)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": alerts.height,
            "high": int((alerts["severity"] == "high").sum()),
            "path": dg.MetadataValue.path(str(path)),
            "counts": dg.MetadataValue.md(
                markdown_table(counts.to_pandas()) if counts.height else "no alerts"
            ),
            "preview": dg.MetadataValue.md(markdown_table(preview.to_pandas())),
        }
    )
