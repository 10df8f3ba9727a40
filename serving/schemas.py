"""Request and response bodies of the HTTP API (the public contract of ARCHITECTURE.md).

Every field is bounded (lengths, ranges, list sizes) so that no input, however odd, can reach the database or a
solver in a form it rejects with an internal error: strings refuse control characters (PostgreSQL rejects NUL),
integers stay inside PostgreSQL's ``integer``, floats must be finite.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = [
    "Code",
    "ErrorOut",
    "EtaIn",
    "EtaOut",
    "ForecastIn",
    "ForecastOut",
    "ForecastPoint",
    "HealthOut",
    "InventoryRow",
    "OrderIn",
    "OrderLineIn",
    "OrderLineOut",
    "OrderOut",
    "PlanOut",
    "RouteSolveIn",
    "RouteSolveOut",
    "TrackingEventIn",
    "TrackingEventOut",
]

PG_INT_MAX = 2**31 - 1
# Business codes: printable, no surrounding whitespace, within the widest code column (items.code: 64).
Code = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=64, pattern=r"^[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"
    ),
]
Text = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
DbId = Annotated[int, Field(ge=1, le=PG_INT_MAX)]
_TIME_MAX = 2**40  # the routing engine's "no deadline"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    """Body of every 4xx/5xx answer."""

    detail: str = Field(description="What went wrong, in words.")
    code: str = Field(
        description="Machine-readable kind: validation_error, not_found, conflict, unauthorized, ..."
    )
    field: str | None = Field(default=None, description="The offending field, for validation errors.")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Every validation problem found.")
    request_id: str | None = None


# ------------------------------------------------------------------------------------------------------ orders
class OrderLineIn(_Strict):
    item: Code
    quantity: int = Field(ge=1, le=1_000_000)


class OrderIn(_Strict):
    customer: Code
    warehouse: Code | None = Field(
        default=None, description="Ship-from warehouse; omitted: chosen by the service."
    )
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)


class OrderLineOut(BaseModel):
    item: str
    quantity: int
    allocated_quantity: int
    backordered_quantity: int


class OrderOut(BaseModel):
    id: int
    order_number: str | None = None
    status: str
    customer: str | None = None
    warehouse: str | None = None
    lines: list[OrderLineOut]


# --------------------------------------------------------------------------------------------------- inventory
class InventoryRow(BaseModel):
    item: str
    warehouse: str
    on_hand: int
    reserved: int
    available: int


# --------------------------------------------------------------------------------------------------- shipments
TrackingEventType = Literal[
    "picked_up",
    "departed_facility",
    "arrived_at_hub",
    "in_transit",
    "delayed",
    "out_for_delivery",
    "delivered",
    "exception",
]


class TrackingEventIn(_Strict):
    event_type: TrackingEventType
    occurred_at: AwareDatetime = Field(description="When it happened, with a UTC offset.")
    location_text: Text | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    external_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")] | None
    ) = Field(default=None, description="The carrier's event id; a repeated id is recorded once.")


class TrackingEventOut(BaseModel):
    shipment_id: int
    event_type: str
    occurred_at: dt.datetime
    shipment_status: str | None = None
    event_id: int | None = None
    duplicate: bool = False


# --------------------------------------------------------------------------------------------------- inference
class ForecastIn(_Strict):
    item: Code
    warehouse: Code
    horizon: int = Field(default=28, ge=1, le=28, description="Days ahead (1..28).")


class ForecastPoint(BaseModel):
    date: dt.date
    p10: float
    p50: float
    p90: float


class ForecastOut(BaseModel):
    item: str
    warehouse: str
    model_version: str
    origin_date: dt.date | None = None
    forecast: list[ForecastPoint]


class EtaIn(_Strict):
    """A recorded shipment's id, or the attributes of a shipment (carrier, service, origin, destination region)."""

    shipment_id: DbId | None = None
    carrier: Code | None = None
    service: Code | None = None
    origin_warehouse: Code | None = None
    destination_region: Code | None = None
    destination_lat: float | None = Field(default=None, ge=-90, le=90)
    destination_lon: float | None = Field(default=None, ge=-180, le=180)
    weight_kg: float | None = Field(default=None, ge=0, le=1_000_000)
    picked_up_at: AwareDatetime | None = Field(default=None, description="Pickup time; omitted: now.")


class EtaOut(BaseModel):
    shipment_id: int | None = None
    model_version: str
    ship_date: dt.date
    predicted_delivery_date: dt.date = Field(description="Ship date + P50 transit days.")
    earliest_delivery_date: dt.date = Field(description="Ship date + P10 transit days.")
    latest_delivery_date: dt.date = Field(description="Ship date + P90 transit days.")
    transit_days_p10: float
    transit_days_p50: float
    transit_days_p90: float


# ------------------------------------------------------------------------------------------------------- plans
class PlanOut(BaseModel):
    plan: str
    built_at: dt.datetime
    count: int
    rows: list[dict[str, Any]]


# ----------------------------------------------------------------------------------------------------- routing
NonNegInt = Annotated[int, Field(ge=0, le=_TIME_MAX)]
Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-1e9, le=1e9)]


class RouteSolveIn(_Strict):
    """A CVRP/VRPTW instance (node indices index the matrix or coordinate list)."""

    distance_matrix: list[list[Annotated[int, Field(ge=0, le=10**9)]]] | None = Field(
        default=None, max_length=500, description="Square integer matrix; wins over coordinates."
    )
    coordinates: list[Annotated[list[Coordinate], Field(min_length=2, max_length=2)]] | None = Field(
        default=None, max_length=500, description="[x, y] (euclidean) or [lat, lon] (haversine, metres)."
    )
    metric: Literal["euclidean", "haversine"] = "euclidean"
    depot: int = Field(default=0, ge=0, le=499)
    demands: list[Annotated[int, Field(ge=0, le=10**9)]] = Field(min_length=1, max_length=500)
    vehicle_capacity: int = Field(ge=1, le=10**12)
    max_vehicles: int | None = Field(default=None, ge=1, le=500)
    time_windows: list[Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]] | None = Field(
        default=None, max_length=500
    )
    service_times: list[NonNegInt] | None = Field(default=None, max_length=500)
    time_limit_s: float = Field(default=2.0, gt=0, le=30, allow_inf_nan=False)
    seed: int = Field(default=0, ge=0, le=PG_INT_MAX)

    @field_validator("distance_matrix")
    @classmethod
    def _square(cls, value: list[list[int]] | None) -> list[list[int]] | None:
        if value is not None and any(len(row) != len(value) for row in value):
            raise ValueError(
                f"must be square: {len(value)} rows, row lengths {sorted({len(r) for r in value})}"
            )
        return value


class RouteSolveOut(BaseModel):
    routes: list[list[int]]
    route_loads: list[int]
    route_distances: list[int]
    total_distance: int
    feasible: bool
    vehicles_used: int
    solve_time_s: float
    engine: str


# ------------------------------------------------------------------------------------------------------ health
class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    dependencies: dict[str, dict[str, Any]]
