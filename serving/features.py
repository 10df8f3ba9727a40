"""Where the forecast endpoint gets its model input: one series' feature rows for ``1..horizon`` days ahead.

The model is "feature rows in, quantiles out" (see :mod:`ml.forecasting.tracking`), so serving only has to produce
the same rows the batch forecast uses. :class:`FeatureSource` is that seam:

* :class:`HistoryFeatureSource` builds the rows with :func:`ml.forecasting.features.build_inference_features`
  from the gold demand history, with the origin the batch forecast uses (the history's last date), so the served
  forecast equals the batch forecast for the same inputs by construction; rows are cached per series until the
  history file changes.
* A Feast implementation (online store for the origin state) plugs in behind the same protocol.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import polars as pl

from stockyard.errors import NotFoundError

__all__ = [
    "EtaStatsSource",
    "FeatureSource",
    "FeaturesUnavailableError",
    "HistoryFeatureSource",
    "SeriesFeatures",
]


class FeaturesUnavailableError(Exception):
    """The source has no data at all (not built yet): answered with 503."""


class SeriesFeatures:
    """Feature rows of one series (read-only; shared between requests through the cache).

    Attributes:
        frame: pandas frame of model input, one row per horizon.
        origin_date: Forecast origin (last day of known demand).
        dates: Target dates, one per row.
    """

    __slots__ = ("dates", "frame", "origin_date")

    def __init__(self, frame: pd.DataFrame, origin_date: dt.date, dates: list[dt.date]) -> None:
        """Wrap the rows.

        Args:
            frame: Model input rows.
            origin_date: Forecast origin.
            dates: Target dates.
        """
        self.frame = frame
        self.origin_date = origin_date
        self.dates = dates


class FeatureSource(Protocol):
    """Produces model input for one (item, warehouse, horizon)."""

    name: str

    def forecast_features(self, item: str, warehouse: str, horizon: int) -> SeriesFeatures:
        """Feature rows for ``1..horizon`` days ahead; NotFoundError for an unknown series (blocking)."""
        ...  # pragma: no cover - protocol

    def status(self) -> dict[str, Any]:
        """Health summary (``status`` ok/unavailable plus details)."""
        ...  # pragma: no cover - protocol


class EtaStatsSource(Protocol):
    """Lane and carrier statistics for the ETA endpoint (Feast's ``eta_v1``; null where unknown, never an error)."""

    name: str

    def stats(self, lane: str, carrier: str, booked_at: dt.datetime) -> dict[str, float | None]:
        """Every feature of ``eta_v1`` for the lane and the carrier as usable at ``booked_at``; null where unknown."""
        ...  # pragma: no cover - protocol

    def status(self) -> dict[str, Any]:
        """Health summary (``status`` ok/unavailable plus details)."""
        ...  # pragma: no cover - protocol


class HistoryFeatureSource:
    """Feature rows computed from the demand history (``fct_demand_daily`` rows in a Parquet file or a frame).

    The history is read once per file version (modification time, checked at most every ``recheck_s``
    seconds) and indexed by series; feature rows are cached per (item, warehouse, horizon) in an LRU.
    """

    name = "history"

    def __init__(
        self,
        path: Path | None = None,
        *,
        frame: pl.DataFrame | None = None,
        cache_size: int = 50_000,
        recheck_s: float = 5.0,
    ) -> None:
        """Create the source (reads nothing yet).

        Args:
            path: Parquet file of demand rows (item, warehouse, date, quantity, is_stockout, ...).
            frame: The rows themselves instead of a file (tests, benchmarks).
            cache_size: Series x horizon entries kept.
            recheck_s: Seconds between checks of the file's modification time.
        """
        if path is None and frame is None:
            raise ValueError("path or frame is required")
        self.path = path
        self._frame = frame
        self._cache_size = cache_size
        self._recheck_s = recheck_s
        self._lock = threading.Lock()
        self._version: float | None = None
        self._checked = 0.0
        self._series: dict[tuple[str, str], pl.DataFrame] = {}
        self._origin: dt.date | None = None
        self._items: set[str] = set()
        self._warehouses: set[str] = set()
        self._cache: OrderedDict[tuple[str, str, int], SeriesFeatures] = OrderedDict()

    def _file_version(self) -> float | None:
        if self._frame is not None:
            return 0.0
        assert self.path is not None
        try:
            return self.path.stat().st_mtime
        except FileNotFoundError:
            return None

    def _ensure_loaded(self) -> None:
        now = time.monotonic()
        if self._version is not None and now - self._checked < self._recheck_s:
            return
        with self._lock:
            self._checked = now
            version = self._file_version()
            if version is None:
                self._version = None
                raise FeaturesUnavailableError(
                    f"demand history {self.path} does not exist yet; run the pipeline"
                )
            if version == self._version:
                return
            if self._frame is not None:
                history = self._frame
            else:
                assert self.path is not None  # __init__ requires a path when there is no frame
                history = pl.read_parquet(self.path)
            if history.height == 0:
                raise FeaturesUnavailableError("demand history is empty")
            history = history.with_columns(
                pl.col("item").cast(pl.String), pl.col("warehouse").cast(pl.String)
            )
            self._series = {
                (str(k[0]), str(k[1])): part
                for k, part in history.partition_by(["item", "warehouse"], as_dict=True).items()
            }
            self._origin = history["date"].cast(pl.Date).max()  # type: ignore[assignment]
            self._items = {i for i, _ in self._series}
            self._warehouses = {w for _, w in self._series}
            self._cache.clear()
            self._version = version

    def forecast_features(self, item: str, warehouse: str, horizon: int) -> SeriesFeatures:
        """Feature rows of one series, from the history's last date.

        Args:
            item: Item code.
            warehouse: Warehouse code.
            horizon: Days ahead.

        Returns:
            The rows.

        Raises:
            NotFoundError: Unknown item, warehouse or series.
            FeaturesUnavailableError: No history yet.
        """
        self._ensure_loaded()
        key = (item, warehouse, horizon)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        series = self._series.get((item, warehouse))
        if series is None:
            if item not in self._items:
                raise NotFoundError(f"unknown item {item!r} (no demand history)", field="item", value=item)
            if warehouse not in self._warehouses:
                raise NotFoundError(
                    f"unknown warehouse {warehouse!r} (no demand history)", field="warehouse", value=warehouse
                )
            raise NotFoundError(
                f"no demand history for item {item!r} in warehouse {warehouse!r}", field="item", value=item
            )
        from ml.forecasting.features import build_inference_features

        rows = build_inference_features(series, horizon=horizon, origin=self._origin)
        features = SeriesFeatures(rows.to_pandas(), self._origin, rows["date"].to_list())  # type: ignore[arg-type]
        with self._lock:
            self._cache[key] = features
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return features

    def status(self) -> dict[str, Any]:
        """Health summary.

        Returns:
            ``{"status", "source", "series", "origin_date"}`` or the reason it is unavailable.
        """
        try:
            self._ensure_loaded()
        except FeaturesUnavailableError as exc:
            return {"status": "unavailable", "source": self.name, "reason": str(exc)}
        return {
            "status": "ok",
            "source": self.name,
            "series": len(self._series),
            "origin_date": str(self._origin),
        }
