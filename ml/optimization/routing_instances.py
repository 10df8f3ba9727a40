"""Readers for public vehicle-routing benchmark files (VRPLIB CVRP and Solomon VRPTW).

Used by ``benchmarks/optimisation.py`` to run :func:`ml.optimization.routing.solve_routes` on
instances with best-known solutions. VRPLIB parsing is delegated to ``vrplib`` (PyVRP's own
reader dependency); ``pyvrp.read`` returns a PyVRP ``ProblemData`` rather than our
:class:`~ml.optimization.routing.RoutingProblem`, and rejects the classic Solomon text layout,
so the Solomon reader is a small parser of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from ml.optimization.routing import RoutingProblem

__all__ = ["read_solomon", "read_vrplib", "read_vrplib_solution_cost"]


def read_vrplib(path: str | Path, *, time_limit_s: float = 5.0, seed: int = 0) -> RoutingProblem:
    """Read a VRPLIB CVRP instance (``EUC_2D`` coordinates, one depot).

    Distances follow the X-set convention: euclidean rounded to the nearest integer.

    Args:
        path: ``.vrp`` file.
        time_limit_s: Time limit copied into the problem.
        seed: Seed copied into the problem.

    Returns:
        A :class:`RoutingProblem` with ``coordinates``, ``demands`` and ``vehicle_capacity``; node
        0 is the depot (VRPLIB's node 1).

    Raises:
        ValueError: When the file is not a single-depot ``EUC_2D`` CVRP.
    """
    import vrplib

    inst = vrplib.read_instance(str(path), compute_edge_weights=False)
    if str(inst.get("edge_weight_type", "")).upper() != "EUC_2D":
        raise ValueError(f"{path}: only EDGE_WEIGHT_TYPE EUC_2D is supported")
    depots = list(inst.get("depot", [0]))
    if depots != [0]:
        raise ValueError(f"{path}: expected a single depot at node 1, got {depots}")
    return RoutingProblem(
        coordinates=inst["node_coord"].tolist(),
        demands=[int(d) for d in inst["demand"]],
        vehicle_capacity=int(inst["capacity"]),
        metric="euclidean",
        rounding="round",
        time_limit_s=time_limit_s,
        seed=seed,
    )


def read_solomon(
    path: str | Path, *, scale: int = 10, time_limit_s: float = 5.0, seed: int = 0
) -> RoutingProblem:
    """Read a Solomon VRPTW text file (``CUST NO. XCOORD. YCOORD. DEMAND READY DUE SERVICE``).

    The literature convention truncates euclidean distances to one decimal; with ``scale=10``
    distances, time windows and service times are multiplied by 10 and distances truncated, so the
    integer objective divided by 10 is the published cost. The fleet size from the header becomes
    ``max_vehicles``.

    Args:
        path: Solomon ``.txt`` file.
        scale: Multiplier for distances and times (10 reproduces the one-decimal convention).
        time_limit_s: Time limit copied into the problem.
        seed: Seed copied into the problem.

    Returns:
        A :class:`RoutingProblem` with coordinates, demands, capacity, time windows and service
        times; node 0 is the depot.

    Raises:
        ValueError: When the vehicle or customer section cannot be found.
    """
    lines = Path(path).read_text().splitlines()
    num_vehicles = capacity = None
    rows: list[list[float]] = []
    for k, line in enumerate(lines):
        if line.strip().upper().startswith("NUMBER") and "CAPACITY" in line.upper():
            num_vehicles, capacity = (int(v) for v in lines[k + 1].split()[:2])
        parts = line.split()
        if len(parts) == 7 and all(re.fullmatch(r"-?\d+(\.\d+)?", p) for p in parts):
            rows.append([float(p) for p in parts])
    if capacity is None or not rows:
        raise ValueError(f"{path}: not a Solomon VRPTW file (vehicle or customer section missing)")
    return RoutingProblem(
        coordinates=[[r[1], r[2]] for r in rows],
        demands=[int(r[3]) for r in rows],
        vehicle_capacity=int(capacity),
        max_vehicles=num_vehicles,
        time_windows=[[int(r[4] * scale), int(r[5] * scale)] for r in rows],
        service_times=[int(r[6] * scale) for r in rows],
        metric="euclidean",
        distance_scale=scale,
        rounding="trunc",
        time_limit_s=time_limit_s,
        seed=seed,
    )


def read_vrplib_solution_cost(path: str | Path) -> float:
    """Read the ``Cost`` line of a VRPLIB ``.sol`` file.

    Args:
        path: ``.sol`` file.

    Returns:
        The best-known cost as written in the file.

    Raises:
        ValueError: When the file has no ``Cost`` line.
    """
    for line in Path(path).read_text().splitlines():
        if line.strip().lower().startswith("cost"):
            return float(line.split()[-1])
    raise ValueError(f"{path}: no 'Cost' line")
