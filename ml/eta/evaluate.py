"""ETA accuracy: MAE in days, share within one day, pinball, coverage — against the carrier
promise and, when given, the true transit distribution of the simulator.

Metric rows:

* ``mae`` / ``within_1_day`` / ``bias`` of the P50, ``pinball`` (mean over P10/P50/P90) and
  ``coverage`` (share of actuals in [P10, P90]);
* ``promised_*``: the same for the carrier promise used as the forecast (all quantiles equal);
* with a truth frame: ``truth_mae`` (the true mean as the forecast — the noise floor),
  ``truth_ratio`` = mae / truth_mae, and ``true_coverage``: the probability mass the true
  normal(mean, sd) puts inside [P10, P90] (0.8 for a calibrated interval), which measures
  calibration without the sampling noise of ``coverage``. The truth is the distribution at
  booking: judge booking-time predictions (no tracking state) with it. Predictions that use
  tracking state are conditional on more information and may rightly beat ``truth_mae``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import cast

import numpy as np
import polars as pl
from scipy.stats import norm

from ml.forecasting.evaluate import pinball_loss

__all__ = ["eta_backtest_id", "evaluate_eta", "split_by_ship_date"]

_Q = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


def split_by_ship_date(shipments: pl.DataFrame, test_days: int = 30) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Time-based holdout: the last ``test_days`` of ship dates are the test set.

    Args:
        shipments: ``fct_shipments`` rows.
        test_days: Days of ship dates held out.

    Returns:
        ``(train, test)``; ``test`` keeps only delivered shipments.
    """
    cutoff = cast(dt.date, shipments["ship_date"].max()) - dt.timedelta(days=test_days)
    train = shipments.filter(pl.col("ship_date") <= cutoff)
    test = shipments.filter((pl.col("ship_date") > cutoff) & pl.col("actual_transit_days").is_not_null())
    return train, test


def eta_backtest_id(test: pl.DataFrame) -> str:
    """Fingerprint of a test set, so gate scores are only compared on the same shipments.

    Args:
        test: Held-out shipments.

    Returns:
        A 16-character hex id.
    """
    ids = ",".join(sorted(test["shipment_id"].cast(pl.String).to_list()))
    total = round(float(test["actual_transit_days"].sum()), 6)
    return hashlib.sha256(f"{ids}|{total}".encode()).hexdigest()[:16]


def _scores(
    y: np.ndarray, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, prefix: str
) -> dict[str, float]:
    err = p50 - y
    out = {
        f"{prefix}mae": float(np.mean(np.abs(err))),
        f"{prefix}within_1_day": float(np.mean(np.abs(err) <= 1.0)),
        f"{prefix}bias": float(np.mean(err)),
        f"{prefix}coverage": float(np.mean((y >= p10) & (y <= p90))),
    }
    losses = [pinball_loss(y, q, a) for q, a in zip((p10, p50, p90), _Q.values(), strict=True)]
    out[f"{prefix}pinball"] = float(np.mean(losses))
    return out


def _metrics(part: pl.DataFrame, has_truth: bool) -> dict[str, float]:
    y = part["actual_transit_days"].to_numpy()
    q = {k: part[k].to_numpy() for k in _Q}
    out = {"n": float(part.height), **_scores(y, q["p10"], q["p50"], q["p90"], "")}
    promised = part["promised_transit_days"].to_numpy()
    out.update(_scores(y, promised, promised, promised, "promised_"))
    if has_truth:
        mu, sd = part["mean_transit_days"].to_numpy(), part["sd"].to_numpy()
        ok = np.isfinite(mu)
        out["truth_mae"] = float(np.mean(np.abs(mu[ok] - y[ok]))) if ok.any() else float("nan")
        out["truth_ratio"] = out["mae"] / out["truth_mae"] if out["truth_mae"] > 0 else float("nan")
        mass = norm.cdf((q["p90"][ok] - mu[ok]) / sd[ok]) - norm.cdf((q["p10"][ok] - mu[ok]) / sd[ok])
        out["true_coverage"] = float(np.mean(mass)) if ok.any() else float("nan")
    return out


def evaluate_eta(
    predictions: pl.DataFrame,
    shipments: pl.DataFrame,
    truth: pl.DataFrame | None = None,
    by: tuple[str, ...] = ("carrier", "service"),
) -> pl.DataFrame:
    """Score ETA quantiles on delivered shipments, overall and per segment.

    Args:
        predictions: shipment_id, p10, p50, p90 (days).
        shipments: ``fct_shipments`` rows with ``actual_transit_days`` and ``promised_transit_days``.
        truth: Optional lane, carrier, service, mean_transit_days, sd.
        by: Segment columns of ``shipments``.

    Returns:
        Frame with segment ("overall" or a column of ``by``), key and the metrics described
        in the module docstring.
    """
    cols = ["shipment_id", "actual_transit_days", "promised_transit_days", "lane", "carrier", "service", *by]
    scored = predictions.join(
        shipments.select(list(dict.fromkeys(cols))), on="shipment_id", how="inner"
    ).filter(pl.col("actual_transit_days").is_not_null())
    if truth is not None:
        scored = scored.join(
            truth.select("lane", "carrier", "service", "mean_transit_days", "sd"),
            on=[c for c in ("lane", "carrier", "service") if c in scored.columns],
            how="left",
        )
    if scored.height == 0:
        raise ValueError("no delivered shipments to score")
    rows: list[dict[str, object]] = [
        {"segment": "overall", "key": "all", **_metrics(scored, truth is not None)}
    ]
    for col in by:
        for (value,), part in sorted(
            scored.partition_by(col, as_dict=True).items(), key=lambda kv: str(kv[0])
        ):
            rows.append({"segment": col, "key": str(value), **_metrics(part, truth is not None)})
    return pl.DataFrame(rows, infer_schema_length=None)  # a metric may be None in the first rows
