"""Monthly sales & operations planning (S&OP) linear programme by family x warehouse x month.

Decision variables per family ``f``, warehouse ``w``, month ``t``: supply arriving ``X`` (ordered
``lead_time_months`` earlier from the family's supplier), ending inventory ``I``, unmet demand
``U`` (lost sales, ``0 <= U <= demand``) and, per lane ``l = (a -> b)``, transfers ``T`` shipped
in month ``t`` and received ``lead_time_months`` later.

Constraints:

* flow balance ``I[t] = I[t-1] + X[t] + sum_in T[t - lt] - sum_out T[t] - (demand[t] - U[t])``
  with ``I[-1]`` the initial inventory;
* supplier capacity per order month ``sum_{f of s, w} X[f, w, tau + L_s] <= capacity[s, tau]``;
  orders that would have to be placed before month 0 are not available (``X = 0`` in the
  first ``L_s`` months: that pipeline is part of the initial inventory);
* warehouse storage ``sum_f volume_f * I[f, w, t] <= storage_capacity[w, t]``;
* warehouse throughput (units handled) ``sum_f X + T_in + T_out + (demand - U) <= throughput[w, t]``;
* optional lane capacity per month.

Objective: minimise ``unit_cost * X + holding_cost * I + lane cost * T + unmet_penalty * U``.

Unmet demand is a slack, so the model is feasible unless the initial inventory alone overflows a
warehouse; that case raises :class:`~ml.optimization.errors.InfeasibleError` naming the
warehouse. The model is assembled as one sparse matrix with numpy index arithmetic and handed to
GLOP through OR-Tools' ``model_builder`` helper (``fill_model_from_sparse_data``), avoiding one
Python call per variable, so 500 families x 20 warehouses x 18 months (~1M variables) builds in
seconds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from ml.optimization.errors import InfeasibleError

__all__ = [
    "Scenario",
    "ScenarioComparison",
    "SopConfig",
    "SopInputs",
    "SopResult",
    "builtin_scenarios",
    "run_scenarios",
    "solve_sop",
    "synthetic_sop_inputs",
]


@dataclass(frozen=True)
class SopInputs:
    """Input frames of the S&OP model.

    Attributes:
        demand: ``family`` (Utf8), ``warehouse`` (Utf8), ``month`` (any sortable type: Int64,
            Date, Utf8 'YYYY-MM'), ``demand`` (Float64 units >= 0). The distinct months define the
            horizon; missing rows mean zero demand.
        families: ``family``, ``supplier`` (Utf8), ``unit_cost`` (supply cost per unit),
            ``holding_cost`` (per unit per month), ``unmet_penalty`` (per unit of lost demand),
            ``volume`` (storage per unit), all Float64 >= 0.
        suppliers: ``supplier``, ``capacity`` (Float64 units per order month),
            ``lead_time_months`` (Int64 >= 0); optional ``month`` for time-varying capacity
            (then one row per supplier x month).
        warehouses: ``warehouse``, ``storage_capacity`` (Float64, volume),
            ``throughput_capacity`` (Float64, units handled per month); optional ``month``.
        lanes: Allowed transfers: ``from_warehouse``, ``to_warehouse``, ``cost_per_unit``
            (Float64); optional ``lead_time_months`` (Int64, default 0) and ``capacity``
            (Float64 units per month). Keep it sparse (e.g. nearest neighbours); an empty frame
            disables transfers.
        initial_inventory: Optional ``family``, ``warehouse``, ``inventory`` (Float64).
    """

    demand: pl.DataFrame
    families: pl.DataFrame
    suppliers: pl.DataFrame
    warehouses: pl.DataFrame
    lanes: pl.DataFrame
    initial_inventory: pl.DataFrame | None = None


@dataclass(frozen=True)
class SopConfig:
    """Solver settings for :func:`solve_sop`.

    Attributes:
        time_limit_s: GLOP time limit in seconds (``None`` = no limit).
        solver: ``"glop"`` (OR-Tools simplex, default), ``"pdlp"`` (OR-Tools first-order,
            multi-threaded, lower precision) or ``"highs"`` (HiGHS through scipy; same sparse
            model, used as a cross-check and for the largest sizes).
        solver_parameters: Solver-specific parameters in text format, passed to OR-Tools
            solvers. Dual simplex is the default for GLOP: on a 200 x 10 x 18 synthetic model
            it took 4.6 s CPU against 7.8 s for GLOP's default choice.
    """

    time_limit_s: float | None = None
    solver: str = "glop"
    solver_parameters: str = "use_dual_simplex: true"


@dataclass
class SopResult:
    """Output of :func:`solve_sop`.

    Attributes:
        plan: One row per family x warehouse x month: ``family``, ``warehouse``, ``month``,
            ``demand``, ``supply``, ``transfer_in``, ``transfer_out``, ``ending_inventory``,
            ``unmet``, ``supply_cost``, ``holding_cost``, ``transport_cost`` (of transfers
            shipped out), ``unmet_cost`` (all Float64).
        transfers: Non-zero transfers: ``family``, ``from_warehouse``, ``to_warehouse``,
            ``month`` (shipping month), ``quantity``, ``cost``.
        utilisation: Per warehouse x month: ``storage_used``, ``storage_capacity``,
            ``throughput_used``, ``throughput_capacity`` and the two ratios.
        summary: ``status``, ``total_cost``, ``supply_cost``, ``holding_cost``,
            ``transport_cost``, ``unmet_cost``, ``demand_units``, ``unmet_units``, ``fill_rate``,
            ``storage_utilisation`` / ``throughput_utilisation`` (mean over warehouse-months),
            ``peak_storage_utilisation``, ``variables``, ``constraints``, ``build_time_s``,
            ``solve_time_s``.
    """

    plan: pl.DataFrame
    transfers: pl.DataFrame
    utilisation: pl.DataFrame
    summary: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    """A what-if applied to :class:`SopInputs` before solving.

    Attributes:
        name: Label in the comparison frame.
        demand_factor: Multiplier on all demand (1.2 = +20%).
        warehouse_capacity_loss: Warehouse -> fraction of storage and throughput lost (0.3 = 30%).
        supplier_delay_months: Supplier -> extra lead time in months.
        supplier_capacity_factor: Supplier -> multiplier on capacity.
    """

    name: str
    demand_factor: float = 1.0
    warehouse_capacity_loss: Mapping[str, float] = field(default_factory=dict)
    supplier_delay_months: Mapping[str, int] = field(default_factory=dict)
    supplier_capacity_factor: Mapping[str, float] = field(default_factory=dict)


@dataclass
class ScenarioComparison:
    """Output of :func:`run_scenarios`.

    Attributes:
        comparison: One row per scenario: ``scenario``, ``status``, ``total_cost``,
            ``fill_rate``, ``unmet_units``, ``supply_cost``, ``holding_cost``,
            ``transport_cost``, ``unmet_cost``, ``storage_utilisation``,
            ``throughput_utilisation``, ``peak_storage_utilisation``, ``cost_vs_base_pct``.
        results: Scenario name -> full :class:`SopResult`.
    """

    comparison: pl.DataFrame
    results: dict[str, SopResult]


def _require(frame: pl.DataFrame, cols: Sequence[str], name: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def _nonneg(frame: pl.DataFrame, cols: Sequence[str], name: str) -> None:
    for c in cols:
        if c in frame.columns and (frame[c].null_count() or (frame[c] < 0).any()):
            raise ValueError(f"{name}: '{c}' must be non-negative and not null")


def _per_month(
    frame: pl.DataFrame, key: str, value: str, keys: list[str], months: list[Any], name: str
) -> np.ndarray:
    """``len(keys) x len(months)`` array from a frame that may or may not have a month column."""
    k_idx = {k: i for i, k in enumerate(keys)}
    out = np.zeros((len(keys), len(months)))
    if "month" in frame.columns:
        m_idx = {m: i for i, m in enumerate(months)}
        seen = np.zeros_like(out, dtype=bool)
        for k, m, v in frame.select(key, "month", value).iter_rows():
            if k in k_idx and m in m_idx:
                out[k_idx[k], m_idx[m]] = v
                seen[k_idx[k], m_idx[m]] = True
        if not seen.all():
            i, t = np.argwhere(~seen)[0]
            raise ValueError(f"{name}: no '{value}' for {keys[i]!r} in month {months[t]!r}")
    else:
        for k, v in frame.select(key, value).iter_rows():
            if k in k_idx:
                out[k_idx[k], :] = v
    return out


def solve_sop(inputs: SopInputs, config: SopConfig | None = None) -> SopResult:
    """Solve the monthly S&OP linear programme.

    Args:
        inputs: Demand, families, suppliers, warehouses, lanes and initial inventory; see
            :class:`SopInputs` for columns and units.
        config: Solver settings.

    Returns:
        A :class:`SopResult` with the plan, transfers, utilisation and a cost summary.

    Raises:
        ValueError: Missing columns, negative values, unknown families/warehouses/suppliers.
        InfeasibleError: The initial inventory alone exceeds a warehouse's storage and cannot
            be shipped out (``"storage"``), or the solver reports infeasibility for another
            reason (``"sop"``) with the diagnosis it could make.
    """
    cfg = config or SopConfig()
    t0 = time.perf_counter()
    d, fam, sup, wh, lanes = inputs.demand, inputs.families, inputs.suppliers, inputs.warehouses, inputs.lanes
    _require(d, ("family", "warehouse", "month", "demand"), "demand")
    _require(fam, ("family", "supplier", "unit_cost", "holding_cost", "unmet_penalty", "volume"), "families")
    _require(sup, ("supplier", "capacity", "lead_time_months"), "suppliers")
    _require(wh, ("warehouse", "storage_capacity", "throughput_capacity"), "warehouses")
    _require(lanes, ("from_warehouse", "to_warehouse", "cost_per_unit"), "lanes")
    _nonneg(d, ["demand"], "demand")
    _nonneg(fam, ["unit_cost", "holding_cost", "unmet_penalty", "volume"], "families")
    _nonneg(sup, ["capacity", "lead_time_months"], "suppliers")
    _nonneg(wh, ["storage_capacity", "throughput_capacity"], "warehouses")
    _nonneg(lanes, ["cost_per_unit", "lead_time_months", "capacity"], "lanes")

    months = sorted(d["month"].unique().to_list())
    families = fam["family"].to_list()
    if len(set(families)) != len(families):
        raise ValueError("families: 'family' must be unique")
    warehouses = sorted(wh["warehouse"].unique().to_list())
    suppliers = sorted(sup["supplier"].unique().to_list())
    for col, known, name in (
        ("family", set(families), "demand"),
        ("warehouse", set(warehouses), "demand"),
    ):
        bad = set(d[col].unique().to_list()) - known
        if bad:
            raise ValueError(f"{name}: unknown {col} {sorted(bad)[0]!r}")
    bad = set(fam["supplier"].to_list()) - set(suppliers)
    if bad:
        raise ValueError(f"families: supplier {sorted(bad)[0]!r} is not in suppliers")
    for col in ("from_warehouse", "to_warehouse"):
        bad = set(lanes[col].to_list()) - set(warehouses)
        if bad:
            raise ValueError(f"lanes: unknown {col} {sorted(bad)[0]!r}")

    F, W, T = len(families), len(warehouses), len(months)
    f_idx = {f: i for i, f in enumerate(families)}
    w_idx = {w: i for i, w in enumerate(warehouses)}
    m_idx = {m: i for i, m in enumerate(months)}
    s_idx = {s: i for i, s in enumerate(suppliers)}

    dem = np.zeros((F, W, T))
    dd = d.group_by("family", "warehouse", "month").agg(pl.col("demand").sum())
    fi = dd["family"].replace_strict(f_idx, return_dtype=pl.Int64).to_numpy()
    wi = dd["warehouse"].replace_strict(w_idx, return_dtype=pl.Int64).to_numpy()
    ti = dd["month"].replace_strict(m_idx, return_dtype=pl.Int64).to_numpy()
    dem[fi, wi, ti] = dd["demand"].to_numpy()

    init = np.zeros((F, W))
    if inputs.initial_inventory is not None and inputs.initial_inventory.height:
        ii = inputs.initial_inventory
        _require(ii, ("family", "warehouse", "inventory"), "initial_inventory")
        _nonneg(ii, ["inventory"], "initial_inventory")
        ii = ii.filter(pl.col("family").is_in(families) & pl.col("warehouse").is_in(warehouses))
        init[
            ii["family"].replace_strict(f_idx, return_dtype=pl.Int64).to_numpy(),
            ii["warehouse"].replace_strict(w_idx, return_dtype=pl.Int64).to_numpy(),
        ] = ii["inventory"].to_numpy()

    f_sup = fam["supplier"].replace_strict(s_idx, return_dtype=pl.Int64).to_numpy()
    unit_cost = fam["unit_cost"].to_numpy().astype(float)
    hold = fam["holding_cost"].to_numpy().astype(float)
    pen = fam["unmet_penalty"].to_numpy().astype(float)
    vol = fam["volume"].to_numpy().astype(float)
    s_cap = _per_month(sup, "supplier", "capacity", suppliers, months, "suppliers")
    s_lt = dict(zip(sup["supplier"].to_list(), sup["lead_time_months"].to_list(), strict=False))
    s_lead = np.array([int(s_lt[s]) for s in suppliers], dtype=np.int64)
    store = _per_month(wh, "warehouse", "storage_capacity", warehouses, months, "warehouses")
    thru = _per_month(wh, "warehouse", "throughput_capacity", warehouses, months, "warehouses")

    lanes = lanes.filter(pl.col("from_warehouse") != pl.col("to_warehouse"))
    L = lanes.height
    l_from = np.array([w_idx[w] for w in lanes["from_warehouse"].to_list()], dtype=np.int64)
    l_to = np.array([w_idx[w] for w in lanes["to_warehouse"].to_list()], dtype=np.int64)
    l_cost = lanes["cost_per_unit"].to_numpy().astype(float) if L else np.zeros(0)
    l_lt = (
        lanes["lead_time_months"].fill_null(0).to_numpy().astype(np.int64)
        if "lead_time_months" in lanes.columns
        else np.zeros(L, dtype=np.int64)
    )
    l_cap = (
        lanes["capacity"].fill_null(np.inf).to_numpy().astype(float)
        if "capacity" in lanes.columns
        else np.full(L, np.inf)
    )

    # Storage check that no plan can fix: month-0 inventory volume before any outflow.
    for w in range(W):
        v0 = float((init[:, w] * vol).sum())
        outflow = float((dem[:, w, 0] * vol).sum())
        can_ship = L > 0 and (l_from == w).any()
        if v0 - outflow > store[w, 0] + 1e-6 and not can_ship:
            raise InfeasibleError(
                "storage",
                f"warehouse {warehouses[w]} starts with {v0:,.0f} volume of inventory; even after month-0 demand "
                f"({outflow:,.0f}) it exceeds storage capacity {store[w, 0]:,.0f} and has no outbound lane",
            )

    # ---------------------------------------------------------------- variable layout
    n_cell = F * W * T
    off_I, off_U, off_X, off_T = 0, n_cell, 2 * n_cell, 3 * n_cell
    n_var = 3 * n_cell + F * L * T
    cell = np.arange(n_cell).reshape(F, W, T)
    tvar = off_T + np.arange(F * L * T).reshape(F, L, T) if L else np.zeros((F, 0, T), dtype=np.int64)

    lb = np.zeros(n_var)
    ub = np.full(n_var, np.inf)
    obj = np.zeros(n_var)
    ub[off_U : off_U + n_cell] = dem.ravel()
    obj[off_I : off_I + n_cell] = np.broadcast_to(hold[:, None, None], (F, W, T)).ravel()
    obj[off_U : off_U + n_cell] = np.broadcast_to(pen[:, None, None], (F, W, T)).ravel()
    obj[off_X : off_X + n_cell] = np.broadcast_to(unit_cost[:, None, None], (F, W, T)).ravel()
    # Supply can only arrive from month L_s on.
    arrive_ok = np.arange(T)[None, :] >= s_lead[f_sup][:, None]  # F x T
    ub_x = np.where(np.broadcast_to(arrive_ok[:, None, :], (F, W, T)), np.inf, 0.0)
    ub[off_X : off_X + n_cell] = ub_x.ravel()
    if L:
        obj[off_T:] = np.broadcast_to(l_cost[None, :, None], (F, L, T)).ravel()
        # Shipments that would land after the horizon are pointless; lane capacity is per
        # family-month here only as an upper bound, the joint cap is a constraint below.
        lands = (np.arange(T)[None, :] + l_lt[:, None]) < T  # L x T
        ub_t = np.where(np.broadcast_to(lands[None, :, :], (F, L, T)), np.inf, 0.0)
        ub[off_T:] = ub_t.ravel()

    rows, cols, vals = [], [], []
    rlb, rub = [], []
    r0 = 0

    # ---------------------------------------------------------------- flow balance (F*W*T rows)
    bal = np.arange(n_cell).reshape(F, W, T)
    rows += [bal.ravel(), bal.ravel(), bal.ravel(), bal[:, :, 1:].ravel()]
    cols += [
        off_I + cell.ravel(),
        off_U + cell.ravel(),
        off_X + cell.ravel(),
        off_I + cell[:, :, :-1].ravel(),
    ]
    vals += [np.ones(n_cell), -np.ones(n_cell), -np.ones(n_cell), -np.ones(F * W * (T - 1))]
    if L:
        # out: +T[f,l,t] in row (f, from, t); in: -T[f,l,t] in row (f, to, t + lt) when it lands.
        f_, l_, t_ = np.meshgrid(np.arange(F), np.arange(L), np.arange(T), indexing="ij")
        rows.append(bal[f_, l_from[l_], t_].ravel())
        cols.append(tvar.ravel())
        vals.append(np.ones(F * L * T))
        t_in = t_ + l_lt[l_]
        ok = t_in < T
        rows.append(bal[f_[ok], l_to[l_[ok]], t_in[ok]])
        cols.append(tvar[ok])
        vals.append(-np.ones(int(ok.sum())))
    rhs = -dem.copy()
    rhs[:, :, 0] += init
    rlb.append(rhs.ravel())
    rub.append(rhs.ravel())
    r0 += n_cell

    # ---------------------------------------------------------------- supplier capacity
    S = len(suppliers)
    for s in range(S):
        fams = np.flatnonzero(f_sup == s)
        lead = int(s_lead[s])
        n_orders = T - lead
        if n_orders <= 0 or fams.size == 0:
            continue
        row_ids = r0 + np.arange(n_orders)  # order month tau -> arrival tau + lead
        ff, ww, tt = np.meshgrid(fams, np.arange(W), np.arange(n_orders), indexing="ij")
        rows.append((row_ids[tt]).ravel())
        cols.append((off_X + cell[ff, ww, tt + lead]).ravel())
        vals.append(np.ones(ff.size))
        rlb.append(np.full(n_orders, -np.inf))
        rub.append(s_cap[s, :n_orders])
        r0 += n_orders

    # ---------------------------------------------------------------- storage (W*T rows)
    st_rows = r0 + np.arange(W * T).reshape(W, T)
    ff, ww, tt = np.meshgrid(np.arange(F), np.arange(W), np.arange(T), indexing="ij")
    rows.append(st_rows[ww, tt].ravel())
    cols.append((off_I + cell).ravel())
    vals.append(np.broadcast_to(vol[:, None, None], (F, W, T)).ravel())
    rlb.append(np.full(W * T, -np.inf))
    rub.append(store.ravel())
    r0 += W * T

    # ---------------------------------------------------------------- throughput (W*T rows)
    th_rows = r0 + np.arange(W * T).reshape(W, T)
    rows += [th_rows[ww, tt].ravel(), th_rows[ww, tt].ravel()]
    cols += [(off_X + cell).ravel(), (off_U + cell).ravel()]
    vals += [np.ones(n_cell), -np.ones(n_cell)]
    if L:
        f_, l_, t_ = np.meshgrid(np.arange(F), np.arange(L), np.arange(T), indexing="ij")
        rows.append(th_rows[l_from[l_], t_].ravel())
        cols.append(tvar.ravel())
        vals.append(np.ones(F * L * T))
        t_in = t_ + l_lt[l_]
        ok = t_in < T
        rows.append(th_rows[l_to[l_[ok]], t_in[ok]])
        cols.append(tvar[ok])
        vals.append(np.ones(int(ok.sum())))
    rlb.append(np.full(W * T, -np.inf))
    rub.append((thru - dem.sum(axis=0)).ravel())
    r0 += W * T

    # ---------------------------------------------------------------- lane capacity
    capped = np.flatnonzero(np.isfinite(l_cap))
    if capped.size:
        lr = r0 + np.arange(capped.size * T).reshape(capped.size, T)
        f_, k_, t_ = np.meshgrid(np.arange(F), np.arange(capped.size), np.arange(T), indexing="ij")
        rows.append(lr[k_, t_].ravel())
        cols.append(tvar[f_, capped[k_], t_].ravel())
        vals.append(np.ones(f_.size))
        rlb.append(np.full(capped.size * T, -np.inf))
        rub.append(np.repeat(l_cap[capped], T))
        r0 += capped.size * T

    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, n_var))
    A.sum_duplicates()
    build_time = time.perf_counter() - t0

    row_lb, row_ub = np.concatenate(rlb), np.concatenate(rub)
    t1 = time.perf_counter()
    if cfg.solver == "highs":
        x, status_name, solved = _solve_highs(A, lb, ub, obj, row_lb, row_ub, cfg.time_limit_s)
    else:
        x, status_name, solved = _solve_model_builder(A, lb, ub, obj, row_lb, row_ub, cfg)
    solve_time = time.perf_counter() - t1
    if not solved:
        raise InfeasibleError(
            "sop",
            f"S&OP model not solved (status {status_name}). Unmet demand is a slack, so check storage: "
            + _storage_diagnosis(init, vol, store, warehouses),
        )
    return _sop_result(
        x,
        dem,
        families,
        warehouses,
        months,
        unit_cost,
        hold,
        pen,
        vol,
        l_cost,
        l_to,
        l_from,
        l_lt,
        store,
        thru,
        F,
        W,
        T,
        L,
        off_I,
        off_U,
        off_X,
        off_T,
        n_cell,
        status_name,
        n_var,
        r0,
        build_time,
        solve_time,
    )


def _solve_model_builder(
    A: sp.csr_matrix,
    lb: np.ndarray,
    ub: np.ndarray,
    obj: np.ndarray,
    row_lb: np.ndarray,
    row_ub: np.ndarray,
    cfg: SopConfig,
) -> tuple[np.ndarray, str, bool]:
    from ortools.linear_solver.python import model_builder_helper as mbh

    model = mbh.ModelBuilderHelper()
    fill: Any = model.fill_model_from_sparse_data  # its stub's ndarray[float64] is not a numpy type
    fill(lb, ub, obj, row_lb, row_ub, A)
    solver = mbh.ModelSolverHelper(cfg.solver)
    if not solver.solver_is_supported():
        raise ValueError(f"config.solver: {cfg.solver!r} is not available in this OR-Tools build")
    if cfg.solver_parameters and cfg.solver == "glop":
        solver.set_solver_specific_parameters(cfg.solver_parameters)
    if cfg.time_limit_s is not None:
        solver.set_time_limit_in_seconds(cfg.time_limit_s)
    solver.solve(model)
    status = solver.status()
    ok = status in (mbh.SolveStatus.OPTIMAL, mbh.SolveStatus.FEASIBLE)
    x = np.asarray(solver.variable_values()) if ok else np.zeros(lb.size)
    return x, status.name, ok


def _solve_highs(
    A: sp.csr_matrix,
    lb: np.ndarray,
    ub: np.ndarray,
    obj: np.ndarray,
    row_lb: np.ndarray,
    row_ub: np.ndarray,
    time_limit_s: float | None,
) -> tuple[np.ndarray, str, bool]:
    from scipy.optimize import linprog

    eq = row_lb == row_ub
    up = ~eq & np.isfinite(row_ub)
    lo = ~eq & np.isfinite(row_lb)
    A_ub = sp.vstack([A[np.flatnonzero(up)], -A[np.flatnonzero(lo)]]).tocsr()
    b_ub = np.concatenate([row_ub[up], -row_lb[lo]])
    options: dict[str, Any] = {"presolve": True}
    if time_limit_s is not None:
        options["time_limit"] = float(time_limit_s)
    res = linprog(
        obj,
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A[np.flatnonzero(eq)],
        b_eq=row_lb[eq],
        bounds=np.column_stack([lb, ub]),
        method="highs",
        options=options,
    )
    ok = res.status == 0
    return (res.x if ok else np.zeros(lb.size)), ("OPTIMAL" if ok else res.message), ok


def _storage_diagnosis(init: np.ndarray, vol: np.ndarray, store: np.ndarray, warehouses: list[str]) -> str:
    over = [
        (warehouses[w], float((init[:, w] * vol).sum()), float(store[w, 0])) for w in range(len(warehouses))
    ]
    over = [o for o in over if o[1] > o[2]]
    if not over:
        return "no warehouse starts above its storage capacity"
    return "; ".join(f"warehouse {w} starts with {v:,.0f} volume > storage {c:,.0f}" for w, v, c in over)


def _sop_result(
    x: np.ndarray,
    dem: np.ndarray,
    families: list[str],
    warehouses: list[str],
    months: list[Any],
    unit_cost: np.ndarray,
    hold: np.ndarray,
    pen: np.ndarray,
    vol: np.ndarray,
    l_cost: np.ndarray,
    l_to: np.ndarray,
    l_from: np.ndarray,
    l_lt: np.ndarray,
    store: np.ndarray,
    thru: np.ndarray,
    F: int,
    W: int,
    T: int,
    L: int,
    off_I: int,
    off_U: int,
    off_X: int,
    off_T: int,
    n_cell: int,
    status: str,
    n_var: int,
    n_con: int,
    build_time: float,
    solve_time: float,
) -> SopResult:
    x = np.where(np.abs(x) < 1e-7, 0.0, x)
    inv = x[off_I : off_I + n_cell].reshape(F, W, T)
    unmet = x[off_U : off_U + n_cell].reshape(F, W, T)
    supply = x[off_X : off_X + n_cell].reshape(F, W, T)
    t_in = np.zeros((F, W, T))
    t_out = np.zeros((F, W, T))
    tcost = np.zeros((F, W, T))
    month_s = pl.Series("month", months)
    tr_frame = pl.DataFrame(
        schema={
            "family": pl.Utf8,
            "from_warehouse": pl.Utf8,
            "to_warehouse": pl.Utf8,
            "month": month_s.dtype,
            "quantity": pl.Float64,
            "cost": pl.Float64,
        }
    )
    if L:
        tr = x[off_T:].reshape(F, L, T)
        for lane in range(L):
            t_out[:, l_from[lane], :] += tr[:, lane, :]
            tcost[:, l_from[lane], :] += tr[:, lane, :] * l_cost[lane]
            lt = int(l_lt[lane])
            if lt < T:
                t_in[:, l_to[lane], lt:] += tr[:, lane, : T - lt]
        nz = np.argwhere(tr > 1e-6)
        if nz.size:
            tr_frame = pl.DataFrame(
                {
                    "family": [families[i] for i in nz[:, 0]],
                    "from_warehouse": [warehouses[l_from[i]] for i in nz[:, 1]],
                    "to_warehouse": [warehouses[l_to[i]] for i in nz[:, 1]],
                    "month": month_s.gather(nz[:, 2]),
                    "quantity": tr[nz[:, 0], nz[:, 1], nz[:, 2]],
                    "cost": tr[nz[:, 0], nz[:, 1], nz[:, 2]] * l_cost[nz[:, 1]],
                }
            )
    ff, ww, tt = np.meshgrid(np.arange(F), np.arange(W), np.arange(T), indexing="ij")
    plan = pl.DataFrame(
        {
            "family": np.asarray(families, dtype=object)[ff.ravel()].tolist(),
            "warehouse": np.asarray(warehouses, dtype=object)[ww.ravel()].tolist(),
            "month": month_s.gather(tt.ravel()),
            "demand": dem.ravel(),
            "supply": supply.ravel(),
            "transfer_in": t_in.ravel(),
            "transfer_out": t_out.ravel(),
            "ending_inventory": inv.ravel(),
            "unmet": unmet.ravel(),
            "supply_cost": (supply * unit_cost[:, None, None]).ravel(),
            "holding_cost": (inv * hold[:, None, None]).ravel(),
            "transport_cost": tcost.ravel(),
            "unmet_cost": (unmet * pen[:, None, None]).ravel(),
        }
    )
    st_used = np.einsum("fwt,f->wt", inv, vol)
    th_used = (supply + t_in + t_out + dem - unmet).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        st_ratio = np.where(store > 0, st_used / store, 0.0)
        th_ratio = np.where(thru > 0, th_used / thru, 0.0)
    w2, t2 = np.meshgrid(np.arange(W), np.arange(T), indexing="ij")
    util = pl.DataFrame(
        {
            "warehouse": np.asarray(warehouses, dtype=object)[w2.ravel()].tolist(),
            "month": month_s.gather(t2.ravel()),
            "storage_used": st_used.ravel(),
            "storage_capacity": store.ravel(),
            "storage_utilisation": st_ratio.ravel(),
            "throughput_used": th_used.ravel(),
            "throughput_capacity": thru.ravel(),
            "throughput_utilisation": th_ratio.ravel(),
        }
    )
    costs = {k: float(plan[k].sum()) for k in ("supply_cost", "holding_cost", "transport_cost", "unmet_cost")}
    demand_units = float(dem.sum())
    unmet_units = float(unmet.sum())
    summary = {
        "status": status,
        "total_cost": sum(costs.values()),
        **costs,
        "demand_units": demand_units,
        "unmet_units": unmet_units,
        "fill_rate": 1 - unmet_units / demand_units if demand_units > 0 else 1.0,
        "storage_utilisation": float(st_ratio.mean()),
        "throughput_utilisation": float(th_ratio.mean()),
        "peak_storage_utilisation": float(st_ratio.max()),
        "variables": n_var,
        "constraints": n_con,
        "build_time_s": build_time,
        "solve_time_s": solve_time,
    }
    return SopResult(plan=plan, transfers=tr_frame, utilisation=util, summary=summary)


# ---------------------------------------------------------------------------------- scenarios


def _apply(inputs: SopInputs, sc: Scenario) -> SopInputs:
    demand = inputs.demand.with_columns(pl.col("demand") * sc.demand_factor)
    wh = inputs.warehouses
    if sc.warehouse_capacity_loss:
        keep = pl.col("warehouse").replace_strict(
            {w: 1 - f for w, f in sc.warehouse_capacity_loss.items()}, default=1.0, return_dtype=pl.Float64
        )
        wh = wh.with_columns(pl.col("storage_capacity") * keep, pl.col("throughput_capacity") * keep)
    sup = inputs.suppliers
    if sc.supplier_delay_months:
        sup = sup.with_columns(
            (
                pl.col("lead_time_months")
                + pl.col("supplier").replace_strict(
                    dict(sc.supplier_delay_months), default=0, return_dtype=pl.Int64
                )
            ).alias("lead_time_months")
        )
    if sc.supplier_capacity_factor:
        sup = sup.with_columns(
            pl.col("capacity")
            * pl.col("supplier").replace_strict(
                dict(sc.supplier_capacity_factor), default=1.0, return_dtype=pl.Float64
            )
        )
    return replace(inputs, demand=demand, warehouses=wh, suppliers=sup)


def builtin_scenarios(
    inputs: SopInputs,
    *,
    warehouse: str | None = None,
    capacity_loss: float = 0.3,
    supplier: str | None = None,
) -> list[Scenario]:
    """The standard what-ifs: base, demand +/-20%, a warehouse losing capacity, a supplier delay.

    Args:
        inputs: Base inputs (used to pick defaults).
        warehouse: Warehouse losing capacity; default the one with the most demand.
        capacity_loss: Fraction of storage and throughput lost (default 30%).
        supplier: Supplier delayed by one month; default the one with the most demand.

    Returns:
        Scenarios named ``base``, ``demand +20%``, ``demand -20%``,
        ``<warehouse> -<loss>% capacity`` and ``<supplier> +1 month lead time``.
    """
    if warehouse is None:
        warehouse = (
            inputs.demand.group_by("warehouse")
            .agg(pl.col("demand").sum())
            .sort("demand", descending=True)["warehouse"][0]
        )
    if supplier is None:
        supplier = (
            inputs.demand.join(inputs.families.select("family", "supplier"), on="family")
            .group_by("supplier")
            .agg(pl.col("demand").sum())
            .sort("demand", descending=True)["supplier"][0]
        )
    return [
        Scenario("base"),
        Scenario("demand +20%", demand_factor=1.2),
        Scenario("demand -20%", demand_factor=0.8),
        Scenario(
            f"{warehouse} -{capacity_loss * 100:.0f}% capacity",
            warehouse_capacity_loss={warehouse: capacity_loss},
        ),
        Scenario(f"{supplier} +1 month lead time", supplier_delay_months={supplier: 1}),
    ]


def run_scenarios(
    base_inputs: SopInputs, scenarios: Sequence[Scenario] | None = None, config: SopConfig | None = None
) -> ScenarioComparison:
    """Solve the S&OP model under each scenario and compare them side by side.

    Args:
        base_inputs: The base plan's inputs.
        scenarios: What-ifs to run; default :func:`builtin_scenarios`. Include a
            ``Scenario("base")`` to get ``cost_vs_base_pct``.
        config: Solver settings.

    Returns:
        A :class:`ScenarioComparison` (comparison frame + each scenario's full result).
    """
    scs = list(scenarios) if scenarios is not None else builtin_scenarios(base_inputs)
    results: dict[str, SopResult] = {}
    recs = []
    for sc in scs:
        res = solve_sop(_apply(base_inputs, sc), config)
        results[sc.name] = res
        s = res.summary
        recs.append(
            {
                "scenario": sc.name,
                "status": s["status"],
                "total_cost": s["total_cost"],
                "fill_rate": s["fill_rate"],
                "unmet_units": s["unmet_units"],
                "supply_cost": s["supply_cost"],
                "holding_cost": s["holding_cost"],
                "transport_cost": s["transport_cost"],
                "unmet_cost": s["unmet_cost"],
                "storage_utilisation": s["storage_utilisation"],
                "throughput_utilisation": s["throughput_utilisation"],
                "peak_storage_utilisation": s["peak_storage_utilisation"],
            }
        )
    comp = pl.DataFrame(recs)
    base = next((r["total_cost"] for r in recs if r["scenario"] == "base"), None)
    comp = comp.with_columns(
        (100 * (pl.col("total_cost") / base - 1) if base else pl.lit(None, dtype=pl.Float64)).alias(
            "cost_vs_base_pct"
        )
    )
    return ScenarioComparison(comparison=comp, results=results)


# ------------------------------------------------------------------------------ synthetic data


def synthetic_sop_inputs(
    families: int = 50,
    warehouses: int = 5,
    months: int = 12,
    seed: int = 0,
    lanes_per_warehouse: int = 2,
    suppliers: int | None = None,
) -> SopInputs:
    """A random but plausible S&OP network for tests and benchmarks.

    Warehouses sit on a 1000 x 1000 km plane; each ships to its ``lanes_per_warehouse`` nearest
    neighbours (cost proportional to distance). Family demand is seasonal with noise and split
    across warehouses by size; suppliers (one per ~25 families) can cover ~110% of mean demand.
    Storage fits ~1.5 months of volume and throughput (receipts + shipments) ~1.3x the mean
    flow, so capacities bind in peak months.

    Args:
        families: Number of product families.
        warehouses: Number of warehouses.
        months: Horizon length.
        seed: Random seed.
        lanes_per_warehouse: Outbound lanes per warehouse (nearest neighbours).
        suppliers: Number of suppliers (default ``max(1, families // 25)``).

    Returns:
        :class:`SopInputs` with integer months ``0..months-1``.
    """
    rng = np.random.default_rng(seed)
    n_sup = suppliers or max(1, families // 25)
    fam_names = [f"F{i:04d}" for i in range(families)]
    wh_names = [f"W{i:02d}" for i in range(warehouses)]
    sup_names = [f"S{i:02d}" for i in range(n_sup)]
    base = rng.lognormal(4.0, 1.0, families)  # mean monthly units per family
    share = rng.dirichlet(np.full(warehouses, 2.0))
    season = 1 + 0.25 * np.sin(2 * np.pi * (np.arange(months) + rng.uniform(0, 12)) / 12)
    dem = base[:, None, None] * share[None, :, None] * season[None, None, :]
    dem = dem * rng.lognormal(0, 0.15, dem.shape)
    ff, ww, tt = np.meshgrid(np.arange(families), np.arange(warehouses), np.arange(months), indexing="ij")
    demand = pl.DataFrame(
        {
            "family": np.asarray(fam_names, dtype=object)[ff.ravel()].tolist(),
            "warehouse": np.asarray(wh_names, dtype=object)[ww.ravel()].tolist(),
            "month": tt.ravel().astype(np.int64),
            "demand": np.round(dem.ravel(), 1),
        }
    )
    f_sup = rng.integers(0, n_sup, families)
    unit_cost = rng.uniform(5, 50, families)
    vol = rng.uniform(0.01, 0.2, families)
    fam = pl.DataFrame(
        {
            "family": fam_names,
            "supplier": [sup_names[s] for s in f_sup],
            "unit_cost": unit_cost,
            "holding_cost": unit_cost * 0.02,
            "unmet_penalty": unit_cost * 3,
            "volume": vol,
        }
    )
    mean_by_sup = np.bincount(f_sup, weights=base, minlength=n_sup)
    sup = pl.DataFrame(
        {
            "supplier": sup_names,
            "capacity": np.round(mean_by_sup * 1.1, 0),
            "lead_time_months": rng.integers(0, 3, n_sup).astype(np.int64),
        }
    )
    flow = dem.mean(axis=2)  # F x W
    wh = pl.DataFrame(
        {
            "warehouse": wh_names,
            "storage_capacity": np.round((flow * vol[:, None]).sum(axis=0) * 1.5, 1),
            "throughput_capacity": np.round(2 * flow.sum(axis=0) * 1.3 + 50, 0),
        }
    )
    xy = rng.uniform(0, 1000, (warehouses, 2))
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    lane_rows = []
    k = min(lanes_per_warehouse, warehouses - 1)
    for a in range(warehouses):
        for b in np.argsort(dist[a])[1 : k + 1]:
            lane_rows.append(
                {
                    "from_warehouse": wh_names[a],
                    "to_warehouse": wh_names[int(b)],
                    "cost_per_unit": round(0.5 + dist[a, b] / 200, 2),
                    "lead_time_months": 0,
                }
            )
    lanes = pl.DataFrame(
        lane_rows,
        schema={
            "from_warehouse": pl.Utf8,
            "to_warehouse": pl.Utf8,
            "cost_per_unit": pl.Float64,
            "lead_time_months": pl.Int64,
        },
    )
    init = pl.DataFrame(
        {
            "family": np.asarray(fam_names, dtype=object)[ff[:, :, 0].ravel()].tolist(),
            "warehouse": np.asarray(wh_names, dtype=object)[ww[:, :, 0].ravel()].tolist(),
            "inventory": np.round((dem[:, :, 0] * rng.uniform(0.5, 1.5, (families, warehouses))).ravel(), 1),
        }
    )
    return SopInputs(
        demand=demand, families=fam, suppliers=sup, warehouses=wh, lanes=lanes, initial_inventory=init
    )
