"""Seeded synthetic shipments in the shape of the ``fct_shipments`` mart, with their truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

__all__ = ["EVENT_TYPES", "generate_shipments"]

EVENT_TYPES: tuple[str, ...] = ("label_created", "picked_up", "in_transit", "out_for_delivery", "exception")
_SERVICES = {"ground": (1.0, 0.25), "express": (0.55, 0.15)}  # (speed factor, relative sd)
_CARRIERS = {"ACME": (0.0, 1.0), "SWIFT": (-0.3, 0.8), "BUDGET": (0.6, 1.5)}  # (delay days, sd factor)


def generate_shipments(
    n: int = 3000,
    *,
    seed: int = 0,
    start: dt.date = dt.date(2024, 1, 1),
    days: int = 180,
    in_transit_share: float = 0.0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Generate shipments and the true transit-time distribution per lane x carrier x service.

    Transit days are drawn from a normal distribution (floored at half a day) whose mean
    grows with distance, shrinks for express, shifts by carrier and grows for Friday and
    Saturday ship dates; the truth frame gives the weekday-averaged mean and sd. A tracking
    snapshot (last event, days since ship) is taken at a random point of each journey.

    Args:
        n: Number of shipments.
        seed: Random seed.
        start: First ship date.
        days: Span of ship dates.
        in_transit_share: Share of shipments still in transit (``actual_transit_days`` null).

    Returns:
        ``(shipments, truth)`` with the ``fct_shipments`` columns and (lane, carrier, service,
        mean_transit_days, sd).
    """
    rng = np.random.default_rng(seed)
    warehouses = ["WH00", "WH01", "WH02"]
    regions = ["north", "south", "east", "west", "central"]
    lane_dist = {(w, r): rng.uniform(80, 2400) for w in warehouses for r in regions}
    carriers, services = list(_CARRIERS), list(_SERVICES)

    wh = rng.choice(warehouses, n)
    region = rng.choice(regions, n)
    carrier = rng.choice(carriers, n, p=[0.45, 0.3, 0.25])
    service = rng.choice(services, n, p=[0.7, 0.3])
    ship_date = np.datetime64(start) + rng.integers(0, days, n).astype("timedelta64[D]")
    weekday = ((ship_date.astype(int) + 3) % 7).astype(np.int8)
    distance = np.array([lane_dist[(w, r)] for w, r in zip(wh, region, strict=True)]) * rng.uniform(
        0.95, 1.05, n
    )
    weight = np.round(rng.lognormal(2.0, 1.0, n), 2)

    speed = np.array([_SERVICES[s][0] for s in service])
    rel_sd = np.array([_SERVICES[s][1] for s in service])
    delay = np.array([_CARRIERS[c][0] for c in carrier])
    sd_factor = np.array([_CARRIERS[c][1] for c in carrier])
    base = 1.0 + distance / 500.0
    mean = base * speed + delay
    weekend_penalty = np.where(weekday >= 4, 0.8, 0.0)  # Fri/Sat pickups wait over the weekend
    sd = np.maximum(0.3, mean * rel_sd * sd_factor)
    actual = np.maximum(0.5, rng.normal(mean + weekend_penalty, sd))
    promised = np.ceil(base * speed).astype(float)

    progress = rng.uniform(0.0, 1.0, n)
    since = np.floor(actual * progress)
    event = np.select(
        [progress < 0.05, progress < 0.2, progress < 0.85],
        ["label_created", "picked_up", "in_transit"],
        "out_for_delivery",
    ).astype(object)
    late = actual > mean + weekend_penalty + sd
    event[late & (progress > 0.5)] = "exception"
    in_transit = rng.random(n) < in_transit_share

    lane = np.array([f"{w}->{r}" for w, r in zip(wh, region, strict=True)], dtype=object)
    shipments = pl.DataFrame(
        {
            "shipment_id": [f"S{i:07d}" for i in range(n)],
            "carrier": carrier.astype(object),
            "service": service.astype(object),
            "origin_warehouse": wh.astype(object),
            "destination_region": region.astype(object),
            "lane": lane,
            "ship_date": ship_date,
            "weekday": weekday,
            "weight_kg": weight,
            "distance_km": np.round(distance, 1),
            "promised_transit_days": promised,
            "actual_transit_days": np.where(in_transit, np.nan, np.round(actual, 2)),
            "last_event_type": event,
            "days_since_ship": since,
        }
    ).with_columns(
        pl.col("ship_date").cast(pl.Date),
        pl.col("actual_transit_days").fill_nan(None),
        pl.col(
            "carrier", "service", "origin_warehouse", "destination_region", "lane", "last_event_type"
        ).cast(pl.String),
    )
    # Truth per lane x carrier x service, averaged over the weekday mix of ship dates.
    weekday_mean_penalty = 0.8 * 2 / 7
    truth = (
        pl.DataFrame(
            {
                "lane": lane,
                "carrier": carrier.astype(object),
                "service": service.astype(object),
                "mean_transit_days": mean + weekday_mean_penalty,
                "sd": sd,
            }
        )
        .with_columns(pl.col("lane", "carrier", "service").cast(pl.String))
        .group_by("lane", "carrier", "service")
        .agg(pl.col("mean_transit_days").mean(), pl.col("sd").mean())
        .sort("lane", "carrier", "service")
    )
    return shipments, truth
