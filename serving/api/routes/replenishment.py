"""``GET /v1/replenishment``: current replenishment plan (gold ``fct_replenishment_plan``), filterable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serving.api.deps import PlansDep, PlansRead
from serving.api.routes.orders import _ERRORS
from serving.schemas import Code, ErrorOut, PlanOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/replenishment", tags=["plans"])


@router.get(
    "",
    response_model=PlanOut,
    responses={**_ERRORS, 503: {"model": ErrorOut, "description": "The plan has not been built yet"}},
)
def replenishment_plan(
    _: PlansRead,
    plans: PlansDep,
    item: Annotated[Code | None, Query(description="Only this item code.")] = None,
    warehouse: Annotated[Code | None, Query(description="Only this warehouse code.")] = None,
    urgency: Annotated[Code | None, Query(description="Only this urgency level.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> PlanOut:
    """Replenishment recommendations matching every given filter."""
    rows, total, built_at = plans.replenishment.query(
        {"item": item, "warehouse": warehouse, "urgency": urgency}, limit
    )
    return PlanOut(plan="replenishment", built_at=built_at, count=total, rows=rows)
