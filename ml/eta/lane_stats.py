"""Point-in-time delivery statistics per lane and per carrier: the ETA features of Feast's ``eta_v1``.

A shipment's outcome becomes known on its delivery day, ``ship_date + ceil(actual_transit_days)`` (a transit of 2.3
days arrives on the third day; the same rounding as :mod:`ml.eta.pipeline`). The statistics of day ``D`` describe the
shipments delivered in the trailing 28 days ``D-27 .. D``; like the demand state, they are known when ``D`` closes,
so their ``event_timestamp`` is the midnight (UTC) after ``D``. Each key has one row per day from its first delivery
to the last day of the data, also on days without a delivery in the window (count 0, statistics null), so a lookup
never falls back on an older, no longer current window.

:func:`attach_lane_carrier_stats` joins them to shipments as known at booking (ship date 00:00 UTC), with exactly
the semantics of Feast's ``get_historical_features`` (the latest row with ``S - ttl <= event_timestamp <= S``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

__all__ = [
    "CARRIER_STATS_COLUMNS",
    "LANE_STATS_COLUMNS",
    "STATS_COLUMNS",
    "STATS_TTL",
    "STATS_WINDOW_DAYS",
    "attach_lane_carrier_stats",
    "carrier_daily_stats",
    "delivered_outcomes",
    "lane_daily_stats",
]

STATS_WINDOW_DAYS = 28
#: TTL of ``lane_28d_stats`` / ``carrier_28d_stats`` (``feature_repo/feature_views.py`` states the same value; a test
#: checks they agree). A row older than the window shares no delivery with the current window, so it says nothing
#: about the lane at booking: beyond that the statistics are missing rather than stale.
STATS_TTL = dt.timedelta(days=STATS_WINDOW_DAYS)

LANE_STATS_COLUMNS: tuple[str, ...] = (
    "lane_deliveries_28d",
    "lane_transit_mean_28d",
    "lane_transit_p90_28d",
    "lane_late_share_28d",
    "lane_delay_mean_28d",
)
CARRIER_STATS_COLUMNS: tuple[str, ...] = (
    "carrier_deliveries_28d",
    "carrier_late_share_28d",
    "carrier_delay_mean_28d",
)
STATS_COLUMNS: tuple[str, ...] = (*LANE_STATS_COLUMNS, *CARRIER_STATS_COLUMNS)


def delivered_outcomes(shipments: pl.DataFrame) -> pl.DataFrame:
    """Delivered shipments with the day their outcome became known.

    Args:
        shipments: ETA-contract rows (:func:`ml.eta.pipeline.eta_frame`): ship_date, lane, carrier,
            promised_transit_days, actual_transit_days (null while in transit).

    Returns:
        lane, carrier, ``day`` (delivery day: ship_date + ceil(actual_transit_days)), actual, ``late``
        (actual > promised, as 0/1) and ``delay`` (actual - promised).
    """
    actual = pl.col("actual_transit_days").cast(pl.Float64)
    promised = pl.col("promised_transit_days").cast(pl.Float64)
    return shipments.filter(
        pl.col("actual_transit_days").is_not_null() & pl.col("ship_date").is_not_null()
    ).select(
        pl.col("lane").cast(pl.String),
        pl.col("carrier").cast(pl.String),
        (pl.col("ship_date").cast(pl.Date) + pl.duration(days=actual.ceil().cast(pl.Int64))).alias("day"),
        actual.alias("actual"),
        (actual > promised).cast(pl.Float64).alias("late"),
        (actual - promised).alias("delay"),
    )


def _last_day(shipments: pl.DataFrame, outcomes: pl.DataFrame) -> dt.date | None:
    days = [d for d in (shipments["ship_date"].cast(pl.Date).max(), outcomes["day"].max()) if d is not None]
    return max(days) if days else None  # type: ignore[type-var,return-value]


def _daily_stats(
    shipments: pl.DataFrame, key: str, aggregations: dict[str, pl.Expr], *, end: dt.date | None = None
) -> pl.DataFrame:
    outcomes = (
        delivered_outcomes(shipments)
        .filter(pl.col(key).is_not_null())
        .select(key, "day", "actual", "late", "delay")
    )
    last = end or _last_day(shipments, outcomes)
    schema = {key: pl.String, "date": pl.Date, **dict.fromkeys(aggregations, pl.Float64)}
    if outcomes.height == 0 or last is None:
        return pl.DataFrame(schema=schema | {"event_timestamp": pl.Datetime("us", "UTC")})
    # One empty "calendar" row per key and day from its first delivery to the last day: the rolling window of that
    # row (days D-27..D, ties included) holds exactly the deliveries known at the close of D.
    calendar = (
        outcomes.group_by(key)
        .agg(pl.col("day").min().alias("first"))
        .filter(pl.col("first") <= last)
        .select(key, pl.date_ranges("first", pl.lit(last), interval="1d").alias("day"))
        .explode("day")
    )
    rows = pl.concat(
        [
            outcomes.filter(pl.col("day") <= last),
            calendar.with_columns(*[pl.lit(None, pl.Float64).alias(c) for c in ("actual", "late", "delay")]),
        ],
        how="diagonal",
    ).sort(key, "day")
    # Rows of the same key and day share one window, so one of them per calendar day is the day's statistics.
    stats = rows.rolling("day", period=f"{STATS_WINDOW_DAYS}d", group_by=key).agg(
        *[expr.alias(name) for name, expr in aggregations.items()]
    )
    return (
        stats.unique([key, "day"], keep="first")
        .join(calendar.select(key, "day"), on=[key, "day"], how="semi")
        .select(
            pl.col(key),
            pl.col("day").alias("date"),
            *[pl.col(name).cast(pl.Float64) for name in aggregations],
            (pl.col("day").cast(pl.Datetime("us")) + pl.duration(days=1))
            .dt.replace_time_zone("UTC")
            .alias("event_timestamp"),
        )
        .sort(key, "date")
    )


def lane_daily_stats(shipments: pl.DataFrame, *, end: dt.date | None = None) -> pl.DataFrame:
    """Feature rows of ``lane_28d_stats``: delivery statistics of each lane at the close of each day.

    Args:
        shipments: ETA-contract rows (see :func:`delivered_outcomes`).
        end: Last day to describe (default: the latest ship or delivery day in ``shipments``).

    Returns:
        lane, date, :data:`LANE_STATS_COLUMNS` (count 0 and the other statistics null when no shipment of the lane
        was delivered in the window) and event_timestamp (UTC midnight after ``date``); one row per lane per day.
    """
    n = pl.col("actual").count()
    return _daily_stats(
        shipments,
        "lane",
        {
            "lane_deliveries_28d": n,
            "lane_transit_mean_28d": pl.col("actual").mean(),
            "lane_transit_p90_28d": pl.col("actual").quantile(0.9, interpolation="linear"),
            "lane_late_share_28d": pl.col("late").mean(),
            "lane_delay_mean_28d": pl.col("delay").mean(),
        },
        end=end,
    )


def carrier_daily_stats(shipments: pl.DataFrame, *, end: dt.date | None = None) -> pl.DataFrame:
    """Feature rows of ``carrier_28d_stats``: delivery statistics of each carrier at the close of each day.

    Args:
        shipments: ETA-contract rows (see :func:`delivered_outcomes`).
        end: Last day to describe (default: the latest ship or delivery day in ``shipments``).

    Returns:
        carrier, date, :data:`CARRIER_STATS_COLUMNS` (count 0 and the other statistics null when the carrier
        delivered nothing in the window) and event_timestamp (UTC midnight after ``date``).
    """
    return _daily_stats(
        shipments,
        "carrier",
        {
            "carrier_deliveries_28d": pl.col("actual").count(),
            "carrier_late_share_28d": pl.col("late").mean(),
            "carrier_delay_mean_28d": pl.col("delay").mean(),
        },
        end=end,
    )


def _asof(
    rows: pl.DataFrame, stats: pl.DataFrame, key: str, columns: tuple[str, ...], ttl: dt.timedelta
) -> pl.DataFrame:
    right = stats.select(
        pl.col(key).cast(pl.String),
        pl.col("event_timestamp").dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("_stats_at"),
        *[pl.col(c).cast(pl.Float64) for c in columns],
    ).sort("_stats_at")
    left = rows.select("_row", pl.col(key).cast(pl.String), "_booked_at").sort("_booked_at")
    # Backward as-of within the TTL is Feast's rule: the latest row with booked - ttl <= event_timestamp <= booked
    # (both bounds inclusive, as in Feast's file offline store). Sorted globally on the time, hence within each key.
    joined = left.join_asof(
        right,
        left_on="_booked_at",
        right_on="_stats_at",
        by=key,
        strategy="backward",
        tolerance=ttl,
        check_sortedness=False,
    )
    return joined.select("_row", *columns)


def attach_lane_carrier_stats(
    shipments: pl.DataFrame,
    lane_stats: pl.DataFrame,
    carrier_stats: pl.DataFrame,
    *,
    ttl: dt.timedelta = STATS_TTL,
) -> pl.DataFrame:
    """Add the lane and carrier statistics known at booking to each shipment (point in time).

    A shipment shipped on ``S`` gets, per feature view, the row with the latest ``event_timestamp`` at or before
    ``S`` 00:00 UTC and not older than ``ttl`` (that is, the close of ``S - 1`` when the key has a row for it):
    exactly what Feast's ``get_historical_features`` returns for the entity timestamp ``S`` 00:00 UTC.

    Args:
        shipments: Rows with lane, carrier and ship_date (other columns are kept; existing statistic columns are
            replaced).
        lane_stats: Output of :func:`lane_daily_stats`.
        carrier_stats: Output of :func:`carrier_daily_stats`.
        ttl: The feature views' TTL.

    Returns:
        ``shipments`` in its order with :data:`STATS_COLUMNS` (Float64, null where nothing is known).
    """
    rows = shipments.drop([c for c in STATS_COLUMNS if c in shipments.columns]).with_columns(
        pl.int_range(pl.len()).alias("_row"),
        pl.col("ship_date")
        .cast(pl.Date)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .alias("_booked_at"),
    )
    lane = _asof(rows, lane_stats, "lane", LANE_STATS_COLUMNS, ttl)
    carrier = _asof(rows, carrier_stats, "carrier", CARRIER_STATS_COLUMNS, ttl)
    return (
        rows.join(lane, on="_row", how="left")
        .join(carrier, on="_row", how="left")
        .sort("_row")
        .drop("_row", "_booked_at")
    )
