"""Model input of the ETA endpoint: one feature row for a shipment, from the OLTP or from given attributes.

The row has the columns :func:`ml.eta.features.build_eta_features` expects of ``fct_shipments`` rows; this module
only gathers them (codes, ship date, weight, haversine distance, promised transit days, the latest tracking event
and the days since pickup; the route adds the lane and carrier statistics of Feast's ``eta_v1``) and calls that
function, so the features are defined once, in ``ml.eta``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from oltp.models import Carrier, CarrierService, LaneRate, Warehouse
from serving.schemas import EtaIn
from stockyard.errors import NotFoundError, ValidationError

__all__ = ["attributes_row", "eta_features", "shipment_row"]

_ATTRIBUTES = ("carrier", "service", "origin_warehouse", "destination_region")


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))


def shipment_row(session: Session, shipment_id: int, now: dt.datetime) -> dict[str, Any]:
    """Attributes and tracking state of a recorded shipment.

    Args:
        session: Open session.
        shipment_id: The shipment.
        now: The moment of the prediction (for ``days_since_ship``).

    Returns:
        A ``fct_shipments``-shaped row.

    Raises:
        NotFoundError: Unknown shipment.
        ValidationError: The shipment has no carrier service yet (not booked).
    """
    row = session.execute(
        text(
            """
            select s.id, s.picked_up_at, s.planned_pickup_at, s.weight_kg, s.destination_region,
                   coalesce(s.destination_lat, c.lat) as dest_lat, coalesce(s.destination_lon, c.lon) as dest_lon,
                   w.code as origin_warehouse, w.lat as wh_lat, w.lon as wh_lon,
                   cr.code as carrier, cs.code as service,
                   coalesce(lr.transit_days, cs.promised_transit_days) as promised_transit_days,
                   (select t.event_type from tracking_events t where t.shipment_id = s.id
                     order by t.occurred_at desc, t.id desc limit 1) as last_event_type
            from shipments s
            join warehouses w on w.id = s.warehouse_id
            left join customers c on c.id = s.customer_id
            left join carrier_services cs on cs.id = s.carrier_service_id
            left join carriers cr on cr.id = cs.carrier_id
            left join lane_rates lr on lr.carrier_service_id = s.carrier_service_id
                 and lr.origin_warehouse_id = s.warehouse_id and lr.destination_region = s.destination_region
            where s.id = :id
            """
        ),
        {"id": shipment_id},
    ).first()
    if row is None:
        raise NotFoundError(f"unknown shipment {shipment_id}", field="shipment_id", value=shipment_id)
    if row.carrier is None:
        raise ValidationError(f"shipment {shipment_id} has no carrier service yet", field="shipment_id")
    shipped = row.picked_up_at or row.planned_pickup_at or now
    distance = (
        _haversine_km(row.wh_lat, row.wh_lon, row.dest_lat, row.dest_lon)
        if row.dest_lat is not None
        else None
    )
    return {
        "shipment_id": str(row.id),
        "carrier": row.carrier,
        "service": row.service,
        "origin_warehouse": row.origin_warehouse,
        "destination_region": row.destination_region or "unknown",
        "lane": f"{row.origin_warehouse}->{row.destination_region or 'unknown'}",
        "ship_date": shipped.date(),
        "weight_kg": float(row.weight_kg or 0.0),
        "distance_km": distance,
        "promised_transit_days": float(row.promised_transit_days)
        if row.promised_transit_days is not None
        else None,
        "last_event_type": row.last_event_type,
        "days_since_ship": max(0.0, (now - row.picked_up_at).total_seconds() / 86400)
        if row.picked_up_at
        else 0.0,
    }


def attributes_row(session: Session, body: EtaIn, now: dt.datetime) -> dict[str, Any]:
    """A not-yet-recorded shipment described by its attributes (codes are checked against the OLTP).

    Args:
        session: Open session.
        body: The request (carrier, service, origin_warehouse, destination_region required).
        now: Default ship time.

    Returns:
        A ``fct_shipments``-shaped row.

    Raises:
        ValidationError: A required attribute is missing.
        NotFoundError: Unknown carrier, service or warehouse.
    """
    for name in _ATTRIBUTES:
        if getattr(body, name) is None:
            raise ValidationError(f"{name} is required when shipment_id is not given", field=name)
    wh = session.scalars(select(Warehouse).where(Warehouse.code == body.origin_warehouse)).first()
    if wh is None:
        raise NotFoundError(f"unknown warehouse '{body.origin_warehouse}'", field="origin_warehouse")
    service = session.execute(
        select(CarrierService)
        .join(Carrier, Carrier.id == CarrierService.carrier_id)
        .where(Carrier.code == body.carrier, CarrierService.code == body.service)
    ).scalar_one_or_none()
    if service is None:
        known = session.scalar(select(Carrier.id).where(Carrier.code == body.carrier))
        field = "service" if known is not None else "carrier"
        raise NotFoundError(f"unknown {field} '{getattr(body, field)}'", field=field)
    transit = session.scalar(
        select(LaneRate.transit_days).where(
            LaneRate.carrier_service_id == service.id,
            LaneRate.origin_warehouse_id == wh.id,
            LaneRate.destination_region == body.destination_region,
        )
    )
    distance = (
        _haversine_km(wh.lat, wh.lon, body.destination_lat, body.destination_lon)
        if body.destination_lat is not None and body.destination_lon is not None
        else None
    )
    shipped = body.picked_up_at or now
    return {
        "shipment_id": "",
        "carrier": body.carrier,
        "service": body.service,
        "origin_warehouse": body.origin_warehouse,
        "destination_region": body.destination_region,
        "lane": f"{body.origin_warehouse}->{body.destination_region}",
        "ship_date": shipped.date(),
        "weight_kg": float(body.weight_kg or 0.0),
        "distance_km": distance,
        "promised_transit_days": float(transit if transit is not None else service.promised_transit_days),
        "last_event_type": "picked_up" if body.picked_up_at else None,
        "days_since_ship": max(0.0, (now - body.picked_up_at).total_seconds() / 86400)
        if body.picked_up_at
        else 0.0,
    }


def eta_features(row: dict[str, Any]) -> Any:
    """The model input (pandas) for one row, through :func:`ml.eta.features.build_eta_features`.

    Args:
        row: A ``fct_shipments``-shaped row, optionally with the statistics of
            :data:`ml.eta.lane_stats.STATS_COLUMNS` (null when absent).

    Returns:
        One feature row as a pandas frame.
    """
    from ml.eta.features import build_eta_features
    from ml.eta.lane_stats import STATS_COLUMNS

    frame = pl.DataFrame(
        [dict.fromkeys(STATS_COLUMNS) | row],
        schema={
            "shipment_id": pl.String, "carrier": pl.String, "service": pl.String, "origin_warehouse": pl.String,
            "destination_region": pl.String, "lane": pl.String, "ship_date": pl.Date, "weight_kg": pl.Float64,
            "distance_km": pl.Float64, "promised_transit_days": pl.Float64, "last_event_type": pl.String,
            "days_since_ship": pl.Float64, **dict.fromkeys(STATS_COLUMNS, pl.Float64),
        },
    )  # fmt: skip
    return build_eta_features(frame).to_pandas()
