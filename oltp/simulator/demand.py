"""The demand process: expected demand per item x warehouse x day, and order lines sampled from it.

Expected demand is the mean of the process before sampling, including popularity, trend, weekly and yearly
seasonality by category, holidays, price changes and promotions; it is written to ``sim.expected_demand`` as the
ground truth forecasts are scored against. Sampling adds over-dispersion (gamma-Poisson) and lumpy line sizes, so
long-tail items see many zero days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from oltp.simulator.config import SimulationConfig
from oltp.simulator.master import CATEGORIES, MasterData

__all__ = [
    "DemandPlan",
    "weekly_factor",
    "yearly_factor",
    "holiday_factor",
    "promo_uplift",
    "price_effect",
    "popularity_weights",
    "order_up_to",
    "build_demand",
    "sample_order_lines",
    "CHANNELS",
]

CHANNELS = ("web", "marketplace", "retail", "b2b", "api")
CHANNEL_P = np.array([0.48, 0.17, 0.15, 0.15, 0.05])
# Retail and B2B customers wait for backorders; consumers buy elsewhere (lost sales).
BACKORDER_CHANNELS = ("retail", "b2b")
PRICE_ELASTICITY = 1.6


def weekly_factor(dates: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Day-of-week multiplier, normalised to mean 1 over a week.

    Args:
        dates: ``datetime64[D]`` days.
        profile: Seven relative weights, Monday first.

    Returns:
        One factor per date.
    """
    p = np.asarray(profile, dtype=float)
    p = p / p.mean()
    dow = (dates.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return p[dow]


def yearly_factor(dates: np.ndarray, amplitude: float, peak_doy: float) -> np.ndarray:
    """Annual cosine seasonality peaking on day-of-year ``peak_doy`` (mean 1 over a year).

    Args:
        dates: ``datetime64[D]`` days.
        amplitude: Relative swing (0.3 = ±30%).
        peak_doy: Day of year of the peak.

    Returns:
        One factor per date.
    """
    d = dates.astype("datetime64[D]")
    doy = (d - d.astype("datetime64[Y]")).astype(np.int64) + 1
    return 1.0 + amplitude * np.cos(2 * np.pi * (doy - peak_doy) / 365.25)


def _holidays(year: int) -> dict[dt.date, float]:
    nov1 = dt.date(year, 11, 1)
    thanksgiving = nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    black_friday = thanksgiving + dt.timedelta(days=1)
    out = {
        dt.date(year, 1, 1): 0.25,
        dt.date(year, 5, 1): 0.5,
        dt.date(year, 12, 24): 0.6,
        dt.date(year, 12, 25): 0.15,
        dt.date(year, 12, 26): 0.4,
        dt.date(year, 12, 31): 0.7,
        black_friday: 2.4,
        black_friday + dt.timedelta(days=3): 1.8,  # cyber monday
    }
    # The run-up to Christmas.
    for k in range(1, 15):
        out.setdefault(dt.date(year, 12, 24) - dt.timedelta(days=k), 1.0 + 0.04 * (15 - k))
    return out


def holiday_factor(dates: np.ndarray) -> np.ndarray:
    """Holiday and peak-event multiplier (closures, Black Friday, the Christmas run-up).

    Args:
        dates: ``datetime64[D]`` days.

    Returns:
        One factor per date (1.0 on ordinary days).
    """
    days = dates.astype("datetime64[D]").astype(dt.date)
    table: dict[dt.date, float] = {}
    for year in sorted({d.year for d in days}):
        table.update(_holidays(year))
    return np.array([table.get(d, 1.0) for d in days])


def price_effect(
    price: np.ndarray, reference: np.ndarray, elasticity: float = PRICE_ELASTICITY
) -> np.ndarray:
    """Constant-elasticity response of demand to the price relative to a reference price.

    Args:
        price: Current price.
        reference: Reference (initial list) price.
        elasticity: Price elasticity (positive number; demand falls as price rises).

    Returns:
        Demand multiplier.
    """
    return (np.asarray(price, dtype=float) / np.asarray(reference, dtype=float)) ** (-elasticity)


def promo_uplift(
    discount: np.ndarray, boost: float = 1.35, elasticity: float = PRICE_ELASTICITY
) -> np.ndarray:
    """Demand multiplier of a promotion: the price cut's elasticity effect times a visibility boost.

    Args:
        discount: Fractional discount (0.2 = 20% off); 0 means no promotion.
        boost: Extra multiplier for being on promotion at all (display, ads).
        elasticity: Price elasticity.

    Returns:
        Multiplier (1.0 where ``discount`` is 0).
    """
    d = np.asarray(discount, dtype=float)
    return np.where(d > 0, (1.0 - d) ** (-elasticity) * boost, 1.0)


def popularity_weights(n: int, rng: np.random.Generator, zipf_s: float = 1.05) -> np.ndarray:
    """Heavy-tailed item popularity: Zipf over a random ranking with lognormal noise; sums to 1.

    Args:
        n: Number of items.
        rng: Random generator.
        zipf_s: Zipf exponent.

    Returns:
        Shares summing to 1.
    """
    ranks = rng.permutation(n) + 1
    w = ranks ** (-zipf_s) * rng.lognormal(0.0, 0.35, n)
    return w / w.sum()


def order_up_to(
    position: np.ndarray, s: np.ndarray, big_s: np.ndarray, moq: np.ndarray, multiple: np.ndarray
) -> np.ndarray:
    """(s, S) replenishment: when the inventory position is at or below ``s``, order up to ``S``, respecting the
    minimum order quantity and order multiple.

    Args:
        position: Inventory position (on hand + on order − backorders).
        s: Reorder points.
        big_s: Order-up-to levels.
        moq: Minimum order quantities.
        multiple: Order multiples.

    Returns:
        Quantity to order (0 where no order is due).
    """
    need = np.where(position <= s, big_s - position, 0)
    need = np.maximum(need, np.where(need > 0, moq, 0))
    return (np.ceil(need / multiple) * multiple).astype(np.int64)


@dataclass
class DemandPlan:
    """The demand process of a run (arrays are day x item [x warehouse])."""

    dates: np.ndarray  # datetime64[D], T
    expected: np.ndarray  # float64 T x I x W, units
    price: np.ndarray  # float64 T x I, the selling price (promotions applied)
    discount: np.ndarray  # float64 T x I, 0 = no promotion
    mean_qty: np.ndarray  # float64 I, mean units per order line
    warehouse_share: np.ndarray  # float64 W


def build_demand(config: SimulationConfig, master: MasterData, rng: np.random.Generator) -> DemandPlan:
    """The expected demand of every item x warehouse x day.

    Args:
        config: Run configuration (days, start date, scale).
        master: Master data (items, warehouses, customers).
        rng: Random generator.

    Returns:
        The demand plan.
    """
    items = master.items
    n_i, n_w, n_t = len(items), len(master.warehouses), config.days
    start = np.datetime64(config.first_day, "D")
    dates = start + np.arange(n_t)
    cats = items["category"].to_list()
    mean_qty = np.array([CATEGORIES[c]["qty"] for c in cats]) * rng.uniform(0.7, 1.3, n_i)

    pop = popularity_weights(n_i, rng)
    # Warehouse share follows the customers it serves.
    cust_wh = np.array([master.region_warehouse[r] for r in master.customers["region"].to_list()])
    wshare = np.bincount(cust_wh, minlength=n_w).astype(float) + 1.0
    wshare /= wshare.sum()
    # Item mix differs a little per warehouse.
    local = rng.lognormal(0.0, 0.3, (n_i, n_w))
    base_units = config.lines_per_day * (pop * mean_qty)[:, None] * wshare[None, :] * local  # units/day

    # Category seasonality (per item, a little jitter on the category pattern), trend, holidays.
    seasonal = np.empty((n_t, n_i))
    for c in set(cats):
        spec = CATEGORIES[c]
        idx = np.flatnonzero(np.array(cats) == c)
        wk = weekly_factor(dates, np.array(spec["weekly"]))
        yr = yearly_factor(dates, spec["amp"], spec["peak"])
        seasonal[:, idx] = (wk * yr)[:, None]
    years = np.arange(n_t) / 365.25
    growth = rng.normal(0.08, 0.18, n_i)  # per year
    trend = np.exp(np.outer(years, growth))
    hol = holiday_factor(dates)

    # Prices: one or two list-price changes a year; promotions of 4-14 days, a few per item per year.
    list_price = items["list_price"].to_numpy().astype(float)
    price = np.tile(list_price, (n_t, 1))
    n_changes = rng.poisson(1.5 * n_t / 365.25, n_i)
    for i in np.flatnonzero(n_changes):
        for day in np.sort(rng.integers(30, max(31, n_t), n_changes[i])):
            price[day:, i] *= 1 + rng.choice([-1, 1]) * rng.uniform(0.03, 0.10)
    discount = np.zeros((n_t, n_i))
    n_promos = rng.poisson(4.0 * n_t / 365.25, n_i)
    for i in np.flatnonzero(n_promos):
        for _ in range(n_promos[i]):
            start_day = int(rng.integers(0, n_t))
            length = int(rng.integers(4, 15))
            discount[start_day : start_day + length, i] = round(
                float(rng.choice([0.1, 0.15, 0.2, 0.25, 0.3])), 2
            )
    effect = price_effect(price, list_price[None, :]) * promo_uplift(discount)
    sell_price = np.round(price * (1 - discount), 2)

    daily = seasonal * trend * hol[:, None] * effect  # T x I
    expected = daily[:, :, None] * base_units[None, :, :]
    return DemandPlan(
        dates=dates,
        expected=expected,
        price=sell_price,
        discount=discount,
        mean_qty=mean_qty,
        warehouse_share=wshare,
    )


def sample_order_lines(plan: DemandPlan, master: MasterData, rng: np.random.Generator) -> pl.DataFrame:
    """Sample order lines from the plan and group them into orders.

    Each item x warehouse x day draws a gamma-Poisson number of lines with mean ``expected / mean_qty`` and line
    quantities ``1 + Poisson(mean_qty − 1)``, so the expected units equal ``expected``. Lines of the same
    warehouse and day are shuffled and cut into orders of 1-5 lines; each order gets a channel, a customer served
    by that warehouse and a time of day.

    Args:
        plan: The demand plan.
        master: Master data.
        rng: Random generator.

    Returns:
        One row per order line: ``order_key`` (dense, in time order), ``day``, ``warehouse_idx``, ``item_idx``,
        ``quantity``, ``unit_price``, ``is_promo``, ``customer_idx``, ``channel``, ``minute`` (of the day),
        ``line_number``.
    """
    n_t, n_i, n_w = plan.expected.shape
    mq = plan.mean_qty
    rate = plan.expected / mq[None, :, None]
    # Over-dispersion: per cell-day gamma multiplier (shape 2.5) keeps the mean and fattens the tail.
    mix = rng.gamma(2.5, 1 / 2.5, rate.shape)
    counts = rng.poisson(rate * mix)
    t, i, w = np.nonzero(counts)
    reps = counts[t, i, w]
    t, i, w = np.repeat(t, reps), np.repeat(i, reps), np.repeat(w, reps)
    qty = 1 + rng.poisson(np.maximum(mq[i] - 1, 0))

    # Orders: within (day, warehouse) shuffle lines, cut into orders (mean ~1.7 lines).
    key = rng.random(len(t))
    order = np.lexsort((key, w, t))
    t, i, w, qty = t[order], i[order], w[order], qty[order]
    group_start = np.ones(len(t), dtype=bool)
    group_start[1:] = (t[1:] != t[:-1]) | (w[1:] != w[:-1])
    new_order = group_start | (rng.random(len(t)) < 0.6)
    order_key = np.cumsum(new_order) - 1
    n_orders = int(order_key[-1]) + 1 if len(order_key) else 0
    starts = np.flatnonzero(new_order)
    line_number = np.arange(len(t)) - starts[order_key] + 1

    channel = rng.choice(len(CHANNELS), size=n_orders, p=CHANNEL_P)
    # Customers of the warehouse's regions; B2B/retail orders go to B2B customers.
    cust = master.customers
    cust_wh = np.array([master.region_warehouse[r] for r in cust["region"].to_list()])
    is_b2b = cust["is_b2b"].to_numpy()
    order_wh = w[starts]
    order_cust = np.empty(n_orders, dtype=np.int64)
    for wh in range(n_w):
        for b2b in (False, True):
            pool = np.flatnonzero((cust_wh == wh) & (is_b2b == b2b))
            if len(pool) == 0:
                pool = np.flatnonzero(cust_wh == wh)
            if len(pool) == 0:
                pool = np.arange(len(cust))
            sel = np.flatnonzero((order_wh == wh) & (np.isin(channel, [2, 3]) == b2b))
            # Repeat customers: a Zipf-ish preference inside the pool.
            pw = (np.arange(len(pool)) + 1.0) ** -0.6
            order_cust[sel] = pool[rng.choice(len(pool), size=len(sel), p=pw / pw.sum())]
    # Time of day: a morning and an evening peak (minutes after midnight UTC).
    minute = (
        np.where(
            rng.random(n_orders) < 0.55,
            rng.normal(10.5 * 60, 110, n_orders),
            rng.normal(19.5 * 60, 120, n_orders),
        )
        .clip(0, 1439)
        .astype(np.int64)
    )
    # Order keys in time order within a day so ids grow with time.
    okey_sorted = np.lexsort((np.arange(n_orders), minute, t[starts]))
    rank = np.empty(n_orders, dtype=np.int64)
    rank[okey_sorted] = np.arange(n_orders)
    lines = pl.DataFrame(
        {
            "order_key": rank[order_key],
            "day": t.astype(np.int32),
            "warehouse_idx": w.astype(np.int32),
            "item_idx": i.astype(np.int32),
            "quantity": qty.astype(np.int64),
            "unit_price": plan.price[t, i],
            "is_promo": plan.discount[t, i] > 0,
            "customer_idx": order_cust[order_key],
            "channel": np.array(CHANNELS)[channel[order_key]],
            "minute": minute[order_key],
            "line_number": line_number.astype(np.int32),
        }
    )
    return lines.sort(["order_key", "line_number"])
