"""Feature services (``<model>_v<N>``): the feature sets models are trained and served with."""

from feast import FeatureService
from feature_views import item_warehouse_91d_stats

demand_forecast_v1 = FeatureService(
    name="demand_forecast_v1",
    features=[item_warehouse_91d_stats],
    description="Features of the LightGBM demand forecast (ml.forecasting).",
)
