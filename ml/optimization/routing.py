"""Capacitated vehicle routing with optional time windows (CVRP / VRPTW).

One depot, identical vehicles with one capacity, every non-depot node is a customer that must be
visited exactly once. Two engines solve the same :class:`RoutingProblem`:

* ``"pyvrp"`` (default): PyVRP's iterated local search (PyVRP >= 0.12 replaced the hybrid genetic
  search by ILS over the same HGS-CVRP neighbourhoods; it reaches the BKS on the X-set instances we
  benchmark). Used by ``POST /v1/routes/solve``.
* ``"ortools"``: the OR-Tools routing library with guided local search, kept so the benchmark can
  compare engines side by side.

Units: distances are integers. With ``coordinates`` they are computed (euclidean in coordinate
units, haversine in metres), multiplied by ``distance_scale`` and rounded (``rounding``). Time
windows and service times are in the same unit as distances: travel time between two nodes equals
their distance (Solomon convention), unless an explicit ``duration_matrix`` is given.

Node indices in the input and output are indices into the matrix / coordinate list, so the depot
may be any node; routes never include the depot.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from ml.optimization.errors import InfeasibleError

__all__ = [
    "RoutingProblem",
    "RoutingSolution",
    "build_distance_matrix",
    "solve_routes",
    "solve_routes_ortools",
    "solve_routes_pyvrp",
    "validate_problem",
]

_EARTH_RADIUS_M = 6_371_008.8
_HORIZON_MAX = 2**40  # "no deadline"; large yet safely inside int64 arithmetic in both engines


@dataclass
class RoutingProblem:
    """Input of :func:`solve_routes` (mirrors the body of ``POST /v1/routes/solve``).

    Attributes:
        demands: One non-negative integer per node; the depot's entry is ignored.
        vehicle_capacity: Capacity of every vehicle (same unit as ``demands``), > 0.
        distance_matrix: Explicit square non-negative integer matrix ``n x n``. Either this or
            ``coordinates`` is required; the matrix wins if both are given.
        coordinates: ``n`` pairs. ``metric="euclidean"``: ``(x, y)``; ``"haversine"``:
            ``(lat, lon)`` in degrees, distances in metres.
        metric: ``"euclidean"`` or ``"haversine"``; only used with ``coordinates``.
        depot: Index of the depot node (default 0).
        max_vehicles: Upper bound on routes; ``None`` means unbounded (one per customer).
        time_windows: Optional ``n`` pairs ``[start, end]`` on service start; the depot's pair is
            the planning horizon (vehicles leave at/after start, return by end).
        service_times: Optional ``n`` non-negative service durations.
        duration_matrix: Optional travel-time matrix; defaults to the distance matrix.
        time_limit_s: Wall-clock limit for the search, seconds.
        seed: Random seed (PyVRP) for reproducible runs.
        distance_scale: Multiplier applied to computed coordinate distances before rounding
            (e.g. 10 for Solomon's one-decimal convention).
        rounding: ``"round"`` (nearest integer) or ``"trunc"`` (floor) for computed distances.
    """

    demands: Sequence[int]
    vehicle_capacity: int
    distance_matrix: Sequence[Sequence[int]] | np.ndarray | None = None
    coordinates: Sequence[Sequence[float]] | np.ndarray | None = None
    metric: Literal["euclidean", "haversine"] = "euclidean"
    depot: int = 0
    max_vehicles: int | None = None
    time_windows: Sequence[Sequence[int]] | None = None
    service_times: Sequence[int] | None = None
    duration_matrix: Sequence[Sequence[int]] | np.ndarray | None = None
    time_limit_s: float = 5.0
    seed: int = 0
    distance_scale: float = 1.0
    rounding: Literal["round", "trunc"] = "round"


@dataclass
class RoutingSolution:
    """Output of :func:`solve_routes`.

    Attributes:
        routes: One list per used vehicle with the customer node indices in visiting order
            (depot excluded).
        route_loads: Sum of demands per route.
        route_distances: Depot-to-depot distance per route.
        total_distance: Sum of ``route_distances``.
        feasible: ``True`` when every customer is routed once and no capacity, time window or
            fleet-size limit is exceeded.
        engine: ``"pyvrp"`` or ``"ortools"``.
        solve_time_s: Wall-clock seconds spent in the engine.
        arrival_times: Service start time at each stop (same shape as ``routes``); empty lists
            when the problem has no time windows.
    """

    routes: list[list[int]]
    route_loads: list[int]
    route_distances: list[int]
    total_distance: int
    feasible: bool
    engine: str
    solve_time_s: float
    arrival_times: list[list[int]] = field(default_factory=list)

    def to_frame(self) -> pl.DataFrame:
        """Flatten the routes into one row per stop.

        Returns:
            Frame with columns ``route`` (Int64, 0-based), ``stop`` (Int64, 1-based position),
            ``node`` (Int64), ``route_load`` (Int64), ``route_distance`` (Int64) and
            ``arrival_time`` (Int64, null without time windows).
        """
        rows: dict[str, list[int | None]] = {
            "route": [],
            "stop": [],
            "node": [],
            "route_load": [],
            "route_distance": [],
            "arrival_time": [],
        }
        for r, route in enumerate(self.routes):
            times: list[int | None] = (
                list(self.arrival_times[r]) if self.arrival_times else [None] * len(route)
            )
            for s, node in enumerate(route):
                rows["route"].append(r)
                rows["stop"].append(s + 1)
                rows["node"].append(node)
                rows["route_load"].append(self.route_loads[r])
                rows["route_distance"].append(self.route_distances[r])
                rows["arrival_time"].append(times[s])
        return pl.DataFrame(rows, schema=dict.fromkeys(rows, pl.Int64))


@dataclass
class _Prepared:
    """Validated, array-form problem shared by both engines."""

    dist: np.ndarray  # int64 n x n
    dur: np.ndarray  # int64 n x n
    demands: np.ndarray  # int64 n (depot = 0)
    depot: int
    capacity: int
    num_vehicles: int
    tw: np.ndarray | None  # int64 n x 2
    service: np.ndarray  # int64 n
    customers: list[int] = field(default_factory=list)


def build_distance_matrix(
    coordinates: Sequence[Sequence[float]] | np.ndarray,
    metric: Literal["euclidean", "haversine"] = "euclidean",
    *,
    scale: float = 1.0,
    rounding: Literal["round", "trunc"] = "round",
) -> np.ndarray:
    """Integer distance matrix from coordinates.

    Args:
        coordinates: ``n`` pairs: ``(x, y)`` for euclidean, ``(lat, lon)`` degrees for haversine.
        metric: ``"euclidean"`` (coordinate units) or ``"haversine"`` (great-circle metres).
        scale: Multiplier applied before rounding.
        rounding: ``"round"`` to nearest or ``"trunc"`` towards zero.

    Returns:
        ``n x n`` int64 array with a zero diagonal.

    Raises:
        ValueError: When ``coordinates`` is not ``n x 2``, holds non-finite values, latitudes are
            outside [-90, 90], or ``metric``/``rounding`` is unknown.
    """
    xy = np.asarray(coordinates, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coordinates: expected n pairs, got shape {xy.shape}")
    if not np.isfinite(xy).all():
        raise ValueError("coordinates: contains NaN or infinite values")
    if metric == "euclidean":
        diff = xy[:, None, :] - xy[None, :, :]
        d = np.sqrt((diff**2).sum(axis=2))
    elif metric == "haversine":
        if (np.abs(xy[:, 0]) > 90).any():
            raise ValueError(
                "coordinates: latitude outside [-90, 90] (haversine expects (lat, lon) in degrees)"
            )
        lat, lon = np.radians(xy[:, 0]), np.radians(xy[:, 1])
        dlat = lat[:, None] - lat[None, :]
        dlon = lon[:, None] - lon[None, :]
        a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
        d = 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    else:
        raise ValueError(f"metric: expected 'euclidean' or 'haversine', got {metric!r}")
    d = d * scale
    if rounding == "round":
        out = np.rint(d)
    elif rounding == "trunc":
        # Tiny epsilon so 0.3 * 10 = 2.9999999 still truncates to 3.
        out = np.floor(d + 1e-9)
    else:
        raise ValueError(f"rounding: expected 'round' or 'trunc', got {rounding!r}")
    result: np.ndarray = out.astype(np.int64)
    return result


def _int_matrix(name: str, value: Sequence[Sequence[int]] | np.ndarray, n: int | None) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} x {n} to match the other inputs, got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.isfinite(arr.astype(float)).all() or not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{name}: entries must be finite integers")
    arr = arr.astype(np.int64)
    if (arr < 0).any():
        i, j = np.argwhere(arr < 0)[0]
        raise ValueError(f"{name}: negative entry {arr[i, j]} at [{i}][{j}]")
    return arr


def validate_problem(problem: RoutingProblem) -> _Prepared:
    """Check a problem and return its array form; raise on bad or infeasible input.

    Args:
        problem: The routing problem.

    Returns:
        Internal prepared representation used by the engines.

    Raises:
        ValueError: Malformed input, naming the field.
        InfeasibleError: A customer whose demand exceeds the vehicle capacity (``"capacity"``),
            total demand above the fleet's capacity (``"fleet_capacity"``), or a customer whose
            time window cannot be reached from the depot, or from which the depot cannot be
            reached before the horizon ends (``"time_window"``).
    """
    if problem.distance_matrix is not None:
        dist = _int_matrix("distance_matrix", problem.distance_matrix, None)
    elif problem.coordinates is not None:
        dist = build_distance_matrix(
            problem.coordinates, problem.metric, scale=problem.distance_scale, rounding=problem.rounding
        )
    else:
        raise ValueError("distance_matrix or coordinates: one of them is required")
    n = dist.shape[0]
    if n < 1:
        raise ValueError("distance_matrix: needs at least the depot")
    dur = (
        dist
        if problem.duration_matrix is None
        else _int_matrix("duration_matrix", problem.duration_matrix, n)
    )

    demands = np.asarray(problem.demands)
    if demands.ndim != 1 or demands.shape[0] != n:
        raise ValueError(
            f"demands: expected {n} values (one per node), got {demands.shape[0] if demands.ndim else 0}"
        )
    if demands.size and not np.all(np.equal(np.mod(demands, 1), 0)):
        raise ValueError("demands: entries must be integers")
    demands = demands.astype(np.int64)
    if (demands < 0).any():
        i = int(np.argmax(demands < 0))
        raise ValueError(f"demands: negative demand {demands[i]} at node {i}")
    if not 0 <= problem.depot < n:
        raise ValueError(f"depot: index {problem.depot} outside 0..{n - 1}")
    if int(problem.vehicle_capacity) <= 0:
        raise ValueError(f"vehicle_capacity: must be > 0, got {problem.vehicle_capacity}")
    if problem.max_vehicles is not None and problem.max_vehicles < 1:
        raise ValueError(f"max_vehicles: must be >= 1, got {problem.max_vehicles}")
    if problem.time_limit_s <= 0:
        raise ValueError(f"time_limit_s: must be > 0, got {problem.time_limit_s}")
    depot = int(problem.depot)
    demands = demands.copy()
    demands[depot] = 0
    cap = int(problem.vehicle_capacity)
    customers = [i for i in range(n) if i != depot]

    service = np.zeros(n, dtype=np.int64)
    if problem.service_times is not None:
        service = np.asarray(problem.service_times)
        if service.ndim != 1 or service.shape[0] != n:
            raise ValueError(f"service_times: expected {n} values, got {service.shape}")
        service = service.astype(np.int64)
        if (service < 0).any():
            raise ValueError(f"service_times: negative value at node {int(np.argmax(service < 0))}")

    tw = None
    if problem.time_windows is not None:
        tw = np.asarray(problem.time_windows)
        if tw.ndim != 2 or tw.shape != (n, 2):
            raise ValueError(f"time_windows: expected {n} pairs [start, end], got shape {tw.shape}")
        tw = tw.astype(np.int64)
        bad = np.flatnonzero((tw[:, 0] > tw[:, 1]) | (tw[:, 0] < 0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"time_windows: node {i} has invalid window [{tw[i, 0]}, {tw[i, 1]}]")

    for i in customers:
        if demands[i] > cap:
            raise InfeasibleError(
                "capacity",
                f"node {i}: demand {demands[i]} exceeds vehicle capacity {cap}; no single vehicle can serve it",
            )
    num_vehicles = len(customers) if problem.max_vehicles is None else int(problem.max_vehicles)
    num_vehicles = max(num_vehicles, 1)
    total = int(demands.sum())
    if total > num_vehicles * cap:
        raise InfeasibleError(
            "fleet_capacity",
            f"total demand {total} exceeds fleet capacity {num_vehicles} vehicles x {cap} = {num_vehicles * cap}",
        )
    if tw is not None:
        d_start, d_end = int(tw[depot, 0]), int(tw[depot, 1])
        for i in customers:
            earliest = max(d_start + int(dur[depot, i]), int(tw[i, 0]))
            if earliest > tw[i, 1]:
                raise InfeasibleError(
                    "time_window",
                    f"node {i}: time window [{tw[i, 0]}, {tw[i, 1]}] cannot be reached; earliest arrival "
                    f"from the depot is {d_start + int(dur[depot, i])}",
                )
            back = earliest + int(service[i]) + int(dur[i, depot])
            if back > d_end:
                raise InfeasibleError(
                    "time_window",
                    f"node {i}: a vehicle serving it at the earliest ({earliest}) returns to the depot at "
                    f"{back}, after the depot closes at {d_end}",
                )
    return _Prepared(
        dist=dist,
        dur=dur,
        demands=demands,
        depot=depot,
        capacity=cap,
        num_vehicles=num_vehicles,
        tw=tw,
        service=service,
        customers=customers,
    )


def _check_routes(
    prep: _Prepared, routes: list[list[int]]
) -> tuple[list[int], list[int], list[list[int]], bool]:
    """Recompute loads, distances and arrival times from scratch, independently of the engine."""
    loads, dists, arrivals = [], [], []
    ok = len(routes) <= prep.num_vehicles
    seen: list[int] = []
    for route in routes:
        loads.append(int(prep.demands[route].sum()))
        path = [prep.depot, *route, prep.depot]
        dists.append(int(sum(prep.dist[a, b] for a, b in zip(path, path[1:], strict=False))))
        ok &= loads[-1] <= prep.capacity
        seen.extend(route)
        if prep.tw is not None:
            t = int(prep.tw[prep.depot, 0])
            prev = prep.depot
            times = []
            for node in route:
                t = max(t + int(prep.service[prev]) + int(prep.dur[prev, node]), int(prep.tw[node, 0]))
                ok &= t <= prep.tw[node, 1]
                times.append(t)
                prev = node
            t += int(prep.service[prev]) + int(prep.dur[prev, prep.depot])
            ok &= t <= prep.tw[prep.depot, 1]
            arrivals.append(times)
    ok &= sorted(seen) == prep.customers
    return loads, dists, arrivals, bool(ok)


def _finish(prep: _Prepared, routes: list[list[int]], engine: str, elapsed: float) -> RoutingSolution:
    routes = [r for r in routes if r]
    loads, dists, arrivals, ok = _check_routes(prep, routes)
    return RoutingSolution(
        routes=routes,
        route_loads=loads,
        route_distances=dists,
        total_distance=int(sum(dists)),
        feasible=ok,
        engine=engine,
        solve_time_s=elapsed,
        arrival_times=arrivals,
    )


def solve_routes_pyvrp(problem: RoutingProblem) -> RoutingSolution:
    """Solve with PyVRP (iterated local search). See :func:`solve_routes`."""
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
    from pyvrp.stop import MaxRuntime

    prep = validate_problem(problem)
    if not prep.customers:
        return _finish(prep, [], "pyvrp", 0.0)
    # PyVRP wants the depot first; order = [depot, customers...] maps PyVRP location -> our node.
    order = [prep.depot, *prep.customers]
    idx = np.asarray(order)
    dist = np.ascontiguousarray(prep.dist[np.ix_(idx, idx)])
    dur = np.ascontiguousarray(prep.dur[np.ix_(idx, idx)])
    tw = prep.tw
    locations = [Location(x=0.0, y=0.0) for _ in order]
    clients = []
    for loc, node in enumerate(order[1:], start=1):
        kw: dict[str, Any] = {}
        if tw is not None:
            kw = {"tw_early": int(tw[node, 0]), "tw_late": int(tw[node, 1])}
        clients.append(
            Client(
                location=loc,
                delivery=[int(prep.demands[node])],
                service_duration=int(prep.service[node]),
                **kw,
            )
        )
    depot_kw: dict[str, Any] = (
        {} if tw is None else {"tw_early": int(tw[prep.depot, 0]), "tw_late": int(tw[prep.depot, 1])}
    )
    depots = [Depot(location=0, **depot_kw)]
    vt_kw: dict[str, Any] = (
        {} if tw is None else {"tw_early": int(tw[prep.depot, 0]), "tw_late": int(tw[prep.depot, 1])}
    )
    vehicle = VehicleType(num_available=prep.num_vehicles, capacity=[prep.capacity], **vt_kw)
    matrices: list[Any] = [dist, dur]  # the stub wants ndarray[int], numpy types them as int64 arrays
    data = ProblemData(locations, clients, depots, [vehicle], matrices[:1], matrices[1:])
    t0 = time.perf_counter()
    result = solve(
        data, MaxRuntime(problem.time_limit_s), seed=problem.seed, collect_stats=False, display=False
    )
    elapsed = time.perf_counter() - t0
    routes = [[order[a.idx + 1] for a in route if a.is_client()] for route in result.best.routes()]
    # A client's Activity.idx is its client index; client k sits at PyVRP location k + 1.
    return _finish(prep, routes, "pyvrp", elapsed)


def solve_routes_ortools(problem: RoutingProblem) -> RoutingSolution:
    """Solve with the OR-Tools routing library (guided local search). See :func:`solve_routes`."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    prep = validate_problem(problem)
    if not prep.customers:
        return _finish(prep, [], "ortools", 0.0)
    n = prep.dist.shape[0]
    # OR-Tools creates every vehicle up front and searches over all of them; an unbounded fleet
    # (one vehicle per customer) slows GLS badly, so start from 1.5x the capacity lower bound
    # and fall back to the full bound only if that finds nothing.
    lower = max(1, math.ceil(int(prep.demands.sum()) / prep.capacity))
    tries = [min(prep.num_vehicles, max(lower + 2, math.ceil(1.5 * lower)))]
    if tries[0] < prep.num_vehicles:
        tries.append(prep.num_vehicles)
    t0 = time.perf_counter()
    budget = problem.time_limit_s
    routes: list[list[int]] = []
    for vehicles in tries:
        manager = pywrapcp.RoutingIndexManager(n, vehicles, prep.depot)
        model = pywrapcp.RoutingModel(manager)
        dist_cb = model.RegisterTransitMatrix(prep.dist.tolist())
        model.SetArcCostEvaluatorOfAllVehicles(dist_cb)
        demand_cb = model.RegisterUnaryTransitVector(prep.demands.tolist())
        model.AddDimensionWithVehicleCapacity(demand_cb, 0, [prep.capacity] * vehicles, True, "load")
        if prep.tw is not None:
            # transit(i, j) = service(i) + travel(i, j): cumul = service start time.
            time_m = (prep.dur + prep.service[:, None]).tolist()
            time_cb = model.RegisterTransitMatrix(time_m)
            horizon = int(prep.tw[prep.depot, 1])
            model.AddDimension(time_cb, horizon, horizon, False, "time")
            tdim = model.GetDimensionOrDie("time")
            for node in prep.customers:
                tdim.CumulVar(manager.NodeToIndex(node)).SetRange(
                    int(prep.tw[node, 0]), int(prep.tw[node, 1])
                )
            for v in range(vehicles):
                tdim.CumulVar(model.Start(v)).SetRange(int(prep.tw[prep.depot, 0]), horizon)
                tdim.CumulVar(model.End(v)).SetRange(int(prep.tw[prep.depot, 0]), horizon)
        params = pywrapcp.DefaultRoutingSearchParameters()
        # Savings builds good CVRP starts; with time windows path-based starts often find no
        # feasible first solution under a tight fleet limit (C101 with 10 vehicles), insertion does.
        strategies = routing_enums_pb2.FirstSolutionStrategy
        params.first_solution_strategy = (
            strategies.SAVINGS if prep.tw is None else strategies.PARALLEL_CHEAPEST_INSERTION
        )
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        remaining = budget - (time.perf_counter() - t0)
        if remaining <= 0.05:
            break
        params.time_limit.FromMilliseconds(max(50, int(remaining * 1000)))
        sol = model.SolveWithParameters(params)
        if sol is None:
            continue
        for v in range(vehicles):
            index = model.Start(v)
            route = []
            index = sol.Value(model.NextVar(index))
            while not model.IsEnd(index):
                route.append(manager.IndexToNode(index))
                index = sol.Value(model.NextVar(index))
            if route:
                routes.append(route)
        break
    elapsed = time.perf_counter() - t0
    return _finish(prep, routes, "ortools", elapsed)


def solve_routes(
    problem: RoutingProblem, *, engine: Literal["pyvrp", "ortools"] = "pyvrp"
) -> RoutingSolution:
    """Solve a CVRP, optionally with time windows.

    Args:
        problem: Nodes, demands, capacity, optional fleet limit, time windows and service times,
            and the search's time limit and seed. See :class:`RoutingProblem`.
        engine: ``"pyvrp"`` (default, iterated local search) or ``"ortools"`` (routing library
            with guided local search).

    Returns:
        A :class:`RoutingSolution`. Loads, distances, arrival times and ``feasible`` are
        recomputed from the returned routes, not copied from the engine. ``feasible=False``
        means the search ran out of time before meeting every constraint (e.g. a fleet limit
        too tight for the time windows); the best routes found are still returned.

    Raises:
        ValueError: Malformed input, naming the field (non-square matrix, negative demand, ...).
        InfeasibleError: Input no plan can satisfy, naming the node and the constraint (demand
            above capacity, unreachable time window, total demand above the fleet capacity).
    """
    if engine == "pyvrp":
        return solve_routes_pyvrp(problem)
    if engine == "ortools":
        return solve_routes_ortools(problem)
    raise ValueError(f"engine: expected 'pyvrp' or 'ortools', got {engine!r}")
