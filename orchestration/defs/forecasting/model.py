"""``ml/demand_forecast_model`` + ``marts/fct_demand_forecast``: train, gate, promote and forecast in one call.

The training sequence (backtest, MLflow logging, promotion gate, batch forecast) is ``ml.forecasting.pipeline.
run_forecasting``; this asset only reads the gold marts, calls it, refuses to publish a forecast whose quantiles
are negative or out of order, and writes the forecast to gold with the model's verdict in the metadata.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from orchestration.defs.forecasting.assets import DEMAND_FEATURES_KEY
from orchestration.defs.gold.keys import GOLD_KEY
from orchestration.defs.planning.keys import FORECAST_KEY, FORECAST_MODEL_KEY
from orchestration.quality import markdown_table
from orchestration.resources import StockyardResource

__all__ = ["FORECAST_KEY", "FORECAST_MODEL_KEY", "demand_forecast", "figure_metadata", "forecast_plot"]


def figure_metadata(figures: dict[str, Path]) -> dict[str, Any]:
    """PNG files of a model run as markdown images (shown inline in the UI) and paths.

    Args:
        figures: Name -> PNG path.

    Returns:
        Metadata entries ``plot_<name>``.
    """
    import base64

    out: dict[str, Any] = {}
    for name, path in figures.items():
        path = Path(path)
        if not path.exists():
            continue
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        out[f"plot_{name}"] = dg.MetadataValue.md(f"![{name}](data:image/png;base64,{encoded})\n\n`{path}`")
    return out


def forecast_plot(forecast: pl.DataFrame, history: pl.DataFrame, days: int = 56) -> str:
    """All-series total: the last ``days`` of demand and the forecast's P10/P50/P90, as a markdown image.

    Args:
        forecast: item, warehouse, date, p10, p50, p90.
        history: item, warehouse, date, quantity.
        days: History shown.

    Returns:
        Markdown image.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from orchestration.plots import figure_markdown

    past = history.group_by("date").agg(pl.col("quantity").sum()).sort("date").tail(days)
    ahead = forecast.group_by("date").agg(pl.col("p10", "p50", "p90").sum()).sort("date")
    figure, axis = plt.subplots(figsize=(8, 3))
    axis.plot(past["date"].to_list(), past["quantity"].to_list(), label="actual", color="black")
    axis.plot(ahead["date"].to_list(), ahead["p50"].to_list(), label="P50", color="tab:blue")
    axis.fill_between(ahead["date"].to_list(), ahead["p10"].to_list(), ahead["p90"].to_list(), alpha=0.3,
                      label="P10–P90")  # fmt: skip
    axis.set_title("Units per day, all items (sum of quantiles is indicative)")
    axis.legend()
    figure.autofmt_xdate()
    return figure_markdown(figure, "forecast")


@dg.multi_asset(
    name="demand_forecast",
    specs=[
        dg.AssetSpec(
            FORECAST_MODEL_KEY,
            deps=[GOLD_KEY, DEMAND_FEATURES_KEY, dg.AssetKey(["staging", "stg_sim__expected_demand"])],
            group_name="forecasting",
            kinds={"lightgbm", "mlflow"},
            description="Demand model trained and backtested on gold fct_demand_daily; champion only if it beats "
            "the champion and the seasonal naive (the reason is in the metadata).",
        ),
        dg.AssetSpec(
            FORECAST_KEY,
            deps=[FORECAST_MODEL_KEY],
            group_name="forecasting",
            kinds={"parquet"},
            description="P10/P50/P90 daily demand per item × warehouse for the next 28 days, model version on each "
            "row (gold fct_demand_forecast).",
        ),
    ],
)
def demand_forecast(
    context: AssetExecutionContext, stockyard: StockyardResource
) -> Iterator[dg.MaterializeResult]:
    """Run ``ml.forecasting.pipeline.run_forecasting``; publish the forecast only with valid quantiles."""
    from ml.forecasting.pipeline import run_forecasting
    from orchestration.defs.planning.frames import read_gold, read_staging, write_gold
    from orchestration.defs.planning.gates import quantile_violations

    settings = stockyard.settings()
    demand = read_gold(settings, "fct_demand_daily")
    # Simulator ground truth (empty for a real history): the truth ratio WAPE(model) / WAPE(truth).
    truth = read_staging(settings, "stg_sim__expected_demand").select(
        "item", "warehouse", pl.col("demand_date").alias("date"), "expected_demand"
    )
    run = run_forecasting(demand, truth=truth if truth.height else None, settings=settings)
    metrics = {k: round(float(v), 4) for k, v in run.metrics.items()}
    yield dg.MaterializeResult(
        asset_key=FORECAST_MODEL_KEY,
        metadata={
            "model_version": run.model_version,
            "promoted": run.promoted,
            "reason": run.reason,
            **{f"metric/{k}": v for k, v in metrics.items()},
            "metrics": dg.MetadataValue.md(
                "| metric | value |\n|---|---|\n"
                + "\n".join(f"| {k} | {v} |" for k, v in sorted(metrics.items()))
            ),
            **figure_metadata(run.figures),
        },
    )
    forecast = run.forecast
    violations = quantile_violations(forecast)
    if violations.height:
        raise dg.Failure(
            description=f"forecast not published: {violations.height} row(s) with negative or non-monotone "
            "quantiles",
            metadata={"violations": dg.MetadataValue.md(markdown_table(violations.head(20).to_pandas(), 20))},
        )
    path = write_gold(settings, "fct_demand_forecast", forecast)
    context.log.info(
        f"forecast {run.model_version}: {forecast.height} rows ({'promoted' if run.promoted else 'kept'})"
    )
    yield dg.MaterializeResult(
        asset_key=FORECAST_KEY,
        metadata={
            "dagster/row_count": forecast.height,
            "model_version": run.model_version,
            "series": forecast.select("item", "warehouse").n_unique(),
            "first_date": str(forecast["date"].min()),
            "last_date": str(forecast["date"].max()),
            "path": dg.MetadataValue.path(str(path)),
            "preview": dg.MetadataValue.md(markdown_table(forecast.head(10).to_pandas())),
            "forecast_plot": dg.MetadataValue.md(forecast_plot(forecast, demand)),
        },
    )
