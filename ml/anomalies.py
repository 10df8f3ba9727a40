"""Operational anomaly alerts as rows: demand outside its forecast interval, cold-chain
temperature excursions, shipments at risk of missing their promised date.

Every function returns frames with the same :data:`ALERT_SCHEMA`, so alerts of all kinds can
be concatenated and stored or served together. Entity keys that do not apply to an alert
type are null.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "ALERT_SCHEMA",
    "cold_chain_alerts",
    "demand_interval_alerts",
    "late_shipment_alerts",
]

ALERT_SCHEMA: dict[str, pl.DataType] = {
    "alert_type": pl.String(),
    "severity": pl.String(),
    "item": pl.String(),
    "warehouse": pl.String(),
    "zone": pl.String(),
    "shipment_id": pl.String(),
    "date": pl.Date(),
    "reason": pl.String(),
    "value": pl.Float64(),
    "threshold": pl.Float64(),
}


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in ALERT_SCHEMA.items()
        ]
    )


def _fmt(expr: pl.Expr, digits: int = 1) -> pl.Expr:
    rounded = expr.round(digits)
    return (rounded.cast(pl.Int64) if digits == 0 else rounded).cast(pl.String)


def demand_interval_alerts(
    actuals: pl.DataFrame,
    forecasts: pl.DataFrame,
    *,
    medium_at: float = 0.5,
    high_at: float = 1.5,
) -> pl.DataFrame:
    """Days whose demand fell outside the forecast's P10-P90 interval.

    Severity grows with the distance outside the interval relative to its width (+1 unit so
    narrow intervals of slow movers do not alert on a single unit): below ``medium_at`` is
    low, below ``high_at`` medium, else high. Low sales on stockout days are explained by
    the stockout and do not alert.

    Args:
        actuals: item, warehouse, date, quantity and optional is_stockout.
        forecasts: item, warehouse, date, p10, p90 (e.g. from ``ml.forecasting.predict.batch_forecast``).
        medium_at: Relative excess at which severity becomes medium.
        high_at: Relative excess at which severity becomes high.

    Returns:
        Alert rows (:data:`ALERT_SCHEMA`), ``alert_type`` = "demand_outside_interval".
    """
    stockout = pl.col("is_stockout").fill_null(False) if "is_stockout" in actuals.columns else pl.lit(False)
    joined = actuals.select("item", "warehouse", "date", "quantity", stockout.alias("_so")).join(
        forecasts.select("item", "warehouse", "date", "p10", "p90"),
        on=["item", "warehouse", "date"],
        how="inner",
    )
    above = pl.col("quantity") > pl.col("p90")
    below = (pl.col("quantity") < pl.col("p10")) & ~pl.col("_so")
    width = pl.col("p90") - pl.col("p10") + 1.0
    excess = (
        pl.when(above).then(pl.col("quantity") - pl.col("p90")).otherwise(pl.col("p10") - pl.col("quantity"))
    )
    out = (
        joined.filter(above | below)
        .with_columns((excess / width).alias("_rel"), above.alias("_above"))
        .with_columns(
            pl.lit("demand_outside_interval").alias("alert_type"),
            pl.when(pl.col("_rel") >= high_at)
            .then(pl.lit("high"))
            .when(pl.col("_rel") >= medium_at)
            .then(pl.lit("medium"))
            .otherwise(pl.lit("low"))
            .alias("severity"),
            pl.col("quantity").alias("value"),
            pl.when(pl.col("_above")).then(pl.col("p90")).otherwise(pl.col("p10")).alias("threshold"),
        )
        .with_columns(
            pl.concat_str(
                pl.lit("sold "),
                _fmt(pl.col("value")),
                pl.when(pl.col("_above")).then(pl.lit(" above P90 ")).otherwise(pl.lit(" below P10 ")),
                _fmt(pl.col("threshold")),
                pl.lit(" (interval "),
                _fmt(pl.col("p10")),
                pl.lit("-"),
                _fmt(pl.col("p90")),
                pl.lit(")"),
            ).alias("reason")
        )
        .sort("item", "warehouse", "date")
    )
    return _conform(out)


def cold_chain_alerts(
    telemetry: pl.DataFrame,
    *,
    id_col: str = "zone",
    medium_at: float = 30.0,
    high_at: float = 120.0,
) -> pl.DataFrame:
    """Temperature excursions of cold zones or reefers, one alert per excursion.

    An excursion is a run of consecutive readings outside ``[min_c, max_c]`` on the same side.
    Its duration runs from its first reading to the next reading back in range (or its last
    reading if the data ends first); its magnitude is the peak distance beyond the limit.
    Severity scores magnitude x duration in degree-minutes: below ``medium_at`` low, below
    ``high_at`` medium, else high.

    Args:
        telemetry: Rows with ``id_col``, ts (datetime), temperature_c, min_c, max_c.
        id_col: Column naming the zone or reefer.
        medium_at: Degree-minutes at which severity becomes medium.
        high_at: Degree-minutes at which severity becomes high.

    Returns:
        Alert rows (:data:`ALERT_SCHEMA`), ``alert_type`` = "cold_chain_excursion", ``zone`` =
        the id, ``date`` = the excursion's start date, ``value`` = peak temperature,
        ``threshold`` = the violated limit.
    """
    side = (
        pl.when(pl.col("temperature_c") > pl.col("max_c"))
        .then(1)
        .when(pl.col("temperature_c") < pl.col("min_c"))
        .then(-1)
        .otherwise(0)
    )
    readings = (
        telemetry.select(
            pl.col(id_col).cast(pl.String).alias("zone"), "ts", "temperature_c", "min_c", "max_c"
        )
        .sort("zone", "ts")
        .with_columns(side.alias("_side"))
        .with_columns(
            (pl.col("_side") != pl.col("_side").shift(1).over("zone"))
            .fill_null(True)
            .cum_sum()
            .over("zone")
            .alias("_run"),
            pl.col("ts").shift(-1).over("zone").alias("_next_ts"),
        )
    )
    runs = (
        readings.filter(pl.col("_side") != 0)
        .with_columns(
            pl.when(pl.col("_side") > 0)
            .then(pl.col("temperature_c") - pl.col("max_c"))
            .otherwise(pl.col("min_c") - pl.col("temperature_c"))
            .alias("_dev")
        )
        .group_by("zone", "_run")
        .agg(
            pl.col("_side").first(),
            pl.col("ts").min().alias("_start"),
            pl.coalesce(pl.col("_next_ts").last(), pl.col("ts").last()).alias("_end"),
            pl.col("_dev").max().alias("_peak_dev"),
            pl.when(pl.col("_side").first() > 0)
            .then(pl.col("temperature_c").max())
            .otherwise(pl.col("temperature_c").min())
            .alias("value"),
            pl.when(pl.col("_side").first() > 0)
            .then(pl.col("max_c").first())
            .otherwise(pl.col("min_c").first())
            .alias("threshold"),
        )
        .with_columns(((pl.col("_end") - pl.col("_start")).dt.total_seconds() / 60.0).alias("_minutes"))
        .with_columns((pl.col("_peak_dev") * pl.col("_minutes")).alias("_score"))
    )
    out = runs.with_columns(
        pl.lit("cold_chain_excursion").alias("alert_type"),
        pl.when(pl.col("_score") >= high_at)
        .then(pl.lit("high"))
        .when(pl.col("_score") >= medium_at)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
        .alias("severity"),
        pl.col("_start").dt.date().alias("date"),
        pl.concat_str(
            _fmt(pl.col("_peak_dev")),
            pl.when(pl.col("_side") > 0).then(pl.lit(" °C above max ")).otherwise(pl.lit(" °C below min ")),
            _fmt(pl.col("threshold")),
            pl.lit(" °C for "),
            _fmt(pl.col("_minutes"), 0),
            pl.lit(" min (peak "),
            _fmt(pl.col("value")),
            pl.lit(" °C, "),
            _fmt(pl.col("_score"), 0),
            pl.lit(" degree-minutes)"),
        ).alias("reason"),
    ).sort("zone", "_start")
    return _conform(out)


def late_shipment_alerts(
    shipments: pl.DataFrame,
    predictions: pl.DataFrame,
    *,
    medium_days: float = 1.0,
) -> pl.DataFrame:
    """Shipments whose predicted arrival is beyond the promised date.

    A shipment alerts when its predicted P50 arrival is past the promise. Severity: high when
    even P10 arrives late (lateness is near certain), medium when P50 is at least
    ``medium_days`` late, low otherwise. Delivered shipments are skipped.

    Args:
        shipments: shipment_id, ship_date, promised_transit_days and optional
            actual_transit_days (rows with a value are delivered).
        predictions: shipment_id, p10, p50, p90 in transit days (the ETA model's output).
        medium_days: Days of P50 lateness from which severity is at least medium.

    Returns:
        Alert rows (:data:`ALERT_SCHEMA`), ``alert_type`` = "shipment_late_risk", ``date`` =
        promised arrival date, ``value`` = predicted P50 transit days, ``threshold`` = promised
        transit days.
    """
    open_ = (
        shipments.filter(pl.col("actual_transit_days").is_null())
        if "actual_transit_days" in shipments.columns
        else shipments
    )
    joined = open_.select("shipment_id", "ship_date", "promised_transit_days").join(
        predictions.select("shipment_id", "p10", "p50", "p90"), on="shipment_id", how="inner"
    )
    promise = pl.col("promised_transit_days")
    out = (
        joined.filter(pl.col("p50") > promise)
        .with_columns(
            pl.lit("shipment_late_risk").alias("alert_type"),
            pl.when(pl.col("p10") > promise)
            .then(pl.lit("high"))
            .when(pl.col("p50") - promise >= medium_days)
            .then(pl.lit("medium"))
            .otherwise(pl.lit("low"))
            .alias("severity"),
            (pl.col("ship_date").cast(pl.Date) + pl.duration(days=promise.cast(pl.Int64))).alias("date"),
            pl.col("p50").alias("value"),
            promise.cast(pl.Float64).alias("threshold"),
        )
        .with_columns(
            pl.concat_str(
                pl.lit("predicted P50 arrival "),
                (
                    pl.col("ship_date").cast(pl.Date) + pl.duration(days=pl.col("p50").ceil().cast(pl.Int64))
                ).cast(pl.String),
                pl.lit(" ("),
                _fmt(pl.col("p50")),
                pl.lit(" d, P10-P90 "),
                _fmt(pl.col("p10")),
                pl.lit("-"),
                _fmt(pl.col("p90")),
                pl.lit(" d) vs promised "),
                pl.col("date").cast(pl.String),
                pl.lit(" ("),
                _fmt(pl.col("threshold"), 0),
                pl.lit(" d)"),
            ).alias("reason")
        )
        .sort("shipment_id")
    )
    return _conform(out)
