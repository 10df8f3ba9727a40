"""``POST /v1/eta``: predicted delivery date and interval of a shipment (champion ``shipment_eta``)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from serving.api.deps import DbDep, EtaModelDep, EtaStatsDep, InferenceRead
from serving.api.routes.orders import _ERRORS
from serving.eta import attributes_row, eta_features, shipment_row
from serving.features import EtaStatsSource
from serving.models import ServedModel
from serving.schemas import ErrorOut, EtaIn, EtaOut
from serving.state import Database

__all__ = ["router"]

router = APIRouter(prefix="/v1/eta", tags=["inference"])


def _serve(served: ServedModel, db: Database, body: EtaIn, stats: EtaStatsSource | None) -> EtaOut:
    now = dt.datetime.now(dt.UTC)
    with db.session() as session:
        row = (
            shipment_row(session, body.shipment_id, now)
            if body.shipment_id
            else attributes_row(session, body, now)
        )
    if stats is not None:
        # Known at booking, as in training: the views' TTL counts from the ship date's midnight (UTC).
        booked_at = dt.datetime.combine(row["ship_date"], dt.time(), tzinfo=dt.UTC)
        row |= stats.stats(row["lane"], row["carrier"], booked_at)
    preds = served.model.predict(eta_features(row))
    table = preds if isinstance(preds, pd.DataFrame) else pd.DataFrame(preds)
    p10, p50, p90 = (float(np.asarray(table[q], dtype=float)[0]) for q in ("p10", "p50", "p90"))
    ship_date: dt.date = row["ship_date"]

    def at(days: float) -> dt.date:
        # A shipment arrives on the day its transit time runs out: round partial days up.
        return ship_date + dt.timedelta(days=math.ceil(max(days, 0.0) - 1e-9))

    return EtaOut(
        shipment_id=body.shipment_id,
        model_version=served.version,
        ship_date=ship_date,
        predicted_delivery_date=at(p50),
        earliest_delivery_date=at(p10),
        latest_delivery_date=at(p90),
        transit_days_p10=p10,
        transit_days_p50=p50,
        transit_days_p90=p90,
    )


@router.post(
    "",
    response_model=EtaOut,
    responses={**_ERRORS, 503: {"model": ErrorOut, "description": "No ETA model registered yet"}},
)
async def eta(body: EtaIn, _: InferenceRead, holder: EtaModelDep, db: DbDep, stats: EtaStatsDep) -> EtaOut:
    """Delivery date (P50) and interval (P10-P90) for a shipment id, or for given shipment attributes.

    The model input adds the latest lane and carrier statistics (Feast ``eta_v1``), null where none are known.
    """
    served = holder.get()
    return await run_in_threadpool(_serve, served, db, body, stats)
