"""``POST /v1/shipments/{shipment_id}/events``: record a carrier tracking event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from oltp.shipments import record_tracking_event
from serving.api.deps import DbDep, ShipmentsWrite
from serving.api.routes.orders import _ERRORS
from serving.schemas import PG_INT_MAX, TrackingEventIn, TrackingEventOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])


@router.post(
    "/{shipment_id}/events",
    status_code=201,
    response_model=TrackingEventOut,
    responses={
        **_ERRORS,
        200: {"model": TrackingEventOut, "description": "Duplicate external_id: recorded earlier"},
    },
)
def post_tracking_event(
    shipment_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)],
    body: TrackingEventIn,
    response: Response,
    _: ShipmentsWrite,
    db: DbDep,
) -> TrackingEventOut:
    """Append a tracking event and move the shipment's status forward (404 for an unknown shipment)."""
    with db.session() as session:
        result = record_tracking_event(
            session=session,
            shipment_id=shipment_id,
            event_type=body.event_type,
            occurred_at=body.occurred_at,
            location_text=body.location_text,
            lat=body.lat,
            lon=body.lon,
            external_id=body.external_id,
            source="api",
        )
    if result["duplicate"]:
        response.status_code = 200
    return TrackingEventOut(
        shipment_id=result["shipment_id"],
        event_type=result["event_type"],
        occurred_at=result["occurred_at"],
        shipment_status=result["status"],
        event_id=result["id"],
        duplicate=result["duplicate"],
    )
