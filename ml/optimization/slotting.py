"""Warehouse slotting: assign items to pick-face locations to minimise expected picker travel.

Objective. Expected travel of a slotting is ``sum_i pick_frequency(i) * distance(slot(i))`` where
``distance`` is the one-way distance from the slot to its warehouse's pack station:

* ``"rectilinear"`` (default): ``|dx| + |dy|``, aisle travel from a pack station on the front
  cross-aisle (walk along the cross-aisle, then down the aisle). ``z`` does not add walking;
  reaching high or low levels is priced by the golden-zone term instead.
* ``"euclidean"``: ``sqrt(dx^2 + dy^2 + dz^2)``.

The optimiser minimises ``pick_frequency * (distance + golden_zone_penalty * [slot not golden])``,
so fast movers take golden (waist-to-shoulder) levels when the detour is small. Reported travel
figures exclude the penalty, so plans and baselines are compared on walking distance alone.

Constraints (hard). One item per pick-face slot; ``unit_volume * units_per_slot <=
volume_capacity`` and ``unit_weight * units_per_slot <= weight_capacity``; item
``temperature_class`` equals slot ``zone_temperature``; hazmat items only in ``hazmat_allowed``
slots (and, with ``hazmat_exclusive``, non-hazmat items never in them); items heavier than
``heavy_threshold_kg`` only on levels ``<= heavy_max_level``; at most ``move_budget`` items change
slot.

Method. Linear assignment on a candidate-restricted sparse graph (scipy's LAPJVsp,
``min_weight_full_bipartite_matching``). Each item gets, among its compatible slots sorted by
cost, a window around the position its frequency rank would take in a sorted assignment, the
nearest few slots and its current slot; a private dummy slot with a prohibitive cost keeps the
matching feasible, and any item landing on its dummy widens every window and re-solves. The
move budget is honoured by Lagrangian relaxation: every move costs ``lam`` extra, and ``lam`` is
bisected to the smallest value whose plan makes at most ``move_budget`` moves. Affinity pairs
(items picked together) add a second pass (a heuristic, the exact problem is quadratic): the
slower item of each pair pays ``weight x rectilinear distance`` to its partner's first-pass slot.

Optimality evidence. On the benchmark warehouses the candidate-restricted matching equals scipy's
dense ``linear_sum_assignment`` over all compatible slots (``benchmarks/optimisation.py``
reports the difference), and the Lagrangian dual bound of the budgeted problem is reported as
``budget_dual_gap_pct``. ``travel_lower_bound`` (the rearrangement bound with the temperature rule
only) caps what any slotting can save, which tells a weak instance from a weak optimiser.

Baseline. ABC-class slotting ranks items by cumulative share of picks (A up to 80%, B up to 95%,
C the rest), then A items fill the cheapest compatible slots, then B, then C, with arbitrary
(seeded random) order inside a class: the textbook class-based storage policy, solved with the
same assignment machinery and constraints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from ml.optimization.errors import InfeasibleError

__all__ = [
    "ITEM_COLUMNS",
    "LOCATION_COLUMNS",
    "SlottingConfig",
    "SlottingResult",
    "abc_classes",
    "expected_travel",
    "slot_distances",
    "solve_slotting",
]

ITEM_COLUMNS = (
    "item",
    "pick_frequency",
    "unit_volume",
    "unit_weight",
    "temperature_class",
    "hazmat",
    "current_location",
)
LOCATION_COLUMNS = (
    "location",
    "warehouse",
    "zone_temperature",
    "x",
    "y",
    "volume_capacity",
    "weight_capacity",
    "is_pick_face",
    "hazmat_allowed",
)
_DUMMY_COST = 1e12


@dataclass(frozen=True)
class SlottingConfig:
    """Rules and tuning for :func:`solve_slotting`.

    Attributes:
        move_budget: Maximum number of items whose slot changes (new items without a current
            slot count as moves); ``None`` = unlimited.
        heavy_threshold_kg: Items with ``unit_weight`` above this are heavy.
        heavy_max_level: Heavy items only on levels ``<=`` this (levels are 0-based from the floor).
        golden_levels: Levels forming the golden zone when ``golden_zone`` is not given.
        golden_zone_penalty: Metres-equivalent added per pick for a slot outside the golden zone.
        hazmat_exclusive: Segregation rule: reserve hazmat-allowed slots for hazmat items.
        distance: ``"rectilinear"`` (aisle travel) or ``"euclidean"``.
        pack_stations: Pack-station ``(x, y, z)`` per warehouse; missing warehouses use (0, 0, 0).
        affinity_pairs: ``(item_a, item_b, weight)``: co-picked items; ``weight`` is the joint pick
            frequency, priced per metre between their slots.
        abc_cutoffs: Cumulative pick-share limits for classes A and B in the baseline.
        candidate_window: Half-width of each item's candidate window (slots either side of its
            rank position); widened automatically when the restricted problem has no matching.
        bisection_steps: Iterations of the Lagrangian bisection on the move penalty.
        seed: Seed for the baseline's within-class order.
    """

    move_budget: int | None = None
    heavy_threshold_kg: float = 20.0
    heavy_max_level: int = 1
    golden_levels: tuple[int, ...] = (1, 2)
    golden_zone_penalty: float = 2.0
    hazmat_exclusive: bool = False
    distance: Literal["rectilinear", "euclidean"] = "rectilinear"
    pack_stations: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    affinity_pairs: Sequence[tuple[str, str, float]] = ()
    abc_cutoffs: tuple[float, float] = (0.8, 0.95)
    candidate_window: int = 40
    bisection_steps: int = 18
    seed: int = 0


@dataclass
class SlottingResult:
    """Output of :func:`solve_slotting`.

    Attributes:
        moves: One row per relocated item, sorted by ``expected_saving`` descending: ``item``
            (Utf8), ``warehouse`` (Utf8), ``from_location`` (Utf8, null for unslotted items),
            ``to_location`` (Utf8), ``pick_frequency`` (Float64), ``from_distance`` /
            ``to_distance`` (Float64, metres), ``expected_saving`` (Float64, frequency x metres,
            null when there was no current slot).
        assignment: One row per item: ``item``, ``warehouse``, ``current_location``,
            ``location`` (optimised), ``abc_class`` (Utf8 A/B/C), ``abc_location`` (baseline),
            ``distance`` (Float64, metres, optimised slot).
        summary: ``travel_current``, ``travel_abc``, ``travel_optimised`` (frequency-weighted
            metres; current counts only items with a current slot; ``travel_abc`` is the
            expectation over random within-class order, ``travel_abc_sample`` one seeded draw
            whose slots are in ``assignment.abc_location``), ``saving_vs_current_pct``,
            ``saving_vs_abc_pct``, ``moves``, ``abc_moves`` (relocations the ABC re-slot would
            need), ``forced_moves`` (items whose current slot is
            missing or breaks a rule), ``move_budget``, ``move_penalty`` (final Lagrange
            multiplier), ``budget_binding`` (bool), ``items``, ``pick_slots``, ``solve_time_s``,
            ``distance_metric``. Optimality evidence: ``travel_lower_bound`` (no slotting that
            places every item on a pick face of its temperature travels less: the rearrangement
            bound per warehouse and temperature, ignoring every other rule and the budget),
            ``max_saving_vs_current_pct`` / ``max_saving_vs_abc_pct`` (the savings that bound
            allows, i.e. a ceiling for any optimiser), ``travel_unbudgeted`` (the optimum's
            travel without the move budget, before affinity), ``objective`` (travel plus the
            golden-zone penalty, before affinity) and ``budget_dual_gap_pct`` (gap of
            ``objective`` to the best Lagrangian dual bound of the budgeted problem over the
            candidate graph; 0 proves the budgeted plan optimal there; None with affinity).
    """

    moves: pl.DataFrame
    assignment: pl.DataFrame
    summary: dict[str, Any]


# --------------------------------------------------------------------------- input handling


def _require(frame: pl.DataFrame, cols: Sequence[str], name: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def _prepare_locations(locations: pl.DataFrame, cfg: SlottingConfig) -> pl.DataFrame:
    _require(locations, LOCATION_COLUMNS, "locations")
    if "level" not in locations.columns and "z" not in locations.columns:
        raise ValueError("locations: needs a 'level' or a 'z' column")
    if locations["location"].n_unique() != locations.height:
        raise ValueError("locations: 'location' must be unique")
    for col in ("volume_capacity", "weight_capacity"):
        if (locations[col] < 0).any() or locations[col].null_count():
            raise ValueError(f"locations: '{col}' must be non-negative and not null")
    loc = locations.with_columns(
        pl.col("location").cast(pl.Utf8),
        pl.col("warehouse").cast(pl.Utf8),
        pl.col("zone_temperature").cast(pl.Utf8),
        pl.col("is_pick_face").cast(pl.Boolean),
        pl.col("hazmat_allowed").cast(pl.Boolean),
    )
    if "z" not in loc.columns:
        loc = loc.with_columns(pl.col("level").cast(pl.Float64).alias("z"))
    if "level" not in loc.columns:
        # Levels are the dense rank of heights within a warehouse, 0 = floor.
        loc = loc.with_columns(
            (pl.col("z").rank("dense").over("warehouse") - 1).cast(pl.Int64).alias("level")
        )
    if "golden_zone" not in loc.columns:
        loc = loc.with_columns(pl.col("level").is_in(list(cfg.golden_levels)).alias("golden_zone"))
    stations = {w: cfg.pack_stations.get(w, (0.0, 0.0, 0.0)) for w in loc["warehouse"].unique().to_list()}
    px = pl.col("warehouse").replace_strict({w: s[0] for w, s in stations.items()}, return_dtype=pl.Float64)
    py = pl.col("warehouse").replace_strict({w: s[1] for w, s in stations.items()}, return_dtype=pl.Float64)
    pz = pl.col("warehouse").replace_strict({w: s[2] for w, s in stations.items()}, return_dtype=pl.Float64)
    if cfg.distance == "rectilinear":
        dist = (pl.col("x") - px).abs() + (pl.col("y") - py).abs()
    elif cfg.distance == "euclidean":
        dist = ((pl.col("x") - px) ** 2 + (pl.col("y") - py) ** 2 + (pl.col("z") - pz) ** 2).sqrt()
    else:
        raise ValueError(f"config.distance: expected 'rectilinear' or 'euclidean', got {cfg.distance!r}")
    return loc.with_columns(dist.cast(pl.Float64).alias("distance"), pl.col("level").cast(pl.Int64))


def slot_distances(locations: pl.DataFrame, config: SlottingConfig | None = None) -> pl.DataFrame:
    """Distance of every location to its warehouse's pack station.

    Args:
        locations: Locations frame (see :func:`solve_slotting`).
        config: Distance metric and pack stations.

    Returns:
        ``locations`` plus ``level`` (Int64), ``golden_zone`` (Boolean) when absent, and
        ``distance`` (Float64, metres).
    """
    return _prepare_locations(locations, config or SlottingConfig())


def _prepare_items(items: pl.DataFrame, loc: pl.DataFrame) -> pl.DataFrame:
    _require(items, ITEM_COLUMNS, "items")
    if items["item"].n_unique() != items.height:
        raise ValueError("items: 'item' must be unique")
    for col in ("pick_frequency", "unit_volume", "unit_weight"):
        if items[col].null_count() or (items[col] < 0).any():
            bad = items.filter(pl.col(col).is_null() | (pl.col(col) < 0))["item"][0]
            raise ValueError(f"items: '{col}' must be non-negative (item {bad})")
    it = items.with_columns(
        pl.col("item").cast(pl.Utf8),
        pl.col("temperature_class").cast(pl.Utf8),
        pl.col("hazmat").cast(pl.Boolean),
        pl.col("current_location").cast(pl.Utf8),
    )
    if "units_per_slot" not in it.columns:
        it = it.with_columns(pl.lit(1.0).alias("units_per_slot"))
    known = set(loc["location"].to_list())
    unknown = [c for c in it["current_location"].drop_nulls().unique().to_list() if c not in known]
    if unknown:
        raise ValueError(f"items: current_location {unknown[0]!r} is not in locations")
    wh_of = dict(zip(loc["location"].to_list(), loc["warehouse"].to_list(), strict=True))
    warehouses = loc["warehouse"].unique().to_list()
    default = warehouses[0] if len(warehouses) == 1 else None
    from_current = pl.col("current_location").replace_strict(wh_of, default=default, return_dtype=pl.Utf8)
    if "warehouse" in it.columns:
        from_current = pl.coalesce(pl.col("warehouse").cast(pl.Utf8), from_current)
    it = it.with_columns(from_current.alias("warehouse"))
    if it["warehouse"].null_count():
        bad = it.filter(pl.col("warehouse").is_null())["item"][0]
        raise ValueError(f"items: item {bad} has no current_location and no 'warehouse' to place it")
    return it.with_columns(pl.col("warehouse").cast(pl.Utf8))


# --------------------------------------------------------------------------- compatibility


@dataclass
class _Warehouse:
    """Arrays for one warehouse: items x pick-face slots."""

    name: str
    item_idx: np.ndarray  # row positions in the items frame
    slot_names: list[str]
    slot_dist: np.ndarray  # walking distance
    slot_key: np.ndarray  # distance + golden penalty (cost per pick)
    slot_xy: np.ndarray
    compat: list[np.ndarray]  # per item: compatible slot indices sorted by slot_key
    current: np.ndarray  # per item: slot index of a compatible current slot, or -1
    anchor: np.ndarray  # per item: position in the key-sorted slot list its rank would take
    travel_bound: float  # rearrangement lower bound on the travel of any complete slotting


def _no_slot_message(row: dict[str, Any], loc: pl.DataFrame, cfg: SlottingConfig, heavy: bool) -> str:
    temp = row["temperature_class"]
    need_vol = row["unit_volume"] * row["units_per_slot"]
    need_wt = row["unit_weight"] * row["units_per_slot"]
    desc = f"item {row['item']} ({temp}, {row['unit_weight']:g} kg{', hazmat' if row['hazmat'] else ''})"
    pool = loc.filter(pl.col("is_pick_face") & (pl.col("warehouse") == row["warehouse"]))
    steps = [
        (pl.col("zone_temperature") == temp, f"no {temp} pick location in warehouse {row['warehouse']}"),
        (pl.col("hazmat_allowed") if row["hazmat"] else pl.lit(True), f"no {temp} hazmat-allowed location"),
        (
            pl.col("level") <= cfg.heavy_max_level if heavy else pl.lit(True),
            f"no {temp} location on level <= {cfg.heavy_max_level} for a heavy item (> {cfg.heavy_threshold_kg:g} kg)",
        ),
        (pl.col("weight_capacity") >= need_wt, f"no {temp} location with weight capacity >= {need_wt:g} kg"),
        (pl.col("volume_capacity") >= need_vol, f"no {temp} location with volume capacity >= {need_vol:g}"),
    ]
    if cfg.hazmat_exclusive and not row["hazmat"]:
        steps.insert(1, (~pl.col("hazmat_allowed"), f"no {temp} location outside the hazmat-reserved slots"))
    for cond, reason in steps:
        pool = pool.filter(cond)
        if pool.height == 0:
            return f"{desc} has no compatible location: {reason}"
    return f"{desc} has no compatible location"


def _build_warehouses(
    it: pl.DataFrame, loc: pl.DataFrame, cfg: SlottingConfig, weight: np.ndarray
) -> list[_Warehouse]:
    out = []
    slot_of_name = {}
    for wh in sorted(it["warehouse"].unique().to_list()):
        slots = loc.filter(pl.col("is_pick_face") & (pl.col("warehouse") == wh))
        key = slots["distance"].to_numpy() + cfg.golden_zone_penalty * (
            ~slots["golden_zone"].to_numpy()
        ).astype(float)
        order = np.argsort(key, kind="stable")
        slots = slots[order]
        key = key[order]
        names = slots["location"].to_list()
        slot_of_name = {n: k for k, n in enumerate(names)}
        s_temp = slots["zone_temperature"].to_numpy()
        s_haz = slots["hazmat_allowed"].to_numpy()
        s_low = slots["level"].to_numpy() <= cfg.heavy_max_level
        s_vol = slots["volume_capacity"].to_numpy().astype(float)
        s_wt = slots["weight_capacity"].to_numpy().astype(float)
        rows = np.flatnonzero((it["warehouse"] == wh).to_numpy())
        sub = it[rows]
        temp = sub["temperature_class"].to_numpy()
        haz = sub["hazmat"].to_numpy()
        heavy = sub["unit_weight"].to_numpy() > cfg.heavy_threshold_kg
        need_vol = (sub["unit_volume"] * sub["units_per_slot"]).to_numpy()
        need_wt = (sub["unit_weight"] * sub["units_per_slot"]).to_numpy()
        cur = sub["current_location"].to_list()
        base_cache: dict[tuple[Any, bool, bool], np.ndarray] = {}
        compat, current = [], np.full(len(rows), -1, dtype=np.int64)
        for k in range(len(rows)):
            sig = (temp[k], bool(haz[k]), bool(heavy[k]))
            if sig not in base_cache:
                m = s_temp == temp[k]
                if haz[k]:
                    m = m & s_haz
                elif cfg.hazmat_exclusive:
                    m = m & ~s_haz
                if heavy[k]:
                    m = m & s_low
                base_cache[sig] = m
            m = base_cache[sig] & (s_vol >= need_vol[k] - 1e-9) & (s_wt >= need_wt[k] - 1e-9)
            idx = np.flatnonzero(m)
            if idx.size == 0:
                raise InfeasibleError(
                    "compatibility", _no_slot_message(sub.row(k, named=True), loc, cfg, bool(heavy[k]))
                )
            compat.append(idx)
            c = slot_of_name.get(cur[k]) if cur[k] is not None else None
            if c is not None and m[c]:
                current[k] = c
        # Anchor: an item ranked r-th by weight among same-temperature items would, in a sorted
        # assignment without other rules, take the r-th cheapest slot of that temperature.
        anchor = np.zeros(len(rows), dtype=np.int64)
        w = weight[rows]
        for t in np.unique(temp):
            members = np.flatnonzero(temp == t)
            ranks = np.empty(members.size, dtype=np.int64)
            ranks[np.argsort(-w[members], kind="stable")] = np.arange(members.size)
            t_slots = np.flatnonzero(s_temp == t)
            if t_slots.size:
                anchor[members] = t_slots[np.minimum(ranks, t_slots.size - 1)]
        s_dist = slots["distance"].to_numpy().astype(float)
        travel_bound = 0.0
        for t in np.unique(temp):
            n_items, n_slots = int((temp == t).sum()), int((s_temp == t).sum())
            if n_items > n_slots:
                raise InfeasibleError(
                    "slot_count", f"warehouse {wh}: {n_items} {t} items but only {n_slots} {t} pick slots"
                )
            # Rearrangement inequality: with only the temperature rule, the fastest item on the
            # nearest slot of its zone is optimal; every other rule can only add travel.
            f_desc = np.sort(weight[rows][temp == t])[::-1]
            d_asc = np.sort(s_dist[s_temp == t])[:n_items]
            travel_bound += float(f_desc @ d_asc)
        out.append(
            _Warehouse(
                name=wh,
                item_idx=rows,
                slot_names=names,
                slot_dist=s_dist,
                slot_key=key,
                slot_xy=slots.select("x", "y").to_numpy().astype(float),
                compat=compat,
                current=current,
                anchor=anchor,
                travel_bound=travel_bound,
            )
        )
    return out


# --------------------------------------------------------------------------- assignment core


def _candidates(wh: _Warehouse, window: int) -> list[np.ndarray]:
    near = max(5, window // 4)
    cands = []
    for k, idx in enumerate(wh.compat):
        if idx.size <= 2 * window + near + 1:
            cands.append(idx)
            continue
        pos = int(np.searchsorted(idx, wh.anchor[k]))
        lo, hi = max(0, pos - window), min(idx.size, pos + window + 1)
        parts = [idx[:near], idx[lo:hi]]
        if wh.current[k] >= 0:
            parts.append(np.array([wh.current[k]]))
        cands.append(np.unique(np.concatenate(parts)))
    return cands


@dataclass
class _Graph:
    """Sparse item x slot candidate graph in CSR order; each row ends with the item's dummy."""

    indptr: np.ndarray
    indices: np.ndarray
    item: np.ndarray  # row of each stored edge
    real: np.ndarray  # edge is a slot (not the dummy)
    stay: np.ndarray  # edge is the item's compatible current slot
    full: bool  # every item sees all its compatible slots


def _graph(wh: _Warehouse, window: int) -> _Graph:
    cands = _candidates(wh, window)
    n, m = len(cands), len(wh.slot_names)
    lens = np.fromiter((c.size + 1 for c in cands), dtype=np.int64, count=n)
    indptr = np.concatenate([[0], np.cumsum(lens)])
    indices = np.concatenate([np.append(c, m + k) for k, c in enumerate(cands)])
    item = np.repeat(np.arange(n), lens)
    real = indices < m
    stay = real & (indices == wh.current[item]) & (wh.current[item] >= 0)
    full = all(c.size == cw.size for c, cw in zip(cands, wh.compat, strict=True))
    return _Graph(indptr, indices, item, real, stay, full)


def _assign(
    wh: _Warehouse, weight: np.ndarray, lam: float, extra: dict[int, np.ndarray] | None, g: _Graph
) -> np.ndarray:
    """Min-cost matching; returns a slot index per item, -1 for the dummy."""
    n, m = len(wh.compat), len(wh.slot_names)
    w = weight[wh.item_idx]
    slot = np.where(g.real, g.indices, 0)
    # +1 keeps every stored weight non-zero (zeros would read as missing edges).
    cost = np.where(g.real, w[g.item] * wh.slot_key[slot] + 1.0 + lam * ~g.stay, _DUMMY_COST)
    if extra:
        for k, vec in extra.items():
            lo, hi = g.indptr[k], g.indptr[k + 1] - 1  # skip the dummy
            cost[lo:hi] += vec[g.indices[lo:hi]]
    graph = csr_matrix((cost, g.indices, g.indptr), shape=(n, m + n))
    r, c = min_weight_full_bipartite_matching(graph)
    out = np.full(n, -1, dtype=np.int64)
    out[r] = np.where(c < m, c, -1)
    return out


def _solve_warehouse(
    wh: _Warehouse,
    weight: np.ndarray,
    lam: float,
    cfg: SlottingConfig,
    state: dict[Any, Any],
    extra: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Solve one warehouse; ``extra`` adds a per-slot cost vector for some items (affinity)."""
    window = state.setdefault(wh.name, cfg.candidate_window)
    while True:
        key = ("graph", wh.name, window)
        if key not in state:
            state[key] = _graph(wh, window)
        g = state[key]
        sol = _assign(wh, weight, lam, extra, g)
        if (sol >= 0).all():
            state[wh.name] = window
            return sol
        if g.full:
            k = int(np.flatnonzero(sol < 0)[0])
            raise InfeasibleError(
                "slot_count",
                f"warehouse {wh.name}: not enough compatible pick slots; item at position {k} cannot be "
                "placed once the other items are (compatible slots are shared with more items than slots)",
            )
        window *= 4


def _moves(whs: list[_Warehouse], sols: list[np.ndarray]) -> int:
    return int(sum(int((s != w.current).sum()) for w, s in zip(whs, sols, strict=True)))


def abc_classes(pick_frequency: np.ndarray, cutoffs: tuple[float, float] = (0.8, 0.95)) -> np.ndarray:
    """ABC class by cumulative share of picks.

    Args:
        pick_frequency: Picks per item.
        cutoffs: Cumulative share bounds of classes A and B.

    Returns:
        Array of ``"A"``, ``"B"``, ``"C"`` aligned with the input; an item belongs to A while the
        cumulative share *before* it is below ``cutoffs[0]`` (so the top item is always A).
    """
    f = np.asarray(pick_frequency, dtype=float)
    order = np.argsort(-f, kind="stable")
    total = f.sum()
    before = np.concatenate([[0.0], np.cumsum(f[order])[:-1]]) / (total if total > 0 else 1.0)
    cls_sorted = np.where(before < cutoffs[0], "A", np.where(before < cutoffs[1], "B", "C"))
    out = np.empty(f.size, dtype="<U1")
    out[order] = cls_sorted
    return out


def expected_travel(
    assignment: pl.DataFrame,
    locations: pl.DataFrame,
    location_col: str = "location",
    config: SlottingConfig | None = None,
) -> float:
    """Expected travel ``sum pick_frequency * distance`` of a slotting.

    Args:
        assignment: Frame with ``pick_frequency`` and a location column.
        locations: Locations frame (see :func:`solve_slotting`).
        location_col: Column of ``assignment`` naming each item's slot; nulls are skipped.
        config: Distance metric and pack stations.

    Returns:
        Frequency-weighted one-way distance (metres x picks).
    """
    loc = _prepare_locations(locations, config or SlottingConfig()).select("location", "distance")
    joined = assignment.select("pick_frequency", pl.col(location_col).alias("location")).join(
        loc, on="location"
    )
    return float((joined["pick_frequency"] * joined["distance"]).sum())


def solve_slotting(
    items: pl.DataFrame, locations: pl.DataFrame, config: SlottingConfig | None = None
) -> SlottingResult:
    """Re-slot items to minimise expected travel under slot rules and a move budget.

    Args:
        items: One row per item. Required: ``item`` (Utf8, unique), ``pick_frequency`` (Float64,
            picks per period, >= 0), ``unit_volume`` (Float64), ``unit_weight`` (Float64, kg),
            ``temperature_class`` (Utf8, e.g. ambient/chilled/frozen), ``hazmat`` (Boolean),
            ``current_location`` (Utf8, nullable). Optional: ``units_per_slot`` (Float64,
            default 1; capacity is checked for ``unit_* x units_per_slot``), ``warehouse``
            (Utf8; default the warehouse of the current location), ``category`` (ignored).
        locations: One row per location. Required: ``location`` (Utf8, unique), ``warehouse``
            (Utf8), ``zone_temperature`` (Utf8), ``x``, ``y`` (Float64, metres),
            ``volume_capacity``, ``weight_capacity`` (Float64), ``is_pick_face`` (Boolean; only
            pick faces are slotting targets), ``hazmat_allowed`` (Boolean), and ``z`` (Float64,
            metres) and/or ``level`` (Int64, 0 = floor; derived from ``z`` when absent).
            Optional: ``golden_zone`` (Boolean; default ``level in config.golden_levels``).
        config: Rules and tuning, see :class:`SlottingConfig`.

    Returns:
        A :class:`SlottingResult` with the move list, the full assignment (with the ABC
        baseline) and a summary of travel under current, ABC and optimised slotting.

    Raises:
        ValueError: Missing columns, negative quantities, duplicate keys or unknown locations.
        InfeasibleError: An item with no compatible location (``"compatibility"``, naming the
            item and the first rule that empties its candidate set), more items of a
            temperature than slots (``"slot_count"``), or more forced moves (items without a
            valid current slot) than the move budget (``"move_budget"``).
    """
    cfg = config or SlottingConfig()
    t0 = time.perf_counter()
    loc = _prepare_locations(locations, cfg)
    it = _prepare_items(items, loc)
    freq = it["pick_frequency"].to_numpy().astype(float)
    whs = _build_warehouses(it, loc, cfg, freq)
    state: dict[str, Any] = {}
    budget = cfg.move_budget
    dual_bound = -np.inf

    def solve_all(lam: float) -> list[np.ndarray]:
        nonlocal dual_bound
        out = [_solve_warehouse(w, freq, lam, cfg, state) for w in whs]
        # Weak duality: min(cost + lam * moves) - lam * budget bounds every plan within the budget.
        slack = _moves(whs, out) - (budget if budget is not None else 0)
        dual_bound = max(dual_bound, _objective(whs, out, freq) + lam * slack)
        return out

    forced = int(sum(int((w.current < 0).sum()) for w in whs))
    if budget is not None and forced > budget:
        raise InfeasibleError(
            "move_budget",
            f"move budget {budget} is below the {forced} forced moves (items without a current slot or whose "
            "current slot breaks a temperature, hazmat, heavy-item or capacity rule)",
        )
    lam = 0.0
    sols = solve_all(0.0)
    travel_unbudgeted = _travel(whs, sols, freq)
    binding = False
    if budget is not None and _moves(whs, sols) > budget:
        binding = True
        span = max(float(max(w.slot_key.max() - w.slot_key.min() for w in whs)), 1.0)
        hi = float(freq.max()) * span * 4 + 1.0  # above any single item's possible saving
        hi_sols = solve_all(hi)
        for _ in range(12):  # chains of swaps can exceed a single item's saving
            if _moves(whs, hi_sols) <= budget:
                break
            hi *= 8
            hi_sols = solve_all(hi)
        else:
            raise InfeasibleError(
                "move_budget",
                f"move budget {budget} cannot be met: the fewest moves found is {_moves(whs, hi_sols)} "
                "(items sharing a current slot, or current slots breaking a rule, must move)",
            )
        lo = 0.0
        for _ in range(cfg.bisection_steps):
            if _moves(whs, hi_sols) >= budget - budget // 200:
                break  # within 0.5% of the budget: further halving buys almost nothing
            mid = (lo + hi) / 2 if lo > 0 else hi / 64
            mid_sols = solve_all(mid)
            if _moves(whs, mid_sols) <= budget:
                hi, hi_sols = mid, mid_sols
            else:
                lo = mid
        lam, sols = hi, hi_sols
    objective = _objective(whs, sols, freq)
    # The bound holds over the candidate graph the assignments saw; affinity changes the objective.
    gap = None if cfg.affinity_pairs else 100 * max(objective - dual_bound, 0.0) / max(objective, 1e-12)
    bounds = {"travel_unbudgeted": travel_unbudgeted, "objective": objective, "budget_dual_gap_pct": gap}

    if cfg.affinity_pairs:
        sols = _affinity_pass(it, whs, sols, freq, lam, cfg, state, budget)

    # ABC baseline: class mean frequency as the weight, a seeded jitter breaking ties randomly.
    cls = np.empty(it.height, dtype="<U1")
    abc_weight = np.zeros(it.height)
    rng = np.random.default_rng(cfg.seed)
    for w in whs:
        f = freq[w.item_idx]
        c = abc_classes(f, cfg.abc_cutoffs)
        cls[w.item_idx] = c
        means = {k: float(f[c == k].mean()) if (c == k).any() else 0.0 for k in "ABC"}
        abc_weight[w.item_idx] = np.array([means[k] for k in c]) * (1 + 1e-6 * rng.random(f.size))
    abc_state: dict[str, Any] = {}
    abc_sols = [_solve_warehouse(w, abc_weight, 0.0, cfg, abc_state) for w in whs]
    elapsed = time.perf_counter() - t0
    return _result(it, loc, whs, sols, abc_sols, cls, abc_weight, cfg, lam, binding, forced, elapsed, bounds)


def _objective(whs: list[_Warehouse], sols: list[np.ndarray], freq: np.ndarray) -> float:
    """Optimiser objective: frequency x (distance + golden-zone penalty)."""
    return float(sum(freq[w.item_idx] @ w.slot_key[s] for w, s in zip(whs, sols, strict=True)))


def _travel(whs: list[_Warehouse], sols: list[np.ndarray], freq: np.ndarray) -> float:
    """Walking distance only: frequency x distance."""
    return float(sum(freq[w.item_idx] @ w.slot_dist[s] for w, s in zip(whs, sols, strict=True)))


def _affinity_pass(
    it: pl.DataFrame,
    whs: list[_Warehouse],
    sols: list[np.ndarray],
    freq: np.ndarray,
    lam: float,
    cfg: SlottingConfig,
    state: dict[str, Any],
    budget: int | None,
) -> list[np.ndarray]:
    pos = {name: k for k, name in enumerate(it["item"].to_list())}
    where: dict[int, tuple[int, int]] = {}  # item row -> (warehouse index, local index)
    for wi, w in enumerate(whs):
        for local, row in enumerate(w.item_idx):
            where[int(row)] = (wi, local)
    extra: dict[str, dict[int, np.ndarray]] = {w.name: {} for w in whs}
    for a, b, weight in cfg.affinity_pairs:
        if a not in pos or b not in pos:
            raise ValueError(f"config.affinity_pairs: unknown item {a if a not in pos else b!r}")
        (wa, la), (wb, lb) = where[pos[a]], where[pos[b]]
        if wa != wb:
            continue
        # The faster mover keeps its first-pass slot as the anchor; pricing both partners towards
        # each other's old slots would just make them trade places.
        anchor, follower = (la, lb) if freq[pos[a]] >= freq[pos[b]] else (lb, la)
        w = whs[wa]
        pxy = w.slot_xy[sols[wa][anchor]]
        extra[w.name][follower] = extra[w.name].get(follower, 0.0) + weight * np.abs(w.slot_xy - pxy).sum(
            axis=1
        )
    if not any(extra.values()):
        return sols
    new = [_solve_warehouse(w, freq, lam, cfg, state, extra[w.name] or None) for w in whs]
    if budget is not None and _moves(whs, new) > budget:
        return sols
    return new


def _result(
    it: pl.DataFrame,
    loc: pl.DataFrame,
    whs: list[_Warehouse],
    sols: list[np.ndarray],
    abc_sols: list[np.ndarray],
    cls: np.ndarray,
    abc_weight: np.ndarray,
    cfg: SlottingConfig,
    lam: float,
    binding: bool,
    forced: int,
    elapsed: float,
    bounds: dict[str, Any],
) -> SlottingResult:
    new_loc = np.empty(it.height, dtype=object)
    abc_loc = np.empty(it.height, dtype=object)
    for w, s, a in zip(whs, sols, abc_sols, strict=True):
        names = np.asarray(w.slot_names, dtype=object)
        new_loc[w.item_idx] = names[s]
        abc_loc[w.item_idx] = names[a]
    dist = dict(zip(loc["location"].to_list(), loc["distance"].to_list(), strict=True))
    assignment = it.select("item", "warehouse", "current_location", "pick_frequency").with_columns(
        pl.Series("location", new_loc.tolist(), dtype=pl.Utf8),
        pl.Series("abc_class", cls.tolist(), dtype=pl.Utf8),
        pl.Series("abc_location", abc_loc.tolist(), dtype=pl.Utf8),
    )
    assignment = assignment.with_columns(
        pl.col("current_location")
        .replace_strict(dist, default=None, return_dtype=pl.Float64)
        .alias("from_distance"),
        pl.col("location").replace_strict(dist, return_dtype=pl.Float64).alias("distance"),
        pl.col("abc_location").replace_strict(dist, return_dtype=pl.Float64).alias("abc_distance"),
    )
    moves = (
        assignment.filter(
            pl.col("current_location").is_null() | (pl.col("current_location") != pl.col("location"))
        )
        .select(
            "item",
            "warehouse",
            pl.col("current_location").alias("from_location"),
            pl.col("location").alias("to_location"),
            "pick_frequency",
            "from_distance",
            pl.col("distance").alias("to_distance"),
            (pl.col("pick_frequency") * (pl.col("from_distance") - pl.col("distance"))).alias(
                "expected_saving"
            ),
        )
        .sort("expected_saving", descending=True, nulls_last=True)
    )
    has_cur = assignment.filter(pl.col("from_distance").is_not_null())
    cur = float((has_cur["pick_frequency"] * has_cur["from_distance"]).sum())
    opt = float((assignment["pick_frequency"] * assignment["distance"]).sum())
    abc_sample = float((assignment["pick_frequency"] * assignment["abc_distance"]).sum())
    # Expected travel of class-based storage over a random order inside each class: the class's
    # mean frequency times the distances of the slots the class occupies. One seeded draw
    # (abc_sample) swings by several percent when a few very fast movers land far or near.
    abc = float((pl.Series(abc_weight) * assignment["abc_distance"]).sum())
    bound = float(sum(w.travel_bound for w in whs))
    summary = {
        "travel_current": cur,
        "travel_abc": abc,
        "travel_abc_sample": abc_sample,
        "travel_optimised": opt,
        "saving_vs_current_pct": 100 * (cur - opt) / cur if cur > 0 else 0.0,
        "saving_vs_abc_pct": 100 * (abc - opt) / abc if abc > 0 else 0.0,
        "travel_lower_bound": bound,
        "max_saving_vs_current_pct": 100 * (cur - bound) / cur if cur > 0 else 0.0,
        "max_saving_vs_abc_pct": 100 * (abc - bound) / abc if abc > 0 else 0.0,
        **bounds,
        "moves": moves.height,
        "abc_moves": int(
            assignment.filter(
                pl.col("current_location").is_null() | (pl.col("current_location") != pl.col("abc_location"))
            ).height
        ),
        "forced_moves": forced,
        "move_budget": cfg.move_budget,
        "move_penalty": lam,
        "budget_binding": binding,
        "items": it.height,
        "pick_slots": int(sum(len(w.slot_names) for w in whs)),
        "solve_time_s": elapsed,
        "distance_metric": cfg.distance,
    }
    return SlottingResult(
        moves=moves,
        assignment=assignment.select(
            "item", "warehouse", "current_location", "location", "abc_class", "abc_location", "distance"
        ),
        summary=summary,
    )
