"""Feature services (``<model>_v<N>``): the feature sets models are trained and served with."""

from feast import FeatureService
from feature_views import carrier_28d_stats, item_warehouse_91d_stats, lane_28d_stats

demand_forecast_v1 = FeatureService(
    name="demand_forecast_v1",
    features=[item_warehouse_91d_stats],
    description="Features of the LightGBM demand forecast (ml.forecasting).",
)

eta_v1 = FeatureService(
    name="eta_v1",
    features=[lane_28d_stats, carrier_28d_stats],
    description="Lane and carrier delivery statistics of the shipment ETA model (ml.eta), known at booking.",
)
