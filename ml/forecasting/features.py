"""Leakage-safe features for the direct multi-horizon demand model.

A feature row describes one (series, origin, horizon): the state of the series at the
forecast origin (computed only from rows dated on or before the origin) plus covariates of
the target date that are known in advance (calendar, holiday, planned promotion and price).

Censoring: days flagged ``is_stockout`` carry sales capped by available stock, not demand.
Their quantity is masked (treated as missing) in every lag and rolling statistic, and they
are never used as training targets.

Scale normalisation: every level-type feature and the target are divided by the series
scale at the origin (mean uncensored demand over the last 91 days, floored), so one global
model serves series selling 0.1 and 500 units a day alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURE_COLUMNS",
    "KEYS",
    "LAST_YEAR_COLUMNS",
    "MAX_HORIZON",
    "REQUIRED_COLUMNS",
    "build_inference_features",
    "build_training_frame",
    "inference_rows_from_state",
    "mask_unknown_covariates",
    "prepare_history",
    "series_state",
    "training_frame_from_state",
    "training_keys",
]

KEYS: tuple[str, str] = ("item", "warehouse")
REQUIRED_COLUMNS: tuple[str, ...] = ("item", "warehouse", "date", "quantity", "is_stockout")
_EXOG_DEFAULTS: dict[str, pl.Expr] = {
    "unit_price": pl.lit(None, dtype=pl.Float64),
    "is_promo": pl.lit(False),
    "is_holiday": pl.lit(False),
    "category": pl.lit("unknown"),
    "abc_class": pl.lit("C"),
}
_N_LAGS = 7
_SCALE_FLOOR = 0.1
_LAST_YEAR = 364  # same weekday one year back
MAX_HORIZON = 28
# ``ly7_hHH`` on a state row dated d is mean_7 at d + HH - 361: the last-year demand around the
# target date d + HH (7 days centred 364 days before it). Carrying them on the origin row makes
# one state row enough to build every horizon's features, which an online store needs (it holds
# only the latest row per series, not the history a date lookup would need).
LAST_YEAR_COLUMNS: tuple[str, ...] = tuple(f"ly7_h{h:02d}" for h in range(1, MAX_HORIZON + 1))

# Columns the model consumes, in order. Level features are divided by ``scale``.
_STATE_FEATURES: tuple[str, ...] = (
    *(f"lag_{d}" for d in range(_N_LAGS)),
    "mean_7",
    "mean_28",
    "mean_91",
    "std_28",
    "zero_frac_28",
    "stockout_frac_28",
    "promo_frac_28",
    "days_since_sale",
    "log_scale",
    "history_days",
)
_TARGET_FEATURES: tuple[str, ...] = (
    "horizon",
    "sw_last",
    "sw_mean_4",
    "last_year_7",
    "t_day_of_week",
    "t_month",
    "t_day_of_year",
    "t_is_holiday",
    "t_is_promo",
    "t_price_ratio",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("category", "abc_class")
FEATURE_COLUMNS: tuple[str, ...] = (*_STATE_FEATURES, *_TARGET_FEATURES, *CATEGORICAL_FEATURES)


def prepare_history(df: pl.DataFrame, end: dt.date | None = None) -> pl.DataFrame:
    """Validate the demand frame and complete every series to a dense daily grid.

    Days missing inside a series (or after its last row, up to ``end``) are no-sale days:
    quantity 0, not censored, no promotion; price and static attributes carry forward.

    Args:
        df: Rows of ``fct_demand_daily`` (at least :data:`REQUIRED_COLUMNS`).
        end: Last date of the grid; defaults to the latest date in ``df``.

    Returns:
        Dense frame sorted by item, warehouse, date with the columns item, warehouse, date,
        quantity, is_stockout, unit_price, is_promo, is_holiday, category, abc_class and
        ``y`` (quantity, null on censored days).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"demand frame is missing columns {missing}")
    if df.height == 0:
        raise ValueError("demand frame is empty")
    base = df.select(
        pl.col("item").cast(pl.String),
        pl.col("warehouse").cast(pl.String),
        pl.col("date").cast(pl.Date),
        pl.col("quantity").cast(pl.Float64),
        pl.col("is_stockout").cast(pl.Boolean).fill_null(False),
        *[(pl.col(c) if c in df.columns else default).alias(c) for c, default in _EXOG_DEFAULTS.items()],
    ).with_columns(
        pl.col("unit_price").cast(pl.Float64),
        pl.col("is_promo", "is_holiday").cast(pl.Boolean).fill_null(False),
        pl.col("category", "abc_class").cast(pl.String),
    )
    if base.select(pl.struct(*KEYS, "date").is_duplicated().any()).item():
        raise ValueError("demand frame has duplicate (item, warehouse, date) rows")
    last = end or base["date"].max()
    spans = base.group_by(KEYS).agg(pl.col("date").min().alias("start"))
    grid = spans.with_columns(pl.date_ranges("start", pl.lit(last), interval="1d").alias("date")).explode(
        "date"
    )
    grid = grid.drop("start")
    out = (
        grid.join(base, on=[*KEYS, "date"], how="left")
        .sort([*KEYS, "date"])
        .with_columns(
            pl.col("quantity").fill_null(0.0),
            pl.col("is_stockout", "is_promo").fill_null(False),
            pl.col("unit_price", "category", "abc_class").forward_fill().backward_fill().over(KEYS),
        )
        .with_columns(
            pl.col("is_holiday").fill_null(False),
            pl.when(pl.col("is_stockout")).then(None).otherwise(pl.col("quantity")).alias("y"),
        )
    )
    return out


_FUTURE_COVARIATES: tuple[str, ...] = ("unit_price", "is_promo", "is_holiday")


def mask_unknown_covariates(frame: pl.DataFrame, known: Sequence[str]) -> pl.DataFrame:
    """Null the target-date covariates that are not known in advance.

    A null ``unit_price`` reads as the regular price (``t_price_ratio`` 1) and a null ``is_promo`` or
    ``is_holiday`` as false, so a masked covariate carries no information about the target date.

    Args:
        frame: Rows with item, warehouse, date and any of unit_price, is_promo, is_holiday.
        known: The covariates to keep (see ``ForecastConfig.known_covariates``).

    Returns:
        ``frame`` with the other covariates set to null (same columns and dtypes).
    """
    drop = [c for c in _FUTURE_COVARIATES if c in frame.columns and c not in known]
    return frame.with_columns(pl.lit(None, dtype=frame.schema[c]).alias(c) for c in drop) if drop else frame


def _masked_rolling_mean(col: str, window: int) -> tuple[pl.Expr, pl.Expr]:
    filled = pl.col(col).fill_null(0.0)
    seen = pl.col(col).is_not_null().cast(pl.Float64)
    total = filled.rolling_sum(window, min_samples=1).over(KEYS)
    count = seen.rolling_sum(window, min_samples=1).over(KEYS)
    return total, count


def series_state(prepared: pl.DataFrame) -> pl.DataFrame:
    """State of each series at the end of each day, from that day and earlier only.

    Args:
        prepared: Output of :func:`prepare_history`.

    Returns:
        One row per (item, warehouse, date) with the raw (not yet scale-normalised) state
        features, ``scale``, the 4-week same-weekday means ``swm_0..swm_6`` (``swm_d`` is the
        mean of the weekday ``d`` days before the row's date), ``ref_price`` and the last-year
        means :data:`LAST_YEAR_COLUMNS` (``ly7_hHH`` = ``mean_7`` at date + HH - 361, all in
        the past). The grid is dense, so a shift by n rows is a shift by n days.
    """
    exprs: list[pl.Expr] = [pl.col("y").shift(d).over(KEYS).alias(f"lag_{d}") for d in range(_N_LAGS)]
    for w in (7, 28, 91):
        total, count = _masked_rolling_mean("y", w)
        exprs.append(pl.when(count > 0).then(total / count).alias(f"mean_{w}"))
    sq_total, sq_count = _masked_rolling_mean("y_sq", 28)
    exprs.append((sq_total / sq_count).alias("_sq_28"))
    zero_total, zero_count = _masked_rolling_mean("y_zero", 28)
    exprs.append(pl.when(zero_count > 0).then(zero_total / zero_count).alias("zero_frac_28"))
    exprs.append(
        pl.col("is_stockout")
        .cast(pl.Float64)
        .rolling_mean(28, min_samples=1)
        .over(KEYS)
        .alias("stockout_frac_28")
    )
    exprs.append(
        pl.col("is_promo").cast(pl.Float64).rolling_mean(28, min_samples=1).over(KEYS).alias("promo_frac_28")
    )
    exprs.append(
        (pl.col("_day") - pl.when(pl.col("quantity") > 0).then(pl.col("_day")).forward_fill().over(KEYS))
        .cast(pl.Float64)
        .alias("days_since_sale")
    )
    exprs.append(
        (pl.col("_day") - pl.col("_day").min().over(KEYS) + 1).cast(pl.Float64).alias("history_days")
    )
    # Regular (non-promotional) price: the highest price seen over the last 91 days.
    exprs.append(pl.col("unit_price").rolling_max(91, min_samples=1).over(KEYS).alias("ref_price"))
    # Same-weekday mean over the last four weeks, ending on this row's date.
    sw_sum = sum(pl.col("y").shift(7 * k).over(KEYS).fill_null(0.0) for k in range(4))
    sw_cnt = sum(pl.col("y").shift(7 * k).over(KEYS).is_not_null().cast(pl.Float64) for k in range(4))
    exprs.append(pl.when(sw_cnt > 0).then(sw_sum / sw_cnt).alias("_swm"))

    state = (
        prepared.with_columns(
            (pl.col("date") - pl.date(2000, 1, 1)).dt.total_days().alias("_day"),
            (pl.col("y") ** 2).alias("y_sq"),
            (pl.col("y") == 0).cast(pl.Float64).alias("y_zero"),
        )
        .with_columns(exprs)
        .with_columns(
            (pl.col("_sq_28") - pl.col("mean_28") ** 2).clip(lower_bound=0.0).sqrt().alias("std_28"),
            *[pl.col("_swm").shift(d).over(KEYS).alias(f"swm_{d}") for d in range(_N_LAGS)],
            pl.max_horizontal(pl.coalesce("mean_91", "mean_28", pl.lit(0.0)), pl.lit(_SCALE_FLOOR)).alias(
                "scale"
            ),
        )
        .with_columns(
            pl.col("scale").log().alias("log_scale"),
            *[
                pl.col("mean_7").shift(_LAST_YEAR - 3 - h).over(KEYS).alias(name)
                for h, name in enumerate(LAST_YEAR_COLUMNS, start=1)
            ],
        )
    )
    keep = [
        *KEYS,
        "date",
        "category",
        "abc_class",
        "scale",
        "ref_price",
        *[c for c in _STATE_FEATURES if c != "log_scale"],
        "log_scale",
        *[f"swm_{d}" for d in range(_N_LAGS)],
        *LAST_YEAR_COLUMNS,
    ]
    return state.select(keep)


def _target_features(rows: pl.DataFrame, exog: pl.DataFrame) -> pl.DataFrame:
    """Attach target-date covariates and horizon-dependent features to (origin, horizon) rows.

    ``rows`` carries the origin state (from :func:`series_state`, including
    :data:`LAST_YEAR_COLUMNS`) plus ``horizon`` and ``target_date``. ``exog`` has item,
    warehouse, date, unit_price, is_promo, is_holiday for target dates (known in advance).
    Last-year demand around the target date is the origin row's ``ly7_hHH`` for HH = horizon.
    """
    lag_idx = ((-pl.col("horizon")) % 7).cast(pl.Int64)
    sw_last = pl.concat_list([pl.col(f"lag_{d}") for d in range(_N_LAGS)]).list.get(lag_idx)
    sw_mean = pl.concat_list([pl.col(f"swm_{d}") for d in range(_N_LAGS)]).list.get(lag_idx)
    last_year = pl.concat_list([pl.col(c) for c in LAST_YEAR_COLUMNS]).list.get(
        (pl.col("horizon") - 1).cast(pl.Int64)
    )
    out = (
        rows.join(
            exog.rename({"date": "target_date"}),
            on=[*KEYS, "target_date"],
            how="left",
        )
        .with_columns(
            (sw_last / pl.col("scale")).alias("sw_last"),
            (sw_mean / pl.col("scale")).alias("sw_mean_4"),
            (last_year / pl.col("scale")).alias("last_year_7"),
            pl.col("target_date").dt.weekday().sub(1).cast(pl.Float64).alias("t_day_of_week"),
            pl.col("target_date").dt.month().cast(pl.Float64).alias("t_month"),
            pl.col("target_date").dt.ordinal_day().cast(pl.Float64).alias("t_day_of_year"),
            pl.col("is_holiday").fill_null(False).cast(pl.Float64).alias("t_is_holiday"),
            pl.col("is_promo").fill_null(False).cast(pl.Float64).alias("t_is_promo"),
            (pl.coalesce("unit_price", "ref_price") / pl.col("ref_price")).alias("t_price_ratio"),
            pl.col("horizon").cast(pl.Float64),
        )
        .with_columns(
            *[(pl.col(c) / pl.col("scale")).alias(c) for c in ("mean_7", "mean_28", "mean_91", "std_28")],
            *[(pl.col(f"lag_{d}") / pl.col("scale")).alias(f"lag_{d}") for d in range(_N_LAGS)],
        )
    )
    return out


def _check_horizon(horizon: int) -> None:
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be in 1..{MAX_HORIZON}, got {horizon}")


def build_training_frame(
    df: pl.DataFrame,
    *,
    horizon: int,
    origin_stride: int = 3,
    min_history: int = 28,
    max_rows: int | None = None,
    seed: int = 0,
    origin_state: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    known_covariates: Sequence[str] = _FUTURE_COVARIATES,
) -> pl.DataFrame:
    """Build (origin, horizon) training rows with normalised targets.

    Origins are every ``origin_stride``-th day with at least ``min_history`` days of history;
    targets are the quantities ``horizon`` days later that lie inside ``df``. Targets on
    stockout days are dropped (censored: observed sales understate demand).

    Args:
        df: Demand rows (``fct_demand_daily`` columns), all dated on or before the training cut-off.
        horizon: Largest horizon in days.
        origin_stride: Days between origins.
        min_history: Minimum history days at an origin.
        max_rows: Optional cap on rows, sampled uniformly with ``seed``.
        seed: Sampling seed.
        origin_state: Optional fetcher of the origin state (see :func:`training_frame_from_state`).
        known_covariates: Target-date covariates known in advance; the others are masked
            (:func:`mask_unknown_covariates`).

    Returns:
        Frame with item, warehouse, origin_date, target_date, scale, the
        :data:`FEATURE_COLUMNS`, the raw ``quantity`` and ``target`` (= quantity / scale).
    """
    _check_horizon(horizon)
    prepared = prepare_history(df)
    state = series_state(prepared)
    return training_frame_from_state(
        prepared,
        state,
        horizon=horizon,
        origin_stride=origin_stride,
        min_history=min_history,
        max_rows=max_rows,
        seed=seed,
        origin_state=origin_state,
        known_covariates=known_covariates,
    )


def training_keys(
    prepared: pl.DataFrame,
    state: pl.DataFrame,
    *,
    horizon: int,
    origin_stride: int = 3,
    min_history: int = 28,
    max_rows: int | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """The sampled (series, origin, horizon) training keys with their raw targets.

    Args:
        prepared: Output of :func:`prepare_history`.
        state: Output of :func:`series_state` on ``prepared`` (only ``history_days`` and the
            dates are read, to choose origins).
        horizon: Largest horizon in days.
        origin_stride: Days between origins.
        min_history: Minimum history days at an origin.
        max_rows: Optional cap on rows, sampled uniformly with ``seed``.
        seed: Sampling seed.

    Returns:
        item, warehouse, origin_date, horizon, target_date, quantity (non-stockout targets only).
    """
    last = prepared["date"].max()
    day = (pl.col("date") - pl.date(2000, 1, 1)).dt.total_days()
    origins = state.filter(
        (pl.col("history_days") >= min_history) & (day % origin_stride == 0) & (pl.col("date") < last)
    )
    keys = origins.select(*KEYS, pl.col("date").alias("origin_date")).join(
        pl.DataFrame({"horizon": np.arange(1, horizon + 1, dtype=np.int32)}), how="cross"
    )
    keys = keys.with_columns(
        (pl.col("origin_date") + pl.duration(days=pl.col("horizon"))).alias("target_date")
    )
    targets = prepared.filter(~pl.col("is_stockout")).select(
        *KEYS, pl.col("date").alias("target_date"), "quantity"
    )
    keys = keys.join(targets, on=[*KEYS, "target_date"], how="inner")
    if max_rows is not None and keys.height > max_rows:
        keys = keys.sample(n=max_rows, seed=seed).sort([*KEYS, "origin_date", "horizon"])
    return keys


def training_frame_from_state(
    prepared: pl.DataFrame,
    state: pl.DataFrame,
    *,
    horizon: int,
    origin_stride: int = 3,
    min_history: int = 28,
    max_rows: int | None = None,
    seed: int = 0,
    origin_state: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    known_covariates: Sequence[str] = _FUTURE_COVARIATES,
) -> pl.DataFrame:
    """Training rows from a prepared history and its state (see :func:`build_training_frame`).

    Args:
        prepared: Output of :func:`prepare_history`.
        state: Output of :func:`series_state` on ``prepared``.
        horizon: Largest horizon in days.
        origin_stride: Days between origins.
        min_history: Minimum history days at an origin.
        max_rows: Optional cap on rows, sampled uniformly with ``seed``.
        seed: Sampling seed.
        origin_state: Optional fetcher of the origin state: given the (item, warehouse,
            origin_date) rows of the sampled origins it returns those keys plus the
            :func:`series_state` columns (e.g. point-in-time from the feature store, see
            :func:`ml.feature_store.origin_state_pit`); defaults to looking them up in ``state``.
        known_covariates: Target-date covariates known in advance; the others are masked
            (:func:`mask_unknown_covariates`).

    Returns:
        The frame :func:`build_training_frame` returns.
    """
    keys = training_keys(
        prepared,
        state,
        horizon=horizon,
        origin_stride=origin_stride,
        min_history=min_history,
        max_rows=max_rows,
        seed=seed,
    )
    source = state.rename({"date": "origin_date"})
    if origin_state is not None:
        fetched = origin_state(keys.select(*KEYS, "origin_date").unique())
        # Same columns and dtypes as the in-process state, whatever the fetcher's frame library did to them.
        source = fetched.select([pl.col(c).cast(t) for c, t in source.schema.items()])
    rows = keys.join(source, on=[*KEYS, "origin_date"], how="left")
    exog = mask_unknown_covariates(
        prepared.select(*KEYS, "date", "unit_price", "is_promo", "is_holiday"), known_covariates
    )
    out = _target_features(rows, exog)
    return out.with_columns((pl.col("quantity") / pl.col("scale")).alias("target")).select(
        *KEYS, "origin_date", "target_date", "scale", *FEATURE_COLUMNS, "quantity", "target"
    )


def inference_rows_from_state(
    state_rows: pl.DataFrame,
    *,
    horizon: int,
    future: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Model input rows, ``1..horizon`` days ahead, from each series' state at its origin.

    The single place that turns origin state into model input: the batch forecast
    (:func:`build_inference_features`, state computed in-process) and serving (state read
    from Feast's online store) both call it, so they produce the same rows for the same state.

    Args:
        state_rows: One row per series with item, warehouse, the origin as ``origin_date``
            (or ``date``) and the columns of :func:`series_state` (state features, ``scale``,
            ``ref_price``, ``swm_*``, :data:`LAST_YEAR_COLUMNS`, category, abc_class).
        horizon: Days ahead (1..:data:`MAX_HORIZON`).
        future: Optional known-in-advance covariates for target dates: item, warehouse, date
            and any of unit_price, is_promo, is_holiday. Missing values mean the regular
            price, no promotion and no holiday. Rows on or before a series' origin are ignored.

    Returns:
        One row per item, warehouse and horizon with columns item, warehouse, origin_date,
        date (the target date), horizon (int), scale and the :data:`FEATURE_COLUMNS`.
    """
    _check_horizon(horizon)
    if "origin_date" not in state_rows.columns:
        state_rows = state_rows.rename({"date": "origin_date"})
    rows = (
        state_rows.with_columns(
            pl.col("item").cast(pl.String),
            pl.col("warehouse").cast(pl.String),
            pl.col("origin_date").cast(pl.Date),
        )
        .join(pl.DataFrame({"horizon": np.arange(1, horizon + 1, dtype=np.int32)}), how="cross")
        .with_columns((pl.col("origin_date") + pl.duration(days=pl.col("horizon"))).alias("target_date"))
    )
    exog_cols = ["unit_price", "is_promo", "is_holiday"]
    if future is None:
        exog = pl.DataFrame(
            schema={"item": pl.String, "warehouse": pl.String, "date": pl.Date}
            | {"unit_price": pl.Float64, "is_promo": pl.Boolean, "is_holiday": pl.Boolean}
        )
    else:
        exog = future.select(
            pl.col("item").cast(pl.String),
            pl.col("warehouse").cast(pl.String),
            pl.col("date").cast(pl.Date),
            *[
                (pl.col(c) if c in future.columns else pl.lit(None))
                .cast(pl.Float64 if c == "unit_price" else pl.Boolean)
                .alias(c)
                for c in exog_cols
            ],
        )
    # Only target dates of ``rows`` (after each origin) are joined, so past covariates never leak in.
    out = _target_features(rows, exog)
    return out.select(
        *KEYS,
        "origin_date",
        pl.col("target_date").alias("date"),
        pl.col("horizon").cast(pl.Int32),
        "scale",
        *[c for c in FEATURE_COLUMNS if c != "horizon"],
    )


def build_inference_features(
    history: pl.DataFrame,
    *,
    horizon: int = 28,
    future: pl.DataFrame | None = None,
    origin: dt.date | None = None,
) -> pl.DataFrame:
    """Features for forecasting every series from one origin, ``1..horizon`` days ahead.

    This is the helper that turns raw history into the model's input: the state at the origin
    (:func:`series_state`) through :func:`inference_rows_from_state`, which serving also uses
    on the state it reads from the online feature store.

    Args:
        history: Demand rows (``fct_demand_daily`` columns). Rows after ``origin`` are ignored.
        horizon: Days ahead (1..:data:`MAX_HORIZON`).
        future: Optional known-in-advance covariates for target dates: item, warehouse, date
            and any of unit_price, is_promo, is_holiday. Missing values mean the regular
            price, no promotion and no holiday.
        origin: Forecast origin (last day of known sales); defaults to the latest date in ``history``.

    Returns:
        One row per item, warehouse and horizon with columns item, warehouse, origin_date,
        date (the target date), horizon (int), scale and the :data:`FEATURE_COLUMNS`.
    """
    _check_horizon(horizon)
    if origin is not None:
        history = history.filter(pl.col("date") <= origin)
    prepared = prepare_history(history, end=origin)
    origin_date = prepared["date"].max()
    state = series_state(prepared)
    return inference_rows_from_state(
        state.filter(pl.col("date") == origin_date), horizon=horizon, future=future
    )
