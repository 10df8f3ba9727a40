"""The forecast model's request path: feature rows to P10/P50/P90 with the least work per request.

The champion is logged as the project's pyfunc (:class:`ml.forecasting.tracking.DemandForecastPyfunc`), whose
``predict`` goes through MLflow's schema enforcement, pandas column-by-column conversions, LightGBM's pandas input
path (a frame copy and a category remap per booster) and a polars round trip. For 28 rows that bookkeeping is
~95% of the time (profiled: ~20 ms per request against < 1 ms in the boosters). :class:`Forecaster` unwraps the
same loaded boosters once, when a version is loaded, and per request only builds one float64 matrix and runs the
three boosters on it with a single thread each (the machine's cores are shared with the server's other work, so
OpenMP threads only add contention at this size).

It reproduces ``ForecastModel.predict`` exactly: the matrix LightGBM itself would build from the frame (numeric
columns as float64, categorical columns as the code of the value in the booster's stored ``pandas_categorical``,
unknown or missing values as NaN), then ``sort(clip(raw, 0) * scale)``. Anything that is not that pyfunc (another
flavour, the fakes of the unit tests) keeps the generic ``model.predict(frame)`` path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Forecaster", "predict_quantiles"]

_QUANTILES = ("p10", "p50", "p90")


class Forecaster:
    """Feature rows in, a ``(rows, 3)`` array of P10/P50/P90 out, straight on the champion's boosters.

    Attributes:
        feature_columns: Model input columns, in the boosters' order.
    """

    def __init__(
        self,
        boosters: dict[str, Any],
        feature_columns: tuple[str, ...],
        categories: dict[str, list[str]],
        num_threads: int = 1,
    ) -> None:
        """Prepare the per-request path.

        Args:
            boosters: ``{"p10", "p50", "p90"}`` LightGBM boosters.
            feature_columns: Model input columns in training order.
            categories: Categorical feature -> its known values (``ForecastModel.categories``).
            num_threads: LightGBM threads per predict.

        Raises:
            ValueError: The boosters' stored categories do not match the categorical features.
        """
        self.boosters = [boosters[q] for q in _QUANTILES]
        self.feature_columns = tuple(feature_columns)
        self.num_threads = num_threads
        # ForecastModel hands LightGBM these columns as pandas categoricals, in feature order; LightGBM then maps
        # each value to its position in the categories it stored at training (pandas_categorical, same order).
        cat_cols = [c for c in self.feature_columns if c in categories]
        stored = self.boosters[0].pandas_categorical or []
        if len(stored) != len(cat_cols):
            raise ValueError(
                f"booster stores {len(stored)} category lists for categorical columns {cat_cols}"
            )
        self._codes: dict[str, dict[str, float]] = {
            col: {
                str(v): float(code)
                for code, v in enumerate(values)
                if str(v) in set(map(str, categories[col]))
            }
            for col, values in zip(cat_cols, stored, strict=True)
        }

    @classmethod
    def from_model(cls, model: Any) -> Forecaster | None:
        """The fast path of a loaded model, when it is the project's demand forecast pyfunc.

        Args:
            model: A loaded model (an MLflow pyfunc in production).

        Returns:
            The forecaster, or None when ``model`` is something else (it is then served through its ``predict``).
        """
        unwrap = getattr(model, "unwrap_python_model", None)
        if unwrap is None:
            return None
        try:
            inner = getattr(unwrap(), "model", None)
        except Exception:  # not a python_model pyfunc (another flavour): generic path
            return None
        boosters = getattr(inner, "boosters", None)
        columns = getattr(inner, "feature_columns", None)
        categories = getattr(inner, "categories", None)
        if not isinstance(boosters, dict) or set(boosters) != set(_QUANTILES) or columns is None:
            return None
        return cls(boosters, tuple(columns), dict(categories or {}))

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The float64 matrix LightGBM builds from ``frame`` (see the module docstring).

        Args:
            frame: Feature rows.

        Returns:
            C-contiguous ``(rows, features)`` array.

        Raises:
            ValueError: A feature column is missing.
        """
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"feature frame is missing columns {missing}")
        x = np.empty((len(frame), len(self.feature_columns)), dtype=np.float64)
        for j, col in enumerate(self.feature_columns):
            codes = self._codes.get(col)
            values = frame[col].to_numpy()
            if codes is not None:
                x[:, j] = [codes.get(str(v), math.nan) if _present(v) else math.nan for v in values]
            elif values.dtype.kind in "fiub":
                x[:, j] = values
            else:  # object/strings: the coercion ForecastModel applies
                x[:, j] = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
        return x

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """P10/P50/P90 in units for each row.

        Args:
            frame: Feature rows with ``scale`` and the feature columns.

        Returns:
            ``(rows, 3)`` array, columns p10, p50, p90.
        """
        x = self.matrix(frame)
        scale = pd.to_numeric(frame["scale"]).to_numpy(dtype=float)
        raw = np.column_stack([b.predict(x, num_threads=self.num_threads) for b in self.boosters])
        return np.sort(np.clip(raw, 0.0, None) * scale[:, None], axis=1)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def predict_quantiles(model: Any, forecaster: Forecaster | None, frame: pd.DataFrame) -> np.ndarray:
    """Quantiles of ``frame`` through the fast path when there is one, else the model's own ``predict``.

    Args:
        model: The loaded model.
        forecaster: Its :class:`Forecaster`, or None.
        frame: Feature rows.

    Returns:
        ``(rows, 3)`` array, columns p10, p50, p90.
    """
    if forecaster is not None:
        return forecaster.predict(frame)
    preds = model.predict(frame)
    table = preds if isinstance(preds, pd.DataFrame) else pd.DataFrame(preds)
    return np.column_stack([np.asarray(table[q], dtype=float) for q in _QUANTILES])
