"""Routing: hand-checked optima, brute-force comparisons, constraint properties, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.optimization.errors import InfeasibleError
from ml.optimization.routing import RoutingProblem, build_distance_matrix, solve_routes

ENGINES = ["pyvrp", "ortools"]


def _route_cost(dist: np.ndarray, depot: int, route: tuple[int, ...]) -> int:
    path = (depot, *route, depot)
    return int(sum(dist[a, b] for a, b in itertools.pairwise(path)))


def _set_partitions(items: list[int]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        for k in range(len(part)):
            yield [*part[:k], [first, *part[k]], *part[k + 1 :]]
        yield [[first], *part]


def brute_force_cvrp(dist: np.ndarray, demands: list[int], cap: int, depot: int = 0) -> int:
    """Optimal CVRP cost by enumerating every partition and every visiting order (n <= 6)."""
    customers = [i for i in range(len(demands)) if i != depot]
    best = None
    for part in _set_partitions(customers):
        if any(sum(demands[i] for i in group) > cap for group in part):
            continue
        cost = sum(min(_route_cost(dist, depot, p) for p in itertools.permutations(group)) for group in part)
        best = cost if best is None else min(best, cost)
    assert best is not None
    return best


def _assert_valid(problem: RoutingProblem, sol, dist: np.ndarray) -> None:
    n = dist.shape[0]
    visited = sorted(node for route in sol.routes for node in route)
    assert visited == [i for i in range(n) if i != problem.depot]  # every customer exactly once
    for route, load, rdist in zip(sol.routes, sol.route_loads, sol.route_distances, strict=True):
        assert load == sum(problem.demands[i] for i in route) <= problem.vehicle_capacity
        assert rdist == _route_cost(dist, problem.depot, tuple(route))
    assert sol.total_distance == sum(sol.route_distances)
    if problem.max_vehicles is not None:
        assert len(sol.routes) <= problem.max_vehicles


@pytest.mark.parametrize("engine", ENGINES)
def test_four_customers_on_a_line_needs_two_trucks(engine):
    # Depot at 0; customers at 1, 2, -1, -2 on a line; capacity 2 units, each demand 1.
    # Optimum: one truck goes right (0->1->2->0 = 4), one goes left (4): total 8, hand-checked.
    coords = [[0, 0], [1, 0], [2, 0], [-1, 0], [-2, 0]]
    problem = RoutingProblem(coordinates=coords, demands=[0, 1, 1, 1, 1], vehicle_capacity=2, time_limit_s=1)
    sol = solve_routes(problem, engine=engine)
    assert sol.feasible
    assert sol.total_distance == 8
    assert sorted(sorted(r) for r in sol.routes) == [[1, 2], [3, 4]]


@pytest.mark.parametrize("engine", ENGINES)
def test_matches_brute_force_on_random_small_instances(engine):
    rng = np.random.default_rng(7)
    for _ in range(3):
        n = 6
        coords = rng.integers(0, 100, size=(n, 2))
        demands = [0, *rng.integers(1, 6, size=n - 1).tolist()]
        dist = build_distance_matrix(coords)
        problem = RoutingProblem(distance_matrix=dist, demands=demands, vehicle_capacity=8, time_limit_s=0.5)
        sol = solve_routes(problem, engine=engine)
        _assert_valid(problem, sol, dist)
        assert sol.total_distance == brute_force_cvrp(dist, demands, 8)


def test_non_zero_depot_index_is_excluded_from_routes():
    coords = [[1, 0], [0, 0], [2, 0]]
    problem = RoutingProblem(
        coordinates=coords, depot=1, demands=[1, 0, 1], vehicle_capacity=5, time_limit_s=0.5
    )
    sol = solve_routes(problem)
    assert sol.routes == [[0, 2]] or sol.routes == [[2, 0]]
    assert sol.total_distance == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_time_windows_force_visiting_order(engine):
    # Depot at 0; A at x=10 must be served in [0, 10], B at x=5 only in [30, 40]. Cheapest
    # geometric order 0->B->A->0 would miss A's window, so the route must be 0->A->B->0.
    coords = [[0, 0], [10, 0], [5, 0]]
    problem = RoutingProblem(
        coordinates=coords,
        demands=[0, 1, 1],
        vehicle_capacity=10,
        max_vehicles=1,
        time_windows=[[0, 100], [0, 10], [30, 40]],
        service_times=[0, 2, 2],
        time_limit_s=0.5,
    )
    sol = solve_routes(problem, engine=engine)
    assert sol.feasible
    assert sol.routes == [[1, 2]]
    assert sol.arrival_times == [[10, 30]]


def test_haversine_distance_paris_london():
    d = build_distance_matrix([[48.8566, 2.3522], [51.5074, -0.1278]], "haversine")
    assert 343_000 < d[0, 1] < 345_000  # ~343.5 km great-circle
    assert d[0, 1] == d[1, 0] and d[0, 0] == 0


def test_trunc_rounding_with_scale():
    d = build_distance_matrix([[0, 0], [1, 1]], scale=10, rounding="trunc")
    assert d[0, 1] == 14  # sqrt(2) = 1.414 -> 1.4 -> 14


def test_demand_above_capacity_names_the_node():
    problem = RoutingProblem(coordinates=[[0, 0], [1, 1], [2, 2]], demands=[0, 3, 11], vehicle_capacity=10)
    with pytest.raises(InfeasibleError) as exc:
        solve_routes(problem)
    assert exc.value.constraint == "capacity"
    assert "node 2" in str(exc.value) and "11" in str(exc.value)


def test_unreachable_time_window_names_the_node():
    problem = RoutingProblem(
        coordinates=[[0, 0], [100, 0], [1, 0]],
        demands=[0, 1, 1],
        vehicle_capacity=10,
        time_windows=[[0, 1000], [0, 50], [0, 50]],
    )
    with pytest.raises(InfeasibleError) as exc:
        solve_routes(problem, engine="ortools")
    assert exc.value.constraint == "time_window" and "node 1" in str(exc.value)


def test_fleet_too_small_is_infeasible():
    problem = RoutingProblem(
        coordinates=[[0, 0], [1, 0], [2, 0]], demands=[0, 6, 6], vehicle_capacity=10, max_vehicles=1
    )
    with pytest.raises(InfeasibleError, match="fleet capacity"):
        solve_routes(problem)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"distance_matrix": [[0, 1], [1, 0], [2, 2]], "demands": [0, 1]}, "distance_matrix"),
        ({"distance_matrix": [[0, -1], [1, 0]], "demands": [0, 1]}, "distance_matrix"),
        ({"distance_matrix": [[0, 1], [1, 0]], "demands": [0, -1]}, "demands"),
        ({"distance_matrix": [[0, 1], [1, 0]], "demands": [0, 1, 2]}, "demands"),
        ({"coordinates": [[0, 0, 0]], "demands": [0]}, "coordinates"),
        ({"demands": [0, 1]}, "distance_matrix or coordinates"),
        (
            {"distance_matrix": [[0, 1], [1, 0]], "demands": [0, 1], "time_windows": [[0, 5], [9, 3]]},
            "time_windows",
        ),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field) as exc:
        solve_routes(RoutingProblem(vehicle_capacity=5, **kwargs))
    assert not isinstance(exc.value, InfeasibleError)


@st.composite
def vrptw_instances(draw):
    n = draw(st.integers(2, 9))
    coords = draw(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=n, max_size=n))
    cap = draw(st.integers(5, 20))
    demands = [0] + draw(st.lists(st.integers(0, cap), min_size=n - 1, max_size=n - 1))
    dist = build_distance_matrix(coords)
    windows = None
    if draw(st.booleans()):
        # Windows wide enough around the direct arrival time to always be reachable.
        windows = [[0, 10_000]]
        for i in range(1, n):
            start = draw(st.integers(0, 200))
            windows.append([start, max(start, int(dist[0, i])) + draw(st.integers(0, 100))])
    return RoutingProblem(
        coordinates=coords,
        demands=demands,
        vehicle_capacity=cap,
        time_windows=windows,
        service_times=[0] + [3] * (n - 1) if windows else None,
        time_limit_s=0.2,
        seed=draw(st.integers(0, 100)),
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vrptw_instances(), st.sampled_from(ENGINES))
def test_solutions_never_violate_constraints(problem, engine):
    dist = build_distance_matrix(problem.coordinates)
    sol = solve_routes(problem, engine=engine)
    assert sol.feasible
    _assert_valid(problem, sol, dist)
    if problem.time_windows is not None:
        # Replay each route independently of the solver's reported times.
        for route in sol.routes:
            t, prev = 0, 0
            for node in route:
                t = max(t + problem.service_times[prev] + dist[prev, node], problem.time_windows[node][0])
                assert t <= problem.time_windows[node][1]
                prev = node
            assert t + problem.service_times[prev] + dist[prev, 0] <= problem.time_windows[0][1]


def test_to_frame_has_one_row_per_stop():
    problem = RoutingProblem(
        coordinates=[[0, 0], [1, 0], [2, 0]], demands=[0, 1, 1], vehicle_capacity=5, time_limit_s=0.2
    )
    frame = solve_routes(problem).to_frame()
    assert frame.columns == ["route", "stop", "node", "route_load", "route_distance", "arrival_time"]
    assert sorted(frame["node"].to_list()) == [1, 2]
