"""The base of every error a user can cause and fix (bad input, missing data, unknown codes).

The CLI turns these into one red line and a non-zero exit; the API turns them into 4xx responses. Anything that is
not a ``StockyardError`` is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["StockyardError", "NotFoundError", "ValidationError", "ConflictError"]


class StockyardError(Exception):
    """A user-facing error. ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value


class ValidationError(StockyardError):
    """Input is malformed or violates a business rule; ``field`` names the offending field."""

    exit_code = 2


class NotFoundError(StockyardError):
    """A referenced entity (item, warehouse, order, ...) does not exist."""

    exit_code = 3


class ConflictError(StockyardError):
    """The request conflicts with current state (e.g. an idempotency key reused with a different body)."""

    exit_code = 4
