"""``POST /v1/shipments/{shipment_id}/events``: record a carrier tracking event."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from serving.api.deps import DbDep, ShipmentsWrite
from serving.api.routes.orders import _ERRORS
from serving.schemas import PG_INT_MAX, TrackingEventIn, TrackingEventOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])


def _get(result: Any, name: str, default: Any = None) -> Any:
    return result.get(name, default) if isinstance(result, dict) else getattr(result, name, default)


@router.post("/{shipment_id}/events", status_code=201, response_model=TrackingEventOut, responses=_ERRORS)
def post_tracking_event(
    shipment_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)],
    body: TrackingEventIn,
    _: ShipmentsWrite,
    db: DbDep,
) -> TrackingEventOut:
    """Append a tracking event and advance the shipment's status (404 for an unknown shipment)."""
    from oltp.shipments import record_tracking_event

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
    return TrackingEventOut(
        shipment_id=shipment_id,
        event_type=body.event_type,
        occurred_at=body.occurred_at,
        shipment_status=_get(result, "status") or _get(result, "shipment_status"),
        event_id=_get(result, "event_id") or _get(result, "id"),
        duplicate=bool(_get(result, "duplicate", False)),
    )
