"""Planning and optimisation: routing, slotting, replenishment, S&OP, load building, dock scheduling.

Plain functions over polars DataFrames plus typed config; no orchestration or serving imports.
Import the concept module you need, e.g. ``from ml.optimization.routing import solve_routes``.
"""

from ml.optimization.errors import InfeasibleError

__all__ = ["InfeasibleError"]
