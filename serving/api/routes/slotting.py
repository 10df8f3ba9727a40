"""``GET /v1/slotting/{warehouse}``: current slotting recommendations (gold ``fct_slotting_plan``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from serving.api.deps import PlansDep, PlansRead
from serving.api.routes.orders import _ERRORS
from serving.schemas import Code, ErrorOut, PlanOut
from stockyard.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/v1/slotting", tags=["plans"])


@router.get(
    "/{warehouse}",
    response_model=PlanOut,
    responses={**_ERRORS, 503: {"model": ErrorOut, "description": "The plan has not been built yet"}},
)
def slotting_plan(
    warehouse: Annotated[Code, Path(description="Warehouse code.")],
    _: PlansRead,
    plans: PlansDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> PlanOut:
    """Slotting moves of one warehouse (404 when the plan has no row for it)."""
    rows, total, built_at = plans.slotting.query({"warehouse": warehouse}, limit)
    if total == 0:
        raise NotFoundError(
            f"no slotting plan for warehouse {warehouse!r}", field="warehouse", value=warehouse
        )
    return PlanOut(plan="slotting", built_at=built_at, count=total, rows=rows)
