"""``POST /v1/forecast``: daily P10/P50/P90 demand of one item in one warehouse from the champion model."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from serving.api.deps import FeaturesDep, ForecastModelDep, InferenceRead, StateDep
from serving.api.routes.orders import _ERRORS
from serving.errors import ServiceUnavailableError
from serving.features import FeatureSource, FeaturesUnavailableError
from serving.forecaster import predict_quantiles
from serving.models import ServedModel
from serving.schemas import ErrorOut, ForecastIn, ForecastOut, ForecastPoint

__all__ = ["router", "serve_forecast"]

router = APIRouter(prefix="/v1/forecast", tags=["inference"])


def serve_forecast(
    served: ServedModel, features: FeatureSource, request: ForecastIn, *, cache_size: int = 10_000
) -> ForecastOut:
    """Features for the series, then the model: the same rows and model as the batch forecast.

    A forecast is a pure function of the model version and the feature rows, so answers are cached on the served
    version, keyed by the series and horizon and valid while the feature source hands out the same rows object
    (it builds a new one when the history changes); a model swap starts from an empty cache.

    Args:
        served: The model version to use for this request.
        features: Feature source.
        request: The request body.
        cache_size: Answers kept per model version (0 disables the cache).

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
    key = (request.item, request.warehouse, request.horizon)
    hit = served.cache.get(key) if cache_size else None
    if hit is not None and hit[0] is rows:
        return hit[1]  # type: ignore[no-any-return]
    quantiles = predict_quantiles(served.model, served.runner, rows.frame)
    answer = ForecastOut(
        item=request.item,
        warehouse=request.warehouse,
        model_version=served.version,
        origin_date=rows.origin_date,
        forecast=[
            ForecastPoint(date=d, p10=a, p50=b, p90=c)
            for d, (a, b, c) in zip(rows.dates, quantiles.tolist(), strict=True)
        ],
    )
    if cache_size:
        served.cache[key] = (rows, answer)
        if len(served.cache) > cache_size:
            served.cache.popitem(last=False)
    return answer


@router.post(
    "",
    response_model=ForecastOut,
    responses={
        **_ERRORS,
        503: {"model": ErrorOut, "description": "No model registered yet, or no feature data"},
    },
)
async def forecast(
    body: ForecastIn, _: InferenceRead, holder: ForecastModelDep, features: FeaturesDep, state: StateDep
) -> ForecastOut:
    """Daily quantile forecast for ``1..horizon`` days after the latest known day; 503 until a champion exists."""
    served = holder.get()  # read the reference once: a concurrent swap cannot change the version mid-request
    size = state.extras.get("forecast_cache_size", 10_000)
    return await run_in_threadpool(serve_forecast, served, features, body, cache_size=size)
