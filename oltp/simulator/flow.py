"""The stock flow of a run, vectorised over item x warehouse cells and stepped day by day.

Each day: purchase-order receipts arrive, a few cells are cycle counted, backorders then today's order lines are
filled from available stock (first come, first served per cell), unfilled consumer demand is lost while retail
and B2B demand is backordered (cancelled after ``BACKORDER_DAYS``), and each cell's inventory position is
reviewed against its (s, S) policy; suppliers deliver after a gamma lead time stretched by disruption episodes.
Reorder points are re-planned every four weeks from the observed demand, so seasonality and trend make the
policy lag — which is what produces realistic stockouts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from oltp.simulator.demand import BACKORDER_CHANNELS, DemandPlan, order_up_to
from oltp.simulator.master import MasterData

__all__ = ["FlowResult", "run_flow", "BACKORDER_DAYS", "SHIP_CUTOFF_MINUTE"]

BACKORDER_DAYS = 21
SHIP_CUTOFF_MINUTE = 13 * 60
REPLAN_DAYS = 28


@dataclass
class FlowResult:
    """Everything the stock flow decided, as arrays aligned to the order lines or as event frames."""

    fills: pl.DataFrame  # line_row, quantity, day, minute, ship_day, from_backorder
    line_allocated: np.ndarray  # total units allocated to each line over the run
    line_initial_fill: np.ndarray  # units allocated when the order was placed
    line_backordered: np.ndarray  # still waiting at the end of the run
    line_cancelled: np.ndarray  # lost or expired
    po_lines: pl.DataFrame  # day, item_idx, warehouse_idx, quantity, arrival_day
    cycle_counts: pl.DataFrame  # day, item_idx, warehouse_idx, delta, counted (system qty after)
    opening: np.ndarray  # I x W
    available: np.ndarray  # I x W at the end (on hand minus allocated-unshipped)
    stockout_days: int  # cell-days with unmet demand
    lost_units: int
    backordered_units: int
    policy_s: np.ndarray  # I*W reorder points at the end of the run
    policy_big_s: np.ndarray  # I*W order-up-to levels
    lead_time_mean: np.ndarray  # I*W
    lead_time_sd: np.ndarray  # I*W


def _next_ship_day(day: np.ndarray, start_dow: int) -> np.ndarray:
    # No outbound on Sundays.
    return day + ((day + start_dow) % 7 == 6)


def run_flow(
    lines: pl.DataFrame,
    plan: DemandPlan,
    master: MasterData,
    rng: np.random.Generator,
    *,
    days: int | None = None,
    progress=None,
) -> FlowResult:
    """Step the stock flow over the first ``days`` days (default all).

    Args:
        lines: Order lines from :func:`oltp.simulator.demand.sample_order_lines`.
        plan: The demand plan.
        master: Master data.
        rng: Random generator.
        days: Days to simulate (the rest is left to the services path).
        progress: Optional callable ``advance(n)`` for a progress bar.

    Returns:
        The flow result.
    """
    n_t_all, n_i, n_w = plan.expected.shape
    n_t = n_t_all if days is None else days
    n_c = n_i * n_w
    items = master.items
    sup_codes = master.suppliers["supplier"].to_list()
    sup_idx = np.array([sup_codes.index(s) for s in items["supplier"].to_list()])
    lt_mean = master.suppliers["lead_time_mean_days"].to_numpy()[sup_idx]
    lt_sd = np.maximum(master.suppliers["lead_time_sd_days"].to_numpy()[sup_idx], 0.2)
    moq = np.repeat(items["min_order_qty"].to_numpy(), n_w)
    mult = np.repeat(items["order_multiple"].to_numpy(), n_w)
    cell_lt, cell_lt_sd, cell_sup = np.repeat(lt_mean, n_w), np.repeat(lt_sd, n_w), np.repeat(sup_idx, n_w)

    # Supplier disruption episodes: lead times stretch 1.5-2.5x for 10-30 days, ~2 a year per supplier.
    n_sup = len(sup_codes)
    disruption = np.ones((n_t_all + 1, n_sup))
    for s in range(n_sup):
        for _ in range(rng.poisson(2.0 * n_t_all / 365.25)):
            d0 = int(rng.integers(0, n_t_all))
            disruption[d0 : d0 + int(rng.integers(10, 31)), s] = rng.uniform(1.5, 2.5)

    # Safety factor per cell: some items are run lean on purpose.
    z = np.clip(rng.normal(1.0, 0.7, n_c), -0.3, 2.3)
    cover = rng.uniform(7, 28, n_c)

    def policy(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sigma = np.sqrt(cell_lt * mu * 2.5 + (mu * cell_lt_sd) ** 2)
        s = np.ceil(mu * (cell_lt + 1) + z * sigma)
        return s, np.ceil(s + np.maximum(mu * cover, moq))

    mu0 = plan.expected[: min(56, n_t_all)].mean(axis=0).reshape(n_c)
    s_pt, big_s = policy(mu0)
    avail = big_s.astype(np.int64).copy()
    opening = avail.copy()
    on_order = np.zeros(n_c, dtype=np.int64)
    max_lt = int(np.ceil((lt_mean.max() + 6 * lt_sd.max()) * 3)) + 5
    arrivals = np.zeros((n_t + max_lt, n_c), dtype=np.int64)
    observed = np.zeros((n_t + 1, n_c))

    day_arr = lines["day"].to_numpy()
    cell_arr = lines["item_idx"].to_numpy().astype(np.int64) * n_w + lines["warehouse_idx"].to_numpy()
    qty_arr = lines["quantity"].to_numpy().astype(np.int64)
    minute_arr = lines["minute"].to_numpy()
    bo_ok = np.isin(lines["channel"].to_numpy(), BACKORDER_CHANNELS)
    n_lines = len(lines)
    day_bounds = np.searchsorted(day_arr, np.arange(n_t_all + 1))
    start_dow = int((plan.dates[0].astype(np.int64) + 3) % 7)

    allocated = np.zeros(n_lines, dtype=np.int64)
    initial = np.zeros(n_lines, dtype=np.int64)
    cancelled = np.zeros(n_lines, dtype=np.int64)
    bl_line = np.zeros(0, dtype=np.int64)
    bl_rem = np.zeros(0, dtype=np.int64)
    bl_since = np.zeros(0, dtype=np.int64)
    fills: list[tuple[np.ndarray, ...]] = []
    pos: list[tuple[np.ndarray, ...]] = []
    ccs: list[tuple[np.ndarray, ...]] = []
    stockout_days = lost = 0

    for d in range(n_t):
        avail += arrivals[d]
        on_order -= arrivals[d]
        weekday = (d + start_dow) % 7

        # Cycle counts: ~1 in 60 cells a day (weekdays), small shrinkage/found-stock differences.
        if weekday < 5:
            sel = np.flatnonzero(rng.random(n_c) < 1 / 60)
            delta = np.rint(rng.normal(-0.3, 0.015 * avail[sel] + 0.6)).astype(np.int64)
            delta = np.maximum(delta, -avail[sel])
            keep = delta != 0
            sel, delta = sel[keep], delta[keep]
            avail[sel] += delta
            ccs.append((np.full(len(sel), d), sel, delta, avail[sel].copy()))

        lo, hi = day_bounds[d], day_bounds[d + 1]
        today = np.arange(lo, hi)
        cand = np.concatenate([bl_line, today])
        cqty = np.concatenate([bl_rem, qty_arr[today]])
        ccell = cell_arr[cand]
        is_bl = np.concatenate([np.ones(len(bl_line), bool), np.zeros(len(today), bool)])
        sub = np.concatenate([bl_since, minute_arr[today]])
        o = np.lexsort((sub, ~is_bl, ccell))
        cand, cqty, ccell, is_bl = cand[o], cqty[o], ccell[o], is_bl[o]
        cum = np.cumsum(cqty)
        excl = cum - cqty
        gstart = np.ones(len(ccell), dtype=bool)
        gstart[1:] = ccell[1:] != ccell[:-1]
        base = excl[np.flatnonzero(gstart)][np.cumsum(gstart) - 1] if len(ccell) else excl
        fill = np.clip(avail[ccell] - (excl - base), 0, cqty)
        avail -= np.bincount(ccell, weights=fill, minlength=n_c).astype(np.int64)
        observed[d] = np.bincount(cell_arr[today], weights=qty_arr[today], minlength=n_c)

        got = fill > 0
        fl = cand[got]
        np.add.at(allocated, fl, fill[got])
        first = got & ~is_bl
        initial[cand[first]] = fill[first]
        f_min = np.where(is_bl[got], 8 * 60 + 30, minute_arr[fl])
        f_ship = np.where(is_bl[got] | (f_min < SHIP_CUTOFF_MINUTE), d, d + 1)
        fills.append(
            (fl, fill[got], np.full(len(fl), d), f_min, _next_ship_day(f_ship, start_dow), is_bl[got])
        )

        rem = cqty - fill
        short = rem > 0
        if short.any():
            stockout_days += len(np.unique(ccell[short]))
        # Backlog: old entries keep waiting until they expire; new unfilled retail/B2B lines join.
        keep_bl = is_bl & short
        bl_l, bl_r = cand[keep_bl], rem[keep_bl]
        since_map = dict(zip(bl_line.tolist(), bl_since.tolist(), strict=True))
        bl_s = np.array([since_map[x] for x in bl_l.tolist()], dtype=np.int64)
        expired = d - bl_s >= BACKORDER_DAYS
        cancelled[bl_l[expired]] += bl_r[expired]
        new = ~is_bl & short
        nl, nr = cand[new], rem[new]
        ok = bo_ok[nl]
        cancelled[nl[~ok]] += nr[~ok]
        lost += int(nr[~ok].sum())
        bl_line = np.concatenate([bl_l[~expired], nl[ok]])
        bl_rem = np.concatenate([bl_r[~expired], nr[ok]])
        bl_since = np.concatenate([bl_s[~expired], np.full(int(ok.sum()), d, dtype=np.int64)])

        # Re-plan the policy every four weeks from the last eight weeks of observed demand.
        if d >= 27 and d % REPLAN_DAYS == 0:
            mu = observed[max(0, d - 55) : d + 1].mean(axis=0)
            s_pt, big_s = policy(np.maximum(mu, 0.02))
        # (s, S) review on weekdays.
        if weekday < 5:
            backlog_cell = np.bincount(cell_arr[bl_line], weights=bl_rem, minlength=n_c).astype(np.int64)
            position = avail + on_order - backlog_cell
            q = order_up_to(position, s_pt, big_s, moq, mult)
            cells = np.flatnonzero(q > 0)
            if len(cells):
                m, sd = cell_lt[cells] * disruption[d, cell_sup[cells]], cell_lt_sd[cells]
                lt = rng.gamma((m / sd) ** 2, sd**2 / m)
                arr = d + np.maximum(1, np.ceil(lt)).astype(np.int64)
                arr = np.minimum(arr, len(arrivals) - 1)
                np.add.at(arrivals, (arr, cells), q[cells])
                on_order[cells] += q[cells]
                pos.append((np.full(len(cells), d), cells, q[cells], arr))
        if progress is not None:
            progress(1)

    backordered = np.zeros(n_lines, dtype=np.int64)
    backordered[bl_line] = bl_rem

    def frame(parts: list[tuple[np.ndarray, ...]], names: list[str]) -> pl.DataFrame:
        cols = [
            np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.int64)
            for k in range(len(names))
        ]
        return pl.DataFrame(dict(zip(names, cols, strict=True)))

    fills_df = frame(fills, ["line_row", "quantity", "day", "minute", "ship_day", "from_backorder"])
    po = frame(pos, ["day", "cell", "quantity", "arrival_day"])
    po = po.with_columns(
        (pl.col("cell") // n_w).alias("item_idx"), (pl.col("cell") % n_w).alias("warehouse_idx")
    ).drop("cell")
    cc = (
        frame(ccs, ["day", "cell", "delta", "counted"])
        .with_columns(
            (pl.col("cell") // n_w).alias("item_idx"), (pl.col("cell") % n_w).alias("warehouse_idx")
        )
        .drop("cell")
    )
    return FlowResult(
        fills=fills_df,
        line_allocated=allocated,
        line_initial_fill=initial,
        line_backordered=backordered,
        line_cancelled=cancelled,
        po_lines=po,
        cycle_counts=cc,
        opening=opening.reshape(n_i, n_w),
        available=avail.reshape(n_i, n_w),
        stockout_days=int(stockout_days),
        lost_units=int(lost),
        backordered_units=int(bl_rem.sum()),
        policy_s=s_pt,
        policy_big_s=big_s,
        lead_time_mean=cell_lt,
        lead_time_sd=cell_lt_sd,
    )
