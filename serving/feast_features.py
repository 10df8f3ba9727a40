"""Forecast features from Feast's online store: the origin state of one series, turned into model rows.

The online store holds the latest ``item_warehouse_91d_stats`` row of each series (written by the features asset:
state → ``feast apply`` → materialise). That row alone is enough to forecast 1..28 days ahead: it carries the
last-year means per horizon (``ly7_hHH``). :func:`ml.forecasting.features.inference_rows_from_state` turns it into
model input — the same function the batch forecast uses on the state it computes in-process, so for the same
history the served forecast equals the batch forecast by construction (tested in
``tests/integration/features/test_online_equals_batch.py``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from serving.features import FeaturesUnavailableError, SeriesFeatures
from stockyard.errors import NotFoundError
from stockyard.settings import Settings

if TYPE_CHECKING:
    from feast import FeatureStore

__all__ = ["FeastFeatureSource"]


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
