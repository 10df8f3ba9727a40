"""Load building: pack orders into identical trucks by weight and volume (2-D vector bin packing).

Method. First-fit decreasing (FFD) always runs: orders sorted by their larger relative size
(``max(weight / W, volume / V)``) go into the first truck with room on both dimensions. For up to
``cpsat_max_orders`` orders, CP-SAT then minimises the number of trucks with FFD's count as the
upper bound and ``max(ceil(sum w / W), ceil(sum v / V))`` as the lower bound, starting from the
FFD solution; if it proves optimality the plan is optimal, otherwise the better of the two is
kept. Larger instances stay with FFD, which is at most ~11/9 OPT + 1 trucks in one dimension and
fast for thousands of orders; CP-SAT's ``orders x trucks`` booleans grow too quickly beyond a few
dozen orders on 2 workers.

Weights and volumes are scaled to integers for CP-SAT conservatively (order sizes rounded up,
capacities down), so a CP-SAT plan is always valid in the original units.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ml.optimization.errors import InfeasibleError

__all__ = ["LoadConfig", "LoadPlan", "build_loads", "first_fit_decreasing"]


@dataclass(frozen=True)
class LoadConfig:
    """Truck type and solver settings for :func:`build_loads`.

    Attributes:
        max_weight: Truck weight capacity (kg), > 0.
        max_volume: Truck volume capacity (m3), > 0.
        max_trucks: Fleet size; ``None`` = unlimited.
        cpsat_max_orders: Use CP-SAT up to this many orders, FFD beyond.
        time_limit_s: CP-SAT time limit.
        workers: CP-SAT search workers.
        scale: Integer scaling factor for CP-SAT (units per kg / m3).
    """

    max_weight: float = 24_000.0
    max_volume: float = 80.0
    max_trucks: int | None = None
    cpsat_max_orders: int = 60
    time_limit_s: float = 10.0
    workers: int = 2
    scale: int = 1000


@dataclass
class LoadPlan:
    """Output of :func:`build_loads`.

    Attributes:
        assignment: ``order_id`` (Utf8), ``truck`` (Int64, 0-based), ``weight``, ``volume``
            (Float64), one row per order.
        trucks: ``truck`` (Int64), ``orders`` (Int64 count), ``weight``, ``volume``,
            ``weight_utilisation``, ``volume_utilisation`` (Float64 in [0, 1]).
        summary: ``trucks_used``, ``lower_bound``, ``method`` (``"cp-sat"``/``"ffd"``),
            ``optimal`` (Boolean: proved, or FFD meeting the lower bound), ``solve_time_s``,
            ``mean_weight_utilisation``, ``mean_volume_utilisation``.
    """

    assignment: pl.DataFrame
    trucks: pl.DataFrame
    summary: dict[str, Any]


def first_fit_decreasing(
    weight: np.ndarray, volume: np.ndarray, max_weight: float, max_volume: float
) -> np.ndarray:
    """Pack items with first-fit decreasing on the larger relative dimension.

    Args:
        weight: Item weights.
        volume: Item volumes.
        max_weight: Bin weight capacity.
        max_volume: Bin volume capacity.

    Returns:
        Bin index per item (0-based, bins numbered in opening order).
    """
    size = np.maximum(weight / max_weight, volume / max_volume)
    order = np.argsort(-size, kind="stable")
    rem_w: list[float] = []
    rem_v: list[float] = []
    out = np.empty(weight.size, dtype=np.int64)
    for i in order:
        for b in range(len(rem_w)):
            if weight[i] <= rem_w[b] + 1e-9 and volume[i] <= rem_v[b] + 1e-9:
                rem_w[b] -= weight[i]
                rem_v[b] -= volume[i]
                out[i] = b
                break
        else:
            rem_w.append(max_weight - weight[i])
            rem_v.append(max_volume - volume[i])
            out[i] = len(rem_w) - 1
    return out


def _cpsat(
    weight: np.ndarray, volume: np.ndarray, cfg: LoadConfig, upper: int, lower: int, hint: np.ndarray
) -> tuple[np.ndarray | None, bool]:
    from ortools.sat.python import cp_model

    w = np.ceil(weight * cfg.scale - 1e-9).astype(np.int64)
    v = np.ceil(volume * cfg.scale - 1e-9).astype(np.int64)
    cap_w, cap_v = (
        int(math.floor(cfg.max_weight * cfg.scale + 1e-9)),
        int(math.floor(cfg.max_volume * cfg.scale + 1e-9)),
    )
    n = weight.size
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{i}_{b}") for b in range(upper)] for i in range(n)]
    used = [model.new_bool_var(f"u{b}") for b in range(upper)]
    for i in range(n):
        model.add_exactly_one(x[i])
        for b in range(upper):
            model.add_implication(x[i][b], used[b])
    for b in range(upper):
        model.add(sum(int(w[i]) * x[i][b] for i in range(n)) <= cap_w * used[b])
        model.add(sum(int(v[i]) * x[i][b] for i in range(n)) <= cap_v * used[b])
        if b + 1 < upper:
            model.add(used[b] >= used[b + 1])  # symmetry: use trucks in order
    # Symmetry: the largest order goes into truck 0.
    big = int(np.argmax(np.maximum(weight / cfg.max_weight, volume / cfg.max_volume)))
    model.add(x[big][0] == 1)
    model.add(sum(used) >= lower)
    model.minimize(sum(used))
    # Hint with FFD relabelled so the largest order's truck is truck 0.
    relabel = {int(hint[big]): 0}
    for b in hint.tolist():
        relabel.setdefault(int(b), len(relabel))
    for i in range(n):
        for b in range(upper):
            model.add_hint(x[i][b], relabel[int(hint[i])] == b)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = cfg.time_limit_s
    solver.parameters.num_search_workers = cfg.workers
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    out = np.array([next(b for b in range(upper) if solver.value(x[i][b])) for i in range(n)], dtype=np.int64)
    return out, status == cp_model.OPTIMAL


def build_loads(orders: pl.DataFrame, config: LoadConfig | None = None) -> LoadPlan:
    """Assign orders to trucks minimising the number of trucks.

    Args:
        orders: ``order_id`` (Utf8, unique), ``weight`` (Float64 kg >= 0), ``volume``
            (Float64 m3 >= 0), one row per order (an order is never split).
        config: Truck capacities, fleet limit and solver settings.

    Returns:
        A :class:`LoadPlan` with the order-to-truck assignment, per-truck utilisation and a
        summary.

    Raises:
        ValueError: Missing columns, duplicate ids, negative sizes, non-positive capacities.
        InfeasibleError: An order heavier or bulkier than a truck (``"truck_capacity"``, naming
            the order), or more trucks needed than ``max_trucks`` (``"truck_count"``).
    """
    cfg = config or LoadConfig()
    missing = [c for c in ("order_id", "weight", "volume") if c not in orders.columns]
    if missing:
        raise ValueError(f"orders: missing column(s) {', '.join(missing)}")
    if orders["order_id"].n_unique() != orders.height:
        raise ValueError("orders: 'order_id' must be unique")
    for c in ("weight", "volume"):
        if orders[c].null_count() or (orders[c] < 0).any():
            raise ValueError(f"orders: '{c}' must be non-negative and not null")
    if cfg.max_weight <= 0 or cfg.max_volume <= 0:
        raise ValueError("config: max_weight and max_volume must be > 0")
    ids = orders["order_id"].cast(pl.Utf8).to_list()
    weight = orders["weight"].to_numpy().astype(float)
    volume = orders["volume"].to_numpy().astype(float)
    for i in range(len(ids)):
        if weight[i] > cfg.max_weight + 1e-9 or volume[i] > cfg.max_volume + 1e-9:
            dim = "weight" if weight[i] > cfg.max_weight + 1e-9 else "volume"
            val, cap = (weight[i], cfg.max_weight) if dim == "weight" else (volume[i], cfg.max_volume)
            raise InfeasibleError(
                "truck_capacity",
                f"order {ids[i]}: {dim} {val:g} exceeds truck {dim} capacity {cap:g}; orders are not split",
            )
    t0 = time.perf_counter()
    lower = max(
        1, math.ceil(weight.sum() / cfg.max_weight - 1e-9), math.ceil(volume.sum() / cfg.max_volume - 1e-9)
    )
    if not ids:
        lower = 0
    bins = (
        first_fit_decreasing(weight, volume, cfg.max_weight, cfg.max_volume) if ids else np.zeros(0, np.int64)
    )
    used = int(bins.max()) + 1 if ids else 0
    method, optimal = "ffd", used == lower
    if ids and not optimal and len(ids) <= cfg.cpsat_max_orders:
        sol, proved = _cpsat(weight, volume, cfg, used, lower, bins)
        if sol is not None:
            k = len(np.unique(sol))
            if k <= used:
                _, sol = np.unique(sol, return_inverse=True)
                bins, used, method, optimal = sol.astype(np.int64), k, "cp-sat", proved or k == lower
    elapsed = time.perf_counter() - t0
    if cfg.max_trucks is not None and used > cfg.max_trucks:
        reason = "proved minimum" if optimal else "best found"
        raise InfeasibleError(
            "truck_count",
            f"orders need {used} trucks ({reason}; lower bound {lower}) but max_trucks is {cfg.max_trucks}",
        )
    assignment = pl.DataFrame(
        {"order_id": ids, "truck": bins, "weight": weight, "volume": volume},
        schema={"order_id": pl.Utf8, "truck": pl.Int64, "weight": pl.Float64, "volume": pl.Float64},
    )
    trucks = (
        assignment.group_by("truck")
        .agg(pl.len().cast(pl.Int64).alias("orders"), pl.col("weight").sum(), pl.col("volume").sum())
        .with_columns(
            (pl.col("weight") / cfg.max_weight).alias("weight_utilisation"),
            (pl.col("volume") / cfg.max_volume).alias("volume_utilisation"),
        )
        .sort("truck")
    )
    summary = {
        "trucks_used": used,
        "lower_bound": lower,
        "method": method,
        "optimal": bool(optimal),
        "solve_time_s": elapsed,
        "mean_weight_utilisation": float(trucks["weight_utilisation"].to_numpy().mean()) if used else 0.0,
        "mean_volume_utilisation": float(trucks["volume_utilisation"].to_numpy().mean()) if used else 0.0,
    }
    return LoadPlan(assignment=assignment, trucks=trucks, summary=summary)
