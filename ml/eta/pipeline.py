"""The one ETA entry point: holdout evaluation, train, log, register, gate, predict open shipments.

Orchestration calls :func:`run_eta` and stays thin; MLflow is only reached through :mod:`ml.eta.tracking` (and
:func:`ml.forecasting.tracking.use_tracking_uri` to point it at the home).

Every shipment carries the lane and carrier delivery statistics known at its booking (:mod:`ml.eta.lane_stats`,
computed in process from the same shipments with the semantics of Feast's ``eta_v1`` retrieval).

Evaluation is at booking time: holdout shipments are scored with their tracking state removed (just booked), so
the model is compared on equal terms with the carrier's promise (known at booking) and with the simulator's true
transit distribution (which is the distribution at booking). Predictions for open shipments use their latest
tracking state.

Accepts the ETA contract columns of :mod:`ml.eta.features` (``actual_transit_days``, ``service``, ``ship_date``, ...)
or the gold ``fct_shipments`` mart (``transit_days``, ``carrier_service``, ``picked_up_at``, ...), normalised by
:func:`eta_frame`; the simulator truth may be ``stg_sim__lane_transit`` rows (``sd_transit_days``) or
(lane, carrier, service, mean_transit_days, sd).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from ml.eta.evaluate import eta_backtest_id, evaluate_eta, split_by_ship_date  # noqa: E402
from ml.eta.lane_stats import attach_lane_carrier_stats, carrier_daily_stats, lane_daily_stats  # noqa: E402
from ml.eta.tracking import MODEL_NAME, load_eta_model, log_eta_run, promote_if_better  # noqa: E402
from ml.eta.train import EtaConfig, EtaModel, train_eta_model  # noqa: E402
from ml.registry import champion_version  # noqa: E402

__all__ = ["EtaRun", "eta_frame", "eta_truth_frame", "run_eta"]


@dataclass
class EtaRun:
    """Outcome of :func:`run_eta`.

    Attributes:
        model_version: Registry version that produced ``predictions`` (the champion after the gate, or this run's
            candidate when nothing has ever been promoted).
        candidate_version: Version registered by this run.
        promoted: Whether this run's model became champion.
        reason: The gate's reason.
        metrics: Overall holdout metrics of the candidate (``mae``, ``within_1_day``, ``pinball``, ``coverage``,
            ``promised_*``, and with a truth ``truth_mae``, ``truth_ratio``, ``true_coverage``).
        predictions: Open shipments: shipment_id, p10, p50, p90 (transit days), ship_date and
            delivery_p10/p50/p90 (dates), model_version.
        figures: Name to PNG path.
        holdout: Per-segment holdout metrics (overall, by carrier, by service).
    """

    model_version: str
    candidate_version: str
    promoted: bool
    reason: str
    metrics: dict[str, float]
    predictions: pl.DataFrame
    figures: dict[str, Path]
    holdout: pl.DataFrame


def eta_frame(shipments: pl.DataFrame, *, as_of: dt.datetime | None = None) -> pl.DataFrame:
    """Shipments in the ETA contract shape (see :data:`ml.eta.features.REQUIRED_COLUMNS`).

    Rows already in that shape pass through. ``fct_shipments`` rows are mapped: ``service`` from
    ``carrier_service``, ``ship_date`` from the pick-up (else planned pick-up) day, ``actual_transit_days`` from
    ``transit_days`` of delivered shipments, ``distance_km`` null when absent (LightGBM treats it as missing),
    ``last_event_type`` from the milestones seen and ``days_since_ship`` counted to ``as_of`` for open shipments
    (delivered shipments keep no tracking state: they train a booking-time model).

    Args:
        shipments: ETA-contract rows or ``fct_shipments`` rows.
        as_of: Moment of the tracking snapshot for open shipments (default: the latest timestamp in the frame).

    Returns:
        Frame with the ETA contract columns, ``actual_transit_days`` (null while in transit).
    """
    if "actual_transit_days" in shipments.columns and "ship_date" in shipments.columns:
        return shipments
    cols = shipments.columns
    pickup = pl.coalesce(
        *[pl.col(c).cast(pl.Datetime("us")) for c in ("picked_up_at", "planned_pickup_at") if c in cols]
    )
    latest = (
        as_of
        or shipments.select(
            pl.max_horizontal(
                *[
                    pl.col(c).cast(pl.Datetime("us")).max()
                    for c in ("last_scan_at", "delivered_at", "picked_up_at")
                    if c in cols
                ]
            )
        ).item()
    )
    delivered = pl.col("delivered_at").is_not_null() if "delivered_at" in cols else pl.lit(False)
    event = pl.lit("label_created")
    for col, name in (
        ("picked_up_at", "picked_up"),
        ("first_scan_at", "in_transit"),
        ("out_for_delivery_at", "out_for_delivery"),
    ):
        if col in cols:
            event = pl.when(pl.col(col).is_not_null()).then(pl.lit(name)).otherwise(event)
    if "exception_event_count" in cols:
        event = (
            pl.when(pl.col("exception_event_count").fill_null(0) > 0)
            .then(pl.lit("exception"))
            .otherwise(event)
        )
    return shipments.select(
        pl.col("shipment_id").cast(pl.String),
        pl.col("carrier").cast(pl.String),
        pl.col("carrier_service" if "carrier_service" in cols else "service")
        .cast(pl.String)
        .alias("service"),
        pl.col("origin_warehouse").cast(pl.String),
        pl.col("destination_region").cast(pl.String),
        pl.col("lane").cast(pl.String),
        pickup.dt.date().alias("ship_date"),
        pl.col("weight_kg").cast(pl.Float64),
        (pl.col("distance_km") if "distance_km" in cols else pl.lit(None))
        .cast(pl.Float64)
        .alias("distance_km"),
        pl.col("promised_transit_days").cast(pl.Float64),
        pl.when(delivered).then(pl.col("transit_days").cast(pl.Float64)).alias("actual_transit_days"),
        # Delivered rows train a booking-time model: their final milestones say nothing about an open shipment.
        pl.when(delivered).then(None).otherwise(event).alias("last_event_type"),
        pl.when(delivered)
        .then(None)
        .otherwise(((pl.lit(latest) - pickup).dt.total_seconds() / 86_400).floor().clip(lower_bound=0))
        .cast(pl.Float64)
        .alias("days_since_ship"),
    ).filter(pl.col("ship_date").is_not_null())


def eta_truth_frame(truth: pl.DataFrame) -> pl.DataFrame:
    """The simulator's true transit distribution as (lane, carrier, service, mean_transit_days, sd).

    Args:
        truth: ``stg_sim__lane_transit`` rows or already-shaped truth.

    Returns:
        One row per lane x carrier x service.
    """
    if "sd" in truth.columns and "lane" in truth.columns:
        return truth
    return truth.select(
        (pl.col("origin_warehouse") + "->" + pl.col("destination_region").fill_null("unknown")).alias("lane"),
        pl.col("carrier").cast(pl.String),
        pl.col("service").cast(pl.String),
        pl.col("mean_transit_days").cast(pl.Float64),
        pl.col("sd_transit_days").cast(pl.Float64).alias("sd"),
    )


def _at_booking(shipments: pl.DataFrame) -> pl.DataFrame:
    return shipments.with_columns(
        pl.lit(None, pl.String).alias("last_event_type"), pl.lit(0.0).alias("days_since_ship")
    )


def _figures(predictions: pl.DataFrame, test: pl.DataFrame, out_dir: Path, tag: str) -> dict[str, Path]:
    scored = predictions.join(
        test.select("shipment_id", "carrier", "actual_transit_days", "promised_transit_days"),
        on="shipment_id",
    )
    y, p50 = scored["actual_transit_days"].to_numpy(), scored["p50"].to_numpy()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(y, p50, s=6, alpha=0.4, label="model P50")
    ax.scatter(y, scored["promised_transit_days"].to_numpy(), s=6, alpha=0.3, label="carrier promise")
    hi = float(np.nanmax(np.concatenate([y, p50]))) if len(y) else 1.0
    ax.plot([0, hi], [0, hi], color="k", lw=0.8)
    ax.set(xlabel="actual transit days", ylabel="predicted", title="ETA holdout (at booking)")
    ax.legend()
    paths = {"predicted_vs_actual": out_dir / f"eta_predicted_vs_actual_{tag}.png"}
    fig.savefig(paths["predicted_vs_actual"], dpi=100)
    plt.close(fig)

    by = (
        scored.with_columns((pl.col("p50") - pl.col("actual_transit_days")).abs().alias("model"),
                            (pl.col("promised_transit_days") - pl.col("actual_transit_days")).abs().alias("promise"))
        .group_by("carrier").agg(pl.col("model").mean(), pl.col("promise").mean()).sort("carrier")
    )  # fmt: skip
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.arange(by.height)
    ax.bar(x - 0.2, by["model"].to_numpy(), 0.4, label="model P50")
    ax.bar(x + 0.2, by["promise"].to_numpy(), 0.4, label="carrier promise")
    ax.set_xticks(x, by["carrier"].to_list())
    ax.set(ylabel="MAE (days)", title="ETA error by carrier")
    ax.legend()
    paths["mae_by_carrier"] = out_dir / f"eta_mae_by_carrier_{tag}.png"
    fig.savefig(paths["mae_by_carrier"], dpi=100)
    plt.close(fig)
    return paths


def _with_dates(preds: pl.DataFrame, open_rows: pl.DataFrame, version: str) -> pl.DataFrame:
    # A transit of 2.3 days delivers on the third day at the latest: dates round up.
    joined = preds.join(open_rows.select("shipment_id", "ship_date"), on="shipment_id", how="left")
    return joined.with_columns(
        *[
            (pl.col("ship_date") + pl.duration(days=pl.col(q).ceil().cast(pl.Int64))).alias(f"delivery_{q}")
            for q in ("p10", "p50", "p90")
        ],
        pl.lit(version).alias("model_version"),
    )


def run_eta(
    shipments: pl.DataFrame,
    *,
    truth: pl.DataFrame | None = None,
    settings: Any | None = None,
    figures_dir: Path | None = None,
    config: EtaConfig | None = None,
    test_days: int = 30,
) -> EtaRun:
    """Evaluate on a time holdout, train on all delivered shipments, log and register, gate, predict open ones.

    Args:
        shipments: ``fct_shipments`` rows (or the ETA contract shape, see :func:`eta_frame`).
        truth: Optional simulator truth (``stg_sim__lane_transit`` rows or (lane, carrier, service,
            mean_transit_days, sd)) for ``truth_ratio`` and ``true_coverage``.
        settings: ``stockyard.settings.Settings`` (MLflow URI, artifacts and home); None keeps MLflow's current URI.
        figures_dir: Where PNGs are written; defaults to ``<home>/mlflow/figures`` or a temp dir.
        config: Model configuration; defaults to ``EtaConfig()``.
        test_days: Days of ship dates held out for evaluation and the gate.

    Returns:
        The :class:`EtaRun`.

    Raises:
        ValueError: No delivered shipments to train or evaluate on.
    """
    from ml.forecasting.tracking import use_tracking_uri

    config = config or EtaConfig()
    artifact_location = None
    if settings is not None:
        use_tracking_uri(str(settings.mlflow_tracking_uri))
        artifact_location = str(settings.mlflow_artifacts_dir)
        figures_dir = figures_dir or Path(settings.home) / "mlflow" / "figures"
    figures_dir = Path(figures_dir or tempfile.mkdtemp(prefix="shipment_eta_"))
    figures_dir.mkdir(parents=True, exist_ok=True)

    frame = eta_frame(shipments)
    # Lane and carrier statistics as known at each booking (the in-process twin of Feast's eta_v1 retrieval), before
    # the split: a holdout row sees only deliveries completed before its ship date.
    frame = attach_lane_carrier_stats(frame, lane_daily_stats(frame), carrier_daily_stats(frame))
    truth_frame = eta_truth_frame(truth) if truth is not None else None
    train, test = split_by_ship_date(frame, test_days=test_days)
    if test.height == 0:
        raise ValueError(f"no delivered shipments in the last {test_days} days of ship dates to evaluate on")
    holdout_model = train_eta_model(train, config)
    holdout_preds = holdout_model.predict_shipments(_at_booking(test))
    holdout = evaluate_eta(holdout_preds, test, truth_frame)
    backtest_id = eta_backtest_id(test)

    model = train_eta_model(frame, config)
    _run_id, version = log_eta_run(
        model, holdout, frame.filter(pl.col("actual_transit_days").is_not_null()),
        backtest_id=backtest_id, artifact_location=artifact_location,
    )  # fmt: skip
    if version is None:
        raise RuntimeError("the ETA model was logged but not registered")
    decision = promote_if_better(version, holdout, backtest_id=backtest_id)

    open_rows = frame.filter(pl.col("actual_transit_days").is_null())
    champion = champion_version(MODEL_NAME)
    served: EtaModel | Any = model if champion is None else load_eta_model("champion")
    served_version = version if champion is None else champion
    if open_rows.height:
        from ml.eta.features import build_eta_features

        raw = served.predict(build_eta_features(open_rows).to_pandas())
        preds = raw if isinstance(raw, pl.DataFrame) else pl.from_pandas(raw)
        predictions = _with_dates(preds, open_rows, served_version)
    else:
        predictions = _with_dates(
            pl.DataFrame(
                schema={"shipment_id": pl.String, "p10": pl.Float64, "p50": pl.Float64, "p90": pl.Float64}
            ),
            open_rows,
            served_version,
        )

    overall = holdout.filter(pl.col("segment") == "overall").row(0, named=True)
    metrics = {k: float(v) for k, v in overall.items() if isinstance(v, float) and k != "n"}
    return EtaRun(
        model_version=served_version,
        candidate_version=version,
        promoted=decision.promoted,
        reason=decision.reason,
        metrics=metrics,
        predictions=predictions,
        figures=_figures(holdout_preds, test, figures_dir, f"v{version}"),
        holdout=holdout,
    )
