"""Feature views (``<entity>_<window>_stats``): each feature is defined here once."""

from datetime import timedelta

from data_sources import (
    carrier_daily_stats_source,
    item_warehouse_daily_state_source,
    lane_daily_stats_source,
)
from entities import carrier, item, lane, warehouse
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

# The ETA statistics: one row per key and day (also on days without deliveries, count 0 and statistics null). The
# TTL is the window: a row older than 28 days shares no delivery with the current window, so beyond it the
# statistics are missing, not stale. ml.eta.lane_stats.STATS_TTL is the same value for the in-process join (a test
# checks they agree; this repository imports nothing of ours).
_STATS_TTL = timedelta(days=28)

lane_28d_stats = FeatureView(
    name="lane_28d_stats",
    entities=[lane],
    ttl=_STATS_TTL,
    schema=[
        Field(
            name="lane_deliveries_28d", dtype=Float64, description="Shipments delivered in the last 28 days."
        ),
        Field(
            name="lane_transit_mean_28d", dtype=Float64, description="Mean transit days of those deliveries."
        ),
        Field(
            name="lane_transit_p90_28d", dtype=Float64, description="90th percentile of their transit days."
        ),
        Field(name="lane_late_share_28d", dtype=Float64, description="Share delivered later than promised."),
        Field(
            name="lane_delay_mean_28d",
            dtype=Float64,
            description="Mean of actual minus promised transit days.",
        ),
    ],
    source=lane_daily_stats_source,
    online=True,
    description="Delivery statistics of each lane over the trailing 28 days (deliveries, transit mean and P90, late "
    "share, mean delay vs promise), as known at the close of each day; null when nothing was delivered.",
)

carrier_28d_stats = FeatureView(
    name="carrier_28d_stats",
    entities=[carrier],
    ttl=_STATS_TTL,
    schema=[
        Field(
            name="carrier_deliveries_28d",
            dtype=Float64,
            description="Shipments delivered in the last 28 days.",
        ),
        Field(
            name="carrier_late_share_28d", dtype=Float64, description="Share delivered later than promised."
        ),
        Field(
            name="carrier_delay_mean_28d",
            dtype=Float64,
            description="Mean of actual minus promised transit days.",
        ),
    ],
    source=carrier_daily_stats_source,
    online=True,
    description="Delivery statistics of each carrier over the trailing 28 days (deliveries, late share, mean delay "
    "vs promise), as known at the close of each day; null when nothing was delivered.",
)
