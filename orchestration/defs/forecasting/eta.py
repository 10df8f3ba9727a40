"""``ml/shipment_eta_model`` + ``marts/fct_shipment_eta``: ``ml.eta.pipeline.run_eta`` on gold fct_shipments.

The asset reads the marts, calls the one ETA entry point (holdout, MLflow, gate, predictions of open shipments)
and publishes the predictions with the gate's verdict in the metadata.
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from orchestration.defs.forecasting.assets import ETA_FEATURE_KEYS
from orchestration.defs.forecasting.model import figure_metadata
from orchestration.defs.gold.keys import GOLD_KEY
from orchestration.quality import markdown_table
from orchestration.resources import StockyardResource

__all__ = ["ETA_KEY", "ETA_MODEL_KEY", "shipment_eta"]

ETA_MODEL_KEY = dg.AssetKey(["ml", "shipment_eta_model"])
ETA_KEY = dg.AssetKey(["marts", "fct_shipment_eta"])


@dg.multi_asset(
    name="shipment_eta",
    specs=[
        dg.AssetSpec(
            ETA_MODEL_KEY,
            # The features run first: training joins the same lane/carrier statistics in process (point in time,
            # Feast's semantics), and serving reads the materialised ones.
            deps=[GOLD_KEY, dg.AssetKey(["staging", "stg_sim__lane_transit"]), *ETA_FEATURE_KEYS],
            group_name="forecasting",
            kinds={"lightgbm", "mlflow"},
            description="Shipment transit-time model (P10/P50/P90), champion only if it passes the gate; MAE and "
            "share within a day vs the carrier's promise and the simulator's truth in the metadata.",
        ),
        dg.AssetSpec(
            ETA_KEY,
            deps=[ETA_MODEL_KEY],
            group_name="forecasting",
            kinds={"parquet"},
            description="Predicted delivery dates (P10/P50/P90) of every open shipment (gold fct_shipment_eta).",
        ),
    ],
)
def shipment_eta(
    context: AssetExecutionContext, stockyard: StockyardResource
) -> Iterator[dg.MaterializeResult]:
    """Run ``ml.eta.pipeline.run_eta`` and publish the open shipments' ETAs."""
    from ml.eta.pipeline import run_eta
    from orchestration.defs.planning.frames import read_gold, read_staging, write_gold

    settings = stockyard.settings()
    truth = read_staging(settings, "stg_sim__lane_transit")
    run = run_eta(
        read_gold(settings, "fct_shipments"), truth=truth if truth.height else None, settings=settings
    )
    metrics = {k: round(float(v), 4) for k, v in run.metrics.items()}
    yield dg.MaterializeResult(
        asset_key=ETA_MODEL_KEY,
        metadata={
            "model_version": run.model_version,
            "promoted": run.promoted,
            "reason": run.reason,
            **{f"metric/{k}": v for k, v in metrics.items()},
            **figure_metadata(run.figures),
        },
    )
    predictions = run.predictions
    bad = predictions.filter(
        (pl.col("p10") < 0) | (pl.col("p10") > pl.col("p50")) | (pl.col("p50") > pl.col("p90"))
    )
    if bad.height:
        raise dg.Failure(
            description=f"ETA predictions not published: {bad.height} row(s) with crossed quantiles"
        )
    path = write_gold(settings, "fct_shipment_eta", predictions)
    context.log.info(f"ETA {run.model_version}: {predictions.height} open shipment(s)")
    yield dg.MaterializeResult(
        asset_key=ETA_KEY,
        metadata={
            "dagster/row_count": predictions.height,
            "model_version": run.model_version,
            "path": dg.MetadataValue.path(str(path)),
            "preview": dg.MetadataValue.md(markdown_table(predictions.head(10).to_pandas())),
        },
    )
