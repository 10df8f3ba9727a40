"""Feature views (``<entity>_<window>_stats``): each feature is defined here once."""

from datetime import timedelta

from data_sources import item_warehouse_daily_state_source
from entities import item, warehouse
from feast import FeatureView, Field
from feast.types import Float64, String

_STATE_FLOATS = [
    "scale",
    "ref_price",
    *(f"lag_{d}" for d in range(7)),
    "mean_7",
    "mean_28",
    "mean_91",
    "std_28",
    "zero_frac_28",
    "stockout_frac_28",
    "promo_frac_28",
    "days_since_sale",
    "history_days",
    "log_scale",
    *(f"swm_{d}" for d in range(7)),
    # Last-year demand around each target date, one per horizon 1..28 (ml.forecasting.features.LAST_YEAR_COLUMNS):
    # they make the latest row alone enough to forecast, which is all the online store holds.
    *(f"ly7_h{h:02d}" for h in range(1, 29)),
]

item_warehouse_91d_stats = FeatureView(
    name="item_warehouse_91d_stats",
    entities=[item, warehouse],
    ttl=timedelta(days=3),
    schema=[Field(name=name, dtype=Float64) for name in _STATE_FLOATS]
    + [Field(name="category", dtype=String), Field(name="abc_class", dtype=String)],
    source=item_warehouse_daily_state_source,
    online=True,
    description="Demand lags and rolling statistics (7/28/91 days) of each item x warehouse series, censored "
    "stockout days masked; last-year 7-day means around each target date 1..28 days ahead; one row per series per day.",
)
