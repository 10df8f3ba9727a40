"""Pure frame mappings behind ``marts/fct_alerts`` (no Dagster, no I/O), so they are unit-tested on small frames.

Demand is tested against *published* forecasts: every nightly forecast is kept in a history keyed by its issue date
(``date - horizon``, the last day of actuals it saw), and each day's demand is compared with the latest forecast
issued before that day. Those forecasts are out-of-sample by construction. The backtest's last fold would give
alerts from the first run, but the forecast asset does not publish it (only ``ForecastRun.forecast`` reaches gold),
and re-running a backtest here would double the nightly training cost; the history needs neither.

Cold-chain alerts map the rows of ``fct_cold_chain_excursions`` (the one definition of an excursion and its allowed
range, in dbt) rather than re-detecting excursions from raw telemetry with ``ml.anomalies.cold_chain_alerts``; the
severity score is the same (peak deviation x minutes, in degree-minutes, same default thresholds). The mart's
duration runs from the first to the last out-of-range reading, so a one-reading excursion scores 0 (low).
"""

from __future__ import annotations

import polars as pl

from ml.anomalies import ALERT_SCHEMA, demand_interval_alerts, late_shipment_alerts

__all__ = [
    "alert_counts",
    "build_alerts",
    "cold_chain_excursion_alerts",
    "forecast_history",
    "latest_prior_forecast",
]

_KEYS = ["item", "warehouse", "date"]


def forecast_history(history: pl.DataFrame | None, forecast: pl.DataFrame) -> pl.DataFrame:
    """Add a published forecast to the history of forecasts, keyed by issue date.

    Re-publishing a forecast of the same issue date replaces that issue's rows, so re-running the night is
    idempotent.

    Args:
        history: Earlier history (item, warehouse, date, issued_on, horizon, p10, p50, p90, model_version), or None.
        forecast: ``fct_demand_forecast`` rows (item, warehouse, date, horizon, p10, p50, p90, model_version).

    Returns:
        The history with the forecast's rows, sorted by issued_on, item, warehouse, date.
    """
    new = forecast.select(
        pl.col("item").cast(pl.String),
        pl.col("warehouse").cast(pl.String),
        pl.col("date").cast(pl.Date),
        (pl.col("date").cast(pl.Date) - pl.duration(days=pl.col("horizon").cast(pl.Int64))).alias(
            "issued_on"
        ),
        pl.col("horizon").cast(pl.Int32),
        pl.col("p10", "p50", "p90").cast(pl.Float64),
        (pl.col("model_version") if "model_version" in forecast.columns else pl.lit(None))
        .cast(pl.String)
        .alias("model_version"),
    )
    if history is None or history.height == 0:
        merged = new
    else:
        issued = new["issued_on"].unique().implode()
        merged = pl.concat([history.filter(~pl.col("issued_on").is_in(issued)), new], how="vertical_relaxed")
    return merged.sort("issued_on", "item", "warehouse", "date")


def latest_prior_forecast(history: pl.DataFrame) -> pl.DataFrame:
    """For each item, warehouse and date, the forecast issued last before that date (the shortest horizon).

    Args:
        history: Output of :func:`forecast_history`.

    Returns:
        item, warehouse, date, issued_on, p10, p50, p90 (one row per key).
    """
    return (
        history.filter(pl.col("issued_on") < pl.col("date"))
        .sort("issued_on")
        .group_by(_KEYS, maintain_order=True)
        .last()
        .select(*_KEYS, "issued_on", "p10", "p50", "p90")
    )


def cold_chain_excursion_alerts(
    excursions: pl.DataFrame, *, medium_at: float = 30.0, high_at: float = 120.0
) -> pl.DataFrame:
    """``fct_cold_chain_excursions`` rows as alert rows.

    Args:
        excursions: device_id, warehouse, zone, shipment_number, started_at, duration_minutes, min/max_temperature_c,
            allowed_min/max_temp_c, max_deviation_c.
        medium_at: Degree-minutes at which severity becomes medium.
        high_at: Degree-minutes at which severity becomes high.

    Returns:
        Alert rows (``ALERT_SCHEMA``), ``alert_type`` = "cold_chain_excursion"; ``zone`` is the zone, else the
        device of a reefer; ``value`` the peak temperature and ``threshold`` the violated limit.
    """
    if excursions.height == 0:
        return pl.DataFrame(schema=ALERT_SCHEMA)
    above = pl.col("max_temperature_c") > pl.col("allowed_max_temp_c")
    score = pl.col("max_deviation_c") * pl.col("duration_minutes")
    out = excursions.with_columns(
        pl.lit("cold_chain_excursion").alias("alert_type"),
        pl.when(score >= high_at)
        .then(pl.lit("high"))
        .when(score >= medium_at)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
        .alias("severity"),
        pl.lit(None, pl.String).alias("item"),
        pl.coalesce(pl.col("zone").cast(pl.String), pl.col("device_id").cast(pl.String)).alias("zone"),
        pl.col("shipment_number").cast(pl.String).alias("shipment_id"),
        pl.col("started_at").cast(pl.Datetime("us")).dt.date().alias("date"),
        pl.when(above)
        .then(pl.col("max_temperature_c"))
        .otherwise(pl.col("min_temperature_c"))
        .alias("value"),
        pl.when(above)
        .then(pl.col("allowed_max_temp_c"))
        .otherwise(pl.col("allowed_min_temp_c"))
        .alias("threshold"),
        pl.format(
            "{} °C {} {} °C for {} min (device {}, peak {} °C, {} degree-minutes)",
            pl.col("max_deviation_c").round(1),
            pl.when(above).then(pl.lit("above max")).otherwise(pl.lit("below min")),
            pl.when(above)
            .then(pl.col("allowed_max_temp_c"))
            .otherwise(pl.col("allowed_min_temp_c"))
            .round(1),
            pl.col("duration_minutes").round(0).cast(pl.Int64),
            pl.col("device_id"),
            pl.when(above).then(pl.col("max_temperature_c")).otherwise(pl.col("min_temperature_c")).round(1),
            score.round(0).cast(pl.Int64),
        ).alias("reason"),
    )
    return out.sort("date", "zone").select([pl.col(name).cast(dtype) for name, dtype in ALERT_SCHEMA.items()])


def build_alerts(
    *,
    demand: pl.DataFrame,
    forecasts: pl.DataFrame,
    excursions: pl.DataFrame,
    shipments: pl.DataFrame,
    eta: pl.DataFrame,
) -> pl.DataFrame:
    """All alerts in one frame (``ALERT_SCHEMA``).

    Args:
        demand: ``fct_demand_daily`` rows (item, warehouse, date, quantity, is_stockout).
        forecasts: Forecast history (:func:`forecast_history`); empty before the first night has passed.
        excursions: ``fct_cold_chain_excursions`` rows.
        shipments: Shipments in the ETA contract shape (``ml.eta.pipeline.eta_frame`` of ``fct_shipments``).
        eta: ``fct_shipment_eta`` rows (shipment_id, p10, p50, p90 in transit days).

    Returns:
        Demand, cold-chain and late-shipment alerts, in that order.
    """
    frames = [pl.DataFrame(schema=ALERT_SCHEMA)]
    if forecasts.height and demand.height:
        actuals = demand.with_columns(
            pl.col("item", "warehouse").cast(pl.String), pl.col("date").cast(pl.Date)
        )
        frames.append(demand_interval_alerts(actuals, latest_prior_forecast(forecasts)))
    frames.append(cold_chain_excursion_alerts(excursions))
    if shipments.height and eta.height:
        frames.append(
            late_shipment_alerts(
                shipments.with_columns(pl.col("shipment_id").cast(pl.String)),
                eta.with_columns(pl.col("shipment_id").cast(pl.String)),
            )
        )
    return pl.concat(frames, how="vertical")


def alert_counts(alerts: pl.DataFrame) -> pl.DataFrame:
    """Alerts per type and severity, severities as columns (low, medium, high, total).

    Args:
        alerts: ``ALERT_SCHEMA`` rows.

    Returns:
        One row per alert type.
    """
    levels = ("low", "medium", "high")
    return (
        alerts.group_by("alert_type")
        .agg(
            *[(pl.col("severity") == s).sum().cast(pl.Int64).alias(s) for s in levels],
            pl.len().alias("total"),
        )
        .sort("alert_type")
    )
