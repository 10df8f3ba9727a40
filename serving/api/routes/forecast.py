"""``POST /v1/forecast``: daily P10/P50/P90 demand of one item in one warehouse from the champion model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from serving.api.deps import FeaturesDep, ForecastModelDep, InferenceRead
from serving.api.routes.orders import _ERRORS
from serving.errors import ServiceUnavailableError
from serving.features import FeatureSource, FeaturesUnavailableError
from serving.models import ServedModel
from serving.schemas import ErrorOut, ForecastIn, ForecastOut, ForecastPoint

__all__ = ["router", "serve_forecast"]

router = APIRouter(prefix="/v1/forecast", tags=["inference"])


def serve_forecast(served: ServedModel, features: FeatureSource, request: ForecastIn) -> ForecastOut:
    """Features for the series, then the model: the same rows and model as the batch forecast.

    Args:
        served: The model version to use for this request.
        features: Feature source.
        request: The request body.

    Returns:
        The response body.

    Raises:
        NotFoundError: Unknown item, warehouse or series.
        ServiceUnavailableError: No feature data yet.
    """
    try:
        rows = features.forecast_features(request.item, request.warehouse, request.horizon)
    except FeaturesUnavailableError as exc:
        raise ServiceUnavailableError(str(exc), code="features_unavailable") from exc
    preds = served.model.predict(rows.frame)
    table = preds if isinstance(preds, pd.DataFrame) else pd.DataFrame(preds)
    p10, p50, p90 = (np.asarray(table[q], dtype=float) for q in ("p10", "p50", "p90"))
    return ForecastOut(
        item=request.item,
        warehouse=request.warehouse,
        model_version=served.version,
        origin_date=rows.origin_date,
        forecast=[
            ForecastPoint(date=d, p10=a, p50=b, p90=c)
            for d, a, b, c in zip(rows.dates, p10.tolist(), p50.tolist(), p90.tolist(), strict=True)
        ],
    )


@router.post(
    "",
    response_model=ForecastOut,
    responses={
        **_ERRORS,
        503: {"model": ErrorOut, "description": "No model registered yet, or no feature data"},
    },
)
async def forecast(
    body: ForecastIn, _: InferenceRead, holder: ForecastModelDep, features: FeaturesDep
) -> ForecastOut:
    """Daily quantile forecast for ``1..horizon`` days after the latest known day; 503 until a champion exists."""
    served = holder.get()  # read the reference once: a concurrent swap cannot change the version mid-request
    return await run_in_threadpool(serve_forecast, served, features, body)
