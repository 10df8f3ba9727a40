"""Pure pieces of the simulator's demand model and supply policy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from oltp.simulator.config import SimulationConfig
from oltp.simulator.demand import (
    build_demand,
    holiday_factor,
    order_up_to,
    popularity_weights,
    price_effect,
    promo_uplift,
    sample_order_lines,
    weekly_factor,
    yearly_factor,
)
from oltp.simulator.flow import run_flow
from oltp.simulator.master import build_master


def _days(start: str, n: int) -> np.ndarray:
    return np.datetime64(start) + np.arange(n)


def test_weekly_factor_follows_profile_and_averages_one() -> None:
    profile = np.array([1, 1, 1, 1, 2, 2, 0.5])
    days = _days("2024-01-01", 14)  # a Monday
    f = weekly_factor(days, profile)
    assert f.mean() == pytest.approx(1.0)
    assert f[5] == pytest.approx(2 / profile.mean())  # Saturday
    assert f[6] == f.min()  # Sunday
    assert np.allclose(f[:7], f[7:])


def test_yearly_factor_peaks_on_peak_day() -> None:
    days = _days("2023-01-01", 365)
    f = yearly_factor(days, 0.5, 200)
    assert int(np.argmax(f)) + 1 == 200
    assert f.max() == pytest.approx(1.5, abs=1e-3) and f.min() == pytest.approx(0.5, abs=1e-3)
    assert f.mean() == pytest.approx(1.0, abs=0.01)


def test_holidays_close_and_black_friday_peaks() -> None:
    days = _days("2024-11-01", 61)
    f = dict(zip(days.astype("datetime64[D]").astype(dt.date), holiday_factor(days), strict=True))
    assert f[dt.date(2024, 12, 25)] < 0.5
    assert f[dt.date(2024, 11, 29)] > 2  # Black Friday 2024
    assert f[dt.date(2024, 11, 5)] == 1.0


def test_promo_uplift_grows_with_discount() -> None:
    u = promo_uplift(np.array([0.0, 0.1, 0.2, 0.3]))
    assert u[0] == 1.0
    assert np.all(np.diff(u) > 0) and u[1] > 1.3
    assert price_effect(np.array([11.0]), np.array([10.0]))[0] < 1


def test_order_up_to_policy() -> None:
    position = np.array([5, 20, -3, 10])
    s = np.array([10, 10, 10, 10])
    big_s = np.array([50, 50, 50, 50])
    moq = np.array([1, 1, 1, 60])
    multiple = np.array([1, 1, 12, 1])
    q = order_up_to(position, s, big_s, moq, multiple)
    assert q[0] == 45  # up to S
    assert q[1] == 0  # above the reorder point
    assert q[2] == 60  # 53 rounded up to a multiple of 12
    assert q[3] == 60  # at s: order, at least the MOQ


def test_popularity_is_heavy_tailed() -> None:
    w = popularity_weights(500, np.random.default_rng(0))
    top = np.sort(w)[::-1]
    assert w.sum() == pytest.approx(1.0)
    assert top[:50].sum() > 0.5  # top 10% of items carry most of the demand


def _small(days: int = 90) -> tuple:
    cfg = SimulationConfig(days=days, skus=15, warehouses=2, seed=5, start_date=dt.date(2024, 1, 1))
    rng = np.random.default_rng(1)
    master = build_master(cfg, rng)
    plan = build_demand(cfg, master, rng)
    lines = sample_order_lines(plan, master, rng)
    return cfg, master, plan, lines


def test_sampled_demand_matches_expectation_and_is_intermittent() -> None:
    _, _, plan, lines = _small()
    assert lines["quantity"].sum() == pytest.approx(plan.expected.sum(), rel=0.08)
    cells = lines.group_by("day", "item_idx", "warehouse_idx").len().height
    n_t, n_i, n_w = plan.expected.shape
    assert cells < 0.9 * n_t * n_i * n_w  # many zero days for the long tail
    promo = lines.filter(lines["is_promo"])
    assert promo.height > 0
    assert (lines["line_number"] >= 1).all()


def test_master_data_is_complete_and_deterministic() -> None:
    cfg = SimulationConfig(days=10, skus=40, warehouses=3, seed=2)
    a = build_master(cfg, np.random.default_rng(3))
    b = build_master(cfg, np.random.default_rng(3))
    assert a.items.equals(b.items) and a.locations.equals(b.locations)
    assert set(a.zones["temperature_class"]) == {"ambient", "chilled", "frozen", "hazmat"}
    assert set(a.locations["location_type"]) == {"pick_face", "reserve"}
    # Every item has a distinct pick face per warehouse in the zone of its temperature class.
    for w in range(3):
        faces = a.pick_face[:, w]
        assert len(set(faces.tolist())) == 40
    assert a.lane_transit["reliability"].is_between(0, 1).all()


def test_flow_never_oversells_and_conserves_stock() -> None:
    _, master, plan, lines = _small(120)
    flow = run_flow(lines, plan, master, np.random.default_rng(2))
    assert (flow.available >= 0).all()
    alloc = flow.line_allocated
    qty = lines["quantity"].to_numpy()
    assert (alloc + flow.line_backordered + flow.line_cancelled == qty).all()
    received = flow.po_lines.filter(flow.po_lines["arrival_day"] < 120)["quantity"].sum()
    counted = flow.cycle_counts["delta"].sum()
    assert flow.opening.sum() + received + counted - alloc.sum() == flow.available.sum()
    assert flow.stockout_days > 0 and len(flow.po_lines) > 0
