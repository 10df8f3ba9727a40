"""Errors raised by the planning and optimisation library.

Every solver in :mod:`ml.optimization` validates its input before calling an engine, so callers
(Dagster assets, the ``POST /v1/routes/solve`` route) get either a result or one of two errors:

* :class:`ValueError` for malformed input (negative demand, a non-square matrix, a missing column),
  with the offending field named in the message;
* :class:`InfeasibleError` for well-formed input that no plan can satisfy, naming the constraint.
"""

from __future__ import annotations

__all__ = ["InfeasibleError"]


class InfeasibleError(ValueError):
    """Well-formed input that cannot be satisfied by any plan.

    Subclasses :class:`ValueError` so an HTTP layer mapping ``ValueError`` to a 4xx keeps working,
    while callers that care can catch this narrower type and read :attr:`constraint`.

    Attributes:
        constraint: Short machine-readable name of the violated constraint, e.g. ``"capacity"``,
            ``"time_window"``, ``"temperature"``.
        message: Human-readable explanation naming the entity (node, item, appointment) that
            cannot be placed and why.
    """

    def __init__(self, constraint: str, message: str) -> None:
        """Create the error.

        Args:
            constraint: Machine-readable constraint name.
            message: Human-readable explanation naming the entity and the constraint.
        """
        super().__init__(message)
        self.constraint = constraint
        self.message = message

    def __str__(self) -> str:
        return self.message
