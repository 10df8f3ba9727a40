"""``POST /v1/routes/solve``: capacitated vehicle routing with optional time windows (PyVRP)."""

from __future__ import annotations

import re

import anyio
from fastapi import APIRouter

from ml.optimization.errors import InfeasibleError
from ml.optimization.routing import RoutingProblem, RoutingSolution, solve_routes
from serving.api.deps import InferenceRead
from serving.api.routes.orders import _ERRORS
from serving.schemas import ErrorOut, RouteSolveIn, RouteSolveOut
from stockyard.errors import ValidationError

__all__ = ["router", "solve"]

router = APIRouter(prefix="/v1/routes", tags=["inference"])

# Solves are CPU-bound for their whole time limit: at most two at once so they cannot starve the other routes.
_SOLVE_SLOTS = anyio.CapacityLimiter(2)
_FIELD_RE = re.compile(r"^([a-z_]+)(?: or [a-z_]+)?:")


def solve(body: RouteSolveIn) -> RouteSolveOut:
    """Solve one instance (blocking).

    Args:
        body: The request.

    Returns:
        The routes with loads and distances.

    Raises:
        ValidationError: Malformed (field named) or infeasible input.
    """
    problem = RoutingProblem(
        demands=body.demands,
        vehicle_capacity=body.vehicle_capacity,
        distance_matrix=body.distance_matrix,
        coordinates=body.coordinates,
        metric=body.metric,
        depot=body.depot,
        max_vehicles=body.max_vehicles,
        time_windows=body.time_windows,
        service_times=body.service_times,
        time_limit_s=body.time_limit_s,
        seed=body.seed,
    )
    try:
        solution: RoutingSolution = solve_routes(problem)
    except InfeasibleError as exc:
        raise ValidationError(f"infeasible ({exc.constraint}): {exc.message}", field=exc.constraint) from exc
    except ValueError as exc:
        match = _FIELD_RE.match(str(exc))
        raise ValidationError(str(exc), field=match.group(1) if match else None) from exc
    return RouteSolveOut(
        routes=solution.routes,
        route_loads=solution.route_loads,
        route_distances=solution.route_distances,
        total_distance=solution.total_distance,
        feasible=solution.feasible,
        vehicles_used=len(solution.routes),
        solve_time_s=solution.solve_time_s,
        engine=solution.engine,
    )


@router.post(
    "/solve",
    response_model=RouteSolveOut,
    responses={**_ERRORS, 422: {"model": ErrorOut, "description": "Malformed or infeasible instance"}},
)
async def solve_route(body: RouteSolveIn, _: InferenceRead) -> RouteSolveOut:
    """Routes (customer nodes, depot excluded) with per-route loads and distances, within ``time_limit_s``."""
    return await anyio.to_thread.run_sync(solve, body, limiter=_SOLVE_SLOTS)
