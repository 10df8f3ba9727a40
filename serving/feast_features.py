"""Forecast features from Feast's online store: the origin state of one series, turned into model rows.

The online store holds the latest ``item_warehouse_91d_stats`` row of each series (written by the features asset:
state → ``feast apply`` → materialise). That row alone is enough to forecast 1..28 days ahead: it carries the
last-year means per horizon (``ly7_hHH``). :func:`ml.forecasting.features.inference_rows_from_state` turns it into
model input — the same function the batch forecast uses on the state it computes in-process, so for the same
history the served forecast equals the batch forecast by construction (tested in
``tests/integration/features/test_online_equals_batch.py``).

:class:`FeastEtaStats` gives the ETA endpoint the lane and carrier statistics of ``eta_v1`` the same way (null
until they are materialised, and for keys the store does not hold).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from serving.features import FeaturesUnavailableError, SeriesFeatures
from stockyard.errors import NotFoundError
from stockyard.settings import Settings

if TYPE_CHECKING:
    from feast import FeatureStore

__all__ = ["FeastEtaStats", "FeastFeatureSource"]


class FeastFeatureSource:
    """:class:`~serving.features.FeatureSource` over the Feast online store of a Stockyard home.

    One ``FeatureStore`` is opened lazily and kept. Rows are cached per (item, warehouse, horizon) and the same
    :class:`SeriesFeatures` object is returned while the online state row is unchanged (serving's answer cache
    keys on that identity); the online row is re-read at most every ``recheck_s`` seconds per series.
    """

    name = "feast"

    def __init__(self, settings: Settings, *, cache_size: int = 50_000, recheck_s: float = 5.0) -> None:
        """Create the source (opens nothing yet).

        Args:
            settings: Settings of the home whose Feast registry and online store are read.
            cache_size: Series x horizon entries kept.
            recheck_s: Seconds a cached entry is served before the online row is read again.
        """
        self.settings = settings
        self._cache_size = cache_size
        self._recheck_s = recheck_s
        self._lock = threading.Lock()
        self._store: FeatureStore | None = None
        self._ready_checked = 0.0
        # key -> (read at, raw state row, features)
        self._cache: OrderedDict[tuple[str, str, int], tuple[float, tuple[Any, ...], SeriesFeatures]] = (
            OrderedDict()
        )

    def _open(self) -> FeatureStore:
        from ml import feature_store as fsm

        if not fsm.registry_path(self.settings).exists():
            raise FeaturesUnavailableError(
                f"no Feast registry at {fsm.registry_path(self.settings)}; run the features asset (apply + materialise)"
            )
        now = time.monotonic()
        with self._lock:
            if self._store is None:
                self._store = fsm.feature_store(self.settings)
            store = self._store
            if now - self._ready_checked >= self._recheck_s:
                # Registry reads are cached by Feast; refresh so a later apply/materialise is seen.
                store.refresh_registry()
                reason = fsm.demand_store_status(store)
                if reason is not None:
                    raise FeaturesUnavailableError(reason)
                self._ready_checked = now
        return store

    def forecast_features(self, item: str, warehouse: str, horizon: int) -> SeriesFeatures:
        """Feature rows of one series from its latest online state.

        Args:
            item: Item code.
            warehouse: Warehouse code.
            horizon: Days ahead (1..28).

        Returns:
            The rows (origin = the last closed day of the materialised state).

        Raises:
            NotFoundError: The online store holds no state for the series.
            FeaturesUnavailableError: The repository is not applied or never materialised.
        """
        key = (item, warehouse, horizon)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._recheck_s:
            return hit[2]
        from ml import feature_store as fsm
        from ml.forecasting.features import inference_rows_from_state

        store = self._open()
        state = fsm.online_demand_state([(item, warehouse)], store=store, with_origin=True)
        if state["origin_date"][0] is None:
            raise NotFoundError(
                f"no online features for item {item!r} in warehouse {warehouse!r}", field="item", value=item
            )
        raw = state.row(0)
        if hit is not None and hit[1] == raw:
            features = hit[2]
        else:
            rows = inference_rows_from_state(state, horizon=horizon)
            features = SeriesFeatures(rows.to_pandas(), state["origin_date"][0], rows["date"].to_list())
        with self._lock:
            self._cache[key] = (now, raw, features)
            self._cache.move_to_end(key)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return features

    def status(self) -> dict[str, Any]:
        """Health summary.

        Returns:
            ``{"status": "ok", "source": "feast", ...}`` or the reason it is unavailable.
        """
        try:
            self._open()
        except FeaturesUnavailableError as exc:
            return {"status": "unavailable", "source": self.name, "reason": str(exc)}
        return {"status": "ok", "source": self.name, "registry": str(self.settings.home / "feast")}


class FeastEtaStats:
    """Lane and carrier statistics (``eta_v1``) of the ETA endpoint, from the Feast online store of a Stockyard home.

    One ``FeatureStore`` is opened lazily and kept; its registry is re-read at most every ``recheck_s`` seconds, so a
    later ``feast apply``/materialisation is picked up. Until the repository is applied and the statistics are
    materialised, and for keys the store does not hold, the statistics are null: the ETA model treats them as
    missing, as it does for shipments booked before any delivery on their lane.
    """

    name = "feast"

    def __init__(self, settings: Settings, *, recheck_s: float = 5.0) -> None:
        """Create the source (opens nothing yet).

        Args:
            settings: Settings of the home whose Feast registry and online store are read.
            recheck_s: Seconds between registry refreshes.
        """
        self.settings = settings
        self._recheck_s = recheck_s
        self._lock = threading.Lock()
        self._store: FeatureStore | None = None
        self._checked = 0.0
        self._reason: str | None = "not opened yet"

    def _ready_store(self) -> FeatureStore | None:
        from ml import feature_store as fsm

        now = time.monotonic()
        with self._lock:
            if self._store is not None and now - self._checked < self._recheck_s:
                return self._store if self._reason is None else None
            self._checked = now
            if not fsm.registry_path(self.settings).exists():
                self._reason = f"no Feast registry at {fsm.registry_path(self.settings)}"
                return None
            if self._store is None:
                self._store = fsm.feature_store(self.settings)
            else:
                # Registry reads are cached by Feast; refresh so a later apply/materialise is seen.
                self._store.refresh_registry()
            self._reason = fsm.eta_store_status(self._store)
            return self._store if self._reason is None else None

    def stats(self, lane: str, carrier: str, booked_at: dt.datetime) -> dict[str, float | None]:
        """The latest statistics of a lane and a carrier, as usable at booking.

        Args:
            lane: Lane code (``<origin warehouse>-><destination region>``).
            carrier: Carrier code.
            booked_at: Moment of booking (UTC): rows older than the views' TTL then are null, as in training.

        Returns:
            Every feature of ``eta_v1`` (:data:`ml.eta.lane_stats.STATS_COLUMNS`), null where unknown.
        """
        from ml import feature_store as fsm
        from ml.eta.lane_stats import STATS_COLUMNS

        store = self._ready_store()
        if store is None:
            return dict.fromkeys(STATS_COLUMNS)
        row = fsm.online_eta_stats([(lane, carrier)], store=store, as_of=booked_at).row(0, named=True)
        return {name: row[name] for name in STATS_COLUMNS}

    def status(self) -> dict[str, Any]:
        """Health summary.

        Returns:
            ``{"status": "ok", "source": "feast"}`` or why the statistics are served as missing.
        """
        if self._ready_store() is None:
            return {"status": "unavailable", "source": self.name, "reason": self._reason}
        return {"status": "ok", "source": self.name}
