"""Seeded synthetic daily demand in the shape of the ``fct_demand_daily`` mart.

In the spirit of ``mlforecast.utils.generate_daily_series``, but with the structure a
supply-chain forecaster has to cope with: weekly and yearly seasonality that depend on the
category, per-item trend, planned promotions with a price cut and uplift, holidays,
intermittent long-tail items, and stockouts that censor observed sales. The true expected
demand is returned separately so that models can be scored against the noise floor.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import numpy as np
import polars as pl

__all__ = ["CATEGORIES", "HOLIDAYS", "generate_demand", "holiday_flags"]


class _Category(TypedDict):
    weekly: tuple[float, ...]
    year: tuple[float, int]
    elasticity: float


# Weekly multipliers (Mon..Sun) and yearly (amplitude, peak day-of-year) per category.
CATEGORIES: dict[str, _Category] = {
    "grocery": {"weekly": (0.85, 0.8, 0.85, 0.95, 1.15, 1.45, 0.95), "year": (0.10, 355), "elasticity": 2.0},
    "apparel": {"weekly": (0.7, 0.7, 0.8, 0.9, 1.2, 1.6, 1.1), "year": (0.35, 340), "elasticity": 3.0},
    "garden": {"weekly": (0.8, 0.8, 0.85, 0.9, 1.1, 1.5, 1.05), "year": (0.60, 170), "elasticity": 2.5},
    "electronics": {
        "weekly": (0.9, 0.85, 0.9, 1.0, 1.15, 1.25, 0.95),
        "year": (0.30, 335),
        "elasticity": 3.5,
    },
}

# Holidays as (month, day); demand is lifted on the day itself.
HOLIDAYS: tuple[tuple[int, int], ...] = (
    (1, 1),
    (5, 27),
    (7, 4),
    (9, 2),
    (11, 28),
    (12, 24),
    (12, 25),
    (12, 31),
)
_HOLIDAY_UPLIFT = 1.6
_NB_DISPERSION = 6.0  # negative binomial size; variance = mu + mu^2 / size


def holiday_flags(dates: np.ndarray) -> np.ndarray:
    """Whether each date is one of :data:`HOLIDAYS`.

    Args:
        dates: Array of ``datetime64[D]``.

    Returns:
        Boolean array of the same shape.
    """
    months = dates.astype("datetime64[M]").astype(int) % 12 + 1
    days = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    flags = np.zeros(dates.shape, dtype=bool)
    for month, day in HOLIDAYS:
        flags |= (months == month) & (days == day)
    return flags


def _abc_classes(revenue: np.ndarray) -> np.ndarray:
    order = np.argsort(-revenue)
    share = np.cumsum(revenue[order]) / revenue.sum()
    ranked = np.where(share <= 0.8, "A", np.where(share <= 0.95, "B", "C"))
    ranked[0] = "A"
    out = np.empty(len(revenue), dtype=object)
    out[order] = ranked
    return out


def generate_demand(
    n_items: int = 20,
    n_warehouses: int = 1,
    n_days: int = 400,
    *,
    start: dt.date = dt.date(2023, 1, 1),
    seed: int = 0,
    intermittent_share: float = 0.25,
    promo_rate: float = 1 / 45,
    stockout_rate: float = 1 / 120,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Generate observed daily demand and the ground-truth expected demand.

    Args:
        n_items: Number of items; each is stocked in every warehouse.
        n_warehouses: Number of warehouses.
        n_days: Days of history per series.
        start: First date.
        seed: Random seed; the same seed gives identical frames.
        intermittent_share: Share of items with a mean below one unit a day (long tail).
        promo_rate: Daily probability that a promotion starts for a series.
        stockout_rate: Daily probability that a stockout episode starts for a series.

    Returns:
        ``(observed, truth)``: ``observed`` has the ``fct_demand_daily`` columns (item,
        warehouse, date, quantity, is_stockout, unit_price, is_promo, category, abc_class,
        day_of_week, month, is_holiday); ``truth`` has item, warehouse, date, expected_demand.
    """
    rng = np.random.default_rng(seed)
    cat_names = list(CATEGORIES)
    items = [f"SKU{i:04d}" for i in range(n_items)]
    warehouses = [f"WH{w:02d}" for w in range(n_warehouses)]
    item_cat = rng.choice(len(cat_names), size=n_items)
    intermittent = rng.random(n_items) < intermittent_share
    item_level = np.where(
        intermittent, rng.uniform(0.05, 0.9, n_items), np.exp(rng.normal(2.3, 0.9, n_items))
    )
    item_trend = rng.uniform(-0.25, 0.5, n_items)  # relative change per year
    item_price = np.round(np.exp(rng.normal(3.0, 0.7, n_items)), 2)
    wh_factor = rng.uniform(0.6, 1.4, n_warehouses)

    dates = np.arange(np.datetime64(start), np.datetime64(start) + n_days).astype("datetime64[D]")
    t = np.arange(n_days)
    dow = ((dates.astype(int) + 3) % 7).astype(np.int8)  # 1970-01-01 was a Thursday
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    month = (dates.astype("datetime64[M]").astype(int) % 12 + 1).astype(np.int8)
    holiday = holiday_flags(dates)

    s_item = np.repeat(np.arange(n_items), n_warehouses)
    s_wh = np.tile(np.arange(n_warehouses), n_items)
    n_series = len(s_item)
    cats = item_cat[s_item]
    weekly = np.array([CATEGORIES[c]["weekly"] for c in cat_names])[cats][:, dow]
    amp = np.array([CATEGORIES[c]["year"][0] for c in cat_names])[cats][:, None]
    peak = np.array([CATEGORIES[c]["year"][1] for c in cat_names])[cats][:, None]
    yearly = 1.0 + amp * np.cos(2 * np.pi * (doy[None, :] - peak) / 365.25)
    trend = np.clip(1.0 + item_trend[s_item][:, None] * t[None, :] / 365.0, 0.2, None)
    level = (item_level[s_item] * wh_factor[s_wh])[:, None]

    # Promotions: episodes of 3-10 days with a 10-35 % price cut and elastic uplift.
    is_promo = np.zeros((n_series, n_days), dtype=bool)
    discount = np.zeros((n_series, n_days))
    starts = rng.random((n_series, n_days)) < promo_rate
    for s, d in zip(*np.nonzero(starts), strict=True):
        length = rng.integers(3, 11)
        is_promo[s, d : d + length] = True
        discount[s, d : d + length] = rng.uniform(0.10, 0.35)
    elasticity = np.array([CATEGORIES[c]["elasticity"] for c in cat_names])[cats][:, None]
    uplift = 1.0 + elasticity * discount
    unit_price = np.round(item_price[s_item][:, None] * (1.0 - discount), 2)

    mu = level * weekly * yearly * trend * uplift * np.where(holiday, _HOLIDAY_UPLIFT, 1.0)[None, :]
    p = _NB_DISPERSION / (_NB_DISPERSION + mu)
    demand = rng.negative_binomial(_NB_DISPERSION, p).astype(float)

    # Stockouts: episodes of 2-7 days where available stock is a fraction of expected demand;
    # sales are capped at what was available and the day is flagged when stock ran out.
    available = np.full((n_series, n_days), np.inf)
    so_starts = rng.random((n_series, n_days)) < stockout_rate
    for s, d in zip(*np.nonzero(so_starts), strict=True):
        length = rng.integers(2, 8)
        span = slice(d, min(d + length, n_days))
        available[s, span] = np.floor(mu[s, span] * rng.uniform(0.0, 0.6, size=available[s, span].shape))
    sold = np.minimum(demand, available)
    is_stockout = np.isfinite(available) & (demand >= available)

    revenue = np.zeros(n_items)
    np.add.at(revenue, s_item, (mu * item_price[s_item][:, None]).sum(axis=1))
    abc = _abc_classes(revenue)

    def tile(a: np.ndarray) -> np.ndarray:
        return np.tile(a, n_series)

    keys = {
        "item": np.repeat(np.array(items, dtype=object)[s_item], n_days),
        "warehouse": np.repeat(np.array(warehouses, dtype=object)[s_wh], n_days),
        "date": tile(dates),
    }
    observed = pl.DataFrame(
        {
            **keys,
            "quantity": sold.ravel(),
            "is_stockout": is_stockout.ravel(),
            "unit_price": unit_price.ravel(),
            "is_promo": is_promo.ravel(),
            "category": np.repeat(np.array(cat_names, dtype=object)[cats], n_days),
            "abc_class": np.repeat(abc[s_item], n_days),
            "day_of_week": tile(dow),
            "month": tile(month),
            "is_holiday": tile(holiday),
        }
    ).with_columns(
        pl.col("item", "warehouse", "category", "abc_class").cast(pl.String),
        pl.col("date").cast(pl.Date),
        pl.col("day_of_week", "month").cast(pl.Int8),
    )
    truth = pl.DataFrame({**keys, "expected_demand": mu.ravel()}).with_columns(
        pl.col("item", "warehouse").cast(pl.String), pl.col("date").cast(pl.Date)
    )
    return observed, truth
