"""Read-only access to the plans the pipeline writes as gold Parquet files.

``fct_slotting_plan.parquet`` and ``fct_replenishment_plan.parquet`` are rebuilt by the Dagster layer; each is
read once per file version (modification time) and filtered in memory. A plan that was never built is answered
with 503 and the reason.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from pathlib import Path
from typing import Any

import polars as pl

from serving.errors import ServiceUnavailableError

__all__ = ["PlanFile", "PlanStore"]


class PlanFile:
    """One plan file, cached per modification time."""

    def __init__(self, name: str, path: Path) -> None:
        """Create the reader.

        Args:
            name: Plan name (``slotting``, ``replenishment``).
            path: Parquet file.
        """
        self.name = name
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._frame: pl.DataFrame | None = None

    def load(self) -> tuple[pl.DataFrame, dt.datetime]:
        """The plan and when it was built.

        Returns:
            ``(frame, built_at)``.

        Raises:
            ServiceUnavailableError: The file does not exist or cannot be read.
        """
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            raise ServiceUnavailableError(
                f"the {self.name} plan has not been built yet ({self.path.name} missing); run the pipeline",
                code="plan_unavailable",
            ) from None
        with self._lock:
            if self._frame is None or mtime != self._mtime:
                try:
                    self._frame = pl.read_parquet(self.path)
                except (
                    Exception
                ) as exc:  # a half-written or corrupt file is an outage of the plan, not a bug here
                    raise ServiceUnavailableError(
                        f"the {self.name} plan cannot be read: {exc}", code="plan_unavailable"
                    ) from exc
                self._mtime = mtime
            return self._frame, dt.datetime.fromtimestamp(mtime, tz=dt.UTC)

    def query(
        self, filters: dict[str, str | None], limit: int
    ) -> tuple[list[dict[str, Any]], int, dt.datetime]:
        """Rows matching every non-null filter (``column == value``; a filter on a missing column matches nothing).

        Args:
            filters: Column -> value (``None`` = no filter).
            limit: Maximum rows returned.

        Returns:
            ``(rows, total matching, built_at)``.
        """
        frame, built_at = self.load()
        for column, value in filters.items():
            if value is None:
                continue
            if column not in frame.columns:
                frame = frame.clear()
                break
            frame = frame.filter(pl.col(column).cast(pl.String) == value)
        rows = [_jsonable(r) for r in frame.head(limit).iter_rows(named=True)]
        return rows, frame.height, built_at

    def status(self) -> dict[str, Any]:
        """Health summary.

        Returns:
            ``{"status", "rows", "built_at"}`` or the reason it is unavailable.
        """
        try:
            frame, built_at = self.load()
        except ServiceUnavailableError as exc:
            return {"status": "unavailable", "reason": exc.message}
        return {"status": "ok", "rows": frame.height, "built_at": built_at.isoformat()}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    # NaN/inf are not JSON; dates/datetimes/decimals serialise as strings/floats through pydantic.
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


class PlanStore:
    """The plans served by the API."""

    def __init__(self, gold_dir: Path) -> None:
        """Point at the gold layer.

        Args:
            gold_dir: Directory holding ``fct_*_plan.parquet``.
        """
        self.slotting = PlanFile("slotting", gold_dir / "fct_slotting_plan.parquet")
        self.replenishment = PlanFile("replenishment", gold_dir / "fct_replenishment_plan.parquet")
